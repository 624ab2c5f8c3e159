"""``zoo`` sub-commands of the audio domain (the lead's CLI adds the positional ``name``).

    zoo separate mossformer2-fsdd2mix mix.wav --out-dir sep/ [--plot spec.png] [--checkpoint DIR]
    zoo eval mossformer2-fsdd2mix [--checkpoint DIR] [--data DIR] [--split test] [--json]
    zoo train mossformer2-fsdd2mix [--max-steps N] [--out runs/audio/NAME] [--threads 1]
    zoo finetune mossformer2-fsdd2mix --data my_wavs/ --out runs/audio/mine [--checkpoint DIR]

``--checkpoint`` takes a Hub-form folder (what ``zoo train`` writes to ``runs/audio/NAME/hub``); without it
the registered weights are used, and entries registered without weights say so.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from zoo.errors import InputError


def load_model(name: str, checkpoint: str | None = None):
    """The registered model ``name`` with its weights, or the Hub-form folder ``checkpoint``."""
    if checkpoint:
        from zoo.hub import from_pretrained

        if not Path(checkpoint).is_dir():
            raise InputError(f"--checkpoint must be a Hub-form folder (config.json + model.safetensors), got {checkpoint!r}")
        return from_pretrained(checkpoint)
    import zoo
    from zoo.registry import get_entry

    entry = get_entry(name)
    if entry.weights is None:
        raise InputError(f"{name} is registered without trained weights; train it with `zoo train {name}` and pass "
                         f"--checkpoint runs/audio/{name}/hub")  # fmt: skip
    return zoo.load(name)


# ------------------------------------------------------------------------------------------ separate
def separate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="mixture audio file (WAV/FLAC/OGG)")
    p.add_argument("--out-dir", required=True, help="folder for one WAV per speaker")
    p.add_argument("--plot", help="write spectrograms of the mixture and the sources to this PNG")
    p.add_argument("--checkpoint", help="Hub-form folder to load instead of the registered weights")
    p.add_argument("--chunk-seconds", type=float, default=10.0, help="process longer files in chunks of this length")
    p.add_argument("--overlap-seconds", type=float, default=1.0, help="overlap between chunks (cross-faded)")
    p.add_argument("--no-progress", action="store_true")


def separate_file(model, path, out_dir, plot=None, chunk_seconds=10.0, overlap_seconds=1.0, progress=True) -> list[Path]:
    """Separate one file; returns the written paths (``<stem>_spk1.wav``...) at the input's sample rate."""
    from .api import notice, read_audio, resample, write_audio

    if chunk_seconds is not None and chunk_seconds <= 0:
        raise InputError(f"--chunk-seconds must be > 0, got {chunk_seconds}")
    data, sr = read_audio(path)
    if data.shape[0] > 1:
        notice(f"{Path(path).name} has {data.shape[0]} channels; mixing them down to mono")
    x = torch.from_numpy(data.mean(axis=0))
    rate = model.sample_rate
    if sr != rate:
        notice(f"resampling {Path(path).name} from {sr} Hz to the model's {rate} Hz (outputs are written at {sr} Hz)")
        x = resample(x, sr, rate)
    est = model.separate(x, chunk_seconds=chunk_seconds, overlap_seconds=overlap_seconds, progress=progress)[0]
    est = resample(est, rate, sr)[..., : data.shape[1]]
    out_dir = Path(out_dir)
    stem = Path(path).stem
    written = [write_audio(out_dir / f"{stem}_spk{i + 1}.wav", est[i], sr) for i in range(est.shape[0])]
    if plot:
        plot_spectrograms(torch.from_numpy(data.mean(axis=0)), est, sr, plot)
    return written


