"""The zoo's Lightning training layer, shared by every domain.

- :class:`ZooModule` — base ``LightningModule`` (backbone ``model``, ``optim`` dict, ``shared_step`` hook,
  ``{stage}/loss`` and torchmetrics logging).
- :func:`make_trainer` — ``lightning.Trainer`` with checkpointing (``best.ckpt`` + ``last.ckpt``), early
  stopping, progress bar (on a terminal, off in CI), CSV (+ TensorBoard) logging; :func:`fit` — ``trainer.fit``
  resuming from ``last.ckpt``; :func:`finetune` — a run in a folder the user names, resumed on request;
  :func:`train_seconds` — the run's training time, across resumes; :func:`train_segments` — the threads,
  wall and CPU time and load average of each of its fits; :func:`logged_rows` — the rows of a run's
  CSV logs, in the order written (resumed runs included).
- :mod:`zoo.training.cli` — ``LightningCLI`` for every zoo task (``zoo fit --config my.yaml``), models by zoo name.
- :mod:`zoo.training.data` — ``DatasetDataModule`` over datasets given as objects or by class path in a config
  (each domain's task module holds its LightningModule, e.g. ``zoo.vision.task.ClassificationTask``).
- :func:`seed_everything`; :func:`build_optimizer` / :func:`build_scheduler` for use outside Lightning.

Example::

    from zoo.training import ZooModule, fit, make_trainer, seed_everything

    seed_everything(0)
    module = MyTask(net, optim={"optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.05,
                                "scheduler": "cosine", "warmup_steps": 100})
    trainer = make_trainer(max_epochs=10, ckpt_dir="runs/my", monitor="val/loss", patience=3)
    fit(module, datamodule, trainer)
"""

from zoo.training.module import ZooModule, seed_everything
from zoo.training.optim import (
    OPTIMIZERS,
    SCHEDULERS,
    WarmupCosine,
    build_optimizer,
    build_scheduler,
    check_optim,
    param_groups,
)
from zoo.training.trainer import (
    LAST_CKPT,
    check_run_dir,
    default_loggers,
    finetune,
    fit,
    logged_rows,
    make_trainer,
    progress_bar_default,
    resolve_resume,
    restore_best,
    train_seconds,
    train_segments,
)

__all__ = [
    "LAST_CKPT",
    "OPTIMIZERS",
    "SCHEDULERS",
    "WarmupCosine",
    "ZooModule",
    "build_optimizer",
    "build_scheduler",
    "check_optim",
    "check_run_dir",
    "default_loggers",
    "finetune",
    "fit",
    "logged_rows",
    "make_trainer",
    "param_groups",
    "progress_bar_default",
    "resolve_resume",
    "restore_best",
    "seed_everything",
    "train_seconds",
    "train_segments",
]
