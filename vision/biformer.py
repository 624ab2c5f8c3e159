"""BiFormer (Zhu et al., CVPR 2023): bi-level routing attention, legacy BRA layout of the released checkpoints.

Parameter names follow rayleizhu/BiFormer ``models/biformer.py`` + ``ops/bra_legacy.py`` so the
released ``checkpoint["model"]`` files load strictly. Routing attention runs through
`zoo.attention.bilevel_routing_attention`; the last stage's global attention (``topk=-2``,
``AttentionLePE``) through `zoo.attention.attend`. The local context enhancement (depthwise conv
on V, "lepe") stays in the model.

Example:
    >>> import torch
    >>> from zoo.vision.biformer import BiFormer, BIFORMER_CONFIGS
    >>> net = BiFormer(**BIFORMER_CONFIGS["tiny"])                 # BiFormer-T, random init
    >>> net(torch.randn(1, 3, 224, 224)).shape
    torch.Size([1, 1000])
    >>> import timm, zoo.vision                  # importing zoo.vision registers biformer_* in timm
    >>> timm.create_model("biformer_tiny", features_only=True)   # timm's contract: features, intermediates, ...
"""

from collections.abc import Sequence

import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import DropPath
from timm.models import (
    build_model_with_cfg,
    checkpoint_seq,
    generate_default_cfgs,
    register_notrace_function,
    register_notrace_module,
)
from timm.models import register_model as timm_register_model
from timm.models._features import feature_take_indices
from torch import Tensor, nn

from zoo.attention import attend, bilevel_routing_attention
from zoo.errors import InputError
from zoo.registry import Metric, ModelEntry, WeightsSource, register_architecture, register_model
from zoo.vision.common import (
    ImageClassifierMixin,
    check_global_pool,
    check_image_batch,
    imagenet_preprocessing,
    init_linear_weights,
)

__all__ = ["BiFormer", "BiLevelRoutingAttention", "checkpoint_filter_fn"]


@torch.jit.ignore
def _routing_attention(q: Tensor, k: Tensor, v: Tensor, num_windows: int, topk: int, scale: float) -> Tensor:
    """`zoo.attention.bilevel_routing_attention`, called as Python from TorchScript."""
    return bilevel_routing_attention(q, k, v, num_windows=num_windows, topk=topk, scale=scale)


@torch.jit.ignore
def _attend(q: Tensor, k: Tensor, v: Tensor, scale: float) -> Tensor:
    """`zoo.attention.attend`, called as Python from TorchScript."""
    return attend(q, k, v, scale=scale)


@torch.jit.ignore
def check_image_sides(x: Tensor, stride: int) -> None:
    if x.shape[-2] % stride or x.shape[-1] % stride:
        raise InputError(f"BiFormer needs image sides divisible by {stride} (32 x n_win), "
                         f"got {x.shape[-2]}x{x.shape[-1]}")


register_notrace_function(check_image_sides)


class QKVLinear(nn.Module):
    """One linear to ``q`` (qk_dim) and ``kv`` (qk_dim + dim), key ``qkv.qkv`` as upstream."""

    def __init__(self, dim: int, qk_dim: int, bias: bool = True):
        super().__init__()
        self.dim, self.qk_dim = dim, qk_dim
        self.qkv = nn.Linear(dim, qk_dim + qk_dim + dim, bias=bias)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        qkv = self.qkv(x)
        return qkv[..., : self.qk_dim], qkv[..., self.qk_dim: 2 * self.qk_dim], qkv[..., 2 * self.qk_dim:]


