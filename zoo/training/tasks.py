"""Generic tasks on :class:`~zoo.training.ZooModule` for models whose domain has no task of its own.

- :class:`ClassificationTask`: any ``[batch, ...] -> [batch, classes]`` logits model, cross-entropy with
  label smoothing, top-1 accuracy (``{stage}/acc``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torchmetrics
from torch import nn

from zoo.errors import InputError
from zoo.training.module import ZooModule


class ClassificationTask(ZooModule):
    """Cross-entropy classification of ``(input, class index)`` batches; logs ``{stage}/loss`` and ``{stage}/acc``.

    Args:
        model: returns logits ``[batch, num_classes]``.
        num_classes: default ``model.num_classes``.
        optim: see :mod:`zoo.training.optim` (default AdamW, lr 1e-4, weight decay 0.05).
        label_smoothing: applied to the training loss only.

    Example:
        >>> task = ClassificationTask(zoo.load("swin-cifar10"), optim={"lr": 1e-4, "weight_decay": 0.05})
        >>> lightning.Trainer(max_epochs=3).fit(task, datamodule=dm)
    """

    def __init__(self, model: nn.Module, num_classes: int | None = None, optim: Mapping[str, Any] | None = None,
                 label_smoothing: float = 0.0):  # fmt: skip
        optim = dict(optim) if optim is not None else {"optimizer": "adamw", "lr": 1e-4, "weight_decay": 0.05}
        super().__init__(model, optim)
        num_classes = num_classes if num_classes is not None else getattr(model, "num_classes", None)
        if not isinstance(num_classes, int) or num_classes < 2:
            raise InputError(f"num_classes must be an integer >= 2 (or the model's num_classes), got {num_classes!r}")
        if not 0.0 <= float(label_smoothing) < 1.0:
            raise InputError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.num_classes, self.label_smoothing = num_classes, float(label_smoothing)
        self.save_hyperparameters(ignore=["model"])
        acc = torchmetrics.classification.MulticlassAccuracy(num_classes, average="micro")
        self.set_metrics(torchmetrics.MetricCollection({"acc": acc}))

    def shared_step(self, batch: Any, stage: str) -> torch.Tensor:
        x, y = batch[0], batch[1]
        logits = self(x)
        self.update_metrics(stage, logits.detach(), y)
        smoothing = self.label_smoothing if stage == "train" else 0.0
        return nn.functional.cross_entropy(logits, y, label_smoothing=smoothing)
