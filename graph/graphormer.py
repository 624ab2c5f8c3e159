"""Graphormer (Ying et al., "Do Transformers Really Perform Bad for Graph Representation?", NeurIPS 2021).

A pre-LayerNorm transformer over the atoms of a graph plus one graph token, where structure enters
as encodings rather than message passing:

* centrality encoding: a learned embedding of each node's degree added to its features;
* spatial encoding: a learned per-head attention bias indexed by the shortest-path distance
  (unreachable pairs share one extra index);
* edge encoding: for each pair, the mean over the first ``multi_hop_max_dist`` hops of its shortest
  path of ``edge_embedding(e_n) @ W_n`` (one ``heads × heads`` matrix per hop), added to the bias;
* a graph token that every node sees at a learned per-head "virtual distance"; its final state is
  the graph's representation.

Distances and paths are computed in numpy (`zoo.graph.features.shortest_paths`), the attention goes
through `zoo.attention.attend` with the bias and a key padding mask.

Example:
    >>> from zoo.graph import Graphormer
    >>> model = Graphormer(num_tasks=1, hidden=64, layers=4, heads=8)
    >>> model.set_normalization(targets=train_y)
    >>> model.predict_smiles(["CCO"])          # untrained: arbitrary numbers
"""

from __future__ import annotations

import torch
from torch import nn

from zoo.attention import attend
from zoo.registry import register_architecture

from .data import GraphBatch
from .features import ATOM_VOCAB, BOND_VOCAB
from .layers import CategoricalEncoder, GraphModelMixin, Head


class BiasedSelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int, attn_drop: float = 0.0):
        super().__init__()
        self.heads, self.attn_drop = heads, attn_drop
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, bias: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, L, C = x.shape
        q, k, v = self.qkv(x).view(B, L, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        out = attend(q, k, v, bias=bias, mask=mask, dropout_p=self.attn_drop if self.training else 0.0)
        return self.proj(out.transpose(1, 2).reshape(B, L, C))


class GraphormerBlock(nn.Module):
    def __init__(self, dim: int, heads: int, ffn_ratio: float = 2.0, drop: float = 0.0, attn_drop: float = 0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = BiasedSelfAttention(dim, heads, attn_drop)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * ffn_ratio)
        self.ffn = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(drop), nn.Linear(hidden, dim))
        self.drop = nn.Dropout(drop)

    def forward(self, x, bias, mask):
        x = x + self.drop(self.attn(self.norm1(x), bias, mask))
        return x + self.drop(self.ffn(self.norm2(x)))


class Graphormer(GraphModelMixin, nn.Module):
    """Graphormer for graph-level regression or binary classification.

    Args:
        node_vocab / edge_vocab: cardinalities of the integer node / edge feature columns
            (default: the OGB-style atom and bond features of `zoo.graph.features`).
        num_tasks: outputs; task: ``"regression"`` (outputs in target units via stored mean/std) or
            ``"classification"`` (probabilities). descriptors: RDKit descriptors read by the head.
        hidden, layers, heads, ffn_ratio, dropout, attn_dropout: transformer size.
        max_degree: degrees above it share its embedding. max_spd: distances above it share one bias.
        multi_hop_max_dist: hops of the shortest path used by the edge encoding.
        max_nodes: largest graph accepted by ``predict_smiles``.

    Example:
        >>> model = Graphormer(hidden=32, layers=2, heads=4)
        >>> out = model.predict_smiles(["c1ccccc1O"])   # [1, 1]
    """

    def __init__(self, node_vocab: list[int] = tuple(ATOM_VOCAB), edge_vocab: list[int] = tuple(BOND_VOCAB),
                 num_tasks: int = 1, task: str = "regression", descriptors: list[str] = (), hidden: int = 64,
                 layers: int = 4, heads: int = 8, ffn_ratio: float = 2.0, dropout: float = 0.1,
                 attn_dropout: float = 0.1, max_degree: int = 16, max_spd: int = 16, multi_hop_max_dist: int = 5,
                 max_nodes: int = 256):  # fmt: skip
        super().__init__()
        self._init_common(num_tasks, task, descriptors, max_nodes)
        self.heads, self.max_degree, self.max_spd, self.hops = heads, max_degree, max_spd, multi_hop_max_dist
        self.node_encoder = CategoricalEncoder(list(node_vocab), hidden)
        self.degree_encoder = nn.Embedding(max_degree + 1, hidden)
        self.graph_token = nn.Parameter(torch.zeros(1, 1, hidden))
        self.spatial_bias = nn.Embedding(max_spd + 2, heads)  # 0..max_spd, then "unreachable"
        self.virtual_distance = nn.Parameter(torch.zeros(heads))
        self.edge_encoder = CategoricalEncoder(list(edge_vocab), heads)
        self.hop_weight = nn.Parameter(torch.randn(multi_hop_max_dist, heads, heads) / heads**0.5)
        self.input_drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(GraphormerBlock(hidden, heads, ffn_ratio, dropout, attn_dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(hidden)
        self.head = Head(hidden, len(self.descriptors), num_tasks, dropout)
        nn.init.normal_(self.graph_token, std=0.02)

    def featurizer_options(self) -> dict:
        return {"spd_hops": self.hops}

    def attention_bias(self, batch: GraphBatch) -> torch.Tensor:
        """Spatial + edge encoding bias ``[B, heads, L+1, L+1]`` (index 0 is the graph token)."""
        spd = batch.spd
        B, L, _ = spd.shape
        idx = torch.where(spd < 0, self.max_spd + 1, spd.clamp(max=self.max_spd))
        bias = self.spatial_bias(idx)  # [B, L, L, H]
        edge = self.edge_encoder(batch.edge_attr)  # [E, H]
        edge = torch.cat([edge, edge.new_zeros(1, self.heads)])  # row E: "no edge"
        path = torch.where(batch.path < 0, edge.shape[0] - 1, batch.path)
        along = torch.einsum("blmdh,dhk->blmk", edge[path], self.hop_weight)
        bias = bias + along / spd.clamp(min=1, max=self.hops).unsqueeze(-1).to(along.dtype)
        full = self.virtual_distance.view(1, -1, 1, 1).expand(B, -1, L + 1, L + 1).clone()
        full[:, :, 1:, 1:] = bias.permute(0, 3, 1, 2)
        return full

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        """Raw outputs ``[B, num_tasks]`` (standardised targets or logits); see ``predict_smiles``."""
        mask = batch.node_mask
        B, L = mask.shape
        degree = batch.degree[mask].clamp(max=self.max_degree)
        h_nodes = self.node_encoder(batch.x) + self.degree_encoder(degree)
        h = h_nodes.new_zeros(B, L, h_nodes.shape[-1])
        h[mask] = h_nodes
        h = torch.cat([self.graph_token.expand(B, -1, -1), h], dim=1)
        keep = torch.cat([mask.new_ones(B, 1), mask], dim=1)[:, None, None, :]  # [B, 1, 1, L+1]
        bias = self.attention_bias(batch)
        h = self.input_drop(h)
        for blk in self.blocks:
            h = blk(h, bias, keep)
        return self.head(self.norm(h[:, 0]), self._globals(batch))


@register_architecture("graphormer", domain="graph")
def graphormer(**kwargs) -> Graphormer:
    return Graphormer(**kwargs)
