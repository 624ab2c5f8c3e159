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
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from timm.layers import DropPath
from torch import Tensor, nn

from zoo.attention import attend, bilevel_routing_attention
from zoo.registry import Metric, ModelEntry, WeightsSource, register_architecture, register_model
from zoo.vision.common import ImageClassifierMixin, check_image_batch, imagenet_preprocessing, init_linear_weights

__all__ = ["BiFormer", "BiLevelRoutingAttention", "checkpoint_filter_fn"]


class QKVLinear(nn.Module):
    """One linear to ``q`` (qk_dim) and ``kv`` (qk_dim + dim), key ``qkv.qkv`` as upstream."""

    def __init__(self, dim: int, qk_dim: int, bias: bool = True):
        super().__init__()
        self.dim, self.qk_dim = dim, qk_dim
        self.qkv = nn.Linear(dim, qk_dim + qk_dim + dim, bias=bias)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return self.qkv(x).split([self.qk_dim, self.qk_dim, self.dim], dim=-1)


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

        def heads(t: Tensor) -> Tensor:  # [B, H, W, h*d] -> [B, h, H, W, d]
            return t.view(B, H, W, self.num_heads, -1).permute(0, 3, 1, 2, 4)

        out = bilevel_routing_attention(heads(q), heads(k), heads(v), num_windows=self.n_win, topk=self.topk,
                                        scale=self.scale)
        out = out.permute(0, 2, 3, 1, 4).reshape(B, H, W, C)
        return self.wo(out + lepe)


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
        q, k, v = self.qkv(x.reshape(B, H * W, C)).view(B, H * W, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        out = attend(q, k, v, scale=self.scale).transpose(1, 2).reshape(B, H * W, C)
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
    """BiFormer classifier with the official key names (``downsample_layers``, ``stages``, ``norm``, ``head``)."""

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
    ):
        super().__init__()
        self.num_classes, self.in_chans, self.n_win = num_classes, in_chans, n_win
        self.num_features = embed_dim[-1]
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
        self.norm = nn.BatchNorm2d(embed_dim[-1])
        self.head = nn.Linear(embed_dim[-1], num_classes) if num_classes > 0 else nn.Identity()
        self.apply(init_linear_weights)

    def forward_features(self, x: Tensor) -> Tensor:
        check_image_batch(x, self.in_chans, None)
        stride = 32 * self.n_win
        if x.shape[-2] % stride or x.shape[-1] % stride:
            from zoo.errors import InputError

            raise InputError(
                f"BiFormer needs image sides divisible by {stride} (32 x n_win), got {x.shape[-2]}x{x.shape[-1]}"
            )
        for down, stage in zip(self.downsample_layers, self.stages):
            x = stage(down(x))
        return self.norm(x).flatten(2).mean(-1)



def checkpoint_filter_fn(state_dict: dict) -> dict:
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


@register_architecture("biformer", domain="vision")
def biformer(**kwargs) -> BiFormer:
    """BiFormer builder for the registry."""
    return BiFormer(**kwargs)


for _size, _cfg in BIFORMER_CONFIGS.items():
    register_model(ModelEntry(
        name=f"biformer-{_size}",
        architecture="biformer",
        domain="vision",
        task="image-classification",
        model_args={k: list(v) for k, v in _cfg.items()},
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


def _register_in_timm() -> None:
    """Make ``timm.create_model("biformer_tiny")`` etc. build our BiFormer (no weights)."""
    from timm.models import is_model
    from timm.models import register_model as timm_register

    for size, cfg in BIFORMER_CONFIGS.items():
        name = f"biformer_{size}"
        if is_model(name):
            continue

        def factory(pretrained: bool = False, _cfg=cfg, **kwargs) -> BiFormer:
            if pretrained:
                raise ValueError("load pretrained BiFormer with zoo.load(...); timm has no weights for it")
            for key in ("pretrained_cfg", "pretrained_cfg_overlay", "cache_dir"):
                kwargs.pop(key, None)
            return BiFormer(**{**_cfg, **kwargs})

        factory.__name__ = factory.__qualname__ = name
        factory.__module__ = __name__
        timm_register(factory)


_register_in_timm()