def plot_spectrograms(mix, est, sr: int, path, titles: list[str] | None = None) -> Path:
    """Mixture and separated sources as log-magnitude spectrograms, one row each (``titles``: of the sources)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    titles = titles or [f"speaker {i + 1}" for i in range(est.shape[0])]
    rows = [("mixture", mix)] + [(titles[i], est[i]) for i in range(est.shape[0])]
    fig, axes = plt.subplots(len(rows), 1, figsize=(8, 2.2 * len(rows)), sharex=True)
    n_fft = 256 if sr <= 16000 else 1024
    for ax, (title, x) in zip(axes, rows):
        spec = torch.stft(x.float(), n_fft, hop_length=n_fft // 4, window=torch.hann_window(n_fft), return_complex=True)
        db = 20 * torch.log10(spec.abs() + 1e-6)
        t_max = x.numel() / sr
        ax.imshow(db.numpy(), origin="lower", aspect="auto", extent=(0, t_max, 0, sr / 2000), vmin=float(db.max()) - 80,
                  cmap="magma")  # fmt: skip
        ax.set_ylabel("kHz")
        ax.set_title(title, fontsize=9)
    axes[-1].set_xlabel("time (s)")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def separate_run(args) -> int:
    model = load_model(args.name, args.checkpoint)
    for p in separate_file(model, args.input, args.out_dir, args.plot, args.chunk_seconds, args.overlap_seconds,
                           progress=not args.no_progress):  # fmt: skip
        print(p)
    if args.plot:
        print(args.plot)
    return 0


# ---------------------------------------------------------------------------------------------- eval
def eval_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", help="Hub-form folder to evaluate instead of the registered weights")
    p.add_argument("--data", help="folder of WAV files (default $ZOO_DATA_DIR/audio/fsdd)")
    p.add_argument("--split", choices=["test", "val"], default="test")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--mixtures", type=int, help="number of fixed mixtures (default: the recipe's)")
    p.add_argument("--json", action="store_true")


def evaluate_protocol(model, name: str, data=None, protocol: str = "overlap", split: str = "test",
                      mixtures: int | None = None, per_mixture: bool = False, batch_size: int = 8) -> dict:  # fmt: skip
    """SI-SNR / SI-SNRi on the fixed mixtures of ``split`` under ``protocol`` (`zoo.audio.recipes.TEST_PROTOCOLS`):
    ``"overlap"`` (the headline: fully overlapped, one result per mode, "min" and "max") or ``"sparse"`` (the
    earlier, partially overlapping 1 s mixtures). ``per_mixture`` adds each mixture's SI-SNRi.

    Returns ``{"name", "protocol", "split", "results": {mode: {"si_snr", "si_snri", "input_si_snr", "mixtures"}}}``.
    """
    from .data import MixtureDataModule
    from .recipes import TEST_PROTOCOLS
    from .task import evaluate

    if protocol not in TEST_PROTOCOLS:
        raise InputError(f"protocol must be one of {sorted(TEST_PROTOCOLS)}, got {protocol!r}")
    if split not in ("test", "val"):
        raise InputError(f"split must be 'test' or 'val', got {split!r}")
    if mixtures is not None and mixtures < 1:
        raise InputError(f"--mixtures must be a positive number of mixtures, got {mixtures}")
    spec = dict(TEST_PROTOCOLS[protocol])
    modes = spec.pop("modes")
    if mixtures is not None:
        spec[f"{split}_size"] = int(mixtures)
    results = {}
    dm = None
    for mode in modes:
        kw = dict(spec, mode=mode) if mode != "sparse" else spec
        if dm is None:
            dm = MixtureDataModule(root=data, sample_rate=model.sample_rate, batch_size=batch_size, splits=(split,), **kw)
            dm.setup()
        else:  # same utterances and recipes; only the mode differs
            _set_mode(getattr(dm, f"{split}_set"), mode)
        loader = dm.test_dataloader() if split == "test" else dm.val_dataloader()
        results[mode] = evaluate(model, loader, per_mixture=per_mixture)
    return {"name": name, "protocol": protocol, "split": split, "results": results}


def _set_mode(ds, mode: str) -> None:
    ds.mode = mode
    ds.recipes = [(idx, gaps, gain, mode, seed) for idx, gaps, gain, _, seed in ds.recipes]


def evaluate_model(model, name: str, data=None, split: str = "test", batch_size: int = 8,
                   mixtures: int | None = None, per_mixture: bool = False, protocol: str = "sparse") -> dict:  # fmt: skip
    """The flat result of one condition (``protocol="sparse"``: the registered cards' protocol; used by
    `zoo.audio.publish` and benchmarks/audio_paired.py): ``{"name", "split", "si_snr", "si_snri", ...}``."""
    res = evaluate_protocol(model, name, data, protocol, split, mixtures, per_mixture, batch_size)
    r = next(iter(res["results"].values()))
    return {"name": name, "split": split, **r}


def eval_run(args) -> int:
    model = load_model(args.name, args.checkpoint)
    res = evaluate_model(model, args.name, args.data, args.split, args.batch_size, args.mixtures)
    if args.json:
        print(json.dumps(res))
    else:
        print(f"{res['name']} {res['split']}: SI-SNR {res['si_snr']:.2f} dB, SI-SNRi {res['si_snri']:.2f} dB "
              f"(input {res['input_si_snr']:.2f} dB, {res['mixtures']} mixtures)")  # fmt: skip
    return 0


# --------------------------------------------------------------------------------------------- train
def train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-steps", type=int, help="optimizer steps (default: the recipe's max_steps)")
    p.add_argument("--val-every", type=int, help="validate every N training batches")
    p.add_argument("--no-progress", action="store_true")


def train_run(args) -> int:
    from .train import run_training

    res = run_training(args.name, out=args.out, data=args.data, max_steps=args.max_steps, val_every=args.val_every,
                       threads=args.threads, progress=not args.no_progress, overrides=args.overrides,
                       resume=args.resume)  # fmt: skip
    print(json.dumps(res, indent=2))
    return 0


# ------------------------------------------------------------------------------------------ finetune
def finetune_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="folder of single-speaker WAV files (speaker per sub-folder, "
                   "FSDD-style names, or --speaker-regex)")  # fmt: skip
    p.add_argument("--out", required=True, help="run folder; the fine-tuned Hub-form model goes to OUT/hub")
    p.add_argument("--checkpoint", help="start from this Hub-form folder instead of the registered weights")
    p.add_argument("--from-scratch", action="store_true", help="start from random weights (no checkpoint needed)")
    p.add_argument("--speaker-regex", help="regex with a (?P<speaker>...) group applied to file names")
    p.add_argument("--max-steps", type=int, default=500)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--segment-seconds", type=float)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--threads", type=int)
    p.add_argument("--no-progress", action="store_true")


def finetune_run(args) -> int:
    from zoo.loading import build
    from zoo.registry import get_entry

    from .recipes import RECIPES
    from .train import run_training

    entry = get_entry(args.name)
    base = RECIPES.get(entry.name, RECIPES["mossformer2-fsdd2mix"])
    if args.from_scratch:
        model = build(entry.architecture, entry.model_args, entry.preprocessing, name=entry.name)
    else:
        model = load_model(args.name, args.checkpoint)
    recipe = dict(base, optim={**base["optim"], "lr": args.lr, "warmup_steps": min(50, args.max_steps // 10)})
    res = run_training(entry.name, model=model, recipe=recipe, out=args.out, data=args.data, max_steps=args.max_steps,
                       threads=args.threads, progress=not args.no_progress, speaker_regex=args.speaker_regex,
                       segment_seconds=args.segment_seconds, batch_size=args.batch_size,
                       sample_rate=model.sample_rate)  # fmt: skip
    print(json.dumps(res, indent=2))
    return 0


COMMANDS = {
    "separate": (separate_arguments, separate_run),
    "eval": (eval_arguments, eval_run),
    "train": (train_arguments, train_run),
    "finetune": (finetune_arguments, finetune_run),
}
