"""Speech separation: MossFormer(2) blocks, converters of the released formats, data, loss, separate, CLI."""

from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from torch import nn

from tests.conftest import data_dir
from zoo.audio import ConvTasNetSeparator, MossFormer
from zoo.audio.api import SeparatorMixin, read_audio
from zoo.audio.mossformer import (
    DilatedDenseConv,
    conv1d_channels_last,
    convert_clearvoice,
    convert_modelscope_mossformer,
    convert_mossformer2_standalone,
    depthwise_conv_fft,
    rotary,
)
from zoo.audio.task import SISNR, pit_si_snr
from zoo.errors import InputError, WeightsIntegrityError

TINY = dict(enc_dim=16, kernel_size=4, dim=16, depth=2, group_size=8, qk_dim=8, expansion=4.0, fsmn_dim=8,
            fsmn_lorder=3, dropout=0.0, num_speakers=2, sample_rate=8000)  # fmt: skip


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models run fastest on one thread of this shared CPU; restored afterwards."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def tiny(fsmn=True, seed=0):
    torch.manual_seed(seed)
    return MossFormer(**TINY, fsmn=fsmn).eval()


# ------------------------------------------------------------------------------------------ blocks
def test_rotary_is_complex_rotation_of_interleaved_pairs():
    x = torch.randn(2, 7, 12, dtype=torch.float64)
    out = rotary(x, 8)
    theta = 1.0 / 10000 ** (torch.arange(0, 8, 2, dtype=torch.float64) / 8)
    z = torch.view_as_complex(x[..., :8].reshape(2, 7, 4, 2).contiguous())
    rot = torch.view_as_real(z * torch.polar(torch.ones(7, 4, dtype=torch.float64), torch.arange(7.0)[:, None] * theta))
    torch.testing.assert_close(out[..., :8], rot.reshape(2, 7, 8))
    torch.testing.assert_close(out[..., 8:], x[..., 8:])  # only the first rot_dim features turn
    torch.testing.assert_close(out[:, 0], x[:, 0])  # position 0 is not rotated


def _upstream_dilated_dense(x, convs2d, norms, acts):
    """The released DilatedDenseNet: Conv2d on [B, C, T, 1] with explicit zero padding."""
    skip = x[..., None]
    for i, (w, norm, act) in enumerate(zip(convs2d, norms, acts)):
        dil, lorder = 2**i, (w.shape[2] + 1) // 2
        pad = lorder + (dil - 1) * (lorder - 1) - 1
        out = torch.nn.functional.conv2d(torch.nn.functional.pad(skip, (0, 0, pad, pad)), w, dilation=(dil, 1),
                                         groups=w.shape[0])  # fmt: skip
        out = act(torch.nn.functional.instance_norm(out, weight=norm.weight, bias=norm.bias, eps=1e-5))
        skip = torch.cat([out, skip], dim=1)
    return out[..., 0]


def test_dilated_dense_conv_matches_released_conv2d_layout():
    torch.manual_seed(0)
    m = DilatedDenseConv(6, depth=2, lorder=4)
    for p in m.parameters():
        nn.init.normal_(p)
    w2d = [c.weight.detach()[..., None] for c in m.convs]  # what the released checkpoints store
    x = torch.randn(2, 6, 30)
    torch.testing.assert_close(m(x), _upstream_dilated_dense(x, w2d, m.norms, m.acts))


