"""Graph facts that are not measurements: papers, published figures, the card text of a trained run.

The trained models live in their folders ``hub/models/<name>/`` (``config.json`` and ``results.json``,
written by ``python -m zoo.graph.export <name>`` from a run of ``zoo train <name>``); the core registry reads
them from there. Every number is reproduced by ``zoo eval <name>`` (the test part of the split recorded in
the model's config). Published numbers are quoted from ``../shared/data/README.md`` and labelled with
their source; they come from different random splits.
"""

from __future__ import annotations

import numpy as np

from zoo.registry import Metric, ModelEntry, WeightsSource

from .data import MOLECULENET

PAPERS = {"gps": "https://arxiv.org/abs/2205.12454", "graphormer": "https://arxiv.org/abs/2106.05234"}
TITLES = {"gps": "GPS", "graphormer": "Graphormer"}
DATASET_TITLES = {"esol": "ESOL", "freesolv": "FreeSolv", "lipophilicity": "Lipophilicity", "bbbp": "BBBP",
                  "bace": "BACE", "MUTAG": "MUTAG"}  # fmt: skip
# (D-MPNN, MoleculeNet best) test figures quoted in ../shared/data/README.md
PUBLISHED = {"esol": (0.555, 0.58), "freesolv": (1.075, 1.15), "lipophilicity": (0.555, 0.655), "bbbp": (0.737, 0.729)}
PUBLISHED_SOURCE = "D-MPNN (Yang et al. 2019, chemprop), as quoted in shared/data/README.md; MoleculeNet best {mn}"
TU_PUBLISHED = {"MUTAG": (89.4, "GIN (Xu et al. 2019), 10-fold CV accuracy 89.4 ± 5.6")}
LICENSE_NOTE = ("Trained on {ds} ({src}); MoleculeNet and TU sets are distributed for research use — check the "
                "data set's terms before commercial use. The weights themselves are Apache-2.0.")  # fmt: skip



def _fmt_pm(values: list[float], digits: int = 3) -> str:
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"


def make_entry(name: str, facts: dict) -> ModelEntry:
    """The registry entry of a trained graph model from its measured facts."""
    arch, dataset, seed = facts["architecture"], facts["dataset"], facts["seed"]
    title = DATASET_TITLES.get(dataset, dataset)
    train_cmd = f"zoo train {name} --seeds {' '.join(map(str, facts['seeds']))}"
    metrics, notes = [], []
    if dataset in MOLECULENET:
        spec = MOLECULENET[dataset]
        metric = "rmse" if spec["metric"] == "rmse" else "roc_auc"
        split_txt = f"test ({spec['split']} 80/10/10, seed {seed})"
        dmpnn, mn = PUBLISHED.get(dataset, (None, None))
        per_seed = [r[metric] for r in facts["seed_test"]]
        varies = "each seed also draws its own random split" if spec["split"] == "random" else (
            "the scaffold split is deterministic, so only the initialisation changes")  # fmt: skip
        values = ", ".join(f"{v:.3f}" for v in per_seed)
        notes.append(f"{metric} over seeds {facts['seeds']} ({varies}): {_fmt_pm(per_seed)} (values {values}).")
        pub_src = PUBLISHED_SOURCE.format(mn=mn) if dmpnn is not None else ""
        metrics.append(Metric(metric, facts["test"][metric], title, split_txt, f"zoo eval {name}", dmpnn, pub_src, notes[0]))
        mn_src = "MoleculeNet (Wu et al. 2018) best, from shared/data/README.md" if mn else ""
        metrics.append(Metric(f"{metric} mean over {len(per_seed)} seeds", float(np.mean(per_seed)), title,
                              "test, one split per seed" if spec["split"] == "random" else "test, the same split for every seed",
                              train_cmd, mn, mn_src, f"std {np.std(per_seed):.3f}"))  # fmt: skip
        if "mae" in facts["test"]:
            metrics.append(Metric("mae", facts["test"]["mae"], title, split_txt, f"zoo eval {name}"))
        task = "graph-regression" if spec["task"] == "regression" else "graph-classification"
        src = "MoleculeNet via chemprop / DeepChem CSVs"
    else:
        accs = facts["fold_acc"]
        pub, pub_src = TU_PUBLISHED.get(dataset, (None, ""))
        metrics.append(Metric("accuracy (10-fold CV mean)", 100 * float(np.mean(accs)), title,
                              f"10-fold stratified CV, seed {seed}", f"zoo train {name} --seeds {seed}", pub,
                              pub_src, f"std {100 * np.std(accs):.1f} over folds; fixed epoch budget, "
                              "no selection on held-out folds"))  # fmt: skip
        cv = [100 * c["acc_mean"] for c in facts.get("seed_cv", [])]
        if len(cv) > 1:
            values = ", ".join(f"{v:.1f}" for v in cv)
            metrics.append(Metric(f"accuracy (10-fold CV mean, mean over {len(cv)} seeds)", float(np.mean(cv)), title,
                                  f"10-fold stratified CV, seeds {facts['seeds']} (each seed its own folds)", train_cmd,
                                  pub, pub_src,
                                  f"std {np.std(cv):.1f} over seeds (per-seed CV means {values}); no validation data, so the "
                                  f"registered seed ({seed}) was fixed, not chosen"))  # fmt: skip
        metrics.append(Metric("accuracy (fold 0)", 100 * facts["test"]["acc"], title, "held-out fold 0 (these weights)",
                              f"zoo eval {name}"))  # fmt: skip
        task = "graph-classification"
        src = "TU Dortmund graph collection"
    n_desc = len(facts["model_args"].get("descriptors", []))
    inputs = f", graph + {n_desc} RDKit descriptors in the head" if n_desc else ""
    desc = (f"{TITLES[arch]} graph transformer trained from scratch on {title} ({facts['n_params']:,} parameters{inputs}). "
            f"Predicts {facts['preprocessing'].get('units', '')}.")  # fmt: skip
    return ModelEntry(
        name=name, architecture=arch, domain="graph", task=task,
        model_args=facts["model_args"], preprocessing=facts["preprocessing"],
        weights=WeightsSource(folder=name, sha256=facts.get("sha256")),
        license="apache-2.0", metrics=metrics, description=desc, datasets=(title,),
        tags=("molecules" if dataset in MOLECULENET else "tu-dataset", dataset.lower()), paper=PAPERS[arch],
        train_command=train_cmd,
        extra={"seed": seed, "dtype": facts.get("dtype", "float32"), "pinned": facts.get("pinned", {}), "params": facts["n_params"],
               "training_notes": facts.get("training_notes", ""),
               "license_note": LICENSE_NOTE.format(ds=title, src=src)},
    )  # fmt: skip

