"""Training and evaluation recipes for the graph models (MoleculeNet splits and TU cross-validation).

Every registered graph model is reproduced by one recipe (`RECIPES`); a run writes, per seed, the
model in Hub form and its metrics to ``results.json``.

Example (shell)::

    zoo train gps-esol --seeds 0 1 2 --out runs/graph/gps-esol
    zoo train gps-esol epochs=80 optim.lr=5e-4 --seeds 0     # recipe overrides
    zoo train gps-mutag --seeds 0                           # 10-fold CV, accuracy mean ± std
    python -m zoo.graph.train gps-esol --seeds 0             # the same, as a module

Example (Python)::

    >>> from zoo.graph.train import train_molecules
    >>> model, result = train_molecules("gps", "esol", seed=0, epochs=5)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from zoo.errors import InputError

from .data import (
    FRACTIONS,
    MOLECULENET,
    GraphDataset,
    MoleculeTable,
    fit_normalization,
    load_moleculenet,
    load_tu,
    loader,
    molecule_graphs,
    split_table,
    stratified_kfold,
)
from .features import DESCRIPTORS
from .task import GraphTask, monitor_of

GPS_ARGS = dict(hidden=64, layers=3, heads=4, dropout=0.1, attn_dropout=0.1, rwse_steps=16)
GRAPHORMER_ARGS = dict(hidden=64, layers=4, heads=8, ffn_ratio=2.0, dropout=0.1, attn_dropout=0.1, multi_hop_max_dist=5)
OPTIM = {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 1e-5, "scheduler": "cosine", "warmup_epochs": 5}

# name -> how it is trained (architecture, data, sizes, epochs)
RECIPES = {
    "gps-esol": dict(arch="gps", dataset="esol", model_args=GPS_ARGS, descriptors=True, epochs=120, batch_size=32),
    "graphormer-esol": dict(arch="graphormer", dataset="esol", model_args=GRAPHORMER_ARGS, descriptors=True, epochs=30,
                            batch_size=32, optim={**OPTIM, "lr": 5e-4}),
    "gps-freesolv": dict(arch="gps", dataset="freesolv", model_args=GPS_ARGS, descriptors=True, epochs=100, batch_size=32),
    "graphormer-freesolv": dict(arch="graphormer", dataset="freesolv", model_args=GRAPHORMER_ARGS, descriptors=True,
                                epochs=150, batch_size=32, optim={**OPTIM, "lr": 5e-4}),
    "gps-lipophilicity": dict(arch="gps", dataset="lipophilicity", model_args=GPS_ARGS, descriptors=True, epochs=40,
                              batch_size=64, optim={**OPTIM, "warmup_epochs": 2}),
    "gps-bbbp": dict(arch="gps", dataset="bbbp", model_args=GPS_ARGS, descriptors=True, epochs=20, batch_size=64,
                     optim={**OPTIM, "warmup_epochs": 2}),
    "gps-mutag": dict(arch="gps", dataset="MUTAG", model_args=GPS_ARGS, epochs=40, batch_size=32, folds=10),
}  # fmt: skip


def _trainer(epochs: int, ckpt_dir: str | None, monitor: str | None, mode: str, progress_bar: bool = False, logger: bool = False):
    from zoo.training import make_trainer

    return make_trainer(max_epochs=epochs, ckpt_dir=ckpt_dir, monitor=monitor, mode=mode, patience=None,
                        progress_bar=progress_bar, logger=... if logger and ckpt_dir else False, log_every_n_steps=10,
                        enable_model_summary=False)  # fmt: skip


def _fit(model, train_ds, val_ds, *, epochs, batch_size, optim, seed, ckpt_dir, resume=None, progress_bar=False, logger=False,
         run_info=None):  # fmt: skip
    """Train ``model`` in place; keeps the weights of the best validation epoch (last epoch without validation).
    Returns the seconds trained (`zoo.training.train_seconds`: the whole run's, across resumes).

    ``ckpt_dir`` keeps ``best.ckpt``/``last.ckpt`` (and with ``logger`` ``logs/version_N/metrics.csv`` and
    ``hparams.yaml``); ``resume="auto"`` continues from its ``last.ckpt``.
    """
    from zoo.training import fit, seed_everything, train_seconds

    seed_everything(seed)
    task = GraphTask(model, optim or OPTIM, run=run_info)
    monitor, mode = monitor_of(model.task) if val_ds is not None else (None, "min")
    trainer = _trainer(epochs, ckpt_dir, monitor, mode, progress_bar, logger)
    model.train()  # dropout and batch-norm statistics on while training (a loaded model may be in eval mode)
    fit(task, trainer=trainer, resume=resume, train_dataloaders=loader(train_ds, batch_size, shuffle=True, seed=seed),
        val_dataloaders=loader(val_ds, 256) if val_ds is not None else None)  # fmt: skip
    best = getattr(trainer.checkpoint_callback, "best_model_path", "") if monitor else ""
    if best:
        state = torch.load(best, map_location="cpu", weights_only=False)["state_dict"]
        task.load_state_dict(state)
    model.eval()
    return train_seconds(trainer)


def regression_metrics(pred: np.ndarray, y: np.ndarray) -> dict:
    ok = ~np.isnan(y)
    return {"rmse": float(np.sqrt(np.mean((pred[ok] - y[ok]) ** 2))), "mae": float(np.mean(np.abs(pred[ok] - y[ok])))}


def classification_metrics(prob: np.ndarray, y: np.ndarray) -> dict:
    from torchmetrics.functional.classification import binary_auroc

    aucs, accs = [], []
    for t in range(y.shape[1]):
        ok = ~np.isnan(y[:, t])
        p, lab = torch.from_numpy(prob[ok, t]), torch.from_numpy(y[ok, t]).long()
        aucs.append(float(binary_auroc(p, lab)))
        accs.append(float(((p > 0.5).long() == lab).float().mean()))
    return {"roc_auc": float(np.mean(aucs)), "acc": float(np.mean(accs))}


def metrics_of(task: str, pred: torch.Tensor, y: np.ndarray) -> dict:
    pred = pred.numpy().astype(np.float64)
    y = np.asarray(y, np.float64)
    return regression_metrics(pred, y) if task == "regression" else classification_metrics(pred, y)


def build_model(arch: str, model_args: dict, preprocessing: dict, name: str | None = None):
    import zoo

    return zoo.build(arch, model_args, preprocessing, name=name)


def train_table(arch: str, table: MoleculeTable, *, split: dict, model_args: dict, descriptors: bool = True,
                epochs: int = 100, batch_size: int = 32, optim: dict | None = None, seed: int = 0,
                ckpt_dir: str | None = None, name: str | None = None, init_state: dict | None = None, resume=None,
                progress_bar: bool = False, logger: bool = False, run_info: dict | None = None):  # fmt: skip
    """Train ``arch`` on a molecule table with ``split = {"method", "seed", "fractions"}``; returns (model, result).

    The target mean/std and descriptor mean/std are fitted on the training part and stored both in the
    model's buffers and in ``model.config["preprocessing"]["normalization"]``.
    """
    positions = split_table(table, split["method"], split["seed"], tuple(split.get("fractions", FRACTIONS)))
    args = {**model_args, "num_tasks": table.targets.shape[1],
            "task": "regression" if table.task == "regression" else "classification",
            "descriptors": list(DESCRIPTORS) if descriptors else []}  # fmt: skip
    prep = {"dataset": table.name, "task_names": table.target_names, "units": table.units,
            "split": {**split, "fractions": list(split.get("fractions", FRACTIONS))}, "smiles_column": table.smiles_column}  # fmt: skip
    model = build_model(arch, args, prep, name)
    if init_state is not None:  # fine-tuning: copy every tensor whose name and shape match
        own = model.state_dict()
        model.load_state_dict({k: v for k, v in init_state.items() if k in own and own[k].shape == v.shape}, strict=False)
    feat = model.featurizer()
    t0 = time.time()
    graphs, glob = molecule_graphs(table.smiles, feat)
    ds = GraphDataset(graphs, feat, table.targets, glob)
    t_feat = time.time() - t0
    tr, va, te = positions
    fit_normalization(model, table, tr, glob)
    sub = lambda idx: torch.utils.data.Subset(ds, idx.tolist())
    train_s = _fit(model, sub(tr), sub(va) if len(va) else None, epochs=epochs, batch_size=batch_size, optim=optim,
                   seed=seed, ckpt_dir=ckpt_dir, resume=resume, progress_bar=progress_bar, logger=logger,
                   run_info=run_info)  # fmt: skip
    result = {"seed": seed, "split": prep["split"], "n": [len(tr), len(va), len(te)], "featurize_s": t_feat,
              "train_s": train_s, "epochs": epochs}  # fmt: skip
    for part, idx in (("val", va), ("test", te)):
        if len(idx):
            pred = model.predict_featurised([ds[i] for i in idx])
            result[part] = metrics_of(model.task, pred, table.targets[idx])
    return model, result


def train_molecules(arch: str, dataset: str, seed: int = 0, **kw):
    """Train on a MoleculeNet set with its conventional split (random: seeded by ``seed``; scaffold)."""
    table = load_moleculenet(dataset, kw.pop("root", None))
    split = {"method": MOLECULENET[table.name]["split"], "seed": seed, "fractions": list(FRACTIONS)}
    return train_table(arch, table, split=split, seed=seed, **kw)


def evaluate_moleculenet(model, root=None, part: str = "test") -> dict:
    """Recompute a registered model's metric on the split recorded in ``model.config`` (via ``predict_smiles``)."""
    prep = model.config.preprocessing
    table = load_moleculenet(prep["dataset"], root)
    split = prep["split"]
    tr, va, te = split_table(table, split["method"], split["seed"], tuple(split["fractions"]))
    idx = {"train": tr, "val": va, "test": te}[part]
    pred = model.predict_smiles([table.smiles[i] for i in idx])
    return metrics_of(model.task, pred, table.targets[idx])


def evaluate_csv(model, path, part: str = "test") -> dict:
    """Metrics of a model trained on a CSV (``zoo train/finetune --csv``) on the split recorded in its config."""
    from .data import load_csv

    prep = model.config.preprocessing
    table = load_csv(path, prep.get("smiles_column", "smiles"), list(prep["task_names"]), model.task)
    split = prep["split"]
    tr, va, te = split_table(table, split["method"], split["seed"], tuple(split["fractions"]))
    idx = {"train": tr, "val": va, "test": te}[part]
    if not len(idx):
        raise InputError(f"the {part} part of {path} is empty ({len(table.smiles)} molecules)")
    pred = model.predict_smiles([table.smiles[i] for i in idx])
    return metrics_of(model.task, pred, table.targets[idx])


def evaluate_tu_fold(model, root=None) -> dict:
    """Accuracy of a TU model on the held-out fold recorded in ``model.config`` (its ``split``)."""
    split = model.config.preprocessing["split"]
    graphs, y, _ = load_tu(model.config.preprocessing["dataset"], root)
    _, te = stratified_kfold(y, split["folds"], split["seed"])[split["fold"]]
    pred = model.predict_graphs([graphs[i] for i in te])
    return {"acc": float(((pred[:, 0] > 0.5).numpy() == y[te]).mean()), "n": len(te)}


def train_tu(arch: str, dataset: str, seed: int = 0, *, model_args: dict, epochs: int = 60, batch_size: int = 32,
             optim: dict | None = None, folds: int = 10, ckpt_dir: str | None = None, name: str | None = None, root=None):  # fmt: skip
    """10-fold stratified CV (fixed epoch budget, no selection on the held-out fold); returns (fold-0 model, result)."""
    graphs, y, info = load_tu(dataset, root)
    args = {**model_args, "node_vocab": info["node_vocab"], "edge_vocab": info["edge_vocab"], "num_tasks": 1,
            "task": "classification", "descriptors": []}  # fmt: skip
    prep = {"dataset": dataset.upper(), "task_names": ["label"], "classes": info["classes"],
            "units": f"probability of class {info['classes'][-1]}",
            "split": {"method": "stratified_kfold", "folds": folds, "seed": seed, "fold": 0}}  # fmt: skip
    accs, first = [], None
    for f, (tr, te) in enumerate(stratified_kfold(y, folds, seed)):
        model = build_model(arch, args, prep, name)
        ds = GraphDataset(graphs, model.featurizer(), y[:, None].astype(np.float32))
        _fit(model, torch.utils.data.Subset(ds, tr.tolist()), None, epochs=epochs, batch_size=batch_size, optim=optim,
             seed=seed, ckpt_dir=None)  # fmt: skip
        pred = model.predict_featurised([ds[i] for i in te])
        accs.append(float(((pred[:, 0] > 0.5).numpy() == y[te]).mean()))
        print(f"fold {f}: acc {accs[-1]:.4f}", flush=True)
        if first is None:
            first = model
    result = {"seed": seed, "fold_acc": accs, "acc_mean": float(np.mean(accs)), "acc_std": float(np.std(accs)),
              "epochs": epochs, "folds": folds}  # fmt: skip
    return first, result


def run_recipe(recipe: str | dict, seed: int, out: str | os.PathLike, resume=None, **override) -> dict:
    """Train one seed of a registered recipe (a name, or a recipe dict); writes ``<out>/seed<k>/`` (Hub form).

    ``<out>/seed<k>/ckpt`` keeps the checkpoints; ``resume="auto"`` continues from its ``last.ckpt``.
    """
    name = recipe if isinstance(recipe, str) else recipe["name"]
    r = {**(RECIPES[recipe] if isinstance(recipe, str) else recipe), **override}
    out = Path(out)
    ckpt = str(out / f"seed{seed}" / "ckpt")
    common = dict(model_args=r["model_args"], epochs=r["epochs"], batch_size=r["batch_size"], optim=r.get("optim"),
                  name=name)  # fmt: skip
    if "folds" in r:
        model, result = train_tu(r["arch"], r["dataset"], seed, folds=r["folds"], **common)
    else:
        model, result = train_molecules(r["arch"], r["dataset"], seed, descriptors=r.get("descriptors", True), ckpt_dir=ckpt,
                                        resume=resume, progress_bar=sys.stderr.isatty(), logger=True, **common)  # fmt: skip
    save_run(model, out / f"seed{seed}")
    result["recipe"] = name
    return result


def save_run(model, folder: Path) -> None:
    """Weights + config of a trained model (a Hub-form folder without registry entry)."""
    from safetensors.torch import save_file

    from zoo.io import atomic_write, atomic_write_bytes

    folder.mkdir(parents=True, exist_ok=True)
    with atomic_write(folder / "model.safetensors") as tmp:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp))
    atomic_write_bytes(folder / "config.json", model.config.to_json().encode())


