"""Shifted-window attention kernels (2D and 3D) against loop references and timm's Swin helpers."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from zoo.attention import (
    relative_position_index,
    shifted_window_mask,
    window_attention,
    window_partition,
    window_reverse,
)
from zoo.attention.window import combine_window_bias, window_gather_index


def _loop_partition(x, ws):
    """Windows by explicit loops: batch outer, window grid row-major, tokens row-major."""
    B, *spatial, C = x.shape
    grid = [s // w for s, w in zip(spatial, ws)]
    out = []
    for b in range(B):
        for cell in itertools.product(*[range(g) for g in grid]):
            idx = tuple(slice(c * w, (c + 1) * w) for c, w in zip(cell, ws))
            out.append(x[(b, *idx)])
    return torch.stack(out)


@pytest.mark.parametrize("spatial,ws", [((8, 12), (4, 3)), ((4, 6, 9), (2, 3, 3))])
def test_partition_matches_loops_and_reverses(spatial, ws):
    x = torch.randn(2, *spatial, 5)
    win = window_partition(x, ws)
    assert torch.equal(win, _loop_partition(x, ws))
    assert torch.equal(window_reverse(win, ws, spatial), x)
    assert torch.equal(window_reverse(win.flatten(1, -2), ws, spatial), x)


def test_partition_2d_equals_timm():
    from timm.models.swin_transformer import window_partition as timm_partition
    from timm.models.swin_transformer import window_reverse as timm_reverse

    x = torch.randn(2, 14, 21, 3)
    assert torch.equal(window_partition(x, (7, 7)), timm_partition(x, (7, 7)))
    w = window_partition(x, (7, 7))
    assert torch.equal(window_reverse(w, (7, 7), (14, 21)), timm_reverse(w, (7, 7), 14, 21))


def test_partition_rejects_indivisible():
    with pytest.raises(ValueError, match="not divisible"):
        window_partition(torch.randn(1, 10, 10, 2), (7, 7))


@pytest.mark.parametrize("ws", [(7, 7), (3, 5), (2, 3, 4)])
def test_relative_position_index_loop(ws):
    idx = relative_position_index(ws)
    coords = list(itertools.product(*[range(w) for w in ws]))
    sizes = [2 * w - 1 for w in ws]
    for i, ci in enumerate(coords):
        for j, cj in enumerate(coords):
            flat = 0
            for d, (a, b, w) in enumerate(zip(ci, cj, ws)):
                flat = flat * sizes[d] + (a - b + w - 1)
            assert idx[i, j] == flat
    assert idx.max() == math.prod(sizes) - 1


def test_relative_position_index_equals_timm():
    from timm.models.swin_transformer import get_relative_position_index

    assert torch.equal(relative_position_index((7, 7)), get_relative_position_index(7, 7))
    assert torch.equal(relative_position_index((4, 6)), get_relative_position_index(4, 6))


def _loop_shift_mask(spatial, ws, ss):
    """Region of each padded position along each axis (0 / 1 / 2), then pairwise comparison."""
    def region(c, n, w, s):
        return 0 if c < n - w else (1 if c < n - s else 2)

    labels = torch.zeros(spatial, dtype=torch.long)
    for pos in itertools.product(*[range(n) for n in spatial]):
        lab = 0
        for c, n, w, s in zip(pos, spatial, ws, ss):
            lab = lab * 3 + region(c, n, w, s)
        labels[pos] = lab
    win = _loop_partition(labels[None, ..., None], ws).flatten(1)
    nW, N = win.shape
    out = torch.zeros(nW, N, N)
    for w in range(nW):
        for i in range(N):
            for j in range(N):
                if win[w, i] != win[w, j]:
                    out[w, i, j] = -100.0
    return out


@pytest.mark.parametrize("spatial,ws,ss", [((14, 14), (7, 7), (3, 3)), ((8, 12), (4, 4), (2, 0)),
                                           ((4, 4, 6), (2, 2, 3), (1, 1, 1))])
def test_shifted_window_mask_loop(spatial, ws, ss):
    assert torch.equal(shifted_window_mask(spatial, ws, ss), _loop_shift_mask(spatial, ws, ss))
    assert shifted_window_mask(spatial, ws, 0) is None


def test_shifted_window_mask_equals_timm():
    from timm.models.swin_transformer import SwinTransformerBlock

    block = SwinTransformerBlock(dim=8, input_resolution=(14, 21), num_heads=2, window_size=7, shift_size=3)
    assert torch.equal(shifted_window_mask((14, 21), (7, 7), (3, 3)), block.attn_mask)


@pytest.mark.parametrize("spatial,ws,ss", [((14, 14), (7, 7), (3, 3)), ((10, 9), (4, 4), (2, 2)),
                                           ((5, 6, 7), (2, 3, 4), (1, 1, 2)), ((6, 6), (3, 3), (0, 0))])
def test_gather_index_equals_roll_pad_partition(spatial, ws, ss):
    B, C = 2, 3
    x = torch.randn(B, *spatial, C)
    nd = len(spatial)
    fwd, inv = window_gather_index(spatial, ws, ss)
    # reference: roll, zero-pad, partition
    rolled = torch.roll(x, shifts=tuple(-s for s in ss), dims=tuple(range(1, nd + 1)))
    padded_shape = [math.ceil(s / w) * w for s, w in zip(spatial, ws)]
    padded = torch.zeros(B, *padded_shape, C)
    padded[(slice(None), *[slice(0, s) for s in spatial])] = rolled
    ref = window_partition(padded, ws).reshape(B, -1, C)
    ext = torch.cat([x.reshape(B, -1, C), torch.zeros(B, 1, C)], 1)
    assert torch.equal(ext.index_select(1, fwd), ref)
    # inverse: reverse, crop, roll back
    y = torch.randn_like(ref)
    back = window_reverse(y.reshape(-1, *ws, C), ws, padded_shape)[(slice(None), *[slice(0, s) for s in spatial])]
    back = torch.roll(back, shifts=tuple(ss), dims=tuple(range(1, nd + 1)))
    assert torch.equal(y.index_select(1, inv).view(B, *spatial, C), back)


def _loop_window_attention(q, k, v, bias, mask, scale):
    """Per window, head and query: softmax(q.k * scale + bias + mask) @ v."""
    BW, H, N, D = q.shape
    nW = 1 if mask is None else mask.shape[0]
    out = torch.zeros_like(q)
    for w in range(BW):
        for h in range(H):
            for i in range(N):
                logits = torch.stack([(q[w, h, i] * k[w, h, j]).sum() * scale for j in range(N)])
                if bias is not None:
                    logits = logits + bias[h, i]
                if mask is not None:
                    logits = logits + mask[w % nW, i]
                p = torch.softmax(logits, 0)
                out[w, h, i] = (p[:, None] * v[w, h]).sum(0)
    return out


@pytest.mark.parametrize("use_bias,use_mask", [(True, True), (True, False), (False, True)])
def test_window_attention_loop_reference_with_grad(use_bias, use_mask):
    torch.manual_seed(0)
    ws, ss, spatial, H, D = (2, 3), (1, 1), (4, 6), 2, 4
    nW, N, B = 4, 6, 2
    q, k, v = (torch.randn(B * nW, H, N, D, dtype=torch.float64, requires_grad=True) for _ in range(3))
    table = torch.randn(3 * 5, H, dtype=torch.float64, requires_grad=True)
    bias = table[relative_position_index(ws)].permute(2, 0, 1) if use_bias else None
    mask = shifted_window_mask(spatial, ws, ss, dtype=torch.float64) if use_mask else None
    out = window_attention(q, k, v, bias=bias, mask=mask, scale=0.3)
    ref = _loop_window_attention(q, k, v, bias, mask, 0.3)
    torch.testing.assert_close(out, ref)
    g = torch.randn_like(out)
    leaves = [q, k, v] + ([table] if use_bias else [])
    got = torch.autograd.grad(out, leaves, g, retain_graph=True)
    want = torch.autograd.grad(ref, leaves, g)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b)


def test_window_attention_accepts_precombined_and_bool_mask():
    torch.manual_seed(1)
    q, k, v = (torch.randn(8, 2, 4, 3) for _ in range(3))
    bias = torch.randn(2, 4, 4)
    keep = torch.rand(4, 4, 4) > 0.3
    keep |= torch.eye(4, dtype=torch.bool)
    additive = torch.zeros(4, 4, 4).masked_fill(~keep, -100.0)
    ref = window_attention(q, k, v, bias=bias, mask=additive)
    torch.testing.assert_close(window_attention(q, k, v, bias=bias, mask=keep), ref)
    combined = combine_window_bias(bias, additive)
    torch.testing.assert_close(window_attention(q, k, v, bias=combined), ref)
    expanded = combined.repeat(2, 1, 1, 1)
    torch.testing.assert_close(window_attention(q, k, v, bias=expanded), ref)
    with pytest.raises(ValueError, match="multiple"):
        window_attention(q[:6], k[:6], v[:6], bias=combined)
