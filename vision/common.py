"""Shared vision helpers: preprocessing from a pretrained config, input checks, class names, and the
classifier plumbing (init, head, preprocessing) that Swin, BiFormer and DiNAT have in common."""


import torch
from timm.layers import trunc_normal_
from timm.models import register_notrace_function
from torch import Tensor, nn

from zoo.errors import InputError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PREPROCESSING_KEYS = ("input_size", "interpolation", "crop_pct", "crop_mode", "mean", "std")


class ConvStem(nn.Module):
    """Convolutional tokenizer in front of attention stages (as in CCT, Hassani et al. 2021): 3×3 conv-BN-GELU
    layers of ``widths`` channels (the first with stride 2, the others stride 1), then a stride-2 3×3 conv-BN-GELU
    to ``embed_dim``; LayerNorm'ed NHWC tokens at 1/4 of the input resolution (like a patch-4 embedding).

    Example:
        >>> stem = ConvStem(3, 64, widths=(32, 64))
        >>> stem(torch.randn(2, 3, 32, 32)).shape          # torch.Size([2, 8, 8, 64])
    """

    reduction = 4

    def __init__(self, in_chans: int, embed_dim: int, widths=(32, 64)):
        super().__init__()
        widths = [int(w) for w in widths]
        if not widths or min(widths) < 1:
            raise InputError(f"expected stem_widths: one or more positive channel counts, got {widths}")
        layers, c = [], in_chans
        for i, w in enumerate([*widths, embed_dim]):
            stride = 2 if i in (0, len(widths)) else 1
            layers += [nn.Conv2d(c, w, 3, stride, 1, bias=False), nn.BatchNorm2d(w), nn.GELU()]
            c = w
        self.proj = nn.Sequential(*layers)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(self.proj(x).permute(0, 2, 3, 1))


def imagenet_preprocessing(crop_pct: float = 0.875, interpolation: str = "bicubic", size: int = 224) -> dict:
    """A JSON-friendly pretrained-config dict (timm's field names) for an ImageNet model."""
    return {
        "input_size": [3, size, size],
        "interpolation": interpolation,
        "crop_pct": crop_pct,
        "crop_mode": "center",
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
        "labels": "imagenet-1k",
    }


def build_transform(preprocessing: dict, is_training: bool = False, **train_kwargs):
    """timm's transform for a pretrained-config-style dict (input_size, crop_pct, mean, std, ...)."""
    from timm.data import create_transform, resolve_data_config

    cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in preprocessing.items() if k in PREPROCESSING_KEYS}
    data_cfg = resolve_data_config(pretrained_cfg=cfg or {"input_size": (3, 224, 224)}, use_test_size=True)
    return create_transform(**data_cfg, is_training=is_training, **train_kwargs)


def class_names(preprocessing: dict, num_classes: int) -> list[str]:
    """Human-readable class names: explicit ``label_names``, ImageNet-1k via timm, else indices."""
    names = preprocessing.get("label_names")
    if names:
        return [str(n) for n in names]
    if preprocessing.get("labels") == "imagenet-1k" and num_classes == 1000:
        from timm.data import ImageNetInfo

        info = ImageNetInfo()
        return [info.index_to_description(i) for i in range(1000)]
    return [f"class {i}" for i in range(num_classes)]


