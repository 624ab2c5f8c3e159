"""2D (dilated) neighbourhood attention with natten's semantics, forward and backward on CPU.

natten dropped its CPU kernels, and flex_attention has no CPU backward, so this module computes
neighbourhood attention as *tiled masked dense attention* through `zoo.attention.attend` (SDPA):

1. Along each axis, positions are split into dilation groups (``i % dilation``); inside a group a
   query at group index ``a`` attends to ``kernel_size`` consecutive group members starting at
   ``clamp(a - kernel_size // 2, 0, n_group - kernel_size)`` (centred, shifted inward at borders).
2. Queries are cut into tiles of up to ``tile`` consecutive members of one group per axis; the keys
   any query of a tile can see lie in ``tile + kernel_size - 1`` consecutive members, so each tile
   is a small dense attention problem.
3. One additive bias per tile carries the relative-position bias
   ``rpb[h, (j_h - i_h) / dilation + k - 1, (j_w - i_w) / dilation + k - 1]`` for neighbours and
   ``-inf`` for every other key slot; all tiles go through ONE `attend` call (tiles folded into
   the head axis). Autograd runs through the gathers and SDPA, so gradients reach q, k, v and rpb.

The index tensors depend only on (H, W, kernel_size, dilation, tile) and are cached.

Example:
    >>> import torch
    >>> from zoo.attention import neighborhood_attention_2d
    >>> q = k = v = torch.randn(2, 4, 28, 28, 16)               # [B, heads, H, W, D]
    >>> rpb = torch.zeros(4, 13, 13)                              # [heads, 2k-1, 2k-1]
    >>> out = neighborhood_attention_2d(q, k, v, 7, dilation=4, rpb=rpb)   # [2, 4, 28, 28, 16]
"""

from __future__ import annotations

import functools
import math

import torch
from torch import Tensor

__all__ = ["neighborhood_attention_2d", "neighborhood_window_start"]


