"""Seconds per training step of a separator recipe (one thread, FSDD training mixtures).

    ZOO_DATA_DIR=../shared/data OMP_NUM_THREADS=1 python benchmarks/audio_step_time.py mossformer2-fsdd2mix 20

Runs N optimizer steps (forward, PIT SI-SNR loss, backward, clipping, Adam) and prints the median wall
time per step after two warm-up steps, then the time of an eval forward pass of the last batch. Used to
choose the recipes' common step budget (docs/audio.md).
"""

from __future__ import annotations

import sys
import time

import torch


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    name, n = argv[0], int(argv[1]) if len(argv) > 1 else 20
    torch.set_num_threads(1)
    from zoo.audio.recipes import RECIPES
    from zoo.audio.task import pit_si_snr
    from zoo.audio.train import _datamodule
    from zoo.loading import build

    r = RECIPES[name]
    torch.manual_seed(0)
    model = build(r["architecture"], r["model_args"], name=name)
    dm = _datamodule(r, None)
    dm.setup()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    batches = iter(dm.train_dataloader())
    times = []
    for i in range(n):
        mix, src = next(batches)
        t = time.time()
        loss = -pit_si_snr(model(mix), src)[0].mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        times.append(time.time() - t)
        if i % 5 == 4:
            print(name, i, round(loss.item(), 2), round(times[-1], 3), flush=True)
    times = sorted(times[2:])
    print(name, "median step s", round(times[len(times) // 2], 3), "mean", round(sum(times) / len(times), 3))
    model.eval()
    t = time.time()
    with torch.no_grad():
        for _ in range(5):
            model(mix)
    print(name, "eval forward of one batch s", round((time.time() - t) / 5, 3))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
