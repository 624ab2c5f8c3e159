"""Training-step time of the CIFAR-10 Swin recipe with different convolutional tokenizer widths (`stem_widths`).

Forward, backward and an AdamW step at batch 128 on random 32x32 inputs, channels-last, the recipe's model otherwise
unchanged; the configurations alternate ``--rounds`` times so that drifts of the machine hit all of them. Run from the
repository root with nothing else running:

    python benchmarks/vision_stem_cost.py --threads 2 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch


def step_ms(stem: list[int], steps: int, warmup: int) -> tuple[float, int]:
    """Median milliseconds per training step, and the parameter count, of the Swin recipe with ``stem``."""
    from zoo.loading import build
    from zoo.vision.recipes import RECIPES

    torch.manual_seed(0)
    model = build("swin", dict(RECIPES["swin-cifar10"]["model_args"], stem_widths=stem))
    model = model.to(memory_format=torch.channels_last).train()
    opt = torch.optim.AdamW(model.parameters(), 2e-3)
    x = torch.randn(128, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (128,))
    times = []
    for _ in range(warmup + steps):
        t = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(x), y, label_smoothing=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
    return 1000 * sorted(times[warmup:])[steps // 2], sum(p.numel() for p in model.parameters())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=14, help="timed steps per configuration and round")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--stems", default="[[32, 64], [48, 96], [64, 128]]", help="JSON list of stem_widths")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    stems = json.loads(a.stems)
    print(f"torch {torch.__version__}, threads {a.threads}, load average at start {os.getloadavg()}")
    for r in range(a.rounds):
        for stem in stems:
            ms, n = step_ms(stem, a.steps, a.warmup)
            print(f"round {r + 1}: stem_widths={stem}: {n / 1e6:.3f} M parameters, {ms:.0f} ms per training step")
    print(f"load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
