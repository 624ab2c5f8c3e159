"""Registered graph models, trained here on MoleculeNet and TU sets (CPU, one thread).

Every number comes from a run of ``python -m zoo.graph.train <name> --seeds ...`` and is reproduced
by ``zoo eval <name>`` (the test part of the split recorded in the model's config, through
``predict_smiles``). ``_TRAINED`` is written by `zoo.graph.export` from the runs' ``results.json`` and
the exported ``hub/models/<name>/model.safetensors`` (its sha256). Published numbers are quoted from
``../shared/data/README.md`` and labelled with their source; they come from different random splits.
"""

from __future__ import annotations

import numpy as np

from zoo.registry import Metric, ModelEntry, WeightsSource, register_model

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

# name -> measured facts (written by zoo.graph.export; do not edit by hand)
# BEGIN TRAINED
_TRAINED: dict[str, dict] = {'gps-bbbp': {'architecture': 'gps',
              'dataset': 'bbbp',
              'dtype': 'float16',
              'epochs': 20,
              'fp32_test': {'acc': 0.656862735748291, 'roc_auc': 0.7433278560638428},
              'model_args': {'attn_dropout': 0.1,
                             'descriptors': ['MolLogP',
                                             'MolMR',
                                             'MolWt',
                                             'TPSA',
                                             'LabuteASA',
                                             'NumHDonors',
                                             'NumHAcceptors',
                                             'NumRotatableBonds',
                                             'RingCount',
                                             'NumAromaticRings',
                                             'FractionCSP3',
                                             'HeavyAtomCount',
                                             'NHOHCount',
                                             'NOCount',
                                             'NumHeteroatoms',
                                             'BertzCT'],
                             'dropout': 0.1,
                             'heads': 4,
                             'hidden': 64,
                             'layers': 3,
                             'num_tasks': 1,
                             'rwse_steps': 16,
                             'task': 'classification'},
              'n_params': 144164,
              'pinned': {'outputs': [[0.9984369874000549], [0.9400799870491028], [0.5255154371261597]],
                         'smiles': ['CCO', 'c1ccccc1', 'CC(=O)Oc1ccccc1C(=O)O']},
              'preprocessing': {'dataset': 'bbbp',
                                'smiles_column': 'smiles',
                                'split': {'fractions': [0.8, 0.1, 0.1], 'method': 'scaffold', 'seed': 0},
                                'task_names': ['p_np'],
                                'units': 'probability of blood-brain barrier penetration'},
              'recipe': {'arch': 'gps',
                         'batch_size': 64,
                         'dataset': 'bbbp',
                         'descriptors': True,
                         'epochs': 20,
                         'optim': {'lr': 0.001,
                                   'optimizer': 'adamw',
                                   'scheduler': 'cosine',
                                   'warmup_epochs': 2,
                                   'weight_decay': 1e-05}},
              'seed': 0,
              'seed_test': [{'acc': 0.656862735748291, 'roc_auc': 0.7433278560638428}],
              'seed_val': [{'acc': 0.906862735748291, 'roc_auc': 0.9635093212127686}],
              'seeds': [0],
              'sha256': 'bca4b7df7fe9974e4b082de41b6ea378430a3799764f9cdbaf099858d319c445',
              'test': {'acc': 0.656862735748291, 'roc_auc': 0.7433278560638428}},
 'gps-esol': {'architecture': 'gps',
              'dataset': 'esol',
              'dtype': 'float16',
              'epochs': 80,
              'fp32_test': {'mae': 0.4697284995685373, 'rmse': 0.6559033369615427},
              'model_args': {'attn_dropout': 0.1,
                             'descriptors': ['MolLogP',
                                             'MolMR',
                                             'MolWt',
                                             'TPSA',
                                             'LabuteASA',
                                             'NumHDonors',
                                             'NumHAcceptors',
                                             'NumRotatableBonds',
                                             'RingCount',
                                             'NumAromaticRings',
                                             'FractionCSP3',
                                             'HeavyAtomCount',
                                             'NHOHCount',
                                             'NOCount',
                                             'NumHeteroatoms',
                                             'BertzCT'],
                             'dropout': 0.1,
                             'heads': 4,
                             'hidden': 64,
                             'layers': 3,
                             'num_tasks': 1,
                             'rwse_steps': 16,
                             'task': 'regression'},
              'n_params': 144164,
              'pinned': {'outputs': [[1.1787967681884766], [-1.5938260555267334], [-1.8229979276657104]],
                         'smiles': ['CCO', 'c1ccccc1', 'CC(=O)Oc1ccccc1C(=O)O']},
              'preprocessing': {'dataset': 'esol',
                                'smiles_column': 'smiles',
                                'split': {'fractions': [0.8, 0.1, 0.1], 'method': 'random', 'seed': 1},
                                'task_names': ['measured log solubility in mols per litre'],
                                'units': 'log10(mol/L)'},
              'recipe': {'arch': 'gps', 'batch_size': 32, 'dataset': 'esol', 'descriptors': True, 'epochs': 80},
              'seed': 1,
              'seed_test': [{'mae': 0.3761345548967345, 'rmse': 0.503108410033713},
                            {'mae': 0.4697284995685373, 'rmse': 0.6559033369615427},
                            {'mae': 0.43826117959961425, 'rmse': 0.6052879266501427}],
              'seed_val': [{'mae': 0.42048196820954303, 'rmse': 0.57318587636926},
                           {'mae': 0.395348229766947, 'rmse': 0.5367545933018311},
                           {'mae': 0.41631417988544017, 'rmse': 0.5586709690079046}],
              'seeds': [0, 1, 2],
              'sha256': '6126f1f65fc35e797f2c8c5edfde28d4a29ac058090adfb40c86f3a1c4798b69',
              'test': {'mae': 0.46988611640326217, 'rmse': 0.6561937324242214}},
 'gps-freesolv': {'architecture': 'gps',
                  'dataset': 'freesolv',
                  'dtype': 'float16',
                  'epochs': 100,
                  'fp32_test': {'mae': 0.6065689155366272, 'rmse': 0.9704774295676917},
                  'model_args': {'attn_dropout': 0.1,
                                 'descriptors': ['MolLogP',
                                                 'MolMR',
                                                 'MolWt',
                                                 'TPSA',
                                                 'LabuteASA',
                                                 'NumHDonors',
                                                 'NumHAcceptors',
                                                 'NumRotatableBonds',
                                                 'RingCount',
                                                 'NumAromaticRings',
                                                 'FractionCSP3',
                                                 'HeavyAtomCount',
                                                 'NHOHCount',
                                                 'NOCount',
                                                 'NumHeteroatoms',
                                                 'BertzCT'],
                                 'dropout': 0.1,
                                 'heads': 4,
                                 'hidden': 64,
                                 'layers': 3,
                                 'num_tasks': 1,
                                 'rwse_steps': 16,
                                 'task': 'regression'},
                  'n_params': 144164,
                  'pinned': {'outputs': [[-4.833820819854736], [-0.8965921401977539], [-9.883295059204102]],
                             'smiles': ['CCO', 'c1ccccc1', 'CC(=O)Oc1ccccc1C(=O)O']},
                  'preprocessing': {'dataset': 'freesolv',
                                    'smiles_column': 'smiles',
                                    'split': {'fractions': [0.8, 0.1, 0.1], 'method': 'random', 'seed': 2},
                                    'task_names': ['freesolv'],
                                    'units': 'kcal/mol (hydration free energy)'},
                  'recipe': {'arch': 'gps',
                             'batch_size': 32,
                             'dataset': 'freesolv',
                             'descriptors': True,
                             'epochs': 100},
                  'seed': 2,
                  'seed_test': [{'mae': 0.5733953141607344, 'rmse': 0.840410431015914},
                                {'mae': 0.6417599453416187, 'rmse': 1.0123716317332299},
                                {'mae': 0.6065689155366272, 'rmse': 0.9704774295676917}],
                  'seed_val': [{'mae': 0.8262467124441173, 'rmse': 1.2690192933137268},
                               {'mae': 0.629311963217333, 'rmse': 0.910935687183229},
                               {'mae': 0.4785050379578024, 'rmse': 0.8168546875048749}],
                  'seeds': [0, 1, 2],
                  'sha256': 'e08b790b6998af3c1ec963a052990bb964db9acdc64663f191f141c45def6b7d',
                  'test': {'mae': 0.6066611052956432, 'rmse': 0.9704600143132095}},
 'gps-lipophilicity': {'architecture': 'gps',
                       'dataset': 'lipophilicity',
                       'dtype': 'float16',
                       'epochs': 40,
                       'fp32_test': {'mae': 0.47993553450685883, 'rmse': 0.6646766425956413},
                       'model_args': {'attn_dropout': 0.1,
                                      'descriptors': ['MolLogP',
                                                      'MolMR',
                                                      'MolWt',
                                                      'TPSA',
                                                      'LabuteASA',
                                                      'NumHDonors',
                                                      'NumHAcceptors',
                                                      'NumRotatableBonds',
                                                      'RingCount',
                                                      'NumAromaticRings',
                                                      'FractionCSP3',
                                                      'HeavyAtomCount',
                                                      'NHOHCount',
                                                      'NOCount',
                                                      'NumHeteroatoms',
                                                      'BertzCT'],
                                      'dropout': 0.1,
                                      'heads': 4,
                                      'hidden': 64,
                                      'layers': 3,
                                      'num_tasks': 1,
                                      'rwse_steps': 16,
                                      'task': 'regression'},
                       'n_params': 144164,
                       'pinned': {'outputs': [[-2.3166074752807617], [0.5240499973297119], [-1.704892873764038]],
                                  'smiles': ['CCO', 'c1ccccc1', 'CC(=O)Oc1ccccc1C(=O)O']},
                       'preprocessing': {'dataset': 'lipophilicity',
                                         'smiles_column': 'smiles',
                                         'split': {'fractions': [0.8, 0.1, 0.1], 'method': 'random', 'seed': 0},
                                         'task_names': ['lipo'],
                                         'units': 'logD (octanol/water, pH 7.4)'},
                       'recipe': {'arch': 'gps',
                                  'batch_size': 64,
                                  'dataset': 'lipophilicity',
                                  'descriptors': True,
                                  'epochs': 40,
                                  'optim': {'lr': 0.001,
                                            'optimizer': 'adamw',
                                            'scheduler': 'cosine',
                                            'warmup_epochs': 2,
                                            'weight_decay': 1e-05}},
                       'seed': 0,
                       'seed_test': [{'mae': 0.47993553450685883, 'rmse': 0.6646766425956413}],
                       'seed_val': [{'mae': 0.4855090643190557, 'rmse': 0.69757960216428}],
                       'seeds': [0],
                       'sha256': '45578d9b77db30405faf4ac6fe6fe0cacc661e21d358d6d8368b21e79e1a593e',
                       'test': {'mae': 0.47987957000288933, 'rmse': 0.66465923905913}},
 'gps-mutag': {'architecture': 'gps',
               'dataset': 'MUTAG',
               'dtype': 'float16',
               'epochs': 40,
               'fold_acc': [0.7894736842105263,
                            0.8421052631578947,
                            0.9473684210526315,
                            1.0,
                            0.8421052631578947,
                            0.9473684210526315,
                            0.8421052631578947,
                            0.8947368421052632,
                            0.8333333333333334,
                            1.0],
               'fp32_test': {'acc': 0.7894736842105263, 'n': 19},
               'model_args': {'attn_dropout': 0.1,
                              'descriptors': [],
                              'dropout': 0.1,
                              'edge_vocab': [5],
                              'heads': 4,
                              'hidden': 64,
                              'layers': 3,
                              'node_vocab': [8],
                              'num_tasks': 1,
                              'rwse_steps': 16,
                              'task': 'classification'},
               'n_params': 131940,
               'preprocessing': {'classes': [-1, 1],
                                 'dataset': 'MUTAG',
                                 'split': {'fold': 0, 'folds': 10, 'method': 'stratified_kfold', 'seed': 0},
                                 'task_names': ['label'],
                                 'units': 'probability of class 1'},
               'recipe': {'arch': 'gps', 'batch_size': 32, 'dataset': 'MUTAG', 'epochs': 40, 'folds': 10},
               'seed': 0,
               'seeds': [0],
               'sha256': 'd73eef67cfc00356c1c57ec81dfe56d104ede7cfc352bb0da286f0b888a50d55',
               'test': {'acc': 0.7894736842105263, 'n': 19}},
 'graphormer-esol': {'architecture': 'graphormer',
                     'dataset': 'esol',
                     'dtype': 'float16',
                     'epochs': 30,
                     'fp32_test': {'mae': 0.5043965055879238, 'rmse': 0.6412241867359543},
                     'model_args': {'attn_dropout': 0.1,
                                    'descriptors': ['MolLogP',
                                                    'MolMR',
                                                    'MolWt',
                                                    'TPSA',
                                                    'LabuteASA',
                                                    'NumHDonors',
                                                    'NumHAcceptors',
                                                    'NumRotatableBonds',
                                                    'RingCount',
                                                    'NumAromaticRings',
                                                    'FractionCSP3',
                                                    'HeavyAtomCount',
                                                    'NHOHCount',
                                                    'NOCount',
                                                    'NumHeteroatoms',
                                                    'BertzCT'],
                                    'dropout': 0.1,
                                    'ffn_ratio': 2.0,
                                    'heads': 8,
                                    'hidden': 64,
                                    'layers': 4,
                                    'multi_hop_max_dist': 5,
                                    'num_tasks': 1,
                                    'task': 'regression'},
                     'n_params': 152137,
                     'pinned': {'outputs': [[1.0960078239440918], [-1.3932592868804932], [-1.6707874536514282]],
                                'smiles': ['CCO', 'c1ccccc1', 'CC(=O)Oc1ccccc1C(=O)O']},
                     'preprocessing': {'dataset': 'esol',
                                       'smiles_column': 'smiles',
                                       'split': {'fractions': [0.8, 0.1, 0.1], 'method': 'random', 'seed': 0},
                                       'task_names': ['measured log solubility in mols per litre'],
                                       'units': 'log10(mol/L)'},
                     'recipe': {'arch': 'graphormer',
                                'batch_size': 32,
                                'dataset': 'esol',
                                'descriptors': True,
                                'epochs': 30,
                                'optim': {'lr': 0.0005,
                                          'optimizer': 'adamw',
                                          'scheduler': 'cosine',
                                          'warmup_epochs': 5,
                                          'weight_decay': 1e-05}},
                     'seed': 0,
                     'seed_test': [{'mae': 0.5043965055879238, 'rmse': 0.6412241867359543},
                                   {'mae': 0.5075454083724623, 'rmse': 0.6995616141468378},
                                   {'mae': 0.50906955173849, 'rmse': 0.6674339552091614}],
                     'seed_val': [{'mae': 0.47392407557473776, 'rmse': 0.6063546415360617},
                                  {'mae': 0.4638115046298609, 'rmse': 0.6786815904450738},
                                  {'mae': 0.5598916369531535, 'rmse': 0.7360771615169212}],
                     'seeds': [0, 1, 2],
                     'sha256': '23c7169214607211fd7c5769f076057e329d85cd9364ae5f4caab87478b9646d',
                     'test': {'mae': 0.5044068008397533, 'rmse': 0.6412088115098896}}}
