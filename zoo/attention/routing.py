"""Bi-level routing attention (BiFormer, Zhu et al. CVPR 2023), as in the legacy BRA module.

1. The ``H × W`` grid is cut into ``num_windows × num_windows`` regions.
2. Region descriptors: the mean of q and of k over each region's tokens, all heads concatenated
   (``[B, regions, heads·D]``); region affinity is their dot product scaled by ``(heads·D)^-0.5``.
3. Each query region keeps its ``topk`` regions (`torch.topk`; routing is not differentiable).
4. Every query token attends, per head, to all tokens of its routed regions (one `attend` call,
   regions folded into the batch; default scale ``D^-0.5``).

The local context enhancement (depthwise conv on V) stays in the model.

Example:
    >>> import torch
    >>> from zoo.attention import bilevel_routing_attention
    >>> q = k = v = torch.randn(2, 4, 56, 56, 16)                       # [B, heads, H, W, D]
    >>> out = bilevel_routing_attention(q, k, v, num_windows=7, topk=4)  # [2, 4, 56, 56, 16]
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["bilevel_routing_attention", "route_regions"]


def _to_regions(x: Tensor, n: int) -> Tensor:
    """``[B, h, H, W, D]`` -> ``[B, n*n, h, r, D]`` (regions row-major, tokens row-major inside)."""
    B, h, H, W, D = x.shape
    x = x.view(B, h, n, H // n, n, W // n, D).permute(0, 2, 4, 1, 3, 5, 6)
    return x.reshape(B, n * n, h, (H // n) * (W // n), D)


def _from_regions(x: Tensor, n: int, H: int, W: int) -> Tensor:
    """Inverse of `_to_regions`."""
    B, _, h, _, D = x.shape
    x = x.view(B, n, n, h, H // n, W // n, D).permute(0, 3, 1, 4, 2, 5, 6)
    return x.reshape(B, h, H, W, D)


def route_regions(q: Tensor, k: Tensor, num_windows: int, topk: int) -> Tensor:
    """Indices ``[B, regions, topk]`` of the regions each query region is routed to."""
    qr, kr = _to_regions(q, num_windows), _to_regions(k, num_windows)
    B, R, h, _, D = qr.shape
    q_win = qr.mean(3).reshape(B, R, h * D)  # heads concatenated: channel = head * D + d
    k_win = kr.mean(3).reshape(B, R, h * D)
    logits = (q_win * (h * D) ** -0.5) @ k_win.transpose(-2, -1)
    return torch.topk(logits.detach(), k=topk, dim=-1).indices


def bilevel_routing_attention(
    q: Tensor, k: Tensor, v: Tensor, *, num_windows: int, topk: int, scale: float | None = None
) -> Tensor:
    """Bi-level routing attention on ``[B, heads, H, W, D]`` (H, W divisible by ``num_windows``).

    Args:
        q, k, v: ``[B, heads, H, W, D]`` (v may have its own ``Dv``).
        num_windows: regions per side (``num_windows**2`` regions).
        topk: routed regions per query region (``<= num_windows**2``).
        scale: token-attention scale, default ``D ** -0.5``. (The legacy BiFormer checkpoints were
            trained with ``(heads·D) ** -0.5`` here; their model passes that explicitly.)

    Returns:
        ``[B, heads, H, W, Dv]``.
    """
    from zoo.attention import attend

    B, h, H, W, D = q.shape
    n = num_windows
    if H % n or W % n:
        raise ValueError(f"H and W ({H}, {W}) must be divisible by num_windows={n}")
    if not 0 < topk <= n * n:
        raise ValueError(f"topk must be in [1, {n * n}], got {topk}")
    idx = route_regions(q, k, n, topk)  # [B, R, topk]
    R, r = n * n, (H // n) * (W // n)
    qr = _to_regions(q, n).reshape(B * R, h, r, D)
    flat = (idx + torch.arange(B, device=idx.device).view(B, 1, 1) * R).reshape(-1)

    def gather(x: Tensor) -> Tensor:  # [B, h, H, W, d] -> [B*R, h, topk*r, d]
        xr = _to_regions(x, n).reshape(B * R, h, r, x.shape[-1])
        sel = xr.index_select(0, flat).view(B * R, topk, h, r, x.shape[-1])
        return sel.transpose(1, 2).reshape(B * R, h, topk * r, x.shape[-1])

    out = attend(qr, gather(k), gather(v), scale=scale)  # [B*R, h, r, Dv]
    return _from_regions(out.view(B, R, h, r, v.shape[-1]), n, H, W)
