"""Measure a finished CIFAR-10 run and write its model folder ``hub/models/<name>`` (fp16, through `zoo.promote`).

    python -m zoo.vision.publish swin-cifar10 --start 2026-12-01T16:53:08Z --end 2026-12-01T18:40:00Z \\
        --summary "Swin with a convolutional tokenizer (...)" [--run runs/vision/swin-cifar10] [--data DIR] [--load "1.0 1.3"]

Reads the folder ``zoo train NAME --out RUN`` wrote (``RUN/model``, the best held-out checkpoint) and its held-out
curve (``RUN/logs/version_*/metrics.csv``), measures top-1 on the held-out images and on the test set once, in fp32
and with the weights rounded to fp16 (with and without flip test-time augmentation), exactly as ``zoo eval NAME
--split test [--tta flip]`` does, and writes the folder with these facts (`zoo.vision.recipes.publish`). Then it
adds the card's widget examples (the model's own outputs) and prints its predictions on the first three test
images of each class (the pins of ``tests/test_vision_cifar10.py``). Afterwards: ``python -m zoo.registry`` (the
index) and ``python docs/make_model_table.py``. ``--start`` / ``--end``: the wall-clock
of the training command (UTC), written on the card as the training time.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

import torch


def _utc(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise SystemExit(f"expected a UTC time like 2026-12-01T16:53:08Z, got {text!r}") from None


def held_out_curve(run: Path) -> list[float]:
    """Held-out top-1 (%) per epoch, from the run's logs (resumed runs: versions in order)."""
    from zoo.training import logged_rows

    out = {int(r["epoch"]): round(100 * float(r["val/acc"]), 1) for r in logged_rows(run, "val/acc")}
    return [out[e] for e in sorted(out)]


def measure(name: str, run: Path, data: Path, start: datetime, end: datetime, summary: str, load: str = "") -> dict:
    """The facts `zoo.vision.recipes.entry_for_run` puts on the card of ``name``."""
    from zoo.hub import from_pretrained

    from .cli import _fast_loader, _fast_sets, evaluate_batches
    from .recipes import RECIPES

    recipe = RECIPES[name]
    model = from_pretrained(run / "model").eval()
    pre = model.config.preprocessing
    _, val, test, _ = _fast_sets(data, pre, recipe["args"]["val_holdout"], 0)

    def top1(m, pair, tta="none"):
        return round(evaluate_batches(m, _fast_loader(pair, 500, None, 0, False, pre), tta)["top1"], 2)

    half = from_pretrained(run / "model").eval()
    half.load_state_dict({k: v.half().float() if v.is_floating_point() else v for k, v in half.state_dict().items()})
    minutes = (end - start).total_seconds() / 60
    h, m = divmod(round(minutes), 60)
    where = ("one thread, while the other CIFAR-10 recipe trained on the machine's second core"
             if recipe["threads"] == 1 else f"{recipe['threads']} threads: the whole machine, no other training")
    return dict(
        params=sum(p.numel() for p in model.parameters()),
        test_top1=top1(half, test), test_top1_fp32=top1(model, test), test_top1_tta=top1(half, test, "flip"),
        val_top1=top1(model, val), val_curve=held_out_curve(run), summary=summary,
        budget=f"{h} h {m:02d} min wall-clock ({start:%H:%M}-{end:%H:%M} UTC, {where}"
               + (f"; load average {load}" if load else "") + ")",
        wall_minutes=round(minutes, 1), epochs=recipe["args"]["epochs"],
    )


def pinned_predictions(name: str, data: str | Path) -> tuple[list[int], int]:
    """``zoo.load(name)``'s classes for the first 3 test images of each class (sorted by file name), and how many
    are right."""
    import zoo

    from .cli import open_image
    from .recipes import CIFAR_CLASSES

    images, labels, data = [], [], Path(data)
    for c, cname in enumerate(CIFAR_CLASSES):
        for path in sorted((data / "test" / cname).iterdir())[:3]:
            images.append(open_image(path))
            labels.append(c)
    model = zoo.load(name)
    with torch.inference_mode():
        pred = model(torch.stack([model.transform(im) for im in images])).argmax(-1).tolist()
    return pred, sum(p == y for p, y in zip(pred, labels))


def main(argv=None) -> int:
    from zoo.promote import add_widget_examples

    from .recipes import DATA, publish

    p = argparse.ArgumentParser(prog="python -m zoo.vision.publish", description=__doc__.splitlines()[0])
    p.add_argument("name")
    p.add_argument("--start", required=True, help="UTC start of the training command, e.g. 2026-12-01T16:53:08Z")
    p.add_argument("--end", required=True, help="UTC end of the training command")
    p.add_argument("--summary", required=True, help="what the model is, for the card's first sentence")
    p.add_argument("--load", default="", help="load averages to quote with the time, e.g. '1.03 at the start, 1.29 at the end'")
    p.add_argument("--run", help="the run folder (default runs/vision/NAME)")
    p.add_argument("--data", default=DATA)
    p.add_argument("--root", help="write the folder under ROOT/NAME instead of the registered hub/models/NAME")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    run, data = Path(a.run or f"runs/vision/{a.name}"), Path(a.data)
    facts = measure(a.name, run, data, _utc(a.start), _utc(a.end), a.summary, a.load)
    print(json.dumps(facts, indent=1))
    out = publish(a.name, facts, trained=str(run / "model"), root=a.root)
    add_widget_examples(out["folder"])
    if a.root:
        print(json.dumps(out))
        return 0
    print(json.dumps(out))
    import subprocess
    import sys

    # in a fresh process: the registry of this one read the folder before it was rewritten
    code = f"from zoo.vision.publish import pinned_predictions as p; print(p({a.name!r}, {str(data)!r}))"
    pins = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    print(f"pins for tests/test_vision_cifar10.py:\n    {a.name!r}: {pins},")
    print("then: python -m zoo.registry && python docs/make_model_table.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
