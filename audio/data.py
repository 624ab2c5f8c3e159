"""Two-speaker mixtures from any folder of single-speaker WAV files (FSDD by default), as a Lightning DataModule.

- Files: ``*.wav`` under ``root`` (recursively), read with soundfile, mixed down to mono, resampled to
  ``sample_rate`` with torchaudio. The speaker of a file comes from ``speaker_regex`` (a named group
  ``speaker``), else the FSDD pattern ``{digit}_{speaker}_{index}.wav``, else its parent folder's name.
- Splits: FSDD's official one — utterance index 0–4 is **test**; of the training indices, 5–9 are held
  out for **validation** and 10–49 **train**. Other folders: per speaker, sorted files, the first 10 %
  test, the next 10 % validation, the rest train (at least one file each when a speaker has >= 3).

Two protocols (``protocol=``):

- ``"overlap"`` (default; the WSJ0-2mix / Libri2Mix convention): each speaker's source is an utterance of
  2–6 random files of that speaker (``digits``) joined with short pauses (``gap_seconds``, uniform), both
  sources start at sample 0 and overlap fully. ``mode="min"`` truncates the mixture to the shorter
  source, ``"max"`` zero-pads the shorter one to the longer; ``"both"`` takes min for even and max for
  odd fixed mixtures (and either at random in training). Each source is scaled to unit RMS over its
  utterance, then set ``g / 2`` dB above / below it with ``g`` uniform in ``snr_range`` ([-5, 5] dB).
  Training mixtures are random crops of ``segment_seconds`` (zero-padded when shorter); validation and
  test mixtures are whole (variable length, so their loaders use batches of 1).
- ``"sparse"`` (the earlier protocol): one file per speaker, each at a random offset in (or random crop
  of) a ``segment_seconds`` window, so the two mostly do not overlap.

In both, mixture and sources are then scaled together so that the mixture's RMS is 0.1 (the level
`SeparatorMixin.separate` normalises to). Training mixtures are drawn anew for every item ("dynamic
mixing"): item ``k`` of the stream (the ``k % batch_size``-th of step ``k // batch_size``) depends only on
``(seed, k)``, so a run resumed from a checkpoint sees the same mixtures as an uninterrupted one.
Validation and test mixtures are fixed by ``seed`` and built from their own split's utterances only;
the min and max test sets share their utterances and levels.

Items are ``(mixture [T], sources [num_speakers, T])`` float32 tensors.

Example:
    >>> dm = MixtureDataModule(sample_rate=8000, segment_seconds=2.0, batch_size=4)   # overlap protocol
    >>> dm.setup()
    >>> mix, src = dm.test_set[0]                            # [T], [2, T], T = the shorter source
    >>> dm_max = MixtureDataModule(mode="max", splits=("test",)); dm_max.setup()     # same mixtures, max
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


def _unit_rms(x: torch.Tensor) -> torch.Tensor:
    return x / x.pow(2).mean().sqrt().clamp(min=1e-8)


def _finish(srcs: list[torch.Tensor], gain_db: float):
    """Set the (unit-RMS) sources ``±gain_db / 2`` dB apart, mix, and scale both to mixture RMS 0.1."""
    if len(srcs) == 2:
        srcs = [srcs[0] * 10 ** (gain_db / 40), srcs[1] * 10 ** (-gain_db / 40)]
    src = torch.stack(srcs)
    mix = src.sum(0)
    k = TARGET_RMS / mix.pow(2).mean().sqrt().clamp(min=1e-8)
    return mix * k, src * k


def make_mixture(utts: list[torch.Tensor], length: int, gain_db: float, rng: np.random.Generator):
    """Sparse protocol: each utterance at a random offset in ``length``; the first is ``gain_db`` louder."""
    return _finish([_unit_rms(_place(u, length, rng)) for u in utts], gain_db)


def make_overlapped_mixture(sources: list[torch.Tensor], gain_db: float, mode: str = "min",
                            length: int | None = None, rng: np.random.Generator | None = None):
    """Overlap protocol: ``sources`` (whole utterances) start together; ``mode`` "min" truncates to the shortest,
    "max" zero-pads to the longest. Each is scaled to unit RMS over its utterance, the first set ``gain_db``
    above the second. ``length``: a random crop of that many samples (zero-padded when shorter; needs ``rng``).

    Example:
        >>> mix, src = make_overlapped_mixture([a, b], gain_db=3.0, mode="max")   # [max(len)], [2, max(len)]
    """
    if mode not in ("min", "max"):
        raise InputError(f"mode must be 'min' or 'max', got {mode!r}")
    srcs = [_unit_rms(s) for s in sources]
    n = min(s.numel() for s in srcs) if mode == "min" else max(s.numel() for s in srcs)
    srcs = [s[:n] if s.numel() >= n else torch.nn.functional.pad(s, (0, n - s.numel())) for s in srcs]
    if length is not None:
        if n > length:
            start = int(rng.integers(0, n - length + 1))
            srcs = [s[start:start + length] for s in srcs]
        elif n < length:
            srcs = [torch.nn.functional.pad(s, (0, length - n)) for s in srcs]
    return _finish(srcs, gain_db)


class _Mixtures(Dataset):
    """Mixtures over ``utts`` (speakers ``spk``): fixed by ``seed`` if ``fixed``, else item ``k`` of the stream
    (``k = epoch * size + i``) drawn from ``(seed, k)``. ``protocol`` "overlap" or "sparse" (module docstring)."""

    def __init__(self, utts, spk, length, size, num_speakers, snr_range, seed, fixed, protocol="overlap",
                 mode="min", digits=(2, 6), gap=(0.05, 0.25), sample_rate=8000):  # fmt: skip
        self.utts, self.spk, self.length, self.size = utts, np.asarray(spk), length, size
        self.num_speakers, self.snr_range, self.fixed, self.seed = num_speakers, snr_range, fixed, seed
        self.protocol, self.mode, self.digits, self.sample_rate = protocol, mode, tuple(digits), sample_rate
        self.gap = (int(round(gap[0] * sample_rate)), int(round(gap[1] * sample_rate)))
        self.epoch = 0
        self.speakers = sorted(set(spk))
        if len(self.speakers) < num_speakers:
            raise InputError(f"{num_speakers}-speaker mixtures need {num_speakers} speakers in the split, "
                             f"got {len(self.speakers)}")  # fmt: skip
        self.by_spk = {s: np.flatnonzero(self.spk == s) for s in self.speakers}
        self.recipes = [self._draw(np.random.default_rng([seed, i]), i) for i in range(size)] if fixed else None

    def _draw(self, rng, k):
        spks = rng.choice(len(self.speakers), size=self.num_speakers, replace=False)
        if self.protocol == "sparse":
            idx = [[int(rng.choice(self.by_spk[self.speakers[s]]))] for s in spks]
            gaps = [[] for _ in spks]
        else:
            idx, gaps = [], []
            for s in spks:
                n = int(rng.integers(self.digits[0], self.digits[1] + 1))
                idx.append([int(j) for j in rng.choice(self.by_spk[self.speakers[s]], size=n)])
                gaps.append([int(g) for g in rng.integers(self.gap[0], self.gap[1] + 1, size=n - 1)])
        gain = float(rng.uniform(*self.snr_range))
        mode = self.mode
        if mode == "both":
            mode = ("min", "max")[k % 2] if self.fixed else ("min", "max")[int(rng.integers(0, 2))]
        return idx, gaps, gain, mode, int(rng.integers(0, 2**31 - 1))

    def utterance(self, idx: list[int], gaps: list[int]) -> torch.Tensor:
        """Files ``idx`` of one speaker joined with ``gaps`` samples of silence."""
        parts = []
        for j, i in enumerate(idx):
            if j:
                parts.append(torch.zeros(gaps[j - 1]))
            parts.append(self.utts[i])
        return torch.cat(parts)

    def __len__(self):
        return self.size

    def __getitem__(self, i):
        if self.fixed:
            idx, gaps, gain, mode, seed = self.recipes[i]
        else:
            k = self.epoch * self.size + i
            idx, gaps, gain, mode, seed = self._draw(np.random.default_rng([self.seed, k]), k)
        rng = np.random.default_rng(seed)
        if self.protocol == "sparse":
            return make_mixture([self.utts[j[0]] for j in idx], self.length, gain, rng)
        sources = [self.utterance(j, g) for j, g in zip(idx, gaps)]
        return make_overlapped_mixture(sources, gain, mode, None if self.fixed else self.length, rng)


class MixtureDataModule(L.LightningDataModule):
    """Dynamic-mixing train set and fixed validation/test mixtures (see the module docstring).

    Args:
        root: folder of WAV files (default ``$ZOO_DATA_DIR/audio/fsdd``). sample_rate: of the mixtures.
        segment_seconds: training crop (overlap protocol) or mixture length (sparse protocol).
        num_speakers: 2 (or more). snr_range: relative level in dB. train_size: mixtures per training
        epoch. val_size, test_size: fixed mixtures. seed: of the fixed sets and of the training stream.
        speaker_regex: see `scan`. splits: the splits to load. protocol: "overlap" or "sparse".
        mode: "min", "max" or "both" for the validation/test sets; train_mode: the same for training.
        digits: (fewest, most) files per utterance. gap_seconds: (shortest, longest) pause between them.
        stream_offset: training epochs of the stream to skip (a continued run goes on where its first stage ended).
    """

    def __init__(self, root: str | os.PathLike | None = None, sample_rate: int = 8000, segment_seconds: float = 2.0,
                 num_speakers: int = 2, snr_range: tuple[float, float] = (-5.0, 5.0), batch_size: int = 8,
                 train_size: int = 2000, val_size: int = 200, test_size: int = 500, seed: int = 0,
                 num_workers: int = 0, speaker_regex: str | None = None,
                 splits: tuple[str, ...] = ("train", "val", "test"), protocol: str = "overlap", mode: str = "min",
                 train_mode: str = "both", digits: tuple[int, int] = (2, 6),
                 gap_seconds: tuple[float, float] = (0.05, 0.25), stream_offset: int = 0):  # fmt: skip
        super().__init__()
        self.root = Path(root) if root is not None else None
        self.sample_rate = check_sample_rate(sample_rate)
        if not 0.05 <= segment_seconds <= 60:
            raise InputError(f"segment_seconds must be in [0.05, 60], got {segment_seconds}")
        self.length = int(round(segment_seconds * self.sample_rate))
        lo, hi = (float(v) for v in snr_range)
        if lo > hi:
            raise InputError(f"snr_range must be (low, high) with low <= high, got {snr_range}")
        if protocol not in ("overlap", "sparse"):
            raise InputError(f"protocol must be 'overlap' or 'sparse', got {protocol!r}")
        for what, m in (("mode", mode), ("train_mode", train_mode)):
            if m not in ("min", "max", "both"):
                raise InputError(f"{what} must be 'min', 'max' or 'both', got {m!r}")
        d0, d1 = (int(v) for v in digits)
        if not 1 <= d0 <= d1:
            raise InputError(f"digits must be (fewest, most) with 1 <= fewest <= most, got {digits}")
        g0, g1 = (float(v) for v in gap_seconds)
        if not 0 <= g0 <= g1:
            raise InputError(f"gap_seconds must be (shortest, longest) with 0 <= shortest <= longest, got {gap_seconds}")
        self.num_speakers, self.snr_range, self.batch_size = int(num_speakers), (lo, hi), int(batch_size)
        self.sizes = {"train": int(train_size), "val": int(val_size), "test": int(test_size)}
        self.seed, self.num_workers, self.speaker_regex = int(seed), int(num_workers), speaker_regex
        self.protocol, self.mode, self.train_mode = protocol, mode, train_mode
        self.digits, self.gap_seconds = (d0, d1), (g0, g1)
        if int(stream_offset) < 0:
            raise InputError(f"stream_offset must be a number of training epochs >= 0, got {stream_offset}")
        self.stream_offset = int(stream_offset)
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
                           fixed=split != "train", protocol=self.protocol,
                           mode=self.train_mode if split == "train" else self.mode, digits=self.digits,
                           gap=self.gap_seconds, sample_rate=self.sample_rate) if keep else None  # fmt: skip
            setattr(self, f"{split}_set", ds)
            setattr(self, f"{split}_files", len(keep))

    def _loader(self, split: str) -> DataLoader:
        ds = getattr(self, f"{split}_set", None)
        if ds is None:
            raise InputError(f"the {split} split of {self.root} has no files")
        # whole overlapped mixtures differ in length: evaluate them one at a time
        bs = self.batch_size if split == "train" or self.protocol == "sparse" else 1
        return DataLoader(ds, batch_size=bs, shuffle=False, num_workers=self.num_workers)

    def train_dataloader(self) -> DataLoader:
        # the stream position comes from the epoch (the trainer reloads this loader every epoch), so a resumed
        # run continues the stream where the checkpoint left it
        if self.train_set is not None:
            trainer = getattr(self, "trainer", None)
            epoch = int(trainer.current_epoch) if trainer is not None else 0
            self.train_set.epoch = self.stream_offset + epoch
        return self._loader("train")

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")
