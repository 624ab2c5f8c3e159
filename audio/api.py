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
def _as_batch(mixture, batch: bool = False) -> tuple[Tensor, bool]:
    """``mixture`` as a float ``[B, T]`` tensor (and whether it was one ``[T]`` mixture), or `InputError`."""
    if isinstance(mixture, np.ndarray):
        if mixture.dtype == object or not np.issubdtype(mixture.dtype, np.number):
            raise InputError(f"mixture must be a numeric array [T], got numpy dtype {mixture.dtype}")
        mixture = torch.from_numpy(np.ascontiguousarray(mixture))
    if not isinstance(mixture, Tensor):
        raise InputError(f"mixture must be a torch.Tensor or numpy array [T] (or [batch, T] with batch=True), "
                         f"got {type(mixture).__name__}")  # fmt: skip
    shape = tuple(mixture.shape)
    if mixture.ndim not in (1, 2):
        raise InputError(f"mixture must be mono [T] (or [batch, T] with batch=True), got shape {shape}: mix "
                         "channels down first")  # fmt: skip
    if mixture.ndim == 2 and shape[0] > shape[1] and shape[1] <= 8:
        raise InputError(f"mixture of shape {shape} looks time-major [T, channels]: expected mono [T] "
                         f"(e.g. x.mean(1) of a [T, channels] array) or [batch, T] with batch=True")  # fmt: skip
    if mixture.ndim == 2 and shape[0] > 1 and not batch:
        raise InputError(f"mixture of shape {shape} may be {shape[0]} channels of one recording or {shape[0]} "
                         "mixtures: expected mono [T] (mix channels down, e.g. x.mean(0)) or, for a batch of "
                         "mixtures, separate(x, batch=True)")  # fmt: skip
    if mixture.ndim == 2 and shape[0] == 0:
        raise InputError(f"empty batch: expected [batch, T] with at least one mixture, got shape {shape}")
    if shape[-1] == 0:
        raise InputError(f"mixture is empty: expected [T] with T > 0 samples, got shape {shape}")
    if not mixture.is_floating_point():
        raise InputError(f"mixture must be floating point (samples in [-1, 1]), got dtype {mixture.dtype}")
    finite = torch.isfinite(mixture)
    if not finite.all():
        bad = int((~finite).sum())
        raise InputError(f"mixture must hold finite samples, got {bad} NaN or infinite of {mixture.numel()}")
    single = mixture.ndim == 1
    return (mixture[None] if single else mixture), single