# END TRAINED


def _fmt_pm(values: list[float], digits: int = 3) -> str:
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"


def make_entry(name: str, facts: dict) -> ModelEntry:
    """The registry entry of a trained graph model from its measured facts."""
    arch, dataset, seed = facts["architecture"], facts["dataset"], facts["seed"]
    title = DATASET_TITLES.get(dataset, dataset)
    train_cmd = f"python -m zoo.graph.train {name} --seeds {' '.join(map(str, facts['seeds']))}"
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
                              "test, one split per seed", train_cmd, mn, mn_src, f"std {np.std(per_seed):.3f}"))  # fmt: skip
        if "mae" in facts["test"]:
            metrics.append(Metric("mae", facts["test"]["mae"], title, split_txt, f"zoo eval {name}"))
        task = "graph-regression" if spec["task"] == "regression" else "graph-classification"
        src = "MoleculeNet via chemprop / DeepChem CSVs"
    else:
        accs = facts["fold_acc"]
        pub, pub_src = TU_PUBLISHED.get(dataset, (None, ""))
        metrics.append(Metric("accuracy (10-fold CV mean)", 100 * float(np.mean(accs)), title,
                              f"10-fold stratified CV, seed {seed}", train_cmd, pub, pub_src,
                              f"std {100 * np.std(accs):.1f} over folds; fixed epoch budget, no selection on held-out folds"))  # fmt: skip
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
        extra={"seed": seed, "dtype": facts.get("dtype", "float32"), "pinned": facts.get("pinned", {}),
               "training_notes": facts.get("training_notes", ""),
               "license_note": LICENSE_NOTE.format(ds=title, src=src)},
    )  # fmt: skip


for _name, _facts in _TRAINED.items():
    register_model(make_entry(_name, _facts))
