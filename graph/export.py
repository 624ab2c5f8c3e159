"""Export a trained run to its model folder ``hub/models/<name>/`` (facts in its results.json, through `zoo.promote`).

The registered seed is the one with the best validation metric (never chosen on test). TU sets are
cross-validated with no validation data, so their registered seed is not chosen at all: it stays the
one already registered (else the lowest). Weights are stored in float16 when that moves the test
metric by less than 0.1 % (else float32).

``runs/`` is scratch: seeds already recorded in the model folder but missing from the run's
``results.json`` are taken from the folder's facts. When the chosen seed is the registered one and its
run folder is gone, only the seed lists are updated and the registered weights are kept as they are.

Example (shell)::

    python -m zoo.graph.export gps-esol
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from zoo.io import atomic_write_bytes
from zoo.weights import sha256_file

from .registry import make_entry
from .train import RECIPES, evaluate_tu_fold, load_run

ROOT = Path.cwd()  # runs/ are read from the working directory (the checkout)
PINNED_SMILES = ["CCO", "c1ccccc1", "CC(=O)Oc1ccccc1C(=O)O"]


def _load_trained() -> dict:
    """name -> measured facts of every graph model folder (its results.json, with config's arguments)."""
    from zoo.registry import list_models, models_dir, read_folder_facts

    out = {}
    for name in list_models(domain="graph", pretrained=True):
        folder = models_dir() / name
        if not (folder / "results.json").is_file():
            continue
        config, results = read_folder_facts(folder)
        facts = dict(results.get("measured", {}))
        facts.update(model_args=config["model_args"], preprocessing=config["preprocessing"],
                     sha256=config["weights_sha256"], training_notes=(config.get("card") or {}).get("training_notes", ""))
        out[name] = facts
    return out


def _write_folder(name: str, model, facts: dict, dtype) -> Path:
    from zoo.promote import write_entry_folder

    entry = make_entry(name, facts)
    folder = write_entry_folder(model, entry, dtype=dtype)
    # the raw per-seed facts (export merges seeds from them next time) next to the metrics
    import json as _json

    results = _json.loads((folder / "results.json").read_text())
    results["measured"] = {k: v for k, v in facts.items() if k not in ("model_args", "preprocessing", "sha256", "training_notes")}
    atomic_write_bytes(folder / "results.json", (_json.dumps(results, indent=2, sort_keys=True) + "\n").encode())
    return folder


def _evaluate(model, data_dir=None) -> dict:
    from .train import evaluate_moleculenet

    if model.config.preprocessing["split"]["method"] == "stratified_kfold":
        return evaluate_tu_fold(model, data_dir)
    return evaluate_moleculenet(model, data_dir)


def export(name: str, run_dir: str | None = None, seed: int | None = None) -> dict:
    from zoo.hub import from_pretrained, save_pretrained

    _TRAINED = _load_trained()  # noqa: N806
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
        return _record_seeds(name, results, old)
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
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix="zoo-graph-export-"))
    for dtype in (torch.float16, None):
        facts["test"] = full
        facts["dtype"] = "float16" if dtype is not None else "float32"
        loaded = from_pretrained(save_pretrained(model, scratch / facts["dtype"], dtype=dtype))
        got = _evaluate(loaded)
        main = "acc" if tu else ("rmse" if "rmse" in got else "roc_auc")
        if abs(got[main] - full[main]) <= 1e-3 * abs(full[main]):
            break
    facts["test"] = got  # the numbers of the stored weights
    if not tu:
        facts["pinned"] = {"smiles": PINNED_SMILES, "outputs": loaded.predict_smiles(PINNED_SMILES).tolist()}
    facts["fp32_test"] = full
    folder = _write_folder(name, model if facts["dtype"] == "float32" else loaded, facts,
                           None if facts["dtype"] == "float32" else torch.float16)  # fmt: skip
    facts["sha256"] = sha256_file(folder / "model.safetensors")
    return facts


def _merged_results(name: str, results: dict) -> dict:
    """``results`` plus the seeds the model folder already records for ``name`` (rebuilt from its facts)."""
    facts = _load_trained().get(name)
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


def _record_seeds(name: str, results: dict, old: dict) -> dict:
    """Update the seed lists of a model whose registered seed (and weights) stay the same."""
    from zoo.hub import from_pretrained
    from zoo.registry import models_dir

    facts = dict(old)
    facts["seeds"] = sorted(int(s) for s in results)
    facts.update(_seed_facts(results, "fold_acc" in facts))
    model = from_pretrained(models_dir() / name)
    _write_folder(name, model, facts, torch.float16 if facts.get("dtype") == "float16" else None)
    return facts


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
