"""ProbSparse attention (Informer) against full attention and a direct reference."""

import math

import pytest
import torch

from zoo.attention import attend_reference, probsparse_attention
from zoo.attention.probsparse import probsparse_counts, sparsity_measurement


def _qkv(b=2, h=3, lq=20, lk=20, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    mk = lambda l: torch.randn(b, h, l, d, generator=g, dtype=torch.float64, requires_grad=True)
    return mk(lq), mk(lk), mk(lk)


def _grads(out, tensors, seed=1):
    w = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed), dtype=out.dtype)
    return torch.autograd.grad((out * w).sum(), tensors)


@pytest.mark.parametrize("causal", [False, True])
def test_all_queries_active_equals_full_attention_with_grads(causal):
    q, k, v = _qkv()
    out = probsparse_attention(q, k, v, n_top=q.shape[2], causal=causal)
    ref = attend_reference(q, k, v, causal=causal)
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-10)
    for a, b in zip(_grads(out, (q, k, v)), _grads(ref, (q, k, v))):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10)


def test_default_u_at_least_lq_equals_full_attention():
    # L = 8: u = 5 * ceil(ln 8) = 15 >= 8, so the default setting is exact
    q, k, v = _qkv(lq=8, lk=8)
    assert probsparse_counts(8, 8, 5)[0] == 8
    torch.testing.assert_close(probsparse_attention(q, k, v), attend_reference(q, k, v))


@pytest.mark.parametrize("causal", [False, True])
def test_sparse_rows_match_reference(causal):
    """Active rows = full attention rows; lazy rows = mean(V) (or cumsum(V) when causal)."""
    q, k, v = _qkv(lq=40, lk=40, seed=3)
    gen = torch.Generator().manual_seed(7)
    out, top = probsparse_attention(q, k, v, factor=1, causal=causal, generator=gen, return_index=True)
    u, _ = probsparse_counts(40, 40, 1)
    assert u == math.ceil(math.log(40)) and top.shape == (2, 3, u)
    full = attend_reference(q, k, v, causal=causal)
    lazy = v.cumsum(-2) if causal else v.mean(-2, keepdim=True).expand_as(v)
    active = torch.zeros(2, 3, 40, dtype=torch.bool).scatter(2, top, True)
    expected = torch.where(active.unsqueeze(-1), full, lazy)
    torch.testing.assert_close(out, expected)
    # gradients through the active rows and the lazy aggregate
    for a, b in zip(_grads(out, (q, k, v)), _grads(expected, (q, k, v))):
        torch.testing.assert_close(a, b)


def test_top_queries_are_the_measurement_argmax():
    q, k, v = _qkv(lq=30, lk=30, seed=5)
    idx = torch.randint(30, (30, 6), generator=torch.Generator().manual_seed(2))
    m = sparsity_measurement(q.detach(), k.detach(), idx)
    # direct: M_i = max_j q_i.k_j - sum_j q_i.k_j / L_K over the sampled j
    qk = torch.einsum("bhqd,bhqsd->bhqs", q.detach(), k.detach()[:, :, idx])
    torch.testing.assert_close(m, qk.max(-1).values - qk.sum(-1) / 30)
    _, top = probsparse_attention(q, k, v, n_top=4, sample_k=6, generator=torch.Generator().manual_seed(2),
                                  return_index=True)
    assert set(top[0, 0].tolist()) == set(m[0, 0].topk(4).indices.tolist())


def test_seeded_generator_is_deterministic_and_cross_lengths_work():
    q, k, v = _qkv(lq=12, lk=50)
    a = probsparse_attention(q, k, v, factor=1, generator=torch.Generator().manual_seed(0))
    b = probsparse_attention(q, k, v, factor=1, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    with pytest.raises(ValueError, match="L_Q == L_K"):
        probsparse_attention(q, k, v, causal=True)