@torch.jit.ignore
def check_image_batch(x: Tensor, in_chans: int, img_size: tuple[int, int] | None = None, min_size: int = 1,
                      weight: Tensor | None = None) -> None:
    """Raise `InputError` unless ``x`` is a non-empty, finite ``[B, in_chans, H, W]`` float batch the model takes.

    ``weight`` is one of the model's weights: a floating batch of another dtype is refused (named), never cast.
    Ignored by TorchScript and a leaf for torch.fx (timm's tracing), so scripted/traced models skip it.
    """
    if not isinstance(x, Tensor) or x.dim() != 4:
        got = f"shape {tuple(x.shape)}" if isinstance(x, Tensor) else type(x).__name__
        raise InputError(f"expected an image batch [B, {in_chans}, H, W] (a 4-d tensor), got {got}")
    if x.shape[0] == 0:
        raise InputError(f"expected at least one image in the batch [B, {in_chans}, H, W], got an empty batch "
                         f"of shape {tuple(x.shape)}")
    if x.shape[1] != in_chans:
        raise InputError(
            f"expected {in_chans} channels (RGB; convert grayscale/RGBA images first), got {x.shape[1]} "
            f"in a batch of shape {tuple(x.shape)}"
        )
    if not x.is_floating_point():
        raise InputError(
            f"expected a floating-point image batch (normalised with model.transform), got {x.dtype} of shape "
            f"{tuple(x.shape)}; convert uint8 pixels with model.transform or x.float() / 255 and normalise"
        )
    dtype = None if weight is None else weight.dtype
    if dtype is not None and x.dtype != dtype:
        raise InputError(f"expected a {dtype} image batch (the model's weight dtype), got {x.dtype}; "
                         f"cast with x.to({dtype}) or the model with model.to({x.dtype})")
    if img_size is not None and tuple(x.shape[-2:]) != tuple(img_size):
        raise InputError(
            f"this model takes {img_size[0]}x{img_size[1]} inputs, got {x.shape[-2]}x{x.shape[-1]}; "
            "resize with model.transform"
        )
    if min(x.shape[-2:]) < min_size:
        raise InputError(f"this model needs images of at least {min_size}x{min_size}, got {x.shape[-2]}x{x.shape[-1]}")
    if not torch.compiler.is_compiling() and not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).sum())
        raise InputError(f"expected finite pixel values, got {bad} NaN/inf value(s) in a batch of shape "
                         f"{tuple(x.shape)}; one non-finite pixel would make every logit NaN")


register_notrace_function(check_image_batch)


def weight_dtype(model: nn.Module) -> torch.dtype | None:
    """The dtype of the model's first floating parameter (None when it has none)."""
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return None


def init_linear_weights(m: nn.Module) -> None:
    """timm's ViT-style init for ``model.apply``: Linear weights ~ truncated normal(std 0.02), biases 0.

    (LayerNorm keeps PyTorch's default ones/zeros, which is what the official inits set it to.)
    """
    if isinstance(m, nn.Linear):
        trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


class ImageClassifierMixin:
    """``init_preprocessing`` for every zoo image classifier, and timm's classifier API (``forward``,
    ``forward_head``, ``get_classifier``, ``reset_classifier``) for one whose ``forward_features`` returns the
    unpooled, normed map (``self.output_fmt`` ``"NHWC"`` or ``"NCHW"``) and whose head is
    ``self.head = nn.Linear(self.num_features, num_classes)`` after average pooling (BiFormer, DiNAT).

    Example:
        >>> class Net(ImageClassifierMixin, nn.Module): ...   # defines forward_features, head, num_features
    """

    def init_preprocessing(self) -> None:
        """Build ``self.transform`` (timm eval transform) from ``config.preprocessing``."""
        self.transform = build_transform(dict(getattr(self, "config", {}).get("preprocessing", {}) or {}))

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        if self.global_pool == "avg":
            x = x.mean(dim=(1, 2)) if self.output_fmt == "NHWC" else x.mean(dim=(2, 3))
        return x if pre_logits else self.head(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))

    @torch.jit.ignore
    def get_classifier(self) -> nn.Module:
        return self.head

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        """New ``num_classes``-way head (0: none); ``global_pool`` ``"avg"`` or ``""`` (no pooling)."""
        if global_pool is not None:
            check_global_pool(global_pool)
            self.global_pool = global_pool
        self.num_classes = num_classes
        self.head = nn.Linear(self.head_hidden_size, num_classes) if num_classes > 0 else nn.Identity()


def check_global_pool(global_pool: str) -> str:
    if global_pool not in ("avg", ""):
        raise InputError(f"expected global_pool 'avg' or '' (no pooling), got {global_pool!r}")
    return global_pool
