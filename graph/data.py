"""Graph data: MoleculeNet CSVs and TU text files, their splits, and batching.

Data are read from a user-given folder or ``$ZOO_DATA_DIR`` (``graph/moleculenet/*.csv``,
``graph/tudataset/<NAME>/``); nothing is copied into the repository.

Example:
    >>> from zoo.graph import moleculenet_split, load_moleculenet
    >>> table = load_moleculenet("esol")                      # smiles, targets [N, 1], task info
    >>> train, val, test = moleculenet_split("esol", "random", seed=0)
    >>> len(train), len(val), len(test)
    (902, 113, 113)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from zoo.errors import InputError

from .features import GraphFeaturizer, descriptors, mol_to_graph, parse_smiles

MOLECULENET = {
    "esol": dict(file="delaney-processed.csv", smiles="smiles", targets=["measured log solubility in mols per litre"],
                 task="regression", units="log10(mol/L)", split="random", metric="rmse"),
    "freesolv": dict(file="freesolv.csv", smiles="smiles", targets=["freesolv"], task="regression",
                     units="kcal/mol (hydration free energy)", split="random", metric="rmse"),
    "lipophilicity": dict(file="lipo.csv", smiles="smiles", targets=["lipo"], task="regression",
                          units="logD (octanol/water, pH 7.4)", split="random", metric="rmse"),
    "bbbp": dict(file="bbbp.csv", smiles="smiles", targets=["p_np"], task="classification",
                 units="probability of blood-brain barrier penetration", split="scaffold", metric="roc_auc"),
    "bace": dict(file="bace.csv", smiles="mol", targets=["Class"], task="classification",
                 units="probability of BACE-1 inhibition", split="scaffold", metric="roc_auc"),
}  # fmt: skip
ALIASES = {"lipo": "lipophilicity", "delaney": "esol"}
TU_DATASETS = {"MUTAG": "MUTAG", "PROTEINS": "PROTEINS_full"}
FRACTIONS = (0.8, 0.1, 0.1)


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The shared data folder: ``root``, else ``$ZOO_DATA_DIR``, else ``../shared/data``."""
    path = Path(root or os.environ.get("ZOO_DATA_DIR", "../shared/data"))
    if not path.is_dir():
        raise FileNotFoundError(f"data folder {path} does not exist; pass root= or set ZOO_DATA_DIR")
    return path


def _canonical(name: str) -> str:
    key = ALIASES.get(name.lower(), name.lower())
    if key not in MOLECULENET:
        raise InputError(f"unknown MoleculeNet set {name!r}; expected one of {sorted(MOLECULENET)}")
    return key


@dataclass
class MoleculeTable:
    """Rows of a molecule CSV that RDKit parses: ``rows`` are the CSV row numbers kept."""

    name: str
    smiles: list[str]
    targets: np.ndarray  # [N, T] float, NaN where missing
    rows: np.ndarray
    task: str
    target_names: list[str]
    units: str = ""
    skipped: list[tuple[int, str]] = field(default_factory=list)
    smiles_column: str = "smiles"


