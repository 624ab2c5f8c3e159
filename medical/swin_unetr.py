"""Swin UNETR (Hatamizadeh et al., 2022) on the zoo's attention backend, state-dict equal to MONAI's.

Parameter and buffer names are exactly those of MONAI 1.6's ``monai.networks.nets.SwinUNETR``
(``swinViT.layers1.0.blocks.0.attn.qkv.weight``, ``encoder1.layer.conv1.conv.weight``, ...), so a
MONAI state dict loads with ``strict=True`` and gives the same outputs (fp32, eval, max abs
difference below 1e-4). The CNN encoder/decoder blocks are MONAI's own (`UnetrBasicBlock`,
`UnetrUpBlock`, `UnetOutBlock`); what differs is the Swin encoder:

- cyclic shift + zero padding + window partition (and their inverse) are ONE gather each, with
  indices built once per input shape (`zoo.attention.window.window_gather_index` semantics);
- windows are grouped by their shifted-window mask (interior windows need none; the boundary
  windows of a 3D grid fall into at most 7 more groups), so every group runs one
  `zoo.attention.attend` call (SDPA) with a broadcast ``[1, heads, N, N]`` bias: no explicit
  ``q @ kᵀ`` and no per-window mask is ever materialised.

Example:
    >>> import torch
    >>> from zoo.medical.swin_unetr import SwinUNETR
    >>> net = SwinUNETR(in_channels=2, out_channels=3, feature_size=12).eval()
    >>> net(torch.randn(1, 2, 64, 64, 64)).shape
    torch.Size([1, 3, 64, 64, 64])
    >>> # a MONAI model's weights load strictly:
    >>> # net.load_state_dict(monai_net.state_dict(), strict=True)
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as checkpoint
from monai.networks.blocks import UnetOutBlock, UnetrBasicBlock, UnetrUpBlock
from timm.layers import DropPath, trunc_normal_
from torch import Tensor, nn

from zoo.attention import attend, relative_position_index, shifted_window_mask, window_partition
from zoo.errors import InputError
from zoo.registry import register_architecture

__all__ = [
    "SwinUNETR",
    "SwinUNETREncoder",
    "SwinTransformer",
    "WindowAttention",
    "SwinTransformerBlock",
    "convert_monai_checkpoint",
    "convert_ssl_encoder_checkpoint",
]


def _tuple(v: int | Sequence[int], n: int) -> tuple[int, ...]:
    return (int(v),) * n if isinstance(v, int) else tuple(int(x) for x in v)


def effective_window(spatial: Sequence[int], window: Sequence[int], shift: Sequence[int]):
    """MONAI's rule: an axis no longer than the window uses the whole axis as window and no shift."""
    ws, ss = list(window), list(shift)
    for i, s in enumerate(spatial):
        if s <= window[i]:
            ws[i], ss[i] = s, 0
    return tuple(ws), tuple(ss)


# ---------------------------------------------------------------------------------------------
# window plan: gather indices + window groups sharing one shift mask
# ---------------------------------------------------------------------------------------------


