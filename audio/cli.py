"""``zoo`` sub-commands of the audio domain. The core adds the shared options (``name``, ``--weights``,
``--data``, ``--threads``, ``--out``, ``--json``; ``--resume`` and ``KEY=VALUE`` recipe overrides for
``train``/``finetune``) before these.

    zoo separate mossformer2-fsdd2mix mix.wav --out sep/ [--plot spec.png] [--weights DIR]
    zoo eval mossformer2-fsdd2mix [--weights DIR] [--data DIR] [--protocol overlap|sparse] [--split test] [--json]
    zoo train mossformer2-fsdd2mix [max_steps=N restart=null ...] [--out runs/audio/NAME] [--resume] [--threads 1]
    zoo finetune mossformer2-fsdd2mix --data my_wavs/ --out runs/audio/mine [--weights DIR]

``--weights`` takes a Hub-form folder (what ``zoo train`` writes to ``runs/audio/NAME/hub``) or a
``.safetensors`` file; without it the registered weights are used.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from zoo.errors import InputError


def load_model(args):
    """The model of ``args.name`` / ``args.weights`` (`zoo.cli_support.load_model`) that must be a separator."""
    from zoo.cli_support import load_model as core_load
    from zoo.registry import get_entry

    if not getattr(args, "weights", None) and not Path(args.name).is_dir():
        entry = get_entry(args.name)
        if entry.weights is None:
            raise InputError(f"{args.name} is registered without trained weights; train it with `zoo train "
                             f"{args.name}` and pass --weights runs/audio/{args.name}/hub")  # fmt: skip
    model = core_load(args)
    if not hasattr(model, "separate"):
        raise InputError(f"expected a speech separator, got {type(model).__name__} for {args.name!r}")
    return model


def _seconds(text: str) -> float:
    """argparse type: a finite number of seconds (the range is checked by `check_chunking`)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None


# ------------------------------------------------------------------------------------------ separate
def separate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="mixture audio file (WAV/FLAC/OGG)")
    p.add_argument("--plot", help="write spectrograms of the mixture and the sources to this PNG")
    p.add_argument("--chunk-seconds", type=_seconds, default=10.0, help="process longer files in chunks of this length")
    p.add_argument("--overlap-seconds", type=_seconds, default=1.0, help="overlap between chunks (cross-faded)")
    p.add_argument("--no-progress", action="store_true")


def check_separate_outputs(path, out_dir, plot=None, num_speakers: int = 2) -> list[Path]:
    """The files `separate_file` will write (``OUT/<stem>_spk<i>.wav``), checked before any work: ``--out`` must be
    a folder (created if missing) and no output may be the input."""
    from zoo.io import check_output

    if out_dir is None or str(out_dir).strip() == "":
        raise InputError("zoo separate needs --out FOLDER for the separated speakers' WAV files, got none")
    out_dir, path = Path(out_dir), Path(path)
    if out_dir.exists() and not out_dir.is_dir():
        same = path.exists() and out_dir.resolve() == path.resolve()
        raise InputError(f"--out expected a folder for one WAV per speaker, got the existing file {str(out_dir)!r}"
                         + (" (the input itself; the zoo never overwrites its inputs)" if same else ""))  # fmt: skip
    outs = [out_dir / f"{path.stem}_spk{i + 1}.wav" for i in range(num_speakers)]
    for o in outs:
        if o.exists():
            check_output(o, inputs=[path], suffixes=(".wav",))
    if plot:
        check_output(plot, inputs=[path, *outs], suffixes=(".png",), what="plot")
    return outs


def separate_file(model, path, out_dir, plot=None, chunk_seconds=10.0, overlap_seconds=1.0, progress=True,
                  audio=None) -> list[Path]:  # fmt: skip
    """Separate one file; returns the written paths (``<stem>_spk1.wav``...) at the input's sample rate.
    ``audio``: ``read_audio(path)`` when the caller has already read it."""
    from .api import check_chunking, notice, read_audio, resample, write_audio

    chunk_seconds, overlap_seconds = check_chunking(chunk_seconds, overlap_seconds)
    outs = check_separate_outputs(path, out_dir, plot, model.num_speakers)
    data, sr = audio if audio is not None else read_audio(path)
    if data.shape[0] > 1:
        notice(f"{Path(path).name} has {data.shape[0]} channels; mixing them down to mono")
    x = torch.from_numpy(data.mean(axis=0))
    rate = model.sample_rate
    if sr != rate:
        notice(f"resampling {Path(path).name} from {sr} Hz to the model's {rate} Hz (outputs are written at {sr} Hz)")
        x = resample(x, sr, rate)
    est = model.separate(x, chunk_seconds=chunk_seconds, overlap_seconds=overlap_seconds, progress=progress)[0]
    est = resample(est, rate, sr)[..., : data.shape[1]]
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    written = [write_audio(o, est[i], sr) for i, o in enumerate(outs)]
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
    from zoo.io import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def separate_run(args) -> int:
    from .api import check_chunking, read_audio

    check_chunking(args.chunk_seconds, args.overlap_seconds)  # everything the user gave is checked before any work
    check_separate_outputs(args.input, args.out, args.plot)
    audio = read_audio(args.input)
    model = load_model(args)
    written = separate_file(model, args.input, args.out, args.plot, args.chunk_seconds, args.overlap_seconds,
                            progress=not args.no_progress, audio=audio)  # fmt: skip
    files = [str(p) for p in written] + ([str(args.plot)] if args.plot else [])
    if args.json:
        print(json.dumps({"name": args.name, "input": str(args.input), "outputs": files}))
    else:
        print("\n".join(files))
    return 0


