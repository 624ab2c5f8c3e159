"""ProbSparse self-attention (Informer, Zhou et al. AAAI 2021).

Only the ``u = factor * ceil(ln L_Q)`` "active" queries with the largest sparsity measurement

    M(q_i, K) = max_j (q_i k_j^T / sqrt(d)) - (1 / L_K) * sum_j (q_i k_j^T / sqrt(d))

attend (densely, through `zoo.attention.attend`); the measurement is estimated on
``factor * ceil(ln L_K)`` randomly sampled keys. The "lazy" queries receive the mean of V, or, in a
causal (masked) layer, the cumulative sum of V as in the reference implementation. With
``u >= L_Q`` every query is active and the result equals full (causal) attention.

Layout is the zoo's ``[batch, heads, tokens, head_dim]``.

Example:
    >>> import torch
    >>> from zoo.attention import probsparse_attention
    >>> q = k = v = torch.randn(2, 4, 96, 16)
    >>> out = probsparse_attention(q, k, v, factor=5)          # [2, 4, 96, 16]
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["probsparse_attention", "probsparse_counts", "sparsity_measurement"]


def probsparse_counts(l_q: int, l_k: int, factor: float) -> tuple[int, int]:
    """``(u, sample_k)``: active queries and sampled keys, as ``factor * ceil(ln L)`` capped at L."""
    u = min(l_q, int(factor * math.ceil(math.log(l_q)))) if l_q > 1 else l_q
    sample_k = min(l_k, int(factor * math.ceil(math.log(l_k)))) if l_k > 1 else l_k
    return max(u, 1), max(sample_k, 1)


def sparsity_measurement(q: Tensor, k: Tensor, sample_index: Tensor) -> Tensor:
    """Max-minus-mean measurement of every query on the sampled keys ``k[..., sample_index[i], :]``.

    ``sample_index`` is ``[L_Q, sample_k]`` (shared over batch and heads). Returns ``[B, H, L_Q]``.
    The mean divides by ``L_K`` as in the paper's estimator.
    """
    b, h, l_k, d = k.shape
    l_q, s = sample_index.shape
    k_sample = k.index_select(2, sample_index.reshape(-1)).view(b, h, l_q, s, d)
    qk = torch.einsum("bhqd,bhqsd->bhqs", q, k_sample)
    return qk.max(dim=-1).values - qk.sum(dim=-1) / l_k


def probsparse_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    *,
    factor: float = 5.0,
    causal: bool = False,
    scale: float | None = None,
    dropout_p: float = 0.0,
    n_top: int | None = None,
    sample_k: int | None = None,
    generator: torch.Generator | None = None,
    return_index: bool = False,
):
    """ProbSparse attention on ``[B, H, L, D]`` tensors.

    Args:
        factor: the sampling factor ``c``; ``u = c * ceil(ln L_Q)`` active queries and
            ``c * ceil(ln L_K)`` sampled keys.
        causal: masked self-attention (decoder); lazy queries then get ``cumsum(V)`` and active query
            ``i`` sees keys ``<= i`` (requires ``L_Q == L_K``).
        n_top, sample_k: override ``u`` and the number of sampled keys.
        generator: random source of the key sample (pass a seeded one for deterministic inference).
        return_index: also return the ``[B, H, u]`` indices of the active queries.
    """
    b, h, l_q, d = q.shape
    l_k = k.shape[-2]
    if causal and l_q != l_k:
        raise ValueError(f"causal ProbSparse attention needs L_Q == L_K, got {l_q} and {l_k}")
    u, s = probsparse_counts(l_q, l_k, factor)
    u = min(n_top, l_q) if n_top is not None else u
    s = min(sample_k, l_k) if sample_k is not None else s

    with torch.no_grad():  # the selection is discrete: no gradient flows through it
        sample_index = torch.randint(l_k, (l_q, s), generator=generator, device="cpu").to(q.device)
        measure = sparsity_measurement(q.detach(), k.detach(), sample_index)
        top = measure.topk(u, dim=-1, sorted=False).indices  # [B, H, u]

    from zoo.attention.dense import attend

    q_top = q.gather(2, top.unsqueeze(-1).expand(b, h, u, d))
    mask = None
    if causal:
        mask = top.unsqueeze(-1) >= torch.arange(l_k, device=q.device)  # [B, H, u, L_K]
    out_top = attend(q_top, k, v, mask=mask, scale=scale, dropout_p=dropout_p)

    if causal:
        context = v.cumsum(dim=-2)
    else:
        context = v.mean(dim=-2, keepdim=True).expand(b, h, l_q, v.shape[-1])
    context = context.scatter(2, top.unsqueeze(-1).expand(b, h, u, v.shape[-1]), out_top.to(context.dtype))
    return (context, top) if return_index else context
