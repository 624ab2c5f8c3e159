"""LTSF-Linear baselines (Zeng et al., "Are Transformers Effective for Time Series Forecasting?",
AAAI 2023): DLinear and NLinear.

- DLinear: moving-average decomposition (kernel 25); one linear map ``seq_len -> pred_len`` over
  time for the seasonal part and one for the trend, shared across channels (``individual=False``)
  or one per channel.
- NLinear: subtract the last input value, one linear map over time, add the value back.

Neither uses time features; ``forecast`` accepts ``past_timestamps=None``.

Example:
    >>> m = DLinear(seq_len=96, pred_len=96, enc_in=7)
    >>> y = m(x_enc)                                          # [B, 96, 7]
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from zoo.registry import register_architecture

from .api import ForecastMixin
from .layers import SeriesDecomposition


class _LinearForecaster(ForecastMixin, nn.Module):
    uses_time_features = False

    def __init__(self, seq_len: int, pred_len: int, enc_in: int, individual: bool, label_len: int, freq: str):
        super().__init__()
        self.seq_len, self.pred_len, self.enc_in, self.c_out = seq_len, pred_len, enc_in, enc_in
        self.label_len, self.individual = label_len, individual

    def _time_linear(self) -> nn.Module:
        if self.individual:
            return nn.ModuleList([nn.Linear(self.seq_len, self.pred_len) for _ in range(self.enc_in)])
        return nn.Linear(self.seq_len, self.pred_len)

    def _over_time(self, layer: nn.Module, x: Tensor) -> Tensor:  # noqa: D401 - [B, C, L] -> [B, C, H]
        if self.individual:
            return torch.stack([lin(x[:, i]) for i, lin in enumerate(layer)], dim=1)
        return layer(x)


@register_architecture("dlinear", domain="timeseries")
class DLinear(_LinearForecaster):
    """Decomposition-Linear: seasonal and trend each mapped over time by a linear layer.

    Example:
        >>> m = DLinear(seq_len=96, pred_len=192, enc_in=7)
    """

    def __init__(self, seq_len: int = 96, pred_len: int = 96, enc_in: int = 7, individual: bool = False,
                 moving_avg: int = 25, label_len: int = 48, freq: str = "h"):
        super().__init__(seq_len, pred_len, enc_in, individual, label_len, freq)
        self.decomp = SeriesDecomposition(moving_avg)
        self.linear_seasonal = self._time_linear()
        self.linear_trend = self._time_linear()

    def forward(self, x_enc: Tensor, x_mark_enc: Tensor | None = None, x_dec: Tensor | None = None,
                x_mark_dec: Tensor | None = None) -> Tensor:
        seasonal, trend = self.decomp(x_enc)
        out = self._over_time(self.linear_seasonal, seasonal.transpose(1, 2))
        out = out + self._over_time(self.linear_trend, trend.transpose(1, 2))
        return out.transpose(1, 2)


@register_architecture("nlinear", domain="timeseries")
class NLinear(_LinearForecaster):
    """Normalised-Linear: last-value subtraction around one linear layer over time.

    Example:
        >>> m = NLinear(seq_len=96, pred_len=96, enc_in=7)
    """

    def __init__(self, seq_len: int = 96, pred_len: int = 96, enc_in: int = 7, individual: bool = False,
                 label_len: int = 48, freq: str = "h"):
        super().__init__(seq_len, pred_len, enc_in, individual, label_len, freq)
        self.linear = self._time_linear()

    def forward(self, x_enc: Tensor, x_mark_enc: Tensor | None = None, x_dec: Tensor | None = None,
                x_mark_dec: Tensor | None = None) -> Tensor:
        last = x_enc[:, -1:].detach()
        out = self._over_time(self.linear, (x_enc - last).transpose(1, 2)).transpose(1, 2)
        return out + last