def neighborhood_window_start(index: int, length: int, kernel_size: int, dilation: int = 1) -> int:
    """First key position (original coordinates) of the neighbourhood of ``index`` along one axis."""
    group = index % dilation
    n_group = len(range(group, length, dilation))
    a = index // dilation
    start = min(max(a - kernel_size // 2, 0), n_group - kernel_size)
    return group + start * dilation


@functools.lru_cache(maxsize=128)
def _axis_plan(length: int, kernel_size: int, dilation: int, tile: int):
    """Per-axis tiles: query positions [T, t], key positions [T, kr], rel. offset or -1 [T, t, kr],
    and for every position its (tile, slot)."""
    if length < kernel_size * dilation:
        raise ValueError(
            f"neighbourhood attention needs each axis >= kernel_size * dilation = {kernel_size}*{dilation}, "
            f"got {length} (pad the input first)"
        )
    groups = [list(range(g, length, dilation)) for g in range(dilation)]
    n_min, n_max = min(map(len, groups)), max(map(len, groups))
    t = min(tile, n_min)
    kr = min(t + kernel_size - 1, n_max)
    q_pos, k_pos, rel = [], [], []
    owner = [None] * length
    for members in groups:
        n = len(members)
        starts = list(range(0, n - t + 1, t))
        if starts[-1] + t < n:
            starts.append(n - t)  # overlapping last tile: every query lands in some tile
        for s in starts:
            qa = list(range(s, s + t))
            first = min(max(qa[0] - kernel_size // 2, 0), n - kernel_size)
            s0 = max(min(first, n - kr), 0)
            slots = [s0 + m for m in range(kr)]
            tile_id = len(q_pos)
            q_pos.append([members[a] for a in qa])
            k_pos.append([members[min(b, n - 1)] for b in slots])
            r = []
            for slot_q, a in enumerate(qa):
                if owner[members[a]] is None:
                    owner[members[a]] = (tile_id, slot_q)
                w0 = min(max(a - kernel_size // 2, 0), n - kernel_size)
                r.append([b - a + kernel_size - 1 if (b < n and w0 <= b < w0 + kernel_size) else -1 for b in slots])
            rel.append(r)
    return (
        torch.tensor(q_pos),
        torch.tensor(k_pos),
        torch.tensor(rel),
        torch.tensor([o[0] for o in owner]),
        torch.tensor([o[1] for o in owner]),
    )


def _default_tile(length: int, kernel_size: int, dilation: int) -> int:
    """Dense over the whole group when it is short (<= 2k), else tiles of k (measured fastest on CPU)."""
    n_max = -(-length // dilation)
    return n_max if n_max <= 2 * kernel_size else kernel_size


def _plan(H: int, W: int, kernel_size: int, dilation: tuple[int, int], tile: int | None):
    # normal (not inference-mode) tensors, so a plan first built under torch.inference_mode() can be
    # used later in autograd
    with torch.inference_mode(False):
        return _plan_cached(H, W, kernel_size, dilation, tile)


@functools.lru_cache(maxsize=64)
def _plan_cached(H: int, W: int, kernel_size: int, dilation: tuple[int, int], tile: int | None):
    tile_h = tile or _default_tile(H, kernel_size, dilation[0])
    tile_w = tile or _default_tile(W, kernel_size, dilation[1])
    qh, kh, relh, th, sh = _axis_plan(H, kernel_size, dilation[0], tile_h)
    qw, kw, relw, tw, sw = _axis_plan(W, kernel_size, dilation[1], tile_w)
    Th, t_h = qh.shape
    Tw, t_w = qw.shape
    krh, krw = kh.shape[1], kw.shape[1]
    # flattened query / key positions of every 2D tile: [Th, Tw, t_h, t_w] and [Th, Tw, krh, krw]
    q_idx = (qh[:, None, :, None] * W + qw[None, :, None, :]).reshape(Th * Tw, t_h * t_w)
    k_idx = (kh[:, None, :, None] * W + kw[None, :, None, :]).reshape(Th * Tw, krh * krw)
    # bias index into rpb.flatten(1) (+ a -inf sentinel at the end): [Th, Tw, t_h, t_w, krh, krw]
    side = 2 * kernel_size - 1
    rh = relh[:, None, :, None, :, None]
    rw = relw[None, :, None, :, None, :]
    valid = (rh >= 0) & (rw >= 0)
    bias_idx = torch.where(valid, rh * side + rw, torch.full_like(rh * rw, side * side))
    bias_idx = bias_idx.reshape(Th * Tw, t_h * t_w, krh * krw)
    # output gather: position (i, j) <- tile (th[i], tw[j]), slot (sh[i], sw[j])
    out_idx = ((th[:, None] * Tw + tw[None, :]) * (t_h * t_w) + sh[:, None] * t_w + sw[None, :]).reshape(-1)
    return q_idx, k_idx, bias_idx, out_idx


def neighborhood_attention_2d(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    kernel_size: int,
    dilation: int | tuple[int, int] = 1,
    rpb: Tensor | None = None,
    scale: float | None = None,
    *,
    dropout_p: float = 0.0,
    tile: int | None = None,
) -> Tensor:
    """Dilated 2D neighbourhood attention (natten semantics) on ``[B, heads, H, W, D]``.

    Args:
        q, k, v: ``[B, heads, H, W, D]``; ``H, W >= kernel_size * dilation``.
        kernel_size: odd neighbourhood size per axis.
        dilation: int or ``(dh, dw)``; a query attends to keys of its own dilation group only.
        rpb: relative-position bias ``[heads, 2k-1, 2k-1]``; the bias of key ``j`` for query ``i``
            is ``rpb[:, (j_h-i_h)/dh + k-1, (j_w-i_w)/dw + k-1]``.
        scale: softmax scale, default ``D ** -0.5``.
        dropout_p: dropout on the attention probabilities (pass ``p if training else 0``).
        tile: queries per tile and axis (speed knob only; default: the whole dilation group when
            it has at most ``2k`` members, else ``k``).

    Returns:
        ``[B, heads, H, W, D]``.
    """
    from zoo.attention import attend

    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd and positive, got {kernel_size}")
    dil = (dilation, dilation) if isinstance(dilation, int) else tuple(int(d) for d in dilation)
    B, heads, H, W, D = q.shape
    q_idx, k_idx, bias_idx, out_idx = _plan(H, W, kernel_size, dil, tile)
    dev = q.device
    q_idx, k_idx, bias_idx, out_idx = (t.to(dev) for t in (q_idx, k_idx, bias_idx, out_idx))
    nT, tq = q_idx.shape
    tk = k_idx.shape[1]

    def gather(x: Tensor, idx: Tensor) -> Tensor:  # [B, heads, H, W, D] -> [B, heads * nT, len, D]
        return x.reshape(B, heads, H * W, x.shape[-1]).index_select(2, idx.reshape(-1)).view(
            B, heads * nT, idx.shape[1], x.shape[-1]
        )

    side = 2 * kernel_size - 1
    table = rpb.reshape(heads, side * side) if rpb is not None else q.new_zeros(heads, side * side)
    table = torch.cat([table.to(q.dtype), table.new_full((heads, 1), -math.inf, dtype=q.dtype)], dim=1)
    bias = table[:, bias_idx].view(1, heads * nT, tq, tk)  # [heads, nT, tq, tk] -> heads*nT folded
    out = attend(gather(q, q_idx), gather(k, k_idx), gather(v, k_idx), bias=bias, scale=scale, dropout_p=dropout_p)
    out = out.reshape(B, heads, nT * tq, v.shape[-1]).index_select(2, out_idx)
    return out.view(B, heads, H, W, v.shape[-1])
