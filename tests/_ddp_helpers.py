"""Tiny regression task shared by tests/test_training.py and its 2-process DDP run.

Run as a script (``python tests/_ddp_helpers.py OUT_DIR``) it trains the task with ``strategy="ddp"``,
``devices=2`` on CPU (gloo) and rank 0 saves the final weights and logged metrics to ``OUT_DIR/ddp.pt``.
Lightning's DDP launcher re-runs this same script for rank 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torchmetrics
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from zoo.training import ZooModule, fit, make_trainer, seed_everything

N_TRAIN, N_VAL, GLOBAL_BATCH, EPOCHS = 64, 32, 8, 3
OPTIM = {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}


def make_data(n: int, seed: int) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    y = x @ torch.tensor([[1.5], [-2.0], [0.5]]) + 0.3 + 0.1 * torch.randn(n, 1, generator=g)
    return TensorDataset(x, y)


class Regression(ZooModule):
    """Linear regression through the base: MSE loss, an MSE metric on val/test."""

    def __init__(self, optim=None, seed: int = 0):
        torch.manual_seed(seed)
        super().__init__(torch.nn.Linear(3, 1), optim)
        self.save_hyperparameters()
        self.set_metrics(torchmetrics.MetricCollection({"mse": torchmetrics.MeanSquaredError()}))

    def shared_step(self, batch, stage):
        x, y = batch
        pred = self(x)
        self.update_metrics(stage, pred, y)
        return torch.nn.functional.mse_loss(pred, y)


def loaders(devices: int) -> tuple[DataLoader, DataLoader]:
    """Loaders with a per-process batch of ``GLOBAL_BATCH // devices``.

    Under DDP Lightning swaps the train sampler for ``DistributedSampler(shuffle=True, seed=PL_GLOBAL_SEED)``
    (it always shuffles training data); rank r then takes ``perm[r::2]`` of the epoch's permutation, so its
    k-th batch of 4 and the other rank's together are the k-th 8 of ``perm``. The 1-process run gets the
    same permutation from a ``DistributedSampler(num_replicas=1, seed=0)`` (Lightning calls ``set_epoch``).
    """
    train_ds, batch = make_data(N_TRAIN, 1), GLOBAL_BATCH // devices
    if devices == 1:
        sampler = DistributedSampler(train_ds, num_replicas=1, rank=0, shuffle=True, seed=0)
        train_dl = DataLoader(train_ds, batch_size=batch, sampler=sampler)
    else:
        train_dl = DataLoader(train_ds, batch_size=batch, shuffle=False)
    return train_dl, DataLoader(make_data(N_VAL, 2), batch_size=batch, shuffle=False)


def train(devices: int, strategy: str = "auto") -> tuple[dict, dict, object]:
    """Train ``EPOCHS`` epochs with a global batch of ``GLOBAL_BATCH`` split over ``devices`` processes."""
    seed_everything(0)
    module = Regression(OPTIM)
    trainer = make_trainer(
        max_epochs=EPOCHS, devices=devices, strategy=strategy, accelerator="cpu", progress_bar=False,
        logger=None, enable_model_summary=False, num_sanity_val_steps=0,
    )  # fmt: skip
    train_dl, val_dl = loaders(devices)
    fit(module, trainer=trainer, train_dataloaders=train_dl, val_dataloaders=val_dl)
    weights = {k: v.detach().clone() for k, v in module.model.state_dict().items()}
    logged = {k: float(v) for k, v in trainer.callback_metrics.items()}
    return weights, logged, trainer


if __name__ == "__main__":
    out = Path(sys.argv[1])
    weights, logged, trainer = train(devices=2, strategy="ddp")
    if trainer.global_rank == 0:
        torch.save({"weights": weights, "logged": logged, "world_size": trainer.world_size,
                    "global_step": trainer.global_step}, out / "ddp.pt")  # fmt: skip
