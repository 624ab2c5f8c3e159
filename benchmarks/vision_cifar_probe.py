"""CIFAR-10 data and model throughput on one CPU thread: what fits into a from-scratch training budget.

Measures (a) decoding the ImageFolder into uint8 tensors the first time and reading the cache, (b) images/s of
`zoo.vision.fastdata.FastLoader` (batched crop+flip+normalise) against the per-image PIL + timm transform path of
``zoo train`` (``InMemoryImages`` + ``build_transform``), (c) training-step images/s (forward, backward, AdamW) of
the CIFAR-10 recipes' models at batch 128, with NCHW and with channels-last input and weights. Run from the repository root:

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 ZOO_DATA_DIR=../shared/data HF_HUB_OFFLINE=1 \
        .venv/bin/python benchmarks/vision_cifar_probe.py
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time

import torch


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "uptime unavailable"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pil-images", type=int, default=2560, help="images pushed through the PIL/timm path")
    p.add_argument("--steps", type=int, default=4, help="timed forward+backward steps per model (after 1 warm-up)")
    p.add_argument("--batch-size", type=int, default=128)
    args = p.parse_args()
    torch.set_num_threads(1)
    from zoo.loading import build
    from zoo.vision.cli import InMemoryImages, _image_folder, data_root  # noqa: F401  (the CLI's own path)
    from zoo.vision.common import build_transform
    from zoo.vision.fastdata import FastLoader, holdout_split, load_cifar10
    from zoo.vision.recipes import _PRE, RECIPES

    # the per-image path this replaces: timm's training transform (random-resized crop, flip) on PIL images
    train_transform = {"scale": (0.35, 1.0), "ratio": (3 / 4, 4 / 3), "hflip": 0.5, "color_jitter": None}

    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    print("load at start:", _uptime())
    # (a) first load (fresh cache directory) and load from cache
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        data = load_cifar10(cache=tmp)
        first = time.perf_counter() - t
        t = time.perf_counter()
        data = load_cifar10(cache=tmp)
        cached = time.perf_counter() - t
    x, y = data["train"]
    print(f"(a) decode 60000 images into uint8 tensors: {first:.1f} s; from the .pt cache: {cached:.2f} s "
          f"(x{first / cached:.0f})")

    # (b) fast loader: one epoch over 45 000 training images
    tr, _ = holdout_split(len(y), 5000, 0)
    loader = FastLoader(x[tr], y[tr], batch_size=args.batch_size, seed=0)
    t, n = time.perf_counter(), 0
    for xb, _ in loader:
        n += len(xb)
    fast = n / (time.perf_counter() - t)
    # the CLI path: PIL images in memory, timm's training transform per image, default collate
    import os
    from pathlib import Path

    folder = _image_folder(Path(os.environ["ZOO_DATA_DIR"]) / "vision" / "cifar10", None, "train")
    folder.samples = folder.samples[:: len(folder.samples) // args.pil_images][: args.pil_images]
    folder.targets = [s[1] for s in folder.samples]
    t = time.perf_counter()
    mem = InMemoryImages(folder, build_transform(_PRE, is_training=True, **train_transform))
    pil_decode = len(mem) / (time.perf_counter() - t)
    dl = torch.utils.data.DataLoader(mem, batch_size=args.batch_size, shuffle=True, num_workers=0, drop_last=True)
    t, n = time.perf_counter(), 0
    for xb, _ in dl:
        n += len(xb)
    pil = n / (time.perf_counter() - t)
    print(f"(b) FastLoader {fast:.0f} img/s (45000 images, 1 epoch); PIL+timm per image {pil:.0f} img/s "
          f"({n} images; decoding into PIL once: {pil_decode:.0f} img/s); ratio x{fast / pil:.1f}")

    # (c) forward+backward + AdamW step at batch 128, random init, the recipes' models; NCHW and channels-last input
    xb, yb = next(iter(loader))
    for name, recipe in RECIPES.items():
        for channels_last in (False, True):
            torch.manual_seed(0)
            model = build(recipe["architecture"], dict(recipe["model_args"])).train()
            x = xb
            if channels_last:
                model, x = model.to(memory_format=torch.channels_last), xb.contiguous(memory_format=torch.channels_last)
            opt = torch.optim.AdamW(model.parameters(), 1e-3)
            params = sum(p.numel() for p in model.parameters())
            loss_fn = torch.nn.CrossEntropyLoss()
            times = []
            for i in range(args.steps + 1):
                t = time.perf_counter()
                loss = loss_fn(model(x), yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if i:
                    times.append(time.perf_counter() - t)
            step = sorted(times)[len(times) // 2]
            ips = args.batch_size / step
            print(f"(c) {name}{' channels-last' if channels_last else ''}: {params / 1e6:.2f} M params, training step "
                  f"batch {args.batch_size}: median {step:.3f} s/step = {ips:.0f} img/s; one 45000-image epoch "
                  f"{45000 / ips / 60:.1f} min at 1 thread; data share at FastLoader speed {ips / fast * 100:.1f} %, "
                  f"at PIL speed {ips / pil * 100:.0f} %")
    print("load at end:", _uptime())


if __name__ == "__main__":
    main()
