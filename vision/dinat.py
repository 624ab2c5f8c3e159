"""DiNAT / NAT (Hassani et al., 2022-23): dilated neighbourhood attention transformers, on CPU.

Parameter names follow SHI-Labs' classification code (``classification/nat.py`` + ``dinat.py``)
so their released ``.pth`` files load strictly. The attention runs through
`zoo.attention.neighborhood_attention_2d` (tiled masked SDPA) instead of natten's CUDA kernels,
so DiNAT runs and trains on a CPU. NAT is DiNAT with every dilation 1.

Example:
    >>> import zoo, torch
    >>> model = zoo.load("dinat-mini")            # official ImageNet-1k weights (download once)
    >>> from zoo.vision.dinat import DiNAT
    >>> net = DiNAT(embed_dim=32, depths=(2, 2), num_heads=(2, 4), mlp_ratio=2, kernel_size=3,
    ...             dilations=((1, 4), (1, 2)), num_classes=10)
    >>> net(torch.randn(2, 3, 64, 64)).shape
    torch.Size([2, 10])
    >>> import timm, zoo.vision                    # importing zoo.vision registers dinat_*/nat_* in timm
    >>> timm.create_model("dinat_mini", features_only=True)   # timm's contract: features, intermediates, ...
"""


from collections.abc import Sequence

import torch
import torch.nn.functional as F
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import DropPath, Mlp, trunc_normal_
from timm.models import build_model_with_cfg, checkpoint, generate_default_cfgs, register_notrace_module
from timm.models import register_model as timm_register_model
from timm.models._features import feature_take_indices
from torch import Tensor, nn

from zoo.attention import neighborhood_attention_2d
from zoo.registry import Metric, ModelEntry, WeightsSource, register_architecture, register_model
from zoo.vision.common import (
    ConvStem,
    ImageClassifierMixin,
    check_global_pool,
    check_image_batch,
    imagenet_preprocessing,
    init_linear_weights,
)

__all__ = ["DiNAT", "NeighborhoodAttention2D", "checkpoint_filter_fn"]


@torch.jit.ignore
def _neighborhood_attention(q: Tensor, k: Tensor, v: Tensor, kernel_size: int, dilation: int, rpb: Tensor,
                            scale: float, dropout_p: float) -> Tensor:
    """`zoo.attention.neighborhood_attention_2d`, called as Python from TorchScript."""
    return neighborhood_attention_2d(q, k, v, kernel_size, dilation, rpb=rpb, scale=scale, dropout_p=dropout_p)


@register_notrace_module  # shape-dependent padding: a leaf for torch.fx
class NeighborhoodAttention2D(nn.Module):
    """natten's ``NeighborhoodAttention2D`` (``qkv``, ``rpb``, ``proj``) on ``[B, H, W, C]``.

    Inputs smaller than ``kernel_size * dilation`` are zero-padded at the bottom/right before
    ``qkv`` and cropped after, exactly as natten does.
    """

    def __init__(self, dim: int, num_heads: int, kernel_size: int = 7, dilation: int = 1,
                 qkv_bias: bool = True, qk_scale: float | None = None, attn_drop: float = 0.0,
                 proj_drop: float = 0.0):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = qk_scale or self.head_dim**-0.5
        self.kernel_size = kernel_size
        self.dilation = dilation or 1
        self.window_size = kernel_size * self.dilation
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.rpb = nn.Parameter(torch.zeros(num_heads, 2 * kernel_size - 1, 2 * kernel_size - 1))
        trunc_normal_(self.rpb, std=0.02, mean=0.0, a=-2.0, b=2.0)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: Tensor) -> Tensor:
        B, Hp, Wp, C = x.shape
        pad_r, pad_b = max(0, self.window_size - Wp), max(0, self.window_size - Hp)
        if pad_r or pad_b:
            x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        H, W = x.shape[1], x.shape[2]
        q, k, v = self.qkv(x).view(B, H, W, 3, self.num_heads, self.head_dim).permute(3, 0, 4, 1, 2, 5).unbind(0)
        x = _neighborhood_attention(q, k, v, self.kernel_size, self.dilation, self.rpb, self.scale,
                                    self.attn_drop if self.training else 0.0)
        x = x.permute(0, 2, 3, 1, 4).reshape(B, H, W, C)
        if pad_r or pad_b:
            x = x[:, :Hp, :Wp]
        return self.proj_drop(self.proj(x))