def load_csv(path: str | os.PathLike, smiles_column: str = "smiles", target_columns: list[str] | None = None,
             task: str = "regression", units: str = "", name: str | None = None) -> MoleculeTable:  # fmt: skip
    """Any CSV with a SMILES column and target columns; unparseable SMILES are skipped and listed.

    Targets must be numeric (empty cells are missing values); classification targets 0 or 1.
    """
    import pandas as pd

    if task not in ("regression", "classification"):
        raise InputError(f"task must be 'regression' or 'classification', got {task!r}")
    try:
        df = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"expected a CSV file with a header row, got {str(path)!r} that pandas cannot read ({str(exc).strip()})") from None
    if smiles_column not in df.columns:
        raise InputError(f"{path}: expected a SMILES column {smiles_column!r}, got columns {list(df.columns)}")
    targets = target_columns or [c for c in df.columns if c != smiles_column and pd.api.types.is_numeric_dtype(df[c])]
    missing = [c for c in targets if c not in df.columns]
    if missing or not targets:
        raise InputError(f"{path}: expected target columns {missing or '(numeric columns)'}, got columns {list(df.columns)}")
    if smiles_column in targets:
        raise InputError(f"{path}: the SMILES column {smiles_column!r} cannot also be a target; got targets {targets}")
    for c in targets:
        if not pd.api.types.is_numeric_dtype(df[c]):
            bad = next(v for v in df[c] if not _is_number(v))
            raise InputError(f"{path}: target column {c!r} must hold numbers, got {bad!r}")
        values = df[c].dropna().to_numpy()
        if not len(values):
            raise InputError(f"{path}: target column {c!r} has no values (every cell is empty)")
        if task == "classification" and not np.isin(values, (0, 1)).all():
            raise InputError(f"{path}: classification target {c!r} must be 0 or 1, got values {sorted(set(values.tolist()))[:6]}")
    keep, skipped = [], []
    for i, s in enumerate(df[smiles_column].astype(str)):
        try:
            parse_smiles(s.strip())
            keep.append(i)
        except InputError:
            skipped.append((i, s))
    rows = np.array(keep, dtype=np.int64)
    return MoleculeTable(
        name=name or Path(path).stem,
        smiles=[df[smiles_column].astype(str).iloc[i].strip() for i in keep],
        targets=df[targets].to_numpy(dtype=np.float64)[rows].astype(np.float32),
        rows=rows, task=task, target_names=list(targets), units=units, skipped=skipped, smiles_column=smiles_column,
    )  # fmt: skip


def _is_number(value) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


def load_moleculenet(name: str, root: str | os.PathLike | None = None) -> MoleculeTable:
    key = _canonical(name)
    spec = MOLECULENET[key]
    path = data_root(root) / "graph" / "moleculenet" / spec["file"]
    return load_csv(path, spec["smiles"], spec["targets"], spec["task"], spec["units"], name=key)


# ------------------------------------------------------------------------------------------- splits
def random_split(n: int, seed: int, fractions=FRACTIONS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions ``0..n-1`` shuffled with ``numpy.random.default_rng(seed)`` and cut at the fractions."""
    perm = np.random.default_rng(seed).permutation(n)
    n_train = int(round(fractions[0] * n))
    n_val = int(round(fractions[1] * n))
    return np.sort(perm[:n_train]), np.sort(perm[n_train : n_train + n_val]), np.sort(perm[n_train + n_val :])


def scaffold(smiles: str) -> str:
    """Bemis–Murcko scaffold SMILES (no chirality); acyclic molecules have the empty scaffold."""
    from rdkit.Chem.Scaffolds import MurckoScaffold

    return MurckoScaffold.MurckoScaffoldSmiles(mol=parse_smiles(smiles), includeChirality=False)


def scaffold_split(smiles: list[str], fractions=FRACTIONS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deterministic scaffold split as DeepChem / OGB: groups sorted by (size, first row) descending fill
    train, then validation, then test (a group that would overflow a part goes to the next one)."""
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(smiles):
        groups.setdefault(scaffold(s), []).append(i)
    ordered = sorted(groups.values(), key=lambda g: (len(g), g[0]), reverse=True)
    n = len(smiles)
    train_cut, val_cut = fractions[0] * n, (fractions[0] + fractions[1]) * n
    train, val, test = [], [], []
    for g in ordered:
        if len(train) + len(g) <= train_cut:
            train += g
        elif len(train) + len(val) + len(g) <= val_cut:
            val += g
        else:
            test += g
    return np.array(sorted(train)), np.array(sorted(val)), np.array(sorted(test))


def split_table(table: MoleculeTable, method: str, seed: int = 0, fractions=FRACTIONS):
    """Positions into ``table`` (not CSV rows) of the train/validation/test parts."""
    if method == "random":
        return random_split(len(table.smiles), seed, fractions)
    if method == "scaffold":
        return scaffold_split(table.smiles, fractions)
    raise InputError(f"unknown split method {method!r}; expected 'random' or 'scaffold'")


def moleculenet_split(name: str, method: str = "default", seed: int = 0, fractions=FRACTIONS,
                      root: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Train/validation/test CSV row indices of a MoleculeNet set.

    ``method="default"`` is the set's convention (random for ESOL/FreeSolv/Lipophilicity, scaffold for
    BBBP/BACE). Random splits shuffle the parseable rows with ``numpy.random.default_rng(seed)``; the
    scaffold split is deterministic (``seed`` is unused).
    """
    table = load_moleculenet(name, root)
    if method == "default":
        method = MOLECULENET[table.name]["split"]
    return tuple(table.rows[p] for p in split_table(table, method, seed, fractions))


def stratified_kfold(labels: np.ndarray, k: int = 10, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (train, test) position pairs; every class is shuffled and dealt round-robin into the folds."""
    labels = np.asarray(labels)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 2 <= k <= len(labels):
        raise InputError(f"k must be an integer from 2 to the number of graphs ({len(labels)}), got {k!r}")
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(labels), dtype=np.int64)
    start = 0
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        fold_of[idx] = (np.arange(len(idx)) + start) % k
        start += len(idx)
    return [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(k)]


