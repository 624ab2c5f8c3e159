"""Depthwise convolution of MossFormer's feed-forward modules: direct (``nn.Conv1d``) against FFT
(`zoo.audio.mossformer.depthwise_conv_fft`), side by side in one process.

    python benchmarks/audio_dwconv.py [--threads 1] [--kernels 17 33 65] [--repeats 5]

Two parts, for each kernel length:

- ``op``: one ``[4, 500, 192]`` convolution (the recipe's hidden stream: batch 4, 1 s at 8 kHz = 500
  frames), forward + backward; the largest output difference between the two.
- ``step``: one training step (forward, loss, backward, Adam) of the ``mossformer-fsdd2mix`` recipe
  with ``conv_kernel=k``, with ConvFFN forced to the direct path (``FFT_MIN_KERNEL`` huge) and to the
  FFT path (``FFT_MIN_KERNEL = 0``); the losses of both are printed and must agree.

Medians of ``--repeats`` after warm-up; ``speedup`` = direct / FFT. One JSON line per measurement.
``FFT_MIN_KERNEL`` (the kernel length from which the model uses FFT on CPU) is chosen from these ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F


def timed(fn, repeats: int) -> float:
    fn()
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_op(k: int, repeats: int) -> dict:
    from zoo.audio.mossformer import depthwise_conv_fft

    torch.manual_seed(0)
    x = torch.randn(4, 500, 192, requires_grad=True)
    w = torch.randn(192, 1, k, requires_grad=True)

    def direct():
        y = F.conv1d(x.transpose(1, 2), w, padding=k // 2, groups=192).transpose(1, 2)
        y.sum().backward()
        return y

    def fft():
        y = depthwise_conv_fft(x, w)
        y.sum().backward()
        return y

    diff = (direct() - fft()).abs().max().item()
    td, tf = timed(direct, repeats), timed(fft, repeats)
    return {"part": "op", "kernel": k, "direct_ms": round(td * 1e3, 2), "fft_ms": round(tf * 1e3, 2),
            "speedup": round(td / tf, 2), "max_abs_diff": diff}  # fmt: skip


def bench_step(k: int, repeats: int) -> dict:
    import zoo.audio.mossformer as mf
    from zoo.audio.recipes import RECIPES

    torch.manual_seed(0)
    model = mf.MossFormer(**dict(RECIPES["mossformer-fsdd2mix"]["model_args"], conv_kernel=k))
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    mix = torch.randn(4, 8000) * 0.1

    def step():
        opt.zero_grad()
        model(mix).square().mean().backward()
        opt.step()

    paths = {"direct": 10**9, "fft": 0}  # FFT_MIN_KERNEL forcing each path
    losses, times = {}, {}
    saved = mf.FFT_MIN_KERNEL
    try:
        for label, threshold in paths.items():  # same weights for both: before any optimizer step
            mf.FFT_MIN_KERNEL = threshold
            with torch.no_grad():
                losses[label] = model(mix).square().mean().item()
        for label, threshold in paths.items():
            mf.FFT_MIN_KERNEL = threshold
            times[label] = timed(step, repeats)
    finally:
        mf.FFT_MIN_KERNEL = saved
    return {"part": "step", "kernel": k, "direct_s": round(times["direct"], 3), "fft_s": round(times["fft"], 3),
            "speedup": round(times["direct"] / times["fft"], 2), "loss_direct": losses["direct"], "loss_fft": losses["fft"]}  # fmt: skip


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--kernels", type=int, nargs="+", default=[17, 33, 65])
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    for k in a.kernels:
        for bench in (bench_op, bench_step):
            print(json.dumps({**bench(k, a.repeats), "threads": a.threads}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
