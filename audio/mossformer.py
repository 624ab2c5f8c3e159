"""MossFormer and MossFormer2: monaural speech separation with gated single-head transformers.

- MossFormer (Zhao & Ma, ICASSP 2023, https://arxiv.org/abs/2302.11824): a Conv1d encoder, a masking
  network of gated single-head attention layers and a ConvTranspose1d decoder. Each layer projects the
  input with convolution-augmented feed-forward modules into two value streams ``v, u`` and one shared
  query/key vector that four scale-and-offset pairs turn into quadratic and linear queries and keys;
  joint local/global attention (`zoo.attention.joint_attention`, squared-ReLU inside chunks plus
  linear attention over the whole sequence) is applied to both streams, which gate each other.
  Rotary position embedding on the first 32 query/key features, token shift, ScaleNorm.
- MossFormer2 (Zhao et al., ICASSP 2024, https://arxiv.org/abs/2312.11825) adds after every
  attention layer a gated FSMN block: 1x1 conv, gated feed-forward branches and a memory made of
  dilated depthwise convolutions with dense connections ("RNN-free recurrence").

Layout and arithmetic follow the released code (ClearVoice ``MossFormer2_SS_16K``, the standalone
``alibabasglab/mossformer2-*`` files, ModelScope's MossFormer) so that their checkpoints load through
`convert_clearvoice`, `convert_mossformer2_standalone` and `convert_modelscope_mossformer`.

Example:
    >>> import torch
    >>> from zoo.audio import MossFormer
    >>> model = MossFormer(enc_dim=64, dim=64, depth=2, group_size=32, fsmn=True, sample_rate=8000).eval()
    >>> est = model.separate(torch.randn(2, 8000), batch=True)            # [2, 2, 8000]
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.attention import joint_attention
from zoo.errors import InputError, WeightsIntegrityError
from zoo.registry import register_architecture

from .api import SeparatorMixin

__all__ = [
    "MossFormer",
    "MossFormerLayer",
    "GatedFSMNBlock",
    "convert_clearvoice",
    "convert_mossformer2_standalone",
    "convert_modelscope_mossformer",
    "load_released",
    "RELEASED_CONFIGS",
]


# ConvFFN convolves through `depthwise_conv_fft` on CPU from this kernel length on: faster there for long kernels,
# slower for the released models' 17 (benchmarks/audio_dwconv.py measures both; set it to 0 / a huge value to force one)
FFT_MIN_KERNEL = 33
# Shorter depthwise / grouped convolutions (ConvFFN below FFT_MIN_KERNEL, the FSMN memory) run on CPU as conv2d on a
# channels-last ``[B, C, 1, T]`` view of the ``[B, T, C]`` features: no transposing copy, and oneDNN's channels-last
# depthwise kernels; equal outputs (benchmarks/audio_dwconv.py measures both; False forces nn.Conv1d)
CHANNELS_LAST_CONV = True


def _channels_last_path(x: Tensor) -> bool:
    return CHANNELS_LAST_CONV and x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)


def conv1d_channels_last(x: Tensor, weight: Tensor, padding: int, dilation: int = 1, groups: int = 1) -> Tensor:
    """``F.conv1d(x, weight, padding=padding, dilation=dilation, groups=groups)`` for ``x`` ``[B, C, T]`` (best a
    transposed view of ``[B, T, C]``), computed as conv2d on the channels-last ``[B, C, 1, T]`` view. Returns
    ``[B, C_out, T_out]`` whose memory is ``[B, T_out, C_out]`` (``.transpose(1, 2)`` of it is contiguous)."""
    x4 = x.unsqueeze(2).contiguous(memory_format=torch.channels_last)  # no copy for a transposed [B, T, C] view
    y = F.conv2d(x4, weight.unsqueeze(2), padding=(0, padding), dilation=(1, dilation), groups=groups)
    return y.squeeze(2)


# ------------------------------------------------------------------------------------------ blocks
class ScaleNorm(nn.Module):
    """``x / max(||x|| / sqrt(dim), eps) * g`` with one learned gain."""

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.scale = dim**-0.5
        self.eps = eps
        self.g = nn.Parameter(torch.ones(1))

    def forward(self, x: Tensor) -> Tensor:
        return x / (x.norm(dim=-1, keepdim=True) * self.scale).clamp(min=self.eps) * self.g


class ConvFFN(nn.Module):
    """Norm → Linear → SiLU → x + depthwise Conv1d(x) → dropout, on ``[B, T, C]`` (upstream ``FFConvM``)."""

    def __init__(self, dim_in: int, dim_out: int, norm: str = "scale", kernel_size: int = 17, dropout: float = 0.1):
        super().__init__()
        self.norm = ScaleNorm(dim_in) if norm == "scale" else nn.LayerNorm(dim_in)
        self.fc = nn.Linear(dim_in, dim_out)
        self.dwconv = nn.Conv1d(dim_out, dim_out, kernel_size, padding=kernel_size // 2, groups=dim_out, bias=False)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        h = F.silu(self.fc(self.norm(x)))
        k, cpu = self.dwconv.kernel_size[0], h.device.type == "cpu" and h.dtype in (torch.float32, torch.float64)
        if k >= FFT_MIN_KERNEL and cpu:
            h = h + depthwise_conv_fft(h, self.dwconv.weight)
        elif _channels_last_path(h):
            h = h + conv1d_channels_last(h.transpose(1, 2), self.dwconv.weight, k // 2, groups=h.shape[-1]).transpose(1, 2)
        else:
            h = h + self.dwconv(h.transpose(1, 2)).transpose(1, 2)
        return self.drop(h)


def depthwise_conv_fft(x: Tensor, weight: Tensor) -> Tensor:
    """``F.conv1d(x.transpose(1, 2), weight, padding=k // 2, groups=C).transpose(1, 2)`` computed with real FFTs
    along time, for ``x`` ``[B, T, C]`` and a depthwise ``weight`` ``[C, 1, k]`` with odd ``k``.

    On CPU its cost hardly grows with ``k``, so it beats the direct convolution for long kernels, forward and
    backward (``benchmarks/audio_dwconv.py``); the result agrees to float rounding.
    """
    t, k = x.shape[1], weight.shape[-1]
    nfft = 1 << (t + k - 2).bit_length()  # >= t + k - 1: no circular wrap-around
    spec = torch.fft.rfft(x.transpose(1, 2), n=nfft) * torch.fft.rfft(weight[:, 0].flip(-1), n=nfft)
    return torch.fft.irfft(spec, n=nfft)[..., k // 2 : k // 2 + t].transpose(1, 2)


def rotary(x: Tensor, rot_dim: int, base: float = 10000.0) -> Tensor:
    """Rotary position embedding on the first ``rot_dim`` features of ``[B, T, D]`` (interleaved pairs,
    positions 0..T-1; the convention of ``rotary_embedding_torch`` used by the released models)."""
    t = x.shape[-2]
    inv_freq = 1.0 / (base ** (torch.arange(0, rot_dim, 2, device=x.device, dtype=torch.float32) / rot_dim))
    ang = torch.arange(t, device=x.device, dtype=torch.float32)[:, None] * inv_freq  # [T, rot/2]
    cos, sin = ang.cos().to(x.dtype), ang.sin().to(x.dtype)
    xr, rest = x[..., :rot_dim], x[..., rot_dim:]
    x1, x2 = xr.unflatten(-1, (-1, 2)).unbind(-1)
    rotated = torch.stack((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1).flatten(-2)
    return torch.cat((rotated, rest), dim=-1)


class MossFormerLayer(nn.Module):
    """Gated single-head attention layer with joint local/global attention (upstream ``FLASH_ShareA_FFConvM``).

    Args:
        dim: feature size. group_size: chunk length of the local attention. qk_dim: query/key size.
        expansion: hidden size of the value streams is ``dim * expansion`` (split into ``v`` and ``u``).
        rotary_dim: features of q/k that get rotary embedding (``min(32, qk_dim)`` upstream).
        conv_kernel: odd length of the depthwise convolutions of the three feed-forward modules (17 upstream).
        dropout: of the feed-forward modules and the local attention matrix. causal: causal attention.

    >>> layer = MossFormerLayer(64, group_size=16)
    >>> layer(torch.randn(2, 50, 64)).shape
    torch.Size([2, 50, 64])
    """

    def __init__(self, dim: int, group_size: int = 256, qk_dim: int = 128, expansion: float = 4.0,
                 rotary_dim: int | None = None, dropout: float = 0.1, causal: bool = False,
                 shift_tokens: bool = True, conv_kernel: int = 17):  # fmt: skip
        super().__init__()
        hidden = int(dim * expansion)
        if conv_kernel < 1 or conv_kernel % 2 == 0:
            raise InputError(f"conv_kernel must be an odd number >= 1 (centred depthwise convolution), got {conv_kernel}")
        if hidden % 2:
            raise InputError(f"dim * expansion must be even (two value streams), got {hidden}")
        self.group_size, self.causal, self.shift_tokens, self.dropout = group_size, causal, shift_tokens, dropout
        self.rotary_dim = min(32, qk_dim) if rotary_dim is None else rotary_dim
        self.to_hidden = ConvFFN(dim, hidden, kernel_size=conv_kernel, dropout=dropout)
        self.to_qk = ConvFFN(dim, qk_dim, kernel_size=conv_kernel, dropout=dropout)
        self.qk_scale = nn.Parameter(torch.randn(4, qk_dim) * 0.02)  # quad_q, lin_q, quad_k, lin_k
        self.qk_offset = nn.Parameter(torch.zeros(4, qk_dim))
        self.to_out = ConvFFN(hidden // 2, dim, kernel_size=conv_kernel, dropout=dropout)

    def forward(self, x: Tensor) -> Tensor:
        residual = x
        if self.shift_tokens:  # half of the features see the previous frame
            shift, keep = x.chunk(2, dim=-1)
            x = torch.cat((F.pad(shift, (0, 0, 1, -1)), keep), dim=-1)
        v, u = self.to_hidden(x).chunk(2, dim=-1)
        qk = self.to_qk(x)[..., None, :] * self.qk_scale + self.qk_offset  # [B, T, 4, D]
        quad_q, lin_q, quad_k, lin_k = (rotary(t, self.rotary_dim) for t in qk.unbind(-2))
        att = joint_attention(quad_q, quad_k, lin_q, lin_k, torch.cat((v, u), dim=-1), group_size=self.group_size,
                              causal=self.causal, dropout_p=self.dropout if self.training else 0.0)  # fmt: skip
        att_v, att_u = att.chunk(2, dim=-1)
        out = (att_u * v) * torch.sigmoid(att_v * u)
        return residual + self.to_out(out)


class DilatedDenseConv(nn.Module):
    """Depthwise dilated convolutions (dilation 1, 2, 4, ...) with dense connections on ``[B, C, T]``.

    Layer ``i`` sees ``cat([out_{i-1}, ..., out_0, x])`` through a grouped conv with ``C`` groups (so each
    output channel reads ``i + 1`` consecutive input channels), then InstanceNorm and PReLU; the last
    layer's output is returned (upstream ``DilatedDenseNet``).
    """

    def __init__(self, channels: int, depth: int = 2, lorder: int = 20):
        super().__init__()
        k = 2 * lorder - 1
        self.convs = nn.ModuleList(
            nn.Conv1d(channels * (i + 1), channels, k, dilation=2**i, padding=2**i * (lorder - 1), groups=channels,
                      bias=False)  # fmt: skip
            for i in range(depth)
        )
        self.norms = nn.ModuleList(nn.InstanceNorm1d(channels, affine=True) for _ in range(depth))
        self.acts = nn.ModuleList(nn.PReLU(channels) for _ in range(depth))

    def forward(self, x: Tensor) -> Tensor:
        if _channels_last_path(x):
            return self._forward_channels_last(x)
        skip = x
        for conv, norm, act in zip(self.convs, self.norms, self.acts):
            out = act(norm(conv(skip)))
            skip = torch.cat((out, skip), dim=1)
        return out

    def _forward_channels_last(self, x: Tensor) -> Tensor:
        """The same computation on channels-last ``[B, C, 1, T]`` tensors (see `conv1d_channels_last`)."""
        skip = x.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        for conv, norm, act in zip(self.convs, self.norms, self.acts):
            out = F.conv2d(skip, conv.weight.unsqueeze(2), padding=(0, conv.padding[0]), dilation=(1, conv.dilation[0]),
                           groups=conv.groups)  # fmt: skip
            out = act(F.instance_norm(out, weight=norm.weight, bias=norm.bias, eps=norm.eps))
            skip = torch.cat((out, skip), dim=1)
        return out.squeeze(2)


class DilatedFSMN(nn.Module):
    """``x + DilatedDenseConv(W2 relu(W1 x))`` on ``[B, T, C]`` (upstream ``UniDeepFsmn_dilated``)."""

    def __init__(self, dim: int, hidden: int, lorder: int = 20, depth: int = 2):
        super().__init__()
        self.fc = nn.Linear(dim, hidden)
        self.proj = nn.Linear(hidden, dim, bias=False)
        self.dense = DilatedDenseConv(dim, depth=depth, lorder=lorder)

    def forward(self, x: Tensor) -> Tensor:
        p = self.proj(F.relu(self.fc(x)))
        return x + self.dense(p.transpose(1, 2)).transpose(1, 2)


class GatedFSMNBlock(nn.Module):
    """MossFormer2's recurrent module: 1x1 conv + PReLU, LayerNorm, gated FSMN, LayerNorm, 1x1 conv,
    residual, on ``[B, T, dim]`` (upstream ``Gated_FSMN_Block_Dilated``).

    >>> GatedFSMNBlock(64, inner=32)(torch.randn(2, 50, 64)).shape
    torch.Size([2, 50, 64])
    """

    def __init__(self, dim: int, inner: int = 256, lorder: int = 20, dropout: float = 0.1):
        super().__init__()
        self.proj_in = nn.Conv1d(dim, inner, 1)
        self.act = nn.PReLU()
        self.norm1 = nn.LayerNorm(inner)
        self.to_u = ConvFFN(inner, inner, norm="layer", dropout=dropout)
        self.to_v = ConvFFN(inner, inner, norm="layer", dropout=dropout)
        self.memory = DilatedFSMN(inner, inner, lorder=lorder)
        self.norm2 = nn.LayerNorm(inner)
        self.proj_out = nn.Conv1d(inner, dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = self.norm1(self.act(self.proj_in(x.transpose(1, 2))).transpose(1, 2))
        h = self.to_v(h) * self.memory(self.to_u(h)) + h  # gated FSMN with its own residual
        h = self.proj_out(self.norm2(h).transpose(1, 2)).transpose(1, 2)
        return h + x


class MossFormerStage(nn.Module):
    """One attention layer, followed by a gated FSMN block in MossFormer2."""

    def __init__(self, attn: MossFormerLayer, fsmn: GatedFSMNBlock | None):
        super().__init__()
        self.attn = attn
        self.fsmn = fsmn

    def forward(self, x: Tensor) -> Tensor:
        x = self.attn(x)
        return self.fsmn(x) if self.fsmn is not None else x


class MaskNet(nn.Module):
    """GroupNorm → 1x1 conv → + scaled sinusoidal positions → layers → LayerNorm → GroupNorm + skip →
    PReLU → per-speaker 1x1 conv → tanh·sigmoid gate → 1x1 conv → ReLU masks ``[B, S, enc_dim, L]``."""

    def __init__(self, enc_dim: int, dim: int, depth: int, num_speakers: int, group_size: int, qk_dim: int,
                 expansion: float, fsmn: bool, fsmn_dim: int, fsmn_lorder: int, dropout: float,
                 causal: bool, conv_kernel: int = 17):  # fmt: skip
        super().__init__()
        if dim % 2:
            raise InputError(f"dim must be even (sinusoidal positions), got {dim}")
        self.num_speakers = num_speakers
        self.norm = nn.GroupNorm(1, enc_dim, eps=1e-8)
        self.proj_in = nn.Conv1d(enc_dim, dim, 1, bias=False)
        self.pos_scale = nn.Parameter(torch.ones(1))
        self.register_buffer("inv_freq", 1.0 / 10000 ** (torch.arange(0, dim, 2).float() / dim), persistent=False)
        self.blocks = nn.ModuleList(
            MossFormerStage(
                MossFormerLayer(dim, group_size, qk_dim, expansion, dropout=dropout, causal=causal, conv_kernel=conv_kernel),
                GatedFSMNBlock(dim, fsmn_dim, fsmn_lorder, dropout=dropout) if fsmn else None,
            )
            for _ in range(depth)
        )
        self.norm_seq = nn.LayerNorm(dim, eps=1e-6)
        self.norm_block = nn.GroupNorm(1, dim, eps=1e-8)
        self.prelu = nn.PReLU()
        self.proj_spk = nn.Conv1d(dim, dim * num_speakers, 1)
        self.out_tanh = nn.Conv1d(dim, dim, 1)
        self.out_gate = nn.Conv1d(dim, dim, 1)
        self.proj_out = nn.Conv1d(dim, enc_dim, 1, bias=False)

    def forward(self, w: Tensor) -> Tensor:
        x = self.proj_in(self.norm(w))  # [B, dim, L]
        ang = torch.arange(x.shape[-1], device=x.device, dtype=torch.float32)[:, None] * self.inv_freq
        x = x + (torch.cat((ang.sin(), ang.cos()), dim=-1) * self.pos_scale).T.to(x.dtype)
        h = x.transpose(1, 2)
        for blk in self.blocks:
            h = blk(h)
        h = self.norm_block(self.norm_seq(h).transpose(1, 2))
        x = self.prelu(h + x)
        b, _, length = x.shape
        x = self.proj_spk(x).reshape(b * self.num_speakers, -1, length)
        x = torch.tanh(self.out_tanh(x)) * torch.sigmoid(self.out_gate(x))
        return F.relu(self.proj_out(x)).reshape(b, self.num_speakers, -1, length)


# ------------------------------------------------------------------------------------------- model
class MossFormer(SeparatorMixin, nn.Module):
    """MossFormer (``fsmn=False``) / MossFormer2 (``fsmn=True``) separator: waveform ``[B, T]`` in,
    ``[B, num_speakers, T]`` out.

    Args:
        enc_dim: encoder filters (512 in the papers). kernel_size: encoder/decoder filter length (16;
            stride ``kernel_size // 2``). dim: masking-network width (512). depth: layers (24).
        group_size: chunk of the local attention (256). qk_dim: query/key size (128). expansion: 4.
        fsmn: add MossFormer2's gated FSMN block after every layer. fsmn_dim: its inner width (256).
        fsmn_lorder: its filter half-length (20). dropout: 0.1 in the released models.
        conv_kernel: length of the depthwise convolutions in the attention layers' feed-forward modules (17
            in the released models; odd).
        num_speakers: sources to separate. sample_rate: of the waveforms the model was trained on.

    Example:
        >>> model = MossFormer(enc_dim=64, dim=64, depth=2, group_size=32, fsmn=True).eval()
        >>> model(torch.randn(1, 4000)).shape
        torch.Size([1, 2, 4000])
    """

    def __init__(self, enc_dim: int = 512, kernel_size: int = 16, dim: int = 512, depth: int = 24,
                 group_size: int = 256, qk_dim: int = 128, expansion: float = 4.0, fsmn: bool = False,
                 fsmn_dim: int = 256, fsmn_lorder: int = 20, dropout: float = 0.1, causal: bool = False,
                 num_speakers: int = 2, sample_rate: int = 8000, conv_kernel: int = 17):  # fmt: skip
        super().__init__()
        if kernel_size < 2 or kernel_size % 2:
            raise InputError(f"kernel_size must be an even number >= 2 (stride kernel_size // 2), got {kernel_size}")
        self.num_speakers, self.sample_rate, self.kernel_size = int(num_speakers), int(sample_rate), kernel_size
        self.encoder = nn.Conv1d(1, enc_dim, kernel_size, stride=kernel_size // 2, bias=False)
        self.masker = MaskNet(enc_dim, dim, depth, num_speakers, group_size, qk_dim, expansion, fsmn, fsmn_dim,
                              fsmn_lorder, dropout, causal, conv_kernel)  # fmt: skip
        self.decoder = nn.ConvTranspose1d(enc_dim, 1, kernel_size, stride=kernel_size // 2, bias=False)

    def forward(self, mixture: Tensor) -> Tensor:
        if mixture.ndim != 2:
            raise InputError(f"MossFormer expects a waveform batch [B, T], got shape {tuple(mixture.shape)}")
        t = mixture.shape[-1]
        if t < self.kernel_size:
            raise InputError(f"the mixture is too short: {t} samples, need at least {self.kernel_size}")
        w = F.relu(self.encoder(mixture[:, None]))  # [B, enc, L]
        masks = self.masker(w)  # [B, S, enc, L]
        b, s, c, length = masks.shape
        est = self.decoder((w[:, None] * masks).reshape(b * s, c, length)).reshape(b, s, -1)
        return F.pad(est, (0, t - est.shape[-1])) if est.shape[-1] < t else est[..., :t]


# -------------------------------------------------------------------------------- checkpoint conversion
_FFN = [(r"mdl\.0\.", "norm."), (r"mdl\.1\.", "fc."), (r"mdl\.3\.sequential\.1\.conv\.", "dwconv.")]
_LAYER = [
    (r"^qk_offset_scale\.gamma$", "qk_scale"),
    (r"^qk_offset_scale\.beta$", "qk_offset"),
    *[(rf"^(to_hidden|to_qk|to_out)\.{a}", rf"\1.{b}") for a, b in _FFN],
]
_FSMN = [
    (r"^conv1\.0\.", "proj_in."),
    (r"^conv1\.1\.", "act."),
    (r"^conv2\.", "proj_out."),
    (r"^gated_fsmn\.fsmn\.linear\.", "memory.fc."),
    (r"^gated_fsmn\.fsmn\.project\.", "memory.proj."),
    (r"^gated_fsmn\.fsmn\.conv\.conv(\d+)\.", lambda m: f"memory.dense.convs.{int(m[1]) - 1}."),
    (r"^gated_fsmn\.fsmn\.conv\.norm(\d+)\.", lambda m: f"memory.dense.norms.{int(m[1]) - 1}."),
    (r"^gated_fsmn\.fsmn\.conv\.prelu(\d+)\.", lambda m: f"memory.dense.acts.{int(m[1]) - 1}."),
    *[(rf"^gated_fsmn\.(to_u|to_v)\.{a}", rf"\1.{b}") for a, b in _FFN],
]
_MASKNET_TAIL = [
    (r"^conv1d_encoder\.", "proj_in."),
    (r"^pos_enc\.scale$", "pos_scale"),
    (r"^conv1d_out\.", "proj_spk."),
    (r"^conv1_decoder\.", "proj_out."),
    (r"^output\.0\.", "out_tanh."),
    (r"^output_gate\.0\.", "out_gate."),
]
# keys the zoo recomputes instead of storing (checked against the recomputed values when present)
_DERIVED = re.compile(r"(rotary_pos_emb\.(freqs|cached_freqs|cached_scales|dummy|scale)|pos_enc\.inv_freq)$")


def _sub_first(key: str, rules) -> str:
    for pat, rep in rules:
        new, n = re.subn(pat, rep, key, count=1)
        if n:
            return new
    return key


def _unwrap(state: dict) -> dict:
    for k in ("state_dict", "model_state_dict", "model"):
        if k in state and isinstance(state[k], dict) and all(isinstance(x, str) for x in state[k]):
            if any(isinstance(v, torch.Tensor) for v in state[k].values()):
                return _unwrap(state[k])
    return {k[7:] if k.startswith("module.") else k: v for k, v in state.items()}


def _convert_masknet(state: dict, body: str, seq_norm: str, block_norm: str) -> dict:
    """Shared part: ``state`` keys relative to the mask net; ``body`` is the regex prefix of the layer list
    (with ``layers``/``fsmn`` following), ``seq_norm``/``block_norm`` the prefixes of the two norms."""
    out = {}
    for key, val in state.items():
        if _DERIVED.search(key):
            continue
        m = re.match(rf"{body}\.(layers|fsmn)\.(\d+)\.(.*)$", key)
        if m:
            kind, i, rest = m.groups()
            if kind == "layers":
                new = f"blocks.{i}.attn.{_sub_first(rest, _LAYER)}"
            else:
                new = f"blocks.{i}.fsmn.{_sub_first(rest, _FSMN)}"
                if ".dense.convs." in new and val.ndim == 4:  # Conv2d [C, k, K, 1] -> Conv1d [C, k, K]
                    val = val.squeeze(-1)
        elif key.startswith(seq_norm):
            new = "norm_seq." + key[len(seq_norm):]
        elif key.startswith(block_norm):
            new = "norm_block." + key[len(block_norm):]
        else:
            new = _sub_first(key, _MASKNET_TAIL)
        if val.ndim == 2 and new.endswith("pos_scale"):
            val = val.reshape(1)
        out["masker." + new] = val
    return out


def _check_derived(state: dict) -> None:
    """Released checkpoints store rotary frequencies; refuse ones made with another base or size."""
    for key, val in state.items():
        if key.endswith("rotary_pos_emb.freqs") and val.ndim == 1:
            rd = 2 * val.numel()
            ref = 1.0 / (10000 ** (torch.arange(0, rd, 2).float() / rd))
            if not torch.allclose(val.float(), ref, rtol=1e-4):
                raise WeightsIntegrityError(f"{key}: rotary frequencies differ from base 10000 / dim {rd}")


def convert_clearvoice(state: dict) -> dict:
    """ClearVoice ``MossFormer2_SS_16K`` (``checkpoints/MossFormer2_SS_16K/last_best_checkpoint.pt``, keys
    ``model.enc.conv1d.weight``, ``model.mask_net.mdl.intra_mdl.mossformerM.layers.0...``) → zoo keys.

    Build the model with ``RELEASED_CONFIGS["clearvoice-mossformer2-ss-16k"]``.
    """
    state = _unwrap(state)
    _check_derived(state)
    state = {k[6:] if k.startswith("model.") else k: v for k, v in state.items()}
    out = {}
    if "enc.conv1d.weight" not in state or "dec.weight" not in state:
        raise WeightsIntegrityError("not a ClearVoice MossFormer2 checkpoint: no model.enc.conv1d.weight / model.dec.weight")
    out["encoder.weight"] = state["enc.conv1d.weight"]
    out["decoder.weight"] = state["dec.weight"]
    mask = {k[len("mask_net."):]: v for k, v in state.items() if k.startswith("mask_net.")}
    out.update(_convert_masknet(mask, r"mdl\.intra_mdl\.mossformerM", "mdl.intra_mdl.norm.", "mdl.intra_norm."))
    return out


def convert_mossformer2_standalone(state: dict) -> dict:
    """``alibabasglab/mossformer2-*`` (SpeechBrain layout: ``encoder.ckpt``, ``masknet.ckpt``,
    ``decoder.ckpt``) → zoo keys. ``state`` merges the three files with prefixes ``encoder.``,
    ``masknet.``, ``decoder.`` (`load_released` does this for a folder)."""
    state = _unwrap(state)
    _check_derived(state)
    if "encoder.conv1d.weight" not in state or "decoder.weight" not in state:
        raise WeightsIntegrityError("not a MossFormer2 standalone checkpoint: no encoder.conv1d.weight / decoder.weight")
    out = {"encoder.weight": state["encoder.conv1d.weight"], "decoder.weight": state["decoder.weight"]}
    mask = {k[len("masknet."):]: v for k, v in state.items() if k.startswith("masknet.")}
    if any(k.startswith("dual_mdl.1.") for k in mask):
        raise WeightsIntegrityError("only single-path MossFormer2 checkpoints (masknet_numlayers=1) are supported")
    if any(".intra_linear." in k for k in mask):
        raise WeightsIntegrityError("masknet_useextralinearlayer=True checkpoints are not supported")
    out.update(_convert_masknet(mask, r"dual_mdl\.0\.intra_mdl\.mdl\.flashT", "dual_mdl.0.intra_mdl.mdl.norm.norm.",
                                "dual_mdl.0.intra_norm."))  # fmt: skip
    return out


def convert_modelscope_mossformer(state: dict) -> dict:
    """ModelScope MossFormer (``damo/speech_mossformer_separation_temporal_8k``: ``encoder.bin``,
    ``masknet.bin``, ``decoder.bin``) → zoo keys; ``state`` merges them with prefixes ``encoder.``,
    ``mask_net.`` (or ``masknet.``), ``decoder.``."""
    state = _unwrap(state)
    _check_derived(state)
    if "encoder.conv1d.weight" not in state or "decoder.weight" not in state:
        raise WeightsIntegrityError("not a ModelScope MossFormer checkpoint: no encoder.conv1d.weight / decoder.weight")
    out = {"encoder.weight": state["encoder.conv1d.weight"], "decoder.weight": state["decoder.weight"]}
    mask = {}
    for k, v in state.items():
        for p in ("mask_net.", "masknet."):
            if k.startswith(p):
                mask[k[len(p):]] = v
    out.update(_convert_masknet(mask, r"mdl\.att_mdl\.mossformerM", "mdl.att_mdl.norm.norm.", "mdl.att_norm."))
    return out


CONVERTERS = {
    "clearvoice": convert_clearvoice,
    "mossformer2-standalone": convert_mossformer2_standalone,
    "modelscope-mossformer": convert_modelscope_mossformer,
}

# model_args of the released checkpoints (their papers'/READMEs' settings)
_BIG = dict(enc_dim=512, kernel_size=16, dim=512, depth=24, group_size=256, qk_dim=128, expansion=4.0)
RELEASED_CONFIGS = {
    "clearvoice-mossformer2-ss-16k": dict(_BIG, fsmn=True, num_speakers=2, sample_rate=16000),
    "mossformer2-librimix-2spk": dict(_BIG, fsmn=True, num_speakers=2, sample_rate=8000),
    "mossformer2-wsj0mix-3spk": dict(_BIG, fsmn=True, num_speakers=3, sample_rate=8000),
    "modelscope-mossformer-8k": dict(_BIG, fsmn=False, num_speakers=2, sample_rate=8000),
}
_FORMAT_OF = {
    "clearvoice-mossformer2-ss-16k": "clearvoice",
    "mossformer2-librimix-2spk": "mossformer2-standalone",
    "mossformer2-wsj0mix-3spk": "mossformer2-standalone",
    "modelscope-mossformer-8k": "modelscope-mossformer",
}


def load_released(path, config: str) -> MossFormer:
    """Build ``RELEASED_CONFIGS[config]`` and load a released checkpoint strictly (eval mode).

    ``path``: the ClearVoice ``.pt`` file, or a folder with the three files of the standalone
    (``encoder.ckpt``/``masknet.ckpt``/``decoder.ckpt``) or ModelScope (``encoder.bin``/``masknet.bin``/
    ``decoder.bin``) releases. The released ``whamr`` standalone model (no masking) is not supported.
    """
    from pathlib import Path

    if config not in RELEASED_CONFIGS:
        raise InputError(f"unknown released config {config!r}; expected one of {sorted(RELEASED_CONFIGS)}")
    path = Path(path)
    fmt = _FORMAT_OF[config]
    if path.is_dir():
        ext = ".ckpt" if fmt == "mossformer2-standalone" else ".bin"
        state = {}
        for part in ("encoder", "masknet", "decoder"):
            f = path / f"{part}{ext}"
            if not f.is_file():
                raise InputError(f"{path} must hold encoder{ext}, masknet{ext} and decoder{ext}; {f.name} is missing")
            state.update({f"{part}.{k}": v for k, v in torch.load(f, map_location="cpu", weights_only=True).items()})
    elif path.is_file():
        state = torch.load(path, map_location="cpu", weights_only=True)
    else:
        raise InputError(f"released checkpoint not found: {path}")
    model = MossFormer(**RELEASED_CONFIGS[config])
    model.load_state_dict(CONVERTERS[fmt](state), strict=True)
    return model.eval()


# ------------------------------------------------------------------------------------- registration
@register_architecture("mossformer", domain="audio")
def mossformer(**kwargs) -> MossFormer:
    """MossFormer (no FSMN); ``zoo.load("mossformer-fsdd2mix")`` or ``zoo.audio.MossFormer(...)``."""
    kwargs.setdefault("fsmn", False)
    return MossFormer(**kwargs)


@register_architecture("mossformer2", domain="audio")
def mossformer2(**kwargs) -> MossFormer:
    """MossFormer2 (gated dilated FSMN after every attention layer)."""
    kwargs.setdefault("fsmn", True)
    return MossFormer(**kwargs)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

