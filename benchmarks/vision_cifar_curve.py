"""Held-out top-1 against wall-clock time of the CIFAR-10 training runs (the curve in docs/vision.md).

While ``zoo train swin-cifar10`` / ``zoo train dinat-cifar10`` run (started at the times given), ``--watch`` appends
one line per finished epoch to ``runs/vision/cifar/curve.jsonl`` (``name``, ``epoch``, ``val_acc``, ``seen_utc``: when
the epoch's validation appeared in ``runs/vision/NAME/logs/version_*/metrics.csv``, checked every 20 s; ``start``: when
the command started); it stops when the runs' model folders exist. Without ``--watch`` the lines become a markdown
table and a figure:

    python benchmarks/vision_cifar_curve.py --watch swin-cifar10=2026-12-01T13:49:31Z dinat-cifar10=2026-12-01T13:49:31Z
    python benchmarks/vision_cifar_curve.py [--curve runs/vision/cifar/curve.jsonl] [--out docs/img/vision_cifar_curve.png] \
        [--other "LABEL=runs/vision/other/curve.jsonl"]
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime


def _t(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


def load(path: str) -> dict[str, list[tuple[int, float, float]]]:
    """``{name: [(epoch, minutes since start, held-out top-1 %), ...]}`` (sorted by epoch)."""
    runs: dict[str, dict[int, tuple[float, float]]] = {}
    for line in open(path):
        d = json.loads(line)
        minutes = (_t(d["seen_utc"]) - _t(d["start"])).total_seconds() / 60
        runs.setdefault(d["name"], {})[d["epoch"]] = (minutes, 100 * d["val_acc"])
    return {n: [(e, *r[e]) for e in sorted(r)] for n, r in runs.items()}


def watch(curve: str, runs: dict[str, str]) -> None:
    """Poll the runs' metrics.csv every 20 s and append each new epoch's held-out top-1 to ``curve``."""
    import os
    import time

    from zoo.training import logged_rows

    seen: dict[str, set] = {n: set() for n in runs}
    for line in open(curve) if os.path.exists(curve) else []:  # a restarted watcher keeps the epochs it saw
        d = json.loads(line)
        if runs.get(d["name"]) == d["start"]:
            seen[d["name"]].add(str(d["epoch"]))
    with open(curve, "a") as out:
        while True:
            for name, start in runs.items():
                for row in logged_rows(f"runs/vision/{name}", "val/acc"):  # resumed runs: version_1, ... too
                    if row["epoch"] not in seen[name]:
                        seen[name].add(row["epoch"])
                        out.write(json.dumps({"name": name, "epoch": int(row["epoch"]), "val_acc": float(row["val/acc"]),
                                              "seen_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                              "start": start}) + "\n")
                        out.flush()
            if all(os.path.exists(f"runs/vision/{n}/model/config.json") for n in runs):
                return
            time.sleep(20)


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--watch", nargs="+", metavar="NAME=START_UTC", help="record the curve of running trainings")
    p.add_argument("--curve", default="runs/vision/cifar/curve.jsonl")
    p.add_argument("--out", default="docs/img/vision_cifar_curve.png")
    p.add_argument("--every", type=int, default=5, help="table rows: every N-th epoch (and the last)")
    p.add_argument("--other", action="append", default=[], metavar="LABEL=CURVE",
                   help="also draw the curves of other runs recorded in CURVE (dashed, labelled LABEL)")
    a = p.parse_args(argv)
    if a.watch:
        watch(a.curve, dict(item.split("=", 1) for item in a.watch))
        return 0
    runs = load(a.curve)
    names = sorted(runs)
    print("| epoch | " + " | ".join(f"{n}: wall-min, held-out top-1" for n in names) + " |")
    print("|---|" + "---|" * len(names))
    last = max(len(r) for r in runs.values())
    for i in range(last):
        if (i + 1) % a.every and i != 0 and i != last - 1:
            continue
        cells = [f"{runs[n][i][1]:.0f} min, {runs[n][i][2]:.2f} %" if i < len(runs[n]) else "" for n in names]
        print(f"| {i + 1} | " + " | ".join(cells) + " |")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=120)
    for n in names:
        ax.plot([m for _, m, _ in runs[n]], [v for _, _, v in runs[n]], marker=".", label=n)
    for item in a.other:
        label, path = item.split("=", 1)
        for n, rows in sorted(load(path).items()):
            ax.plot([m for _, m, _ in rows], [v for _, _, v in rows], ls="--", alpha=0.6, label=f"{n} ({label})")
    ax.set_xlabel("wall-clock minutes since `zoo train` started (solid: 2 threads, dashed: 1 each)")
    ax.set_ylabel("held-out top-1 (%)")
    ax.set_ylim(40, 100)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(a.out)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
