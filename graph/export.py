"""Export a trained run to ``hub/models/<name>/`` and record its facts in `zoo.graph.registry`.

The registered seed is the one with the best validation metric (never chosen on test). TU sets are
cross-validated with no validation data, so their registered seed is not chosen at all: it stays the
one already registered (else the lowest). Weights are stored in float16 when that moves the test
metric by less than 0.1 % (else float32).

``runs/`` is scratch: seeds already recorded in the registry but missing from the run's
``results.json`` are taken from the registry facts. When the chosen seed is the registered one and its
run folder is gone, only the seed lists are updated and the registered weights are kept as they are.

Example (shell)::

    python -m zoo.graph.export gps-esol
"""

from __future__ import annotations

import argparse
import json
import pprint
import re
from pathlib import Path

import numpy as np
import torch

from zoo.weights import sha256_file

from .registry import _TRAINED, make_entry
from .train import RECIPES, evaluate_tu_fold, load_run

ROOT = Path(__file__).resolve().parent.parent
PINNED_SMILES = ["CCO", "c1ccccc1", "CC(=O)Oc1ccccc1C(=O)O"]


def _evaluate(model, data_dir=None) -> dict:
    from .train import evaluate_moleculenet

    if model.config.preprocessing["split"]["method"] == "stratified_kfold":
        return evaluate_tu_fold(model, data_dir)
    return evaluate_moleculenet(model, data_dir)


def export(name: str, run_dir: str | None = None, seed: int | None = None) -> dict:
    from zoo.hub import from_pretrained, save_pretrained

    run = Path(run_dir or ROOT / "runs" / "graph" / name)
    results = _merged_results(name, json.loads((run / "results.json").read_text()))
    recipe = RECIPES[name]
    tu = "folds" in recipe
    if seed is None:
        if tu:  # no validation data in k-fold CV: never pick a seed on its held-out folds
            seed = _TRAINED[name]["seed"] if name in _TRAINED else min(int(s) for s in results)
        else:
            metric = "rmse" if next(iter(results.values()))["val"].get("rmse") is not None else "roc_auc"
            sign = 1 if metric == "rmse" else -1
            seed = int(min(results, key=lambda s: sign * results[s]["val"][metric]))
    res = results[str(seed)]
    old = _TRAINED.get(name)
    if old is not None and old["seed"] == seed and not (run / f"seed{seed}").exists():
        return _record_seeds(name, results)
    model = load_run(run / f"seed{seed}")
    cfg = model.config.to_dict()
    facts = {
        "architecture": cfg["architecture"], "dataset": recipe["dataset"] if tu else cfg["preprocessing"]["dataset"],
        "seed": seed, "seeds": sorted(int(s) for s in results), "model_args": cfg["model_args"],
        "preprocessing": cfg["preprocessing"], "n_params": sum(p.numel() for p in model.parameters()),
        "epochs": res["epochs"], "recipe": {k: v for k, v in recipe.items() if k != "model_args"},
    }  # fmt: skip
    facts.update(_seed_facts(results, tu))
    if tu:
        facts["fold_acc"] = res["fold_acc"]
    full = _evaluate(model)
    folder = ROOT / "hub" / "models" / name
    for dtype in (torch.float16, None):
        facts["test"] = full
        facts["dtype"] = "float16" if dtype is not None else "float32"
        save_pretrained(model, folder, make_entry(name, facts), dtype=dtype)
        loaded = from_pretrained(folder)
        got = _evaluate(loaded)
        main = "acc" if tu else ("rmse" if "rmse" in got else "roc_auc")
        if abs(got[main] - full[main]) <= 1e-3 * abs(full[main]):
            break
    facts["test"] = got  # the numbers of the stored weights
    if not tu:
        facts["pinned"] = {"smiles": PINNED_SMILES, "outputs": loaded.predict_smiles(PINNED_SMILES).tolist()}
    facts["fp32_test"] = full
    facts["sha256"] = sha256_file(folder / "model.safetensors")
    save_pretrained(model if facts["dtype"] == "float32" else loaded, folder, make_entry(name, facts),
                    dtype=None if facts["dtype"] == "float32" else torch.float16)  # fmt: skip
    facts["sha256"] = sha256_file(folder / "model.safetensors")
    _TRAINED[name] = facts
    _write_trained(_TRAINED)
    return facts


def _merged_results(name: str, results: dict) -> dict:
    """``results`` plus the seeds the registry already records for ``name`` (rebuilt from its facts)."""
    facts = _TRAINED.get(name)
    if facts is None:
        return results
    merged = {}
    if "fold_acc" in facts:  # TU: the registered seed's folds; other seeds' CV summaries
        cv = facts.get("seed_cv") or [{"acc_mean": float(np.mean(facts["fold_acc"])), "acc_std": float(np.std(facts["fold_acc"]))}]
        for s, summary in zip(facts["seeds"], cv):
            merged[str(s)] = {"seed": s, "epochs": facts["epochs"], "folds": len(facts["fold_acc"]), **summary}
        merged[str(facts["seed"])]["fold_acc"] = facts["fold_acc"]
    else:
        for s, test, val in zip(facts["seeds"], facts["seed_test"], facts["seed_val"]):
            merged[str(s)] = {"seed": s, "epochs": facts["epochs"], "test": test, "val": val}
    merged.update(results)  # a fresh run of a seed replaces the recorded one
    return merged


def _seed_facts(results: dict, tu: bool) -> dict:
    order = sorted(results, key=int)
    if len({results[s]["epochs"] for s in order}) > 1:
        raise ValueError("seeds trained with different epoch budgets cannot be pooled; use another run folder")
    if tu:
        return {"seed_cv": [{"acc_mean": results[s]["acc_mean"], "acc_std": results[s]["acc_std"]} for s in order]}
    return {"seed_test": [results[s]["test"] for s in order], "seed_val": [results[s]["val"] for s in order]}


def _record_seeds(name: str, results: dict) -> dict:
    """Update the seed lists of a registered model whose registered seed (and weights) stay the same."""
    facts = dict(_TRAINED[name])
    tu = "fold_acc" in facts
    facts["seeds"] = sorted(int(s) for s in results)
    facts.update(_seed_facts(results, tu))
    _TRAINED[name] = facts
    _write_trained(_TRAINED)
    return facts


def _write_trained(trained: dict) -> None:
    path = Path(__file__).with_name("registry.py")
    text = path.read_text()
    body = "_TRAINED: dict[str, dict] = " + pprint.pformat(trained, width=120, sort_dicts=True) + "\n"
    text = re.sub(r"(# BEGIN TRAINED\n).*?(# END TRAINED)", lambda m: m.group(1) + body + m.group(2), text, flags=re.S)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m zoo.graph.export")
    p.add_argument("names", nargs="+")
    p.add_argument("--seed", type=int, default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    for n in args.names:
        f = export(n, seed=args.seed)
        print(n, "seed", f["seed"], f["dtype"], "test", f["test"], "fp32", f["fp32_test"], "sha", f["sha256"][:12])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
