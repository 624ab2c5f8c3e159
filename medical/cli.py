"""``zoo`` sub-commands of the medical domain (the lead's CLI adds the positional ``name``).

    zoo segment NAME flair.nii.gz t1c.nii.gz --out seg.nii.gz [--plot overlay.png]
    zoo segment NAME --modalities flair=a.nii.gz t1c=b.nii.gz --out seg.nii.gz
    zoo export-bundle NAME DIR                       # MONAI bundle: python -m monai.bundle run ...
    zoo train swin-unetr-brats-subset --data ../shared/data/medical/brats2015-subset
    zoo finetune NAME --data datalist.json --out-channels 3 --out DIR
    zoo eval swin-unetr-brats-subset                  # Dice WT/TC/ET on the BRATS-subset test cases
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

from zoo.errors import InputError


def _threads(n: int | None) -> None:
    if n:
        torch.set_num_threads(n)


def _load(name: str, device: str | None = None):
    import zoo

    return zoo.load(name, device=device)


# ----------------------------------------------------------------------------- segment
def segment_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("volumes", nargs="*", help="one NIfTI file per modality, in the model's order")
    p.add_argument("--modalities", nargs="+", metavar="NAME=FILE", help="files by modality name instead of by position")
    p.add_argument("--out", required=True, help="output label volume (.nii.gz), on the input's grid and affine")
    p.add_argument("--plot", default=None, help="also write a PNG overlay of three orthogonal slices")
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=None)
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
        raise InputError(f"give one NIfTI file per modality: {', '.join(modalities) or 'the model input'}")
    return files


def segment_run(args) -> int:
    from zoo.medical.infer import segment

    _threads(args.threads)
    model = _load(args.name, args.device)
    mods = list(model.config.get("preprocessing", {}).get("modalities") or [])
    res = segment(model, _files(args, mods), args.out, plot=args.plot, progress=not args.no_progress)
    print(f"wrote {res['out']} (shape {res['shape']}); voxels per label: {res['labels']}")
    if res.get("plot"):
        print(f"wrote {res['plot']}")
    return 0


# ----------------------------------------------------------------------------- export-bundle
def bundle_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="output folder of the bundle")
    p.add_argument("--overwrite", action="store_true")


def bundle_run(args) -> int:
    from zoo.medical.bundle import export_bundle

    folder = export_bundle(_load(args.name), args.dir, overwrite=args.overwrite)
    print(f"wrote MONAI bundle {folder}; run it with:\n  python -m monai.bundle run --config_file "
          f"{folder}/configs/inference.json --bundle_root {folder} --image_files \"['a.nii.gz', ...]\" --output_dir out")
    return 0


# ----------------------------------------------------------------------------- eval
def eval_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=None, help="BRATS-layout folder (default $ZOO_DATA_DIR/medical/brats2015-subset)")
    p.add_argument("--split", default="test", choices=["test", "validation", "train"])
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", action="store_true")


def eval_run(args) -> int:
    from zoo.medical.data import data_root
    from zoo.medical.train import evaluate

    _threads(args.threads)
    res = evaluate(_load(args.name), data_root(args.data), args.split)
    if args.json:
        print(json.dumps(res))
    else:
        print(f"{args.name} on BRATS-subset {args.split} (original grid): "
              + "  ".join(f"Dice {k} {v:.4f}" for k, v in res["dice"].items()))
    return 0


# ----------------------------------------------------------------------------- train / finetune
def _train_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=None, help="BRATS-layout folder or a datalist JSON (training/validation lists)")
    p.add_argument("--run-dir", default=None, help="checkpoints and logs (default runs/medical/NAME)")
    p.add_argument("--out", default=None, help="Hub-form output folder (default hub/models/NAME for train)")
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--max-minutes", type=float, default=None)
    p.add_argument("--val-every", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--no-progress", action="store_true")


def train_arguments(p: argparse.ArgumentParser) -> None:
    _train_common(p)
    p.add_argument("--no-eval", action="store_true", help="skip the test-split evaluation after training")


def _fit_and_save(model, args, recipe: dict, out: Path, evaluate_after: bool, run_dir: str) -> dict:
    from zoo.hub import save_pretrained
    from zoo.medical.data import data_root
    from zoo.medical.train import evaluate, train
    from zoo.weights import sha256_file

    data = Path(args.data) if args.data else data_root()
    run_dir = Path(args.run_dir or run_dir)
    pick = lambda k: getattr(args, k) if getattr(args, k, None) is not None else recipe.get(k)  # noqa: E731
    model, summary = train(
        model, data, run_dir, max_steps=pick("max_steps") or 600, val_every=pick("val_every") or 50,
        lr=pick("lr") or 2e-4, num_samples=recipe.get("num_samples", 2), seed=pick("seed") or 0,
        max_minutes=pick("max_minutes"), progress=not args.no_progress,
    )  # fmt: skip
    save_pretrained(model, out)
    summary["folder"] = str(out)
    summary["sha256"] = sha256_file(out / "model.safetensors")
    if evaluate_after and data.is_dir():
        summary["test"] = evaluate(model, data, "test")
    summary["model_args"] = model.config.to_dict()["model_args"]
    (run_dir / "result.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return summary


def train_run(args) -> int:
    from zoo.loading import build
    from zoo.medical.registry import RECIPES

    _threads(args.threads)
    if args.name not in RECIPES:
        raise InputError(f"no training recipe for {args.name!r}; recipes: {', '.join(RECIPES)} (use `zoo finetune` for others)")
    recipe = RECIPES[args.name]
    model = build("swin-unetr", recipe["model_args"], recipe["preprocessing"], name=args.name)
    out = Path(args.out) if args.out else Path(__file__).resolve().parent.parent / "hub" / "models" / args.name
    _fit_and_save(model, args, recipe, out, evaluate_after=not args.no_eval, run_dir=f"runs/medical/{args.name}")
    return 0


def finetune_arguments(p: argparse.ArgumentParser) -> None:
    _train_common(p)
    p.add_argument("--out-channels", type=int, default=None, help="number of classes (a new output head if it differs)")
    p.add_argument("--in-channels", type=int, default=None, help="input modalities (encoder-only bases)")
    p.add_argument("--preprocessing", default=None, help="JSON (or a .json file) overriding preprocessing keys")


def finetune_run(args) -> int:
    """Start from a registered model: a full Swin UNETR (new head if --out-channels differs) or the SSL encoder."""
    import zoo
    from zoo.loading import build
    from zoo.registry import get_entry

    _threads(args.threads)
    if not args.data:
        raise InputError("zoo finetune needs --data (a BRATS-layout folder or a datalist JSON)")
    if not args.out:
        raise InputError("zoo finetune needs --out (the Hub-form folder to write)")
    entry = get_entry(args.name)
    pre = dict(entry.preprocessing)
    if args.preprocessing:
        text = Path(args.preprocessing).read_text() if os.path.isfile(args.preprocessing) else args.preprocessing
        pre.update(json.loads(text))
    base = zoo.load(args.name)
    margs = dict(entry.model_args)
    if entry.architecture == "swin-unetr-encoder":
        margs.update(in_channels=args.in_channels or margs.get("in_channels", 1), out_channels=args.out_channels or 2)
        if margs["in_channels"] != entry.model_args.get("in_channels", 1):
            raise InputError("the SSL encoder was pre-trained on 1 channel; --in-channels must be 1")
        model = build("swin-unetr", margs, pre, name=Path(args.out).name)
        model.swinViT.load_state_dict(base.swinViT.state_dict(), strict=True)
    else:
        if args.out_channels:
            margs["out_channels"] = args.out_channels
        model = build("swin-unetr", margs, pre, name=Path(args.out).name)
        new_head = margs["out_channels"] != entry.model_args["out_channels"]
        state = {k: v for k, v in base.state_dict().items() if not (new_head and k.startswith("out."))}
        model.load_state_dict(state, strict=False)
    recipe = {"max_steps": 300, "val_every": 50, "lr": 1e-4, "num_samples": 2}
    out = Path(args.out)
    _fit_and_save(model, args, recipe, out, evaluate_after=False, run_dir=f"runs/medical/finetune-{out.name}")
    return 0


COMMANDS = {
    "segment": (segment_arguments, segment_run),
    "export-bundle": (bundle_arguments, bundle_run),
    "eval": (eval_arguments, eval_run),
    "train": (train_arguments, train_run),
    "finetune": (finetune_arguments, finetune_run),
}

if __name__ == "__main__":  # pragma: no cover
    sys.exit(0)
