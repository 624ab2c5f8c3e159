"""Graph transformers on CPU: training throughput (graphs/s) and the cost of padding in attention.

1. Training throughput of GPS and Graphormer (the registered recipes' sizes) on ESOL batches of 32:
   forward + backward + AdamW step, graphs per second, after warm-up.
2. Attention through `zoo.attention.attend` on a padded batch of molecules of mixed sizes (bias +
   key padding mask, as Graphormer calls it) versus the same molecules attended one by one without
   padding, and versus a batch of equal-size graphs with no mask.

Usage:
    python benchmarks/graph_throughput.py --threads 1 [--steps 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from zoo.attention import attend
from zoo.graph import collate, load_moleculenet
from zoo.graph.data import molecule_graphs
from zoo.graph.train import GPS_ARGS, GRAPHORMER_ARGS, build_model


def _time(fn, reps: int) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps


def throughput(arch: str, args: dict, smiles: list[str], batch_size: int, steps: int) -> dict:
    model = build_model(arch, {**args, "descriptors": []}, {})
    feat = model.featurizer()
    graphs, _ = molecule_graphs(smiles[: batch_size * steps], feat)
    batches = [collate([{**feat(g), "y": np.zeros(1, np.float32)} for g in graphs[i : i + batch_size]])
               for i in range(0, len(graphs), batch_size)]  # fmt: skip
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()

    def step(b):
        opt.zero_grad()
        loss = (model(b) - b.y).pow(2).mean()
        loss.backward()
        opt.step()

    step(batches[0])
    t = time.perf_counter()
    for b in batches:
        step(b)
    dt = time.perf_counter() - t
    return {"arch": arch, "graphs_per_s": len(graphs) / dt, "batch_size": batch_size, "params": sum(p.numel() for p in model.parameters())}


def padding_cost(sizes: list[int], heads: int = 8, dim: int = 8, reps: int = 20) -> dict:
    torch.manual_seed(0)
    L = max(sizes)
    B = len(sizes)
    q, k, v = (torch.randn(B, heads, L, dim) for _ in range(3))
    bias = torch.randn(B, heads, L, L)
    keep = torch.zeros(B, 1, 1, L, dtype=torch.bool)
    for b, n in enumerate(sizes):
        keep[b, ..., :n] = True
    padded = _time(lambda: attend(q, k, v, bias=bias, mask=keep), reps)
    one_by_one = _time(lambda: [attend(q[b : b + 1, :, :n], k[b : b + 1, :, :n], v[b : b + 1, :, :n], bias=bias[b : b + 1, :, :n, :n])
                                for b, n in enumerate(sizes)], reps)  # fmt: skip
    mean_n = int(round(np.mean(sizes)))
    qe, ke, ve = (t[:, :, :mean_n].contiguous() for t in (q, k, v))
    equal = _time(lambda: attend(qe, ke, ve, bias=bias[:, :, :mean_n, :mean_n]), reps)
    return {"batch": B, "max_nodes": L, "mean_nodes": float(np.mean(sizes)), "padded_ms": 1e3 * padded,
            "one_by_one_ms": 1e3 * one_by_one, "equal_size_no_mask_ms": 1e3 * equal,
            "padding_fraction": 1 - sum(sizes) / (B * L)}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--json", default=None)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    table = load_moleculenet("esol")
    rng = np.random.default_rng(0)
    smiles = [table.smiles[i] for i in rng.permutation(len(table.smiles))]
    out = {"threads": args.threads, "throughput": [], "attention": []}
    for arch, a in (("gps", GPS_ARGS), ("graphormer", GRAPHORMER_ARGS)):
        r = throughput(arch, a, smiles, 32, args.steps)
        out["throughput"].append(r)
        print(f"{arch:10s} train {r['graphs_per_s']:7.1f} graphs/s (batch 32, {r['params']:,} params)")
    sizes = [len(s) for s in smiles[:32]]  # placeholder, replaced by atom counts below
    from zoo.graph.features import parse_smiles

    sizes = [parse_smiles(s).GetNumAtoms() for s in smiles[:32]]
    for name, sz in (("ESOL batch of 32", sizes), ("one 55-atom + 31 x 3-atom", [55] + [3] * 31)):
        r = padding_cost(sz)
        r["case"] = name
        out["attention"].append(r)
        print(f"{name}: padded {r['padded_ms']:.2f} ms, one-by-one {r['one_by_one_ms']:.2f} ms, "
              f"equal-size no mask {r['equal_size_no_mask_ms']:.2f} ms, padding {100 * r['padding_fraction']:.0f} %")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
