"""Long-horizon forecasting data: the standard LTSF protocol (Informer / Autoformer / LTSF-Linear).

- ETTh1/ETTh2: train rows [0, 8640), val [8640 - seq_len, 11520), test [11520 - seq_len, 14400);
  ETTm1/ETTm2: the same borders x 4. Any other CSV (a ``date`` column + numeric columns): 70/10/20
  chronological, val/test starting ``seq_len`` rows early, target column moved last.
- StandardScaler statistics (population std) from the training rows only.
- features ``M`` (all in, all out), ``S`` (target in, target out), ``MS`` (all in, target out).
- ``timeF`` time features in [-0.5, 0.5]; every window counted (no drop_last on val/test).

Files come from an explicit path, ``$ZOO_DATA_DIR`` (``<dir>/timeseries/<name>.csv`` or
``<dir>/<name>.csv``) or, for ETT and when online, a download from zhouhaoyi/ETDataset checked
against a pinned sha256.

Example:
    >>> dm = ForecastDataModule("ETTh1", seq_len=96, label_len=48, pred_len=96, features="M")
    >>> dm.setup()
    >>> x, y, x_mark, y_mark = dm.test_set[0]
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from zoo.errors import InputError, WeightsIntegrityError

ETT_URL = "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/{name}.csv"
ETT_SHA256 = {
    "ETTh1": "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066",
    "ETTh2": "a3dc2c597b9218c7ce1cd55eb77b283fd459a1d09d753063f944967dd6b9218b",
    "ETTm1": "6ce1759b1a18e3328421d5d75fadcb316c449fcd7cec32820c8dafda71986c9e",
    "ETTm2": "db973ca252c6410a30d0469b13d696cf919648d0f3fd588c60f03fdbdbadd1fd",
}
DATASET_FREQ = {"ETTh1": "h", "ETTh2": "h", "ETTm1": "15min", "ETTm2": "15min"}
DATASET_LICENSE = {name: "cc-by-nd-4.0" for name in ETT_SHA256}


# ----------------------------------------------------------------------------- time features
def freq_code(freq: str) -> str:
    """Time-feature family of a pandas-style frequency: ``15min`` -> ``t``, ``1h``/``H`` -> ``h``."""
    f = str(freq).strip()
    offset = pd.tseries.frequencies.to_offset(f if f not in {"t", "T"} else "min")
    name = type(offset).__name__
    return {"Minute": "t", "Hour": "h", "Second": "s", "Day": "d", "BusinessDay": "b", "Week": "w",
            "MonthEnd": "m", "MonthBegin": "m", "YearEnd": "a", "YearBegin": "a"}.get(name, "h")


N_TIME_FEATURES = {"h": 4, "t": 5, "s": 6, "m": 1, "a": 1, "w": 2, "d": 3, "b": 3}


def time_features(dates, freq: str = "h") -> np.ndarray:
    """``timeF`` encoding ``[L, n]`` of timestamps, each feature scaled to [-0.5, 0.5].

    ``h``: hour, day of week, day of month, day of year; ``t``: minute first; ``s``: second first;
    ``d``/``b``: the last three; ``w``: day of month, week of year; ``m``/``a``: month of year.
    """
    idx = pd.DatetimeIndex(dates)
    code = freq_code(freq)
    sec = idx.second / 59.0 - 0.5
    minute = idx.minute / 59.0 - 0.5
    hour = idx.hour / 23.0 - 0.5
    dow = idx.dayofweek / 6.0 - 0.5
    dom = (idx.day - 1) / 30.0 - 0.5
    doy = (idx.dayofyear - 1) / 365.0 - 0.5
    woy = (idx.isocalendar().week.to_numpy(dtype=np.float64) - 1) / 52.0 - 0.5
    moy = (idx.month - 1) / 11.0 - 0.5
    feats = {
        "s": [sec, minute, hour, dow, dom, doy],
        "t": [minute, hour, dow, dom, doy],
        "h": [hour, dow, dom, doy],
        "d": [dow, dom, doy],
        "b": [dow, dom, doy],
        "w": [dom, woy],
        "m": [moy],
        "a": [moy],
    }[code]
    return np.stack([np.asarray(f, dtype=np.float64) for f in feats], axis=1).astype(np.float32)


# ----------------------------------------------------------------------------- files
def data_dir() -> Path | None:
    d = os.environ.get("ZOO_DATA_DIR")
    return Path(d) if d else None


def resolve_csv(data: str | os.PathLike, data_dir_override: str | os.PathLike | None = None) -> Path:
    """Find a data set: an existing path, ``<data dir>/timeseries/<name>.csv``, or a verified download."""
    p = Path(data)
    if p.suffix == ".csv" and p.is_file():
        return p
    name = p.stem if p.suffix == ".csv" else str(data)
    tried = []
    for base in [Path(data_dir_override)] if data_dir_override else ([data_dir()] if data_dir() else []):
        for cand in (base / "timeseries" / f"{name}.csv", base / f"{name}.csv"):
            if cand.is_file():
                return cand
            tried.append(str(cand))
    if name in ETT_SHA256:
        return download_ett(name, tried)
    raise InputError(
        f"data set {data!r} not found (tried: {', '.join(tried) or 'no data dir set'}); give a CSV path, "
        "--data-dir DIR or set ZOO_DATA_DIR"
    )


def download_ett(name: str, tried: list[str] | None = None) -> Path:
    """``$ZOO_CACHE/data/<name>.csv``, downloaded from zhouhaoyi/ETDataset if absent (sha256-pinned)."""
    from zoo.weights import cache_dir

    target = cache_dir() / "data" / f"{name}.csv"
    if target.is_file():
        verify_csv(target, name)
        return target
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("ZOO_OFFLINE") == "1":
        raise InputError(
            f"{name}.csv not found (tried: {', '.join(tried or []) or 'no data dir'}, {target}) and downloads are "
            f"off (offline). Set ZOO_DATA_DIR to a folder with timeseries/{name}.csv or go online."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".csv.part")
    torch.hub.download_url_to_file(ETT_URL.format(name=name), str(tmp), progress=False)
    verify_csv(tmp, name)
    os.replace(tmp, target)
    return target


def verify_csv(path: Path, name: str) -> None:
    """Check a file against the pinned sha256 of ``name`` (ETT only)."""
    from zoo.weights import sha256_file

    expected = ETT_SHA256.get(name)
    if expected and sha256_file(path) != expected:
        raise WeightsIntegrityError(
            f"{path}: sha256 {sha256_file(path)} differs from the pinned {expected} of {name}; delete it and download again"
        )


# ----------------------------------------------------------------------------- protocol
@dataclass
class Split:
    """Rows and scaler of one split (arrays already standardised)."""

    data_x: np.ndarray
    data_y: np.ndarray
    stamp: np.ndarray
    dates: np.ndarray


def borders(name: str, n_rows: int, seq_len: int) -> tuple[list[int], list[int]]:
    """``(starts, ends)`` of train/val/test rows under the standard protocol."""
    if name.startswith("ETTh") or name.startswith("ETTm"):
        m = 4 if name.startswith("ETTm") else 1
        month = 30 * 24 * m
        b1 = [0, 12 * month - seq_len, 16 * month - seq_len]
        b2 = [12 * month, 16 * month, 20 * month]
        return b1, b2
    n_train = int(n_rows * 0.7)
    n_test = int(n_rows * 0.2)
    n_val = n_rows - n_train - n_test
    return [0, n_train - seq_len, n_rows - n_test - seq_len], [n_train, n_train + n_val, n_rows]


def read_csv(path: str | os.PathLike, what: str = "CSV") -> pd.DataFrame:
    """``pd.read_csv`` with an `InputError` naming the file when it is missing, empty or not a CSV."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"expected an existing {what} file, got {str(path)!r} (not found)")
    try:
        df = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise InputError(f"expected a {what} file with a header row and data rows, got an empty file {str(path)!r}") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"expected a {what} file (comma-separated text), could not read {str(path)!r}: {first}") from None
    if len(df) == 0:
        raise InputError(f"expected a {what} file with data rows, got only a header in {str(path)!r}")
    return df


