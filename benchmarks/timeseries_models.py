"""Training step time and forecast throughput of the registered forecasting models (CPU).

Training step: forward + backward + Adam step at batch 32 on ETTh1 training windows (median of
``--steps`` steps after 2 warm-ups). Forecast: the whole ETTh1 test split through
``model.forecast`` (original units, timestamps included), windows per second.

    ZOO_DATA_DIR=/path/to/data python benchmarks/timeseries_models.py --threads 1
    python benchmarks/timeseries_models.py --models informer-etth1-h96 dlinear-etth1-h720 --steps 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

import zoo
from zoo.timeseries.data import ForecastDataModule
from zoo.timeseries.task import predict_batch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=None, help="default: every *-etth1-h96 and *-etth1-h720 model")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data-dir", default=None)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    names = args.models or [n for n in zoo.list_models(domain="timeseries") if n.endswith(("-h96", "-h720"))]
    print(f"threads={args.threads}, batch 32")
    print(f"{'model':<24} {'params':>8} {'train ms/step':>14} {'forecast win/s':>15} {'test split s':>13}")
    for name in names:
        model = zoo.load(name)
        cfg = model.config
        dm = ForecastDataModule(cfg.dataset, data_dir=args.data_dir, seq_len=cfg.seq_len, label_len=cfg.label_len,
                                pred_len=cfg.pred_len)
        dm.setup()
        # forecast throughput: every test window, original units, through the user API
        raw = dm.frame[dm.columns].to_numpy()
        dates = dm.frame["date"].to_numpy()
        start = dm.borders[0][2]
        idx = np.arange(len(dm.test_set))[:, None] + np.arange(cfg.seq_len)[None] + start
        t = time.perf_counter()
        model.forecast(raw[idx], dates[idx])
        dt_f = time.perf_counter() - t
        # training step time
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        it = iter(dm.train_dataloader())
        times = []
        for i in range(args.steps + 2):
            batch = next(it)
            t = time.perf_counter()
            out, truth = predict_batch(model, batch)
            loss = F.mse_loss(out, truth)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if i >= 2:
                times.append(time.perf_counter() - t)
        n_params = sum(p.numel() for p in model.parameters())
        print(f"{name:<24} {n_params:>8} {statistics.median(times) * 1e3:>14.1f} {len(idx) / dt_f:>15.0f} "
              f"{dt_f:>13.2f}")


if __name__ == "__main__":
    main()
