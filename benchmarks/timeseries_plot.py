"""The docs figure: forecasts of the registered h96 models on one ETTh1 test window, original units.

    ZOO_DATA_DIR=/path/to/data python benchmarks/timeseries_plot.py --out docs/img/timeseries_etth1_forecast.png
"""

from __future__ import annotations

import argparse

import numpy as np

import zoo
from zoo.timeseries.data import ForecastDataModule


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["informer-etth1", "autoformer-etth1", "dlinear-etth1"])
    p.add_argument("--window", type=int, default=1000, help="index of the test window")
    p.add_argument("--columns", nargs="+", default=["OT", "HUFL"])
    p.add_argument("--out", default="docs/img/timeseries_etth1_forecast.png")
    p.add_argument("--data-dir", default=None)
    args = p.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = {n: zoo.load(n) for n in args.models}
    cfg = next(iter(models.values())).config
    dm = ForecastDataModule("ETTh1", data_dir=args.data_dir, seq_len=cfg.seq_len, pred_len=cfg.pred_len)
    dm.setup()
    raw = dm.frame[dm.columns].to_numpy()
    dates = dm.frame["date"].to_numpy()
    s = dm.borders[0][2] + args.window
    past, past_t = raw[s : s + cfg.seq_len], dates[s : s + cfg.seq_len]
    fut_t = dates[s + cfg.seq_len : s + cfg.seq_len + cfg.pred_len]
    truth = raw[s + cfg.seq_len : s + cfg.seq_len + cfg.pred_len]
    preds = {n: m.forecast(past, past_t)[0].numpy() for n, m in models.items()}
    fig, axes = plt.subplots(len(args.columns), 1, figsize=(10, 2.6 * len(args.columns)), sharex=True, squeeze=False)
    for ax, col in zip(axes[:, 0], args.columns):
        j = dm.columns.index(col)
        ax.plot(past_t, past[:, j], color="0.35", lw=1, label="history (input, 96 h)")
        ax.plot(fut_t, truth[:, j], color="black", lw=1.2, label="actual")
        for (n, y), c in zip(preds.items(), ["tab:red", "tab:blue", "tab:green", "tab:orange"]):
            mse = float(np.mean(((y[:, j] - truth[:, j]) / dm.std[j]) ** 2))
            ax.plot(fut_t, y[:, j], color=c, lw=1.2, label=f"{n} (window MSE {mse:.3f})")
        ax.set_ylabel(col)
        ax.legend(fontsize=7, loc="upper left", ncol=2)
    axes[0, 0].set_title(f"ETTh1 test window {args.window}: 96-hour forecasts, original units")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
