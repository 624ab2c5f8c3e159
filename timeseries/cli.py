"""``zoo`` sub-commands of the forecasting domain.

The core adds the options every verb shares (``NAME|FOLDER``, ``--weights``, ``--data``, ``--threads``,
``--out``, ``--json``; ``--resume`` and ``key=value`` overrides for train/finetune)::

    zoo eval informer-etth1-h96 [--data ETTh1|FILE.csv|DATA_DIR] [--split val]   # MSE/MAE as on the card
    zoo eval runs/my-informer/model --data my.csv                                  # a fine-tuned folder
    zoo forecast informer-etth1 --csv FILE [--out forecast.csv] [--plot out.png]
    zoo finetune informer-etth1 --csv my.csv [--target COL] [--pred-len H] --out DIR [--resume] [lr=1e-4 ...]
    zoo train informer-etth1-h96 [max_epochs=4 model_args.d_model=128] [--out runs/timeseries] [--resume]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from zoo.cli_support import command, emit, positive_int
from zoo.errors import InputError

COMMANDS: dict = {}  # zoo VERB -> (add_arguments, run), filled by @command below


def _load(args_or_name):
    """The model of ``args`` (name, folder, ``--weights``) or of a registered name / Hub-form folder."""
    import zoo

    if isinstance(args_or_name, argparse.Namespace):
        try:
            from zoo.cli_support import load_model
        except ImportError:  # pragma: no cover - older core
            return zoo.load(args_or_name.name)
        return load_model(args_or_name)
    if Path(str(args_or_name)).is_dir():
        from zoo.hub import from_pretrained

        return from_pretrained(args_or_name)
    return zoo.load(args_or_name)


# ----------------------------------------------------------------------------- eval
def eval_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--batch-size", type=positive_int, default=256)
    p.add_argument("--split", choices=["test", "val"], default="test")


def _data_source(data: str | None, default: str | None) -> tuple[str, str | None]:
    """``(data set name or CSV path, data folder or None)`` from ``--data`` (a name, a CSV file or a folder)."""
    if data and Path(data).is_dir():
        if not default:
            raise InputError(f"--data {data} is a folder; expected a data set name or CSV file for this model")
        return default, data
    if data:
        return data, None
    if not default:
        raise InputError("expected --data (a data set name such as ETTh1 or a CSV file), got none and the model "
                         "names no data set")
    return default, None


def evaluate_model(model, data: str | None = None, data_dir: str | None = None, split: str = "test",
                   batch_size: int = 256) -> dict:
    """Test (or val) MSE/MAE on standardised values over every window, the protocol of the cards."""
    from torch.utils.data import DataLoader

    from .data import ForecastDataModule
    from .task import evaluate

    cfg = model.config
    dm = ForecastDataModule(data or cfg.dataset, data_dir=data_dir, seq_len=cfg.seq_len, label_len=cfg.label_len,
                            pred_len=cfg.pred_len, features=cfg.features, target=cfg.target)
    dm.setup()
    if len(dm.columns) != len(cfg.columns):
        raise InputError(f"{dm.name} has {len(dm.columns)} columns, the model expects {len(cfg.columns)}")
    ds = dm.test_set if split == "test" else dm.val_set
    res = evaluate(model, DataLoader(ds, batch_size=batch_size, shuffle=False), cfg.features)
    return {"data": dm.name, "split": split, "windows": len(ds), **res}


@command(COMMANDS, "eval", eval_arguments)
def eval_run(args) -> int:
    model = _load(args)
    data, data_dir = _data_source(getattr(args, "data", None), model.config.get("preprocessing", {}).get("dataset"))
    data_dir = getattr(args, "data_dir", None) or data_dir
    res = evaluate_model(model, data, data_dir, args.split, args.batch_size)
    emit(args, res, f"{args.name} on {res['data']} {res['split']} ({res['windows']} windows, standardised): "
                     f"MSE {res['mse']:.4f}  MAE {res['mae']:.4f}")
    return 0


# ----------------------------------------------------------------------------- forecast
def forecast_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--csv", default=None, help="CSV with a date column and the model's columns (or give it as --data)")
    p.add_argument("--date-col", default="date")
    p.add_argument("--plot", default=None, help="write a PNG of history and forecast")
    p.add_argument("--columns", default=None, help="comma-separated columns to plot (default: all, at most 7)")


def plot_forecast(history, forecast, path: str | Path, columns: list[str] | None = None, date_col: str = "date",
                  title: str = "") -> Path:
    """History (last rows) and forecast per column, one panel each, saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = columns or [c for c in forecast.columns if c != date_col][:7]
    fig, axes = plt.subplots(len(cols), 1, figsize=(10, 1.8 * len(cols) + 0.6), sharex=True, squeeze=False)
    for ax, c in zip(axes[:, 0], cols):
        ax.plot(history[date_col], history[c], color="0.3", lw=1, label="history")
        ax.plot(forecast[date_col], forecast[c], color="tab:red", lw=1.2, label="forecast")
        if "truth" in forecast.attrs and c in forecast.attrs["truth"]:
            ax.plot(forecast[date_col], forecast.attrs["truth"][c], color="tab:blue", lw=1, alpha=0.7, label="actual")
        ax.set_ylabel(c)
    axes[0, 0].legend(loc="upper left", fontsize=8, ncol=3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    from zoo.io import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_write(path) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
    finally:
        plt.close(fig)
    return path


@command(COMMANDS, "forecast", forecast_arguments)
def forecast_run(args) -> int:
    """``zoo forecast``: every argument is checked (output != input, suffixes) before the model is loaded."""
    from zoo.io import atomic_write, check_output

    from .data import read_csv

    csv = args.csv or getattr(args, "data", None)
    if not csv:
        raise InputError("expected the history as --csv FILE.csv (a date column and the model's columns), got none")
    path = Path(csv)
    if not path.is_file():
        raise InputError(f"expected an existing CSV file for --csv, got {str(path)!r} (not found)")
    out = check_output(args.out, inputs=[path], suffixes=(".csv",), what="output") if args.out else None
    plot = None
    if args.plot:
        plot = check_output(args.plot, inputs=[path, *([out] if out else [])], suffixes=(".png",), what="plot")
    df = read_csv(path, "history CSV")
    model = _load(args)
    fut = model.forecast_df(df, date_col=args.date_col)
    if out:
        with atomic_write(out) as tmp:
            fut.to_csv(tmp, index=False)
        print(f"wrote {len(fut)} forecast rows to {out}", file=sys.stderr if getattr(args, "json", False) else sys.stdout)
    elif not getattr(args, "json", False):
        fut.to_csv(sys.stdout, index=False)
    if plot:
        cols = args.columns.split(",") if args.columns else None
        hist = df.iloc[-model.config.seq_len :].copy()
        hist[args.date_col] = _dates_like(hist[args.date_col])
        plot_forecast(hist, fut, plot, cols, args.date_col, title=f"{args.name}: {path.name}")
        print(f"wrote plot {plot}", file=sys.stderr if getattr(args, "json", False) else sys.stdout)
    if getattr(args, "json", False):
        print(json.dumps({"rows": len(fut), "out": str(out) if out else None, "plot": str(plot) if plot else None,
                          "forecast": fut.astype({args.date_col: str}).to_dict(orient="records")}, default=float))
    return 0


def _dates_like(dates):
    """History dates parsed like the forecast's (same time zone) for plotting on one axis."""
    import pandas as pd

    from .data import parse_dates

    wall, zone = parse_dates(dates, "dates")
    idx = pd.DatetimeIndex(wall)
    if zone is not None:
        import numpy as np

        idx = idx.tz_localize(zone, ambiguous=np.ones(len(idx), dtype=bool), nonexistent="shift_forward")
    return idx


# ----------------------------------------------------------------------------- finetune
def finetune_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--csv", default=None, help="CSV with a date column and numeric columns (or give it as --data)")
    p.add_argument("--target", default=None, help="target column (default: the model's, else the last column)")
    p.add_argument("--features", choices=["M", "S", "MS"], default="M")
    p.add_argument("--pred-len", type=positive_int, default=None, help="horizon (default: the model's)")
    p.add_argument("--epochs", type=positive_int, default=3)
    p.add_argument("--lr", type=float, default=None, help="default: the recipe's")
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--seed", type=int, default=2021)


def transfer_weights(src: torch.nn.Module, dst: torch.nn.Module) -> tuple[list[str], list[str]]:
    """Copy every tensor whose name and shape match; returns (copied, re-initialised) names."""
    s, d = src.state_dict(), dst.state_dict()
    copied, fresh = [], []
    for k, v in d.items():
        if k in s and s[k].shape == v.shape:
            d[k] = s[k].clone()
            copied.append(k)
        else:
            fresh.append(k)
    dst.load_state_dict(d)
    return copied, fresh


def _save_folder(model, folder: Path, *, name: str, base_model: str | None, datasets: list[str], metrics: list[dict],
                 card: dict, training: dict, card_entry) -> Path:
    """``save_pretrained`` with the new identity (new signature when the core has it, else a card entry)."""
    import inspect

    from zoo.hub import save_pretrained

    params = inspect.signature(save_pretrained).parameters
    if "results" in params:
        kw = {"name": name, "base_model": base_model, "datasets": datasets, "results": {"metrics": metrics},
              "card": card, "training": training}
        return save_pretrained(model, folder, **{k: v for k, v in kw.items() if k in params})
    return save_pretrained(model, folder, entry=card_entry)


def finetune(name: str, csv: str, *, target: str | None = None, features: str = "M", pred_len: int | None = None,
             out: str | None = None, epochs: int = 3, lr: float | None = None, batch_size: int = 32,
             seed: int = 2021, resume: bool = False, overrides: dict | None = None, progress_bar: bool | None = None,
             base=None, log=print) -> dict:
    """Fine-tune ``name`` (a registered model or a Hub-form folder) on the user's CSV.

    Everything about the data is fitted on the USER's rows: columns, frequency and the scaler (mean /
    std of the CSV's training rows, 70/10/20 chronological split). The run directory ``out`` keeps
    ``best.ckpt``, ``last.ckpt`` and ``logs/version_N/{metrics.csv,hparams.yaml}``; ``resume=True``
    continues it from ``last.ckpt``. ``base``: the starting model when not ``name``'s registered weights
    (``zoo finetune NAME --weights ...``). The fine-tuned model is written in Hub form to ``<out>/model``
    with its own name, the user's data set and the validation/test MSE/MAE measured on the user's split.

    Example:
        >>> res = finetune("dlinear-etth1", "my.csv", target="load", out="runs/my-dlinear", epochs=3)
        >>> model = zoo.hub.from_pretrained(res["folder"])      # forecasts my.csv in its own units
    """
    import lightning as L

    from zoo.io import atomic_write_bytes
    from zoo.registry import Metric, ModelEntry, get_entry
    from zoo.training import check_run_dir
    from zoo.training import finetune as zoo_finetune

    from .data import ForecastDataModule, read_csv, read_frame
    from .recipes import RECIPES
    from .task import ForecastTask, evaluate
    from .train import build_model

    path = Path(csv)
    if not path.is_file():
        raise InputError(f"expected an existing CSV file for --csv, got {str(path)!r} (not found)")
    base = base if base is not None else _load(name)
    cfg = base.config
    try:
        entry = get_entry(cfg.get("name") or name)
    except KeyError:
        entry = None
    base_name = entry.name if entry is not None else (cfg.get("name") or Path(str(name)).name)
    architecture = cfg["architecture"]
    out_dir = Path(out or f"runs/finetune/{base_name}-{path.stem}")
    check_run_dir(out_dir, resume=resume, inputs=[path])
    cols = list(read_csv(path, "data CSV").columns)
    target = target or (cfg.target if cfg.get("preprocessing", {}).get("target") in cols else cols[-1])
    read_frame(path, target)  # dates, numbers and target checked before any work
    h = pred_len or cfg.pred_len
    recipe_base = RECIPES.get(base_name, {})
    recipe = {**recipe_base, "data": str(path), "features": features, "target": target,
              "seq_len": cfg.seq_len, "label_len": cfg.label_len, "pred_len": h, "batch_size": batch_size,
              "architecture": architecture, "max_epochs": epochs, "patience": max(1, min(3, epochs)),
              "lr_decay": 0.5, "seed": seed, "weight_decay": recipe_base.get("weight_decay", 0.0)}
    recipe["lr"] = lr or recipe_base.get("lr", 1e-4)
    recipe["model_args"] = {k: v for k, v in dict(cfg.model_args).items()
                            if k not in ("enc_in", "dec_in", "c_out", "pred_len", "seq_len", "label_len", "freq")}
    if overrides:
        from zoo.cli_support import apply_overrides

        recipe = apply_overrides(recipe, overrides)
    L.seed_everything(recipe["seed"], workers=True)
    dm = ForecastDataModule(str(path), seq_len=recipe["seq_len"], label_len=recipe["label_len"],
                            pred_len=recipe["pred_len"], features=recipe["features"], target=recipe["target"],
                            batch_size=recipe["batch_size"])
    dm.setup()  # the scaler, columns and frequency of the USER's training rows
    new_name = out_dir.resolve().name
    model = build_model(recipe, dm, name=new_name)
    copied, fresh = transfer_weights(base, model)
    if fresh:
        log(f"re-initialised {len(fresh)} tensors whose shape changed (columns {len(cfg.columns)} -> "
            f"{len(dm.columns)}, horizon {cfg.pred_len} -> {recipe['pred_len']}, freq {cfg.freq} -> {dm.freq}): "
            f"{', '.join(fresh)}")
    else:
        log(f"all {len(copied)} tensors start from {base_name}")
    before = evaluate(model, dm.test_dataloader(), recipe["features"])  # restores train mode afterwards
    model.train()
    task = ForecastTask(model, lr=recipe["lr"], features=recipe["features"], lr_decay=recipe["lr_decay"],
                        weight_decay=recipe["weight_decay"])
    if resume and (out_dir / "recipe.json").is_file():
        old = json.loads((out_dir / "recipe.json").read_text())
        changed = sorted(k for k in set(old) | set(recipe) if k not in ("max_epochs", "patience")
                         and json.dumps(old.get(k), sort_keys=True) != json.dumps(recipe.get(k), sort_keys=True))
        if changed:
            raise InputError(f"--resume expected the settings of the run in {out_dir}, got other values for: "
                             f"{', '.join(f'{k} ({old.get(k)!r} -> {recipe.get(k)!r})' for k in changed)}")
    trainer = zoo_finetune(task, dm, out=out_dir, resume=resume, max_epochs=recipe["max_epochs"], monitor="val/mse",
                           patience=recipe["patience"], progress_bar=progress_bar, log_every_n_steps=10,
                           enable_model_summary=False, num_sanity_val_steps=0)
    atomic_write_bytes(out_dir / "recipe.json", (json.dumps(recipe, indent=2, sort_keys=True) + "\n").encode())
    val = evaluate(model, dm.val_dataloader(), recipe["features"])
    test = evaluate(model, dm.test_dataloader(), recipe["features"])
    model.eval()
    log(f"test MSE {before['mse']:.4f} -> {test['mse']:.4f}, MAE {before['mae']:.4f} -> {test['mae']:.4f} "
        f"(standardised with {path.name}'s training rows)")
    cmd = (f"zoo finetune {name} --csv {csv} --target {target} --features {recipe['features']} --pred-len "
           f"{recipe['pred_len']} --epochs {recipe['max_epochs']} --seed {recipe['seed']} --out {out_dir}")
    split_text = ("the ETT 12/4/4-month split" if dm.name.startswith(("ETTh", "ETTm"))
                  else "a 70/10/20 chronological split of the CSV")
    protocol = f"{split_text}, every window, MSE/MAE on values standardised with its training rows"
    metrics = [{"name": m, "value": res[m], "dataset": path.name, "split": split, "protocol": protocol,
                "command": cmd, "published": None, "published_source": None, "note": None}
               for split, res in (("val", val), ("test", test)) for m in ("mse", "mae")]
    card = ModelEntry(
        name=new_name, architecture=architecture, domain="timeseries", task="forecasting",
        model_args=dict(model.config.model_args), preprocessing=dict(model.config.preprocessing),
        license=entry.license if entry is not None else "unknown", base_model=base_name, datasets=(path.name,),
        paper=entry.paper if entry is not None else None,
        description=f"{base_name} fine-tuned on {path.name} (features {recipe['features']}, target {target}, "
                    f"horizon {recipe['pred_len']}).",
        metrics=[Metric(m["name"], m["value"], m["dataset"], m["split"], cmd, note=protocol) for m in metrics],
        train_command=cmd,
        extra={"reinitialised": fresh, "epochs_run": trainer.current_epoch, "seed": recipe["seed"],
               "test_before_finetune": {"mse": before["mse"], "mae": before["mae"]}},
    )
    base_repo = entry.weights.repo_id if entry is not None and entry.weights is not None else None
    card_facts = {
        "task": "forecasting", "description": card.description, "license": card.license, "paper": card.paper,
        "tags": ["timeseries", "forecasting", architecture, "fine-tuned"],
        "training_notes": (f"Fine-tuned from {base_name} on {path.name}: scaler (mean / std), columns and frequency "
                           f"fitted on the file's training rows; {len(fresh)} tensors re-initialised"
                           f"{' (' + ', '.join(fresh) + ')' if fresh else ''}; test MSE before fine-tuning "
                           f"{before['mse']:.4f}, after {test['mse']:.4f} (standardised, {path.name} test split)."),
        "usage": ("```python\nimport pandas as pd\nfrom zoo.hub import from_pretrained\n\n"
                  "model = from_pretrained(\"path/to/this/folder\")  # or its Hub repo id once published\n"
                  f"future = model.forecast_df(pd.read_csv({path.name!r}))  # the next {recipe['pred_len']} rows, "
                  "original units\n```"),
    }
    training = {"command": cmd, "recipe": recipe, "seed": recipe["seed"], "threads": torch.get_num_threads(),
                "epochs_run": trainer.current_epoch, "reinitialised": fresh,
                "test_before_finetune": {"mse": before["mse"], "mae": before["mae"]}}
    folder = _save_folder(model, out_dir / "model", name=new_name, base_model=base_repo or base_name,
                          datasets=[path.name], metrics=metrics, card=card_facts, training=training, card_entry=card)
    log(f"wrote {folder} (load it with zoo.hub.from_pretrained({str(folder)!r}); run files in {out_dir})")
    return {"folder": str(folder), "run_dir": str(out_dir), "before": before, "val": val, "test": test,
            "reinitialised": fresh, "epochs_run": trainer.current_epoch}


@command(COMMANDS, "finetune", finetune_arguments)
def finetune_run(args) -> int:
    csv = args.csv or getattr(args, "data", None)
    if not csv:
        raise InputError("expected the training data as --csv FILE.csv (a date column and numeric columns), got none")
    if not args.out:
        raise InputError("expected --out DIR for the run folder (checkpoints, logs and the model), got none")
    res = finetune(args.name, csv, target=args.target, features=args.features, pred_len=args.pred_len, out=args.out,
                   epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=args.seed,
                   resume=getattr(args, "resume", False), overrides=getattr(args, "overrides", None) or None,
                   base=_load(args),
                   log=(lambda m: print(m, file=sys.stderr)) if getattr(args, "json", False) else print)
    if getattr(args, "json", False):
        print(json.dumps(res))
    return 0


# ----------------------------------------------------------------------------- train
def train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--publish", action="store_true", help="write hub/models/<name> afterwards")


@command(COMMANDS, "train", train_arguments)
def train_run(args) -> int:
    from zoo.registry import get_entry

    from .train import train

    try:
        name = get_entry(args.name).name  # aliases resolve to their recipe
    except KeyError:
        name = args.name
    data = getattr(args, "data", None)
    if data and not Path(data).is_dir():
        raise InputError(f"expected --data to be a folder holding timeseries/<name>.csv, got {data!r}")
    train(name, data or getattr(args, "data_dir", None), args.out or "runs/timeseries", args.threads or 1,
          publish=args.publish, resume=getattr(args, "resume", False), **(getattr(args, "overrides", None) or {}))
    return 0


