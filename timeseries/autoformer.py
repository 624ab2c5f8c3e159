"""Autoformer (Wu et al., "Autoformer: Decomposition Transformers with Auto-Correlation for
Long-Term Series Forecasting", NeurIPS 2021).

- Series decomposition blocks (moving average, kernel 25) inside every layer.
- Auto-Correlation (`zoo.attention.auto_correlation`): FFT lag correlation, top-k (``factor * ln L``)
  time-delay aggregation; lags shared over the batch in training, per sequence at inference (as in
  the reference).
- Decoder: progressive decomposition; the seasonal part is refined while the trend extracted by
  each decomposition is projected and accumulated onto the initial trend.
- Decoder input: seasonal part of the last ``label_len`` steps + zeros, trend part of the last
  ``label_len`` steps + the input mean.

Example:
    >>> m = Autoformer(enc_in=7, dec_in=7, c_out=7, seq_len=96, label_len=48, pred_len=96)
    >>> y = m(x_enc, x_mark_enc, x_dec, x_mark_dec)          # [B, 96, 7]
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from zoo.attention import auto_correlation
from zoo.registry import register_architecture

from .api import ForecastMixin
from .informer import FeedForward
from .layers import DataEmbedding, RevIN, SeriesDecomposition


class SeasonalLayerNorm(nn.Module):
    """LayerNorm followed by removing the time-mean (the reference's ``my_Layernorm``)."""

    def __init__(self, d_model: int):
        super().__init__()
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: Tensor) -> Tensor:
        x = self.norm(x)
        return x - x.mean(dim=1, keepdim=True)


class AutoCorrelationLayer(nn.Module):
    def __init__(self, d_model: int, n_heads: int, factor: float):
        super().__init__()
        d_head = d_model // n_heads
        self.n_heads, self.factor = n_heads, factor
        self.q_proj = nn.Linear(d_model, d_head * n_heads)
        self.k_proj = nn.Linear(d_model, d_head * n_heads)
        self.v_proj = nn.Linear(d_model, d_head * n_heads)
        self.out_proj = nn.Linear(d_head * n_heads, d_model)

    def forward(self, x: Tensor, kv: Tensor) -> Tensor:
        b, l, _ = x.shape
        s, h = kv.shape[1], self.n_heads
        q = self.q_proj(x).view(b, l, h, -1).transpose(1, 2)
        k = self.k_proj(kv).view(b, s, h, -1).transpose(1, 2)
        v = self.v_proj(kv).view(b, s, h, -1).transpose(1, 2)
        out = auto_correlation(q, k, v, factor=self.factor, per_sample=not self.training)
        return self.out_proj(out.transpose(1, 2).reshape(b, l, -1))


class EncoderLayer(nn.Module):
    def __init__(self, d_model, n_heads, d_ff, factor, moving_avg, dropout, activation):
        super().__init__()
        self.attn = AutoCorrelationLayer(d_model, n_heads, factor)
        self.ff = FeedForward(d_model, d_ff, dropout, activation, bias=False)
        self.decomp1 = SeriesDecomposition(moving_avg)
        self.decomp2 = SeriesDecomposition(moving_avg)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        x, _ = self.decomp1(x + self.dropout(self.attn(x, x)))
        x, _ = self.decomp2(x + self.ff(x))
        return x


class DecoderLayer(nn.Module):
    def __init__(self, d_model, n_heads, d_ff, factor, moving_avg, dropout, activation, c_out):
        super().__init__()
        self.self_attn = AutoCorrelationLayer(d_model, n_heads, factor)
        self.cross_attn = AutoCorrelationLayer(d_model, n_heads, factor)
        self.ff = FeedForward(d_model, d_ff, dropout, activation, bias=False)
        self.decomp1 = SeriesDecomposition(moving_avg)
        self.decomp2 = SeriesDecomposition(moving_avg)
        self.decomp3 = SeriesDecomposition(moving_avg)
        self.dropout = nn.Dropout(dropout)
        self.trend_proj = nn.Conv1d(d_model, c_out, 3, padding=1, padding_mode="circular", bias=False)

    def forward(self, x: Tensor, memory: Tensor) -> tuple[Tensor, Tensor]:
        x, t1 = self.decomp1(x + self.dropout(self.self_attn(x, x)))
        x, t2 = self.decomp2(x + self.dropout(self.cross_attn(x, memory)))
        x, t3 = self.decomp3(x + self.ff(x))
        trend = self.trend_proj((t1 + t2 + t3).transpose(1, 2)).transpose(1, 2)
        return x, trend