# ----------------------------------------------------------------------------------------------- TU
def load_tu(name: str, root: str | os.PathLike | None = None) -> tuple[list[dict], np.ndarray, dict]:
    """Graphs of a TU data set from its raw text files: (graphs, labels 0..C-1, info).

    Node labels become ``x [N, 1]``, edge labels ``edge_attr [E, 1]`` (zeros if the set has none).
    """
    folder_name = TU_DATASETS.get(name.upper(), name)
    folder = data_root(root) / "graph" / "tudataset" / folder_name
    if not folder.is_dir():
        raise FileNotFoundError(f"TU data set {name!r} not found at {folder}")

    def read(suffix: str, dtype=np.int64) -> np.ndarray | None:
        p = folder / f"{folder_name}_{suffix}.txt"
        return np.loadtxt(p, delimiter=",", dtype=dtype, ndmin=1) if p.exists() else None

    A = read("A").reshape(-1, 2) - 1
    gid = read("graph_indicator") - 1
    y_raw = read("graph_labels")
    node_lab = read("node_labels")
    edge_lab = read("edge_labels")
    classes = np.unique(y_raw)
    y = np.searchsorted(classes, y_raw)
    node_vals = np.unique(node_lab) if node_lab is not None else np.zeros(1, np.int64)
    node_ids = np.searchsorted(node_vals, node_lab) if node_lab is not None else np.zeros(len(gid), np.int64)
    edge_vals = np.unique(edge_lab) if edge_lab is not None else np.zeros(1, np.int64)
    edge_ids = np.searchsorted(edge_vals, edge_lab) if edge_lab is not None else np.zeros(len(A), np.int64)
    starts = np.searchsorted(gid, np.arange(len(y)))
    graphs = []
    edge_graph = gid[A[:, 0]]
    order = np.argsort(edge_graph, kind="stable")
    e_starts = np.searchsorted(edge_graph[order], np.arange(len(y) + 1))
    for g in range(len(y)):
        lo = starts[g]
        hi = starts[g + 1] if g + 1 < len(y) else len(gid)
        e = order[e_starts[g] : e_starts[g + 1]]
        graphs.append({
            "x": node_ids[lo:hi, None].astype(np.int64),
            "edge_index": (A[e].T - lo).astype(np.int64),
            "edge_attr": edge_ids[e, None].astype(np.int64),
        })  # fmt: skip
    info = {"node_vocab": [len(node_vals) + 1], "edge_vocab": [len(edge_vals) + 1], "classes": classes.tolist()}
    return graphs, y, info


