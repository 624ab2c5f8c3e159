"""The Lightning task for zoo image classifiers: cross-entropy (label smoothing, optional mixup) + top-1 accuracy.

`ClassificationTask` wraps any zoo vision model (Swin, DiNAT/NAT, BiFormer); ``zoo finetune`` / ``zoo train``
use it, and so can a plain Lightning script.

Example:
    >>> import lightning, zoo
    >>> from zoo.vision.task import ClassificationTask
    >>> task = ClassificationTask(zoo.load("swin-cifar10"), optim={"lr": 1e-4})
    >>> lightning.Trainer(max_epochs=1).fit(task, datamodule)       # batches of (images [B,3,H,W], labels [B])
    >>> task = ClassificationTask.load_from_checkpoint(path, model=zoo.load("swin-cifar10", pretrained=False))
"""

from collections.abc import Mapping
from typing import Any

import torch
import torchmetrics
from torch import nn

from zoo.errors import InputError
from zoo.training.module import ZooModule

__all__ = ["ClassificationTask"]


class ClassificationTask(ZooModule):
    """Image classification: cross-entropy with label smoothing (train only), optional mixup, top-1 accuracy.

    Args:
        model: a classifier returning ``[B, num_classes]`` logits (e.g. ``zoo.load("swin-cifar10")``).
        optim: optimizer/scheduler config (`zoo.training.optim`); defaults to AdamW.
        num_classes: classes of the accuracy metric (default: ``model.num_classes``).
        label_smoothing: smoothing of the training loss (validation/test use plain cross-entropy).
        mixup: Beta(mixup, mixup) mixing of training images and their labels (0 disables it).

    Logs ``{train,val,test}/loss`` and ``{train,val,test}/acc``.

    Example:
        >>> task = ClassificationTask(zoo.load("dinat-cifar10"), label_smoothing=0.1)
        >>> lightning.Trainer(max_steps=10).fit(task, train_loader, val_loader)
    """

    def __init__(self, model: nn.Module | None = None, optim: Mapping[str, Any] | None = None,
                 num_classes: int | None = None, label_smoothing: float = 0.1, mixup: float = 0.0):
        super().__init__(model, optim)
        self.save_hyperparameters(ignore=["model"])
        num_classes = num_classes if num_classes is not None else getattr(model, "num_classes", None)
        if not isinstance(num_classes, int) or num_classes < 1:
            raise InputError(f"expected num_classes >= 1 (or a model with .num_classes), got {num_classes!r}")
        if not 0.0 <= label_smoothing < 1.0:
            raise InputError(f"expected 0 <= label_smoothing < 1, got {label_smoothing}")
        if mixup < 0:
            raise InputError(f"expected mixup >= 0 (0 disables it), got {mixup}")
        self.num_classes, self.label_smoothing, self.mixup = num_classes, label_smoothing, mixup
        self.set_metrics(torchmetrics.MetricCollection(
            {"acc": torchmetrics.classification.MulticlassAccuracy(num_classes, average="micro")}))

    def shared_step(self, batch, stage: str) -> torch.Tensor:
        x, y = batch
        ce = nn.functional.cross_entropy
        if stage == "train" and self.mixup > 0:
            lam = float(torch.distributions.Beta(self.mixup, self.mixup).sample())
            perm = torch.randperm(x.shape[0], device=x.device)
            logits = self(lam * x + (1 - lam) * x[perm])
            return (lam * ce(logits, y, label_smoothing=self.label_smoothing)
                    + (1 - lam) * ce(logits, y[perm], label_smoothing=self.label_smoothing))
        logits = self(x)
        self.update_metrics(stage, logits, y)
        return ce(logits, y, label_smoothing=self.label_smoothing if stage == "train" else 0.0)
