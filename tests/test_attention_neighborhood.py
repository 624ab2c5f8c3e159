"""Neighbourhood attention against a per-query loop reference with natten's window rules, gradients included."""

from __future__ import annotations

import random

import pytest
import torch

from zoo.attention import neighborhood_attention_2d
from zoo.attention.neighborhood import neighborhood_window_start


def _natten_window_start(index, length, kernel_size, dilation):
    """natten's get_window_start, written out from its case analysis (independent of our clamp)."""
    ns = kernel_size // 2
    if dilation <= 1:
        return max(index - ns, 0) + (index + ns >= length) * (length - index - ns - 1)
    ni = index - ns * dilation
    if ni < 0:
        return index % dilation
    if index + ns * dilation >= length:
        imodd = index % dilation
        a = (length // dilation) * dilation
        b = length - a
        if imodd < b:
            return length - b + imodd - 2 * ns * dilation
        return a + imodd - kernel_size * dilation
    return ni


def _reference(q, k, v, kernel_size, dilation, rpb, scale):
    B, heads, H, W, D = q.shape
    dh, dw = dilation
    out = torch.zeros_like(q)
    for i in range(H):
        sh = _natten_window_start(i, H, kernel_size, dh)
        rows = [sh + a * dh for a in range(kernel_size)]
        for j in range(W):
            sw = _natten_window_start(j, W, kernel_size, dw)
            cols = [sw + b * dw for b in range(kernel_size)]
            keys = [(r, c) for r in rows for c in cols]
            kk = torch.stack([k[:, :, r, c] for r, c in keys], 2)  # [B, heads, k*k, D]
            vv = torch.stack([v[:, :, r, c] for r, c in keys], 2)
            logits = (q[:, :, i, j, None, :] * kk).sum(-1) * scale
            if rpb is not None:
                bias = torch.stack([rpb[:, (r - i) // dh + kernel_size - 1, (c - j) // dw + kernel_size - 1]
                                    for r, c in keys], -1)
                logits = logits + bias
            p = logits.softmax(-1)
            out[:, :, i, j] = (p[..., None] * vv).sum(2)
    return out


def test_window_start_matches_natten_rules():
    for length in range(3, 40):
        for kernel_size in (3, 5, 7):
            for dilation in range(1, length // kernel_size + 1):
                for i in range(length):
                    assert neighborhood_window_start(i, length, kernel_size, dilation) == \
                        _natten_window_start(i, length, kernel_size, dilation), (i, length, kernel_size, dilation)


CASES = [
    # H, W, kernel, dilation, tile
    (7, 7, 7, (1, 1), None),     # one dense window
    (9, 11, 3, (1, 1), 2),       # many tiles, borders, overlapping last tile
    (12, 10, 3, (2, 3), None),   # dilation groups of unequal size (10 % 3 != 0)
    (13, 9, 5, (2, 1), 3),       # unequal groups along H, odd tile
    (8, 16, 3, (2, 5), 4),       # groups with n_min = kernel_size
]


@pytest.mark.parametrize("H,W,kernel,dilation,tile", CASES)
def test_matches_loop_reference_with_gradients(H, W, kernel, dilation, tile):
    torch.manual_seed(H * W + kernel)
    B, heads, D = 2, 2, 4
    q, k, v = (torch.randn(B, heads, H, W, D, dtype=torch.float64, requires_grad=True) for _ in range(3))
    rpb = torch.randn(heads, 2 * kernel - 1, 2 * kernel - 1, dtype=torch.float64, requires_grad=True)
    scale = D**-0.5
    out = neighborhood_attention_2d(q, k, v, kernel, dilation=dilation, rpb=rpb, tile=tile)
    ref = _reference(q, k, v, kernel, dilation, rpb, scale)
    torch.testing.assert_close(out, ref)
    g = torch.randn_like(out)
    got = torch.autograd.grad(out, (q, k, v, rpb), g)
    want = torch.autograd.grad(ref, (q, k, v, rpb), g)
    for name, a, b in zip("q k v rpb".split(), got, want):
        torch.testing.assert_close(a, b, msg=name)


def test_random_sizes_no_rpb_fp32():
    rng = random.Random(0)
    for _ in range(4):
        kernel = rng.choice([3, 5])
        dh, dw = rng.randint(1, 3), rng.randint(1, 3)
        H = rng.randint(kernel * dh, kernel * dh + 6)
        W = rng.randint(kernel * dw, kernel * dw + 6)
        q, k, v = (torch.randn(1, 3, H, W, 8) for _ in range(3))
        out = neighborhood_attention_2d(q, k, v, kernel, dilation=(dh, dw), scale=0.5)
        torch.testing.assert_close(out, _reference(q, k, v, kernel, (dh, dw), None, 0.5), atol=1e-5, rtol=1e-5)


def test_rejects_too_small_input_and_even_kernel():
    q = torch.randn(1, 1, 6, 6, 2)
    with pytest.raises(ValueError, match="kernel_size \\* dilation"):
        neighborhood_attention_2d(q, q, q, 3, dilation=3)
    with pytest.raises(ValueError, match="odd"):
        neighborhood_attention_2d(q, q, q, 4)


def test_plan_built_in_inference_mode_serves_autograd_later():
    q = torch.randn(1, 1, 11, 13, 2)
    with torch.inference_mode():
        neighborhood_attention_2d(q, q, q, 3, dilation=(3, 4))
    k = q.clone().requires_grad_(True)
    neighborhood_attention_2d(q, k, k, 3, dilation=(3, 4)).sum().backward()
    assert k.grad is not None and torch.isfinite(k.grad).all()