@pytest.mark.parametrize("t, k", [(500, 65), (501, 33), (7, 17), (1, 3), (64, 1)])
def test_depthwise_conv_fft_equals_conv1d_values_and_gradients(t, k):
    torch.manual_seed(0)
    x = torch.randn(3, t, 12, dtype=torch.float64, requires_grad=True)
    w = torch.randn(12, 1, k, dtype=torch.float64, requires_grad=True)
    ref = torch.nn.functional.conv1d(x.transpose(1, 2), w, padding=k // 2, groups=12).transpose(1, 2)
    out = depthwise_conv_fft(x, w)
    torch.testing.assert_close(out, ref, atol=1e-10, rtol=1e-10)
    g = torch.randn_like(ref)
    for a, b in zip(torch.autograd.grad(out, (x, w), g), torch.autograd.grad(ref, (x, w), g)):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("c_in, c_out, groups, k, dilation", [(12, 12, 12, 17, 1), (12, 6, 6, 19, 2), (8, 4, 4, 3, 4)])
def test_conv1d_channels_last_equals_conv1d_values_and_gradients(c_in, c_out, groups, k, dilation):
    torch.manual_seed(0)
    x = torch.randn(3, 40, c_in, dtype=torch.float64).transpose(1, 2).requires_grad_()  # [B, C, T] view, as in the model
    w = torch.randn(c_out, c_in // groups, k, dtype=torch.float64, requires_grad=True)
    pad = dilation * (k // 2)
    ref = torch.nn.functional.conv1d(x, w, padding=pad, dilation=dilation, groups=groups)
    out = conv1d_channels_last(x, w, pad, dilation, groups)
    assert out.shape == ref.shape == (3, c_out, 40) and out.transpose(1, 2).is_contiguous()
    torch.testing.assert_close(out, ref, atol=1e-10, rtol=1e-10)
    g = torch.randn_like(ref)
    for a, b in zip(torch.autograd.grad(out, (x, w), g), torch.autograd.grad(ref, (x, w), g)):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


def test_mossformer2_trains_identically_through_channels_last_and_conv1d_paths(monkeypatch):
    import zoo.audio.mossformer as mf

    torch.manual_seed(0)
    m = MossFormer(**TINY, fsmn=True).double()  # ConvFFN kernel 17 and the FSMN memory both take the path
    x = torch.randn(2, 400, dtype=torch.float64) * 0.1
    calls = []
    monkeypatch.setattr(mf, "conv1d_channels_last", lambda *a, **k: calls.append("ffn") or conv1d_channels_last(*a, **k))
    dense = mf.DilatedDenseConv._forward_channels_last
    monkeypatch.setattr(mf.DilatedDenseConv, "_forward_channels_last", lambda s, x: calls.append("fsmn") or dense(s, x))
    results = {}
    for flag in (True, False):
        monkeypatch.setattr(mf, "CHANNELS_LAST_CONV", flag)
        m.zero_grad()
        y = m(x)
        y.square().mean().backward()
        results[flag] = (y.detach(), [p.grad.clone() for p in m.parameters()])
    # per layer: three ConvFFNs of the attention layer, then the FSMN block's two and its memory
    assert calls == ["ffn"] * 5 + ["fsmn"] + ["ffn"] * 5 + ["fsmn"]
    torch.testing.assert_close(results[True][0], results[False][0], atol=1e-12, rtol=1e-10)
    for a, b in zip(results[True][1], results[False][1]):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-10)


def test_long_conv_kernel_model_gives_the_same_output_through_fft_and_direct_paths(monkeypatch):
    import zoo.audio.mossformer as mf

    torch.manual_seed(0)
    m = MossFormer(**TINY, fsmn=False, conv_kernel=33).eval()
    assert m.masker.blocks[0].attn.to_hidden.dwconv.weight.shape[-1] == 33
    x = torch.randn(2, 400) * 0.1
    with torch.no_grad():
        monkeypatch.setattr(mf, "FFT_MIN_KERNEL", 0)
        fft = m(x)
        monkeypatch.setattr(mf, "FFT_MIN_KERNEL", 10**9)
        direct = m(x)
    assert not torch.equal(fft, direct)  # really two code paths
    torch.testing.assert_close(fft, direct, atol=1e-5, rtol=1e-4)
    with pytest.raises(InputError, match="conv_kernel must be an odd number >= 1.*got 16"):
        MossFormer(**TINY, conv_kernel=16)


# ------------------------------------------------------------------------------------------ model
def test_model_length_batch_independence_and_scale_equivariance():
    m = tiny()
    x = torch.randn(3, 203) * 0.1
    with torch.no_grad():
        y = m(x)
        assert y.shape == (3, 2, 203)
        torch.testing.assert_close(m(x[1:2]), y[1:2], atol=1e-5, rtol=1e-5)
    e1 = m.separate(x[0])
    assert m.separate(x, batch=True).shape == (3, 2, 203)
    e2 = m.separate(3.0 * x[0])  # separate normalises the level and restores it
    assert e1.shape == (1, 2, 203)
    torch.testing.assert_close(e2, 3.0 * e1, atol=1e-5, rtol=1e-4)


def test_mossformer_and_mossformer2_differ_only_by_fsmn():
    k1 = set(tiny(fsmn=False).state_dict())
    k2 = set(tiny(fsmn=True).state_dict())
    assert k1 < k2 and all(".fsmn." in k for k in k2 - k1)


def test_gradients_flow_to_every_parameter():
    m = tiny().train()
    loss = -pit_si_snr(m(torch.randn(2, 160)), torch.randn(2, 2, 160))[0].mean()
    loss.backward()
    missing = [n for n, p in m.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert missing == []


def test_convtasnet_baseline_shapes_and_bad_input():
    m = ConvTasNetSeparator(enc_num_feats=16, msk_num_feats=8, msk_num_hidden_feats=16, msk_num_layers=2,
                            msk_num_stacks=1).eval()  # fmt: skip
    assert m.separate(torch.randn(321)).shape == (1, 2, 321)
    with pytest.raises(InputError, match=r"mono \[T\].*got shape \(1, 2, 100\)"):
        m.separate(torch.randn(1, 2, 100))


def test_separate_rejects_bad_mixtures():
    m = tiny()
    with pytest.raises(InputError, match="empty"):
        m.separate(torch.zeros(0))
    with pytest.raises(InputError, match="finite samples, got 20 NaN or infinite of 40"):
        m.separate(torch.tensor([0.1, float("nan")] * 20))
    with pytest.raises(InputError, match="floating"):
        m.separate(torch.ones(100, dtype=torch.int16))


class _SignSplitter(SeparatorMixin, nn.Module):
    """Splits x into its positive and negative parts, in an order that flips at every call."""

    sample_rate, num_speakers = 100, 2

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        parts = [x.clamp(min=0), x.clamp(max=0)]
        return torch.stack(parts if self.calls % 2 else parts[::-1], dim=1)


def test_chunked_separation_aligns_speakers_across_chunks():
    m = _SignSplitter()
    x = torch.randn(1, 1234)
    out = m.separate(x, normalize=False, chunk_seconds=2.0, overlap_seconds=0.5)
    assert m.calls == 8  # 200-sample chunks every 150 samples
    torch.testing.assert_close(out, torch.stack([x.clamp(min=0), x.clamp(max=0)], dim=1))


class _Oracle(SeparatorMixin, nn.Module):
    """Returns the true sources of whatever stretch of ``mix`` it is given, in a random order at every call."""

    num_speakers = 2

    def __init__(self, mix, sources, sample_rate=100, seed=0):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))
        self.mix, self.sources, self.sample_rate = mix, sources, sample_rate
        self.gen = torch.Generator().manual_seed(seed)
        self.orders = []

    def forward(self, x):
        n = x.shape[-1]
        windows = self.mix.unfold(0, n, 1)  # [positions, n]
        start = int((windows - x[0]).abs().sum(-1).argmin())
        order = torch.randperm(2, generator=self.gen).tolist()
        self.orders.append(order)
        return self.sources[order, start:start + n][None]


def _speakers(seconds=60, rate=100, seed=0):
    """Two 'speakers' (tones of different pitch) that talk in turns and together, each silent for stretches."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(seconds * rate) / rate
    on = (torch.rand(2, seconds, generator=g) < 0.6).repeat_interleave(rate, dim=1).double()
    on[0, 4:6 * rate], on[1, 4 * rate:6 * rate] = 1.0, 0.0  # speaker 2 silent across a whole chunk overlap
    src = torch.stack([torch.sin(2 * torch.pi * 3 * t), 0.5 * torch.sin(2 * torch.pi * 11 * t + 1)]).double() * on
    return src.sum(0), src


def test_chunked_60s_mixture_keeps_each_speaker_in_one_channel_across_chunk_borders():
    mix, src = _speakers()
    m = _Oracle(mix, src)
    out = m.separate(mix, normalize=False, chunk_seconds=5.0, overlap_seconds=1.0)[0]
    orders = m.orders
    assert len(orders) == 15 and {tuple(o) for o in orders} == {(0, 1), (1, 0)}  # swaps that must be undone
    ref = src if orders[0] == [0, 1] else src.flip(0)
    torch.testing.assert_close(out, ref.to(out.dtype), atol=1e-6, rtol=0)  # every sample in its speaker's channel
    # and a model run without alignment would have swapped: the raw per-chunk orders are not all the first one
    assert any(o != orders[0] for o in orders[1:])


class _BandSplit(SeparatorMixin, nn.Module):
    """An imperfect separator: FFT of what it is given, split at ``cut`` Hz (with the edge effects of a chunk's
    borders), the two halves in a random order at every call."""

    sample_rate, num_speakers = 8000, 2

    def __init__(self, cut=1000.0, seed=0):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))
        self.cut, self.gen = cut, torch.Generator().manual_seed(seed)

    def forward(self, x):
        spec = torch.fft.rfft(x)
        low = torch.fft.rfftfreq(x.shape[-1], 1 / self.sample_rate) < self.cut
        parts = [torch.fft.irfft(spec * low, n=x.shape[-1]), torch.fft.irfft(spec * ~low, n=x.shape[-1])]
        order = torch.randperm(2, generator=self.gen).tolist()
        return torch.stack([parts[i] for i in order], dim=1)


def test_chunked_separation_is_within_half_a_db_of_one_pass():
    """Two fully overlapped 'speakers' (harmonic sounds with syllable-rate envelopes and broadband noise the band
    split cannot separate), 8 s, separated in one pass and in 2 s chunks (0.5 s overlap) whose speaker order flips at random."""
    from zoo.audio.task import mixture_si_snr

    g = torch.Generator().manual_seed(1)
    t = torch.arange(8 * 8000) / 8000

    def voice(f0, rate):
        env = (0.6 + 0.4 * torch.sin(2 * torch.pi * rate * t + float(torch.rand(1, generator=g)) * 6)).clamp(min=0)
        breath = 0.15 * torch.randn(t.shape, generator=g)  # broadband: the band split cannot separate it
        return env * (sum(torch.sin(2 * torch.pi * f0 * k * t) / k for k in range(1, 4)) + breath)

    src = torch.stack([voice(170.0, 3.1), voice(900.0, 4.3)]).float()
    mix = src.sum(0)
    m = _BandSplit(cut=700.0)
    one, chunked = m.separate(mix, chunk_seconds=None), m.separate(mix, chunk_seconds=2.0, overlap_seconds=0.5)
    base = float(mixture_si_snr(mix[None], src[None]))
    one_db, chunk_db = (float(pit_si_snr(e, src[None])[0]) - base for e in (one, chunked))
    assert one_db > 10.0 and abs(one_db - chunk_db) < 0.5, (one_db, chunk_db)


class _PassThrough(SeparatorMixin, nn.Module):
    """Speaker 1 = the input, speaker 2 = silence; records the length it was given."""

    sample_rate, num_speakers = 8000, 2

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))
        self.seen = []

    def forward(self, x):
        self.seen.append(x.shape[-1])
        return torch.stack([x, torch.zeros_like(x)], dim=1)


def test_separate_resamples_other_rates_in_and_out(caplog):
    import logging

    m = _PassThrough()
    t = torch.arange(44100) / 44100
    x = 0.3 * torch.sin(2 * torch.pi * 440 * t)
    with caplog.at_level(logging.INFO, logger="zoo.audio"):
        out = m.separate(x, sample_rate=44100)
    assert m.seen == [8000]  # the model saw its own rate
    assert out.shape == (1, 2, 44100)  # the estimates come back at the input's rate and length
    torch.testing.assert_close(out[0, 0, 500:-500], x[500:-500], atol=2e-3, rtol=0)
    assert "resampling the mixture from 44100 Hz to the model's 8000 Hz" in caplog.text
    with pytest.raises(InputError, match="sample_rate must be an integer between 1000 and 384000 Hz, got 10"):
        m.separate(x, sample_rate=10)


def test_separate_normalises_extreme_levels_and_refuses_what_cannot_be_separated():
    m = _PassThrough()
    x = torch.randn(800) * 0.1
    ref = m.separate(x)
    for k in (1e30, 1e-30):
        torch.testing.assert_close(m.separate(x * k) / k, ref, rtol=1e-5, atol=0)
    with pytest.raises(InputError, match="normalize=False.*got a peak of 1e\\+30"):
        m.separate(x / x.abs().max() * 1e30, normalize=False)
    with pytest.raises(InputError, match=r"may be 2 channels of one recording.*batch=True"):
        m.separate(torch.randn(2, 800))
    assert m.separate(torch.randn(2, 800), batch=True).shape == (2, 2, 800)
    assert m.separate(torch.randn(1, 800)).shape == (1, 2, 800)
    with pytest.raises(InputError, match=r"looks time-major \[T, channels\]"):
        m.separate(np.zeros((800, 2), np.float32))
    with pytest.raises(InputError, match=r"empty batch.*got shape \(0, 800\)"):
        m.separate(torch.zeros(0, 800), batch=True)
    for bad, msg in ((-1, "chunk_seconds must be a finite number of seconds > 0, got -1"),
                     (float("nan"), "got nan"), (float("inf"), "got inf"), (0, "got 0")):
        with pytest.raises(InputError, match=msg):
            m.separate(x, chunk_seconds=bad)
    with pytest.raises(InputError, match="overlap_seconds must be at most half of chunk_seconds"):
        m.separate(x, chunk_seconds=1.0, overlap_seconds=0.6)


# ---------------------------------------------------------------------------------- released formats
def _ffn(prefix, din, dout, norm="scale"):
    sd = {f"{prefix}.mdl.0.g": torch.randn(1)} if norm == "scale" else {
        f"{prefix}.mdl.0.weight": torch.randn(din), f"{prefix}.mdl.0.bias": torch.randn(din)}
    sd.update({f"{prefix}.mdl.1.weight": torch.randn(dout, din), f"{prefix}.mdl.1.bias": torch.randn(dout),
               f"{prefix}.mdl.3.sequential.1.conv.weight": torch.randn(dout, 1, 17)})
    return sd


def _upstream_masknet(body, seq_norm, block_norm, fsmn, cfg=TINY, rot_freqs=None):
    """Key names and shapes of the released mask nets (FLASH_ShareA_FFConvM / Gated_FSMN_Block_Dilated)."""
    enc, dim, qk, hid = cfg["enc_dim"], cfg["dim"], cfg["qk_dim"], int(cfg["dim"] * 4)
    inner, k = cfg["fsmn_dim"], 2 * cfg["fsmn_lorder"] - 1
    rd = min(32, qk)
    freqs = rot_freqs if rot_freqs is not None else 1.0 / 10000 ** (torch.arange(0, rd, 2).float() / rd)
    sd = {"norm.weight": torch.randn(enc), "norm.bias": torch.randn(enc), "conv1d_encoder.weight": torch.randn(dim, enc, 1),
          "pos_enc.scale": torch.randn(1), "pos_enc.inv_freq": 1.0 / 10000 ** (torch.arange(0, dim, 2).float() / dim),
          "conv1d_out.weight": torch.randn(2 * dim, dim, 1), "conv1d_out.bias": torch.randn(2 * dim),
          "conv1_decoder.weight": torch.randn(enc, dim, 1), "prelu.weight": torch.randn(1),
          "output.0.weight": torch.randn(dim, dim, 1), "output.0.bias": torch.randn(dim),
          "output_gate.0.weight": torch.randn(dim, dim, 1), "output_gate.0.bias": torch.randn(dim),
          f"{seq_norm}weight": torch.randn(dim), f"{seq_norm}bias": torch.randn(dim),
          f"{block_norm}weight": torch.randn(dim), f"{block_norm}bias": torch.randn(dim)}  # fmt: skip
    for i in range(cfg["depth"]):
        p = f"{body}.layers.{i}"
        sd.update(_ffn(f"{p}.to_hidden", dim, hid) | _ffn(f"{p}.to_qk", dim, qk) | _ffn(f"{p}.to_out", hid // 2, dim))
        sd.update({f"{p}.qk_offset_scale.gamma": torch.randn(4, qk), f"{p}.qk_offset_scale.beta": torch.randn(4, qk),
                   f"{p}.rotary_pos_emb.freqs": freqs.clone()})  # fmt: skip
        if not fsmn:
            continue
        f = f"{body}.fsmn.{i}"
        g = f"{f}.gated_fsmn"
        sd.update({f"{f}.conv1.0.weight": torch.randn(inner, dim, 1), f"{f}.conv1.0.bias": torch.randn(inner),
                   f"{f}.conv1.1.weight": torch.randn(1), f"{f}.norm1.weight": torch.randn(inner),
                   f"{f}.norm1.bias": torch.randn(inner), f"{f}.norm2.weight": torch.randn(inner),
                   f"{f}.norm2.bias": torch.randn(inner), f"{f}.conv2.weight": torch.randn(dim, inner, 1),
                   f"{f}.conv2.bias": torch.randn(dim), f"{g}.fsmn.linear.weight": torch.randn(inner, inner),
                   f"{g}.fsmn.linear.bias": torch.randn(inner), f"{g}.fsmn.project.weight": torch.randn(inner, inner)})
        sd.update(_ffn(f"{g}.to_u", inner, inner, "layer") | _ffn(f"{g}.to_v", inner, inner, "layer"))
        for j in (1, 2):
            sd.update({f"{g}.fsmn.conv.conv{j}.weight": torch.randn(inner, j, k, 1),
                       f"{g}.fsmn.conv.norm{j}.weight": torch.randn(inner), f"{g}.fsmn.conv.norm{j}.bias": torch.randn(inner),
                       f"{g}.fsmn.conv.prelu{j}.weight": torch.randn(inner)})  # fmt: skip
    return sd


def _enc_dec(cfg=TINY):
    return torch.randn(cfg["enc_dim"], 1, cfg["kernel_size"]), torch.randn(cfg["enc_dim"], 1, cfg["kernel_size"])


def _check_loaded(model, converted, original_key, original):
    model.load_state_dict(converted, strict=True)
    with torch.no_grad():
        assert model(torch.randn(1, 100)).shape == (1, 2, 100)
    # a spot check that values travelled to the right place
    return torch.equal(converted[original_key], original)


def test_convert_clearvoice_mossformer2_ss_16k():
    mask = _upstream_masknet("mdl.intra_mdl.mossformerM", "mdl.intra_mdl.norm.", "mdl.intra_norm.", fsmn=True)
    enc, dec = _enc_dec()
    sd = {"model.enc.conv1d.weight": enc, "model.dec.weight": dec, **{f"model.mask_net.{k}": v for k, v in mask.items()}}
    out = convert_clearvoice({"model": {f"module.{k}": v for k, v in sd.items()}})  # DataParallel + wrapper dict
    m = tiny(fsmn=True)
    assert _check_loaded(m, out, "masker.blocks.1.fsmn.memory.dense.convs.1.weight",
                         mask["mdl.intra_mdl.mossformerM.fsmn.1.gated_fsmn.fsmn.conv.conv2.weight"][..., 0])  # fmt: skip
    assert torch.equal(out["masker.blocks.0.attn.qk_scale"], mask["mdl.intra_mdl.mossformerM.layers.0.qk_offset_scale.gamma"])
    assert torch.equal(out["masker.norm_seq.weight"], mask["mdl.intra_mdl.norm.weight"])
    assert torch.equal(out["encoder.weight"], enc) and torch.equal(out["decoder.weight"], dec)


def test_convert_mossformer2_standalone_three_files():
    mask = _upstream_masknet("dual_mdl.0.intra_mdl.mdl.flashT", "dual_mdl.0.intra_mdl.mdl.norm.norm.",
                             "dual_mdl.0.intra_norm.", fsmn=True)  # fmt: skip
    enc, dec = _enc_dec()
    sd = {"encoder.conv1d.weight": enc, "decoder.weight": dec, **{f"masknet.{k}": v for k, v in mask.items()}}
    out = convert_mossformer2_standalone(sd)
    assert _check_loaded(tiny(fsmn=True), out, "masker.blocks.0.fsmn.to_u.norm.weight",
                         mask["dual_mdl.0.intra_mdl.mdl.flashT.fsmn.0.gated_fsmn.to_u.mdl.0.weight"])  # fmt: skip
    assert torch.equal(out["masker.out_gate.weight"], mask["output_gate.0.weight"])


def test_convert_modelscope_mossformer():
    mask = _upstream_masknet("mdl.att_mdl.mossformerM", "mdl.att_mdl.norm.norm.", "mdl.att_norm.", fsmn=False)
    enc, dec = _enc_dec()
    sd = {"encoder.conv1d.weight": enc, "decoder.weight": dec, **{f"mask_net.{k}": v for k, v in mask.items()}}
    out = convert_modelscope_mossformer(sd)
    assert _check_loaded(tiny(fsmn=False), out, "masker.blocks.1.attn.to_out.dwconv.weight",
                         mask["mdl.att_mdl.mossformerM.layers.1.to_out.mdl.3.sequential.1.conv.weight"])  # fmt: skip


def test_converters_refuse_foreign_or_inconsistent_checkpoints():
    with pytest.raises(WeightsIntegrityError, match="not a ClearVoice"):
        convert_clearvoice({"encoder.conv1d.weight": torch.zeros(1)})
    mask = _upstream_masknet("mdl.att_mdl.mossformerM", "mdl.att_mdl.norm.norm.", "mdl.att_norm.", fsmn=False,
                             rot_freqs=torch.ones(4))  # fmt: skip
    enc, dec = _enc_dec()
    with pytest.raises(WeightsIntegrityError, match="rotary frequencies"):
        convert_modelscope_mossformer({"encoder.conv1d.weight": enc, "decoder.weight": dec,
                                       **{f"mask_net.{k}": v for k, v in mask.items()}})  # fmt: skip


# ------------------------------------------------------------------------------------- loss, metrics
def test_pit_si_snr_finds_the_permutation_and_sisnri_of_mixture_is_zero():
    torch.manual_seed(0)
    ref = torch.randn(3, 2, 400)
    mix = ref.sum(1)
    est = ref + 0.1 * torch.randn(3, 2, 400)
    best_same, _ = pit_si_snr(2.0 * est, ref)
    best_swap, perm = pit_si_snr(est.flip(1), ref)
    expected = (10 * torch.log10(ref.pow(2).sum(-1) / (est - ref).pow(2).sum(-1))).mean(-1)  # ~ SI-SNR at 20 dB
    torch.testing.assert_close(best_same, best_swap)
    torch.testing.assert_close(best_same, expected, atol=0.05, rtol=0)
    assert perm.tolist() == [[1, 0]] * 3
    m = SISNR(improvement=True)
    m.update(mix[:, None].repeat(1, 2, 1), ref, mix)
    assert abs(float(m.compute())) < 1e-4


def test_training_steps_reduce_the_loss():
    torch.manual_seed(0)
    m = tiny().train()
    t = torch.arange(800) / 8000
    ref = torch.stack([torch.sin(2 * torch.pi * 440 * t), torch.sign(torch.sin(2 * torch.pi * 97 * t)) * 0.5])[None]
    mix = ref.sum(1)
    opt = torch.optim.Adam(m.parameters(), 3e-3)
    losses = []
    for _ in range(12):
        loss = -pit_si_snr(m(mix), ref)[0].mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0] - 3.0, losses


# ------------------------------------------------------------------------------------------------ data
def _write_speakers(root, rate=16000, n=4):
    rng = np.random.default_rng(0)
    for spk, f0 in (("ann", 150.0), ("bob", 110.0), ("cyd", 220.0)):
        (root / spk).mkdir(parents=True)
        for i in range(n):
            t = np.arange(int(rate * (0.3 + 0.1 * i))) / rate
            x = 0.3 * np.sin(2 * np.pi * f0 * (1 + 0.1 * i) * t) + 0.01 * rng.standard_normal(t.size)
            sf.write(root / spk / f"{i}.wav", x.astype(np.float32), rate)


def test_datamodule_on_a_folder_resamples_splits_and_mixes(tmp_path):
    from zoo.audio.data import MixtureDataModule, scan

    _write_speakers(tmp_path / "wavs", n=10)
    rows = scan(tmp_path / "wavs")
    assert {r["speaker"] for r in rows} == {"ann", "bob", "cyd"}
    assert [r["split"] for r in rows if r["speaker"] == "ann"] == ["test", "val"] + ["train"] * 8
    dm = MixtureDataModule(tmp_path / "wavs", sample_rate=8000, segment_seconds=0.5, batch_size=2, train_size=4,
                           val_size=3, test_size=5, seed=3, protocol="sparse")  # fmt: skip
    dm.setup()
    mix, src = dm.test_set[2]
    assert mix.shape == (4000,) and src.shape == (2, 4000)
    torch.testing.assert_close(mix, src.sum(0))
    assert abs(float(mix.pow(2).mean().sqrt()) - 0.1) < 1e-5
    level = 20 * torch.log10(src[0].pow(2).mean().sqrt() / src[1].pow(2).mean().sqrt())
    assert -5.0 - 1e-4 <= float(level) <= 5.0 + 1e-4
    again = MixtureDataModule(tmp_path / "wavs", sample_rate=8000, segment_seconds=0.5, test_size=5, seed=3,
                              splits=("test",), protocol="sparse")  # fmt: skip
    again.setup()
    torch.testing.assert_close(again.test_set[2][0], mix)  # fixed-seed test mixtures
    assert again.train_set is None
    a, b = dm.train_set[0][0], dm.train_set[1][0]
    assert not torch.equal(a, b)  # dynamic mixing: every item of the stream is drawn anew


def test_overlap_protocol_min_max_levels_and_a_stream_that_resumes(tmp_path):
    from zoo.audio.data import MixtureDataModule

    _write_speakers(tmp_path / "wavs", n=10)
    kw = dict(sample_rate=8000, segment_seconds=0.5, batch_size=2, train_size=4, val_size=3, test_size=6, seed=3,
              digits=(2, 3), gap_seconds=(0.1, 0.1))  # fmt: skip
    lo, hi = MixtureDataModule(tmp_path / "wavs", mode="min", **kw), MixtureDataModule(tmp_path / "wavs", mode="max", **kw)
    lo.setup()
    hi.setup()
    ds = lo.test_set
    for i in range(6):
        (mix, src), (mix_max, src_max) = lo.test_set[i], hi.test_set[i]
        idx, gaps, gain, mode, _ = ds.recipes[i]
        assert mode == "min" and hi.test_set.recipes[i][:3] == (idx, gaps, gain)  # same utterances and levels
        lengths = [ds.utterance(j, g).numel() for j, g in zip(idx, gaps)]
        assert mix.numel() == min(lengths) and mix_max.numel() == max(lengths)  # both start at sample 0
        assert all(2 <= len(j) <= 3 and all(v == 800 for v in g) for j, g in zip(idx, gaps))
        torch.testing.assert_close(mix, src.sum(0))
        assert abs(float(mix.pow(2).mean().sqrt()) - 0.1) < 1e-5
        short = int(np.argmin(lengths))
        assert float(src_max[short, min(lengths):].abs().sum()) == 0.0  # max mode zero-pads the shorter source
        # each source is set g/2 dB off unit RMS over its whole utterance: the max-mode ratio is exactly g
        level = 20 * torch.log10(src_max[0].pow(2).sum().sqrt() / src_max[1].pow(2).sum().sqrt()
                                 * (lengths[1] / lengths[0]) ** 0.5)  # fmt: skip
        assert abs(float(level) - gain) < 1e-3 and -5.0 <= gain <= 5.0
    # the training stream: item k depends on (seed, k) only, crops of segment_seconds
    train = lo.train_set
    first = [train[i][0] for i in range(4)]
    train.epoch = 1
    second = [train[i][0] for i in range(4)]
    assert all(x.shape == (4000,) for x in first + second)
    assert not any(torch.equal(a, b) for a, b in zip(first, second))
    train.epoch = 0
    assert all(torch.equal(a, train[i][0]) for i, a in enumerate(first))  # the same again: resumable


def test_datamodule_errors(tmp_path):
    from zoo.audio.data import MixtureDataModule, scan

    with pytest.raises(InputError, match="data folder not found"):
        scan(tmp_path / "nope")
    (tmp_path / "flat").mkdir()
    sf.write(tmp_path / "flat" / "x.wav", np.zeros(100, np.float32), 8000)
    with pytest.raises(InputError, match="cannot tell the speaker"):
        scan(tmp_path / "flat")
    with pytest.raises(InputError, match="snr_range"):
        MixtureDataModule(tmp_path, snr_range=(5, -5))
    with pytest.raises(InputError, match="sample rate"):
        MixtureDataModule(tmp_path, sample_rate=10)


@pytest.mark.skipif(data_dir() is None or not (data_dir() / "audio" / "fsdd").is_dir(), reason="FSDD not available")
def test_fsdd_official_split_and_test_mixtures_use_test_utterances_only():
    from zoo.audio.data import FSDD_PATTERN, MixtureDataModule, scan

    root = data_dir() / "audio" / "fsdd" / "recordings"
    rows = scan(root)
    assert len(rows) == 3000 and len({r["speaker"] for r in rows}) == 6
    for r in rows:
        idx = int(FSDD_PATTERN.match(r["path"].name)["index"])
        assert r["split"] == ("test" if idx <= 4 else "val" if idx <= 9 else "train")
    dm = MixtureDataModule(root, test_size=6, splits=("test",))
    dm.setup()
    assert dm.test_files == 300
    ds = dm.test_set
    test_speakers = {r["speaker"] for r in rows if r["split"] == "test"}
    for idx, _, _, _, _ in ds.recipes:
        spk = [{str(ds.spk[j]) for j in files} for files in idx]
        assert all(len(s) == 1 for s in spk) and spk[0] != spk[1]  # one speaker per source, two different ones
        assert spk[0] | spk[1] <= test_speakers


# ------------------------------------------------------------------------------------------------- I/O
def test_read_audio_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_audio(tmp_path / "missing.wav")
    (tmp_path / "garbage.wav").write_bytes(b"RIFF this is not audio")
    with pytest.raises(InputError, match="cannot read"):
        read_audio(tmp_path / "garbage.wav")
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 8000)
    with pytest.raises(InputError, match="empty"):
        read_audio(tmp_path / "empty.wav")
    sf.write(tmp_path / "silent.wav", np.zeros(800, np.float32), 8000)
    with pytest.raises(InputError, match="silent"):
        read_audio(tmp_path / "silent.wav")
    sf.write(tmp_path / "slow.wav", np.ones(80, np.float32) * 0.1, 100)
    with pytest.raises(InputError, match="between 1000 and 384000"):
        read_audio(tmp_path / "slow.wav")


# ------------------------------------------------------------------------------------------------- CLI
def test_zoo_separate_end_to_end_and_errors(tmp_path, capsys, registry_sandbox):
    from zoo.cli import main
    from zoo.hub import save_pretrained
    from zoo.loading import build

    model = build("mossformer2", dict(TINY, fsmn=True), name="mossformer2-fsdd2mix")
    save_pretrained(model, tmp_path / "ckpt")
    rate = 16000  # not the model's 8 kHz: resampled in and out
    t = np.arange(int(rate * 1.3)) / rate
    stereo = np.stack([0.3 * np.sin(2 * np.pi * 300 * t), 0.2 * np.sin(2 * np.pi * 520 * t)], axis=1)
    sf.write(tmp_path / "mix.wav", stereo.astype(np.float32), rate)
    rc = main(["separate", "mossformer2-fsdd2mix", str(tmp_path / "mix.wav"), "--out", str(tmp_path / "out"),
               "--weights", str(tmp_path / "ckpt"), "--plot", str(tmp_path / "spec.png"), "--chunk-seconds", "0.5",
               "--overlap-seconds", "0.1", "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "2 channels; mixing them down" in err and "resampling mix.wav from 16000 Hz" in err
    for i in (1, 2):
        data, sr = sf.read(tmp_path / "out" / f"mix_spk{i}.wav")
        assert sr == rate and data.shape == (t.size,) and np.abs(data).max() > 0
    assert (tmp_path / "spec.png").stat().st_size > 1000
    # eval on a folder of speakers: SI-SNR / SI-SNRi of fixed mixtures as JSON
    _write_speakers(tmp_path / "spk", n=10)
    rc = main(["eval", "mossformer2-fsdd2mix", "--weights", str(tmp_path / "ckpt"), "--data", str(tmp_path / "spk"),
               "--mixtures", "3", "--json"])  # fmt: skip
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rc == 0 and res["protocol"] == "overlap" and res["split"] == "test" and sorted(res["results"]) == ["max", "min"]
    for r in res["results"].values():
        assert r["mixtures"] == 3 and abs(r["si_snri"] - (r["si_snr"] - r["input_si_snr"])) < 0.01
    rc = main(["eval", "mossformer2-fsdd2mix", "--weights", str(tmp_path / "ckpt"), "--data", str(tmp_path / "spk"),
               "--mixtures", "3", "--protocol", "sparse"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0 and "mossformer2-fsdd2mix sparse test (3 mixtures): sparse SI-SNRi" in out
    # bad input: a clear message and exit status 2
    sf.write(tmp_path / "silent.wav", np.zeros(800, np.float32), 8000)
    rc = main(["separate", "mossformer2-fsdd2mix", str(tmp_path / "silent.wav"), "--out", str(tmp_path / "o2"),
               "--weights", str(tmp_path / "ckpt")])  # fmt: skip
    assert rc == 2 and "is silent" in capsys.readouterr().err
    # an entry registered without weights says how to get them
    import dataclasses

    from zoo.registry import get_entry, register_model

    register_model(dataclasses.replace(get_entry("mossformer2-fsdd2mix"), name="mossformer2-untrained", weights=None,
                                       metrics=[], aliases=()))  # fmt: skip
    rc = main(["separate", "mossformer2-untrained", str(tmp_path / "mix.wav"), "--out", str(tmp_path / "o3")])
    assert rc == 2 and "zoo train mossformer2-untrained" in capsys.readouterr().err


FSDD = pytest.mark.skipif(data_dir() is None or not (data_dir() / "audio" / "fsdd").is_dir(), reason="FSDD not available")
SEPARATORS = ["convtasnet-fsdd2mix", "mossformer-fsdd2mix", "mossformer2-fsdd2mix"]
# SI-SNRi (dB) per overlap mode of the registered weights on the first 8 fixed FSDD test mixtures (`zoo eval NAME
# --mixtures 8`), measured by `python -m zoo.audio.publish` (results.json of each folder); the 300-mixture figures are on
# the cards.
PINNED_CHECK_SI_SNRI = {"convtasnet-fsdd2mix": {"min": 9.79, "max": 10.301},
                        "mossformer-fsdd2mix": {"min": 10.449, "max": 10.966},
                        "mossformer2-fsdd2mix": {"min": 10.345, "max": 10.855}}


def test_registered_separators_have_weights_metrics_and_a_baseline_comparison():
    from zoo.audio.publish import _load_trained
    from zoo.audio.task import paired_difference
    from zoo.registry import get_entry, list_models

    TRAINED = _load_trained()  # noqa: N806 - name -> measured facts, from the model folders' results.json
    assert list_models("*-fsdd2mix") == SEPARATORS
    assert len({TRAINED[k]["steps"] for k in SEPARATORS}) == 1, "the three must be trained identically"
    for n in SEPARATORS:
        e, facts = get_entry(n), TRAINED[n]
        assert e.weights is not None and e.weights.sha256 == facts["sha256"] and e.train_command == f"zoo train {n}"
        assert facts["protocol"] == "overlap" and facts["check_si_snri"] == PINNED_CHECK_SI_SNRI[n]
        metrics = {m.name: m for m in e.metrics}
        for mode in ("min", "max"):  # the headline: fully overlapped mixtures, both modes
            m = metrics[f"SI-SNRi (overlap, {mode})"]
            assert m.value == facts["test"][mode]["si_snri"] and m.command == f"zoo eval {n}"
            assert f"{mode} mode" in m.protocol and "closed-set: all 6 speakers are seen in training" in m.protocol
            each = facts["si_snri_per_mixture"][mode]
            assert len(each) == 300 and abs(sum(each) / 300 - m.value) < 1e-3
        assert list(metrics)[:2] == ["SI-SNRi (overlap, min)", "SI-SNRi (overlap, max)"]
        assert metrics["SI-SNRi (sparse protocol)"].command == f"zoo eval {n} --protocol sparse"
        assert "FSDD has 6 speakers and all of them are seen in training" in e.description
    base = TRAINED["convtasnet-fsdd2mix"]
    for n in SEPARATORS[1:]:
        desc = get_entry(n).description
        assert f"{base['test']['min']['si_snri']:.2f} dB (min mode)" in desc  # the card shows the baseline's numbers
        for mode in ("min", "max"):  # mixture by mixture against the baseline, from the stored scores
            paired = TRAINED[n]["vs_baseline"][mode]
            assert paired == paired_difference(TRAINED[n]["si_snri_per_mixture"][mode], base["si_snri_per_mixture"][mode])
            diff = TRAINED[n]["test"][mode]["si_snri"] - base["test"][mode]["si_snri"]
            assert paired["mixtures"] == 300 and abs(paired["mean_db"] - diff) < 2e-3
            lo, hi = (f"{v:+.2f}" if abs(v) >= 0.005 else f"{v:+.3f}" for v in paired["ci95_db"])  # -0.001, not -0.00
            assert f"95 % interval {lo} to {hi} dB" in desc
    assert "95 % interval +0.92 to +1.19 dB" in get_entry("mossformer2-fsdd2mix").description


def test_registered_separator_cards_quote_the_current_figures_of_the_others():
    from zoo.audio.publish import _load_trained
    from zoo.audio.registry import entry_for_run
    from zoo.promote import facts_from_entry
    from zoo.registry import get_entry, models_dir

    trained = _load_trained()
    for n in SEPARATORS:  # the folder's card text is what the stored facts of all three give now
        card = json.loads((models_dir() / n / "config.json").read_text())["card"]
        expected, _, _ = facts_from_entry(entry_for_run(n, trained[n], trained))
        assert card["description"] == expected["description"], f"{n}: stale card, run zoo.audio.publish.refresh_cards"
        assert card["training_notes"] == expected["training_notes"]
    m = trained["mossformer-fsdd2mix"]["test"]
    assert f"`mossformer-fsdd2mix` {m['min']['si_snri']:.2f} dB (min mode)" in get_entry("convtasnet-fsdd2mix").description


def test_refresh_cards_rewrites_only_stale_card_text(tmp_path, monkeypatch):
    from zoo.audio.publish import _load_trained, refresh_cards
    from zoo.hub import write_card
    from zoo.registry import models_dir

    registered = models_dir()
    for n in SEPARATORS:
        shutil.copytree(registered / n, tmp_path / n)
    trained = _load_trained()
    monkeypatch.setenv("ZOO_MODELS_DIR", str(tmp_path))
    stale = tmp_path / "convtasnet-fsdd2mix" / "config.json"
    config = json.loads(stale.read_text())
    config["card"]["description"] = config["card"]["description"].replace("`mossformer-fsdd2mix` ", "`mossformer-fsdd2mix` 1")
    stale.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    write_card(stale.parent)  # README.md rendered from the stale text
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert refresh_cards(trained, skip=["mossformer-fsdd2mix"]) == [tmp_path / "convtasnet-fsdd2mix"]
    changed = sorted(p.relative_to(tmp_path).as_posix() for p in before if p.read_bytes() != before[p])
    assert changed == ["convtasnet-fsdd2mix/README.md", "convtasnet-fsdd2mix/config.json"]  # weights untouched
    for name in ("README.md", "config.json"):  # back to the registered folder's bytes
        assert (stale.parent / name).read_bytes() == (registered / "convtasnet-fsdd2mix" / name).read_bytes()
    assert refresh_cards(trained, skip=["mossformer-fsdd2mix"]) == []  # nothing stale any more


def test_card_states_training_time_and_a_resumed_runs_threads():
    from zoo.audio.publish import _load_trained
    from zoo.audio.recipes import RECIPES
    from zoo.audio.registry import _duration, _schedule, _stage_starts, entry_for_run, thread_ranges

    assert (_duration(2845.3), _duration(3600.0), _duration(5141.1)) == ("under an hour", "about 1.0 hours", "about 1.4 hours")
    facts = _load_trained()["convtasnet-fsdd2mix"]
    e = entry_for_run("convtasnet-fsdd2mix", facts)
    assert "a small model trained for about 1.9 hours on one CPU thread," in e.description
    # the three stages of the recipe, and which checkpoint is kept (the last stage's best validation)
    assert ("Training: 10000 steps of batch 4 with dynamic mixing under the same protocol (2.0 s crops, min and max mode), "
            "Adam 0.001, warm-up then cosine, then two warm restarts, each from the best weights of the stage before "
            "with a fresh Adam, warm-up and cosine (the data stream goes on): 6000 steps from 0.0005, then 3000 steps "
            "from 0.00025, 19000 steps in all, PIT SI-SNR loss, one CPU thread for 112 min; the checkpoint with the "
            "best validation SI-SNRi of the last stage (step 19000, 10.76 dB on 100 validation mixtures) is kept.") in e.description
    assert ("(min and max mode alternating; the later stages begin after steps 10000 and 16000): 250: 0.36 dB,"
            in e.extra["training_notes"])  # fmt: skip
    assert facts["earlier_stages"] == [{"steps": 10000, "train_seconds": 2845.3, "threads": 1, "best_step": 9750},
                                       {"steps": 6000, "train_seconds": 2193.3, "threads": 1, "best_step": 5750}]
    # a run with one restart names its two stages
    two = {**facts, "steps": 16000, "earlier_stages": facts["earlier_stages"][:1]}
    assert _schedule(dict(RECIPES["convtasnet-fsdd2mix"], restart={"max_steps": 6000, "lr": 5e-4}), two).endswith(
        "warm-up then cosine, then 6000 more steps from the best of those weights with a fresh Adam, warm-up and cosine "
        "from 0.0005 (a warm restart; the data stream goes on), 16000 steps in all")
    assert _stage_starts(two) == "; the second stage begins after step 10000" and _stage_starts({}) == ""
    resumed = {**facts, "train_seconds": 5141.1, "threads": 2, "threads_note": "one thread, then two"}
    e = entry_for_run("convtasnet-fsdd2mix", resumed)
    assert "PIT SI-SNR loss, one thread, then two for 86 min;" in e.description
    assert "a small model trained for about 1.4 hours on one thread, then two," in e.description
    assert "(one thread, then two, 5141 s of training on a 2-core CPU)" in e.extra["training_notes"]
    # without a note, the recorded segments (steps across stages) say it; unrecorded steps are named as such
    segments = [{"steps": [4001, 10000], "threads": 1}, {"steps": [10001, 12500], "threads": 2},
                {"steps": [12501, 12500], "threads": 1}, {"steps": [12501, 19000], "threads": 2}]
    assert thread_ranges(segments) == [(1, 4000, None), (4001, 10000, 1), (10001, 19000, 2)]
    e = entry_for_run("convtasnet-fsdd2mix", {**facts, "threads": 2, "segments": segments})
    assert ("PIT SI-SNR loss, steps 1-4 000 not recorded, one CPU thread for steps 4 001-10 000, 2 CPU threads for "
            "steps 10 001-19 000 for 112 min;") in e.description
    assert "6735 s of training on a 2-core CPU)" in e.extra["training_notes"]
    e = entry_for_run("convtasnet-fsdd2mix", {**facts, "segments": [{"steps": [1, 19000], "threads": 1}]})
    assert "a small model trained for about 1.9 hours on one CPU thread," in e.description


def test_paired_difference_pinned_and_errors():
    from zoo.audio.task import paired_difference

    got = paired_difference([10.0, 12.0, 11.0, 9.0], [9.0, 11.5, 11.5, 7.0])  # differences 1, .5, -.5, 2
    se = statistics.stdev([1.0, 0.5, -0.5, 2.0]) / 2
    assert got == {"mixtures": 4, "mean_db": 0.75, "stderr_db": round(se, 3),
                   "ci95_db": [round(0.75 - 1.96 * se, 3), round(0.75 + 1.96 * se, 3)], "better_share": 0.75}
    with pytest.raises(InputError, match=r"equally long .* got \(3,\) and \(2,\)"):
        paired_difference([1.0, 2.0, 3.0], [1.0, 2.0])


@FSDD
@pytest.mark.parametrize("name", SEPARATORS)
def test_registered_weights_reproduce_the_pinned_si_snri(name, monkeypatch):
    import zoo
    from zoo.audio.cli import evaluate_protocol

    monkeypatch.setenv("ZOO_DATA_DIR", str(data_dir()))
    model = zoo.load(name)
    res = evaluate_protocol(model, name, mixtures=8, per_mixture=True)["results"]
    assert sorted(res) == ["max", "min"]
    for mode, r in res.items():
        assert r["mixtures"] == 8
        assert abs(r["si_snri"] - PINNED_CHECK_SI_SNRI[name][mode]) < 0.02, (mode, r)
        each = r["si_snri_per_mixture"]  # what the paired comparison with the baseline pairs
        assert len(each) == 8 and abs(sum(each) / 8 - r["si_snri"]) < 1e-3 and len(set(each)) == 8


@FSDD
def test_zoo_separate_with_registered_weights_separates_a_real_mixture(tmp_path, capsys, monkeypatch):
    from zoo.audio.data import MixtureDataModule
    from zoo.audio.recipes import TEST_PROTOCOLS
    from zoo.audio.task import mixture_si_snr
    from zoo.cli import main

    spec = {k: v for k, v in TEST_PROTOCOLS["overlap"].items() if k != "modes"}
    dm = MixtureDataModule(data_dir() / "audio" / "fsdd", splits=("test",), mode="min", **{**spec, "test_size": 2})
    dm.setup()  # a fully overlapped test mixture, as on the cards
    mix, src = dm.test_set[1]
    sf.write(tmp_path / "some_mix.wav", mix.numpy(), 8000)
    rc = main(["separate", "mossformer2-fsdd2mix", str(tmp_path / "some_mix.wav"), "--out", str(tmp_path / "x"),
               "--no-progress"])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    est = torch.stack([torch.from_numpy(sf.read(tmp_path / "x" / f"some_mix_spk{i}.wav", dtype="float32")[0]) for i in (1, 2)])
    improvement = pit_si_snr(est[None], src[None])[0] - mixture_si_snr(mix[None], src[None])
    assert improvement.item() > 2.0  # written files are separated (2.75 dB on this fully overlapped mixture)


def test_recipe_overrides_reach_nested_fields_and_refuse_unknown_ones():
    from zoo.audio.recipes import RECIPES
    from zoo.audio.train import apply_overrides

    base = RECIPES["mossformer2-fsdd2mix"]
    r = apply_overrides(base, ["optim.lr=0.002", "model_args.group_size=256", "max_steps=800"])
    assert (r["optim"]["lr"], r["model_args"]["group_size"], r["max_steps"]) == (0.002, 256, 800)
    assert base["optim"]["lr"] == 1e-3 and base["model_args"]["group_size"] == 64  # the registry's recipe is untouched
    with pytest.raises(InputError, match="unknown recipe field 'max_step'"):
        apply_overrides(base, ["max_step=800"])
    with pytest.raises(InputError, match="no section 'optimizer'"):
        apply_overrides(base, ["optimizer.lr=0.1"])
    with pytest.raises(InputError, match="must be JSON"):
        apply_overrides(base, ["optim.scheduler=cosine"])
    with pytest.raises(InputError, match="KEY=JSON"):
        apply_overrides(base, ["optim.lr"])


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path, monkeypatch):
    """4 steps in one go == interrupted after 2, then ``resume``: the same weights (the stream is drawn from
    (seed, item), the optimiser and schedule come back from the checkpoint)."""
    from zoo.audio import data
    from zoo.audio.recipes import train_recipe
    from zoo.audio.train import run_training
    from zoo.loading import build

    seen = []  # (epoch, item) of every training mixture drawn
    getitem = data._Mixtures.__getitem__

    def spy(self, i):
        if not self.fixed:
            seen.append((self.epoch, i))
        return getitem(self, i)

    monkeypatch.setattr(data._Mixtures, "__getitem__", spy)
    _write_speakers(tmp_path / "wavs", n=10)
    recipe = train_recipe("convtasnet-fsdd2mix")
    recipe.update(model_args=dict(recipe["model_args"], enc_num_feats=16, msk_num_feats=8, msk_num_hidden_feats=16,
                                  msk_num_layers=2, msk_num_stacks=1),
                  segment_seconds=0.25, train_size=4, val_size=2, test_size=2, val_every=2, batch_size=2,
                  digits=[1, 2], restart=None)  # fmt: skip (one stage)

    def run(out, stop_after=None, resume=False):
        torch.manual_seed(0)
        model = build("convtasnet", recipe["model_args"])
        run_training("convtasnet-fsdd2mix", model=model, recipe=recipe, out=tmp_path / out, data=tmp_path / "wavs",
                     max_steps=4, progress=False, resume=resume, stop_after=stop_after)  # fmt: skip
        return {k: v.clone() for k, v in torch.load(tmp_path / out / "last.ckpt", weights_only=False)["state_dict"].items()}

    whole = run("whole")
    assert seen == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1), (1, 2), (1, 3)]  # epoch 1 draws new items
    seen.clear()
    stopped = run("split", stop_after=2)
    ckpt = torch.load(tmp_path / "split" / "last.ckpt", weights_only=False)  # Lightning's Timer state is saved in it
    assert ckpt["callbacks"]["Timer"]["time_elapsed"]["train"] > 0
    ckpt["callbacks"]["Timer"]["time_elapsed"]["train"] = 1000.0  # as if the first part had taken 1000 s
    torch.save(ckpt, tmp_path / "split" / "last.ckpt")
    with pytest.raises(InputError, match="already holds a run"):
        run("split")
    seen.clear()
    resumed = run("split", resume=True)
    assert seen == [(1, 0), (1, 1), (1, 2), (1, 3)]  # continues the stream, does not restart it
    # the reported training time counts the part before the interruption (restored from the checkpoint); the two
    # resumed steps of this tiny model may take less than the 0.1 s the result is rounded to
    assert 1000.0 <= json.loads((tmp_path / "split" / "result.json").read_text())["train_seconds"] < 1100.0
    assert any(not torch.equal(stopped[k], whole[k]) for k in whole)  # it really stopped early
    assert whole.keys() == resumed.keys()
    for k in whole:
        torch.testing.assert_close(resumed[k], whole[k], rtol=0, atol=0)


def test_a_recipe_in_stages_restarts_from_the_best_weights_before_and_continues_the_stream(tmp_path, monkeypatch):
    from safetensors.torch import load_file

    import zoo.loading
    from zoo.audio import data
    from zoo.audio.publish import across_stages
    from zoo.audio.recipes import restart_stages, train_recipe
    from zoo.audio.train import run_training, val_history

    seen, loaded = [], []
    getitem, load = data._Mixtures.__getitem__, zoo.loading.load_weights_file

    def spy(self, i):
        if not self.fixed:
            seen.append((self.epoch, i))
        return getitem(self, i)

    def spy_load(model, path, sha256=None):
        loaded.append(Path(path))
        return load(model, path, sha256)

    monkeypatch.setattr(data._Mixtures, "__getitem__", spy)
    monkeypatch.setattr(zoo.loading, "load_weights_file", spy_load)
    _write_speakers(tmp_path / "wavs", n=10)
    recipe = train_recipe("convtasnet-fsdd2mix")
    assert recipe["max_steps"] == 10000
    assert recipe["restart"] == [{"max_steps": 6000, "lr": 5e-4}, {"max_steps": 3000, "lr": 2.5e-4}]
    recipe.update(model_args=dict(recipe["model_args"], enc_num_feats=16, msk_num_feats=8, msk_num_hidden_feats=16,
                                  msk_num_layers=2, msk_num_stacks=1),
                  segment_seconds=0.25, train_size=4, val_size=2, test_size=2, val_every=2, batch_size=2,
                  digits=[1, 2], max_steps=2, restart=[{"max_steps": 2, "lr": 2e-4}, {"max_steps": 2, "lr": 1e-4}])  # fmt: skip
    out = tmp_path / "run"
    res = run_training("convtasnet-fsdd2mix", recipe=recipe, out=out, data=tmp_path / "wavs", progress=False)
    # stage 1 draws epoch 0 of the stream; each later stage goes on with the next epoch instead of drawing epoch 0 again
    assert seen == [(epoch, i) for epoch in range(3) for i in range(4)]
    # each later stage starts from the best weights of the stage before (checked against their recorded sha256: below)
    assert loaded == [out / "stage1" / "hub" / "model.safetensors", out / "stage2" / "hub" / "model.safetensors"]
    stages = [json.loads((out / f"stage{k}" / "result.json").read_text()) for k in (1, 2)]
    assert (stages[1]["recipe"]["stream_offset"], stages[1]["recipe"]["optim"]["lr"]) == (1, 2e-4)
    assert (res["steps"], res["recipe"]["stream_offset"], res["recipe"]["optim"]["lr"]) == (2, 2, 1e-4)
    assert "restart" not in res["recipe"] and res["recipe"]["init"] == str(out / "stage2" / "hub")
    assert res["earlier_stages"] == [
        {"steps": 2, "train_seconds": s["train_seconds"], "threads": s["threads"], "segments": s["segments"],
         "best_step": 2, "val_si_snri": {2: val_history(out / f"stage{k}")[2]}} for k, s in zip((1, 2), stages)]  # fmt: skip
    # each stage records its one fit: steps counted in the stage, this process's thread count
    threads = torch.get_num_threads()
    assert [[(g["steps"], g["threads"]) for g in r["segments"]] for r in stages + [res]] == [[([1, 2], threads)]] * 3
    assert [s["steps"] for s in json.loads((out / "result.json").read_text())["earlier_stages"]] == [2, 2]
    assert load_file(out / "stage1" / "hub" / "model.safetensors").keys() == load_file(out / "hub" / "model.safetensors").keys()
    with pytest.raises(InputError, match=r"already holds a run \(stage1/last.ckpt\): pass --resume"):
        run_training("convtasnet-fsdd2mix", recipe=recipe, out=out, data=tmp_path / "wavs", progress=False)
    with pytest.raises(InputError, match=r"--resume: expected a run folder with last.ckpt, got '.*none' without one"):
        run_training("convtasnet-fsdd2mix", recipe=recipe, out=tmp_path / "none", resume=True)
    # weights changed after their stage ended are refused when the next stage starts from them
    tampered = tmp_path / "tampered"
    shutil.copytree(out / "stage1", tampered / "stage1")
    (tampered / "stage1" / "hub" / "model.safetensors").write_bytes(
        (out / "stage2" / "hub" / "model.safetensors").read_bytes())
    with pytest.raises(WeightsIntegrityError, match=r"sha256 mismatch for .*tampered/stage1/hub/model.safetensors"):
        run_training("convtasnet-fsdd2mix", recipe=recipe, out=tampered, data=tmp_path / "wavs", progress=False, resume=True)
    config = json.loads((out / "stage1" / "hub" / "config.json").read_text())  # and a folder that records no sha256
    (tampered / "stage1" / "hub" / "config.json").write_text(json.dumps({k: v for k, v in config.items() if k != "weights_sha256"}))
    with pytest.raises(WeightsIntegrityError) as e:
        run_training("convtasnet-fsdd2mix", recipe=recipe, out=tampered, data=tmp_path / "wavs", progress=False, resume=True)
    assert str(e.value) == (f"{tampered / 'stage1' / 'hub' / 'config.json'} records no weights_sha256: expected the "
                            "sha256 of model.safetensors that save_pretrained records, so the weights cannot be verified")
    # one restart may be given as a dict; anything else is refused, saying what was expected
    assert restart_stages({"max_steps": 2, "lr": 0.1}) == [{"max_steps": 2, "lr": 0.1}] and restart_stages(None) == []
    with pytest.raises(InputError) as e:
        run_training("convtasnet-fsdd2mix", recipe=dict(recipe, restart=[{"max_steps": 2}]), out=tmp_path / "bad")
    assert str(e.value) == 'restart: expected {"max_steps": N, "lr": X}, a list of them or null, got [{"max_steps": 2}]'
    # what the model folder reports: steps, time, validations and segments counted across the stages
    last = {"steps": 2, "best_step": 1, "train_seconds": 3.3, "val_si_snri": {"1": 5.0, "2": 4.0}, "dtype": "float16",
            "segments": [{"steps": [1, 2], "threads": 2}]}
    got = across_stages(last, [{"steps": 10, "train_seconds": 20.0, "threads": 1, "best_step": 9,
                                "val_si_snri": {"5": 1.0, "10": 2.0},
                                "segments": [{"steps": [1, 6], "threads": 1}, {"steps": [7, 10], "threads": 2}]},
                               {"steps": 4, "train_seconds": 6.0, "threads": 2, "best_step": 4, "val_si_snri": {"4": 3.0}}])  # fmt: skip
    assert got == {"steps": 16, "best_step": 15, "train_seconds": 29.3, "dtype": "float16",
                   "val_si_snri": {5: 1.0, 10: 2.0, 14: 3.0, 15: 5.0, 16: 4.0},
                   "segments": [{"steps": [1, 6], "threads": 1}, {"steps": [7, 10], "threads": 2},
                                {"steps": [15, 16], "threads": 2}],
                   "earlier_stages": [{"steps": 10, "train_seconds": 20.0, "threads": 1, "best_step": 9},
                                      {"steps": 4, "train_seconds": 6.0, "threads": 2, "best_step": 4}]}  # fmt: skip


def test_the_curves_script_tabulates_validation_every_500_steps():
    import importlib.util

    spec = importlib.util.spec_from_file_location("audio_curves", Path(__file__).parents[1] / "benchmarks" / "audio_curves.py")
    curves = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(curves)
    full = {s: s / 250 for s in range(250, 1501, 250)}  # 1 ... 6: mean 3.5
    assert curves.markdown_table({"a": full, "b": {500: 1.234, 1500: 9.0}}) == (
        "| step | 500 | 1 000 | 1 500 | mean, steps 250–1 500 |\n|---|---|---|---|---|\n"
        "| a (dB) | 2.00 | 4.00 | 6.00 | 3.50 |\n| b (dB) | 1.23 | — | 9.00 | — |")