def load_run(folder: str | os.PathLike):
    """A model saved by `save_run`."""
    from safetensors.torch import load_file

    import zoo

    cfg = json.loads((Path(folder) / "config.json").read_text())
    model = zoo.build(cfg["architecture"], cfg["model_args"], cfg["preprocessing"], name=cfg.get("name"))
    model.load_state_dict(load_file(str(Path(folder) / "model.safetensors")))
    return model.eval()


def main(argv=None) -> int:
    """``python -m zoo.graph.train RECIPE [key=value ...] --seeds 0 1 2`` (the documented form is ``zoo train RECIPE``)."""
    from zoo.cli_support import apply_overrides, parse_overrides

    p = argparse.ArgumentParser(prog="python -m zoo.graph.train", description="train a graph recipe for several seeds")
    p.add_argument("recipe", choices=sorted(RECIPES))
    p.add_argument("overrides", nargs="*", default=[], metavar="KEY=VALUE",
                   help="recipe overrides, e.g. epochs=80 optim.lr=5e-4 model_args.hidden=128")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--out", default=None, help="run folder (default runs/graph/<recipe>)")
    p.add_argument("--resume", action="store_true", help="continue each seed from <out>/seed<k>/ckpt/last.ckpt")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    base = {"optim": dict(OPTIM), **RECIPES[args.recipe]}  # every field a user may override is listed
    recipe = {**apply_overrides(base, parse_overrides(args.overrides), args.recipe), "name": args.recipe}
    out = Path(args.out or f"runs/graph/{args.recipe}")
    if out.exists() and not out.is_dir():
        raise InputError(f"expected --out to be a folder, got the existing file {str(out)!r}")
    for seed in args.seeds:  # before any work: a seed's earlier run is continued (--resume) or kept, never overwritten
        done = out / f"seed{seed}"
        if not args.resume and done.is_dir() and any(done.iterdir()):
            raise InputError(f"{str(out)!r} already holds a run of seed {seed} ({done.name}/); pass --resume to continue "
                             "it, or choose another --out or other --seeds")
    results_path = out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    for seed in args.seeds:
        res = run_recipe(recipe, seed, out, resume="auto" if args.resume else None)
        print(json.dumps(res), flush=True)
        results[str(seed)] = res
        out.mkdir(parents=True, exist_ok=True)
        tmp = results_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(results, indent=2))
        os.replace(tmp, results_path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