F32_MAX = float(np.finfo(np.float32).max)


def parse_dates(values, what: str = "timestamps") -> tuple[np.ndarray, object]:
    """Timestamps as naive ``datetime64[ns]`` **local wall-clock** times, and their time zone (or None).

    Accepts datetime64 arrays, pandas Series/Index (time-zone aware or not), ``pd.Timestamp`` objects
    and date strings, of any shape. A time-zone-aware input keeps its wall-clock time (09:00 in
    Europe/Berlin stays 09:00: time features describe the local hour and weekday) and the zone is
    returned so that a caller can attach it to the future timestamps. Numbers, unparseable strings
    and missing values raise `InputError` naming the first bad value.
    """
    if isinstance(values, torch.Tensor):
        raise InputError(f"{what} must be datetime64 values or date strings, got a torch tensor ({values.dtype})")
    if isinstance(values, (pd.Series, pd.Index)) and isinstance(values.dtype, pd.DatetimeTZDtype | np.dtype) \
            and values.dtype.kind == "M":  # datetime columns, naive or aware: no per-element work
        idx = pd.DatetimeIndex(values)
        zone = idx.tz
        return _finish_dates(idx.tz_localize(None) if zone is not None else idx, (len(idx),), what), zone
    arr = np.asarray(values.astype(object) if isinstance(values, (pd.Series, pd.Index)) else values)
    shape = arr.shape
    flat = arr.reshape(-1)
    if flat.size == 0:
        raise InputError(f"{what} must hold at least one timestamp, got an empty array of shape {shape}")
    if arr.dtype.kind in "biufc":
        raise InputError(
            f"{what} must be datetime64 values or date strings, got numbers ({arr.dtype}, e.g. {flat[0]!r}); "
            "convert with pd.to_datetime(...)"
        )
    if arr.dtype.kind == "M":
        idx = pd.DatetimeIndex(flat.astype("datetime64[ns]"))
    else:
        try:
            idx = pd.to_datetime(pd.Index(flat.astype(object)))
        except (ValueError, TypeError, OverflowError) as exc:
            if "Mixed timezones" in str(exc) or "mixed time" in str(exc).lower():  # offsets change (DST): wall-clock each
                stamps = [pd.Timestamp(v) for v in flat]
                zone = next((t.tz for t in stamps if t.tz is not None), None)
                idx = pd.DatetimeIndex([t.tz_localize(None) if t.tz is not None else t for t in stamps])
                return _finish_dates(idx, shape, what), zone
            for i, v in enumerate(flat):
                try:
                    pd.Timestamp(v)
                except (ValueError, TypeError, OverflowError):
                    raise InputError(
                        f"{what} must be dates (e.g. '2016-07-01 00:00:00'), could not parse {v!r} "
                        f"(position {np.unravel_index(i, shape) if len(shape) > 1 else i})"
                    ) from None
            raise InputError(f"{what} must be dates, could not parse them: {str(exc).splitlines()[0]}") from None
    zone = idx.tz
    if zone is not None:
        idx = idx.tz_localize(None)
    return _finish_dates(idx, shape, what), zone