def _positive_seconds(value, what: str, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number of seconds, got {value!r}") from None
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        need = ">= 0" if allow_zero else "> 0"
        raise InputError(f"{what} must be a finite number of seconds {need}, got {value!r}")
    return v


def check_chunking(chunk_seconds, overlap_seconds) -> tuple[float | None, float]:
    """Validated ``(chunk_seconds, overlap_seconds)``: chunk > 0 (or None = one pass), 0 <= overlap <= chunk / 2."""
    overlap = _positive_seconds(overlap_seconds, "overlap_seconds", allow_zero=True)
    if chunk_seconds is None:
        return None, overlap
    chunk = _positive_seconds(chunk_seconds, "chunk_seconds")
    if overlap > chunk / 2:
        raise InputError(f"overlap_seconds must be at most half of chunk_seconds ({chunk:g} s), got {overlap:g}")
    return chunk, overlap


def _best_permutation(prev: Tensor, new: Tensor) -> list[tuple[int, ...]]:
    """Per batch item, the speaker order of ``new`` [B, S, L] that best matches ``prev``: the largest sum of inner
    products of matched channels (= the least squared difference; a channel silent on the overlap weighs nothing)."""
    s = new.shape[1]
    perms = list(itertools.permutations(range(s)))
    corr = torch.einsum("bil,bjl->bij", prev.double(), new.double())  # [B, S, S]
    out = []
    for b in range(new.shape[0]):
        scores = [sum(float(corr[b, i, perm[i]]) for i in range(s)) for perm in perms]
        out.append(perms[int(np.argmax(scores))])
    return out


class SeparatorMixin:
    """``separate(mixture) -> [B, num_speakers, T]`` for models whose ``forward`` maps ``[B, T]`` to it.

    Subclasses set ``self.sample_rate`` and ``self.num_speakers``.

    Example:
        >>> est = model.separate(wav)                              # [T] at model.sample_rate -> [1, 2, T]
        >>> est = model.separate(wav44k, sample_rate=44100)        # resampled in and out: [1, 2, T] at 44.1 kHz
        >>> est = model.separate(x, batch=True)                    # [B, T] -> [B, 2, T]
    """

    sample_rate: int
    num_speakers: int

    @torch.no_grad()
    def separate(self, mixture, *, sample_rate: int | None = None, batch: bool = False, normalize: bool = True,
                 chunk_seconds: float | None = 10.0, overlap_seconds: float = 1.0, progress: bool = False) -> Tensor:  # fmt: skip
        """Separate ``mixture`` into ``[B, num_speakers, T]``.

        - ``mixture``: mono ``[T]``; ``[B, T]`` only with ``batch=True`` (a 2-D array could be the channels of
          one recording: refused without it). Samples must be finite floats.
        - ``sample_rate``: the mixture's rate when it is not ``self.sample_rate``: resampled with torchaudio
          (logged notice on the ``zoo.audio`` logger) and the estimates resampled back, so the output has
          the input's rate and length.
        - ``normalize``: scale each mixture to the RMS the model was trained at and the estimates back
          (computed so that any finite float32 input, even 1e30, works). With ``normalize=False`` inputs
          with samples above 1e3 are refused (the model would overflow).
        - ``chunk_seconds``: inputs longer than this (default 10 s; None = always one pass) are processed in
          chunks overlapping by ``overlap_seconds`` (at most half a chunk): the speaker order of each chunk
          is aligned with the previous one by correlation on the overlap, then the chunks are overlap-added
          with linear cross-fades, so memory stays bounded for any length. ``progress``: a progress bar.
        """
        x, _ = _as_batch(mixture, batch)
        chunk_seconds, overlap_seconds = check_chunking(chunk_seconds, overlap_seconds)
        param = next(self.parameters())
        length, device = x.shape[-1], x.device
        x = x.detach().to("cpu", torch.float64)  # levels and resampling in float64 on the CPU (any device's model)
        if sample_rate is not None:
            sample_rate = check_sample_rate(sample_rate, "sample_rate")
            if sample_rate != self.sample_rate:
                import logging

                logging.getLogger("zoo.audio").info("resampling the mixture from %d Hz to the model's %d Hz and the "
                                                    "estimates back", sample_rate, self.sample_rate)  # fmt: skip
                x = resample(x, sample_rate, self.sample_rate)
        peak = x.abs().amax(dim=-1, keepdim=True)
        scale = torch.ones(x.shape[0], 1, 1, dtype=torch.float64)
        if normalize:
            unit = x / peak.clamp(min=1e-300)  # peak-normalise first so that squaring cannot overflow
            rms = unit.pow(2).mean(dim=-1, keepdim=True).sqrt() * peak
            scale = torch.where(rms > 0, rms / TARGET_RMS, torch.ones_like(rms))[:, :, None]
            x = x / scale[:, 0]
        elif float(peak.max()) > 1e3:
            raise InputError(f"with normalize=False the samples must be audio levels (|x| <= 1e3), got a peak of "
                             f"{float(peak.max()):.3g}; pass normalize=True")  # fmt: skip
        x = x.to(device=param.device, dtype=param.dtype)
        was_training = self.training
        self.eval()
        try:
            if chunk_seconds is None or x.shape[-1] <= int(chunk_seconds * self.sample_rate):
                est = self(x)
            else:
                est = self._separate_chunked(x, chunk_seconds, overlap_seconds, progress)
        finally:
            self.train(was_training)
        est = est.to("cpu", torch.float64) * scale
        if sample_rate is not None and sample_rate != self.sample_rate:
            est = resample(est, self.sample_rate, sample_rate)
            est = torch.nn.functional.pad(est, (0, max(0, length - est.shape[-1])))[..., :length]
        out = est.to(mixture.dtype if isinstance(mixture, Tensor) and mixture.is_floating_point() else torch.float32)
        if not torch.isfinite(out).all():
            from zoo.errors import ZooError

            raise ZooError("the separated sources are not finite (the model overflowed on this input)")
        return out.to(device)

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
