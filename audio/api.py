"""The user's side of a separator: audio I/O with clear errors, and ``model.separate``.

Every separator in `zoo.audio` (MossFormer, MossFormer2, the Conv-TasNet baseline) mixes in
`SeparatorMixin`, so ``model.sample_rate``, ``model.num_speakers`` and ``model.separate(mixture)`` work the
same for all of them.

Example:
    >>> from zoo.audio.api import read_audio
    >>> from zoo.hub import from_pretrained
    >>> model = from_pretrained("runs/audio/mossformer2-fsdd2mix/hub")
    >>> wav, sr = read_audio("mix.wav")                      # [channels, T] float32, checked
    >>> est = model.separate(wav[0])                         # [1, 2, T] at model.sample_rate
"""

from __future__ import annotations

import itertools
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from zoo.errors import InputError

MIN_RATE, MAX_RATE = 1000, 384000
SILENCE_PEAK = 1e-5  # a file whose peak is below this is treated as silent
TARGET_RMS = 0.1  # level separators see (training mixtures are normalised to it too)


# ---------------------------------------------------------------------------------------------- I/O
def check_sample_rate(sr, what: str = "sample rate") -> int:
    try:
        sr_int = int(sr)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be an integer number of Hz, got {sr!r}") from None
    if sr_int != sr or not MIN_RATE <= sr_int <= MAX_RATE:
        raise InputError(f"{what} must be an integer between {MIN_RATE} and {MAX_RATE} Hz, got {sr}")
    return sr_int


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read a sound file with soundfile: ``([channels, T] float32, sample_rate)``.

    Raises `InputError` for a missing, unreadable, empty or silent file or an absurd sample rate.
    """
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise InputError(f"audio file not found: expected an existing WAV/FLAC/OGG file, got {str(path)!r}")
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises LibsndfileError / RuntimeError for bad files
        raise InputError(f"cannot read {str(path)!r} as audio (expected WAV/FLAC/OGG readable by soundfile): {exc}") from None
    check_sample_rate(sr, f"sample rate of {path.name}")
    if data.shape[0] == 0:
        raise InputError(f"{str(path)!r} is empty: it has 0 samples")
    data = np.ascontiguousarray(data.T)
    if not np.isfinite(data).all():
        raise InputError(f"{str(path)!r} contains NaN or infinite samples")
    if np.abs(data).max() < SILENCE_PEAK:
        raise InputError(f"{str(path)!r} is silent (peak {np.abs(data).max():.2g} < {SILENCE_PEAK}): nothing to separate")
    return data, int(sr)


def write_audio(path: str | os.PathLike, wav, sample_rate: int) -> Path:
    """Write a mono float waveform as 16-bit PCM WAV, atomically (temp file + ``os.replace``).

    Peaks above 1 are scaled down (the separated sources have arbitrary scale)."""
    import soundfile as sf

    x = wav.detach().cpu().numpy() if isinstance(wav, Tensor) else np.asarray(wav)
    x = x.astype(np.float32).reshape(-1)
    peak = float(np.abs(x).max()) if x.size else 0.0
    if peak > 0.99:
        x = x * (0.99 / peak)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".wav.tmp")
    os.close(fd)
    try:
        sf.write(tmp, x, int(sample_rate), subtype="PCM_16", format="WAV")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def resample(x: Tensor, orig: int, new: int) -> Tensor:
    """torchaudio's band-limited sinc resampling along the last axis (identity when the rates match)."""
    if int(orig) == int(new):
        return x
    import torchaudio.functional as AF

    return AF.resample(x, int(orig), int(new))


def notice(msg: str) -> None:
    print(f"zoo: notice: {msg}", file=sys.stderr)


# -------------------------------------------------------------------------------------- separation
def _as_batch(mixture) -> tuple[Tensor, bool]:
    if isinstance(mixture, np.ndarray):
        mixture = torch.from_numpy(np.ascontiguousarray(mixture))
    if not isinstance(mixture, Tensor):
        raise InputError(f"mixture must be a torch.Tensor or numpy array [T] or [B, T], got {type(mixture).__name__}")
    if mixture.ndim not in (1, 2):
        raise InputError(f"mixture must be [T] or [B, T] (mono; mix stereo down first), got shape {tuple(mixture.shape)}")
    if mixture.shape[-1] == 0:
        raise InputError("mixture is empty: 0 samples")
    if not mixture.is_floating_point():
        raise InputError(f"mixture must be floating point (samples in [-1, 1]), got dtype {mixture.dtype}")
    if not torch.isfinite(mixture).all():
        raise InputError("mixture contains NaN or infinite samples")
    single = mixture.ndim == 1
    return (mixture[None] if single else mixture), single


