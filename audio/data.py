"""Two-speaker mixtures from any folder of single-speaker WAV files (FSDD by default), as a Lightning DataModule.

- Files: ``*.wav`` under ``root`` (recursively), read with soundfile, mixed down to mono, resampled to
  ``sample_rate`` with torchaudio. The speaker of a file comes from ``speaker_regex`` (a named group
  ``speaker``), else the FSDD pattern ``{digit}_{speaker}_{index}.wav``, else its parent folder's name.
- Splits: FSDD's official one — utterance index 0–4 is **test**; of the training indices, 5–9 are held
  out for **validation** and 10–49 **train**. Other folders: per speaker, sorted files, the first 10 %
  test, the next 10 % validation, the rest train (at least one file each when a speaker has >= 3).
- Mixtures: two utterances of two *different* speakers, each at a random offset in (or random crop of) a
  ``segment_seconds`` window, each scaled to unit RMS and then set ``g / 2`` dB above / below it with
  ``g`` uniform in ``snr_range`` ([-5, 5] dB); mixture and sources are then scaled together so that the
  mixture's RMS is 0.1 (the level `SeparatorMixin.separate` normalises to). Training mixtures are drawn
  anew every time ("dynamic mixing"); validation and test mixtures are fixed by ``seed`` and built from
  their own split's utterances only.

Items are ``(mixture [T], sources [num_speakers, T])`` float32 tensors.

Example:
    >>> dm = MixtureDataModule(sample_rate=8000, segment_seconds=1.0, batch_size=8)
    >>> dm.setup()
    >>> mix, src = dm.test_set[0]                            # [8000], [2, 8000]
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from zoo.errors import InputError

from .api import TARGET_RMS, check_sample_rate, resample

FSDD_PATTERN = re.compile(r"^(?P<digit>\d+)_(?P<speaker>[A-Za-z]+)_(?P<index>\d+)\.wav$")


def default_root() -> Path:
    """``$ZOO_DATA_DIR/audio/fsdd``."""
    d = os.environ.get("ZOO_DATA_DIR")
    if not d:
        raise InputError("no data folder given: pass a folder of WAV files (--data DIR) or set ZOO_DATA_DIR")
    return Path(d) / "audio" / "fsdd"


def scan(root: str | os.PathLike, speaker_regex: str | None = None) -> list[dict]:
    """Every ``*.wav`` under ``root`` with its speaker and split (see the module docstring)."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"data folder not found: expected a folder of WAV files, got {str(root)!r}")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() == ".wav" and p.is_file())
    if not files:
        raise InputError(f"no .wav files under {str(root)!r}")
    rx = re.compile(speaker_regex) if speaker_regex else None
    rows = []
    for p in files:
        if rx is not None:
            m = rx.search(p.name)
            if not m or "speaker" not in m.groupdict():
                raise InputError(f"speaker_regex {speaker_regex!r} must match every file name with a group "
                                 f"(?P<speaker>...); it does not match {p.name!r}")  # fmt: skip
            rows.append({"path": p, "speaker": m["speaker"], "index": None})
            continue
        m = FSDD_PATTERN.match(p.name)
        if m:
            rows.append({"path": p, "speaker": m["speaker"], "index": int(m["index"])})
        elif p.parent != root:
            rows.append({"path": p, "speaker": p.parent.name, "index": None})
        else:
            raise InputError(f"cannot tell the speaker of {p.name!r}: put each speaker's files in a sub-folder, "
                             "name them like FSDD ({digit}_{speaker}_{index}.wav) or pass speaker_regex")  # fmt: skip
    by_spk: dict[str, list[dict]] = {}
    for r in rows:
        by_spk.setdefault(r["speaker"], []).append(r)
    for spk_rows in by_spk.values():
        if all(r["index"] is not None for r in spk_rows):  # FSDD: the official split
            for r in spk_rows:
                r["split"] = "test" if r["index"] <= 4 else "val" if r["index"] <= 9 else "train"
        else:
            n = len(spk_rows)
            n_test = max(1, n // 10) if n >= 3 else 0
            n_val = max(1, n // 10) if n >= 3 else 0
            for i, r in enumerate(spk_rows):
                r["split"] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    if len(by_spk) < 2:
        raise InputError(f"mixtures need at least two speakers; {str(root)!r} has {len(by_spk)}: {sorted(by_spk)}")
    return rows


def load_utterances(rows: list[dict], sample_rate: int) -> list[torch.Tensor]:
    """Mono float32 waveforms at ``sample_rate`` (soundfile + torchaudio resampling)."""
    import soundfile as sf

    out = []
    for r in rows:
        try:
            data, sr = sf.read(str(r["path"]), dtype="float32", always_2d=True)
        except Exception as exc:
            raise InputError(f"cannot read {str(r['path'])!r} as audio: {exc}") from None
        x = torch.from_numpy(data.mean(axis=1))
        if sr != sample_rate:
            x = resample(x, sr, sample_rate)
        out.append(x.contiguous())
    return out


def _place(x: torch.Tensor, length: int, rng: np.random.Generator) -> torch.Tensor:
    """``x`` cropped at a random start (if longer) or put at a random offset (if shorter) in ``length``."""
    out = torch.zeros(length)
    if x.numel() >= length:
        s = int(rng.integers(0, x.numel() - length + 1))
        out.copy_(x[s:s + length])
    else:
        s = int(rng.integers(0, length - x.numel() + 1))
        out[s:s + x.numel()] = x
    return out


def make_mixture(utts: list[torch.Tensor], length: int, gain_db: float, rng: np.random.Generator):
    """Mix the given utterances (one per speaker); the first is ``gain_db`` louder than the second."""
    srcs = []
    for i, u in enumerate(utts):
        s = _place(u, length, rng)
        s = s / s.pow(2).mean().sqrt().clamp(min=1e-8)
        sign = 1.0 if i == 0 else -1.0
        srcs.append(s * 10 ** (sign * gain_db / 40) if len(utts) == 2 else s)
    src = torch.stack(srcs)
    mix = src.sum(0)
    k = TARGET_RMS / mix.pow(2).mean().sqrt().clamp(min=1e-8)
    return mix * k, src * k


class _Mixtures(Dataset):
    """Mixtures over ``utts`` (speakers ``spk``); fixed by ``seed`` if ``fixed`` else drawn per item."""

    def __init__(self, utts, spk, length, size, num_speakers, snr_range, seed, fixed):
        self.utts, self.spk, self.length, self.size = utts, np.asarray(spk), length, size
        self.num_speakers, self.snr_range, self.fixed = num_speakers, snr_range, fixed
        self.speakers = sorted(set(spk))
        if len(self.speakers) < num_speakers:
            raise InputError(f"{num_speakers}-speaker mixtures need {num_speakers} speakers in the split, "
                             f"got {len(self.speakers)}")  # fmt: skip
        self.by_spk = {s: np.flatnonzero(self.spk == s) for s in self.speakers}
        self.rng = np.random.default_rng(seed)
        self.recipes = [self._draw(np.random.default_rng([seed, i])) for i in range(size)] if fixed else None

    def _draw(self, rng):
        spks = rng.choice(len(self.speakers), size=self.num_speakers, replace=False)
        idx = [int(rng.choice(self.by_spk[self.speakers[s]])) for s in spks]
        gain = float(rng.uniform(*self.snr_range))
        return idx, gain, int(rng.integers(0, 2**31 - 1))

    def __len__(self):
        return self.size

    def __getitem__(self, i):
        idx, gain, seed = self.recipes[i] if self.fixed else self._draw(self.rng)
        return make_mixture([self.utts[j] for j in idx], self.length, gain, np.random.default_rng(seed))


class MixtureDataModule(L.LightningDataModule):
    """Dynamic-mixing train set and fixed validation/test mixtures (see the module docstring).

    Args:
        root: folder of WAV files (default ``$ZOO_DATA_DIR/audio/fsdd``). sample_rate: of the mixtures.
        segment_seconds: mixture length. num_speakers: 2 (or more). snr_range: relative level in dB.
        train_size: mixtures per training epoch. val_size, test_size: fixed mixtures. seed: of the fixed
        sets and of the training stream. speaker_regex: see `scan`. splits: the splits to load.
    """

    def __init__(self, root: str | os.PathLike | None = None, sample_rate: int = 8000, segment_seconds: float = 1.0,
                 num_speakers: int = 2, snr_range: tuple[float, float] = (-5.0, 5.0), batch_size: int = 8,
                 train_size: int = 2000, val_size: int = 200, test_size: int = 500, seed: int = 0,
                 num_workers: int = 0, speaker_regex: str | None = None,
                 splits: tuple[str, ...] = ("train", "val", "test")):  # fmt: skip
        super().__init__()
        self.root = Path(root) if root is not None else None
        self.sample_rate = check_sample_rate(sample_rate)
        if not 0.05 <= segment_seconds <= 60:
            raise InputError(f"segment_seconds must be in [0.05, 60], got {segment_seconds}")
        self.length = int(round(segment_seconds * self.sample_rate))
        lo, hi = (float(v) for v in snr_range)
        if lo > hi:
            raise InputError(f"snr_range must be (low, high) with low <= high, got {snr_range}")
        self.num_speakers, self.snr_range, self.batch_size = int(num_speakers), (lo, hi), int(batch_size)
        self.sizes = {"train": int(train_size), "val": int(val_size), "test": int(test_size)}
        self.seed, self.num_workers, self.speaker_regex = int(seed), int(num_workers), speaker_regex
        bad = set(splits) - {"train", "val", "test"}
        if bad:
            raise InputError(f"splits must be among train/val/test, got {sorted(bad)}")
        self.splits = tuple(splits)
        self.rows: list[dict] | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.rows is not None:
            return
        root = self.root if self.root is not None else default_root()
        if (root / "recordings").is_dir():
            root = root / "recordings"
        self.rows = scan(root, self.speaker_regex)
        for split, offset in (("train", 0), ("val", 1), ("test", 2)):
            keep = [i for i, r in enumerate(self.rows) if r["split"] == split] if split in self.splits else []
            utts = load_utterances([self.rows[i] for i in keep], self.sample_rate)
            ds = _Mixtures(utts, [self.rows[i]["speaker"] for i in keep], self.length,
                           self.sizes[split], self.num_speakers, self.snr_range, self.seed * 3 + offset,
                           fixed=split != "train") if keep else None  # fmt: skip
            setattr(self, f"{split}_set", ds)
            setattr(self, f"{split}_files", len(keep))

    def _loader(self, split: str, shuffle: bool = False) -> DataLoader:
        ds = getattr(self, f"{split}_set", None)
        if ds is None:
            raise InputError(f"the {split} split of {self.root} has no files")
        return DataLoader(ds, batch_size=self.batch_size, shuffle=shuffle, num_workers=self.num_workers)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train")

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")
