"""Speech separation: bad inputs to ``model.separate``, audio reading, the mixture data and ``zoo separate|eval|train``.

Every case must raise `InputError` (or exit non-zero from the CLI) with a message naming what was
expected and what came; the data-loss cases also check the user's files are byte-identical afterwards.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from zoo.errors import InputError

from . import Case, CLIError, cli, protect

NAME = "convtasnet-fsdd2mix"


# ----------------------------------------------------------------------------- helpers
def tiny():
    """A small Conv-TasNet (random weights) with the ``separate`` of every separator; eval mode."""
    from zoo.audio import ConvTasNetSeparator

    torch.manual_seed(0)
    return ConvTasNetSeparator(enc_num_feats=16, msk_num_feats=8, msk_num_hidden_feats=16, msk_num_layers=2,
                               msk_num_stacks=1).eval()  # fmt: skip


def speech(n=1600):
    t = torch.arange(n) / 8000
    return 0.3 * torch.sin(2 * torch.pi * 220 * t) + 0.2 * torch.sin(2 * torch.pi * 710 * t)


def sep(x, **kw):
    return lambda tmp: tiny().separate(x, **kw)


def wav(tmp: Path, name="mix.wav", data=None, rate=8000) -> Path:
    path = tmp / name
    sf.write(path, (speech().numpy() if data is None else data).astype(np.float32), rate,
             subtype="FLOAT" if data is not None else "PCM_16")  # fmt: skip
    return path


def separate_cli(tmp: Path, *extra: str, make=wav):
    return cli("separate", NAME, make(tmp), "--out", tmp / "sep", "--no-progress", *extra)


def speakers(tmp: Path) -> Path:
    """A folder of three speakers' WAV files (a speaker per sub-folder)."""
    for spk, f0 in (("ann", 150.0), ("bob", 110.0), ("cyd", 220.0)):
        (tmp / "spk" / spk).mkdir(parents=True)
        for i in range(4):
            t = np.arange(2400) / 8000
            sf.write(tmp / "spk" / spk / f"{i}.wav", (0.3 * np.sin(2 * np.pi * f0 * (1 + i / 10) * t)).astype(np.float32), 8000)
    return tmp / "spk"


def _data(**kw):
    from zoo.audio.data import MixtureDataModule

    return lambda tmp: MixtureDataModule(tmp, **kw)


# ---------------------------------------------------------------------- data-loss cases (protect)
def _out_is_input():
    def make(tmp):
        return [wav(tmp)]

    def action(tmp, files):
        return cli("separate", NAME, files[0], "--out", files[0], "--no-progress")

    return protect(make, action)


def _plot_is_input():
    def make(tmp):
        return [wav(tmp)]

    def action(tmp, files):
        return cli("separate", NAME, files[0], "--out", tmp / "sep", "--plot", files[0], "--no-progress")

    return protect(make, action)


def _plot_is_other_file():
    def make(tmp):
        (tmp / "notes.txt").write_text("my notes")
        return [wav(tmp), tmp / "notes.txt"]

    def action(tmp, files):
        return cli("separate", NAME, files[0], "--out", tmp / "sep", "--plot", files[1], "--no-progress")

    return protect(make, action)


def _train_over_a_run():
    def make(tmp):
        (tmp / "run").mkdir()
        (tmp / "run" / "last.ckpt").write_bytes(b"a run of mine")
        return [tmp / "run"]

    def action(tmp, files):
        return cli("train", NAME, "max_steps=2", "--out", files[0], "--no-progress")

    return protect(make, action)


_out_fn, _out_after = _out_is_input()
_plot_fn, _plot_after = _plot_is_input()
_png_fn, _png_after = _plot_is_other_file()
_run_fn, _run_after = _train_over_a_run()