# ------------------------------------------------------------------------------------------ batching
@dataclass
class GraphBatch:
    """A batch of graphs: sparse (PyG-style) node/edge tensors plus dense per-pair tensors if computed."""

    x: torch.Tensor  # [N, Fn] long
    edge_index: torch.Tensor  # [2, E]
    edge_attr: torch.Tensor  # [E, Fe] long
    batch: torch.Tensor  # [N]
    num_graphs: int
    y: torch.Tensor | None = None  # [B, T]
    globals: torch.Tensor | None = None  # [B, G]
    rwse: torch.Tensor | None = None  # [N, W]
    lap: torch.Tensor | None = None  # [N, K]
    spd: torch.Tensor | None = None  # [B, L, L] (-1 unreachable or padding)
    path: torch.Tensor | None = None  # [B, L, L, D] edge ids into edge_attr (-1 none)
    degree: torch.Tensor | None = None  # [B, L]
    node_mask: torch.Tensor | None = None  # [B, L] bool

    def to(self, device) -> GraphBatch:
        return GraphBatch(**{k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in self.__dict__.items()})

    def __len__(self) -> int:
        return self.num_graphs


def collate(graphs: list[dict]) -> GraphBatch:
    """Batch featurised graphs (dicts of numpy arrays, optionally with ``y``)."""
    sizes = [g["x"].shape[0] for g in graphs]
    offsets = np.cumsum([0] + sizes[:-1])
    e_sizes = [g["edge_index"].shape[1] for g in graphs]
    e_offsets = np.cumsum([0] + e_sizes[:-1])
    cat = lambda key: torch.from_numpy(np.concatenate([g[key] for g in graphs]))
    out = GraphBatch(
        x=cat("x"),
        edge_index=torch.from_numpy(np.concatenate([g["edge_index"] + o for g, o in zip(graphs, offsets)], axis=1)),
        edge_attr=cat("edge_attr"),
        batch=torch.repeat_interleave(torch.arange(len(graphs)), torch.tensor(sizes)),
        num_graphs=len(graphs),
    )
    if "y" in graphs[0]:
        out.y = torch.from_numpy(np.stack([np.asarray(g["y"], np.float32).reshape(-1) for g in graphs]))
    if "globals" in graphs[0]:
        out.globals = torch.from_numpy(np.stack([g["globals"] for g in graphs]))
    for key in ("rwse", "lap"):
        if key in graphs[0]:
            setattr(out, key, cat(key))
    if "spd" in graphs[0]:
        B, L, D = len(graphs), max(sizes), graphs[0]["path"].shape[-1]
        spd = np.full((B, L, L), -1, np.int64)
        path = np.full((B, L, L, D), -1, np.int64)
        deg = np.zeros((B, L), np.int64)
        mask = np.zeros((B, L), bool)
        for b, (g, n, eo) in enumerate(zip(graphs, sizes, e_offsets)):
            spd[b, :n, :n] = g["spd"]
            path[b, :n, :n] = np.where(g["path"] >= 0, g["path"] + eo, -1)
            deg[b, :n] = g["degree"]
            mask[b, :n] = True
        out.spd, out.path = torch.from_numpy(spd), torch.from_numpy(path)
        out.degree, out.node_mask = torch.from_numpy(deg), torch.from_numpy(mask)
    return out


class GraphDataset(torch.utils.data.Dataset):
    """Featurised graphs held in memory (featurisation runs once, here)."""

    def __init__(self, graphs: list[dict], featurizer: GraphFeaturizer, targets: np.ndarray | None = None,
                 globals_: np.ndarray | None = None):  # fmt: skip
        self.items = []
        for i, g in enumerate(graphs):
            if globals_ is not None:
                g = {**g, "globals": globals_[i]}
            g = featurizer(g)
            if targets is not None:
                g["y"] = np.asarray(targets[i], np.float32).reshape(-1)
            self.items.append(g)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        return self.items[i]