def _finish_dates(idx: pd.DatetimeIndex, shape: tuple, what: str) -> np.ndarray:
    if idx.isna().any():
        i = int(np.flatnonzero(idx.isna())[0])
        where = np.unravel_index(i, shape) if len(shape) > 1 else i
        raise InputError(f"{what} must be dates, got a missing value (NaT/empty) at position {where}")
    try:
        return idx.to_numpy().astype("datetime64[ns]").reshape(shape)
    except (ValueError, OverflowError) as exc:
        raise InputError(f"{what} are outside the supported date range (years 1678-2261): {exc}") from None


def check_numeric(df: pd.DataFrame, cols: list[str], where: str) -> np.ndarray:
    """``df[cols]`` as float64 after checking every column is real-valued, finite and within float32 range."""
    for c in cols:
        s = df[c]
        if pd.api.types.is_complex_dtype(s):
            raise InputError(f"{where}: column {c!r} must hold real numbers, got complex values ({s.dtype})")
        if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
            num = pd.to_numeric(s, errors="coerce")
            bad = s[num.isna() & s.notna()]
            sample = repr(bad.iloc[0]) if len(bad) else repr(s.iloc[0])
            row = f" (row {bad.index[0]})" if len(bad) else ""
            raise InputError(f"{where}: column {c!r} must hold numbers, got {s.dtype} values such as {sample}{row}")
    values = df[cols].to_numpy(dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        r, j = np.argwhere(~finite)[0]
        raise InputError(
            f"{where}: column {cols[j]!r} has a missing, NaN or infinite value at row {df.index[r]} "
            f"(got {values[r, j]}); expected finite numbers: fill or drop gaps first"
        )
    big = np.abs(values) > F32_MAX
    if big.any():
        r, j = np.argwhere(big)[0]
        raise InputError(
            f"{where}: column {cols[j]!r} has {values[r, j]:.3g} at row {df.index[r]}; expected values that fit in "
            f"float32 (|x| <= {F32_MAX:.3g})"
        )
    return values


def read_frame(path: Path, target: str, date_col: str = "date") -> pd.DataFrame:
    """A data set's rows: the date column (parsed, local wall-clock time) then numeric columns, target last."""
    df = read_csv(path, "data CSV")
    if date_col not in df.columns:
        raise InputError(f"{path}: expected a {date_col!r} column, found columns {list(df.columns)}")
    if target not in df.columns:
        raise InputError(f"{path}: target column {target!r} not in {list(df.columns)}")
    cols = [c for c in df.columns if c not in (date_col, target)]
    df = df[[date_col, *cols, target]].copy()
    check_numeric(df, [*cols, target], str(path))
    dates, _ = parse_dates(df[date_col], f"{path}: column {date_col!r}")
    if len(dates) > 1 and (np.diff(dates) <= np.timedelta64(0)).any():
        i = int(np.flatnonzero(np.diff(dates) <= np.timedelta64(0))[0])
        raise InputError(
            f"{path}: expected strictly increasing dates, got {pd.Timestamp(dates[i + 1])} after "
            f"{pd.Timestamp(dates[i])} (row {i + 1})"
        )
    df[date_col] = dates
    return df


class WindowDataset(Dataset):
    """Sliding windows ``(x [seq_len, C_in], y [label_len + pred_len, C], x_mark, y_mark)``."""

    def __init__(self, split: Split, seq_len: int, label_len: int, pred_len: int):
        self.split, self.seq_len, self.label_len, self.pred_len = split, seq_len, label_len, pred_len
        self.x = torch.from_numpy(split.data_x)
        self.y = torch.from_numpy(split.data_y)
        self.mark = torch.from_numpy(split.stamp)

    def __len__(self) -> int:
        return max(0, len(self.split.data_x) - self.seq_len - self.pred_len + 1)

    def __getitem__(self, i: int):
        s_end = i + self.seq_len
        r_begin = s_end - self.label_len
        r_end = s_end + self.pred_len
        return self.x[i:s_end], self.y[r_begin:r_end], self.mark[i:s_end], self.mark[r_begin:r_end]


class ForecastDataModule(L.LightningDataModule):
    """Lightning DataModule of the standard LTSF protocol (see module docstring).

    Example:
        >>> dm = ForecastDataModule("ETTh1", seq_len=96, label_len=48, pred_len=192)
        >>> dm.setup(); len(dm.test_set)
        2689
    """

    def __init__(
        self,
        data: str = "ETTh1",
        *,
        data_dir: str | None = None,
        seq_len: int = 96,
        label_len: int = 48,
        pred_len: int = 96,
        features: str = "M",
        target: str = "OT",
        freq: str | None = None,
        batch_size: int = 32,
        num_workers: int = 0,
        train_stride: int = 1,
        val_stride: int = 1,
    ):
        super().__init__()
        if features not in ("M", "S", "MS"):
            raise InputError(f"features must be 'M', 'S' or 'MS', got {features!r}")
        self.data, self.data_dir = data, data_dir
        self.seq_len, self.label_len, self.pred_len = seq_len, label_len, pred_len
        self.features, self.target, self.freq = features, target, freq
        self.batch_size, self.num_workers, self.train_stride = batch_size, num_workers, train_stride
        self.val_stride = val_stride
        self._ready = False

    @property
    def name(self) -> str:
        return Path(str(self.data)).stem

    def setup(self, stage: str | None = None) -> None:
        if self._ready:
            return
        path = resolve_csv(self.data, self.data_dir)
        df = read_frame(path, self.target)
        if self.freq is None:
            self.freq = DATASET_FREQ.get(self.name) or pd.infer_freq(df["date"].iloc[:100]) or "h"
        b1, b2 = borders(self.name, len(df), self.seq_len)
        self.borders = (b1, b2)
        cols = list(df.columns[1:]) if self.features in ("M", "MS") else [self.target]
        values = df[cols].to_numpy(dtype=np.float64)
        train = values[b1[0] : b2[0]]
        self.mean = train.mean(axis=0)
        self.std = train.std(axis=0)  # population std, as sklearn's StandardScaler
        self.std[self.std == 0] = 1.0
        scaled = ((values - self.mean) / self.std).astype(np.float32)
        self.columns = cols
        self.out_columns = [self.target] if self.features == "MS" else cols
        stamp = time_features(df["date"], self.freq)
        dates = df["date"].to_numpy()
        splits = [Split(scaled[s:e], scaled[s:e], stamp[s:e], dates[s:e]) for s, e in zip(b1, b2)]
        self.train_set, self.val_set, self.test_set = (
            WindowDataset(sp, self.seq_len, self.label_len, self.pred_len) for sp in splits
        )
        for split, ds in zip(("train", "validation", "test"), (self.train_set, self.val_set, self.test_set)):
            if len(ds) < 1:
                raise InputError(
                    f"{path.name}: {len(df)} rows leave no {split} window of seq_len {self.seq_len} + pred_len "
                    f"{self.pred_len} under the 70/10/20 split; use more rows or shorter lengths"
                )
        self.frame = df
        self._ready = True

    def preprocessing(self) -> dict:
        """Data facts a trained model keeps in its config (``model.config.<field>``)."""
        self.setup()
        return {
            "dataset": self.name,
            "features": self.features,
            "target": self.target,
            "columns": list(self.columns),
            "out_columns": list(self.out_columns),
            "freq": self.freq,
            "timeenc": "timeF",
            "scaler_mean": [float(x) for x in self.mean],
            "scaler_std": [float(x) for x in self.std],
            "borders": [list(self.borders[0]), list(self.borders[1])],
            "protocol": "LTSF standard: ETT 12/4/4 months, val/test start seq_len early, scaler on train rows",
        }

    def train_dataloader(self):
        ds = self.train_set
        if self.train_stride > 1:
            ds = torch.utils.data.Subset(ds, range(0, len(ds), self.train_stride))
        return DataLoader(ds, batch_size=self.batch_size, shuffle=True, drop_last=True, num_workers=self.num_workers)

    def val_dataloader(self):
        """Validation windows (every ``val_stride``-th one: a cheaper early-stopping signal if > 1)."""
        ds = self.val_set
        if self.val_stride > 1:
            ds = torch.utils.data.Subset(ds, range(0, len(ds), self.val_stride))
        return DataLoader(ds, batch_size=self.batch_size * 4, shuffle=False, num_workers=self.num_workers)

    def test_dataloader(self):
        return DataLoader(self.test_set, batch_size=self.batch_size * 4, shuffle=False, num_workers=self.num_workers)