CASES = [
    # ---- model.separate: shapes
    Case("separate-stereo-2xT", sep(torch.stack([speech(), speech()])), InputError,
         (r"shape \(2, 1600\) may be 2 channels of one recording", r"expected mono \[T\]", r"batch=True")),
    Case("separate-time-major-Tx2", sep(np.stack([speech().numpy()] * 2, axis=1)), InputError,
         (r"shape \(1600, 2\) looks time-major \[T, channels\]", r"x\.mean\(1\)")),
    Case("separate-3d", sep(speech()[None, None]), InputError, (r"expected mono \[T\]|mono \[T\]", r"got shape \(1, 1, 1600\)")),
    Case("separate-empty", sep(torch.zeros(0)), InputError, (r"empty: expected \[T\] with T > 0 samples, got shape \(0,\)",)),
    Case("separate-empty-batch", sep(torch.zeros(0, 1600), batch=True), InputError,
         (r"empty batch: expected \[batch, T\] with at least one mixture, got shape \(0, 1600\)",)),
    Case("separate-nan", sep(torch.where(torch.arange(1600) == 5, float("nan"), speech())), InputError,
         (r"finite samples, got 1 NaN or infinite of 1600",)),
    Case("separate-inf", sep(torch.full((1600,), float("inf"))), InputError, (r"finite samples, got 1600 NaN or infinite",)),
    Case("separate-int16", sep((speech() * 3e4).to(torch.int16)), InputError, (r"floating point", r"torch\.int16")),
    Case("separate-list", sep([0.1, 0.2, 0.3]), InputError, (r"torch\.Tensor or numpy array", r"got list")),
    Case("separate-strings", sep(np.array(["a", "b"])), InputError, (r"numeric array \[T\]", r"got numpy dtype <U1")),
    Case("separate-huge-unnormalised", sep(speech() * 1e30, normalize=False), InputError,
         (r"normalize=False.*\|x\| <= 1e3", r"got a peak of [0-9.]+e\+29")),
    # ---- model.separate: chunking and rates
    Case("separate-chunk-negative", sep(speech(), chunk_seconds=-1), InputError,
         (r"chunk_seconds must be a finite number of seconds > 0, got -1",)),
    Case("separate-chunk-nan", sep(speech(), chunk_seconds=float("nan")), InputError, (r"chunk_seconds must be .*> 0, got nan",)),
    Case("separate-chunk-inf", sep(speech(), chunk_seconds=float("inf")), InputError, (r"chunk_seconds must be .*> 0, got inf",)),
    Case("separate-chunk-zero", sep(speech(), chunk_seconds=0), InputError, (r"chunk_seconds must be .*> 0, got 0",)),
    Case("separate-chunk-text", sep(speech(), chunk_seconds="ten"), InputError,
         (r"chunk_seconds must be a number of seconds, got 'ten'",)),
    Case("separate-overlap-negative", sep(speech(), overlap_seconds=-0.5), InputError,
         (r"overlap_seconds must be a finite number of seconds >= 0, got -0\.5",)),
    Case("separate-overlap-over-half", sep(speech(), chunk_seconds=1.0, overlap_seconds=0.6), InputError,
         (r"overlap_seconds must be at most half of chunk_seconds \(1 s\), got 0\.6",)),
    Case("separate-rate-absurd", sep(speech(), sample_rate=10), InputError,
         (r"sample_rate must be an integer between 1000 and 384000 Hz, got 10",)),
    Case("separate-rate-fraction", sep(speech(), sample_rate=44100.5), InputError,
         (r"sample_rate must be an integer between 1000 and 384000 Hz, got 44100\.5",)),
    # ---- read_audio
    Case("read-missing", lambda tmp: __import__("zoo.audio.api").audio.api.read_audio(tmp / "nope.wav"), InputError,
         (r"audio file not found: expected an existing WAV/FLAC/OGG file, got .*nope\.wav",)),
    Case("read-garbage", lambda tmp: (tmp / "g.wav").write_bytes(b"RIFF not audio")
         and __import__("zoo.audio.api").audio.api.read_audio(tmp / "g.wav"), InputError,
         (r"cannot read .*g\.wav.* as audio \(expected WAV/FLAC/OGG",)),
    Case("read-nan-samples", lambda tmp: __import__("zoo.audio.api").audio.api.read_audio(
         wav(tmp, data=np.array([0.1, np.nan] * 400)))
         , InputError, (r"contains NaN or infinite samples",)),
    # ---- mixture data
    Case("data-protocol", _data(protocol="dense"), InputError, (r"protocol must be 'overlap' or 'sparse', got 'dense'",)),
    Case("data-mode", _data(mode="middle"), InputError, (r"mode must be 'min', 'max' or 'both', got 'middle'",)),
    Case("data-train-mode", _data(train_mode="avg"), InputError, (r"train_mode must be 'min', 'max' or 'both', got 'avg'",)),
    Case("data-digits", _data(digits=(0, 3)), InputError, (r"digits must be \(fewest, most\) with 1 <= fewest <= most, got \(0, 3\)",)),
    Case("data-gaps", _data(gap_seconds=(0.3, 0.1)), InputError,
         (r"gap_seconds must be \(shortest, longest\) with 0 <= shortest <= longest, got \(0\.3, 0\.1\)",)),
    Case("data-mix-mode", lambda tmp: __import__("zoo.audio.data").audio.data.make_overlapped_mixture(
         [speech(), speech()], 0.0, mode="avg"), InputError, (r"mode must be 'min' or 'max', got 'avg'",)),
    Case("data-one-speaker", lambda tmp: (speakers(tmp), __import__("shutil").rmtree(tmp / "spk" / "bob"),
                                          __import__("shutil").rmtree(tmp / "spk" / "cyd"),
                                          _data()(tmp / "spk").setup()), InputError,
         (r"mixtures need at least two speakers; .* has 1: \['ann'\]",)),
    # ---- zoo separate
    Case("cli-separate-out-is-input", _out_fn, CLIError,
         (r"--out expected a folder for one WAV per speaker, got the existing file .*mix\.wav.*the input itself",),
         after=_out_after),
    Case("cli-separate-plot-is-input", _plot_fn, CLIError, (r"plot .*mix\.wav.* is the same file as the input",), after=_plot_after),
    Case("cli-separate-plot-not-png", _png_fn, CLIError, (r"expected an plot file ending in \.png, got .*notes\.txt",),
         after=_png_after),
    Case("cli-separate-chunk-negative", lambda tmp: separate_cli(tmp, "--chunk-seconds", "-1"), CLIError,
         (r"chunk_seconds must be a finite number of seconds > 0, got -1",)),
    Case("cli-separate-chunk-nan", lambda tmp: separate_cli(tmp, "--chunk-seconds", "nan"), CLIError,
         (r"chunk_seconds must be .*> 0, got nan",)),
    Case("cli-separate-chunk-inf", lambda tmp: separate_cli(tmp, "--chunk-seconds", "inf"), CLIError,
         (r"chunk_seconds must be .*> 0, got inf",)),
    Case("cli-separate-chunk-text", lambda tmp: separate_cli(tmp, "--chunk-seconds", "ten"), CLIError,
         (r"--chunk-seconds: expected a number of seconds, got 'ten'",)),
    Case("cli-separate-overlap-too-long", lambda tmp: separate_cli(tmp, "--chunk-seconds", "2", "--overlap-seconds", "5"),
         CLIError, (r"overlap_seconds must be at most half of chunk_seconds \(2 s\), got 5",)),
    Case("cli-separate-missing-file", lambda tmp: separate_cli(tmp, make=lambda t: t / "missing.wav"), CLIError,
         (r"audio file not found: expected an existing WAV/FLAC/OGG file, got .*missing\.wav",)),
    Case("cli-separate-silent-file", lambda tmp: separate_cli(tmp, make=lambda t: wav(t, data=np.zeros(800))), CLIError,
         (r"is silent \(peak 0 < 1e-05\): nothing to separate",)),
    Case("cli-separate-no-out", lambda tmp: cli("separate", NAME, wav(tmp), "--no-progress"), CLIError,
         (r"zoo separate needs --out FOLDER", r"got none")),
    Case("cli-separate-weights-missing", lambda tmp: separate_cli(tmp, "--weights", tmp / "nope"), CLIError,
         (r"--weights expected a Hub-form folder or a \.safetensors file, got .*nope",)),
    # ---- zoo eval / train
    Case("cli-eval-protocol", lambda tmp: cli("eval", NAME, "--protocol", "dense"), CLIError,
         (r"--protocol: invalid choice: 'dense'", r"overlap", r"sparse")),
    Case("cli-eval-data-missing", lambda tmp: cli("eval", NAME, "--data", tmp / "nowhere"), CLIError,
         (r"--data expected a folder of WAV files, got .*nowhere",)),
    Case("cli-train-resume-nothing", lambda tmp: cli("train", NAME, "--resume", "--out", tmp / "fresh", "--no-progress"),
         CLIError, (r"--resume: expected a run folder with last\.ckpt, got .*fresh.* without one",)),
    Case("cli-train-over-a-run", _run_fn, CLIError,
         (r"already holds a run \(last\.ckpt\): pass --resume to continue it, or another --out",), after=_run_after),
    Case("cli-train-unknown-field", lambda tmp: cli("train", NAME, "max_step=2", "--out", tmp / "r", "--no-progress"),
         CLIError, (r"unknown recipe field 'max_step'; expected one of",)),
]