def molecule_graphs(smiles: list[str], featurizer: GraphFeaturizer) -> tuple[list[dict], np.ndarray | None]:
    """Graphs and descriptor rows of molecules (descriptors only if the featurizer names some)."""
    graphs, glob = [], []
    for s in smiles:
        mol = parse_smiles(s)
        graphs.append(mol_to_graph(mol))
        if featurizer.descriptors:
            glob.append(descriptors(mol, featurizer.descriptors))
    return graphs, (np.stack(glob) if glob else None)


def loader(dataset, batch_size: int = 64, shuffle: bool = False, seed: int = 0) -> torch.utils.data.DataLoader:
    gen = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, collate_fn=collate,
                                       generator=gen if shuffle else None)  # fmt: skip


# ------------------------------------------------------------------------------------- data module
def _molecule_datamodule_class():
    """``MoleculeDataModule``, built on first use so that importing the graph models never imports Lightning."""
    import lightning as L

    class MoleculeDataModule(L.LightningDataModule):
        """A molecule CSV for LightningCLI (``zoo fit --config``): split 80/10/10, featurised for the task's model.

        Args:
            csv: a CSV with a SMILES column and numeric target columns (read with `load_csv`; rows RDKit
                cannot parse are left out).
            smiles_column: the SMILES column. target_columns: the targets, as many as the model predicts
                (default: every numeric column).
            split: ``"random"`` (shuffled with ``seed``) or ``"scaffold"`` (Bemis–Murcko, deterministic).
            seed: the random split's seed and the training loader's shuffling seed.
            batch_size: training batch size; ``eval_batch_size`` for validation and test.
            fractions: train/validation/test fractions.

        The model is the one of the task being trained (``trainer.lightning_module.model``): its own
        featurizer makes the graphs, and at ``fit`` the target and descriptor mean/std are fitted on the
        training part (as ``zoo finetune`` does) and recorded, with the split, in the model's
        ``config["preprocessing"]``. ``validate``/``test`` keep the model's normalisation. Outside a
        Trainer, call ``attach(model, stage)`` before asking for loaders.

        Example:
            >>> import lightning as L, zoo
            >>> from zoo.graph.data import MoleculeDataModule
            >>> from zoo.graph.task import GraphTask
            >>> dm = MoleculeDataModule("my.csv", target_columns=["logS"], split="scaffold")
            >>> L.Trainer(max_epochs=20).fit(GraphTask(zoo.load("gps-esol")), datamodule=dm)
        """

        def __init__(self, csv: str, smiles_column: str = "smiles", target_columns: list[str] | None = None,
                     split: str = "random", seed: int = 0, batch_size: int = 32, eval_batch_size: int = 256,
                     fractions: tuple[float, float, float] = FRACTIONS):  # fmt: skip
            super().__init__()
            if split not in ("random", "scaffold"):
                raise InputError(f"split must be 'random' or 'scaffold', got {split!r}")
            for what, value in (("batch_size", batch_size), ("eval_batch_size", eval_batch_size)):
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise InputError(f"{what} must be a positive integer, got {value!r}")
            fractions = tuple(float(f) for f in fractions)
            if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-6:
                raise InputError(f"fractions must be three non-negative numbers summing to 1, got {list(fractions)}")
            if not Path(csv).is_file():
                raise InputError(f"csv: expected a CSV file of SMILES and targets, got {str(csv)!r} (not found)")
            self.csv, self.smiles_column, self.target_columns = str(csv), smiles_column, target_columns
            self.split, self.seed, self.fractions = split, int(seed), fractions
            self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
            self.table: MoleculeTable | None = None
            self.train_set = self.val_set = self.test_set = None

        def setup(self, stage: str | None = None) -> None:
            trainer = getattr(self, "trainer", None)
            model = getattr(getattr(trainer, "lightning_module", None), "model", None)
            if model is None:
                raise InputError("MoleculeDataModule needs the task's model: use it with a Trainer or call attach(model)")
            self.attach(model, stage)

        def attach(self, model, stage: str | None = "fit") -> None:
            """Featurise the CSV for ``model``; at ``fit`` (and None) refit its target/descriptor normalisation."""
            if not hasattr(model, "featurizer"):
                raise InputError(f"MoleculeDataModule expected a zoo graph model (GPS, Graphormer), got {type(model).__name__}")
            model._check_reads_molecules()  # a TU-graph model does not read SMILES
            table = load_csv(self.csv, self.smiles_column, self.target_columns, model.task)
            if table.targets.shape[1] != model.num_tasks:
                raise InputError(f"{self.csv}: the model predicts {model.num_tasks} target(s), got {table.targets.shape[1]} target "
                                 f"column(s) {table.target_names}; choose them with target_columns (zoo finetune --csv "
                                 "re-initialises the output layer for another number of targets)")  # fmt: skip
            if len(table.smiles) < 10:
                raise InputError(f"{self.csv}: expected at least 10 molecules to split into train/validation/test, got {len(table.smiles)}")
            feat = model.featurizer()
            graphs, glob = molecule_graphs(table.smiles, feat)
            ds = GraphDataset(graphs, feat, table.targets, glob)
            tr, va, te = split_table(table, self.split, self.seed, self.fractions)
            if stage in (None, "fit"):
                _refit_normalization(model, table, tr, glob, {"method": self.split, "seed": self.seed, "fractions": list(self.fractions)})
            sub = lambda idx: torch.utils.data.Subset(ds, idx.tolist())  # noqa: E731
            self.table, self.train_set, self.val_set, self.test_set = table, sub(tr), sub(va), sub(te)

        def _sets(self):
            if self.train_set is None:
                raise InputError("MoleculeDataModule has no data yet: it is set up by the Trainer (or attach(model))")
            return self.train_set, self.val_set, self.test_set

        def train_dataloader(self):
            return loader(self._sets()[0], self.batch_size, shuffle=True, seed=self.seed)

        def val_dataloader(self):
            return loader(self._sets()[1], self.eval_batch_size) if len(self._sets()[1]) else []

        def test_dataloader(self):
            return loader(self._sets()[2], self.eval_batch_size) if len(self._sets()[2]) else []

    MoleculeDataModule.__module__, MoleculeDataModule.__qualname__ = __name__, "MoleculeDataModule"
    return MoleculeDataModule


