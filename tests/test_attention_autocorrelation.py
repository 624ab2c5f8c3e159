"""Auto-Correlation (Autoformer): FFT version against the direct O(L^2) reference, gradients included."""

import math

import pytest
import torch

from zoo.attention import auto_correlation
from zoo.attention.autocorrelation import auto_correlation_reference, top_k_lags


def _t(shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64,
                       requires_grad=True)


@pytest.mark.parametrize("per_sample", [True, False])
@pytest.mark.parametrize("lk", [24, 17, 31])  # equal, shorter (zero-padded), longer (truncated) keys
def test_fft_equals_direct_reference_with_grads(per_sample, lk):
    q, k, v = _t((3, 2, 24, 5), 0), _t((3, 2, lk, 5), 1), _t((3, 2, lk, 5), 2)
    out = auto_correlation(q, k, v, factor=2, per_sample=per_sample)
    ref = auto_correlation_reference(q, k, v, factor=2, per_sample=per_sample)
    torch.testing.assert_close(out, ref, rtol=1e-9, atol=1e-10)
    w = torch.randn(out.shape, dtype=out.dtype, generator=torch.Generator().manual_seed(9))
    g1 = torch.autograd.grad((out * w).sum(), (q, k, v))
    g2 = torch.autograd.grad((ref * w).sum(), (q, k, v))
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10)


def test_correlation_values_and_k():
    q, k, v = _t((1, 1, 16, 1), 3), _t((1, 1, 16, 1), 4), _t((1, 1, 16, 1), 5)
    _, corr = auto_correlation(q, k, v, return_corr=True)
    qq, kk = q.detach().flatten(), k.detach().flatten()
    direct = torch.stack([sum(qq[(t + tau) % 16] * kk[t] for t in range(16)) for tau in range(16)])
    torch.testing.assert_close(corr.flatten(), direct)
    assert top_k_lags(96, 1) == int(math.log(96)) == 4
    assert top_k_lags(144, 3) == 14


def test_periodic_signal_recovers_its_period():
    """A value series rolled by its period comes back unchanged: aggregation of a pure period-8 signal."""
    t = torch.arange(64, dtype=torch.float64)
    x = torch.sin(2 * math.pi * t / 8).view(1, 1, 64, 1)
    out = auto_correlation(x, x, x, top_k=1)
    # the strongest lag of a period-8 signal is 0 (or a multiple of 8): output equals the input
    torch.testing.assert_close(out, x)