class NATLayer(nn.Module):
    """Pre-norm neighbourhood attention + MLP, with optional layer scale (``gamma1``/``gamma2``)."""

    def __init__(self, dim: int, num_heads: int, kernel_size: int = 7, dilation: int = 1, mlp_ratio: float = 4.0,
                 qkv_bias: bool = True, qk_scale: float | None = None, drop: float = 0.0, attn_drop: float = 0.0,
                 drop_path: float = 0.0, layer_scale: float | None = None):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = NeighborhoodAttention2D(dim, num_heads, kernel_size, dilation, qkv_bias, qk_scale, attn_drop, drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(in_features=dim, hidden_features=int(dim * mlp_ratio), act_layer=nn.GELU, drop=drop)
        self.layer_scale = layer_scale is not None
        if self.layer_scale:
            self.gamma1 = nn.Parameter(layer_scale * torch.ones(dim))
            self.gamma2 = nn.Parameter(layer_scale * torch.ones(dim))
        else:  # not parameters (no state-dict keys); keeps the branch below compilable by TorchScript
            self.gamma1 = self.gamma2 = 1.0

    def forward(self, x: Tensor) -> Tensor:
        if not self.layer_scale:
            x = x + self.drop_path(self.attn(self.norm1(x)))
            return x + self.drop_path(self.mlp(self.norm2(x)))
        x = x + self.drop_path(self.gamma1 * self.attn(self.norm1(x)))
        return x + self.drop_path(self.gamma2 * self.mlp(self.norm2(x)))


class ConvTokenizer(nn.Module):
    """Two stride-2 3×3 convolutions (overlapping patch embedding) + LayerNorm, output NHWC."""

    def __init__(self, in_chans: int = 3, embed_dim: int = 96):
        super().__init__()
        self.proj = nn.Sequential(
            nn.Conv2d(in_chans, embed_dim // 2, 3, stride=2, padding=1),
            nn.Conv2d(embed_dim // 2, embed_dim, 3, stride=2, padding=1),
        )
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(self.proj(x).permute(0, 2, 3, 1))


class ConvDownsampler(nn.Module):
    """Stride-2 3×3 convolution doubling the channels + LayerNorm, NHWC in and out."""

    def __init__(self, dim: int):
        super().__init__()
        self.reduction = nn.Conv2d(dim, 2 * dim, 3, stride=2, padding=1, bias=False)
        self.norm = nn.LayerNorm(2 * dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(self.reduction(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1))


class NATBlock(nn.Module):
    """One level: ``depth`` layers (each with its own dilation), then an optional downsampler."""

    def __init__(self, dim: int, depth: int, num_heads: int, kernel_size: int, dilations: Sequence[int] | None,
                 downsample: bool, mlp_ratio: float, qkv_bias: bool, qk_scale: float | None, drop: float,
                 attn_drop: float, drop_path: Sequence[float], layer_scale: float | None):
        super().__init__()
        self.blocks = nn.ModuleList([
            NATLayer(dim, num_heads, kernel_size, 1 if dilations is None else dilations[i], mlp_ratio, qkv_bias,
                     qk_scale, drop, attn_drop, drop_path[i], layer_scale)
            for i in range(depth)
        ])
        self.downsample = ConvDownsampler(dim) if downsample else nn.Identity()
        self.grad_checkpointing = False

    def forward_blocks(self, x: Tensor) -> Tensor:
        for blk in self.blocks:
            if self.grad_checkpointing and not torch.jit.is_scripting():
                x = checkpoint(blk, x)
            else:
                x = blk(x)
        return x

    def forward(self, x: Tensor) -> Tensor:
        return self.downsample(self.forward_blocks(x))


class DiNAT(ImageClassifierMixin, nn.Module):
    """DiNAT (``dilations`` given) or NAT (``dilations=None``) classifier with the official key names.

    timm's model API: ``forward_features`` gives the normed NHWC map, ``forward_head(x, pre_logits)`` pools,
    ``forward_intermediates``, ``reset_classifier``, ``set_grad_checkpointing``, ``group_matcher``.

    Example:
        >>> net = DiNAT(**DINAT_CONFIGS["mini"])            # DiNAT-Mini, random init
        >>> net.load_state_dict(checkpoint_filter_fn(torch.load("dinat_mini_in1k_224.pth")))
    """

    def __init__(
        self,
        embed_dim: int = 64,
        mlp_ratio: float = 3.0,
        depths: Sequence[int] = (3, 4, 6, 5),
        num_heads: Sequence[int] = (2, 4, 8, 16),
        drop_path_rate: float = 0.2,
        in_chans: int = 3,
        kernel_size: int = 7,
        dilations: Sequence[Sequence[int]] | None = None,
        num_classes: int = 1000,
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        layer_scale: float | None = None,
        global_pool: str = "avg",
        stem_widths: Sequence[int] | None = None,
    ):
        super().__init__()
        self.num_classes = num_classes
        self.in_chans = in_chans
        self.global_pool = check_global_pool(global_pool)
        self.output_fmt = "NHWC"
        self.num_levels = len(depths)
        self.num_features = self.head_hidden_size = int(embed_dim * 2 ** (self.num_levels - 1))
        # DiNAT's tokenizer (two stride-2 convs), or a deeper convolutional stem with BN/GELU (`ConvStem`)
        self.patch_embed = ConvTokenizer(in_chans, embed_dim) if stem_widths is None else ConvStem(in_chans, embed_dim, stem_widths)
        self.pos_drop = nn.Dropout(drop_rate)
        dpr = [x.item() for x in torch.linspace(0, drop_path_rate, sum(depths))]
        self.levels = nn.ModuleList([
            NATBlock(int(embed_dim * 2**i), depths[i], num_heads[i], kernel_size,
                     None if dilations is None else dilations[i], i < self.num_levels - 1, mlp_ratio, qkv_bias,
                     qk_scale, drop_rate, attn_drop_rate, dpr[sum(depths[:i]): sum(depths[: i + 1])], layer_scale)
            for i in range(self.num_levels)
        ])
        self.feature_info = [dict(num_chs=int(embed_dim * 2**i), reduction=4 * 2**i, module=f"levels.{i}.blocks")
                             for i in range(self.num_levels)]
        self.norm = nn.LayerNorm(self.num_features)
        self.head = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()
        self.apply(init_linear_weights)

    @torch.jit.ignore
    def no_weight_decay_keywords(self) -> set[str]:
        return {"rpb"}

    @torch.jit.ignore
    def group_matcher(self, coarse: bool = False) -> dict:
        return dict(
            stem=r"^patch_embed",
            blocks=r"^levels\.(\d+)" if coarse else [
                (r"^levels\.(\d+)\.blocks\.(\d+)", None),
                (r"^levels\.(\d+)\.downsample", (99998,)),
                (r"^norm", (99999,)),
            ],
        )

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True) -> None:
        for level in self.levels:
            level.grad_checkpointing = enable

    def forward_features(self, x: Tensor) -> Tensor:
        """``[B, C, H, W]`` -> normed ``[B, H/32, W/32, num_features]`` (NHWC, unpooled)."""
        check_image_batch(x, self.in_chans, None, 4, self.patch_embed.proj[0].weight)
        x = self.pos_drop(self.patch_embed(x))
        for level in self.levels:
            x = level(x)
        return self.norm(x)

    def forward(self, x: Tensor) -> Tensor:  # here, not in the mixin: torch.fx wraps this module's check_image_batch
        return self.forward_head(self.forward_features(x))

    def forward_intermediates(
        self,
        x: Tensor,
        indices: int | list[int] | None = None,
        norm: bool = False,
        stop_early: bool = False,
        output_fmt: str = "NCHW",
        intermediates_only: bool = False,
    ) -> list[Tensor] | tuple[Tensor, list[Tensor]]:
        """Final features and the output of each level's blocks (before its downsampler), NCHW.

        Example:
            >>> final, feats = net.forward_intermediates(torch.randn(1, 3, 224, 224))
        """
        if output_fmt not in ("NCHW", "NHWC"):
            raise ValueError(f"output_fmt must be 'NCHW' or 'NHWC', got {output_fmt!r}")
        check_image_batch(x, self.in_chans, None, 4, self.patch_embed.proj[0].weight)
        take_indices, max_index = feature_take_indices(self.num_levels, indices)
        intermediates = []
        x = self.pos_drop(self.patch_embed(x))
        last = self.num_levels - 1
        for i, level in enumerate(self.levels):
            if stop_early and i > max_index:
                break
            x = level.forward_blocks(x)
            if i in take_indices:
                inter = self.norm(x) if norm and i == last else x
                intermediates.append(inter.permute(0, 3, 1, 2).contiguous() if output_fmt == "NCHW" else inter)
            x = level.downsample(x)
        if intermediates_only:
            return intermediates
        return self.norm(x), intermediates

    def prune_intermediate_layers(self, indices: int | list[int] = 1, prune_norm: bool = False,
                                  prune_head: bool = True) -> list[int]:
        """Drop the levels (and optionally norm/head) after the last wanted intermediate."""
        take_indices, max_index = feature_take_indices(self.num_levels, indices)
        self.levels = self.levels[: max_index + 1]
        self.levels[-1].downsample = nn.Identity()
        if prune_norm or max_index < self.num_levels - 1:
            self.norm = nn.Identity()
        if prune_head:
            self.reset_classifier(0, "")
        return take_indices


def checkpoint_filter_fn(state_dict: dict, model: nn.Module | None = None) -> dict:
    """Official NAT/DiNAT checkpoint -> our state dict (unwraps ``model``/``state_dict``, drops ``module.``).

    The released files are raw state dicts in the official key format, which is ours; training
    checkpoints of their ``train.py`` wrap it in ``{"state_dict": ...}`` or ``{"model": ...}``.
    """
    for key in ("model", "state_dict", "state_dict_ema"):
        if isinstance(state_dict.get(key), dict):
            state_dict = state_dict[key]
            break
    return {k.removeprefix("module."): v for k, v in state_dict.items()}


# ---------------------------------------------------------------------------------------------
# configs (SHI-Labs classification/dinat.py, nat.py), timm's pretrained cfgs
# ---------------------------------------------------------------------------------------------

_D_SHORT = ((1, 8, 1), (1, 4, 1, 4), (1, 2) * 3, (1,) * 5)
_D_LONG = ((1, 8, 1), (1, 4, 1, 4), (1, 2) * 9, (1,) * 5)
DINAT_CONFIGS = {
    "mini": dict(embed_dim=64, mlp_ratio=3, depths=(3, 4, 6, 5), num_heads=(2, 4, 8, 16), dilations=_D_SHORT),
    "tiny": dict(embed_dim=64, mlp_ratio=3, depths=(3, 4, 18, 5), num_heads=(2, 4, 8, 16), dilations=_D_LONG),
    "small": dict(embed_dim=96, mlp_ratio=2, depths=(3, 4, 18, 5), num_heads=(3, 6, 12, 24), dilations=_D_LONG),
    "base": dict(embed_dim=128, mlp_ratio=2, depths=(3, 4, 18, 5), num_heads=(4, 8, 16, 32), dilations=_D_LONG,
                 layer_scale=1e-5),
}
NAT_CONFIGS = {
    "mini": dict(embed_dim=64, mlp_ratio=3, depths=(3, 4, 6, 5), num_heads=(2, 4, 8, 16)),
    "tiny": dict(embed_dim=64, mlp_ratio=3, depths=(3, 4, 18, 5), num_heads=(2, 4, 8, 16)),
    "small": dict(embed_dim=96, mlp_ratio=2, depths=(3, 4, 18, 5), num_heads=(3, 6, 12, 24), layer_scale=1e-5),
    "base": dict(embed_dim=128, mlp_ratio=2, depths=(3, 4, 18, 5), num_heads=(4, 8, 16, 32), layer_scale=1e-5),
}
_DROP_PATH = {"mini": 0.2, "tiny": 0.2, "small": 0.3, "base": 0.5}


def _jsonable(cfg: dict) -> dict:
    return {k: [list(d) for d in v] if k == "dilations" else (list(v) if isinstance(v, tuple) else v)
            for k, v in cfg.items()}


_DINAT_URL = "https://shi-labs.com/projects/dinat/checkpoints/imagenet1k/dinat_{}_in1k_224.pth"
_NAT_URL = "https://shi-labs.com/projects/nat/checkpoints/CLS/nat_{}.pth"
_DINAT_TOP1 = {"mini": 81.8, "tiny": 82.7, "small": 83.8, "base": 84.4}
_NAT_TOP1 = {"mini": 81.8, "tiny": 83.2, "small": 83.7, "base": 84.3}


def _create_dinat(variant: str, pretrained: bool = False, **kwargs) -> DiNAT:
    num_levels = len(kwargs.get("depths", (3, 4, 6, 5)))
    out_indices = kwargs.pop("out_indices", tuple(range(num_levels)))
    return build_model_with_cfg(
        DiNAT, variant, pretrained,
        pretrained_filter_fn=checkpoint_filter_fn,
        feature_cfg=dict(feature_cls="getter", out_indices=out_indices),
        **kwargs,
    )


def _cfg(url: str = "", **kwargs) -> dict:
    return {
        "url": url, "num_classes": 1000, "input_size": (3, 224, 224), "pool_size": (7, 7),
        "crop_pct": 0.875, "interpolation": "bicubic", "mean": IMAGENET_DEFAULT_MEAN, "std": IMAGENET_DEFAULT_STD,
        "first_conv": "patch_embed.proj.0", "classifier": "head", "license": "mit", **kwargs,
    }


default_cfgs = generate_default_cfgs({
    **{f"dinat_{size}.in1k": _cfg(_DINAT_URL.format(size), paper_ids="arXiv:2209.15001") for size in DINAT_CONFIGS},
    **{f"nat_{size}.in1k": _cfg(_NAT_URL.format(size), paper_ids="arXiv:2204.07143") for size in NAT_CONFIGS},
})


def _timm_entrypoint(family: str, size: str, cfg: dict):
    def entrypoint(pretrained: bool = False, **kwargs) -> DiNAT:
        return _create_dinat(f"{family}_{size}", pretrained, **{**cfg, "drop_path_rate": _DROP_PATH[size], **kwargs})

    entrypoint.__name__ = entrypoint.__qualname__ = f"{family}_{size}"
    entrypoint.__doc__ = f"{family.upper() if family == 'nat' else 'DiNAT'}-{size.capitalize()} (224², kernel 7)."
    entrypoint.__module__ = __name__
    return entrypoint


# ---------------------------------------------------------------------------------------------
# registration: the zoo's registry, and timm's (both run when zoo.vision is imported)
# ---------------------------------------------------------------------------------------------

@register_architecture("dinat", domain="vision")
def dinat(**kwargs) -> DiNAT:
    """DiNAT/NAT builder for the registry (``dilations=None`` gives NAT)."""
    return DiNAT(**kwargs)


for _family, _doc, _configs, _url, _top1, _paper in (
    ("dinat", "DiNAT", DINAT_CONFIGS, _DINAT_URL, _DINAT_TOP1, "https://arxiv.org/abs/2209.15001"),
    ("nat", "NAT", NAT_CONFIGS, _NAT_URL, _NAT_TOP1, "https://arxiv.org/abs/2204.07143"),
):
    for _size, _args in _configs.items():
        register_model(ModelEntry(
            name=f"{_family}-{_size}",
            architecture="dinat",
            domain="vision",
            task="image-classification",
            model_args={**_jsonable(_args), "drop_path_rate": _DROP_PATH[_size]},
            preprocessing=imagenet_preprocessing(crop_pct=0.875, interpolation="bicubic"),
            weights=WeightsSource(url=_url.format(_size), converter=checkpoint_filter_fn),
            license="mit",
            metrics=[Metric(
                name="top1", value=None, dataset="imagenet-1k", split="validation",
                command=f"zoo eval {_family}-{_size} --data /path/to/imagenet/val",
                published=_top1[_size],
                published_source=f"SHI-Labs Neighborhood-Attention-Transformer classification/{_doc}.md "
                                 "(not measured here)",
                note="upstream weights; ImageNet is not available on this machine, so the number is theirs, not ours",
            )],
            aliases=(f"{_family}_{_size}",),
            description=f"{_doc}-{_size.capitalize()} (kernel 7, 224²), "
                        "SHI-Labs' ImageNet-1k weights; neighbourhood attention through zoo.attention "
                        "(tiled masked SDPA), so it runs and trains on CPU without natten. Needs this package.",
            datasets=("imagenet-1k",),
            tags=(_family, "neighborhood-attention", "image-classification"),
            paper=_paper,
        ))


for _family, _configs in (("dinat", DINAT_CONFIGS), ("nat", NAT_CONFIGS)):
    for _size, _cfg_args in _configs.items():
        timm_register_model(_timm_entrypoint(_family, _size, _cfg_args))
