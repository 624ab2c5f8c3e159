"""Forward time of Swin-T (zoo and timm), DiNAT-Mini and BiFormer-T, batch 8, 224², one process.

Run:  python benchmarks/vision_family_speed.py [--batch 8] [--threads 1] [--repeats 5] [--plot docs/vision_speed.png]

Random weights (speed does not depend on them), eval mode, inference mode; interleaved repeats,
median per model. Also times one training step (forward + backward) at batch 2 for each zoo model,
the CPU path natten no longer offers for DiNAT.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--plot", default=None, help="write a bar chart (PNG) here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    import timm

    import zoo

    models = {
        "Swin-T (timm default)": timm.create_model("swin_tiny_patch4_window7_224").eval(),
        "Swin-T (zoo)": zoo.load("swin-tiny", pretrained=False),
        "DiNAT-Mini (zoo)": zoo.load("dinat-mini", pretrained=False),
        "BiFormer-T (zoo)": zoo.load("biformer-tiny", pretrained=False),
    }
    x = torch.randn(args.batch, 3, 224, 224)
    times = {k: [] for k in models}
    with torch.inference_mode():
        for m in models.values():
            m(x)
        for _ in range(args.repeats):
            for k, m in models.items():
                t = time.perf_counter()
                m(x)
                times[k].append(time.perf_counter() - t)
    fwd = {k: statistics.median(v) for k, v in times.items()}

    step = {}
    xb, yb = torch.randn(2, 3, 224, 224), torch.tensor([1, 2])
    for k, m in models.items():
        if "timm" in k:
            continue
        m.train()
        ts = []
        for _ in range(2):
            t = time.perf_counter()
            torch.nn.functional.cross_entropy(m(xb), yb).backward()
            ts.append(time.perf_counter() - t)
        step[k] = min(ts)
        m.eval()

    print(f"torch {torch.__version__}, threads={args.threads}, forward batch={args.batch}, train step batch=2")
    print(f"{'model':24s} {'params M':>9s} {'fwd ms':>9s} {'img/s':>7s} {'train step ms':>14s}")
    for k, m in models.items():
        n = sum(p.numel() for p in m.parameters()) / 1e6
        s = f"{step[k] * 1e3:14.0f}" if k in step else f"{'-':>14s}"
        print(f"{k:24s} {n:9.1f} {fwd[k] * 1e3:9.0f} {args.batch / fwd[k]:7.1f} {s}")

    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 2.6))
        names = list(fwd)
        ax.barh(names, [args.batch / fwd[k] for k in names], color=["#999", "#2a7", "#27a", "#a52"])
        ax.set_xlabel(f"images / s (CPU, {args.threads} thread, batch {args.batch}, 224², fp32)")
        ax.invert_yaxis()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