class WindowPlan:
    """Everything a block needs to attend inside (shifted) windows of a ``[B, *spatial, C]`` tensor.

    ``forward``: ``[B * nW * N]`` index into the batch-flattened tokens plus one zero token (index
    ``B * L``, the padding), windows sorted so each mask group is contiguous across the batch.
    ``inverse``: ``[B * L]`` index of each token's slot in that layout. ``groups``: ``(start, stop,
    mask)`` window ranges (in units of windows) with their ``[N, N]`` additive mask or None.
    """

    def __init__(self, batch: int, spatial: Sequence[int], window: Sequence[int], shift: Sequence[int], device):
        spatial = tuple(int(s) for s in spatial)
        nd = len(spatial)
        ws, ss = tuple(window), tuple(shift)
        padded = [math.ceil(s / w) * w for s, w in zip(spatial, ws)]
        L, N = math.prod(spatial), math.prod(ws)
        # padded position of every window slot, in window order
        slot_pos = window_partition(torch.arange(math.prod(padded)).view(1, *padded, 1), ws).reshape(-1)
        coords = torch.unravel_index(slot_pos, tuple(padded))
        inside = torch.ones_like(slot_pos, dtype=torch.bool)
        src = torch.zeros_like(slot_pos)
        for axis in range(nd):  # MONAI pads first, then rolls the padded grid (padding rolls too)
            c = (coords[axis] + ss[axis]) % padded[axis]
            inside &= c < spatial[axis]
            src = src * spatial[axis] + c
        nW = slot_pos.numel() // N
        src = src.view(nW, N)
        inside = inside.view(nW, N)
        # group windows by their mask
        if any(ss):
            masks = shifted_window_mask(padded, ws, ss)  # [nW, N, N]
            uniq, group_of = torch.unique(masks.flatten(1), dim=0, return_inverse=True)
            order = torch.argsort(group_of, stable=True)
            counts = torch.bincount(group_of, minlength=uniq.shape[0])
            group_masks = [None if not bool(m.any()) else m.view(N, N) for m in uniq]
        else:
            order = torch.arange(nW)
            counts = torch.tensor([nW])
            group_masks = [None]
        # batch-major within group: window j of group g for batch b -> position start_g * B + b * n_g + j
        fwd = []
        groups = []
        start = 0
        offset = 0
        for g, n_g in enumerate(counts.tolist()):
            if n_g == 0:
                continue
            wins = order[offset : offset + n_g]
            offset += n_g
            for b in range(batch):
                s = src[wins] + b * L
                s = torch.where(inside[wins], s, torch.full_like(s, batch * L))
                fwd.append(s.reshape(-1))
            groups.append((start, start + batch * n_g, group_masks[g]))
            start += batch * n_g
        forward = torch.cat(fwd)
        valid = forward < batch * L
        inverse = torch.empty(batch * L, dtype=torch.long)
        inverse[forward[valid]] = torch.arange(forward.numel())[valid]
        self.forward = forward.to(device)
        self.inverse = inverse.to(device)
        self.groups = [(a, b, None if m is None else m.to(device)) for a, b, m in groups]
        self.needs_pad = not bool(valid.all())
        self.window = ws
        self.num_tokens = N


# ---------------------------------------------------------------------------------------------
# blocks
# ---------------------------------------------------------------------------------------------


