"""CIFAR-10 as uint8 tensors in memory, with batched augmentation in torch (no PIL, no per-image transform).

The ImageFolder (``train/<class>/*.jpg``, ``test/<class>/*.jpg``) is decoded once into ``[N, 3, 32, 32]``
uint8 tensors and cached as a ``.pt`` file under ``$ZOO_CACHE`` (default ``~/.cache/attention-zoo``), keyed
by a hash of the file list (relative paths and sizes); later loads read the cache. Augmentation (random crop
with padding, i.e. translation, and horizontal flip) and normalisation run on whole batches.

Example::

    >>> from zoo.vision.fastdata import load_cifar10, holdout_split, FastLoader
    >>> data = load_cifar10()                         # {"train": (x, y), "test": (x, y), "classes": [...]}
    >>> x, y = data["train"]                          # uint8 [50000, 3, 32, 32], int64 [50000]
    >>> train_idx, val_idx = holdout_split(len(y))    # 45 000 / 5 000, fixed by seed 0
    >>> loader = FastLoader(x[train_idx], y[train_idx], batch_size=128, seed=0)
    >>> for epoch in range(2):
    ...     for xb, yb in loader:                     # float32 [128, 3, 32, 32], normalised, augmented
    ...         pass
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from zoo.errors import InputError

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)
CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".ppm")
CACHE_VERSION = 1

__all__ = ["CIFAR_MEAN", "CIFAR_STD", "CIFAR_CLASSES", "cache_dir", "list_image_folder", "load_image_folder",
           "load_cifar10", "holdout_split", "augment", "normalize", "FastLoader"]


def cache_dir() -> Path:
    """``$ZOO_CACHE`` if set, else ``~/.cache/attention-zoo``."""
    return Path(os.environ.get("ZOO_CACHE") or Path.home() / ".cache" / "attention-zoo")


def list_image_folder(root: str | os.PathLike, classes: Sequence[str] | None = None) -> tuple[list[str], list[tuple[Path, int]]]:
    """``(classes, [(path, label), ...])`` of an ImageFolder; ``classes`` fixes the order (default: sorted)."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"expected an ImageFolder directory (class sub-folders of images), got {str(root)!r}")
    found = sorted(p.name for p in root.iterdir() if p.is_dir())
    if classes is None:
        classes = found
    else:
        classes = list(classes)
        if sorted(classes) != found:
            raise InputError(f"expected the class folders {', '.join(classes)} in {str(root)!r}, got {', '.join(found) or 'none'}")
    samples = [(p, label) for label, c in enumerate(classes)
               for p in sorted((root / c).iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
    if not samples:
        raise InputError(f"expected images ({', '.join(IMAGE_SUFFIXES)}) in the class folders of {str(root)!r}, got none")
    return list(classes), samples


def _key(root: Path, classes: list[str], samples: list[tuple[Path, int]], size: tuple[int, int]) -> str:
    h = hashlib.sha256(f"v{CACHE_VERSION} {size} {classes}\n".encode())
    for p, label in samples:
        h.update(f"{p.relative_to(root).as_posix()}\t{p.stat().st_size}\t{label}\n".encode())
    return h.hexdigest()[:16]


def _decode(samples: list[tuple[Path, int]], size: tuple[int, int]) -> Tensor:
    from PIL import Image, UnidentifiedImageError

    out = np.empty((len(samples), size[0], size[1], 3), dtype=np.uint8)
    for i, (p, _) in enumerate(samples):
        try:
            with Image.open(p) as im:
                a = np.asarray(im.convert("RGB"))
        except (UnidentifiedImageError, OSError, SyntaxError) as exc:
            raise InputError(f"{str(p)!r} is not a readable image: {exc}") from None
        if a.shape[:2] != size:
            raise InputError(f"expected {size[0]}x{size[1]} images, got {a.shape[0]}x{a.shape[1]} in {str(p)!r}")
        out[i] = a
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def load_image_folder(root: str | os.PathLike, classes: Sequence[str] | None = None, size: tuple[int, int] = (32, 32),
                      cache: str | os.PathLike | None | bool = None) -> tuple[Tensor, Tensor, list[str]]:
    """``(images uint8 [N, 3, H, W], labels int64 [N], classes)`` of an ImageFolder of ``size`` images.

    Decoded once and cached (``cache``: a directory, default `cache_dir`; ``False``: no cache) as
    ``<name>-<hash of the file list>.pt``; a cache whose key matches is read instead of the images.
    """
    from zoo.io import atomic_write

    root = Path(root)
    classes, samples = list_image_folder(root, classes)
    size = tuple(size)
    path = None
    if cache is not False:
        folder = Path(cache) if cache not in (None, True) else cache_dir()
        path = folder / f"{root.parent.name}-{root.name}-{_key(root, classes, samples, size)}.pt"
        if path.is_file():
            blob = torch.load(path, map_location="cpu", weights_only=True)
            return blob["images"], blob["labels"], list(blob["classes"])
    images = _decode(samples, size)
    labels = torch.tensor([label for _, label in samples], dtype=torch.int64)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as tmp:
            torch.save({"images": images, "labels": labels, "classes": classes}, tmp)
    return images, labels, classes


def load_cifar10(root: str | os.PathLike | None = None, cache: str | os.PathLike | None | bool = None) -> dict:
    """``{"train": (x, y), "test": (x, y), "classes": [...]}`` of CIFAR-10 (classes in the official order).

    ``root`` defaults to ``$ZOO_DATA_DIR/vision/cifar10``.
    """
    if root is None:
        if not os.environ.get("ZOO_DATA_DIR"):
            raise InputError("expected a CIFAR-10 ImageFolder: pass root or set ZOO_DATA_DIR, got neither")
        root = Path(os.environ["ZOO_DATA_DIR"]) / "vision" / "cifar10"
    root = Path(root)
    out: dict = {"classes": list(CIFAR_CLASSES)}
    for split in ("train", "test"):
        x, y, _ = load_image_folder(root / split, CIFAR_CLASSES, (32, 32), cache)
        out[split] = (x, y)
    return out


def holdout_split(n: int, holdout: int = 5000, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Sorted index tensors ``(train, held_out)`` of ``n`` samples; the same split as ``zoo train --val-holdout``."""
    if not 0 < holdout < n:
        raise InputError(f"holdout must be between 1 and {n - 1} (the training images), got {holdout}")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[holdout:].sort().values, perm[:holdout].sort().values


def _check_batch(x: Tensor) -> None:
    if not isinstance(x, Tensor) or x.dim() != 4 or x.dtype != torch.uint8:
        got = f"{x.dtype} of shape {tuple(x.shape)}" if isinstance(x, Tensor) else type(x).__name__
        raise InputError(f"expected a [batch, C, H, W] torch.uint8 tensor, got {got}")


def normalize(x: Tensor, mean: Sequence[float] = CIFAR_MEAN, std: Sequence[float] = CIFAR_STD,
              channels_last: bool = False) -> Tensor:
    """uint8 ``[B, C, H, W]`` -> float32 ``(x / 255 - mean) / std`` (optionally channels-last memory)."""
    _check_batch(x)
    m = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1) * 255
    s = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1) * 255
    out = (x.float() - m) / s
    return out.contiguous(memory_format=torch.channels_last) if channels_last else out


def augment(x: Tensor, generator: torch.Generator | None = None, pad: int = 4, flip: bool = True,
            padding_mode: str = "reflect") -> Tensor:
    """Random crop of the ``pad``-padded batch (a translation by up to ``pad`` pixels) and, if ``flip``, a
    horizontal flip of each image with probability 1/2. uint8 ``[B, C, H, W]`` in and out.

    Equivalent per image ``i`` to ``F.pad(x[i], [pad] * 4, mode)[:, dy:dy + H, dx:dx + W]`` then
    ``torch.flip(., [-1])`` if chosen, with ``dy, dx, flipped`` drawn from ``generator`` in that order.
    """
    _check_batch(x)
    if padding_mode not in ("reflect", "constant"):
        raise InputError(f"padding_mode must be 'reflect' or 'constant', got {padding_mode!r}")
    b, _, h, w = x.shape
    if pad > 0:
        xp = torch.nn.functional.pad(x.float() if padding_mode == "reflect" else x, [pad] * 4, mode=padding_mode)
        xp = xp.to(torch.uint8)
        dy = torch.randint(0, 2 * pad + 1, (b,), generator=generator)
        dx = torch.randint(0, 2 * pad + 1, (b,), generator=generator)
        rows = (dy[:, None] + torch.arange(h))[:, :, None]  # [B, H, 1]
        cols = (dx[:, None] + torch.arange(w))[:, None, :]  # [B, 1, W]
        x = xp.permute(0, 2, 3, 1)[torch.arange(b)[:, None, None], rows, cols].permute(0, 3, 1, 2).contiguous()
    if flip:
        mask = torch.rand(b, generator=generator) < 0.5
        x = torch.where(mask[:, None, None, None], x.flip(-1), x)
    return x


class FastLoader:
    """Shuffled, augmented, normalised batches of uint8 images held in memory; every epoch differs, all fixed by ``seed``.

    ``len(loader)`` batches per epoch (``drop_last`` for training); ``augment=False`` gives plain evaluation batches
    in order (``shuffle=False``). Epoch ``e`` uses the generator seeded ``seed + e``; iterating advances ``epoch``.

    Example::

        >>> loader = FastLoader(x_train, y_train, batch_size=128, seed=0)
        >>> xb, yb = next(iter(loader))          # float32 [128, 3, 32, 32], int64 [128]
        >>> val = FastLoader(x_val, y_val, 500, shuffle=False, augment=False, drop_last=False)
    """

    def __init__(self, images: Tensor, labels: Tensor, batch_size: int = 128, shuffle: bool = True, augment: bool = True,
                 seed: int = 0, drop_last: bool = True, pad: int = 4, flip: bool = True, padding_mode: str = "reflect",
                 mean: Sequence[float] = CIFAR_MEAN, std: Sequence[float] = CIFAR_STD, channels_last: bool = False):
        _check_batch(images)
        if not isinstance(labels, Tensor) or labels.shape != (len(images),):
            got = tuple(labels.shape) if isinstance(labels, Tensor) else type(labels).__name__
            raise InputError(f"expected labels of shape ({len(images)},) (one per image), got {got}")
        if batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {batch_size}")
        self.images, self.labels = images, labels.long()
        self.batch_size, self.shuffle, self.augment, self.seed, self.drop_last = batch_size, shuffle, augment, seed, drop_last
        self.pad, self.flip, self.padding_mode = pad, flip, padding_mode
        self.mean, self.std, self.channels_last = mean, std, channels_last
        self.epoch = 0

    def __len__(self) -> int:
        n = len(self.images)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """The next iteration draws epoch ``epoch``'s shuffle and augmentations (`zoo.training.LoaderEpoch` calls
        it at every epoch start, so a resumed run continues the stream)."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        self.epoch += 1
        n = len(self.images)
        order = torch.randperm(n, generator=g) if self.shuffle else torch.arange(n)
        for k in range(len(self)):
            idx = order[k * self.batch_size:(k + 1) * self.batch_size]
            x = self.images[idx]
            if self.augment:
                x = augment(x, g, self.pad, self.flip, self.padding_mode)
            yield normalize(x, self.mean, self.std, self.channels_last), self.labels[idx]
