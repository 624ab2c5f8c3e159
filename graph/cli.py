"""``zoo predict|eval|train|finetune NAME`` for graph models (the lead's CLI adds the positional NAME).

Example:
    $ zoo predict gps-esol --smiles "CCO" "c1ccccc1"
    $ zoo eval gps-esol                                   # recompute the card's test RMSE
    $ zoo train gps-esol --seeds 0 1 2                    # the registered recipe
    $ zoo train gps --csv my.csv --targets logS --out runs/my-gps
    $ zoo finetune gps-esol --csv my.csv --targets logS --out runs/my-gps-ft
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from zoo.errors import InputError


def _load(name: str):
    import zoo
    from zoo.registry import get_entry

    try:
        get_entry(name)
        return zoo.load(name)
    except KeyError:
        if Path(name).is_dir():
            from zoo.hub import from_pretrained

            return from_pretrained(name)
        raise


# ------------------------------------------------------------------------------------------- predict
def add_predict(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--smiles", nargs="+", help="SMILES strings")
    src.add_argument("--csv", help="CSV file with a SMILES column")
    p.add_argument("--smiles-column", default="smiles")
    p.add_argument("--skip-invalid", action="store_true", help="warn and print NaN for invalid SMILES instead of failing")
    p.add_argument("--json", action="store_true", help="print JSON rows")


def run_predict(args) -> int:
    model = _load(args.name)
    if args.csv:
        import pandas as pd

        df = pd.read_csv(args.csv)
        if args.smiles_column not in df.columns:
            raise InputError(f"{args.csv}: no column {args.smiles_column!r}; columns are {list(df.columns)}")
        smiles = df[args.smiles_column].astype(str).tolist()
    else:
        smiles = args.smiles
    pred = model.predict_smiles(smiles, on_invalid="skip" if args.skip_invalid else "raise")
    names = list(model.config.preprocessing.get("task_names", [f"task{i}" for i in range(pred.shape[1])]))
    units = model.config.preprocessing.get("units", "")
    rows = [{"smiles": s, **{n: float(v) for n, v in zip(names, p)}} for s, p in zip(smiles, pred.tolist())]
    if args.json:
        print(json.dumps({"units": units, "predictions": rows}, indent=2))
        return 0
    print(f"# {args.name}: {', '.join(names)} in {units}")
    width = max(len(s) for s in smiles)
    for r in rows:
        print(r["smiles"].ljust(width) + "  " + "  ".join(f"{r[n]:.4f}" for n in names))
    return 0


# ---------------------------------------------------------------------------------------------- eval
def add_eval(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", default=None, help="shared data folder (default $ZOO_DATA_DIR or ../shared/data)")
    p.add_argument("--part", default="test", choices=["train", "val", "test"])


def evaluate(model, data_dir=None, part: str = "test") -> dict:
    """Metrics of a model on the split recorded in its config (MoleculeNet split or TU fold)."""
    from .train import evaluate_moleculenet, evaluate_tu_fold

    split = model.config.preprocessing["split"]
    if split["method"] == "stratified_kfold":
        return evaluate_tu_fold(model, data_dir)
    return evaluate_moleculenet(model, data_dir, part)


def run_eval(args) -> int:
    model = _load(args.name)
    result = evaluate(model, args.data_dir, args.part)
    prep = model.config.preprocessing
    print(json.dumps({"model": args.name, "dataset": prep["dataset"], "part": args.part, "split": prep["split"], **result}, indent=2))
    return 0


# --------------------------------------------------------------------------------------- train/finetune
def _add_csv_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--csv", help="CSV with a SMILES column and target columns (your own data)")
    p.add_argument("--smiles-column", default="smiles")
    p.add_argument("--targets", nargs="+", help="target columns (default: every numeric column)")
    p.add_argument("--task", choices=["regression", "classification"], default="regression")
    p.add_argument("--split", choices=["random", "scaffold"], default="random")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--no-descriptors", action="store_true", help="graph only, no RDKit descriptors in the head")
    p.add_argument("--out", help="output folder (Hub form)")
    p.add_argument("--threads", type=int, default=None)


def add_train(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds of a registered recipe")
    _add_csv_options(p)


def _train_csv(args, arch: str, model_args: dict, init_state=None) -> int:
    from zoo.hub import save_pretrained

    from .data import FRACTIONS, load_csv
    from .train import OPTIM, train_table

    if not args.out:
        raise InputError("--out FOLDER is required when training on a CSV")
    table = load_csv(args.csv, args.smiles_column, args.targets, args.task)
    for i, s in table.skipped:
        print(f"skipped row {i}: invalid SMILES {s!r}")
    optim = {**OPTIM, **({"lr": args.lr} if args.lr else {})}
    model, result = train_table(
        arch, table, split={"method": args.split, "seed": args.seed, "fractions": list(FRACTIONS)}, model_args=model_args,
        descriptors=not args.no_descriptors, epochs=args.epochs or 50, batch_size=args.batch_size, optim=optim,
        seed=args.seed, ckpt_dir=str(Path(args.out) / "ckpt"), name=Path(args.out).name, init_state=init_state,
    )  # fmt: skip
    save_pretrained(model, args.out)
    print(json.dumps(result, indent=2))
    print(f"wrote {args.out}")
    return 0


def _recipe_args(name: str) -> tuple[str, dict]:
    from zoo.registry import get_architecture, get_entry

    from .train import GPS_ARGS, GRAPHORMER_ARGS, RECIPES

    if name in RECIPES:
        return RECIPES[name]["arch"], dict(RECIPES[name]["model_args"])
    try:
        e = get_entry(name)
        keep = set(GPS_ARGS) | set(GRAPHORMER_ARGS)
        return e.architecture, {k: v for k, v in e.model_args.items() if k in keep}
    except KeyError:
        arch = get_architecture(name).name
        return arch, dict(GPS_ARGS if arch == "gps" else GRAPHORMER_ARGS)


def run_train(args) -> int:
    import torch

    from .train import main as recipe_main

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.csv:
        arch, model_args = _recipe_args(args.name)
        return _train_csv(args, arch, model_args)
    argv = [args.name, "--seeds", *map(str, args.seeds)]
    if args.out:
        argv += ["--out", args.out]
    if args.epochs:
        argv += ["--epochs", str(args.epochs)]
    return recipe_main(argv)


def add_finetune(p: argparse.ArgumentParser) -> None:
    _add_csv_options(p)


def run_finetune(args) -> int:
    """Start from a registered model's weights; the output layer is re-initialised if the task count differs."""
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.csv:
        raise InputError("zoo finetune needs --csv FILE (a SMILES column and target columns)")
    base = _load(args.name)
    arch, model_args = _recipe_args(args.name)
    state = base.state_dict()
    args.no_descriptors = not base.descriptors  # the descriptor input is part of the pretrained head
    from .data import load_csv

    n_targets = len(args.targets) if args.targets else load_csv(args.csv, args.smiles_column, None, args.task).targets.shape[1]
    if n_targets != base.num_tasks or args.task != base.task:  # new output layer and target scale
        for k in [k for k in state if k.startswith("head.mlp.3.")] + ["target_mean", "target_std"]:
            state.pop(k)
    return _train_csv(args, arch, model_args, init_state=state)


COMMANDS = {
    "predict": (add_predict, run_predict),
    "eval": (add_eval, run_eval),
    "train": (add_train, run_train),
    "finetune": (add_finetune, run_finetune),
}
