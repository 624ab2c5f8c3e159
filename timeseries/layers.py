"""Building blocks shared by the forecasting transformers: embeddings and series decomposition.

- `TokenEmbedding`: circular Conv1d (kernel 3, no bias) from C channels to d_model (Informer).
- `PositionalEmbedding`: fixed sinusoidal table.
- `TimeFeatureEmbedding`: ``timeF`` features -> d_model by a bias-free linear map.
- `DataEmbedding`: token + positional + temporal (Informer); ``positional=False`` is Autoformer's.
- `SeriesDecomposition`: moving average with replicate padding -> (seasonal, trend).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .data import N_TIME_FEATURES, freq_code


class TokenEmbedding(nn.Module):
    def __init__(self, c_in: int, d_model: int):
        super().__init__()
        self.conv = nn.Conv1d(c_in, d_model, kernel_size=3, padding=1, padding_mode="circular", bias=False)
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_in", nonlinearity="leaky_relu")

    def forward(self, x: Tensor) -> Tensor:  # [B, L, C] -> [B, L, d]
        return self.conv(x.transpose(1, 2)).transpose(1, 2)


class PositionalEmbedding(nn.Module):
    def __init__(self, d_model: int, max_len: int = 5000):
        super().__init__()
        pos = torch.arange(max_len).float().unsqueeze(1)
        div = torch.exp(torch.arange(0, d_model, 2).float() * -(math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)[:, : d_model // 2]
        self.register_buffer("pe", pe.unsqueeze(0), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.pe[:, : x.shape[1]]


class TimeFeatureEmbedding(nn.Module):
    def __init__(self, d_model: int, freq: str = "h"):
        super().__init__()
        self.proj = nn.Linear(N_TIME_FEATURES[freq_code(freq)], d_model, bias=False)

    def forward(self, x_mark: Tensor) -> Tensor:
        return self.proj(x_mark)


class DataEmbedding(nn.Module):
    """Value (conv) + [positional] + temporal (timeF) embedding, then dropout."""

    def __init__(self, c_in: int, d_model: int, freq: str = "h", dropout: float = 0.05, positional: bool = True):
        super().__init__()
        self.value = TokenEmbedding(c_in, d_model)
        self.position = PositionalEmbedding(d_model) if positional else None
        self.temporal = TimeFeatureEmbedding(d_model, freq)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, x_mark: Tensor) -> Tensor:
        out = self.value(x) + self.temporal(x_mark)
        if self.position is not None:
            out = out + self.position(x)
        return self.dropout(out)


class MovingAverage(nn.Module):
    """Moving average over time with the ends replicated so the length is kept (odd kernel)."""

    def __init__(self, kernel_size: int):
        super().__init__()
        self.kernel_size = kernel_size
        self.pool = nn.AvgPool1d(kernel_size, stride=1)

    def forward(self, x: Tensor) -> Tensor:  # [B, L, C]
        pad = (self.kernel_size - 1) // 2
        front = x[:, :1].expand(-1, pad, -1)
        end = x[:, -1:].expand(-1, pad, -1)
        x = torch.cat([front, x, end], dim=1)
        return self.pool(x.transpose(1, 2)).transpose(1, 2)


class SeriesDecomposition(nn.Module):
    """``x -> (x - moving_avg(x), moving_avg(x))`` = (seasonal, trend)."""

    def __init__(self, kernel_size: int = 25):
        super().__init__()
        self.moving_avg = MovingAverage(kernel_size)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        trend = self.moving_avg(x)
        return x - trend, trend


class RevIN(nn.Module):
    """Reversible instance normalisation (Kim et al., ICLR 2022): per-window, per-channel standardisation
    of the input with a learnable affine map, undone on the output. Used only by the "-revin" variants."""

    def __init__(self, num_features: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))

    def normalize(self, x: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        mean = x.mean(dim=1, keepdim=True).detach()
        std = torch.sqrt(x.var(dim=1, keepdim=True, unbiased=False) + self.eps).detach()
        return (x - mean) / std * self.weight + self.bias, (mean, std)

    def apply_stats(self, x: Tensor, stats: tuple[Tensor, Tensor]) -> Tensor:
        mean, std = stats
        return (x - mean) / std * self.weight + self.bias

    def denormalize(self, y: Tensor, stats: tuple[Tensor, Tensor]) -> Tensor:
        mean, std = stats
        return (y - self.bias) / (self.weight + self.eps * self.eps) * std + mean
