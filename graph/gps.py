"""GPS (Rampášek et al., "Recipe for a General, Powerful, Scalable Graph Transformer", NeurIPS 2022).

Each layer adds a local message-passing branch (PyG's ``GINEConv``, edge features included) and a
global attention branch over all nodes of the same graph, then a feed-forward block; every branch
is residual and batch-normalised. Nodes know their position through random-walk structural
encodings (RWSE, PyG's ``AddRandomWalkPE``) and optionally Laplacian eigenvectors (PyG's
``AddLaplacianEigenvectorPE``, signs flipped at random while training). The global attention runs
on the dense batch (``to_dense_batch``) through `zoo.attention.attend` with a key padding mask.

Example:
    >>> from zoo.graph import GPS
    >>> model = GPS(num_tasks=1, hidden=64, layers=4, heads=4, rwse_steps=16)
    >>> model.predict_smiles(["CCO"])          # untrained: arbitrary numbers
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import GINEConv, global_add_pool, global_mean_pool
from torch_geometric.utils import to_dense_batch

from zoo.attention import attend
from zoo.registry import register_architecture

from .data import GraphBatch
from .features import ATOM_VOCAB, BOND_VOCAB
from .layers import CategoricalEncoder, GraphModelMixin, Head


class MaskedSelfAttention(nn.Module):
    """Multi-head self-attention over a padded batch ``[B, L, C]`` with a key padding mask."""

    def __init__(self, dim: int, heads: int, attn_drop: float = 0.0):
        super().__init__()
        self.heads, self.attn_drop = heads, attn_drop
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, L, C = x.shape
        q, k, v = self.qkv(x).view(B, L, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        out = attend(q, k, v, mask=mask[:, None, None, :], dropout_p=self.attn_drop if self.training else 0.0)
        return self.proj(out.transpose(1, 2).reshape(B, L, C))


class GPSLayer(nn.Module):
    def __init__(self, dim: int, heads: int, drop: float = 0.0, attn_drop: float = 0.0):
        super().__init__()
        mlp = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))
        self.local = GINEConv(mlp, train_eps=True)
        self.attn = MaskedSelfAttention(dim, heads, attn_drop)
        self.norm_local, self.norm_attn, self.norm_ffn = nn.BatchNorm1d(dim), nn.BatchNorm1d(dim), nn.BatchNorm1d(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, 2 * dim), nn.ReLU(), nn.Dropout(drop), nn.Linear(2 * dim, dim))
        self.drop = nn.Dropout(drop)

    def forward(self, h, edge_index, edge_attr, batch, num_graphs):
        h_local = self.norm_local(h + self.drop(self.local(h, edge_index, edge_attr)))
        dense, mask = to_dense_batch(h, batch, batch_size=num_graphs)
        h_attn = self.norm_attn(h + self.drop(self.attn(dense, mask)[mask]))
        h = h_local + h_attn
        return self.norm_ffn(h + self.drop(self.ffn(h)))


class GPS(GraphModelMixin, nn.Module):
    """GPS graph transformer (GINE local + global attention) for graph regression / binary classification.

    Args:
        node_vocab / edge_vocab: cardinalities of the integer node / edge feature columns.
        num_tasks, task, descriptors: as in `Graphormer`.
        hidden, layers, heads, dropout, attn_dropout: layer sizes.
        rwse_steps: random-walk steps of the RWSE (0: none). lap_k: Laplacian eigenvectors (0: none).
        pool: ``"mean"`` or ``"sum"`` readout. max_nodes: largest graph accepted by ``predict_smiles``.

    Example:
        >>> model = GPS(hidden=32, layers=2, heads=4)
        >>> out = model.predict_smiles(["c1ccccc1O"])   # [1, 1]
    """

    def __init__(self, node_vocab: list[int] = tuple(ATOM_VOCAB), edge_vocab: list[int] = tuple(BOND_VOCAB),
                 num_tasks: int = 1, task: str = "regression", descriptors: list[str] = (), hidden: int = 64,
                 layers: int = 4, heads: int = 4, dropout: float = 0.1, attn_dropout: float = 0.1,
                 rwse_steps: int = 16, lap_k: int = 0, pool: str = "mean", max_nodes: int = 512):  # fmt: skip
        super().__init__()
        self._init_common(num_tasks, task, descriptors, max_nodes)
        self.rwse_steps, self.lap_k, self.pool = rwse_steps, lap_k, pool
        self.node_encoder = CategoricalEncoder(list(node_vocab), hidden)
        self.edge_encoder = CategoricalEncoder(list(edge_vocab), hidden)
        self.rwse_encoder = nn.Sequential(nn.BatchNorm1d(rwse_steps), nn.Linear(rwse_steps, hidden)) if rwse_steps else None
        self.lap_encoder = nn.Linear(lap_k, hidden) if lap_k else None
        self.layers = nn.ModuleList(GPSLayer(hidden, heads, dropout, attn_dropout) for _ in range(layers))
        self.head = Head(hidden, len(self.descriptors), num_tasks, dropout)

    def featurizer_options(self) -> dict:
        return {"rwse": self.rwse_steps, "lap": self.lap_k}

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        """Raw outputs ``[B, num_tasks]`` (standardised targets or logits); see ``predict_smiles``."""
        h = self.node_encoder(batch.x)
        if self.rwse_encoder is not None:
            h = h + self.rwse_encoder(batch.rwse)
        if self.lap_encoder is not None:
            lap = batch.lap
            if self.training:  # eigenvector signs are arbitrary
                lap = lap * (torch.randint(0, 2, (1, lap.shape[1]), device=lap.device) * 2 - 1)
            h = h + self.lap_encoder(lap)
        e = self.edge_encoder(batch.edge_attr)
        for layer in self.layers:
            h = layer(h, batch.edge_index, e, batch.batch, batch.num_graphs)
        pool = global_mean_pool if self.pool == "mean" else global_add_pool
        return self.head(pool(h, batch.batch, size=batch.num_graphs), self._globals(batch))


@register_architecture("gps", domain="graph")
def gps(**kwargs) -> GPS:
    return GPS(**kwargs)
