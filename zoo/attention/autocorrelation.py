"""Auto-Correlation (Autoformer, Wu et al. NeurIPS 2021): period-based dependencies by FFT.

For every lag ``tau`` the cyclic cross-correlation of queries and keys,

    R(tau) = sum_t q[(t + tau) mod L] * k[t],

is computed for all lags at once in O(L log L) with the FFT (Wiener-Khinchin), averaged over heads
and channels, and the ``k = floor(factor * ln L)`` most correlated lags are kept. The output is the
softmax(R)-weighted sum of the values rolled by those delays:

    out[t] = sum_i softmax(R)_i * v[(t + tau_i) mod L].

``per_sample=True`` (default, the paper's inference path) picks lags per sequence; ``False`` picks
one set of lags for the whole batch from the batch-mean correlation (the paper's training
shortcut). `auto_correlation_reference` is the direct O(L^2) computation used in the tests.

Layout is the zoo's ``[batch, heads, tokens, head_dim]``. Keys/values longer than the queries are
truncated, shorter ones zero-padded (as in Autoformer's cross-correlation).

Example:
    >>> import torch
    >>> from zoo.attention import auto_correlation
    >>> q = k = v = torch.randn(2, 8, 96, 16)
    >>> out = auto_correlation(q, k, v, factor=1)             # [2, 8, 96, 16]
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["auto_correlation", "auto_correlation_reference", "top_k_lags"]


def top_k_lags(length: int, factor: float) -> int:
    """Number of delays kept: ``floor(factor * ln L)``, at least 1 and at most L."""
    return max(1, min(length, int(factor * math.log(length)))) if length > 1 else 1


def _match_length(q: Tensor, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    l, s = q.shape[-2], k.shape[-2]
    if s > l:
        return k[..., :l, :], v[..., :l, :]
    if s < l:
        pad = q.new_zeros(*k.shape[:-2], l - s, k.shape[-1])
        return torch.cat([k, pad], dim=-2), torch.cat([v, pad.new_zeros(*v.shape[:-2], l - s, v.shape[-1])], dim=-2)
    return k, v


def _aggregate(v: Tensor, corr: Tensor, k_top: int, per_sample: bool) -> Tensor:
    """Delay aggregation of ``v`` [B, H, L, D] with the head/channel-mean correlation ``corr`` [B, L]."""
    b, h, l, d = v.shape
    if not per_sample:  # one set of delays for the batch: k cheap rolls (the paper's training path)
        delay = corr.mean(dim=0).topk(k_top, dim=-1).indices
        weights = corr[:, delay].softmax(dim=-1)  # [B, k]
        out = v.new_zeros(v.shape)
        for i, tau in enumerate(delay.tolist()):
            out = out + torch.roll(v, -tau, dims=-2) * weights[:, i].view(b, 1, 1, 1)
        return out
    weights, delay = corr.topk(k_top, dim=-1)  # [B, k], per sequence (the paper's inference path)
    weights = weights.softmax(dim=-1)
    base = torch.arange(l, device=v.device).view(1, l)
    out = v.new_zeros(v.shape)
    for i in range(k_top):  # one [B, H, L, D] gather per lag keeps the working set small
        idx = (base + delay[:, i : i + 1]) % l  # rolled[b, :, t] = v[b, :, (t + delay_bi) mod L]
        rolled = v.gather(2, idx.view(b, 1, l, 1).expand(b, h, l, d))
        out = out + rolled * weights[:, i].view(b, 1, 1, 1)
    return out


def auto_correlation(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    *,
    factor: float = 1.0,
    top_k: int | None = None,
    per_sample: bool = True,
    return_corr: bool = False,
):
    """FFT Auto-Correlation with top-k time-delay aggregation on ``[B, H, L, D]`` tensors."""
    k, v = _match_length(q, k, v)
    l = q.shape[-2]
    work = torch.float32 if q.dtype in (torch.float16, torch.bfloat16) else q.dtype
    q_f = torch.fft.rfft(q.to(work), dim=-2)
    k_f = torch.fft.rfft(k.to(work), dim=-2)
    corr = torch.fft.irfft(q_f * torch.conj(k_f), n=l, dim=-2)  # [B, H, L, D], R(tau) per channel
    mean_corr = corr.mean(dim=(1, 3)).to(v.dtype)  # [B, L]
    out = _aggregate(v, mean_corr, top_k or top_k_lags(l, factor), per_sample)
    return (out, corr) if return_corr else out


def auto_correlation_reference(
    q: Tensor, k: Tensor, v: Tensor, *, factor: float = 1.0, top_k: int | None = None, per_sample: bool = True
) -> Tensor:
    """Direct O(L^2) lag correlation and explicit rolls (slow; the tests' reference)."""
    k, v = _match_length(q, k, v)
    b, h, l, d = q.shape
    lags = torch.arange(l)
    shifted = (torch.arange(l).view(1, l) + lags.view(l, 1)) % l  # shifted[tau, t] = (t + tau) mod L
    # R[b, h, tau, d] = sum_t q[b, h, (t + tau) mod L, d] * k[b, h, t, d]
    corr = (q[:, :, shifted, :] * k.unsqueeze(2)).sum(dim=3)
    mean_corr = corr.mean(dim=(1, 3))  # [B, L]
    k_top = top_k or top_k_lags(l, factor)
    out = torch.zeros_like(v)
    for bi in range(b):
        row = mean_corr[bi] if per_sample else mean_corr.mean(dim=0)
        delays = row.topk(k_top).indices
        w = mean_corr[bi, delays].softmax(dim=-1)
        for i, tau in enumerate(delays.tolist()):
            out[bi] = out[bi] + w[i] * torch.roll(v[bi], shifts=-tau, dims=-2)
    return out
