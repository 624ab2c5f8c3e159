"""``DatasetDataModule``: a LightningDataModule over datasets given as objects (or in a config, by class path).

It lets a LightningCLI config name any ``torch.utils.data.Dataset`` (e.g. ``torchvision.datasets.ImageFolder``
with its transform) for the training, validation and test splits, without a data-module class of its own.

Example (Python)::

    from torchvision import datasets, transforms
    from zoo.training.data import DatasetDataModule

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize([0.49, 0.48, 0.45], [0.25, 0.24, 0.26])])
    dm = DatasetDataModule(train=datasets.ImageFolder("my/train", tf), val=datasets.ImageFolder("my/val", tf),
                           batch_size=64)

Example (LightningCLI config)::

    data:
      class_path: zoo.training.data.DatasetDataModule
      init_args:
        batch_size: 64
        train:
          class_path: torchvision.datasets.ImageFolder
          init_args: {root: my/train, transform: {class_path: torchvision.transforms.ToTensor}}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
from torch.utils.data import DataLoader, Dataset, Subset

from zoo.errors import InputError


class DatasetDataModule(L.LightningDataModule):
    """Loaders over given datasets: ``train`` shuffled (``drop_last`` when asked), ``val``/``test`` in order.

    Args:
        train, val, test: the datasets of each split (``val``/``test`` optional).
        batch_size: per loader; ``eval_batch_size`` for val/test (default ``batch_size``).
        num_workers: DataLoader workers. collate_fn: a callable (or its import path in a config).
        limit_train, limit_val: use only the first N items (a quick run or a smoke test).
        drop_last: drop the last incomplete training batch.
    """

    def __init__(self, train: Dataset, val: Dataset | None = None, test: Dataset | None = None, batch_size: int = 32,
                 eval_batch_size: int | None = None, num_workers: int = 0, collate_fn: Callable | None = None,
                 limit_train: int | None = None, limit_val: int | None = None, drop_last: bool = False):  # fmt: skip
        super().__init__()
        for what, ds in (("train", train), ("val", val), ("test", test)):
            if ds is not None and not hasattr(ds, "__getitem__"):
                raise InputError(f"{what} must be a torch Dataset (with __getitem__), got {type(ds).__name__}")
        if train is None:
            raise InputError("DatasetDataModule needs a train dataset, got None")
        if int(batch_size) < 1:
            raise InputError(f"batch_size must be a positive integer, got {batch_size}")
        self.train_set, self.val_set, self.test_set = _limit(train, limit_train), _limit(val, limit_val), test
        self.batch_size = int(batch_size)
        self.eval_batch_size = int(eval_batch_size or batch_size)
        self.num_workers, self.collate_fn, self.drop_last = int(num_workers), collate_fn, bool(drop_last)

    def _loader(self, ds: Dataset, train: bool) -> DataLoader:
        return DataLoader(ds, batch_size=self.batch_size if train else self.eval_batch_size, shuffle=train,
                          drop_last=train and self.drop_last, num_workers=self.num_workers,
                          collate_fn=self.collate_fn)  # fmt: skip

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, True)

    def val_dataloader(self) -> Any:
        return self._loader(self.val_set, False) if self.val_set is not None else []

    def test_dataloader(self) -> Any:
        return self._loader(self.test_set, False) if self.test_set is not None else []


def _limit(ds: Dataset | None, n: int | None) -> Dataset | None:
    if ds is None or n is None:
        return ds
    if int(n) < 1:
        raise InputError(f"a limit must be a positive number of items, got {n}")
    return Subset(ds, range(min(int(n), len(ds))))
