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
              'fp32_test': {'acc': 0.6323529481887817, 'roc_auc': 0.7554677724838257},
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
              'pinned': {'outputs': [[0.9999880790710449], [0.9950779676437378], [0.6131019592285156]],
                         'smiles': ['CCO', 'c1ccccc1', 'CC(=O)Oc1ccccc1C(=O)O']},
              'preprocessing': {'dataset': 'bbbp',
                                'smiles_column': 'smiles',
                                'split': {'fractions': [0.8, 0.1, 0.1], 'method': 'scaffold', 'seed': 1},
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
              'seed': 1,
              'seed_test': [{'acc': 0.656862735748291, 'roc_auc': 0.7433278560638428},
                            {'acc': 0.6323529481887817, 'roc_auc': 0.7554677724838257},
                            {'acc': 0.5980392098426819, 'roc_auc': 0.7016090154647827}],
              'seed_val': [{'acc': 0.906862735748291, 'roc_auc': 0.9635093212127686},
                           {'acc': 0.8823529481887817, 'roc_auc': 0.9645768404006958},
                           {'acc': 0.8872548937797546, 'roc_auc': 0.9572980403900146}],
              'seeds': [0, 1, 2],
              'sha256': 'c6487779b2e0479445c7eb07eaa162407448ce0972a2786d2ef24fffd9fbc437',
              'test': {'acc': 0.6323529481887817, 'roc_auc': 0.7554677724838257}},
 'gps-esol': {'architecture': 'gps',
              'dataset': 'esol',
              'dtype': 'float16',
              'epochs': 120,
              'fp32_test': {'mae': 0.46383465887500647, 'rmse': 0.6067965848631736},
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
              'pinned': {'outputs': [[1.0793228149414062], [-1.5248558521270752], [-1.7207049131393433]],
                         'smiles': ['CCO', 'c1ccccc1', 'CC(=O)Oc1ccccc1C(=O)O']},
              'preprocessing': {'dataset': 'esol',
                                'smiles_column': 'smiles',
                                'split': {'fractions': [0.8, 0.1, 0.1], 'method': 'random', 'seed': 1},
                                'task_names': ['measured log solubility in mols per litre'],
                                'units': 'log10(mol/L)'},
              'recipe': {'arch': 'gps', 'batch_size': 32, 'dataset': 'esol', 'descriptors': True, 'epochs': 120},
              'seed': 1,
              'seed_test': [{'mae': 0.428096338183479, 'rmse': 0.5515373208210232},
                            {'mae': 0.46383465887500647, 'rmse': 0.6067965848631736},
                            {'mae': 0.4357131037168798, 'rmse': 0.6258685825527127}],
              'seed_val': [{'mae': 0.4258025087811778, 'rmse': 0.5369339776000613},
                           {'mae': 0.36572881662740114, 'rmse': 0.5063083687301284},
                           {'mae': 0.36577672165183894, 'rmse': 0.514547311464187}],
              'seeds': [0, 1, 2],
              'sha256': '6ba7cad0a2bcd09fb0522208e7f4e781154422c178fb1d28e55865a5a8107c7c',
              'test': {'mae': 0.46395839917250964, 'rmse': 0.606972287117685},
              'training_notes': 'Recipe changed from 80 to 120 epochs (issue 7), chosen on validation only: mean '
                                'validation RMSE over seeds 0, 1, 2 fell from 0.556 (80 epochs: 0.573, 0.537, 0.559) '
                                'to 0.519 (120 epochs: 0.537, 0.506, 0.515). On test the 80-epoch seeds gave 0.503, '
                                '0.656, 0.605 (0.588 ± 0.064, registered seed 1: 0.656); the 120-epoch seeds give '
                                '0.552, 0.607, 0.626 (0.595 ± 0.032). The < 0.58 goal is not reached by either.'},
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
                       'fp32_test': {'mae': 0.4643294818477616, 'rmse': 0.6431890589099362},
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
                       'pinned': {'outputs': [[0.20734965801239014], [1.537909984588623], [-0.45801663398742676]],
                                  'smiles': ['CCO', 'c1ccccc1', 'CC(=O)Oc1ccccc1C(=O)O']},
                       'preprocessing': {'dataset': 'lipophilicity',
                                         'smiles_column': 'smiles',
                                         'split': {'fractions': [0.8, 0.1, 0.1], 'method': 'random', 'seed': 1},
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
                       'seed': 1,
                       'seed_test': [{'mae': 0.47993553450685883, 'rmse': 0.6646766425956413},
                                     {'mae': 0.4643294818477616, 'rmse': 0.6431890589099362},
                                     {'mae': 0.47199143117205017, 'rmse': 0.638164080712082}],
                       'seed_val': [{'mae': 0.4855090643190557, 'rmse': 0.69757960216428},
                                    {'mae': 0.43692771911709793, 'rmse': 0.5926356199072259},
                                    {'mae': 0.4553279773686968, 'rmse': 0.6234843185164708}],
                       'seeds': [0, 1, 2],
                       'sha256': '60c45361736d0aecc430011609841a48c60ac77379c77b6331e808f9ca9aff3b',
                       'test': {'mae': 0.46439617575545394, 'rmse': 0.6433320023287703}},
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
               'seed_cv': [{'acc_mean': 0.8938596491228068, 'acc_std': 0.0713120669708865},
                           {'acc_mean': 0.8935672514619883, 'acc_std': 0.08195693103815804},
                           {'acc_mean': 0.8988304093567251, 'acc_std': 0.06901080366782315}],
               'seeds': [0, 1, 2],
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
                              f"10-fold stratified CV, seed {seed}", f"python -m zoo.graph.train {name} --seeds {seed}", pub,
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


for _name, _facts in _TRAINED.items():
    register_model(make_entry(_name, _facts))
