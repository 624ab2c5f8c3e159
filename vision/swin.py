"""Swin Transformer (Liu et al., 2021) on the zoo's attention backend, state-dict compatible with timm.

Parameter names and shapes are exactly those of timm 1.0.31's ``SwinTransformer``
(``swin_{tiny,small,base}_patch4_window7_224``), so timm checkpoints load strictly and give the
same logits. What differs is the attention: the relative-position bias and the shifted-window
mask are combined into one additive mask (cached in inference) and the windows go through
`zoo.attention.window_attention` -> `zoo.attention.attend` (SDPA), not an explicit ``q @ kᵀ``.

Example:
    >>> import zoo, torch
    >>> model = zoo.load("swin-tiny")                       # timm/swin_tiny_patch4_window7_224.ms_in1k
    >>> x = model.transform(PIL.Image.open("cat.jpg"))[None]
    >>> model(x).softmax(-1).topk(5)
    >>> # or build without weights
    >>> from zoo.vision.swin import SwinTransformer
    >>> net = SwinTransformer(embed_dim=32, depths=(2, 2), num_heads=(2, 4), img_size=64, num_classes=10)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from timm.layers import ClassifierHead, DropPath, Mlp, PatchEmbed, calculate_drop_path_rates, to_2tuple, trunc_normal_
from torch import Tensor, nn

from zoo.attention import (
    relative_position_index,
    shifted_window_mask,
    window_attention,
)
from zoo.attention.window import combine_window_bias, window_gather_index
from zoo.errors import InputError
from zoo.registry import Metric, ModelEntry, WeightsSource, register_architecture, register_model
from zoo.vision.common import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    PREPROCESSING_KEYS,
    ConvStem,
    ImageClassifierMixin,
    check_image_batch,
    init_linear_weights,
)

__all__ = ["SwinTransformer", "WindowAttention", "SwinTransformerBlock", "checkpoint_filter_fn"]


# ---------------------------------------------------------------------------------------------
# blocks
# ---------------------------------------------------------------------------------------------


class WindowAttention(nn.Module):
    """Multi-head self-attention inside windows with a learned relative-position bias.

    The bias (``relative_position_bias_table`` gathered by the relative-position index) and the
    optional shifted-window mask become one additive ``[nW, heads, N, N]`` mask. Outside autograd
    (inference) that combined mask is cached and rebuilt only when the table changes.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        window_size: int | tuple[int, int] = 7,
        head_dim: int | None = None,
        qkv_bias: bool = True,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
    ):
        super().__init__()
        self.window_size = to_2tuple(window_size)
        self.window_area = self.window_size[0] * self.window_size[1]
        self.num_heads = num_heads
        head_dim = head_dim or dim // num_heads
        attn_dim = head_dim * num_heads
        self.scale = head_dim**-0.5
        self.attn_drop = attn_drop
        table_rows = (2 * self.window_size[0] - 1) * (2 * self.window_size[1] - 1)
        self.relative_position_bias_table = nn.Parameter(torch.zeros(table_rows, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(self.window_size), persistent=False)
        self.qkv = nn.Linear(dim, attn_dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(attn_dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        trunc_normal_(self.relative_position_bias_table, std=0.02)
        self._cache: tuple | None = None

    def relative_position_bias(self) -> Tensor:
        """``[heads, N, N]`` bias gathered from the table."""
        N = self.window_area
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        return bias.view(N, N, -1).permute(2, 0, 1)

    def attn_bias(self, mask: Tensor | None, batch_windows: int) -> Tensor:
        """The one additive mask handed to the attention kernel.

        Outside autograd (inference) it is cached, already expanded to ``batch_windows`` rows, and
        rebuilt only when the bias table (or the mask, or the batch size) changes.
        """
        table = self.relative_position_bias_table
        cacheable = not torch.is_grad_enabled() and not torch.compiler.is_compiling()
        if not cacheable:
            return combine_window_bias(self.relative_position_bias(), mask)
        key = (table.data_ptr(), table._version, table.dtype, table.device, batch_windows,
               None if mask is None else (mask.data_ptr(), mask._version, tuple(mask.shape)))
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        bias = combine_window_bias(self.relative_position_bias(), mask.to(table.dtype) if mask is not None else None)
        if bias.shape[0] > 1:
            bias = bias.expand(batch_windows // bias.shape[0], *bias.shape).reshape(batch_windows, *bias.shape[1:])
        bias = bias.contiguous()
        self._cache = (key, bias)
        return bias

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """``x``: ``[B * nW, N, C]``; ``mask``: ``[nW, N, N]`` additive shift mask or None."""
        BW, N, _ = x.shape
        q, k, v = self.qkv(x).view(BW, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        dropout = self.attn_drop if self.training else 0.0
        x = window_attention(q, k, v, bias=self.attn_bias(mask, BW), scale=self.scale, dropout_p=dropout)
        x = x.transpose(1, 2).reshape(BW, N, -1)
        return self.proj_drop(self.proj(x))


class SwinTransformerBlock(nn.Module):
    """(Shifted-)window attention + MLP, pre-norm, on ``[B, H, W, C]`` tokens."""

    def __init__(
        self,
        dim: int,
        input_resolution: tuple[int, int],
        num_heads: int,
        window_size: int = 7,
        shift_size: int = 0,
        head_dim: int | None = None,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        proj_drop: float = 0.0,
        attn_drop: float = 0.0,
        drop_path: float = 0.0,
        norm_layer: type[nn.Module] = nn.LayerNorm,
    ):
        super().__init__()
        self.input_resolution = tuple(input_resolution)
        ws, ss = to_2tuple(window_size), to_2tuple(shift_size)
        # a window larger than the feature map shrinks to it, and then there is nothing to shift
        self.window_size = tuple(min(r, w) for r, w in zip(self.input_resolution, ws))
        self.shift_size = tuple(0 if r <= w else s for r, w, s in zip(self.input_resolution, self.window_size, ss))
        self.norm1 = norm_layer(dim)
        self.attn = WindowAttention(dim, num_heads, self.window_size, head_dim, qkv_bias, attn_drop, proj_drop)
        self.drop_path1 = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(in_features=dim, hidden_features=int(dim * mlp_ratio), act_layer=nn.GELU, drop=proj_drop)
        self.drop_path2 = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        padded = [math.ceil(r / w) * w for r, w in zip(self.input_resolution, self.window_size)]
        self.pad = padded != list(self.input_resolution)
        self.register_buffer(
            "attn_mask", shifted_window_mask(padded, self.window_size, self.shift_size), persistent=False
        )
        # roll + pad + window partition as one gather (and its inverse), see window_gather_index
        fwd, inv = window_gather_index(self.input_resolution, self.window_size, self.shift_size)
        self.register_buffer("window_index", fwd, persistent=False)
        self.register_buffer("window_inverse", inv, persistent=False)

    def _attn(self, x: Tensor) -> Tensor:
        B, H, W, C = x.shape
        if (H, W) != self.input_resolution:
            raise InputError(f"block built for a {self.input_resolution} feature map, got {(H, W)}")
        x = x.reshape(B, H * W, C)
        if self.pad:
            x = torch.cat([x, x.new_zeros(B, 1, C)], dim=1)
        windows = x.index_select(1, self.window_index).view(-1, self.window_size[0] * self.window_size[1], C)
        windows = self.attn(windows, mask=self.attn_mask)
        return windows.view(B, -1, C).index_select(1, self.window_inverse).view(B, H, W, C)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.drop_path1(self._attn(self.norm1(x)))
        return x + self.drop_path2(self.mlp(self.norm2(x)))


class PatchMerging(nn.Module):
    """2×2 neighbourhood concatenation + LayerNorm + linear reduction (``C -> out_dim``)."""

    def __init__(self, dim: int, out_dim: int | None = None, norm_layer: type[nn.Module] = nn.LayerNorm):
        super().__init__()
        self.out_dim = out_dim or 2 * dim
        self.norm = norm_layer(4 * dim)
        self.reduction = nn.Linear(4 * dim, self.out_dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        B, H, W, C = x.shape
        x = F.pad(x, (0, 0, 0, W % 2, 0, H % 2))
        H, W = x.shape[1], x.shape[2]
        # channel order (w-offset, h-offset, C): x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2]
        x = x.reshape(B, H // 2, 2, W // 2, 2, C).permute(0, 1, 3, 4, 2, 5).flatten(3)
        return self.reduction(self.norm(x))


class SwinTransformerStage(nn.Module):
    """Optional patch merging, then ``depth`` blocks alternating plain and shifted windows."""

    def __init__(
        self,
        dim: int,
        out_dim: int,
        input_resolution: tuple[int, int],
        depth: int,
        downsample: bool,
        num_heads: int,
        window_size: int,
        head_dim: int | None,
        mlp_ratio: float,
        qkv_bias: bool,
        proj_drop: float,
        attn_drop: float,
        drop_path: Sequence[float],
        norm_layer: type[nn.Module] = nn.LayerNorm,
    ):
        super().__init__()
        self.output_resolution = tuple((r + 1) // 2 for r in input_resolution) if downsample else input_resolution
        self.downsample = PatchMerging(dim, out_dim, norm_layer) if downsample else nn.Identity()
        self.blocks = nn.Sequential(*[
            SwinTransformerBlock(
                out_dim, self.output_resolution, num_heads, window_size,
                shift_size=0 if i % 2 == 0 else window_size // 2, head_dim=head_dim, mlp_ratio=mlp_ratio,
                qkv_bias=qkv_bias, proj_drop=proj_drop, attn_drop=attn_drop, drop_path=drop_path[i],
                norm_layer=norm_layer,
            )
            for i in range(depth)
        ])

    def forward(self, x: Tensor) -> Tensor:
        return self.blocks(self.downsample(x))


# ---------------------------------------------------------------------------------------------
# model
# ---------------------------------------------------------------------------------------------


class SwinTransformer(ImageClassifierMixin, nn.Module):
    """Swin Transformer classifier with timm-identical parameter names.

    Example:
        >>> net = SwinTransformer(embed_dim=96, depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24))  # Swin-T
        >>> import timm; ref = timm.create_model("swin_tiny_patch4_window7_224")
        >>> net.load_state_dict(ref.state_dict(), strict=True)
    """

    def __init__(
        self,
        img_size: int | tuple[int, int] = 224,
        patch_size: int = 4,
        in_chans: int = 3,
        num_classes: int = 1000,
        global_pool: str = "avg",
        embed_dim: int = 96,
        depths: Sequence[int] = (2, 2, 6, 2),
        num_heads: Sequence[int] = (3, 6, 12, 24),
        head_dim: int | None = None,
        window_size: int = 7,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        drop_rate: float = 0.0,
        proj_drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.1,
        stem_widths: Sequence[int] | None = None,
    ):
        super().__init__()
        self.img_size = to_2tuple(img_size)
        self.in_chans = in_chans
        self.num_classes = num_classes
        self.num_layers = len(depths)
        dims = [int(embed_dim * 2**i) for i in range(self.num_layers)]
        self.num_features = dims[-1]
        if stem_widths is None:  # timm's Swin: a linear patch embedding
            self.patch_embed = PatchEmbed(
                img_size=img_size, patch_size=patch_size, in_chans=in_chans, embed_dim=dims[0],
                norm_layer=nn.LayerNorm, output_fmt="NHWC",
            )
            grid = self.patch_embed.grid_size
        else:  # a convolutional tokenizer (not in timm's SwinTransformer): /4 like patch 4
            if patch_size != ConvStem.reduction:
                raise InputError(f"stem_widths needs patch_size={ConvStem.reduction} (the stem's reduction), got {patch_size}")
            self.patch_embed = ConvStem(in_chans, dims[0], stem_widths)
            grid = tuple(s // ConvStem.reduction for s in self.img_size)
        dpr = calculate_drop_path_rates(drop_path_rate, list(depths), stagewise=True)
        stages, in_dim, res = [], dims[0], tuple(grid)
        for i, depth in enumerate(depths):
            stage = SwinTransformerStage(
                in_dim, dims[i], res, depth, downsample=i > 0, num_heads=num_heads[i], window_size=window_size,
                head_dim=head_dim, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, proj_drop=proj_drop_rate,
                attn_drop=attn_drop_rate, drop_path=dpr[i],
            )
            stages.append(stage)
            in_dim, res = dims[i], stage.output_resolution
        self.layers = nn.Sequential(*stages)
        self.norm = nn.LayerNorm(self.num_features)
        self.head = ClassifierHead(
            self.num_features, num_classes, pool_type=global_pool, drop_rate=drop_rate, input_fmt="NHWC"
        )
        self.apply(init_linear_weights)

    # -- forward ----------------------------------------------------------------------------
    def check_input(self, x: Tensor) -> None:
        proj = self.patch_embed.proj  # a Conv2d (timm's patch embedding) or the stem's Sequential
        check_image_batch(x, self.in_chans, self.img_size, 1, proj.weight if isinstance(proj, nn.Conv2d) else proj[0].weight)

    def forward_features(self, x: Tensor) -> Tensor:
        self.check_input(x)
        return self.norm(self.layers(self.patch_embed(x)))

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        return self.head(x, pre_logits=pre_logits)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))

    # -- timm-like helpers -------------------------------------------------------------------
    @torch.jit.ignore
    def no_weight_decay(self) -> set[str]:
        return {n for n, _ in self.named_parameters() if "relative_position_bias_table" in n}

    def get_classifier(self) -> nn.Module:
        return self.head.fc

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        self.num_classes = num_classes
        self.head.reset(num_classes, pool_type=global_pool)


# ---------------------------------------------------------------------------------------------
# preprocessing, checkpoint conversion
# ---------------------------------------------------------------------------------------------

def checkpoint_filter_fn(state_dict: dict) -> dict:
    """timm-format Swin state dict -> ours (drops timm's non-persistent buffers if present).

    Accepts a raw state dict or a ``{"model": ...}`` / ``{"state_dict": ...}`` wrapper. Original
    Microsoft checkpoints (downsample at the end of a stage) should go through timm's
    ``swin_transformer.checkpoint_filter_fn`` first; the timm Hub files need nothing.
    """
    state_dict = state_dict.get("model", state_dict)
    state_dict = state_dict.get("state_dict", state_dict)
    if "layers.0.downsample.reduction.weight" in state_dict:
        raise ValueError("this is an original Microsoft Swin checkpoint; convert it with timm's checkpoint_filter_fn")
    return {k: v for k, v in state_dict.items() if not k.endswith(("relative_position_index", "attn_mask"))}


# ---------------------------------------------------------------------------------------------
# configs, timm's Hub config.json convention, registration
# ---------------------------------------------------------------------------------------------

SWIN_CONFIGS = {
    "tiny": dict(embed_dim=96, depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24)),
    "small": dict(embed_dim=96, depths=(2, 2, 18, 2), num_heads=(3, 6, 12, 24)),
    "base": dict(embed_dim=128, depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32)),
}
TIMM_NAMES = {size: f"swin_{size}_patch4_window7_224" for size in SWIN_CONFIGS}
_DEFAULTS = dict(patch_size=4, window_size=7, img_size=224, in_chans=3, num_classes=1000)

PRETRAINED_CFG = {
    "input_size": (3, 224, 224),
    "fixed_input_size": True,
    "interpolation": "bicubic",
    "crop_pct": 0.9,
    "crop_mode": "center",
    "mean": IMAGENET_MEAN,
    "std": IMAGENET_STD,
    "num_classes": 1000,
    "pool_size": (7, 7),
    "first_conv": "patch_embed.proj",
    "classifier": "head.fc",
}


def _tup(v):
    return tuple(v) if isinstance(v, (list, tuple)) else v


def _json(v):
    return list(v) if isinstance(v, tuple) else v


def _timm_pretrained_cfg(model: nn.Module, preprocessing: dict) -> dict:
    pretrained_cfg = {**PRETRAINED_CFG, **{k: _tup(v) for k, v in preprocessing.items() if k in PRETRAINED_CFG}}
    pretrained_cfg.update(num_classes=model.num_classes, input_size=(model.in_chans, *model.img_size))
    pretrained_cfg["pool_size"] = tuple(model.layers[-1].output_resolution)
    return {k: _json(v) for k, v in pretrained_cfg.items()}


def to_timm_hub_config(model: nn.Module) -> dict:
    """timm's ``config.json`` for ``model``, so ``timm.create_model("hf-hub:...")`` loads the folder.

    Top level: ``architecture`` (timm's model name), ``num_classes``, ``num_features``,
    ``global_pool``, ``pretrained_cfg`` (preprocessing), ``label_names`` when the model has its own
    classes, ``model_args`` only for arguments that differ from timm's defaults for that name;
    plus ``library_name: timm`` and ``pipeline_tag: image-classification`` for the Hub.
    """
    config = model.config
    arch = config["architecture"]
    size = _SIZE_OF[arch]
    base = {**_DEFAULTS, **SWIN_CONFIGS[size]}
    model_args = dict(config.get("model_args", {}) or {})
    extra = {k: _json(v) for k, v in model_args.items()
             if k not in ("drop_path_rate", "num_classes") and _tup(base.get(k, object())) != _tup(v)}
    preprocessing = dict(config.get("preprocessing", {}) or {})
    out = {
        "architecture": arch,
        "num_classes": model.num_classes,
        "num_features": model.num_features,
        "global_pool": "avg",
        "library_name": "timm",
        "pipeline_tag": "image-classification",
        "pretrained_cfg": _timm_pretrained_cfg(model, preprocessing),
    }
    if preprocessing.get("label_names"):
        out["label_names"] = list(preprocessing["label_names"])
    if extra:
        out["model_args"] = extra
    return out


def from_timm_hub_config(cfg: dict) -> tuple[dict, dict]:
    """``(model_args, preprocessing)`` from a timm ``config.json`` (inverse of `to_timm_hub_config`)."""
    if cfg.get("architecture") not in _SIZE_OF:
        raise InputError(f"expected a timm Swin architecture ({', '.join(_SIZE_OF)}), got {cfg.get('architecture')!r}")
    pcfg = dict(cfg.get("pretrained_cfg", {}))
    model_args = dict(cfg.get("model_args", {}) or {})
    model_args["num_classes"] = cfg.get("num_classes", pcfg.get("num_classes", 1000))
    preprocessing = {k: pcfg[k] for k in _PREPROCESSING_KEYS if k in pcfg}
    if cfg.get("label_names"):
        preprocessing["label_names"] = list(cfg["label_names"])
    elif model_args["num_classes"] == 1000:
        preprocessing["labels"] = "imagenet-1k"
    return model_args, preprocessing


def _timm_arch_for(model_args: dict) -> str:
    """The timm Swin name whose defaults are closest (same width/depths/heads), else Swin-T's."""
    for size, cfg in SWIN_CONFIGS.items():
        if all(_tup(model_args.get(k)) == _tup(v) for k, v in cfg.items()):
            return TIMM_NAMES[size]
    return TIMM_NAMES["tiny"]


def to_swin_hub_config(model: nn.Module) -> dict | None:
    """``config.json`` of any zoo Swin (architecture ``"swin"``) in timm's own form, plus the zoo's keys.

    timm reads ``architecture`` (a timm Swin name), ``model_args`` (every argument, so timm's defaults for
    that name do not matter), ``num_classes``, ``pretrained_cfg`` and ``label_names``:
    ``timm.create_model("local-dir:FOLDER", pretrained=True)`` loads the folder without the zoo. The zoo reads
    ``zoo_architecture`` first (``"swin"``), then its ``preprocessing`` and ``name``.

    Example:
        >>> save_pretrained(zoo.load("swin-cifar10"), "out/")      # config.json in this form
        >>> timm.create_model("local-dir:out/", pretrained=True)
    """
    config = model.config
    if (config.get("model_args") or {}).get("stem_widths") is not None:
        return None  # a convolutional tokenizer has no place in timm's SwinTransformer: the zoo's own form
    model_args = {k: _json(v) for k, v in dict(config.get("model_args", {}) or {}).items() if k != "num_classes"}
    for key in ("img_size", "patch_size", "window_size", "embed_dim", "depths", "num_heads"):
        if key not in model_args:  # spell out what timm's defaults for the base name would otherwise decide
            model_args[key] = _json(_tup(model.img_size) if key == "img_size" else _SWIN_DEFAULT_ARGS[key])
    if isinstance(model_args.get("img_size"), (list, tuple)) and len(set(model_args["img_size"])) == 1:
        model_args["img_size"] = model_args["img_size"][0]
    preprocessing = dict(config.get("preprocessing", {}) or {})
    out = {
        "architecture": _timm_arch_for(model_args),
        "zoo_architecture": "swin",
        "num_classes": model.num_classes,
        "num_features": model.num_features,
        "global_pool": "avg",
        "model_args": model_args,
        "pretrained_cfg": _timm_pretrained_cfg(model, preprocessing),
        "library_name": "timm",
        "pipeline_tag": "image-classification",
        "preprocessing": preprocessing,
        "name": config.get("name"),
    }
    if preprocessing.get("label_names"):
        out["label_names"] = list(preprocessing["label_names"])
    return out


def from_swin_hub_config(cfg: dict) -> tuple[dict, dict]:
    """``(model_args, preprocessing)`` from a ``"swin"`` folder's config.json (timm form, or the older zoo form)."""
    model_args = cfg.get("model_args")
    if not isinstance(model_args, dict):
        raise InputError(f"expected 'model_args' (a JSON object) in a Swin config.json, got {type(model_args).__name__}")
    model_args = dict(model_args)
    if "num_classes" in cfg:
        model_args["num_classes"] = cfg["num_classes"]
    preprocessing = cfg.get("preprocessing")
    if preprocessing is None and "pretrained_cfg" in cfg:  # a timm-only config: take timm's preprocessing fields
        preprocessing = {k: v for k, v in cfg["pretrained_cfg"].items() if k in _PREPROCESSING_KEYS}
        if cfg.get("label_names"):
            preprocessing["label_names"] = list(cfg["label_names"])
    return model_args, dict(preprocessing or {})


def _builder(size: str):
    def build(**kwargs) -> SwinTransformer:
        return SwinTransformer(**{**SWIN_CONFIGS[size], **kwargs})

    build.__name__ = build.__qualname__ = TIMM_NAMES[size]
    build.__doc__ = f"Swin-{size[0].upper()} (timm's ``{TIMM_NAMES[size]}``); keyword arguments override."
    return build


_SIZE_OF = {name: size for size, name in TIMM_NAMES.items()}
_SWIN_DEFAULT_ARGS = {**_DEFAULTS, **SWIN_CONFIGS["tiny"]}
_PREPROCESSING_KEYS = PREPROCESSING_KEYS

# architectures carry timm's model names, so a Hub folder's config.json is timm's own
for _size in SWIN_CONFIGS:
    register_architecture(
        TIMM_NAMES[_size], domain="vision", to_hub_config=to_timm_hub_config, from_hub_config=from_timm_hub_config
    )(_builder(_size))


@register_architecture("swin", domain="vision", to_hub_config=to_swin_hub_config, from_hub_config=from_swin_hub_config)
def swin(**kwargs) -> SwinTransformer:
    """Any Swin configuration, e.g. the small CIFAR-10 variants; its folders' config.json is timm's form."""
    return SwinTransformer(**kwargs)


# Hub snapshot pins. The tiny commit is the full SHA shown on the Hub; for small/base only the
# short ids of the same "Fix library_name." commits are published in the pages we could read
# (75542c7 / 89e13d3), so they resolve to `main` (the weights file is unchanged since 2023-03-18).
_REVISIONS = {"tiny": "64979f791ac382a813948ddbe4244b09081c1816", "small": None, "base": None}
_TOP1 = {"tiny": 81.4, "small": 83.2, "base": 83.6}  # timm results-imagenet.csv

for _size in SWIN_CONFIGS:
    register_model(ModelEntry(
        name=f"swin-{_size}",
        architecture=TIMM_NAMES[_size],
        domain="vision",
        task="image-classification",
        model_args={},
        preprocessing={**{k: _json(PRETRAINED_CFG[k]) for k in _PREPROCESSING_KEYS}, "labels": "imagenet-1k"},
        weights=WeightsSource(
            repo_id=f"timm/{TIMM_NAMES[_size]}.ms_in1k",
            revision=_REVISIONS[_size],
            filename="model.safetensors",
            converter=checkpoint_filter_fn,
        ),
        license="mit",
        metrics=[Metric(
            name="top1", value=None, dataset="imagenet-1k", split="validation",
            command=f"zoo eval swin-{_size} --data /path/to/imagenet/val",
            published=_TOP1[_size], published_source="timm results-imagenet.csv (not measured here)",
            note="upstream weights; ImageNet is not available on this machine, so the number is timm's, not ours",
        )],
        aliases=(TIMM_NAMES[_size],),
        description=f"Swin-{_size[0].upper()} (patch 4, window 7, 224²), Microsoft's ImageNet-1k weights via timm; "
                    "timm-identical state dict, window attention through zoo.attention (SDPA, one additive mask).",
        datasets=("imagenet-1k",),
        tags=("swin", "timm", "image-classification"),
        paper="https://arxiv.org/abs/2103.14030",
        extra={"timm_name": f"{TIMM_NAMES[_size]}.ms_in1k", "library_name": "timm"},
    ))
