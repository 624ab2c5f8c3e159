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

from .data import F32_MAX, check_numeric, parse_dates, time_features


def _to_numpy(x, what: str) -> np.ndarray:
    """Real numbers as float64; complex, boolean, text and ragged inputs raise `InputError`."""
    if isinstance(x, Tensor):
        if x.is_complex():
            raise InputError(f"{what} must hold real numbers, got a complex tensor ({x.dtype}); pass x.real or split "
                             "real and imaginary parts into columns")
        x = x.detach().cpu()
        x = (x.float() if x.dtype == torch.bfloat16 else x).numpy()
    elif isinstance(x, (pd.DataFrame, pd.Series)):
        x = x.to_numpy()
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:  # ragged nested lists
        raise InputError(f"{what} must be a rectangular numeric array, got {type(x).__name__}: {exc}") from None
    if np.iscomplexobj(arr):
        raise InputError(f"{what} must hold real numbers, got complex values ({arr.dtype}); pass np.real(x) or split "
                         "real and imaginary parts into columns")
    if arr.dtype.kind == "b":
        raise InputError(f"{what} must hold real numbers, got booleans ({arr.dtype})")
    if arr.dtype.kind in "iuf":
        return arr.astype(np.float64)
    if arr.dtype.kind == "O":
        for v in arr.reshape(-1):
            if isinstance(v, bool | np.bool_) or not isinstance(v, int | float | np.integer | np.floating):
                raise InputError(f"{what} must hold real numbers, got {type(v).__name__} values such as {v!r}")
        return arr.astype(np.float64)
    sample = repr(arr.reshape(-1)[0]) if arr.size else "none"
    raise InputError(f"{what} must hold real numbers, got {arr.dtype} values (e.g. {sample})")


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
        mean, std = self._check_scaler(mean, std)
        if self._cfg("features", "M") == "MS":
            cols = list(self._cfg("columns"))
            j = cols.index(self._cfg("target"))
            return mean, std, mean[j : j + 1], std[j : j + 1]
        return mean, std, mean, std

    def _check_scaler(self, mean, std) -> tuple[np.ndarray, np.ndarray]:
        """The scaler as float64 arrays: one finite mean and one positive, finite std per column."""
        cols = list(self._cfg("columns") or [])
        try:
            mean, std = np.asarray(mean, dtype=np.float64).reshape(-1), np.asarray(std, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise InputError(f"model.config scaler_mean/scaler_std must be lists of numbers: {exc}") from None
        n = len(cols) or self.enc_in
        if len(mean) != n or len(std) != n:
            raise InputError(f"model.config has {len(mean)} scaler_mean and {len(std)} scaler_std values, expected one "
                             f"per column ({n})")
        bad = np.flatnonzero(~np.isfinite(std) | (std <= 0) | ~np.isfinite(mean))
        if len(bad):
            j = int(bad[0])
            name = cols[j] if cols else j
            raise InputError(
                f"model.config scaler of column {name!r}: expected a finite mean and a positive standard deviation, "
                f"got mean {mean[j]} and std {std[j]} (a constant column is stored with std 1.0)"
            )
        return mean, std

    def init_preprocessing(self) -> None:
        """Called by ``zoo.build``/``zoo.load``: a scaler that would produce NaN or inf is refused at load."""
        if self._cfg("scaler_mean") is not None and self._cfg("scaler_std") is not None:
            self._check_scaler(self._cfg("scaler_mean"), self._cfg("scaler_std"))

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
        n_cols = len(self._cfg("columns") or []) or self.enc_in
        if arr.ndim != 3:
            raise InputError(f"past_values must be [seq_len, C] or [batch, seq_len, C] with C={n_cols}, got "
                             f"{arr.ndim} dimension(s), shape {tuple(arr.shape)}")
        if arr.shape[0] == 0:
            raise InputError(f"past_values is an empty batch: expected [batch >= 1, {self.seq_len}, {n_cols}], "
                             f"got shape {tuple(arr.shape)}")
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
        big = np.abs(arr) > F32_MAX
        if big.any():
            bad = np.argwhere(big)[0].tolist()
            raise InputError(f"past_values must fit in float32 (|x| <= {F32_MAX:.3g}), got {arr[tuple(bad)]:.3g} at "
                             f"[batch, step, column] = {bad}")
        return arr

    def _check_timestamps(self, past_timestamps, batch: int) -> tuple[np.ndarray, object]:
        """``([batch, seq_len] datetime64[ns] wall-clock times, time zone or None)``."""
        ts, zone = parse_dates(past_timestamps, "past_timestamps")
        if ts.ndim == 1:
            ts = ts[None]
        if ts.ndim != 2 or ts.shape[0] != batch or ts.shape[1] < self.seq_len:
            raise InputError(
                f"past_timestamps must be [{batch}, >={self.seq_len}] matching past_values, got shape {tuple(ts.shape)}"
            )
        ts = ts[:, -self.seq_len :]
        step = pd.Timedelta(pd.tseries.frequencies.to_offset(self._freq_str())).to_timedelta64()
        diffs = np.diff(ts, axis=1)
        if (diffs <= np.timedelta64(0)).any():
            raise InputError("past_timestamps must be strictly increasing")
        if (diffs != step).any():
            got = pd.Timedelta(diffs[diffs != step][0])
            dst = (f" (local wall-clock times in {zone}: a daylight-saving change inside the window shows as such a "
                   "step; pass times in a zone without DST)") if zone is not None else ""
            raise InputError(
                f"past_timestamps must be spaced by the model's frequency {self._freq_str()!r} ({pd.Timedelta(step)}), "
                f"found a step of {got}{dst}"
            )
        return ts, zone

    # -- the API ------------------------------------------------------------------------------
    @torch.no_grad()
    def forecast(self, past_values, past_timestamps=None, batch_size: int = 32) -> Tensor:
        """Forecast ``pred_len`` steps in original units: ``[B, pred_len, C_out]`` float32.

        ``past_values``: ``[seq_len, C]`` or ``[B, seq_len, C]`` real numbers (numpy, torch or a
        DataFrame; original units; a longer history is cut to its last ``seq_len`` steps).
        ``past_timestamps``: matching ``[seq_len]`` or ``[B, seq_len]`` datetime64 values, pandas
        timestamps or date strings (needed by models with time features); time-zone-aware times are
        read as local wall-clock times. Bad input raises `zoo.errors.InputError`.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or batch_size < 1:
            raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
        arr = self._check_values(past_values)
        b = arr.shape[0]
        mean, std, out_mean, out_std = self._scaler()
        scaled = (arr - mean) / std
        if (np.abs(scaled) > F32_MAX).any():
            j = int(np.argwhere(np.abs(scaled) > F32_MAX)[0][2])
            raise InputError(f"past_values column {j} standardised with the model's scaler (std {std[j]:.3g}) exceeds "
                             f"float32; got values up to {np.abs(arr[..., j]).max():.3g}")
        x = torch.from_numpy(scaled.astype(np.float32))
        if past_timestamps is None:
            if self.uses_time_features:
                raise InputError(f"{type(self).__name__} uses time features: pass past_timestamps (datetime64)")
            x_mark = torch.zeros(b, self.seq_len, 1)
            y_mark = torch.zeros(b, self.label_len + self.pred_len, 1)
        else:
            ts, _ = self._check_timestamps(past_timestamps, b)
            marks = torch.from_numpy(self._marks(ts))
            x_mark = marks[:, : self.seq_len]
            y_mark = marks[:, self.seq_len - self.label_len :]
        device = next(self.parameters()).device
        outs = []
        was_training = self.training
        self.eval()
        try:
            for i in range(0, b, int(batch_size)):
                xb = x[i : i + batch_size].to(device)
                x_dec = torch.cat([xb[:, -self.label_len :], xb.new_zeros(xb.shape[0], self.pred_len, xb.shape[2])], 1)
                out = self(xb, x_mark[i : i + batch_size].to(device), x_dec, y_mark[i : i + batch_size].to(device))
                outs.append(out.float().cpu())
        finally:
            self.train(was_training)
        y = torch.cat(outs).double().numpy() * out_std + out_mean
        if not np.isfinite(y.astype(np.float32)).all():
            raise InputError(
                f"the forecast is not finite in float32: the history's values (up to {np.abs(arr).max():.3g}) are far "
                f"outside the range the model was trained on (scaler mean {np.round(mean, 3).tolist()}, std "
                f"{np.round(std, 3).tolist()}); check the units"
            )
        return torch.from_numpy(y.astype(np.float32))

    def forecast_df(self, df: pd.DataFrame, date_col: str = "date") -> pd.DataFrame:
        """Forecast from the last ``seq_len`` rows of ``df``; returns the future rows with their dates.

        ``df`` needs ``date_col`` (dates or date strings) and the model's numeric columns; only the last
        ``seq_len`` rows are read. Time-zone-aware dates are used as local wall-clock times and the
        returned dates carry the same zone.
        """
        if not isinstance(df, pd.DataFrame):
            raise InputError(f"forecast_df expects a pandas DataFrame, got {type(df).__name__}")
        if date_col not in df.columns:
            raise InputError(f"DataFrame needs a {date_col!r} column, has {list(df.columns)}")
        cols = list(self._cfg("columns") or [])
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise InputError(f"DataFrame lacks the model's columns {missing}; expected {cols}, got {list(df.columns)}")
        if len(df) < self.seq_len:
            raise InputError(f"history too short: the model needs seq_len={self.seq_len} rows, got {len(df)}")
        tail = df.iloc[-self.seq_len :]
        values = check_numeric(tail, cols, "DataFrame")
        dates, zone = parse_dates(tail[date_col], f"DataFrame column {date_col!r}")
        y = self.forecast(values, dates)[0].numpy()
        out_cols = list(self._cfg("out_columns") or cols)
        out = pd.DataFrame(y, columns=out_cols)
        future = pd.DatetimeIndex(self.future_timestamps(dates))
        if zone is not None:
            future = future.tz_localize(zone, ambiguous=np.ones(len(future), dtype=bool), nonexistent="shift_forward")
        out.insert(0, date_col, future)
        return out