def _best_permutation(prev: Tensor, new: Tensor) -> list[tuple[int, ...]]:
    """Per batch item, the speaker order of ``new`` [B, S, L] that best matches ``prev`` (correlation)."""
    s = new.shape[1]
    perms = list(itertools.permutations(range(s)))
    out = []
    for b in range(new.shape[0]):
        p, n = prev[b], new[b]
        p = p / (p.norm(dim=-1, keepdim=True) + 1e-8)
        n = n / (n.norm(dim=-1, keepdim=True) + 1e-8)
        corr = p @ n.T  # [S, S]
        scores = [sum(float(corr[i, perm[i]]) for i in range(s)) for perm in perms]
        out.append(perms[int(np.argmax(scores))])
    return out


class SeparatorMixin:
    """``separate(mixture) -> [B, num_speakers, T]`` for models whose ``forward`` maps ``[B, T]`` to it.

    Subclasses set ``self.sample_rate`` and ``self.num_speakers``.
    """

    sample_rate: int
    num_speakers: int

    @torch.no_grad()
    def separate(self, mixture, *, normalize: bool = True, chunk_seconds: float | None = None,
                 overlap_seconds: float = 1.0, progress: bool = False) -> Tensor:  # fmt: skip
        """Separate ``mixture`` (``[T]`` or ``[B, T]``, at ``self.sample_rate``) into ``[B, num_speakers, T]``.

        ``normalize``: scale each mixture to the RMS the model was trained at and the estimates back.
        ``chunk_seconds``: process long inputs in overlapping chunks (``overlap_seconds`` cross-faded,
        speaker order aligned between chunks by correlation), with a progress bar if ``progress``.
        """
        x, _ = _as_batch(mixture)
        param = next(self.parameters())
        x = x.to(device=param.device, dtype=param.dtype)
        scale = torch.ones(x.shape[0], 1, 1, device=x.device, dtype=x.dtype)
        if normalize:
            rms = x.pow(2).mean(dim=-1).sqrt().clamp(min=1e-8)
            scale = (rms / TARGET_RMS)[:, None, None]
            x = x / scale[:, 0]
        was_training = self.training
        self.eval()
        try:
            total = x.shape[-1]
            if chunk_seconds is None or total <= int(chunk_seconds * self.sample_rate):
                est = self(x)
            else:
                est = self._separate_chunked(x, chunk_seconds, overlap_seconds, progress)
        finally:
            self.train(was_training)
        return est * scale

    def _separate_chunked(self, x: Tensor, chunk_seconds: float, overlap_seconds: float, progress: bool) -> Tensor:
        sr = self.sample_rate
        chunk = max(1, int(chunk_seconds * sr))
        overlap = min(max(0, int(overlap_seconds * sr)), chunk // 2)
        hop = chunk - overlap
        total = x.shape[-1]
        starts = list(range(0, max(total - overlap, 1), hop))
        out = torch.zeros(x.shape[0], self.num_speakers, total, device=x.device, dtype=x.dtype)
        weight = torch.zeros(total, device=x.device, dtype=x.dtype)
        ramp = torch.linspace(0, 1, overlap + 2, device=x.device, dtype=x.dtype)[1:-1]
        it = starts
        if progress:
            from tqdm import tqdm

            it = tqdm(starts, desc="separating", unit="chunk", file=sys.stderr)
        for start in it:
            end = min(start + chunk, total)
            seg = x[:, start:end]
            if seg.shape[-1] < 64:  # a tail too short to separate on its own: pad it
                seg = torch.nn.functional.pad(seg, (0, 64 - seg.shape[-1]))
            est = self(seg)[..., : end - start]
            ov = min(overlap, end - start) if start > 0 else 0
            if ov > 0:
                prev = out[:, :, start:start + ov] / weight[start:start + ov].clamp(min=1e-8)
                perms = _best_permutation(prev, est[:, :, :ov])
                est = torch.stack([est[b, list(p)] for b, p in enumerate(perms)])
            w = torch.ones(end - start, device=x.device, dtype=x.dtype)
            if ov > 0:
                w[:ov] = ramp[:ov] if ov == overlap else torch.linspace(0, 1, ov + 2, device=x.device)[1:-1]
            if end < total and overlap > 0:
                w[-overlap:] = torch.minimum(w[-overlap:], ramp.flip(0))
            out[:, :, start:end] += est * w
            weight[start:end] += w
        return out / weight.clamp(min=1e-8)
