"""Bi-level routing attention against a per-query loop reference (routing, gather, attention, gradients)."""

from __future__ import annotations

import pytest
import torch

from zoo.attention import bilevel_routing_attention


def _reference(q, k, v, n, topk, scale):
    B, h, H, W, D = q.shape
    rh, rw = H // n, W // n

    def region_tokens(p):  # (row, col) of region p's tokens, row-major
        j, i = divmod(p, n)
        return [(j * rh + a, i * rw + b) for a in range(rh) for b in range(rw)]

    out = torch.zeros(B, h, H, W, v.shape[-1], dtype=q.dtype)
    for bb in range(B):
        desc_q = torch.stack([torch.stack([q[bb, :, y, x] for y, x in region_tokens(p)]).mean(0).reshape(-1)
                              for p in range(n * n)])
        desc_k = torch.stack([torch.stack([k[bb, :, y, x] for y, x in region_tokens(p)]).mean(0).reshape(-1)
                              for p in range(n * n)])
        affinity = desc_q @ desc_k.T * (h * D) ** -0.5
        for p in range(n * n):
            routed = torch.topk(affinity[p], topk).indices.tolist()
            keys = [t for r in routed for t in region_tokens(r)]
            for y, x in region_tokens(p):
                for hh in range(h):
                    logits = torch.stack([(q[bb, hh, y, x] * k[bb, hh, ky, kx]).sum() for ky, kx in keys]) * scale
                    prob = logits.softmax(0)
                    out[bb, hh, y, x] = sum(pr * v[bb, hh, ky, kx] for pr, (ky, kx) in zip(prob, keys))
    return out


@pytest.mark.parametrize("B,h,H,W,D,n,topk", [(2, 2, 4, 6, 3, 2, 2), (1, 3, 6, 6, 2, 3, 4), (1, 1, 4, 4, 4, 2, 4)])
def test_matches_loop_reference_with_gradients(B, h, H, W, D, n, topk):
    torch.manual_seed(H * W + topk)
    q, k, v = (torch.randn(B, h, H, W, D, dtype=torch.float64, requires_grad=True) for _ in range(3))
    out = bilevel_routing_attention(q, k, v, num_windows=n, topk=topk)
    ref = _reference(q, k, v, n, topk, D**-0.5)
    torch.testing.assert_close(out, ref)
    g = torch.randn_like(out)
    for a, b in zip(torch.autograd.grad(out, (q, k, v), g), torch.autograd.grad(ref, (q, k, v), g)):
        torch.testing.assert_close(a, b)
    # an explicit scale is the token-attention scale (the legacy checkpoints use (h*D)^-0.5)
    s = (h * D) ** -0.5
    torch.testing.assert_close(bilevel_routing_attention(q, k, v, num_windows=n, topk=topk, scale=s),
                               _reference(q, k, v, n, topk, s))


def test_topk_all_regions_is_full_attention():
    from zoo.attention import attend

    q, k, v = (torch.randn(2, 2, 6, 6, 4) for _ in range(3))
    out = bilevel_routing_attention(q, k, v, num_windows=3, topk=9)
    full = attend(*(t.flatten(2, 3) for t in (q, k, v))).view(2, 2, 6, 6, 4)
    torch.testing.assert_close(out, full, atol=1e-5, rtol=1e-5)


def test_bad_arguments():
    q = torch.randn(1, 1, 5, 6, 2)
    with pytest.raises(ValueError, match="divisible"):
        bilevel_routing_attention(q, q, q, num_windows=2, topk=1)
    q = torch.randn(1, 1, 4, 4, 2)
    with pytest.raises(ValueError, match="topk"):
        bilevel_routing_attention(q, q, q, num_windows=2, topk=5)
