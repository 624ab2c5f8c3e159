"""Shared pieces of the graph models: categorical feature encoders, the readout head, the user API.

`GraphModelMixin` gives every graph model ``predict_smiles`` (targets in their units, or
probabilities) and ``predict_graphs``; target and descriptor standardisation live in buffers, so
they travel with the weights.

Example:
    >>> import zoo
    >>> model = zoo.load("gps-esol")
    >>> model.predict_smiles(["CCO", "c1ccccc1"])      # [2, 1], log10(mol/L)
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from zoo.errors import InputError

from .data import GraphBatch, collate
from .features import ATOM_VOCAB, BOND_VOCAB, GraphFeaturizer


def _as_list(values, what: str) -> list:
    """A non-empty list from a list, tuple, numpy array or pandas Series; `InputError` otherwise."""
    if isinstance(values, (list, tuple)):
        out = list(values)
    elif isinstance(values, np.ndarray) and values.ndim == 1:
        out = values.tolist()
    elif type(values).__name__ == "Series" and hasattr(values, "tolist"):
        out = values.tolist()
    else:
        raise InputError(f"expected a list of {what}, got {type(values).__name__}: {values!r:.80}")
    if not out:
        raise InputError(f"expected at least one of the {what}, got an empty {type(values).__name__}")
    return out


def _check_batch_size(batch_size) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")


class CategoricalEncoder(nn.Module):
    """Sum of one embedding per integer feature column; values beyond a column's vocabulary map to its last slot."""

    def __init__(self, vocab: list[int], dim: int):
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(v, dim) for v in vocab)
        self.register_buffer("limits", torch.tensor([v - 1 for v in vocab]), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.minimum(x.clamp(min=0), self.limits)
        return sum(emb(x[..., i]) for i, emb in enumerate(self.embeddings))


class Head(nn.Module):
    """Graph embedding (+ standardised descriptors) → MLP → ``num_tasks`` outputs."""

    def __init__(self, dim: int, num_globals: int, num_tasks: int, dropout: float = 0.0):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(dim + num_globals, dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(dim, num_tasks))

    def forward(self, h: torch.Tensor, globals_: torch.Tensor | None) -> torch.Tensor:
        if globals_ is not None:
            h = torch.cat([h, globals_], dim=-1)
        return self.mlp(h)


class GraphModelMixin:
    """Standardisation buffers, featurizer and the prediction API shared by Graphormer and GPS."""

    def _init_common(self, num_tasks: int, task: str, descriptors, max_nodes: int) -> None:
        if task not in ("regression", "classification"):
            raise InputError(f"task must be 'regression' or 'classification', got {task!r}")
        self.num_tasks, self.task, self.descriptors, self.max_nodes = num_tasks, task, list(descriptors), max_nodes
        self.register_buffer("target_mean", torch.zeros(num_tasks))
        self.register_buffer("target_std", torch.ones(num_tasks))
        self.register_buffer("globals_mean", torch.zeros(len(self.descriptors)))
        self.register_buffer("globals_std", torch.ones(len(self.descriptors)))

    def featurizer(self) -> GraphFeaturizer:
        return GraphFeaturizer(**self.featurizer_options(), descriptors=self.descriptors, max_nodes=self.max_nodes)

    def set_normalization(self, targets: np.ndarray | None = None, globals_: np.ndarray | None = None) -> None:
        """Store training-set mean/std of regression targets and descriptors (NaN targets ignored)."""
        if targets is not None and self.task == "regression":
            t = torch.as_tensor(np.asarray(targets, np.float64))
            mean = torch.nanmean(t, 0)
            std = torch.sqrt(torch.nanmean((t - mean) ** 2, 0)).clamp(min=1e-6)
            self.target_mean.copy_(mean.float())
            self.target_std.copy_(std.float())
        if globals_ is not None and len(self.descriptors):
            g = torch.as_tensor(np.asarray(globals_, np.float64))
            self.globals_mean.copy_(g.mean(0).float())
            self.globals_std.copy_(g.std(0).clamp(min=1e-6).float())

    def _globals(self, batch: GraphBatch) -> torch.Tensor | None:
        if not self.descriptors:
            return None
        if batch.globals is None:
            raise InputError(f"this model reads RDKit descriptors {self.descriptors}; the batch has none")
        return ((batch.globals - self.globals_mean) / self.globals_std).clamp(-10, 10)

    def output(self, raw: torch.Tensor) -> torch.Tensor:
        """Raw model outputs → target units (regression) or probabilities (classification)."""
        if self.task == "regression":
            return raw * self.target_std + self.target_mean
        return torch.sigmoid(raw)

    def _check_reads_molecules(self) -> None:
        """`InputError` unless this model's vocabularies are the molecule featuriser's (not a TU set's labels)."""
        node_vocab = [e.num_embeddings for e in self.node_encoder.embeddings]
        edge_vocab = [e.num_embeddings for e in self.edge_encoder.embeddings]
        if node_vocab != list(ATOM_VOCAB) or edge_vocab != list(BOND_VOCAB):
            name = getattr(getattr(self, "config", None) or {}, "get", lambda k: None)("name") or type(self).__name__
            raise InputError(
                f"{name} reads graphs with node vocabulary {node_vocab} and edge vocabulary {edge_vocab} (a TU data set's "
                f"labels), not molecules: expected a model trained on SMILES (node vocabulary {list(ATOM_VOCAB)}); "
                "use predict_graphs for this one"
            )

    def check_graph(self, g, i: int = 0) -> None:
        """Refuse (`InputError`) a graph dict this model cannot read, naming graph ``i`` and what came.

        Expected: ``{"x": int [N, len(node_vocab)], "edge_index": int [2, E] with values in 0..N-1,
        "edge_attr": int [E, len(edge_vocab)]}``, every feature value in ``0..vocab-1`` of its column.
        """
        if not isinstance(g, dict):
            raise InputError(f"graph {i}: expected a dict with 'x', 'edge_index', 'edge_attr', got {type(g).__name__}")
        missing = [k for k in ("x", "edge_index", "edge_attr") if k not in g]
        if missing:
            raise InputError(f"graph {i}: expected keys 'x', 'edge_index', 'edge_attr'; missing {missing} (got {sorted(g)})")
        arrays = {}
        for key in ("x", "edge_index", "edge_attr"):
            a = g[key]
            a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
            if a.dtype.kind not in "iu":
                raise InputError(f"graph {i}: expected an integer array {key!r}, got dtype {a.dtype} of shape {a.shape}")
            arrays[key] = a
        x, ei, ea = arrays["x"], arrays["edge_index"], arrays["edge_attr"]
        node_vocab = [e.num_embeddings for e in self.node_encoder.embeddings]
        edge_vocab = [e.num_embeddings for e in self.edge_encoder.embeddings]
        if x.ndim != 2 or x.shape[1] != len(node_vocab):
            raise InputError(f"graph {i}: expected 'x' of shape [N, {len(node_vocab)}] (one column per node feature), got {x.shape}")
        if ei.ndim != 2 or ei.shape[0] != 2:
            raise InputError(f"graph {i}: expected 'edge_index' of shape [2, E], got {ei.shape}")
        if ea.ndim != 2 or ea.shape != (ei.shape[1], len(edge_vocab)):
            raise InputError(f"graph {i}: expected 'edge_attr' of shape [E={ei.shape[1]}, {len(edge_vocab)}], got {ea.shape}")
        n = x.shape[0]
        if ei.size and (ei.min() < 0 or ei.max() >= n):
            raise InputError(f"graph {i}: 'edge_index' must index nodes 0..{n - 1}, got values {ei.min()}..{ei.max()}")
        for what, arr, vocab in (("x", x, node_vocab), ("edge_attr", ea, edge_vocab)):
            if not arr.size:
                continue
            for col, v in enumerate(vocab):
                lo, hi = int(arr[:, col].min()), int(arr[:, col].max())
                if lo < 0 or hi >= v:
                    raise InputError(f"graph {i}: {what!r} column {col} must be in 0..{v - 1} (this model's vocabulary), got {lo}..{hi}")

    def predict_graphs(self, graphs: list[dict], batch_size: int = 64) -> torch.Tensor:
        """Predictions ``[N, num_tasks]`` for graphs from `zoo.graph.features` (structure added here)."""
        graphs = _as_list(graphs, "graph dicts")
        _check_batch_size(batch_size)
        for i, g in enumerate(graphs):
            self.check_graph(g, i)
        feat = self.featurizer()
        items = []
        for i, g in enumerate(graphs):
            g = {k: (v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)).astype(np.int64)
                 for k, v in g.items() if k in ("x", "edge_index", "edge_attr")}  # fmt: skip
            if self.descriptors:
                raise InputError(f"this model reads RDKit descriptors {self.descriptors}; use predict_smiles, not predict_graphs")
            try:
                items.append(feat(g))
            except InputError as exc:
                raise InputError(f"graph {i}: {exc}") from None
        return self.predict_featurised(items, batch_size)

    def predict_smiles(self, smiles: list[str] | str, batch_size: int = 64, on_invalid: str = "raise") -> torch.Tensor:
        """Predictions ``[N, num_tasks]`` for SMILES strings, in the target's units or as probabilities.

        ``on_invalid="raise"`` (default) raises `InputError` naming the first bad SMILES (not a string,
        unparseable, no atoms, an atom or bond outside the featuriser's vocabulary such as a wildcard
        ``*``, or more atoms than ``max_nodes``); ``"skip"`` warns and returns a NaN row for it.
        ``smiles`` is one string or a non-empty list (tuple, numpy array, pandas Series) of strings.
        """
        self._check_reads_molecules()
        if isinstance(smiles, str):
            smiles = [smiles]
        smiles = _as_list(smiles, "SMILES strings")
        _check_batch_size(batch_size)
        if on_invalid not in ("raise", "skip"):
            raise InputError(f"on_invalid must be 'raise' or 'skip', got {on_invalid!r}")
        feat = self.featurizer()
        items, keep = [], []
        for i, s in enumerate(smiles):
            try:
                items.append(feat.from_smiles(s))
                keep.append(i)
            except InputError as exc:
                if on_invalid == "raise":
                    raise InputError(f"input {i}: {exc}") from None
                warnings.warn(f"skipped input {i}: {exc}", stacklevel=2)
        out = torch.full((len(smiles), self.num_tasks), float("nan"))
        if items:
            out[keep] = self.predict_featurised(items, batch_size)
        return out

    @torch.no_grad()
    def predict_featurised(self, items: list[dict], batch_size: int = 64) -> torch.Tensor:
        """Predictions for graphs that already carry this model's structural inputs."""
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        if not items:
            return torch.zeros(0, self.num_tasks)
        outs = [self.output(self(collate(items[i : i + batch_size]).to(device))) for i in range(0, len(items), batch_size)]
        self.train(was_training)
        return torch.cat(outs).float().cpu()