# ---------------------------------------------------------------------------------------------- eval
def eval_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--protocol", choices=["overlap", "sparse"], default="overlap",
                   help="overlap (default): fully overlapped mixtures, min and max mode; sparse: the earlier 1 s "
                   "mixtures where the two digits mostly do not overlap")  # fmt: skip
    p.add_argument("--split", choices=["test", "val"], default="test")
    p.add_argument("--batch-size", type=int, default=8, help="mixtures per batch (sparse protocol)")
    p.add_argument("--mixtures", type=int, help="number of fixed mixtures (default: the protocol's)")


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


def eval_run(args) -> int:
    data = args.data
    if data is not None and not Path(data).is_dir():
        raise InputError(f"--data expected a folder of WAV files, got {data!r}")
    model = load_model(args)
    res = evaluate_protocol(model, args.name, data, args.protocol, args.split, args.mixtures, batch_size=args.batch_size)
    parts = [f"{mode} SI-SNRi {r['si_snri']:.2f} dB (SI-SNR {r['si_snr']:.2f}, input {r['input_si_snr']:.2f})"
             for mode, r in res["results"].items()]  # fmt: skip
    n = next(iter(res["results"].values()))["mixtures"]
    text = f"{res['name']} {res['protocol']} {res['split']} ({n} mixtures): " + "; ".join(parts)
    print(json.dumps(res) if args.json else text)
    return 0


# --------------------------------------------------------------------------------------------- train
def train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-steps", type=int, help="optimizer steps of the (first) stage (default: the recipe's "
                   "max_steps; restart=null trains one stage only)")  # fmt: skip
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
    p.add_argument("--from-scratch", action="store_true", help="start from random weights (no checkpoint needed)")
    p.add_argument("--speaker-regex", help="regex with a (?P<speaker>...) group applied to file names")
    p.add_argument("--max-steps", type=int, default=500)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--segment-seconds", type=float)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--no-progress", action="store_true")


def finetune_run(args) -> int:
    from zoo.loading import build
    from zoo.registry import get_entry

    from .recipes import RECIPES
    from .train import apply_overrides, run_training

    if not args.data:
        raise InputError("zoo finetune needs --data FOLDER of single-speaker WAV files (a speaker per sub-folder, "
                         "FSDD-style names, or --speaker-regex)")  # fmt: skip
    if not args.out:
        raise InputError("zoo finetune needs --out FOLDER for the run; the fine-tuned model goes to OUT/hub")
    entry = get_entry(args.name)
    base = {k: v for k, v in RECIPES.get(entry.name, RECIPES["mossformer2-fsdd2mix"]).items() if k != "restart"}
    if args.from_scratch:
        model = build(entry.architecture, entry.model_args, entry.preprocessing, name=entry.name)
    else:
        model = load_model(args)
    recipe = dict(base, optim={**base["optim"], "lr": args.lr, "warmup_steps": min(50, args.max_steps // 10)})
    if args.overrides:
        recipe = apply_overrides(recipe, args.overrides)
    res = run_training(entry.name, model=model, recipe=recipe, out=args.out, data=args.data, max_steps=args.max_steps,
                       threads=args.threads, progress=not args.no_progress, speaker_regex=args.speaker_regex,
                       segment_seconds=args.segment_seconds, batch_size=args.batch_size,
                       sample_rate=model.sample_rate, resume=args.resume)  # fmt: skip
    print(json.dumps(res, indent=2))
    return 0


COMMANDS = {
    "separate": (separate_arguments, separate_run),
    "eval": (eval_arguments, eval_run),
    "train": (train_arguments, train_run),
    "finetune": (finetune_arguments, finetune_run),
}
