"""``zoo`` sub-commands of the forecasting domain (the lead's CLI adds the positional ``name``).

    zoo eval informer-etth1-h96 --data ETTh1 [--data-dir DIR]     # test MSE/MAE (standardised), as on the card
    zoo forecast informer-etth1 --csv FILE [--plot out.png] [--out forecast.csv]
    zoo finetune informer-etth1 --csv my.csv [--target COL] [--pred-len H] [--out DIR] [--epochs N]
    zoo train informer-etth1-h96                                   # the registered recipe
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from zoo.errors import InputError


def _load(name: str):
    import zoo

    return zoo.load(name)


# ----------------------------------------------------------------------------- eval
def eval_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=None, help="data set name (ETTh1, ...) or CSV path; default: the model's")
    p.add_argument("--data-dir", default=None, help="folder with timeseries/<name>.csv (default $ZOO_DATA_DIR)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--split", choices=["test", "val"], default="test")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


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


def eval_run(args) -> int:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    model = _load(args.name)
    res = evaluate_model(model, args.data, args.data_dir, args.split, args.batch_size)
    if args.json:
        print(json.dumps(res))
    else:
        print(f"{args.name} on {res['data']} {res['split']} ({res['windows']} windows, standardised): "
              f"MSE {res['mse']:.4f}  MAE {res['mae']:.4f}")
    return 0


# ----------------------------------------------------------------------------- forecast
def forecast_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--csv", required=True, help="CSV with a date column and the model's columns")
    p.add_argument("--date-col", default="date")
    p.add_argument("--out", default=None, help="write the forecast to this CSV")
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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
    return path


def forecast_run(args) -> int:
    import pandas as pd

    model = _load(args.name)
    path = Path(args.csv)
    if not path.is_file():
        raise InputError(f"--csv {path} does not exist")
    df = pd.read_csv(path)
    if args.date_col in df.columns:
        df[args.date_col] = pd.to_datetime(df[args.date_col])
    out = model.forecast_df(df, date_col=args.date_col)
    if args.out:
        tmp = Path(args.out).with_name(f".{Path(args.out).name}.tmp")
        out.to_csv(tmp, index=False)
        tmp.replace(args.out)
        print(f"wrote {len(out)} forecast rows to {args.out}")
    else:
        out.to_csv(sys.stdout, index=False)
    if args.plot:
        cols = args.columns.split(",") if args.columns else None
        hist = df.iloc[-2 * model.config.seq_len :]
        plot_forecast(hist, out, args.plot, cols, args.date_col, title=f"{args.name}: {path.name}")
        print(f"wrote plot {args.plot}")
    return 0


# ----------------------------------------------------------------------------- finetune
def finetune_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--csv", required=True, help="CSV with a date column and numeric columns")
    p.add_argument("--target", default=None, help="target column (default: the model's, else the last column)")
    p.add_argument("--features", choices=["M", "S", "MS"], default="M")
    p.add_argument("--pred-len", type=int, default=None, help="horizon (default: the model's)")
    p.add_argument("--out", default=None, help="output folder (Hub form); default runs/finetune/<name>-<csv>")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--lr", type=float, default=None, help="default: the recipe's")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=2021)
    p.add_argument("--threads", type=int, default=None)


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


def finetune(name: str, csv: str, *, target: str | None = None, features: str = "M", pred_len: int | None = None,
             out: str | None = None, epochs: int = 3, lr: float | None = None, batch_size: int = 32,
             seed: int = 2021, log=print) -> dict:
    """Fine-tune registered model ``name`` on ``csv`` and write a Hub-form folder with its card."""
    import lightning as L
    import pandas as pd

    from zoo.hub import save_pretrained
    from zoo.registry import Metric, ModelEntry, get_entry

    from .data import ForecastDataModule, read_frame
    from .recipes import RECIPES
    from .task import evaluate
    from .train import build_model, fit

    entry = get_entry(name)
    base = _load(name)
    cfg = base.config
    path = Path(csv)
    if not path.is_file():
        raise InputError(f"--csv {path} does not exist")
    cols = list(pd.read_csv(path, nrows=1).columns)
    target = target or (cfg.target if cfg.target in cols else cols[-1])
    read_frame(path, target)  # validates the date and target columns
    L.seed_everything(seed, workers=True)
    h = pred_len or cfg.pred_len
    recipe = {**RECIPES.get(entry.name, {}), "data": str(path), "features": features, "target": target,
              "seq_len": cfg.seq_len, "label_len": cfg.label_len, "pred_len": h, "batch_size": batch_size,
              "architecture": entry.architecture, "max_epochs": epochs, "patience": max(1, min(3, epochs)),
              "lr_decay": 0.5, "seed": seed}
    recipe["lr"] = lr or RECIPES.get(entry.name, {}).get("lr", 1e-4)
    recipe["model_args"] = {k: v for k, v in entry.model_args.items()
                            if k not in ("enc_in", "dec_in", "c_out", "pred_len", "seq_len", "label_len", "freq")}
    dm = ForecastDataModule(str(path), seq_len=cfg.seq_len, label_len=cfg.label_len, pred_len=h, features=features,
                            target=target, batch_size=batch_size)
    dm.setup()
    model = build_model(recipe, dm, name=None)
    copied, fresh = transfer_weights(base, model)
    if fresh:
        log(f"re-initialised {len(fresh)} tensors whose shape changed (columns {len(cfg.columns)} -> "
            f"{len(dm.columns)}, horizon {cfg.pred_len} -> {h}, freq {cfg.freq} -> {dm.freq}): {', '.join(fresh)}")
    else:
        log(f"all {len(copied)} tensors start from {entry.name}")
    before = evaluate(model, dm.test_dataloader(), features)
    out_dir = Path(out or f"runs/finetune/{entry.name}-{path.stem}")
    info = fit(model, dm, recipe, out_dir / "_run")
    test = evaluate(model, dm.test_dataloader(), features)
    log(f"test MSE {before['mse']:.4f} -> {test['mse']:.4f}, MAE {before['mae']:.4f} -> {test['mae']:.4f}")
    new_name = out_dir.name
    cmd = (f"zoo finetune {name} --csv {csv} --target {target} --features {features} --pred-len {h} "
           f"--epochs {epochs} --seed {seed}")
    card = ModelEntry(
        name=new_name, architecture=entry.architecture, domain="timeseries", task="forecasting",
        model_args=dict(model.config.model_args), preprocessing=dict(model.config.preprocessing),
        license=entry.license, base_model=entry.name, datasets=(path.name,), paper=entry.paper,
        description=f"{entry.name} fine-tuned on {path.name} (features {features}, target {target}, horizon {h}).",
        metrics=[Metric("mse", test["mse"], path.name, "test", cmd, note="70/10/20 chronological split"),
                 Metric("mae", test["mae"], path.name, "test", cmd, note="70/10/20 chronological split")],
        train_command=cmd,
        extra={"reinitialised": fresh, "epochs_run": info["epochs_run"], "seed": seed,
               "test_before_finetune": {"mse": before["mse"], "mae": before["mae"]}},
    )
    import shutil

    folder = save_pretrained(model, out_dir, entry=card)
    shutil.rmtree(out_dir / "_run", ignore_errors=True)
    log(f"wrote {folder} (load it with zoo.hub.from_pretrained({str(folder)!r}))")
    return {"folder": str(folder), "before": before, "test": test, "reinitialised": fresh}


def finetune_run(args) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    finetune(args.name, args.csv, target=args.target, features=args.features, pred_len=args.pred_len, out=args.out,
             epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=args.seed)
    return 0


# ----------------------------------------------------------------------------- train
def train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", default=None, help="folder with timeseries/ETTh1.csv (default $ZOO_DATA_DIR)")
    p.add_argument("--out", default="runs/timeseries")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--publish", action="store_true", help="write hub/models/<name> afterwards")


def train_run(args) -> int:
    from zoo.registry import get_entry

    from .train import train

    try:
        name = get_entry(args.name).name  # aliases resolve to their recipe
    except KeyError:
        name = args.name
    train(name, args.data_dir, args.out, args.threads, publish=args.publish)
    return 0


COMMANDS = {
    "eval": (eval_arguments, eval_run),
    "forecast": (forecast_arguments, forecast_run),
    "finetune": (finetune_arguments, finetune_run),
    "train": (train_arguments, train_run),
}
