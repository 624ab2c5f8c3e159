"""Joint local/global attention of MossFormer (FLASH-style "mixed chunk attention").

One single-head attention made of two parts that share the value tensor:

* **local (quadratic)**: the sequence is cut into chunks of ``group_size`` tokens and every query
  attends every key of its own chunk with squared-ReLU scores,
  ``relu(q_i · k_j / group_size) ** 2`` (no softmax, no normalisation over keys);
* **global (linear)**: every query reads a summary of the whole sequence,
  ``lin_q_i · (Σ_j lin_k_j v_jᵀ) / n`` (non-causal), or, with ``causal=True``, the summary of all
  *previous* chunks ``Σ_{j in chunks < c} lin_k_j v_jᵀ / group_size``.

The output is the sum of both parts. The last chunk is zero-padded to ``group_size`` and its padded
keys are masked, exactly like the released MossFormer/MossFormer2 code (which divides local scores by
``group_size`` even in a partial chunk, and global sums by the true length ``n``), so converted
checkpoints reproduce. The scores are squared ReLUs, not a softmax, so this kernel does not go through
`zoo.attention.attend`; `joint_attention_reference` is its explicit per-chunk math reference.

Shapes: ``quad_q, quad_k, lin_q, lin_k`` are ``[B, N, D]``, ``v`` is ``[B, N, E]`` (MossFormer passes
its two value streams concatenated along ``E``, as they share one attention matrix), ``mask`` is an
optional bool ``[B, N]`` (True = a real token; False keys are ignored by both parts).

Example:
    >>> import torch
    >>> from zoo.attention import joint_attention
    >>> from zoo.attention.joint import joint_attention_reference
    >>> qq, qk, lq, lk = torch.randn(4, 2, 100, 16).unbind(0)
    >>> v = torch.randn(2, 100, 32)
    >>> out = joint_attention(qq, qk, lq, lk, v, group_size=32)          # [2, 100, 32]
    >>> torch.allclose(out, joint_attention_reference(qq, qk, lq, lk, v, group_size=32), atol=1e-4)
    True
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from zoo.errors import InputError

__all__ = ["joint_attention", "joint_attention_reference"]


def _check(quad_q, quad_k, lin_q, lin_k, v, group_size, mask) -> None:
    for name, t in (("quad_q", quad_q), ("quad_k", quad_k), ("lin_q", lin_q), ("lin_k", lin_k), ("v", v)):
        if not isinstance(t, Tensor) or not t.is_floating_point() or t.ndim != 3:
            got = f"{tuple(t.shape)} {t.dtype}" if isinstance(t, Tensor) else type(t).__name__
            raise InputError(f"{name} must be a floating tensor [batch, tokens, dim], got {got}")
    shape = quad_q.shape
    for name, t in (("quad_k", quad_k), ("lin_q", lin_q), ("lin_k", lin_k)):
        if t.shape != shape:
            raise InputError(f"{name} must have the shape of quad_q {tuple(shape)}, got {tuple(t.shape)}")
    if v.shape[:2] != shape[:2]:
        raise InputError(f"v must be [batch, tokens, E] with batch, tokens = {tuple(shape[:2])}, got {tuple(v.shape)}")
    if int(group_size) < 1:
        raise InputError(f"group_size must be a positive integer, got {group_size}")
    if mask is not None and (mask.dtype != torch.bool or mask.shape != shape[:2]):
        raise InputError(f"mask must be a bool tensor {tuple(shape[:2])}, got {tuple(mask.shape)} {mask.dtype}")


def joint_attention(
    quad_q: Tensor,
    quad_k: Tensor,
    lin_q: Tensor,
    lin_k: Tensor,
    v: Tensor,
    *,
    group_size: int,
    mask: Tensor | None = None,
    causal: bool = False,
    dropout_p: float = 0.0,
) -> Tensor:
    """Chunked squared-ReLU attention plus linear global attention; returns ``[B, N, E]``.

    ``dropout_p`` drops entries of the local attention matrix (pass ``p if self.training else 0``).
    See the module docstring for the definition.
    """
    _check(quad_q, quad_k, lin_q, lin_k, v, group_size, mask)
    b, n, _ = quad_q.shape
    g = int(group_size)
    if mask is not None:
        lin_k = lin_k.masked_fill(~mask[..., None], 0.0)
    pad = (-n) % g
    key_mask = mask
    if pad:
        quad_q, quad_k, lin_q, lin_k, v = (F.pad(t, (0, 0, 0, pad)) for t in (quad_q, quad_k, lin_q, lin_k, v))
        if key_mask is None:
            key_mask = torch.ones(b, n, dtype=torch.bool, device=v.device)
        key_mask = F.pad(key_mask, (0, pad), value=False)
    chunks = (n + pad) // g
    qq, qk, lq, lk, vv = (t.reshape(b, chunks, g, t.shape[-1]) for t in (quad_q, quad_k, lin_q, lin_k, v))

    # local: squared-ReLU attention inside each chunk
    attn = F.relu(qq @ qk.transpose(-1, -2) / g) ** 2  # [B, C, g, g]
    if dropout_p > 0:
        attn = F.dropout(attn, p=dropout_p)
    if key_mask is not None:
        attn = attn.masked_fill(~key_mask.view(b, chunks, 1, g), 0.0)
    if causal:
        attn = attn.masked_fill(torch.ones(g, g, dtype=torch.bool, device=v.device).triu(1), 0.0)
    out = attn @ vv

    # global: linear attention over the whole sequence (or over the previous chunks when causal)
    if causal:
        kv = lk.transpose(-1, -2) @ vv / g  # [B, C, D, E] per chunk
        kv = F.pad(kv.cumsum(dim=1), (0, 0, 0, 0, 1, -1))  # exclusive prefix sum over chunks
        out = out + lq @ kv
    else:
        kv = torch.einsum("bcnd,bcne->bde", lk, vv) / n
        out = out + torch.einsum("bcnd,bde->bcne", lq, kv)
    return out.reshape(b, chunks * g, -1)[:, :n]


def joint_attention_reference(
    quad_q: Tensor,
    quad_k: Tensor,
    lin_q: Tensor,
    lin_k: Tensor,
    v: Tensor,
    *,
    group_size: int,
    mask: Tensor | None = None,
    causal: bool = False,
) -> Tensor:
    """Explicit math of `joint_attention` (no dropout): a loop over chunks for the local part and a
    dense ``[N, N]`` score matrix (masked to earlier chunks when causal) for the global part."""
    _check(quad_q, quad_k, lin_q, lin_k, v, group_size, mask)
    b, n, _ = quad_q.shape
    g = int(group_size)
    valid = torch.ones(b, n, dtype=torch.bool, device=v.device) if mask is None else mask
    pos = torch.arange(n, device=v.device)
    chunk_of = pos // g

    local = torch.zeros(b, n, v.shape[-1], dtype=v.dtype, device=v.device)
    for c in range(-(-n // g)):
        idx = pos[chunk_of == c]
        s = torch.relu(quad_q[:, idx] @ quad_k[:, idx].transpose(1, 2) / g) ** 2  # [B, |c|, |c|]
        keep = valid[:, None, idx].expand_as(s)
        if causal:
            keep = keep & (idx[None, :] <= idx[:, None])
        local[:, idx] = s.masked_fill(~keep, 0.0) @ v[:, idx]

    scores = lin_q @ lin_k.transpose(1, 2)  # [B, N, N]
    keep = valid[:, None, :].expand_as(scores)
    if causal:
        keep = keep & (chunk_of[None, :] < chunk_of[:, None])
        glob = scores.masked_fill(~keep, 0.0) @ v / g
    else:
        glob = scores.masked_fill(~keep, 0.0) @ v / n
    return local + glob
