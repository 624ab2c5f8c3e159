"""``zoo predict|eval|train|finetune NAME`` for graph models.

The core adds the shared options (``NAME``, ``--weights``, ``--data``, ``--threads``, ``--out``, ``--json``;
``--resume`` and ``key=value`` overrides for train/finetune); this module adds the graph ones.

Example:
    $ zoo predict gps-esol --smiles "CCO" "c1ccccc1"
    $ zoo predict gps-esol --csv molecules.csv --out predictions.csv
    $ zoo eval gps-esol                                   # recompute the card's test RMSE
    $ zoo train gps-esol epochs=80 --seeds 0 1 2          # the registered recipe, overridden
    $ zoo train gps --csv my.csv --targets logS --out runs/my-gps
    $ zoo finetune gps-esol --csv my.csv --targets logS --out runs/my-gps-ft
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from zoo.cli_support import command
from zoo.errors import InputError

CSV_SUFFIXES = (".csv", ".json")

COMMANDS: dict = {}  # zoo VERB -> (add_arguments, run), filled by @command below


def _load(args):
    from zoo.cli_support import load_model

    return load_model(args)


def _read_csv(path: str, what: str = "--csv"):
    """A pandas frame of a CSV file; `InputError` naming the file for a missing, empty or unreadable one."""
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what}: expected an existing CSV file, got {path!r} ({'a folder' if p.is_dir() else 'not found'})")
    try:
        df = pd.read_csv(p)
    except pd.errors.EmptyDataError:
        raise InputError(f"{what}: expected a CSV file with a header row and molecules, got the empty file {path!r}") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{what}: expected a comma-separated text file, got {path!r} that pandas cannot read "
                         f"({str(exc).strip()})") from None
    if df.empty:
        raise InputError(f"{what}: expected at least one row of molecules, got a header only ({list(df.columns)}) in {path!r}")
    return df


def _csv_smiles(path: str, column: str) -> list[str]:
    df = _read_csv(path)
    if column not in df.columns:
        raise InputError(f"{path}: expected a SMILES column {column!r} (--smiles-column), got columns {list(df.columns)}")
    values = df[column].tolist()
    for i, s in enumerate(values):
        if not isinstance(s, str) or not s.strip():
            raise InputError(f"{path}: row {i + 1} of column {column!r}: expected a SMILES string, got an empty cell")
    return [s.strip() for s in values]


# ------------------------------------------------------------------------------------------- predict
def add_predict(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--smiles", nargs="+", help="SMILES strings")
    src.add_argument("--csv", help="CSV file with a SMILES column")
    p.add_argument("--smiles-column", default="smiles")
    p.add_argument("--skip-invalid", action="store_true", help="warn and print NaN for invalid SMILES instead of failing")
    p.add_argument("--batch-size", type=int, default=64, help="molecules per forward pass (default 64)")


@command(COMMANDS, "predict", add_predict)
def run_predict(args) -> int:
    from zoo.io import atomic_write, check_output

    out = None
    if args.out:  # refused before any work: never overwrite the input
        out = check_output(args.out, inputs=[args.csv] if args.csv else [], suffixes=CSV_SUFFIXES, what="--out")
    if args.batch_size < 1:
        raise InputError(f"--batch-size must be a positive integer, got {args.batch_size}")
    smiles = _csv_smiles(args.csv, args.smiles_column) if args.csv else args.smiles
    model = _load(args)
    pred = model.predict_smiles(smiles, batch_size=args.batch_size, on_invalid="skip" if args.skip_invalid else "raise")
    names = list(model.config.preprocessing.get("task_names", [f"task{i}" for i in range(pred.shape[1])]))
    units = model.config.preprocessing.get("units", "")
    rows = [{"smiles": s, **{n: (None if math.isnan(v) else float(v)) for n, v in zip(names, p)}} for s, p in zip(smiles, pred.tolist())]
    result = {"model": args.name, "units": units, "predictions": rows}
    if out is not None:
        with atomic_write(out) as tmp:
            if out.suffix.lower() == ".json":
                tmp.write_text(json.dumps(result, indent=2) + "\n")
            else:
                import pandas as pd

                pd.DataFrame(rows, columns=["smiles", *names]).to_csv(tmp, index=False)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    if out is not None:
        print(f"wrote {len(rows)} predictions ({', '.join(names)} in {units}) to {out}")
        return 0
    print(f"# {args.name}: {', '.join(names)} in {units}")
    width = max(len(s) for s in smiles)
    for r in rows:
        print(r["smiles"].ljust(width) + "  " + "  ".join("nan" if r[n] is None else f"{r[n]:.4f}" for n in names))
    return 0


# ---------------------------------------------------------------------------------------------- eval
def add_eval(p: argparse.ArgumentParser) -> None:
    p.add_argument("--part", default="test", choices=["train", "val", "test"])


def evaluate(model, data=None, part: str = "test") -> dict:
    """Metrics of a model on the split recorded in its config (MoleculeNet split, TU fold, or a CSV's split).

    ``data``: the shared data folder (default ``$ZOO_DATA_DIR``), or for a model trained on your own
    CSV, that CSV file (its recorded split is recomputed from it).
    """
    from .data import MOLECULENET, TU_DATASETS
    from .train import evaluate_csv, evaluate_moleculenet, evaluate_tu_fold

    prep = model.config.preprocessing
    split = prep.get("split")
    if not split:
        raise InputError("expected a model whose config records its data split (config.preprocessing.split), got none")
    if data is not None and Path(data).is_file():
        return evaluate_csv(model, data, part)
    if split["method"] == "stratified_kfold":
        return evaluate_tu_fold(model, data)
    dataset = str(prep.get("dataset", ""))
    if dataset.lower() not in MOLECULENET and dataset.upper() not in TU_DATASETS:
        raise InputError(f"this model was trained on {dataset!r}, not a MoleculeNet set; expected --data FILE.csv (the CSV it was "
                         f"trained on), got {data!r}")  # fmt: skip
    return evaluate_moleculenet(model, data, part)


@command(COMMANDS, "eval", add_eval)
def run_eval(args) -> int:
    if args.data is not None and not Path(args.data).exists():
        raise InputError(f"--data: expected the shared data folder or a CSV file, got {args.data!r} (not found)")
    model = _load(args)
    result = evaluate(model, args.data, args.part)
    prep = model.config.preprocessing
    result = {"model": args.name, "dataset": prep["dataset"], "part": args.part, "split": prep["split"], **result}
    print(json.dumps(result, indent=None if args.json else 2))
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


def add_train(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds of a registered recipe")
    _add_csv_options(p)


def _check_out_folder(out: str | None, inputs: list[str], resume: bool) -> Path:
    """The run's output folder, refused before any work when it would overwrite or mix with other files."""
    if not out:
        raise InputError("expected --out FOLDER (where the run and the trained model go), got none")
    path = Path(out)
    for inp in inputs:
        if inp and Path(inp).exists() and path.resolve() == Path(inp).resolve():
            raise InputError(f"--out {out!r} is the same path as the input {inp!r}; choose a new folder "
                             "(the zoo never overwrites its inputs)")
        if inp and Path(inp).exists() and path.resolve() in Path(inp).resolve().parents:
            raise InputError(f"--out {out!r} contains the input {inp!r}; choose a new, empty folder")
    if path.exists() and not path.is_dir():
        raise InputError(f"expected --out to be a folder, got the existing file {out!r}")
    last = path / "last.ckpt"
    if resume:
        if not last.is_file():
            raise InputError(f"--resume: expected an earlier run in {out!r} (its last.ckpt), got none; drop --resume to start")
    elif path.is_dir() and any(path.iterdir()):
        hint = "pass --resume to continue it" if last.is_file() else "choose a new or empty folder"
        raise InputError(f"--out {out!r} is not empty ({', '.join(sorted(p.name for p in path.iterdir())[:5])}); {hint}")
    return path


def _command_line(verb: str, args) -> str:
    parts = ["zoo", verb, args.name, "--csv", args.csv]
    if args.targets:
        parts += ["--targets", *args.targets]
    for flag, value, default in (("--smiles-column", args.smiles_column, "smiles"), ("--task", args.task, "regression"),
                                 ("--split", args.split, "random"), ("--seed", args.seed, 0), ("--epochs", args.epochs, None),
                                 ("--batch-size", args.batch_size, 32), ("--lr", args.lr, None)):  # fmt: skip
        if value != default:
            parts += [flag, str(value)]
    if args.no_descriptors and verb == "train":
        parts.append("--no-descriptors")
    return " ".join([*parts, "--out", str(args.out)])


def _metrics_list(result: dict, table, split: dict, command: str) -> list[dict]:
    """``results.json`` metrics of a run: every metric of the test part (else validation), on the user's split."""
    part = "test" if "test" in result else "val"
    protocol = (f"{split['method']} {'/'.join(str(round(f * 100)) for f in split['fractions'])} split of the {len(table.smiles)} rows "
                f"RDKit parses (seed {split['seed']}); weights of the best validation epoch")  # fmt: skip
    return [
        {"name": k, "value": float(v), "dataset": table.name, "split": part, "protocol": protocol, "command": command,
         "published": None, "published_source": None, "note": None}
        for k, v in result.get(part, {}).items()
    ]  # fmt: skip


def _save(model, out: Path, *, base_model: str | None, datasets: list[str], results: dict) -> None:
    """Write the trained model into ``out/model`` (Hub form), beside its run, with its own identity."""
    from zoo.hub import save_pretrained

    save_pretrained(model, out / "model", name=out.name, base_model=base_model, datasets=datasets, results=results)


def _train_csv(args, verb: str, arch: str, model_args: dict, init_state=None, base_model: str | None = None) -> int:
    from .data import FRACTIONS, load_csv
    from .train import OPTIM, train_table

    out = _check_out_folder(args.out, [args.csv], args.resume)
    if args.epochs is not None and args.epochs < 1:
        raise InputError(f"--epochs must be a positive integer, got {args.epochs}")
    if args.batch_size < 1:
        raise InputError(f"--batch-size must be a positive integer, got {args.batch_size}")
    _read_csv(args.csv)
    table = load_csv(args.csv, args.smiles_column, args.targets, args.task)
    for i, s in table.skipped:
        print(f"skipped row {i + 1}: {s!r} (not a molecule the featuriser reads)", file=sys.stderr)
    if len(table.smiles) < 10:
        raise InputError(f"{args.csv}: expected at least 10 molecules to split into train/validation/test, got {len(table.smiles)}")
    optim = {**OPTIM, **({"lr": args.lr} if args.lr else {})}
    split = {"method": args.split, "seed": args.seed, "fractions": list(FRACTIONS)}
    command = _command_line(verb, args)
    out.mkdir(parents=True, exist_ok=True)
    model, result = train_table(
        arch, table, split=split, model_args=model_args, descriptors=not args.no_descriptors, epochs=args.epochs or 50,
        batch_size=args.batch_size, optim=optim, seed=args.seed, ckpt_dir=str(out), name=out.name,
        init_state=init_state, resume="auto" if args.resume else None, progress_bar=sys.stderr.isatty(), logger=True,
        run_info={"command": command, "base_model": base_model, "csv": str(args.csv)},
    )  # fmt: skip
    _save(model, out, base_model=base_model, datasets=[table.name], results={"metrics": _metrics_list(result, table, split, command)})
    if args.json:
        print(json.dumps({**result, "out": str(out)}, indent=2))
    else:
        print(json.dumps(result, indent=2))
        print(f"wrote {out / 'model'} (model) beside the run in {out} (checkpoints, logs/version_*/metrics.csv, hparams.yaml)")
    return 0


def _recipe_args(name: str) -> tuple[str, dict]:
    from zoo.registry import get_architecture, get_entry

    from .train import GPS_ARGS, GRAPHORMER_ARGS, RECIPES

    if name in RECIPES:
        return RECIPES[name]["arch"], dict(RECIPES[name]["model_args"])
    if Path(name).is_dir():
        cfg = json.loads((Path(name) / "config.json").read_text())
        keep = set(GPS_ARGS) | set(GRAPHORMER_ARGS)
        return cfg["architecture"], {k: v for k, v in cfg["model_args"].items() if k in keep}
    try:
        e = get_entry(name)
        keep = set(GPS_ARGS) | set(GRAPHORMER_ARGS)
        return e.architecture, {k: v for k, v in e.model_args.items() if k in keep}
    except KeyError:
        arch = get_architecture(name).name
        return arch, dict(GPS_ARGS if arch == "gps" else GRAPHORMER_ARGS)


@command(COMMANDS, "train", add_train)
def run_train(args) -> int:
    from .train import RECIPES
    from .train import main as recipe_main

    if args.csv:
        arch, model_args = _recipe_args(args.name)
        from zoo.cli_support import apply_overrides

        model_args = apply_overrides(model_args, args.overrides.pop("model_args", {}), "model_args")
        if args.overrides:
            raise InputError(f"with --csv, expected only model_args.* overrides (e.g. model_args.hidden=128), got {sorted(args.overrides)}")
        return _train_csv(args, "train", arch, model_args)
    if args.name not in RECIPES:
        raise InputError(f"expected a registered graph recipe ({', '.join(sorted(RECIPES))}) or --csv FILE, got {args.name!r}")
    overrides = {**args.overrides, **({"epochs": args.epochs} if args.epochs else {})}
    argv = [args.name, *(f"{k}={json.dumps(v)}" for k, v in _flat(overrides)), "--seeds", *map(str, args.seeds)]
    if args.out:
        argv += ["--out", args.out]
    if args.resume:
        argv += ["--resume"]
    if args.threads:
        argv += ["--threads", str(args.threads)]
    return recipe_main(argv)


def _flat(d: dict, prefix: str = ""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _flat(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def add_finetune(p: argparse.ArgumentParser) -> None:
    _add_csv_options(p)


@command(COMMANDS, "finetune", add_finetune)
def run_finetune(args) -> int:
    """Start from a pretrained model's weights; the output layer is re-initialised if the task count differs.

    The result is a new model (its own name, ``base_model`` the parent, metrics measured on your split,
    normalisation fitted on your training part) written to ``--out`` next to its run folder ``--out/run``.
    """
    if not args.csv:
        raise InputError("zoo finetune expected --csv FILE (a SMILES column and target columns), got none")
    if args.overrides:
        raise InputError("zoo finetune for graph models takes no key=value overrides (use --epochs, --lr, ...), "
                         f"got {sorted(args.overrides)}")
    _check_out_folder(args.out, [args.csv], args.resume)
    _read_csv(args.csv)
    base = _load(args)
    base._check_reads_molecules()  # a TU-graph model cannot start a SMILES fine-tune
    arch, model_args = _recipe_args(args.name)
    state = base.state_dict()
    args.no_descriptors = not base.descriptors  # the descriptor input is part of the pretrained head
    from .data import load_csv

    n_targets = len(args.targets) if args.targets else load_csv(args.csv, args.smiles_column, None, args.task).targets.shape[1]
    if n_targets != base.num_tasks or args.task != base.task:  # new output layer and target scale
        for k in [k for k in state if k.startswith("head.mlp.3.")] + ["target_mean", "target_std"]:
            state.pop(k)
    return _train_csv(args, "finetune", arch, model_args, init_state=state, base_model=_base_model_id(args))


def _base_model_id(args) -> str:
    """The parent's Hub repo id when it has one, else its registered name or folder."""
    from zoo.registry import get_entry

    if args.weights:
        return str(args.weights)
    try:
        e = get_entry(args.name)
        return (e.weights.repo_id if e.weights is not None and e.weights.repo_id else None) or e.name
    except KeyError:
        return str(args.name)


