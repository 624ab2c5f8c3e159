"""``ZooModule``: the LightningModule every domain task subclasses, and seeding.

A subclass holds its backbone in ``self.model``, implements ``shared_step(batch, stage) -> loss`` and, if it
wants metrics, declares a ``torchmetrics.MetricCollection`` with :meth:`ZooModule.set_metrics` and feeds it
with :meth:`ZooModule.update_metrics`. The base provides ``training_step``/``validation_step``/``test_step``
(each logs ``{stage}/loss``), ``forward`` (calls ``self.model``) and ``configure_optimizers`` (from the
``optim`` dict, see :mod:`zoo.training.optim`).

Example::

    import torch, torchmetrics
    from zoo.training import ZooModule, make_trainer, fit

    class Classifier(ZooModule):
        def __init__(self, model, optim=None, num_classes=10):
            super().__init__(model, optim)
            self.save_hyperparameters(ignore=["model"])  # optim and num_classes go to the checkpoint
            self.set_metrics(torchmetrics.MetricCollection(
                {"acc": torchmetrics.classification.MulticlassAccuracy(num_classes)}))

        def shared_step(self, batch, stage):
            x, y = batch
            logits = self(x)
            self.update_metrics(stage, logits, y)
            return torch.nn.functional.cross_entropy(logits, y)

    module = Classifier(net, optim={"optimizer": "adamw", "lr": 3e-4, "weight_decay": 0.05,
                                    "scheduler": "cosine", "warmup_epochs": 1})
    trainer = make_trainer(max_epochs=10, ckpt_dir="runs/cls", monitor="val/acc", mode="max")
    fit(module, datamodule, trainer)                      # resumes runs/cls/last.ckpt if present
    best = Classifier.load_from_checkpoint(trainer.checkpoint_callback.best_model_path, model=net)
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import lightning as L
import torch
from torch import nn
from torchmetrics import MetricCollection

from zoo.errors import InputError
from zoo.training.optim import build_optimizer, build_scheduler, check_optim

STAGES = ("train", "val", "test")


def seed_everything(seed: int, deterministic: bool = False) -> int:
    """Seed python, numpy and torch (and dataloader workers) via ``lightning.seed_everything(workers=True)``.

    ``deterministic=True`` also asks torch for deterministic kernels (``use_deterministic_algorithms`` with
    ``warn_only=True``, cuDNN deterministic and not benchmarking, ``CUBLAS_WORKSPACE_CONFIG``); pass
    ``deterministic=True`` to :func:`make_trainer` as well for Lightning's own settings. Returns the seed.

    >>> seed_everything(0)
    0
    """
    seed = L.seed_everything(int(seed), workers=True, verbose=False)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    return seed


class ZooModule(L.LightningModule):
    """Base LightningModule: backbone ``model``, ``optim`` config, ``{stage}/loss`` and metric logging.

    Args:
        model: the backbone (any ``nn.Module``); available as ``self.model``, called by ``forward``.
        optim: optimizer/scheduler config (see :mod:`zoo.training.optim`), validated here, stored as
            ``self.optim`` (a plain dict, so ``save_hyperparameters`` records it).
        sync_train_loss: reduce ``train/loss`` across processes under DDP (one scalar all-reduce per step;
            default True, so ``train/loss_epoch`` is the global mean; False logs rank 0's value).
            ``val``/``test`` losses are always reduced across processes.

    Subclasses implement :meth:`shared_step` and usually call ``self.save_hyperparameters(ignore=["model"])``
    right after ``super().__init__`` (then reload with ``Cls.load_from_checkpoint(path, model=net)``).
    See the module docstring for a full example.
    """

    def __init__(self, model: nn.Module | None = None, optim: Mapping[str, Any] | None = None,
                 sync_train_loss: bool = True):  # fmt: skip
        super().__init__()
        if model is not None and not isinstance(model, nn.Module):
            raise InputError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.model = model
        self.optim = check_optim(optim)
        self.sync_train_loss = sync_train_loss
        self.train_metrics: MetricCollection | None = None  # set by set_metrics, prefix "train/"
        self.val_metrics: MetricCollection | None = None
        self.test_metrics: MetricCollection | None = None

    # ----------------------------------------------------------------------------------------- hooks
    def train_backbone(self) -> None:
        """Put a backbone that is wholly in eval mode (as ``zoo.load`` returns it) in train mode.

        Called when ``fit`` starts (in :meth:`setup` and again in :meth:`on_fit_start`), so dropout,
        stochastic depth and BatchNorm statistics behave as in training from the first step; Lightning
        still switches to eval for validation and back afterwards. A backbone with a mix of modes (e.g.
        BatchNorm layers frozen on purpose with ``.eval()``) is left as it is.
        """
        if self.model is not None and not any(m.training for m in self.model.modules()):
            self.model.train()

    def setup(self, stage: str) -> None:
        """Lightning hook: at ``fit``, :meth:`train_backbone` (subclasses overriding it call ``super().setup``)."""
        if stage == "fit":
            self.train_backbone()

    def on_fit_start(self) -> None:
        self.train_backbone()  # also when a subclass overrides setup without calling super().setup

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self.model is None:
            raise NotImplementedError(f"{type(self).__name__} has no model: pass one or override forward")
        return self.model(*args, **kwargs)

    def shared_step(self, batch: Any, stage: str) -> torch.Tensor:
        """Compute and return the loss of ``batch`` for ``stage`` in ("train", "val", "test")."""
        raise NotImplementedError(f"{type(self).__name__} must implement shared_step(batch, stage)")

    def batch_size_of(self, batch: Any) -> int | None:
        """Batch size used to weight epoch means; None lets Lightning infer it (override for odd batches)."""
        return None

    def _step(self, batch: Any, stage: str) -> torch.Tensor:
        loss = self.shared_step(batch, stage)
        if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
            raise InputError(f"shared_step must return a scalar loss tensor, got {type(loss).__name__}"
                             f"{tuple(loss.shape) if isinstance(loss, torch.Tensor) else ''}")  # fmt: skip
        train = stage == "train"
        self.log(
            f"{stage}/loss", loss.detach(), on_step=train, on_epoch=True, prog_bar=True,
            sync_dist=self.sync_train_loss if train else True, batch_size=self.batch_size_of(batch),
        )  # fmt: skip
        return loss

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "test")

    # --------------------------------------------------------------------------------------- metrics
    def set_metrics(
        self,
        metrics: MetricCollection | None = None,
        *,
        train: MetricCollection | None = None,
        val: MetricCollection | None = None,
        test: MetricCollection | None = None,
    ) -> None:
        """Declare metric collections: ``metrics`` is cloned for every stage, or give them per stage.

        Stored as ``self.{stage}_metrics`` with prefix ``"{stage}/"`` (so ``val/acc`` can be monitored).
        """
        for stage, given in zip(STAGES, (train, val, test)):
            coll = given if given is not None else metrics
            if coll is None:
                continue
            if not isinstance(coll, MetricCollection):
                raise InputError(f"{stage} metrics must be a torchmetrics.MetricCollection, got {type(coll)}")
            setattr(self, f"{stage}_metrics", coll.clone(prefix=f"{stage}/"))

    def update_metrics(self, stage: str, preds: Any, target: Any) -> None:
        """Update ``stage``'s collection with a batch and log it.

        train: ``on_step=True, on_epoch=True`` (step values are the batch's); val/test: ``on_epoch=True``.
        Lightning computes, syncs across processes (torchmetrics' own sync) and resets at epoch end.
        """
        coll = getattr(self, f"{stage}_metrics", None)
        if coll is None:
            return
        if stage == "train":
            coll(preds, target)  # forward: batch value for the step log + accumulate for the epoch
        else:
            coll.update(preds, target)
        self.log_dict(coll, on_step=stage == "train", on_epoch=True, batch_size=None)

    # ------------------------------------------------------------------------------------ optimizers
    def configure_optimizers(self) -> Any:
        """Optimizer (and scheduler) from ``self.optim``; lengths not in it come from the trainer."""
        optimizer = build_optimizer(self, self.optim)
        total = spe = epochs = None
        trainer = self._trainer
        needs_len = self.optim["scheduler"] is not None or self.optim.get("warmup_epochs")
        if trainer is not None and needs_len:
            total = trainer.estimated_stepping_batches  # also sets up the train loader
            nb = trainer.num_training_batches
            if isinstance(nb, (int, float)) and math.isfinite(nb):
                spe = max(1, math.ceil(nb / trainer.accumulate_grad_batches))
            if trainer.max_epochs is not None and trainer.max_epochs > 0:
                epochs = trainer.max_epochs
        sched = build_scheduler(optimizer, self.optim, total_steps=total, steps_per_epoch=spe, max_epochs=epochs)
        if sched is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": sched}