@register_notrace_module  # shape checks: a leaf for torch.fx
class BiLevelRoutingAttention(nn.Module):
    """Legacy BRA (``param_attention="qkvo"``, no kv downsampling, non-differentiable hard routing).

    Token attention uses the legacy scale ``qk_dim ** -0.5`` (all heads), as the checkpoints were trained.
    """

    def __init__(self, dim: int, num_heads: int = 8, n_win: int = 7, qk_dim: int | None = None,
                 qk_scale: float | None = None, topk: int = 4, side_dwconv: int = 3):
        super().__init__()
        self.dim, self.n_win, self.num_heads, self.topk = dim, n_win, num_heads, topk
        self.qk_dim = qk_dim or dim
        if self.qk_dim % num_heads or dim % num_heads:
            raise ValueError("qk_dim and dim must be divisible by num_heads")
        self.scale = qk_scale or self.qk_dim**-0.5
        self.lepe = nn.Conv2d(dim, dim, side_dwconv, padding=side_dwconv // 2, groups=dim)
        self.qkv = QKVLinear(dim, self.qk_dim)
        self.wo = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        """``x``: NHWC, H and W divisible by ``n_win``."""
        B, H, W, C = x.shape
        if H % self.n_win or W % self.n_win:
            raise ValueError(f"feature map {H}x{W} is not divisible by n_win={self.n_win}")
        q, k, v = self.qkv(x)
        lepe = self.lepe(v.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        # [B, H, W, h*d] -> [B, h, H, W, d]
        q = q.reshape(B, H, W, self.num_heads, -1).permute(0, 3, 1, 2, 4)
        k = k.reshape(B, H, W, self.num_heads, -1).permute(0, 3, 1, 2, 4)
        v = v.reshape(B, H, W, self.num_heads, -1).permute(0, 3, 1, 2, 4)
        out = _routing_attention(q, k, v, self.n_win, self.topk, self.scale)
        out = out.permute(0, 2, 3, 1, 4).reshape(B, H, W, C)
        return self.wo(out + lepe)


@register_notrace_module
class AttentionLePE(nn.Module):
    """Global multi-head attention + depthwise-conv positional term on the input (upstream ``_common.py``)."""

    def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = False, side_dwconv: int = 5):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.lepe = nn.Conv2d(dim, dim, side_dwconv, padding=side_dwconv // 2, groups=dim)

    def forward(self, x: Tensor) -> Tensor:
        B, H, W, C = x.shape
        lepe = self.lepe(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1).reshape(B, H * W, C)
        qkv = self.qkv(x.reshape(B, H * W, C)).view(B, H * W, 3, self.num_heads, -1)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        out = _attend(q, k, v, self.scale).transpose(1, 2).reshape(B, H * W, C)
        return self.proj(out + lepe).view(B, H, W, C)


class Block(nn.Module):
    """``x + dwconv(x)``, then pre-norm attention (BRA or global) and MLP; NCHW in and out."""

    def __init__(self, dim: int, drop_path: float = 0.0, num_heads: int = 8, n_win: int = 7,
                 qk_dim: int | None = None, qk_scale: float | None = None, topk: int = 4, mlp_ratio: float = 4,
                 side_dwconv: int = 5, before_attn_dwconv: int = 3):
        super().__init__()
        self.pos_embed = nn.Conv2d(dim, dim, before_attn_dwconv, padding=1, groups=dim)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        if topk > 0:
            self.attn = BiLevelRoutingAttention(dim, num_heads, n_win, qk_dim, qk_scale, topk, side_dwconv)
        elif topk == -2:
            self.attn = AttentionLePE(dim, side_dwconv=side_dwconv)
        else:
            raise ValueError(f"topk={topk} is not a released BiFormer setting (use >0, or -2 for global attention)")
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        hidden = int(mlp_ratio * dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.Identity(), nn.GELU(), nn.Linear(hidden, dim))
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        x = (x + self.pos_embed(x)).permute(0, 2, 3, 1)
        x = x + self.drop_path(self.attn(self.norm1(x)))
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x.permute(0, 3, 1, 2)


class BiFormer(ImageClassifierMixin, nn.Module):
    """BiFormer classifier with the official key names (``downsample_layers``, ``stages``, ``norm``, ``head``).

    timm's model API: ``forward_features`` gives the normed NCHW map, ``forward_head(x, pre_logits)`` pools,
    ``forward_intermediates``, ``reset_classifier``, ``set_grad_checkpointing``, ``group_matcher``.

    Example:
        >>> net = BiFormer(**BIFORMER_CONFIGS["tiny"], num_classes=10)
        >>> net(torch.randn(1, 3, 224, 224)).shape
        torch.Size([1, 10])
    """

    def __init__(
        self,
        depth: Sequence[int] = (2, 2, 8, 2),
        in_chans: int = 3,
        num_classes: int = 1000,
        embed_dim: Sequence[int] = (64, 128, 256, 512),
        head_dim: int = 32,
        qk_scale: float | None = None,
        drop_path_rate: float = 0.0,
        n_win: int = 7,
        topks: Sequence[int] = (1, 4, 16, -2),
        side_dwconv: int = 5,
        qk_dims: Sequence[int] = (64, 128, 256, 512),
        mlp_ratios: Sequence[float] = (3, 3, 3, 3),
        before_attn_dwconv: int = 3,
        global_pool: str = "avg",
    ):
        super().__init__()
        self.num_classes, self.in_chans, self.n_win = num_classes, in_chans, n_win
        self.global_pool = check_global_pool(global_pool)
        self.output_fmt = "NCHW"
        self.num_features = self.head_hidden_size = embed_dim[-1]
        self.grad_checkpointing = False
        stem = nn.Sequential(
            nn.Conv2d(in_chans, embed_dim[0] // 2, 3, stride=2, padding=1), nn.BatchNorm2d(embed_dim[0] // 2),
            nn.GELU(),
            nn.Conv2d(embed_dim[0] // 2, embed_dim[0], 3, stride=2, padding=1), nn.BatchNorm2d(embed_dim[0]),
        )
        self.downsample_layers = nn.ModuleList([stem] + [
            nn.Sequential(nn.Conv2d(embed_dim[i], embed_dim[i + 1], 3, stride=2, padding=1),
                          nn.BatchNorm2d(embed_dim[i + 1]))
            for i in range(len(depth) - 1)
        ])
        dpr = [x.item() for x in torch.linspace(0, drop_path_rate, sum(depth))]
        self.stages = nn.ModuleList()
        cur = 0
        for i, d in enumerate(depth):
            self.stages.append(nn.Sequential(*[
                Block(embed_dim[i], dpr[cur + j], qk_dims[i] // head_dim, n_win, qk_dims[i], qk_scale, topks[i],
                      mlp_ratios[i], side_dwconv, before_attn_dwconv)
                for j in range(d)
            ]))
            cur += d
        self.feature_info = [dict(num_chs=embed_dim[i], reduction=4 * 2**i, module=f"stages.{i}")
                             for i in range(len(depth))]
        self.norm = nn.BatchNorm2d(embed_dim[-1])
        self.head = nn.Linear(embed_dim[-1], num_classes) if num_classes > 0 else nn.Identity()
        self.apply(init_linear_weights)

    @torch.jit.ignore
    def group_matcher(self, coarse: bool = False) -> dict:
        return dict(
            stem=r"^downsample_layers\.0",
            blocks=r"^stages\.(\d+)" if coarse else [
                (r"^downsample_layers\.(\d+)", (0,)),
                (r"^stages\.(\d+)\.(\d+)", None),
                (r"^norm", (99999,)),
            ],
        )

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True) -> None:
        self.grad_checkpointing = enable

    def forward_features(self, x: Tensor) -> Tensor:
        """``[B, C, H, W]`` -> normed ``[B, num_features, H/32, W/32]`` (NCHW, unpooled)."""
        check_image_batch(x, self.in_chans, None, 1, self.downsample_layers[0][0].weight)
        check_image_sides(x, 32 * self.n_win)
        for down, stage in zip(self.downsample_layers, self.stages):
            x = down(x)
            x = checkpoint_seq(stage, x) if self.grad_checkpointing and not torch.jit.is_scripting() else stage(x)
        return self.norm(x)

    def forward(self, x: Tensor) -> Tensor:  # here, not in the mixin: torch.fx wraps this module's checks
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
        """Final features and each stage's output (NCHW).

        Example:
            >>> final, feats = net.forward_intermediates(torch.randn(1, 3, 224, 224))
        """
        if output_fmt != "NCHW":
            raise ValueError(f"output_fmt must be 'NCHW', got {output_fmt!r}")
        check_image_batch(x, self.in_chans, None, 1, self.downsample_layers[0][0].weight)
        check_image_sides(x, 32 * self.n_win)
        take_indices, max_index = feature_take_indices(len(self.stages), indices)
        intermediates = []
        last = len(self.stages) - 1
        for i, (down, stage) in enumerate(zip(self.downsample_layers, self.stages)):
            if stop_early and i > max_index:
                break
            x = down(x)
            x = checkpoint_seq(stage, x) if self.grad_checkpointing and not torch.jit.is_scripting() else stage(x)
            if i in take_indices:
                intermediates.append(self.norm(x) if norm and i == last else x)
        if intermediates_only:
            return intermediates
        return self.norm(x), intermediates

    def prune_intermediate_layers(self, indices: int | list[int] = 1, prune_norm: bool = False,
                                  prune_head: bool = True) -> list[int]:
        """Drop the stages (and optionally norm/head) after the last wanted intermediate."""
        take_indices, max_index = feature_take_indices(len(self.stages), indices)
        self.stages = self.stages[: max_index + 1]
        self.downsample_layers = self.downsample_layers[: max_index + 1]
        if prune_norm or max_index < len(self.feature_info) - 1:
            self.norm = nn.Identity()
        if prune_head:
            self.reset_classifier(0, "")
        return take_indices


def checkpoint_filter_fn(state_dict: dict, model: nn.Module | None = None) -> dict:
    """Released BiFormer checkpoint (``{"model": state_dict, ...}``) -> our state dict."""
    if isinstance(state_dict.get("model"), dict):
        state_dict = state_dict["model"]
    return {k.removeprefix("module."): v for k, v in state_dict.items()}


# configs from rayleizhu/BiFormer models/biformer.py
BIFORMER_CONFIGS = {
    "tiny": dict(depth=(2, 2, 8, 2), embed_dim=(64, 128, 256, 512), qk_dims=(64, 128, 256, 512)),
    "small": dict(depth=(4, 4, 18, 4), embed_dim=(64, 128, 256, 512), qk_dims=(64, 128, 256, 512)),
    "base": dict(depth=(4, 4, 18, 4), embed_dim=(96, 192, 384, 768), qk_dims=(96, 192, 384, 768)),
}
_URLS = {  # the README's OneDrive links; no hashes are published
    "tiny": "https://api.onedrive.com/v1.0/shares/s!AkBbczdRlZvChHEOoGkgwgQzEDlM/root/content",
    "small": "https://api.onedrive.com/v1.0/shares/s!AkBbczdRlZvChHDyM-x9KWRBZ832/root/content",
    "base": "https://api.onedrive.com/v1.0/shares/s!AkBbczdRlZvChHI_XPhoadjaNxtO/root/content",
}
_TOP1 = {"tiny": 81.4, "small": 83.8, "base": 84.3}


def _create_biformer(variant: str, pretrained: bool = False, **kwargs) -> BiFormer:
    out_indices = kwargs.pop("out_indices", tuple(range(len(kwargs.get("depth", (2, 2, 8, 2))))))
    return build_model_with_cfg(
        BiFormer, variant, pretrained,
        pretrained_filter_fn=checkpoint_filter_fn,
        feature_cfg=dict(feature_cls="getter", out_indices=out_indices),
        kwargs_filter=("img_size",),  # any multiple of 32 * n_win works; fixed_input_size steers timm's tests to 224
        **kwargs,
    )


def _cfg(**kwargs) -> dict:
    # no url: the released files sit behind OneDrive share links that all end in ".../root/content", which
    # timm's URL cache would store under one file name; load them with zoo.load("biformer-tiny") instead
    return {
        "url": "", "num_classes": 1000, "input_size": (3, 224, 224), "fixed_input_size": True, "pool_size": (7, 7),
        "crop_pct": 0.875, "interpolation": "bicubic", "mean": IMAGENET_DEFAULT_MEAN, "std": IMAGENET_DEFAULT_STD,
        "first_conv": "downsample_layers.0.0", "classifier": "head", "license": "mit", "paper_ids": "arXiv:2303.08810",
        **kwargs,
    }


default_cfgs = generate_default_cfgs({f"biformer_{size}": _cfg() for size in BIFORMER_CONFIGS})


def _timm_entrypoint(size: str, cfg: dict):
    def entrypoint(pretrained: bool = False, **kwargs) -> BiFormer:
        return _create_biformer(f"biformer_{size}", pretrained, **{**cfg, **kwargs})

    entrypoint.__name__ = entrypoint.__qualname__ = f"biformer_{size}"
    entrypoint.__doc__ = f"BiFormer-{size[0].upper()} (224²)."
    entrypoint.__module__ = __name__
    return entrypoint


# ---------------------------------------------------------------------------------------------
# registration: the zoo's registry, and timm's (both run when zoo.vision is imported)
# ---------------------------------------------------------------------------------------------

@register_architecture("biformer", domain="vision")
def biformer(**kwargs) -> BiFormer:
    """BiFormer builder for the registry."""
    return BiFormer(**kwargs)


for _size, _args in BIFORMER_CONFIGS.items():
    register_model(ModelEntry(
        name=f"biformer-{_size}",
        architecture="biformer",
        domain="vision",
        task="image-classification",
        model_args={k: list(v) for k, v in _args.items()},
        preprocessing=imagenet_preprocessing(crop_pct=0.875, interpolation="bicubic"),
        weights=WeightsSource(url=_URLS[_size], filename=f"biformer_{_size}_in1k.pth", converter=checkpoint_filter_fn),
        license="mit",
        metrics=[Metric(
            name="top1", value=None, dataset="imagenet-1k", split="validation",
            command=f"zoo eval biformer-{_size} --data /path/to/imagenet/val",
            published=_TOP1[_size], published_source="rayleizhu/BiFormer README (not measured here)",
            note="upstream weights; ImageNet is not available on this machine, so the number is theirs, not ours",
        )],
        aliases=(f"biformer_{_size}",),
        description=f"BiFormer-{_size[0].upper()} (224²), the authors' ImageNet-1k weights (legacy BRA layout); "
                    "bi-level routing attention through zoo.attention. Needs this package.",
        datasets=("imagenet-1k",),
        tags=("biformer", "routing-attention", "image-classification"),
        paper="https://arxiv.org/abs/2303.08810",
    ))


for _size, _cfg_args in BIFORMER_CONFIGS.items():
    timm_register_model(_timm_entrypoint(_size, _cfg_args))
