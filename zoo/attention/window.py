"""Shifted-window attention (Swin) for N-d windows: 2D for images, 3D for volumes and video.

The pieces a windowed transformer needs, each written for any number of spatial dimensions:

- `window_partition` / `window_reverse`: ``[B, *spatial, C]`` <-> ``[B * num_windows, *window, C]``
  (windows in row-major order, batch outermost: the layout of timm's and MONAI's Swin).
- `relative_position_index`: ``[N, N]`` index into a ``prod(2 * w - 1)``-row bias table
  (mixed-radix encoding of the relative offset, identical to timm/Swin for 2D and to MONAI's
  Swin UNETR for 3D).
- `shifted_window_mask`: the ``[num_windows, N, N]`` additive mask that stops tokens which were
  rolled together from different image regions from attending to each other.
- `window_attention`: attention inside windows, with the relative-position bias and the shift mask
  combined into ONE additive mask and handed to `zoo.attention.attend` (SDPA by default), so no
  explicit ``q @ kᵀ`` is formed here.

Example:
    >>> import torch
    >>> from zoo.attention import window_partition, window_reverse, window_attention
    >>> from zoo.attention import relative_position_index, shifted_window_mask
    >>> x = torch.randn(2, 14, 14, 32)                       # B, H, W, C
    >>> win = window_partition(x, (7, 7)).flatten(1, 2)      # [2 * 4, 49, 32]
    >>> q = k = v = win.view(8, 49, 4, 8).transpose(1, 2)   # [B * nW, heads, N, D]
    >>> table = torch.zeros(13 * 13, 4)
    >>> bias = table[relative_position_index((7, 7))].permute(2, 0, 1)   # [heads, N, N]
    >>> mask = shifted_window_mask((14, 14), (7, 7), (3, 3))            # [nW, N, N]
    >>> out = window_attention(q, k, v, bias=bias, mask=mask)           # [8, 4, 49, 8]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = [
    "window_partition",
    "window_reverse",
    "relative_position_index",
    "shifted_window_mask",
    "combine_window_bias",
    "window_attention",
    "window_gather_index",
]

SHIFT_MASK_VALUE = -100.0  # the value the original Swin (and timm, MONAI) use for cross-region pairs


def _tuple(value: int | Sequence[int], n: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    value = tuple(int(v) for v in value)
    if len(value) != n:
        raise ValueError(f"expected {n} sizes, got {value}")
    return value


def window_partition(x: Tensor, window_size: int | Sequence[int]) -> Tensor:
    """Split ``x`` of shape ``[B, *spatial, C]`` into windows ``[B * num_windows, *window_size, C]``.

    Every spatial size must be divisible by its window size (pad first). Windows are ordered batch
    first, then row-major over the window grid.
    """
    nd = x.dim() - 2
    ws = _tuple(window_size, nd)
    B, *spatial, C = x.shape
    if any(s % w for s, w in zip(spatial, ws)):
        raise ValueError(f"spatial size {tuple(spatial)} is not divisible by window size {ws}; pad first")
    shape = [B]
    for s, w in zip(spatial, ws):
        shape += [s // w, w]
    x = x.view(*shape, C)
    # [B, n1, w1, n2, w2, ..., C] -> [B, n1, n2, ..., w1, w2, ..., C]
    perm = [0] + [1 + 2 * i for i in range(nd)] + [2 + 2 * i for i in range(nd)] + [2 * nd + 1]
    return x.permute(perm).reshape(-1, *ws, C)


def window_reverse(windows: Tensor, window_size: int | Sequence[int], spatial: Sequence[int]) -> Tensor:
    """Inverse of `window_partition`: ``[B * num_windows, *window_size, C]`` -> ``[B, *spatial, C]``.

    ``windows`` may also be ``[B * num_windows, prod(window_size), C]`` (tokens flattened).
    """
    spatial = tuple(int(s) for s in spatial)
    nd = len(spatial)
    ws = _tuple(window_size, nd)
    C = windows.shape[-1]
    grid = [s // w for s, w in zip(spatial, ws)]
    x = windows.reshape(-1, *grid, *ws, C)
    # [B, n1, n2, ..., w1, w2, ..., C] -> [B, n1, w1, n2, w2, ..., C]
    perm = [0]
    for i in range(nd):
        perm += [1 + i, 1 + nd + i]
    perm.append(2 * nd + 1)
    return x.permute(perm).reshape(-1, *spatial, C)


def relative_position_index(window_size: Sequence[int], device: torch.device | str | None = None) -> Tensor:
    """``[N, N]`` (``N = prod(window_size)``) index of each query/key pair's offset in a bias table.

    The table has ``prod(2 * w - 1)`` rows; offset ``d`` (query minus key, per axis) maps to
    ``sum_i (d_i + w_i - 1) * prod_{j > i} (2 * w_j - 1)``: timm's and MONAI's convention.
    """
    ws = tuple(int(w) for w in window_size)
    coords = torch.stack(
        torch.meshgrid(*[torch.arange(w, device=device) for w in ws], indexing="ij")
    ).flatten(1)  # [nd, N]
    rel = coords[:, :, None] - coords[:, None, :]  # [nd, N, N]
    index = torch.zeros(rel.shape[1:], dtype=torch.long, device=device)
    for i, w in enumerate(ws):
        stride = math.prod(2 * v - 1 for v in ws[i + 1 :])
        index += (rel[i] + w - 1) * stride
    return index


def shifted_window_mask(
    spatial: Sequence[int],
    window_size: int | Sequence[int],
    shift_size: int | Sequence[int],
    *,
    mask_value: float = SHIFT_MASK_VALUE,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor | None:
    """Additive ``[num_windows, N, N]`` mask for shifted windows on a (padded) grid ``spatial``.

    After a cyclic roll by ``-shift_size`` the last windows along each axis hold tokens from up to
    three regions; pairs from different regions get ``mask_value`` (``-100`` as in the original
    Swin), pairs from the same region ``0``. Returns ``None`` when no axis is shifted.
    """
    spatial = tuple(int(s) for s in spatial)
    nd = len(spatial)
    ws, ss = _tuple(window_size, nd), _tuple(shift_size, nd)
    if not any(ss):
        return None
    label = torch.zeros(spatial, dtype=torch.float32, device=device)
    for axis, (w, s) in enumerate(zip(ws, ss)):
        # region id along this axis: 0 = untouched, 1 = last window before the wrap, 2 = wrapped part
        n = spatial[axis]
        ids = torch.zeros(n, device=device)
        if s:
            ids[n - w : n - s] = 1
            ids[n - s :] = 2
        shape = [1] * nd
        shape[axis] = n
        label = label * 3 + ids.view(shape)
    windows = window_partition(label[None, ..., None], ws).flatten(1)  # [nW, N]
    diff = windows[:, None, :] != windows[:, :, None]
    return torch.zeros(diff.shape, dtype=dtype, device=device).masked_fill_(diff, mask_value)


def combine_window_bias(
    bias: Tensor | None, mask: Tensor | None, *, mask_value: float = SHIFT_MASK_VALUE
) -> Tensor | None:
    """One additive ``[num_windows or 1, heads or 1, N, N]`` mask from a bias and a shift mask.

    ``bias``: ``[heads, N, N]`` (shared by all windows) or ``[num_windows, heads, N, N]``.
    ``mask``: ``[num_windows, N, N]``, additive float or boolean keep-mask (``False`` -> ``mask_value``).
    """
    if mask is not None:
        if mask.dtype == torch.bool:
            dtype = bias.dtype if bias is not None else torch.float32
            mask = torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill_(~mask, mask_value)
        mask = mask[:, None]
    if bias is not None and bias.dim() == 3:
        bias = bias[None]
    if bias is None:
        return mask
    if mask is None:
        return bias
    return bias + mask.to(bias.dtype)


def window_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    *,
    bias: Tensor | None = None,
    mask: Tensor | None = None,
    scale: float | None = None,
    dropout_p: float = 0.0,
) -> Tensor:
    """Attention inside windows through `zoo.attention.attend` with one additive mask.

    Args:
        q, k, v: ``[B * num_windows, heads, N, D]`` (windows of one image contiguous, as produced by
            `window_partition`).
        bias: relative-position bias ``[heads, N, N]``, or a pre-combined additive mask
            ``[num_windows, heads, N, N]`` (from `combine_window_bias`) or already expanded to the
            batch, ``[B * num_windows, heads, N, N]`` (what a caller caches for inference).
        mask: shifted-window mask ``[num_windows, N, N]`` (additive float, or boolean keep-mask).
        scale: softmax scale, default ``D ** -0.5``.

    Returns:
        ``[B * num_windows, heads, N, D]``.
    """
    from zoo.attention import attend

    combined = combine_window_bias(bias, mask)
    BW = q.shape[0]
    if combined is not None and combined.shape[0] not in (1, BW):
        nW = combined.shape[0]
        if BW % nW:
            raise ValueError(f"{BW} windows in the batch is not a multiple of the mask's {nW} windows")
        # one mask row per window of the batch; q/k/v keep their (strided) layout, no copy of them
        combined = combined.expand(BW // nW, *combined.shape).reshape(BW, *combined.shape[1:])
    return attend(q, k, v, bias=combined, scale=scale, dropout_p=dropout_p)


def window_gather_index(
    spatial: Sequence[int], window_size: int | Sequence[int], shift_size: int | Sequence[int] = 0
) -> tuple[Tensor, Tensor]:
    """Indices that fuse cyclic shift + padding + `window_partition` (and its inverse) into one gather.

    For ``x`` of shape ``[B, *spatial, C]`` flattened to ``[B, L, C]`` (``L = prod(spatial)``):

    - ``forward``: ``[num_windows * N]``; ``x_ext.index_select(1, forward)`` equals
      ``window_partition(pad(roll(x, -shift)), window_size)`` flattened, where ``x_ext`` is ``x``
      with one zero token appended at index ``L`` (used only when the grid needs padding).
    - ``inverse``: ``[L]``; ``windows.index_select(1, inverse)`` (windows as ``[B, nW * N, C]``)
      equals ``roll(window_reverse(windows)[:spatial], +shift)`` flattened.

    One gather instead of roll + pad + partition copies (and reverse + crop + roll back).
    """
    spatial = tuple(int(s) for s in spatial)
    nd = len(spatial)
    ws, ss = _tuple(window_size, nd), _tuple(shift_size, nd)
    padded = [math.ceil(s / w) * w for s, w in zip(spatial, ws)]
    # padded position of every window slot, in window order
    slot_pos = window_partition(torch.arange(math.prod(padded)).view(1, *padded, 1), ws).reshape(-1)
    coords = torch.unravel_index(slot_pos, padded)
    inside = torch.ones_like(slot_pos, dtype=torch.bool)
    src = torch.zeros_like(slot_pos)
    for axis in range(nd):
        c = coords[axis]
        inside &= c < spatial[axis]
        src = src * spatial[axis] + (c + ss[axis]) % spatial[axis]
    forward = torch.where(inside, src, torch.full_like(src, math.prod(spatial)))
    # where does original position a land? at padded position (a - shift) % size
    slot_of = torch.empty_like(slot_pos)
    slot_of[slot_pos] = torch.arange(slot_pos.numel())
    orig = torch.stack(torch.meshgrid(*[torch.arange(s) for s in spatial], indexing="ij")).flatten(1)
    padded_flat = torch.zeros(orig.shape[1], dtype=torch.long)
    for axis in range(nd):
        padded_flat = padded_flat * padded[axis] + (orig[axis] - ss[axis]) % spatial[axis]
    inverse = slot_of[padded_flat]
    return forward, inverse
