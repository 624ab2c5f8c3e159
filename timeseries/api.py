"""The forecasting user API shared by every model of the domain (`ForecastMixin`).

A model loaded with `zoo.load` carries its data facts in ``model.config`` (seq_len, label_len,
pred_len, features, target, columns, freq, scaler_mean, scaler_std). `forecast` takes history in
ORIGINAL units, standardises it with the training scaler, builds the decoder input (``label_len``
known steps then zeros) and the ``timeF`` marks of past and future timestamps, runs the network
once, and returns the forecast in original units.

Example:
    >>> model = zoo.load("informer-etth1")
    >>> y = model.forecast(values[-96:], timestamps[-96:])      # [1, 96, 7] float32, original units
    >>> future = model.forecast_df(df)                           # DataFrame: date + columns
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from zoo.errors import InputError

from .data import time_features


def _to_numpy(x, what: str) -> np.ndarray:
    if isinstance(x, Tensor):
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} must be numeric (numpy array or tensor), got {type(x).__name__}: {exc}") from None
    return arr


class ForecastMixin:
    """``forecast`` / ``forecast_df`` in original units for models with ``forward(x, x_mark, x_dec, y_mark)``."""

    uses_time_features: bool = True

    # -- config helpers -----------------------------------------------------------------------
    def _cfg(self, name: str, default=None):
        cfg = getattr(self, "config", None)
        if cfg is None:
            return default
        try:
            return getattr(cfg, name)
        except AttributeError:
            return default

    def _scaler(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        mean = self._cfg("scaler_mean")
        std = self._cfg("scaler_std")
        if mean is None or std is None:
            raise InputError("model.config has no scaler statistics (scaler_mean/scaler_std); load it with zoo.load")
        mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
        if self._cfg("features", "M") == "MS":
            cols = list(self._cfg("columns"))
            j = cols.index(self._cfg("target"))
            return mean, std, mean[j : j + 1], std[j : j + 1]
        return mean, std, mean, std

    def future_timestamps(self, past_timestamps) -> np.ndarray:
        """The ``pred_len`` timestamps following the last one, at the model's frequency."""
        last = pd.Timestamp(np.asarray(past_timestamps).reshape(-1)[-1])
        step = pd.tseries.frequencies.to_offset(self._freq_str())
        return pd.date_range(last + step, periods=self.pred_len, freq=step).to_numpy()

    def _freq_str(self) -> str:
        f = str(self._cfg("freq", "h"))
        return "h" if f in ("h", "H") else f

    def _marks(self, ts: np.ndarray) -> np.ndarray:
        """``timeF`` marks ``[B, seq_len + pred_len, n]`` of past timestamps and their future."""
        freq = self._freq_str()
        offset = pd.tseries.frequencies.to_offset(freq)
        if isinstance(offset, pd.offsets.Tick):  # fixed step: vectorised over the batch
            step = pd.Timedelta(offset).to_timedelta64()
            fut = ts[:, -1:] + step * np.arange(1, self.pred_len + 1)[None]
            full = np.concatenate([ts, fut], axis=1)
            flat = time_features(full.reshape(-1), freq)
            return flat.reshape(full.shape[0], full.shape[1], -1)
        return np.stack([time_features(np.concatenate([r, self.future_timestamps(r)]), freq) for r in ts])

    # -- validation ---------------------------------------------------------------------------
    def _check_values(self, past_values) -> np.ndarray:
        arr = _to_numpy(past_values, "past_values")
        if arr.ndim == 2:
            arr = arr[None]
        if arr.ndim != 3:
            raise InputError(f"past_values must be [seq_len, C] or [B, seq_len, C], got shape {tuple(arr.shape)}")
        n_cols = len(self._cfg("columns") or []) or self.enc_in
        if arr.shape[2] != n_cols:
            raise InputError(
                f"past_values has {arr.shape[2]} columns, the model expects {n_cols} "
                f"({', '.join(map(str, self._cfg('columns') or []))}); use `zoo finetune` for other data"
            )
        if arr.shape[1] < self.seq_len:
            raise InputError(f"history too short: the model needs seq_len={self.seq_len} steps, got {arr.shape[1]}")
        arr = arr[:, -self.seq_len :]
        if not np.isfinite(arr).all():
            bad = np.argwhere(~np.isfinite(arr))[0].tolist()
            raise InputError(f"past_values contains NaN or inf (first at [batch, step, column] = {bad}); fill gaps first")
        return arr

    def _check_timestamps(self, past_timestamps, batch: int) -> np.ndarray:
        ts = np.asarray(past_timestamps)
        if ts.ndim == 1:
            ts = ts[None]
        if ts.shape[0] != batch or ts.shape[1] < self.seq_len:
            raise InputError(
                f"past_timestamps must be [{batch}, >={self.seq_len}] matching past_values, got shape {tuple(ts.shape)}"
            )
        ts = ts[:, -self.seq_len :]
        try:
            ts = ts.astype("datetime64[ns]")
        except (TypeError, ValueError) as exc:
            raise InputError(f"past_timestamps must be datetime64 values, got {ts.dtype}: {exc}") from None
        step = pd.Timedelta(pd.tseries.frequencies.to_offset(self._freq_str())).to_timedelta64()
        diffs = np.diff(ts, axis=1)
        if (diffs <= np.timedelta64(0)).any():
            raise InputError("past_timestamps must be strictly increasing")
        if (diffs != step).any():
            got = pd.Timedelta(diffs[diffs != step][0])
            raise InputError(
                f"past_timestamps must be spaced by the model's frequency {self._freq_str()!r} ({pd.Timedelta(step)}), "
                f"found a step of {got}"
            )
        return ts

    # -- the API ------------------------------------------------------------------------------
    @torch.no_grad()
    def forecast(self, past_values, past_timestamps=None, batch_size: int = 32) -> Tensor:
        """Forecast ``pred_len`` steps in original units: ``[B, pred_len, C_out]`` float32.

        ``past_values``: ``[seq_len, C]`` or ``[B, seq_len, C]`` (numpy or torch, original units; a
        longer history is cut to its last ``seq_len`` steps). ``past_timestamps``: matching datetime64
        ``[seq_len]`` or ``[B, seq_len]`` (needed by models with time features).
        """
        arr = self._check_values(past_values)
        b = arr.shape[0]
        mean, std, out_mean, out_std = self._scaler()
        x = torch.from_numpy(((arr - mean) / std).astype(np.float32))
        if past_timestamps is None:
            if self.uses_time_features:
                raise InputError(f"{type(self).__name__} uses time features: pass past_timestamps (datetime64)")
            x_mark = torch.zeros(b, self.seq_len, 1)
            y_mark = torch.zeros(b, self.label_len + self.pred_len, 1)
        else:
            ts = self._check_timestamps(past_timestamps, b)
            marks = torch.from_numpy(self._marks(ts))
            x_mark = marks[:, : self.seq_len]
            y_mark = marks[:, self.seq_len - self.label_len :]
        device = next(self.parameters()).device
        outs = []
        was_training = self.training
        self.eval()
        for i in range(0, b, batch_size):
            xb = x[i : i + batch_size].to(device)
            x_dec = torch.cat([xb[:, -self.label_len :], xb.new_zeros(xb.shape[0], self.pred_len, xb.shape[2])], 1)
            out = self(xb, x_mark[i : i + batch_size].to(device), x_dec, y_mark[i : i + batch_size].to(device))
            outs.append(out.float().cpu())
        self.train(was_training)
        y = torch.cat(outs).double().numpy() * out_std + out_mean
        return torch.from_numpy(y.astype(np.float32))

    def forecast_df(self, df: pd.DataFrame, date_col: str = "date") -> pd.DataFrame:
        """Forecast from the last ``seq_len`` rows of ``df``; returns the future rows with their dates."""
        if date_col not in df.columns:
            raise InputError(f"DataFrame needs a {date_col!r} column, has {list(df.columns)}")
        cols = list(self._cfg("columns") or [])
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise InputError(f"DataFrame lacks the model's columns {missing}; expected {cols}, got {list(df.columns)}")
        dates = pd.to_datetime(df[date_col]).to_numpy()
        y = self.forecast(df[cols].to_numpy(), dates)[0].numpy()
        out_cols = list(self._cfg("out_columns") or cols)
        out = pd.DataFrame(y, columns=out_cols)
        out.insert(0, date_col, self.future_timestamps(dates[-self.seq_len :]))
        return out