class WindowAttention(nn.Module):
    """Multi-head self-attention inside windows with a learned relative-position bias (MONAI's names).

    ``forward(x, plan)`` takes windows ``[B * nW, N, C]`` laid out by a `WindowPlan` and runs one
    `zoo.attention.attend` per mask group. Like MONAI, a window smaller than the configured one
    (a stage whose grid is smaller than the window) uses the top-left ``N x N`` corner of the index.
    """

    def __init__(self, dim: int, num_heads: int, window_size: Sequence[int], qkv_bias: bool = False,
                 attn_drop: float = 0.0, proj_drop: float = 0.0):  # fmt: skip
        super().__init__()
        self.dim, self.num_heads = dim, num_heads
        self.window_size = tuple(window_size)
        self.scale = (dim // num_heads) ** -0.5
        rows = math.prod(2 * w - 1 for w in self.window_size)
        self.relative_position_bias_table = nn.Parameter(torch.zeros(rows, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(self.window_size))
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        trunc_normal_(self.relative_position_bias_table, std=0.02)

    def relative_bias(self, n: int) -> Tensor:
        idx = self.relative_position_index[:n, :n].reshape(-1)
        return self.relative_position_bias_table[idx].view(n, n, -1).permute(2, 0, 1)  # [H, N, N]

    def forward(self, x: Tensor, plan: WindowPlan) -> Tensor:
        bw, n, c = x.shape
        h = self.num_heads
        q, k, v = self.qkv(x).view(bw, n, 3, h, c // h).permute(2, 0, 3, 1, 4).unbind(0)  # [BW, H, N, D]
        bias = self.relative_bias(n)[None]
        p = self.attn_drop if self.training else 0.0
        outs = []
        for a, b, mask in plan.groups:
            g_bias = bias if mask is None else bias + mask.to(bias.dtype)[None, None]
            outs.append(attend(q[a:b], k[a:b], v[a:b], bias=g_bias, scale=self.scale, dropout_p=p))
        out = outs[0] if len(outs) == 1 else torch.cat(outs)
        return self.proj_drop(self.proj(out.transpose(1, 2).reshape(bw, n, c)))


class Mlp(nn.Module):
    """MONAI's ``MLPBlock`` in "swin" dropout mode (names ``linear1``/``linear2``)."""

    def __init__(self, hidden_size: int, mlp_dim: int, dropout_rate: float = 0.0):
        super().__init__()
        self.linear1 = nn.Linear(hidden_size, mlp_dim)
        self.linear2 = nn.Linear(mlp_dim, hidden_size)
        self.fn = nn.GELU()
        self.drop1 = nn.Dropout(dropout_rate)
        self.drop2 = nn.Dropout(dropout_rate)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop2(self.linear2(self.drop1(self.fn(self.linear1(x)))))


class SwinTransformerBlock(nn.Module):
    """Pre-norm (shifted-)window attention + MLP, residual around each; tokens ``[B, *spatial, C]``."""

    def __init__(self, dim, num_heads, window_size, shift_size, mlp_ratio=4.0, qkv_bias=True, drop=0.0,
                 attn_drop=0.0, drop_path=0.0, norm_layer=nn.LayerNorm, use_checkpoint=False):  # fmt: skip
        super().__init__()
        self.window_size, self.shift_size = tuple(window_size), tuple(shift_size)
        self.use_checkpoint = use_checkpoint
        self.norm1 = norm_layer(dim)
        self.attn = WindowAttention(dim, num_heads, self.window_size, qkv_bias, attn_drop, drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop)

    def forward_part1(self, x: Tensor, plan: WindowPlan) -> Tensor:
        shape = x.shape
        tokens = self.norm1(x).reshape(-1, shape[-1])  # [B * L, C]
        if plan.needs_pad:  # MONAI pads after norm1 with zeros; padded tokens are attended as keys
            tokens = torch.cat([tokens, tokens.new_zeros(1, shape[-1])])
        windows = tokens.index_select(0, plan.forward).view(-1, plan.num_tokens, shape[-1])
        out = self.attn(windows, plan).reshape(-1, shape[-1])
        return out.index_select(0, plan.inverse).view(shape)

    def forward_part2(self, x: Tensor) -> Tensor:
        return self.drop_path(self.mlp(self.norm2(x)))

    def forward(self, x: Tensor, plan: WindowPlan) -> Tensor:
        if self.use_checkpoint and self.training:
            x = x + self.drop_path(checkpoint.checkpoint(self.forward_part1, x, plan, use_reentrant=False))
            return x + checkpoint.checkpoint(self.forward_part2, x, use_reentrant=False)
        x = x + self.drop_path(self.forward_part1(x, plan))
        return x + self.forward_part2(x)


# channel order of the 2x(2x2) neighbourhood concatenated by patch merging
_MERGE_OFFSETS = {
    ("merging", 3): [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (1, 0, 1), (0, 1, 1), (1, 1, 1)],
    ("mergingv2", 3): list(itertools.product(range(2), range(2), range(2))),
    ("merging", 2): [(j, i) for i, j in itertools.product(range(2), range(2))],
    ("mergingv2", 2): [(j, i) for i, j in itertools.product(range(2), range(2))],
}


class PatchMerging(nn.Module):
    """Concatenate each 2^d neighbourhood, LayerNorm, linear to ``2 * dim`` (MONAI's v1/v2 orders)."""

    def __init__(self, dim: int, norm_layer=nn.LayerNorm, spatial_dims: int = 3, mode: str = "merging"):
        super().__init__()
        self.offsets = _MERGE_OFFSETS[(mode, spatial_dims)]
        self.reduction = nn.Linear(2**spatial_dims * dim, 2 * dim, bias=False)
        self.norm = norm_layer(2**spatial_dims * dim)

    def forward(self, x: Tensor) -> Tensor:  # [B, *spatial, C]
        nd = x.dim() - 2
        pad = []
        for s in reversed(x.shape[1:-1]):
            pad += [0, s % 2]
        if any(pad):
            x = F.pad(x, [0, 0] + pad)
        parts = [x[(slice(None), *(slice(o, None, 2) for o in off))] for off in self.offsets]
        assert len(parts[0].shape) == nd + 2
        return self.reduction(self.norm(torch.cat(parts, -1)))


class BasicLayer(nn.Module):
    """One Swin stage: ``depth`` blocks alternating plain and shifted windows, then patch merging."""

    def __init__(self, dim, depth, num_heads, window_size, drop_path, mlp_ratio=4.0, qkv_bias=False, drop=0.0,
                 attn_drop=0.0, norm_layer=nn.LayerNorm, downsample="merging", use_checkpoint=False):  # fmt: skip
        super().__init__()
        self.window_size = tuple(window_size)
        self.shift_size = tuple(w // 2 for w in window_size)
        no_shift = (0,) * len(window_size)
        self.blocks = nn.ModuleList(
            SwinTransformerBlock(dim, num_heads, self.window_size, no_shift if i % 2 == 0 else self.shift_size,
                                 mlp_ratio, qkv_bias, drop, attn_drop,
                                 drop_path[i] if isinstance(drop_path, list) else drop_path, norm_layer, use_checkpoint)
            for i in range(depth)
        )  # fmt: skip
        self.downsample = None
        if downsample is not None:
            self.downsample = PatchMerging(dim, norm_layer, len(window_size), downsample)
        self._plans: dict = {}

    def plan(self, batch: int, spatial: tuple, shifted: bool, device) -> WindowPlan:
        key = (batch, spatial, shifted, str(device))
        plan = self._plans.get(key)
        if plan is None:
            ws, ss = effective_window(spatial, self.window_size, self.shift_size)
            if len(self._plans) > 16:
                self._plans.clear()
            plan = self._plans[key] = WindowPlan(batch, spatial, ws, ss if shifted else (0,) * len(ws), device)
        return plan

    def forward(self, x: Tensor) -> Tensor:  # [B, C, *spatial] -> [B, 2C, *spatial / 2]
        b, spatial = x.shape[0], tuple(x.shape[2:])
        x = x.movedim(1, -1)
        for blk in self.blocks:
            x = blk(x, self.plan(b, spatial, any(blk.shift_size), x.device))
        if self.downsample is not None:
            x = self.downsample(x)
        return x.movedim(-1, 1)


class PatchEmbed(nn.Module):
    """Non-overlapping patches -> ``embed_dim`` channels (a strided conv), optional LayerNorm."""

    def __init__(self, patch_size, in_chans, embed_dim, norm_layer=None, spatial_dims=3):
        super().__init__()
        conv = nn.Conv3d if spatial_dims == 3 else nn.Conv2d
        self.proj = conv(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.norm = norm_layer(embed_dim) if norm_layer is not None else None

    def forward(self, x: Tensor) -> Tensor:
        x = self.proj(x)
        if self.norm is not None:
            x = self.norm(x.movedim(1, -1)).movedim(-1, 1)
        return x


class SwinTransformer(nn.Module):
    """The Swin UNETR encoder (MONAI's ``swinViT``): patch embedding + 4 stages, 5 feature maps out."""

    def __init__(self, in_chans, embed_dim, window_size, patch_size, depths, num_heads, mlp_ratio=4.0, qkv_bias=True,
                 drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.0, norm_layer=nn.LayerNorm, patch_norm=False,
                 use_checkpoint=False, spatial_dims=3, downsample="merging", use_v2=False):  # fmt: skip
        super().__init__()
        self.num_layers = len(depths)
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim, norm_layer if patch_norm else None, spatial_dims)
        self.pos_drop = nn.Dropout(p=drop_rate)
        dpr = [x.item() for x in torch.linspace(0, drop_path_rate, sum(depths))]
        self.use_v2 = use_v2
        for i in range(self.num_layers):  # registration order as MONAI's: layers1..4, then layers1c..4c
            setattr(self, f"layers{i + 1}", nn.ModuleList())
        for i in range(self.num_layers if use_v2 else 0):
            setattr(self, f"layers{i + 1}c", nn.ModuleList())
        for i in range(self.num_layers):
            layer = BasicLayer(int(embed_dim * 2**i), depths[i], num_heads[i], window_size,
                               dpr[sum(depths[:i]) : sum(depths[: i + 1])], mlp_ratio, qkv_bias, drop_rate,
                               attn_drop_rate, norm_layer, downsample, use_checkpoint)  # fmt: skip
            getattr(self, f"layers{i + 1}").append(layer)
            if use_v2:
                conv = UnetrBasicBlock(spatial_dims, embed_dim * 2**i, embed_dim * 2**i, kernel_size=3, stride=1,
                                       norm_name="instance", res_block=True)  # fmt: skip
                getattr(self, f"layers{i + 1}c").append(conv)

    @staticmethod
    def proj_out(x: Tensor, normalize: bool = False) -> Tensor:
        if not normalize:
            return x
        return F.layer_norm(x.movedim(1, -1), [x.shape[1]]).movedim(-1, 1)

    def forward(self, x: Tensor, normalize: bool = True) -> list[Tensor]:
        x = self.pos_drop(self.patch_embed(x))
        outs = [self.proj_out(x, normalize)]
        for i in range(self.num_layers):
            if self.use_v2:
                x = getattr(self, f"layers{i + 1}c")[0](x.contiguous())
            x = getattr(self, f"layers{i + 1}")[0](x.contiguous())
            outs.append(self.proj_out(x, normalize))
        return outs


# ---------------------------------------------------------------------------------------------
# model
# ---------------------------------------------------------------------------------------------


def check_input_tensor(x, spatial_dims: int, channels: int, dtype: torch.dtype, what: str) -> None:
    """Raise `InputError` unless ``x`` is a ``[B, channels, *spatial]`` floating tensor of ``dtype``."""
    spatial = ", ".join("HWD"[:spatial_dims])
    want = f"a [B, {channels}, {spatial}] {str(dtype).removeprefix('torch.')} tensor"
    if not isinstance(x, Tensor):
        raise InputError(f"{what} expected {want}, got {type(x).__name__}")
    if x.dim() != spatial_dims + 2:
        raise InputError(f"{what} (spatial_dims={spatial_dims}) needs a {spatial_dims + 2}D input: expected {want}, "
                         f"got shape {tuple(x.shape)}")  # fmt: skip
    if x.dtype != dtype:
        raise InputError(f"{what} expected {want}, got {x.dtype} of shape {tuple(x.shape)} (cast it with .to({dtype}))")
    if x.shape[1] != channels:
        raise InputError(f"{what} expected {want} ({channels} input channels), got {x.shape[1]} channels: shape {tuple(x.shape)}")
    if x.numel() == 0:
        raise InputError(f"{what} expected {want}, got an empty tensor of shape {tuple(x.shape)}")


class SwinUNETR(nn.Module):
    """Swin UNETR: Swin encoder + UNETR-style CNN decoder with skips, MONAI 1.6 constructor and keys.

    Args mirror ``monai.networks.nets.SwinUNETR`` (without the Hyena options). Every spatial size of
    the input must be divisible by ``patch_size ** 5`` (32 for the default patch 2).

    Example:
        >>> net = SwinUNETR(in_channels=1, out_channels=14, feature_size=48)          # BTCV shape
        >>> net2d = SwinUNETR(in_channels=3, out_channels=2, spatial_dims=2, feature_size=12)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        patch_size: int = 2,
        depths: Sequence[int] = (2, 2, 2, 2),
        num_heads: Sequence[int] = (3, 6, 12, 24),
        window_size: Sequence[int] | int = 7,
        qkv_bias: bool = True,
        mlp_ratio: float = 4.0,
        feature_size: int = 24,
        norm_name: tuple | str = "instance",
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        dropout_path_rate: float = 0.0,
        normalize: bool = True,
        norm_layer: type[nn.LayerNorm] = nn.LayerNorm,
        patch_norm: bool = False,
        use_checkpoint: bool = False,
        spatial_dims: int = 3,
        downsample: str = "merging",
        use_v2: bool = False,
    ) -> None:
        super().__init__()
        if spatial_dims not in (2, 3):
            raise InputError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
        for name, rate in (("drop_rate", drop_rate), ("attn_drop_rate", attn_drop_rate), ("dropout_path_rate", dropout_path_rate)):
            if not 0 <= rate <= 1:
                raise InputError(f"{name} must be in [0, 1], got {rate}")
        if feature_size % 12 != 0:
            raise InputError(f"feature_size must be divisible by 12, got {feature_size}")
        if downsample not in ("merging", "mergingv2"):
            raise InputError(f"downsample must be 'merging' or 'mergingv2', got {downsample!r}")
        if len(depths) != 4 or len(num_heads) != 4:
            raise InputError(f"depths and num_heads need 4 stages, got {tuple(depths)} and {tuple(num_heads)}")
        self.patch_size = patch_size
        self.spatial_dims = spatial_dims
        self.in_channels = in_channels
        self.normalize = normalize
        fs = feature_size
        self.swinViT = SwinTransformer(
            in_channels, fs, _tuple(window_size, spatial_dims), _tuple(patch_size, spatial_dims), depths, num_heads,
            mlp_ratio, qkv_bias, drop_rate, attn_drop_rate, dropout_path_rate, norm_layer, patch_norm, use_checkpoint,
            spatial_dims, downsample, use_v2,
        )  # fmt: skip

        def enc(cin, cout):
            return UnetrBasicBlock(spatial_dims, cin, cout, kernel_size=3, stride=1, norm_name=norm_name, res_block=True)

        def dec(cin, cout):
            return UnetrUpBlock(spatial_dims, cin, cout, kernel_size=3, upsample_kernel_size=2, norm_name=norm_name,
                                res_block=True)  # fmt: skip

        self.encoder1 = enc(in_channels, fs)
        self.encoder2 = enc(fs, fs)
        self.encoder3 = enc(2 * fs, 2 * fs)
        self.encoder4 = enc(4 * fs, 4 * fs)
        self.encoder10 = enc(16 * fs, 16 * fs)
        self.decoder5 = dec(16 * fs, 8 * fs)
        self.decoder4 = dec(8 * fs, 4 * fs)
        self.decoder3 = dec(4 * fs, 2 * fs)
        self.decoder2 = dec(2 * fs, fs)
        self.decoder1 = dec(fs, fs)
        self.out = UnetOutBlock(spatial_dims, fs, out_channels)

    def check_input_size(self, shape: Sequence[int]) -> None:
        """Raise `InputError` unless every spatial size is divisible by ``patch_size ** 5``."""
        div = self.patch_size**5
        bad = [i + 2 for i, s in enumerate(shape) if s % div]
        if bad:
            raise InputError(
                f"SwinUNETR (spatial_dims={self.spatial_dims}) needs an input [B, C, {', '.join(['S'] * self.spatial_dims)}] "
                f"with every spatial size divisible by patch_size**5 = {div}; got spatial shape {tuple(shape)}"
                + (f" (dims {bad} are not)" if bad else "")
                + ". Pad or crop the volume, or use sliding-window inference with such an ROI."
            )

    def forward(self, x_in: Tensor) -> Tensor:
        check_input_tensor(x_in, self.spatial_dims, self.in_channels, self.out.conv.conv.weight.dtype, "SwinUNETR")
        self.check_input_size(tuple(x_in.shape[2:]))
        hidden = self.swinViT(x_in, self.normalize)
        enc0 = self.encoder1(x_in)
        enc1 = self.encoder2(hidden[0])
        enc2 = self.encoder3(hidden[1])
        enc3 = self.encoder4(hidden[2])
        dec4 = self.encoder10(hidden[4])
        dec3 = self.decoder5(dec4, hidden[3])
        dec2 = self.decoder4(dec3, enc3)
        dec1 = self.decoder3(dec2, enc2)
        dec0 = self.decoder2(dec1, enc1)
        out = self.decoder1(dec0, enc0)
        return self.out(out)

    def init_preprocessing(self) -> None:
        """Attach ``self.transform`` (MONAI inference transforms) from ``config.preprocessing``."""
        from zoo.medical.data import inference_transforms

        pre = dict(self.config.get("preprocessing", {}) or {})
        self.transform = inference_transforms(pre) if pre else None


class SwinUNETREncoder(nn.Module):
    """The Swin encoder alone (``swinViT.*`` keys), for the self-supervised upstream weights.

    ``forward`` returns the 5 hidden feature maps; `SwinUNETR.swinViT` loads these weights as is.

    Example:
        >>> enc = SwinUNETREncoder(in_channels=1, feature_size=48)
        >>> feats = enc(torch.randn(1, 1, 96, 96, 96))       # 5 maps, 48..768 channels
    """

    def __init__(self, in_channels: int = 1, feature_size: int = 48, patch_size: int = 2,
                 depths: Sequence[int] = (2, 2, 2, 2), num_heads: Sequence[int] = (3, 6, 12, 24),
                 window_size: int | Sequence[int] = 7, spatial_dims: int = 3, downsample: str = "merging",
                 normalize: bool = True):  # fmt: skip
        super().__init__()
        self.normalize = normalize
        self.swinViT = SwinTransformer(in_channels, feature_size, _tuple(window_size, spatial_dims),
                                       _tuple(patch_size, spatial_dims), depths, num_heads, spatial_dims=spatial_dims,
                                       downsample=downsample)  # fmt: skip

    def forward(self, x: Tensor) -> list[Tensor]:
        embed = self.swinViT.patch_embed.proj.weight
        check_input_tensor(x, embed.dim() - 2, embed.shape[1], embed.dtype, "SwinUNETREncoder")
        return self.swinViT(x, self.normalize)


# ---------------------------------------------------------------------------------------------
# checkpoint converters
# ---------------------------------------------------------------------------------------------


def _unwrap(obj: dict) -> dict:
    for key in ("state_dict", "model", "network"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            return obj[key]
    return obj


def convert_monai_checkpoint(obj: dict) -> dict[str, Tensor]:
    """A MONAI SwinUNETR checkpoint (model-zoo ``models/model.pt``, research-contributions BTCV ``.pt``).

    Accepts a plain state dict or one wrapped in ``{"state_dict" | "model" | "network": ...}``;
    strips a DataParallel ``module.`` prefix and renames old MLP names ``fc1``/``fc2``.
    """
    out = {}
    for k, v in _unwrap(obj).items():
        if not isinstance(v, Tensor):
            continue
        k = k.removeprefix("module.")
        k = k.replace(".mlp.fc1.", ".mlp.linear1.").replace(".mlp.fc2.", ".mlp.linear2.")
        out[k] = v
    return out


_SSL_HEADS = re.compile(r"^(rotation_|contrastive_|conv\.|conv\d|norm\.|mask_token|convTrans|fc\.|head)")


def convert_ssl_encoder_checkpoint(obj: dict) -> dict[str, Tensor]:
    """Self-supervised ``model_swinvit.pt`` (Tang et al., 2022): ``{"state_dict": {"module.<swin key>": ...}}``.

    Keys become ``swinViT.<key>`` (``fc1``/``fc2`` -> ``linear1``/``linear2``; a ``swin_vit.`` prefix
    is accepted too); pre-training heads (rotation, contrastive, reconstruction) are dropped.
    """
    out = {}
    for k, v in _unwrap(obj).items():
        if not isinstance(v, Tensor):
            continue
        k = k.removeprefix("module.")
        for prefix in ("swinViT.", "swin_vit.", "encoder."):
            k = k.removeprefix(prefix)
        if _SSL_HEADS.match(k):
            continue
        k = k.replace(".mlp.fc1.", ".mlp.linear1.").replace(".mlp.fc2.", ".mlp.linear2.")
        out["swinViT." + k] = v
    return out


# ---------------------------------------------------------------------------------------------
# registration
# ---------------------------------------------------------------------------------------------

register_architecture("swin-unetr", domain="medical")(SwinUNETR)
register_architecture("swin-unetr-encoder", domain="medical")(SwinUNETREncoder)
