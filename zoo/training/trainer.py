"""``make_trainer`` (a configured ``lightning.Trainer``) and ``fit`` (with automatic resume).

Example::

    from zoo.training import make_trainer, fit

    trainer = make_trainer(max_epochs=20, ckpt_dir="runs/exp1", monitor="val/loss", patience=5)
    fit(module, datamodule, trainer)      # resume="auto": continues runs/exp1/last.ckpt when it exists
    trainer.checkpoint_callback.best_model_path   # runs/exp1/best.ckpt

Files under ``ckpt_dir``: ``best.ckpt`` (best by ``monitor``; ``best-v1.ckpt`` etc. if a fresh, non-resumed
run finds an old one), ``last.ckpt`` (end of every epoch, after validation), and CSV logs in
``logs/version_N/metrics.csv``. Lightning writes checkpoints in one piece (serialised in memory first).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable
from pathlib import Path
from types import EllipsisType
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import (
    Callback,
    EarlyStopping,
    LearningRateMonitor,
    ModelCheckpoint,
    RichProgressBar,
    TQDMProgressBar,
)
from lightning.pytorch.loggers import CSVLogger, Logger

from zoo.errors import InputError

LAST_CKPT = "last.ckpt"


def make_trainer(
    *,
    max_epochs: int | None = None,
    max_steps: int = -1,
    ckpt_dir: str | os.PathLike | None = None,
    monitor: str | None = "val/loss",
    mode: str = "min",
    patience: int | None = None,
    precision: str | int = "32-true",
    devices: int | str | list[int] = 1,
    strategy: str | Any = "auto",
    accelerator: str = "cpu",
    log_every_n_steps: int = 10,
    progress_bar: bool = True,
    gradient_clip_val: float | None = None,
    accumulate_grad_batches: int = 1,
    deterministic: bool = False,
    logger: Logger | Iterable[Logger] | bool | None | EllipsisType = ...,
    callbacks: Iterable[Callback] = (),
    **trainer_kwargs: Any,
) -> L.Trainer:
    """Build a ``lightning.Trainer`` with the zoo's callbacks.

    - ``ckpt_dir`` given: ``ModelCheckpoint(dirpath=ckpt_dir, filename="best", monitor=monitor, mode=mode,
      save_top_k=1, save_last=True)``; ``monitor=None`` keeps only ``last.ckpt``. Without ``ckpt_dir`` no
      checkpoint is written and the default logger is off.
    - ``patience`` given: ``EarlyStopping(monitor, mode=mode, patience=patience)`` (needs ``monitor``).
    - progress bar: ``RichProgressBar`` when ``rich`` is installed, else ``TQDMProgressBar``.
    - ``logger=...`` (default): ``CSVLogger(ckpt_dir, name="logs")`` when ``ckpt_dir`` is given, else none;
      ``None``/``False``: none; a Logger (or list): used as is. ``LearningRateMonitor`` is added when a
      logger is active.
    - Everything else is passed to ``lightning.Trainer`` (``trainer_kwargs`` too, e.g.
      ``limit_train_batches``, ``num_sanity_val_steps``, ``val_check_interval``).

    One of ``max_epochs``/``max_steps`` must be given.
    """
    if max_epochs is None and (max_steps is None or max_steps < 0):
        raise InputError("make_trainer needs max_epochs or max_steps (got neither)")
    if mode not in ("min", "max"):
        raise InputError(f"mode must be 'min' or 'max', got {mode!r}")
    if patience is not None and monitor is None:
        raise InputError("early stopping (patience) needs a monitor metric, got monitor=None")
    cbs: list[Callback] = list(callbacks)
    if ckpt_dir is not None:
        ckpt_dir = Path(ckpt_dir)
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        cbs.append(
            ModelCheckpoint(
                dirpath=ckpt_dir, filename="best" if monitor else "epoch{epoch}-step{step}",
                monitor=monitor, mode=mode, save_top_k=1, save_last=True, auto_insert_metric_name=False,
            )  # fmt: skip
        )
    if patience is not None:
        cbs.append(EarlyStopping(monitor=monitor, mode=mode, patience=int(patience)))
    if progress_bar:
        has_rich = importlib.util.find_spec("rich") is not None
        cbs.append(RichProgressBar() if has_rich else TQDMProgressBar(refresh_rate=max(1, log_every_n_steps)))
    if logger is ...:
        logger = CSVLogger(save_dir=str(ckpt_dir), name="logs") if ckpt_dir is not None else False
    elif logger is None:
        logger = False
    if logger is not False:
        cbs.append(LearningRateMonitor())
    return L.Trainer(
        max_epochs=max_epochs,
        max_steps=max_steps,
        precision=precision,
        devices=devices,
        strategy=strategy,
        accelerator=accelerator,
        log_every_n_steps=log_every_n_steps,
        enable_progress_bar=progress_bar,
        enable_checkpointing=ckpt_dir is not None,
        gradient_clip_val=gradient_clip_val,
        accumulate_grad_batches=accumulate_grad_batches,
        deterministic=deterministic,
        logger=logger,
        callbacks=cbs,
        default_root_dir=str(ckpt_dir) if ckpt_dir is not None else None,
        **trainer_kwargs,
    )


def resolve_resume(trainer: L.Trainer, resume: str | os.PathLike | None = "auto") -> str | None:
    """Checkpoint path ``fit`` resumes from: ``"auto"`` → ``<ckpt_dir>/last.ckpt`` if it exists, else None;
    a path → that file (must exist); None → start fresh."""
    if resume is None:
        return None
    if isinstance(resume, str) and resume == "auto":
        cb = trainer.checkpoint_callback
        dirpath = getattr(cb, "dirpath", None)
        if dirpath is None:
            return None
        last = Path(dirpath) / LAST_CKPT
        return str(last) if last.is_file() else None
    path = Path(resume)
    if not path.is_file():
        raise InputError(f"resume checkpoint not found: expected an existing file, got {str(path)!r}")
    return str(path)


def fit(
    module: L.LightningModule,
    datamodule: L.LightningDataModule | None = None,
    trainer: L.Trainer | None = None,
    resume: str | os.PathLike | None = "auto",
    *,
    train_dataloaders: Any = None,
    val_dataloaders: Any = None,
) -> L.Trainer:
    """``trainer.fit`` that resumes (weights, optimizer, scheduler, loop and callback state) from a
    checkpoint: ``resume="auto"`` uses ``<ckpt_dir>/last.ckpt`` when present; a path uses that file;
    None starts fresh. Give a ``datamodule`` or ``train_dataloaders`` (+ ``val_dataloaders``).
    ``trainer`` defaults to ``make_trainer(max_epochs=1)``. Returns the trainer.
    """
    if trainer is None:
        trainer = make_trainer(max_epochs=1)
    if datamodule is None and train_dataloaders is None:
        raise InputError("fit needs a datamodule or train_dataloaders")
    ckpt_path = resolve_resume(trainer, resume)
    if datamodule is not None:
        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    else:
        trainer.fit(module, train_dataloaders=train_dataloaders, val_dataloaders=val_dataloaders,
                    ckpt_path=ckpt_path)  # fmt: skip
    return trainer