def fit_normalization(model, table: MoleculeTable, train: np.ndarray, glob: np.ndarray | None) -> None:
    """Target/descriptor mean/std of the training rows, in the model's buffers and ``config["preprocessing"]["normalization"]``."""
    model.set_normalization(table.targets[train], glob[train] if glob is not None else None)
    model.config["preprocessing"]["normalization"] = {
        "fitted_on": f"train part of {table.name} ({len(train)} molecules)",
        **({"target_mean": model.target_mean.tolist(), "target_std": model.target_std.tolist()} if model.task == "regression" else {}),
        **({"descriptor_mean": model.globals_mean.tolist(), "descriptor_std": model.globals_std.tolist()} if glob is not None else {}),
    }  # fmt: skip


def _refit_normalization(model, table: MoleculeTable, train: np.ndarray, glob: np.ndarray | None, split: dict) -> None:
    """`fit_normalization`, and the data set, split and columns recorded in the model's config."""
    fit_normalization(model, table, train, glob)
    prep = model.config["preprocessing"]
    for key, value in (("dataset", table.name), ("task_names", table.target_names), ("split", split),
                       ("smiles_column", table.smiles_column)):  # fmt: skip
        prep[key] = value


def __getattr__(name: str):
    if name == "MoleculeDataModule":
        cls = globals()[name] = _molecule_datamodule_class()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
