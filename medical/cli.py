"""``zoo`` sub-commands of the medical domain.

The core adds the options every verb shares (``NAME``, ``--weights``, ``--data``, ``--threads``, ``--out``,
``--json``; ``--resume`` and ``key=value`` overrides for train/finetune); this module adds the medical ones::

    zoo segment NAME flair.nii.gz t1c.nii.gz --out seg.nii.gz [--plot overlay.png]
    zoo segment NAME --modalities flair=a.nii.gz t1c=b.nii.gz --out seg.nii.gz
    zoo export-bundle NAME --out DIR                 # MONAI bundle: python -m monai.bundle run ...
    zoo train swin-unetr-brats-subset --data ../shared/data/medical/brats2015-subset
    zoo finetune NAME --data datalist.json --out-channels 3 --out RUN_DIR [--resume] [max_steps=300 lr=1e-4]
    zoo eval swin-unetr-brats-subset                  # Dice WT/TC/ET on the BRATS-subset test cases
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from zoo.cli_support import command
from zoo.errors import InputError
from zoo.io import atomic_write_bytes

COMMANDS: dict = {}  # zoo VERB -> (add_arguments, run), filled by @command below


def _load(args, **overrides):
    """The model of ``args.name`` / ``args.weights`` (registered name, Hub-form folder or weights file)."""
    from zoo.cli_support import load_model

    model = load_model(args, **overrides)
    device = getattr(args, "device", None)
    return model.to(device) if device else model


def _emit(args, result: dict, text: str) -> None:
    from zoo.cli_support import emit

    emit(args, result, text)


# ----------------------------------------------------------------------------- segment
def segment_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("volumes", nargs="*", help="one NIfTI file per modality, in the model's order")
    p.add_argument("--modalities", nargs="+", metavar="NAME=FILE", help="files by modality name instead of by position")
    p.add_argument("--plot", default=None, help="also write a PNG overlay of three orthogonal slices")
    p.add_argument("--device", default=None)
    p.add_argument("--no-progress", action="store_true")


def _files(args, modalities: list[str]) -> list[str]:
    files = list(args.volumes or [])
    if args.modalities:
        named = {}
        for item in args.modalities:
            if "=" not in item:
                raise InputError(f"--modalities takes NAME=FILE pairs, got {item!r}")
            k, v = item.split("=", 1)
            named[k.strip().lower()] = v
        unknown = sorted(set(named) - set(modalities))
        if unknown or files:
            raise InputError(f"--modalities names must be among {modalities} (and no positional files); got {sorted(named)}")
        missing = [m for m in modalities if m not in named]
        if missing:
            raise InputError(f"missing modalities {missing}; this model takes {modalities}")
        files = [named[m] for m in modalities]
    if not files:
        raise InputError(f"expected one NIfTI file per modality ({', '.join(modalities) or 'the model input'}), got none")
    return files


@command(COMMANDS, "segment", segment_arguments)
def segment_run(args) -> int:
    from zoo.medical.infer import check_outputs, segment

    if not args.out:
        raise InputError("zoo segment needs --out: expected the output label volume (.nii or .nii.gz), got none")
    given = list(args.volumes or []) + [item.split("=", 1)[-1] for item in args.modalities or []]
    check_outputs(given, args.out, args.plot)  # refuse before loading the model or reading any volume
    model = _load(args)
    mods = list(model.config.get("preprocessing", {}).get("modalities") or [])
    res = segment(model, _files(args, mods), args.out, plot=args.plot, progress=not args.no_progress)
    text = f"wrote {res['out']} (shape {res['shape']}); voxels per label: {res['labels']}"
    if res.get("plot"):
        text += f"\nwrote {res['plot']}"
    _emit(args, {k: v for k, v in res.items() if k != "array"}, text)
    return 0


# ----------------------------------------------------------------------------- export-bundle
def bundle_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", nargs="?", default=None, help="output folder of the bundle (same as --out)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty folder that is not a zoo bundle")


@command(COMMANDS, "export-bundle", bundle_arguments)
def bundle_run(args) -> int:
    from zoo.medical.bundle import check_bundle_folder, export_bundle

    if args.dir and args.out and args.dir != args.out:
        raise InputError(f"give the bundle folder once (DIR or --out), got {args.dir!r} and {args.out!r}")
    out = args.out or args.dir
    if not out:
        raise InputError("zoo export-bundle needs --out FOLDER (the bundle to write), got none")
    check_bundle_folder(out, args.overwrite, inputs=[args.name, args.weights])  # refuse before loading the model
    folder = export_bundle(_load(args), out, overwrite=args.overwrite)
    text = (f"wrote MONAI bundle {folder}; run it with:\n  python -m monai.bundle run --config_file "
            f"{folder}/configs/inference.json --bundle_root {folder} --image_files \"['a.nii.gz', ...]\" --output_dir out")  # fmt: skip
    _emit(args, {"out": str(folder)}, text)
    return 0


# ----------------------------------------------------------------------------- eval
def eval_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--split", default="test", choices=["test", "validation", "train"])


@command(COMMANDS, "eval", eval_arguments)
def eval_run(args) -> int:
    from zoo.medical.data import data_root
    from zoo.medical.train import evaluate

    res = evaluate(_load(args), data_root(args.data), args.split)
    text = f"{args.name} on BRATS-subset {args.split} (original grid): " + "  ".join(f"Dice {k} {v:.4f}" for k, v in res["dice"].items())
    _emit(args, res, text)
    return 0


# ----------------------------------------------------------------------------- train / finetune
TRAIN_KEYS = ("max_steps", "val_every", "lr", "num_samples", "seed", "max_minutes")


def _train_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-progress", action="store_true")


def train_arguments(p: argparse.ArgumentParser) -> None:
    _train_common(p)
    p.add_argument("--run-dir", default=None, help="checkpoints and logs (default runs/medical/NAME)")
    p.add_argument("--no-eval", action="store_true", help="skip the test-split evaluation after training")


def _recipe(base: dict, overrides: dict) -> dict:
    from zoo.cli_support import apply_overrides

    recipe = {k: base.get(k) for k in TRAIN_KEYS}
    return apply_overrides(recipe, overrides or {}, where="training recipe")


def _fit_and_save(model, args, recipe: dict, out: Path, run_dir: Path, *, evaluate_after: bool, resume="auto",
                  name: str | None = None, datasets=None) -> dict:  # fmt: skip
    from zoo.hub import save_pretrained
    from zoo.medical.data import data_root
    from zoo.medical.train import evaluate, train
    from zoo.weights import sha256_file

    data = Path(args.data) if args.data else data_root()
    model, summary = train(
        model, data, run_dir, max_steps=recipe.get("max_steps") or 600, val_every=recipe.get("val_every") or 50,
        lr=recipe.get("lr") or 2e-4, num_samples=recipe.get("num_samples") or 2, seed=recipe.get("seed") or 0,
        max_minutes=recipe.get("max_minutes"), progress=not args.no_progress, resume=resume,
    )  # fmt: skip
    import inspect

    known = inspect.signature(save_pretrained).parameters
    kw = {k: v for k, v in {"name": name, "datasets": list(datasets or [])}.items() if v and k in known}
    save_pretrained(model, out, **kw)
    summary["folder"] = str(out)
    summary["sha256"] = sha256_file(out / "model.safetensors")
    if evaluate_after and data.is_dir():
        summary["test"] = evaluate(model, data, "test")
    summary["model_args"] = model.config.to_dict()["model_args"]
    atomic_write_bytes(run_dir / "result.json", (json.dumps(summary, indent=2) + "\n").encode())
    _emit(args, summary, json.dumps(summary, indent=2))
    return summary


@command(COMMANDS, "train", train_arguments)
def train_run(args) -> int:
    from zoo.loading import build
    from zoo.medical.registry import RECIPES
    from zoo.training import check_run_dir
    from zoo.weights import folder_path

    if args.name not in RECIPES:
        raise InputError(f"no training recipe for {args.name!r}; recipes: {', '.join(RECIPES)} (use `zoo finetune` for others)")
    recipe = RECIPES[args.name]
    model = build("swin-unetr", recipe["model_args"], recipe["preprocessing"], name=args.name)
    out = Path(args.out) if args.out else folder_path(args.name)
    run_dir = check_run_dir(args.run_dir or f"runs/medical/{args.name}", resume=args.resume, inputs=[args.data])
    _fit_and_save(model, args, _recipe(recipe, args.overrides), out, run_dir, evaluate_after=not args.no_eval,
                  resume="auto" if args.resume else None)  # fmt: skip
    return 0


def finetune_arguments(p: argparse.ArgumentParser) -> None:
    _train_common(p)
    p.add_argument("--out-channels", type=int, default=None, help="number of classes (a new output head if it differs)")
    p.add_argument("--in-channels", type=int, default=None, help="input modalities (encoder-only bases)")
    p.add_argument("--preprocessing", default=None, help="JSON (or a .json file) overriding preprocessing keys")


FINETUNE_RECIPE = {"max_steps": 300, "val_every": 50, "lr": 1e-4, "num_samples": 2, "seed": 0, "max_minutes": None}


@command(COMMANDS, "finetune", finetune_arguments)
def finetune_run(args) -> int:
    """Start from a registered model: a full Swin UNETR (new head if --out-channels differs) or the SSL encoder.

    ``--out DIR`` is the run folder: ``best.ckpt``, ``last.ckpt``, ``logs/version_N/{metrics.csv,hparams.yaml}``,
    ``result.json`` and the fine-tuned Hub-form model in ``DIR/model``; ``--resume`` continues it.
    """
    from zoo.loading import build
    from zoo.registry import get_entry
    from zoo.training import check_run_dir

    if not args.data:
        raise InputError("zoo finetune needs --data: expected a BRATS-layout folder or a datalist JSON, got none")
    if not Path(args.data).exists():
        raise InputError(f"--data expected a BRATS-layout folder or a datalist JSON, got {args.data!r} (not found)")
    if not args.out:
        raise InputError("zoo finetune needs --out: expected the run folder to write, got none")
    run_dir = check_run_dir(args.out, resume=args.resume, inputs=[args.data])
    recipe = _recipe(FINETUNE_RECIPE, args.overrides)
    entry = get_entry(args.name)
    pre = dict(entry.preprocessing)
    if args.preprocessing:
        text = Path(args.preprocessing).read_text() if os.path.isfile(args.preprocessing) else args.preprocessing
        try:
            pre.update(json.loads(text))
        except json.JSONDecodeError as exc:
            raise InputError(f"--preprocessing expected JSON (or a .json file), got {args.preprocessing!r} ({exc})") from None
    base = _load(args)
    margs = dict(entry.model_args)
    name = f"{Path(args.name).name}-finetuned-{run_dir.resolve().name}"
    if entry.architecture == "swin-unetr-encoder":
        margs.update(in_channels=args.in_channels or margs.get("in_channels", 1), out_channels=args.out_channels or 2)
        if margs["in_channels"] != entry.model_args.get("in_channels", 1):
            raise InputError(f"the SSL encoder was pre-trained on 1 channel; expected --in-channels 1, got {margs['in_channels']}")
        model = build("swin-unetr", margs, pre, name=name)
        model.swinViT.load_state_dict(base.swinViT.state_dict(), strict=True)
    else:
        if args.out_channels:
            margs["out_channels"] = args.out_channels
        model = build("swin-unetr", margs, pre, name=name)
        new_head = margs["out_channels"] != entry.model_args["out_channels"]
        state = {k: v for k, v in base.state_dict().items() if not (new_head and k.startswith("out."))}
        model.load_state_dict(state, strict=False)
    _fit_and_save(model, args, recipe, run_dir / "model", run_dir, evaluate_after=False,
                  resume="auto" if args.resume else None, name=name, datasets=[str(args.data)])  # fmt: skip
    return 0



if __name__ == "__main__":  # pragma: no cover
    sys.exit(0)
