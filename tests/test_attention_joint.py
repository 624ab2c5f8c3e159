"""Joint local/global attention (MossFormer): the chunked kernel against its explicit math reference."""

from __future__ import annotations

import pytest
import torch

from zoo.attention import joint_attention
from zoo.attention.joint import joint_attention_reference
from zoo.errors import InputError


def _inputs(b=2, n=37, d=8, e=12, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    qq, qk, lq, lk = (torch.randn(b, n, d, generator=g, dtype=dtype) for _ in range(4))
    v = torch.randn(b, n, e, generator=g, dtype=dtype)
    mask = torch.rand(b, n, generator=g) > 0.25
    return qq, qk, lq, lk, v, mask


@pytest.mark.parametrize("n,group", [(37, 8), (32, 8), (5, 16), (64, 64), (1, 4)])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("use_mask", [False, True])
def test_matches_reference_forward(n, group, causal, use_mask):
    qq, qk, lq, lk, v, mask = _inputs(n=n)
    mask = mask if use_mask else None
    out = joint_attention(qq, qk, lq, lk, v, group_size=group, causal=causal, mask=mask)
    ref = joint_attention_reference(qq, qk, lq, lk, v, group_size=group, causal=causal, mask=mask)
    assert out.shape == v.shape
    torch.testing.assert_close(out, ref, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("causal", [False, True])
def test_matches_reference_gradients(causal):
    inputs = [t.requires_grad_() for t in _inputs(n=29)[:5]]
    mask = _inputs(n=29)[5]
    w = torch.randn(2, 29, 12, dtype=torch.float64)
    (joint_attention(*inputs, group_size=8, causal=causal, mask=mask) * w).sum().backward()
    fast = [t.grad.clone() for t in inputs]
    for t in inputs:
        t.grad = None
    (joint_attention_reference(*inputs, group_size=8, causal=causal, mask=mask) * w).sum().backward()
    for a, t in zip(fast, inputs):
        torch.testing.assert_close(a, t.grad, atol=1e-10, rtol=1e-10)


def test_single_chunk_equals_dense_formula():
    # one chunk covering the sequence: relu(QK^T / g)^2 V + LQ (LK^T V) / n, written densely
    qq, qk, lq, lk, v, _ = _inputs(n=10)
    g = 16
    dense = torch.relu(qq @ qk.transpose(1, 2) / g) ** 2 @ v + lq @ (lk.transpose(1, 2) @ v) / 10
    torch.testing.assert_close(joint_attention(qq, qk, lq, lk, v, group_size=g), dense)


def test_masked_keys_are_ignored_and_causal_ignores_future():
    qq, qk, lq, lk, v, mask = _inputs(n=24)
    out = joint_attention(qq, qk, lq, lk, v, group_size=8, mask=mask)
    v2, k2, lk2 = v.clone(), qk.clone(), lk.clone()
    v2[~mask] = 1e3
    k2[~mask] = -7.0
    lk2[~mask] = 5.0
    torch.testing.assert_close(out, joint_attention(qq, k2, lq, lk2, v2, group_size=8, mask=mask))
    # causal: changing the last chunk's tokens never changes the first two chunks' outputs
    c1 = joint_attention(qq, qk, lq, lk, v, group_size=8, causal=True)
    v3 = v.clone()
    v3[:, 16:] += 3.0
    c2 = joint_attention(qq, qk, lq, lk, v3, group_size=8, causal=True)
    torch.testing.assert_close(c1[:, :16], c2[:, :16])
    assert not torch.allclose(c1[:, 16:], c2[:, 16:])


def test_float32_close_to_float64():
    qq, qk, lq, lk, v, mask = _inputs(n=50)
    out64 = joint_attention(qq, qk, lq, lk, v, group_size=16, mask=mask)
    out32 = joint_attention(*(t.float() for t in (qq, qk, lq, lk, v)), group_size=16, mask=mask)
    torch.testing.assert_close(out32.double(), out64, atol=1e-4, rtol=1e-4)


def test_bad_inputs_raise_input_error():
    qq, qk, lq, lk, v, mask = _inputs(n=12)
    with pytest.raises(InputError, match="quad_k must have the shape"):
        joint_attention(qq, qk[:, :5], lq, lk, v, group_size=4)
    with pytest.raises(InputError, match="group_size must be a positive"):
        joint_attention(qq, qk, lq, lk, v, group_size=0)
    with pytest.raises(InputError, match="mask must be a bool"):
        joint_attention(qq, qk, lq, lk, v, group_size=4, mask=mask.float())
    with pytest.raises(InputError, match=r"v must be \[batch, tokens, E\]"):
        joint_attention(qq, qk, lq, lk, v[:, :3], group_size=4)
