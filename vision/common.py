"""Shared vision helpers: preprocessing from a pretrained config, input checks, class names, and the
classifier plumbing (init, head, preprocessing) that Swin, BiFormer and DiNAT have in common."""

from __future__ import annotations

from timm.layers import trunc_normal_
from torch import Tensor, nn

from zoo.errors import InputError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PREPROCESSING_KEYS = ("input_size", "interpolation", "crop_pct", "crop_mode", "mean", "std")


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


def check_image_batch(x: Tensor, in_chans: int, img_size: tuple[int, int] | None, min_size: int = 1) -> None:
    """Raise `InputError` unless ``x`` is ``[B, in_chans, H, W]`` of the size the model takes."""
    if not isinstance(x, Tensor) or x.dim() != 4:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise InputError(f"expected an image batch [B, {in_chans}, H, W], got {shape}")
    if x.shape[1] != in_chans:
        raise InputError(
            f"expected {in_chans} channels (RGB; convert grayscale/RGBA images first), got {x.shape[1]} "
            f"in a batch of shape {tuple(x.shape)}"
        )
    if img_size is not None and tuple(x.shape[-2:]) != tuple(img_size):
        raise InputError(
            f"this model takes {img_size[0]}x{img_size[1]} inputs, got {x.shape[-2]}x{x.shape[-1]}; "
            "resize with model.transform"
        )
    if min(x.shape[-2:]) < min_size:
        raise InputError(f"this model needs images of at least {min_size}x{min_size}, got {x.shape[-2]}x{x.shape[-1]}")


def init_linear_weights(m: nn.Module) -> None:
    """timm's ViT-style init for ``model.apply``: Linear weights ~ truncated normal(std 0.02), biases 0.

    (LayerNorm keeps PyTorch's default ones/zeros, which is what the official inits set it to.)
    """
    if isinstance(m, nn.Linear):
        trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


class ImageClassifierMixin:
    """``init_preprocessing`` for every zoo image classifier; ``forward``, ``get_classifier`` and
    ``reset_classifier`` (timm's names) for one whose ``forward_features`` returns pooled features and whose
    head is ``self.head = nn.Linear(self.num_features, num_classes)`` (BiFormer, DiNAT).

    Example:
        >>> class Net(ImageClassifierMixin, nn.Module): ...   # defines forward_features, head, num_features
    """

    def init_preprocessing(self) -> None:
        """Build ``self.transform`` (timm eval transform) from ``config.preprocessing``."""
        self.transform = build_transform(dict(getattr(self, "config", {}).get("preprocessing", {}) or {}))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.forward_features(x))

    def get_classifier(self) -> nn.Module:
        return self.head

    def reset_classifier(self, num_classes: int) -> None:
        self.num_classes = num_classes
        self.head = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()
