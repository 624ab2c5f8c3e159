"""`GraphTask`: the Lightning module that trains a graph model (regression or binary classification).

Regression minimises the MSE of standardised targets (the model's stored mean/std); classification
the binary cross-entropy of logits. Missing targets (NaN) are left out of loss and metrics.
Validation/test metrics are on the user's scale: ``rmse`` (target units), or ``auroc`` and ``acc``.

Example:
    >>> from zoo.training import make_trainer, fit
    >>> task = GraphTask(model, optim={"optimizer": "adamw", "lr": 1e-3, "scheduler": "cosine", "warmup_epochs": 5})
    >>> fit(task, train_dataloaders=train_dl, val_dataloaders=val_dl,
    ...     trainer=make_trainer(max_epochs=100, ckpt_dir="runs/graph/x", monitor="val/rmse"))
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torchmetrics
from torchmetrics.classification import BinaryAccuracy, BinaryAUROC

from zoo.training import ZooModule

from .data import GraphBatch


def monitor_of(task: str) -> tuple[str, str]:
    """(metric to monitor, mode) for a task type."""
    return ("val/rmse", "min") if task == "regression" else ("val/auroc", "max")


class GraphTask(ZooModule):
    """Loss and metrics of a graph model on `GraphBatch` batches (see the module docstring)."""

    def __init__(self, model, optim=None, run: dict | None = None):
        super().__init__(model, optim)
        self.save_hyperparameters(ignore=["model"])  # optim and run (command, data, base model) go to hparams.yaml
        if model.task == "regression":
            metrics = torchmetrics.MetricCollection({"rmse": torchmetrics.MeanSquaredError(squared=False)})
        else:
            metrics = torchmetrics.MetricCollection({"auroc": BinaryAUROC(), "acc": BinaryAccuracy()})
        self.set_metrics(val=metrics, test=metrics.clone())

    def on_train_epoch_start(self) -> None:
        super().on_train_epoch_start()
        self.model.train()  # dropout on while training, whatever mode the model came in

    def transfer_batch_to_device(self, batch: GraphBatch, device, dataloader_idx: int) -> GraphBatch:
        return batch.to(device)

    def batch_size_of(self, batch: GraphBatch) -> int:
        return batch.num_graphs

    def shared_step(self, batch: GraphBatch, stage: str) -> torch.Tensor:
        raw = self.model(batch)
        y = batch.y
        valid = ~torch.isnan(y)
        target = torch.where(valid, y, torch.zeros_like(y))
        if self.model.task == "regression":
            std_target = (target - self.model.target_mean) / self.model.target_std
            loss = ((raw - std_target) ** 2)[valid].mean()
        else:
            loss = F.binary_cross_entropy_with_logits(raw[valid], target[valid])
        if stage != "train":
            preds = self.model.output(raw.detach())[valid]
            self.update_metrics(stage, preds, target[valid].long() if self.model.task != "regression" else target[valid])
        return loss
