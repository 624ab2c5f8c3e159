"""Depthwise convolution of MossFormer's feed-forward modules: direct (``nn.Conv1d``) against FFT
(`zoo.audio.mossformer.depthwise_conv_fft`) and against conv2d on a channels-last view
(`zoo.audio.mossformer.conv1d_channels_last`), side by side in one process.

    python benchmarks/audio_dwconv.py [--threads 1] [--kernels 17 33 65] [--repeats 5] [--only fft|channels-last]

FFT, for each kernel length:

- ``op``: one ``[4, 500, 192]`` convolution (the recipe's hidden stream: batch 4, 1 s at 8 kHz = 500
  frames), forward + backward; the largest output difference between the two.
- ``step``: one training step (forward, loss, backward, Adam) of the ``mossformer-fsdd2mix`` recipe
  with ``conv_kernel=k``, with ConvFFN forced to the direct path (``FFT_MIN_KERNEL`` huge,
  ``CHANNELS_LAST_CONV`` off), to the channels-last path and to the FFT path (``FFT_MIN_KERNEL = 0``);
  the losses of all three are printed and must agree.

Medians of ``--repeats`` after warm-up; ``speedup`` = direct / FFT. One JSON line per measurement.
``FFT_MIN_KERNEL`` (the kernel length from which the model uses FFT on CPU) is chosen from these ratios.

Channels-last (``CHANNELS_LAST_CONV``, used below ``FFT_MIN_KERNEL`` and for the FSMN memory):

- ``cl-op``: MossFormer2's two shapes at the recipe's training size (batch 4, 2 s = 1000 frames): the
  feed-forward depthwise conv (96 channels, kernel 17) and the FSMN memory's second dense layer (96 -> 48
  channels in 48 groups, kernel 19, dilation 2), forward + backward, ``nn.Conv1d`` against the channels-last
  path; the largest output and input-gradient differences.
- ``cl-step``: one training step of each MossFormer recipe (batch 4, 2 s) with ``CHANNELS_LAST_CONV`` off and
  on; the losses of both (same weights) must agree. ``speedup`` = off / on.
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


def step_paths(model_args: dict, samples: int, paths: dict, repeats: int) -> tuple[dict, dict]:
    """Median seconds of one training step (batch 4 of ``samples``, forward, loss, backward, Adam) and the loss
    before any step, for each path: ``{label: (FFT_MIN_KERNEL, CHANNELS_LAST_CONV)}``; the same weights for all."""
    import zoo.audio.mossformer as mf

    torch.manual_seed(0)
    model = mf.MossFormer(**model_args)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    mix = torch.randn(4, samples) * 0.1

    def step():
        opt.zero_grad()
        model(mix).square().mean().backward()
        opt.step()

    losses, times = {}, {}
    saved = mf.FFT_MIN_KERNEL, mf.CHANNELS_LAST_CONV
    try:
        for label, setting in paths.items():  # before any optimizer step
            mf.FFT_MIN_KERNEL, mf.CHANNELS_LAST_CONV = setting
            with torch.no_grad():
                losses[label] = model(mix).square().mean().item()
        for label, setting in paths.items():
            mf.FFT_MIN_KERNEL, mf.CHANNELS_LAST_CONV = setting
            times[label] = timed(step, repeats)
    finally:
        mf.FFT_MIN_KERNEL, mf.CHANNELS_LAST_CONV = saved
    return times, losses


def bench_step(k: int, repeats: int) -> dict:
    from zoo.audio.recipes import RECIPES

    args = dict(RECIPES["mossformer-fsdd2mix"]["model_args"], conv_kernel=k)
    paths = {"direct": (10**9, False), "channels_last": (10**9, True), "fft": (0, False)}
    times, losses = step_paths(args, 8000, paths, repeats)
    return {"part": "step", "kernel": k, **{f"{lb}_s": round(t, 3) for lb, t in times.items()},
            "speedup_fft": round(times["direct"] / times["fft"], 2),
            "speedup_channels_last": round(times["direct"] / times["channels_last"], 2),
            **{f"loss_{lb}": v for lb, v in losses.items()}}


def bench_cl_op(shape: str, repeats: int) -> dict:
    from zoo.audio.mossformer import conv1d_channels_last

    torch.manual_seed(0)
    # (in channels, out channels, groups, kernel, dilation) as in the mossformer2-fsdd2mix recipe
    c_in, c_out, groups, k, dil = {"ffn-dw17": (96, 96, 96, 17, 1), "fsmn-g19d2": (96, 48, 48, 19, 2)}[shape]
    x = torch.randn(4, 1000, c_in).transpose(1, 2).requires_grad_()  # [B, C, T] view of [B, T, C], as in the model
    w = torch.randn(c_out, c_in // groups, k, requires_grad=True)
    pad = dil * (k // 2)

    def run(fn):
        x.grad = w.grad = None
        y = fn()
        (y * torch.linspace(-1, 1, y.shape[-1])).sum().backward()
        return y.detach(), x.grad.clone()

    def direct():
        return F.conv1d(x, w, padding=pad, dilation=dil, groups=groups)

    def cl():
        return conv1d_channels_last(x, w, pad, dil, groups)

    (yd, gd), (yc, gc) = run(direct), run(cl)
    td, tc = timed(lambda: run(direct), repeats), timed(lambda: run(cl), repeats)
    return {"part": "cl-op", "shape": shape, "direct_ms": round(td * 1e3, 2), "channels_last_ms": round(tc * 1e3, 2),
            "speedup": round(td / tc, 2), "max_abs_diff": (yd - yc).abs().max().item(),
            "max_abs_grad_diff": (gd - gc).abs().max().item()}  # fmt: skip


def bench_cl_step(name: str, repeats: int) -> dict:
    import zoo.audio.mossformer as mf
    from zoo.audio.recipes import RECIPES

    fft = mf.FFT_MIN_KERNEL  # the model's own choice of FFT; only the channels-last switch changes
    times, losses = step_paths(RECIPES[name]["model_args"], 16000, {"direct": (fft, False), "cl": (fft, True)}, repeats)
    return {"part": "cl-step", "recipe": name, "direct_s": round(times["direct"], 3),
            "channels_last_s": round(times["cl"], 3), "speedup": round(times["direct"] / times["cl"], 2),
            "loss_direct": losses["direct"], "loss_channels_last": losses["cl"]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--kernels", type=int, nargs="+", default=[17, 33, 65])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--only", choices=["fft", "channels-last"])
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    if a.only != "channels-last":
        for k in a.kernels:
            for bench in (bench_op, bench_step):
                print(json.dumps({**bench(k, a.repeats), "threads": a.threads}), flush=True)
    if a.only != "fft":
        for shape in ("ffn-dw17", "fsmn-g19d2"):
            print(json.dumps({**bench_cl_op(shape, a.repeats), "threads": a.threads}), flush=True)
        for name in ("mossformer2-fsdd2mix", "mossformer-fsdd2mix"):
            print(json.dumps({**bench_cl_step(name, a.repeats), "threads": a.threads}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