@register_architecture("autoformer", domain="timeseries")
class Autoformer(ForecastMixin, nn.Module):
    """Autoformer: decomposition transformer with Auto-Correlation.

    Example:
        >>> m = Autoformer(enc_in=7, dec_in=7, c_out=7, seq_len=96, label_len=48, pred_len=96, d_model=64)
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
        factor: float = 1.0,
        moving_avg: int = 25,
        dropout: float = 0.05,
        activation: str = "gelu",
        freq: str = "h",
        revin: bool = False,
    ):
        super().__init__()
        self.enc_in, self.c_out = enc_in, c_out
        self.seq_len, self.label_len, self.pred_len = seq_len, label_len, pred_len
        self.decomp = SeriesDecomposition(moving_avg)
        self.enc_embedding = DataEmbedding(enc_in, d_model, freq, dropout, positional=False)
        self.dec_embedding = DataEmbedding(dec_in, d_model, freq, dropout, positional=False)
        self.encoder = nn.ModuleList(
            [EncoderLayer(d_model, n_heads, d_ff, factor, moving_avg, dropout, activation) for _ in range(e_layers)]
        )
        self.encoder_norm = SeasonalLayerNorm(d_model)
        self.decoder = nn.ModuleList(
            [DecoderLayer(d_model, n_heads, d_ff, factor, moving_avg, dropout, activation, c_out)
             for _ in range(d_layers)]
        )
        self.decoder_norm = SeasonalLayerNorm(d_model)
        self.projection = nn.Linear(d_model, c_out)
        # not part of the paper: reversible instance normalisation, only for the "-revin" variants
        self.revin = RevIN(enc_in) if revin else None
        if revin and c_out != enc_in:
            raise ValueError("revin needs c_out == enc_in (features 'M' or 'S')")

    def forward(self, x_enc: Tensor, x_mark_enc: Tensor, x_dec: Tensor, x_mark_dec: Tensor) -> Tensor:
        """Standardised inputs -> ``[B, pred_len, c_out]``; ``x_dec`` values are not used (only its marks)."""
        if self.revin is not None:
            x_enc, stats = self.revin.normalize(x_enc)
            return self.revin.denormalize(self._forward(x_enc, x_mark_enc, x_mark_dec), stats)
        return self._forward(x_enc, x_mark_enc, x_mark_dec)

    def _forward(self, x_enc: Tensor, x_mark_enc: Tensor, x_mark_dec: Tensor) -> Tensor:
        b = x_enc.shape[0]
        mean = x_enc.mean(dim=1, keepdim=True).expand(b, self.pred_len, x_enc.shape[2])
        seasonal, trend = self.decomp(x_enc)
        trend = torch.cat([trend[:, -self.label_len :], mean], dim=1)
        seasonal = torch.cat([seasonal[:, -self.label_len :], x_enc.new_zeros(b, self.pred_len, x_enc.shape[2])], 1)
        memory = self.encoder_norm(self._encode(x_enc, x_mark_enc))
        y = self.dec_embedding(seasonal, x_mark_dec)
        for layer in self.decoder:
            y, residual_trend = layer(y, memory)
            trend = trend[..., -self.c_out :] + residual_trend
        y = self.projection(self.decoder_norm(y))
        return (trend + y)[:, -self.pred_len :]

    def _encode(self, x_enc: Tensor, x_mark_enc: Tensor) -> Tensor:
        x = self.enc_embedding(x_enc, x_mark_enc)
        for layer in self.encoder:
            x = layer(x)
        return x
