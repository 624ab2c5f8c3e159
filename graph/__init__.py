"""`zoo.graph`: graph transformers (Graphormer, GPS) for molecules and TU graphs.

Example:
    >>> import zoo
    >>> model = zoo.load("gps-esol")
    >>> model.predict_smiles(["CCO", "c1ccccc1"])        # [2, 1] log10(mol/L)
    >>> from zoo.graph import moleculenet_split
    >>> train, val, test = moleculenet_split("esol", "random", seed=0)
"""

from . import gps, graphormer, registry  # noqa: F401 - registers architectures and entries
from .data import GraphBatch, collate, load_csv, load_moleculenet, load_tu, moleculenet_split, scaffold_split, stratified_kfold
from .features import GraphFeaturizer, shortest_paths, smiles_to_graph
from .gps import GPS
from .graphormer import Graphormer

__all__ = [
    "GPS",
    "GraphBatch",
    "GraphFeaturizer",
    "Graphormer",
    "collate",
    "load_csv",
    "load_moleculenet",
    "load_tu",
    "moleculenet_split",
    "scaffold_split",
    "shortest_paths",
    "smiles_to_graph",
    "stratified_kfold",
]
