"""Parity plots of the registered MoleculeNet regression models on their recorded test splits.

Usage:
    python benchmarks/graph_plot.py --out docs/graph_parity.png
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import zoo  # noqa: E402
from zoo.graph import load_moleculenet  # noqa: E402
from zoo.graph.data import split_table  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="docs/graph_parity.png")
    args = p.parse_args()
    torch.set_num_threads(1)
    names = [n for n in zoo.list_models(domain="graph", pretrained=True) if zoo.info(n)["task"] == "graph-regression"]
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 4), squeeze=False)
    for ax, name in zip(axes[0], names):
        model = zoo.load(name)
        prep = model.config.preprocessing
        table = load_moleculenet(prep["dataset"])
        _, _, te = split_table(table, prep["split"]["method"], prep["split"]["seed"], tuple(prep["split"]["fractions"]))
        pred = model.predict_smiles([table.smiles[i] for i in te])[:, 0].numpy()
        y = table.targets[te, 0]
        rmse = float(np.sqrt(np.mean((pred - y) ** 2)))
        lo, hi = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1)
        ax.scatter(y, pred, s=10, alpha=0.7)
        ax.set_title(f"{name}  (test RMSE {rmse:.3f}, n={len(te)})", fontsize=9)
        ax.set_xlabel(f"measured, {prep['units']}", fontsize=8)
        ax.set_ylabel("predicted", fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
