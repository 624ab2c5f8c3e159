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
from .features import GraphFeaturizer


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

    def predict_graphs(self, graphs: list[dict], batch_size: int = 64) -> torch.Tensor:
        """Predictions ``[N, num_tasks]`` for graphs from `zoo.graph.features` (structure added here)."""
        feat = self.featurizer()
        return self.predict_featurised([feat(g) for g in graphs], batch_size)

    def predict_smiles(self, smiles: list[str] | str, batch_size: int = 64, on_invalid: str = "raise") -> torch.Tensor:
        """Predictions ``[N, num_tasks]`` for SMILES strings, in the target's units or as probabilities.

        ``on_invalid="raise"`` (default) raises `InputError` naming the first bad SMILES (unparseable,
        no atoms, or more atoms than ``max_nodes``); ``"skip"`` warns and returns a NaN row for it.
        """
        if isinstance(smiles, str):
            smiles = [smiles]
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
                    raise
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
