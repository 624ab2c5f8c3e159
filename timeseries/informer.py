"""Informer (Zhou et al., "Informer: Beyond Efficient Transformer for Long Sequence Time-Series
Forecasting", AAAI 2021).

- Embedding: circular-conv token embedding + sinusoidal positions + ``timeF`` temporal embedding.
- Encoder: ProbSparse self-attention (`zoo.attention.probsparse_attention`, factor ``c``), with
  self-attention distilling (Conv1d + BatchNorm + ELU + MaxPool(stride 2)) between layers.
- Decoder: generative-style; fed ``label_len`` known steps followed by zeros, one forward pass;
  masked ProbSparse self-attention (with the original "mix" of heads) and full cross-attention
  (`zoo.attention.attend`).

In eval mode the ProbSparse key sample uses a fixed seed, so forecasts are deterministic.

Example:
    >>> m = Informer(enc_in=7, dec_in=7, c_out=7, seq_len=96, label_len=48, pred_len=96)
    >>> y = m(x_enc, x_mark_enc, x_dec, x_mark_dec)          # [B, 96, 7] (standardised units)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.attention import attend, probsparse_attention
from zoo.registry import register_architecture

from .api import ForecastMixin
from .layers import DataEmbedding, RevIN

EVAL_SAMPLE_SEED = 2021


# ----------------------------------------------------------------------------- blocks
class AttentionLayer(nn.Module):
    """Multi-head projection around ProbSparse (``prob=True``) or full attention.

    ``mix=True`` reproduces the reference decoder's head mixing: the ``[B, H, L, D]`` output is
    read as ``[B, L, H * D]`` without transposing back.
    """

    def __init__(self, d_model: int, n_heads: int, *, prob: bool, causal: bool = False, factor: float = 5.0,
                 dropout: float = 0.0, mix: bool = False):
        super().__init__()
        d_head = d_model // n_heads
        self.n_heads, self.prob, self.causal, self.factor, self.mix = n_heads, prob, causal, factor, mix
        self.attn_dropout = dropout
        self.q_proj = nn.Linear(d_model, d_head * n_heads)
        self.k_proj = nn.Linear(d_model, d_head * n_heads)
        self.v_proj = nn.Linear(d_model, d_head * n_heads)
        self.out_proj = nn.Linear(d_head * n_heads, d_model)

    def forward(self, x: Tensor, kv: Tensor) -> Tensor:
        b, l, _ = x.shape
        s = kv.shape[1]
        h = self.n_heads
        q = self.q_proj(x).view(b, l, h, -1).transpose(1, 2)
        k = self.k_proj(kv).view(b, s, h, -1).transpose(1, 2)
        v = self.v_proj(kv).view(b, s, h, -1).transpose(1, 2)
        p = self.attn_dropout if self.training else 0.0
        if self.prob:
            gen = None if self.training else torch.Generator().manual_seed(EVAL_SAMPLE_SEED)
            # the reference ProbAttention defines but never applies attention dropout: neither do we
            out = probsparse_attention(q, k, v, factor=self.factor, causal=self.causal, generator=gen)
        else:
            out = attend(q, k, v, dropout_p=p, causal=self.causal)
        out = out.reshape(b, l, -1) if self.mix else out.transpose(1, 2).reshape(b, l, -1)
        return self.out_proj(out)


class FeedForward(nn.Module):
    """Position-wise FFN as two kernel-1 convolutions (as in the reference)."""

    def __init__(self, d_model: int, d_ff: int, dropout: float, activation: str = "gelu", bias: bool = True):
        super().__init__()
        self.conv1 = nn.Conv1d(d_model, d_ff, 1, bias=bias)
        self.conv2 = nn.Conv1d(d_ff, d_model, 1, bias=bias)
        self.dropout = nn.Dropout(dropout)
        self.act = F.gelu if activation == "gelu" else F.relu

    def forward(self, x: Tensor) -> Tensor:
        y = self.dropout(self.act(self.conv1(x.transpose(1, 2))))
        return self.dropout(self.conv2(y).transpose(1, 2))


class EncoderLayer(nn.Module):
    def __init__(self, d_model, n_heads, d_ff, factor, dropout, activation):
        super().__init__()
        self.attn = AttentionLayer(d_model, n_heads, prob=True, factor=factor, dropout=dropout)
        self.ff = FeedForward(d_model, d_ff, dropout, activation)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = self.norm1(x + self.dropout(self.attn(x, x)))
        return self.norm2(x + self.ff(x))


class DistilLayer(nn.Module):
    """Self-attention distilling: Conv1d(k=3, circular) -> BatchNorm -> ELU -> MaxPool(3, stride 2)."""

    def __init__(self, d_model: int):
        super().__init__()
        self.conv = nn.Conv1d(d_model, d_model, 3, padding=1, padding_mode="circular")
        self.norm = nn.BatchNorm1d(d_model)
        self.pool = nn.MaxPool1d(3, stride=2, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        y = self.pool(F.elu(self.norm(self.conv(x.transpose(1, 2)))))
        return y.transpose(1, 2)


class DecoderLayer(nn.Module):
    def __init__(self, d_model, n_heads, d_ff, factor, dropout, activation):
        super().__init__()
        self.self_attn = AttentionLayer(d_model, n_heads, prob=True, causal=True, factor=factor, dropout=dropout,
                                        mix=True)
        self.cross_attn = AttentionLayer(d_model, n_heads, prob=False, dropout=dropout)
        self.ff = FeedForward(d_model, d_ff, dropout, activation)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, memory: Tensor) -> Tensor:
        x = self.norm1(x + self.dropout(self.self_attn(x, x)))
        x = self.norm2(x + self.dropout(self.cross_attn(x, memory)))
        return self.norm3(x + self.ff(x))


# ----------------------------------------------------------------------------- model
@register_architecture("informer", domain="timeseries")
class Informer(ForecastMixin, nn.Module):
    """Informer with ProbSparse attention, distilling and a generative decoder.

    Example:
        >>> m = Informer(enc_in=7, dec_in=7, c_out=7, seq_len=96, label_len=48, pred_len=96, d_model=64)
    """

    def __init__(
        self,
        enc_in: int = 7,
        dec_in: int = 7,
        c_out: int = 7,
        seq_len: int = 96,
        label_len: int = 48,
        pred_len: int = 96,
        d_model: int = 512,
        n_heads: int = 8,
        e_layers: int = 2,
        d_layers: int = 1,
        d_ff: int = 2048,
        factor: float = 5.0,
        dropout: float = 0.05,
        activation: str = "gelu",
        distil: bool = True,
        freq: str = "h",
        revin: bool = False,
    ):
        super().__init__()
        self.enc_in, self.c_out = enc_in, c_out
        self.seq_len, self.label_len, self.pred_len = seq_len, label_len, pred_len
        self.enc_embedding = DataEmbedding(enc_in, d_model, freq, dropout)
        self.dec_embedding = DataEmbedding(dec_in, d_model, freq, dropout)
        self.encoder = nn.ModuleList(
            [EncoderLayer(d_model, n_heads, d_ff, factor, dropout, activation) for _ in range(e_layers)]
        )
        self.distil = nn.ModuleList([DistilLayer(d_model) for _ in range(e_layers - 1)] if distil else [])
        self.encoder_norm = nn.LayerNorm(d_model)
        self.decoder = nn.ModuleList(
            [DecoderLayer(d_model, n_heads, d_ff, factor, dropout, activation) for _ in range(d_layers)]
        )
        self.decoder_norm = nn.LayerNorm(d_model)
        self.projection = nn.Linear(d_model, c_out)
        # not part of the paper: reversible instance normalisation, only for the "-revin" variants
        self.revin = RevIN(enc_in) if revin else None
        if revin and c_out != enc_in:
            raise ValueError("revin needs c_out == enc_in (features 'M' or 'S')")

    def encode(self, x_enc: Tensor, x_mark_enc: Tensor) -> Tensor:
        x = self.enc_embedding(x_enc, x_mark_enc)
        for i, layer in enumerate(self.encoder):
            x = layer(x)
            if i < len(self.distil):
                x = self.distil[i](x)
        return self.encoder_norm(x)

    def forward(self, x_enc: Tensor, x_mark_enc: Tensor, x_dec: Tensor, x_mark_dec: Tensor) -> Tensor:
        """Standardised inputs -> ``[B, pred_len, c_out]`` standardised forecast."""
        if self.revin is not None:
            x_enc, stats = self.revin.normalize(x_enc)
            x_dec = torch.cat([x_enc[:, -self.label_len :], torch.zeros_like(x_dec[:, self.label_len :])], 1)
        memory = self.encode(x_enc, x_mark_enc)
        y = self.dec_embedding(x_dec, x_mark_dec)
        for layer in self.decoder:
            y = layer(y, memory)
        y = self.projection(self.decoder_norm(y))[:, -self.pred_len :]
        return self.revin.denormalize(y, stats) if self.revin is not None else y
