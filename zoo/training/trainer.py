"""``make_trainer`` (a configured ``lightning.Trainer``), ``fit`` (with automatic resume) and ``finetune``
(a run directory the user names, resumed only when asked).

Example::

    from zoo.training import make_trainer, fit, finetune

    trainer = make_trainer(max_epochs=20, ckpt_dir="runs/exp1", monitor="val/loss", patience=5)
    fit(module, datamodule, trainer)      # resume="auto": continues runs/exp1/last.ckpt when it exists
    trainer.checkpoint_callback.best_model_path   # runs/exp1/best.ckpt

    trainer = finetune(task, datamodule, out="runs/ft", max_steps=500)               # a new run
    trainer = finetune(task, datamodule, out="runs/ft", max_steps=1000, resume=True)  # continue it

Files under ``ckpt_dir`` (the run directory): ``best.ckpt`` (best by ``monitor``; ``best-v1.ckpt`` etc. if a
fresh, non-resumed run finds an old one), ``last.ckpt`` (after every validation, improved or not; end of epoch without validation),
``logs/version_N/metrics.csv`` and ``logs/version_N/hparams.yaml`` (CSVLogger), and TensorBoard event files
in ``tb/version_N/`` when ``tensorboard`` is installed. Lightning writes checkpoints in one piece.
"""

from __future__ import annotations

import csv
import os
import sys
import time
import warnings
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from types import EllipsisType
from typing import Any

import lightning as L
import torch
from lightning.fabric.loggers.tensorboard import _TENSORBOARD_AVAILABLE, _TENSORBOARDX_AVAILABLE
from lightning.pytorch.callbacks import (
    Callback,
    EarlyStopping,
    LearningRateMonitor,
    ModelCheckpoint,
    Timer,
)
from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger

from zoo.errors import InputError
from zoo.training.optim import WarmupCosine

LAST_CKPT = "last.ckpt"


def progress_bar_default() -> bool:
    """Whether to show a progress bar by default: yes on an interactive terminal, no in CI or a log file.

    False when the ``CI`` environment variable is set (to anything but ``""``, ``0`` or ``false``) or when
    stderr (where the bar is drawn) is not a TTY.
    """
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def default_loggers(run_dir: str | os.PathLike) -> list[Logger]:
    """``CSVLogger(run_dir, name="logs")`` (``metrics.csv``, ``hparams.yaml``), plus
    ``TensorBoardLogger(run_dir, name="tb")`` when ``tensorboard`` (or ``tensorboardX``) is installed."""
    loggers: list[Logger] = [CSVLogger(save_dir=str(run_dir), name="logs")]
    if _TENSORBOARD_AVAILABLE or _TENSORBOARDX_AVAILABLE:
        loggers.append(TensorBoardLogger(save_dir=str(run_dir), name="tb", default_hp_metric=False))
    return loggers


def logged_rows(run_dir: str | os.PathLike, metric: str | None = None) -> list[dict[str, str]]:
    """The rows of a run's CSV logs (``RUN/logs/version_N/metrics.csv``, written by :func:`default_loggers`) in the
    order they were written: a run resumed with ``--resume`` logs to ``version_1``, ``version_2``, ... so versions
    are read in numeric order (``version_10`` after ``version_9``), rows in file order. With ``metric``, only the
    rows that logged it. A folder with no logs gives ``[]``. When a step was logged twice (a run resumed from an
    earlier checkpoint repeats it), the later row comes later::

        rows = logged_rows("runs/my", "val/acc")
        curve = {int(r["epoch"]): float(r["val/acc"]) for r in rows}   # the latest value of each epoch
    """
    versions = []
    for f in Path(run_dir, "logs").glob("version_*/metrics.csv"):
        suffix = f.parent.name.removeprefix("version_")
        if suffix.isdigit():
            versions.append((int(suffix), f))
    rows: list[dict[str, str]] = []
    for _, f in sorted(versions):
        with open(f, newline="") as fh:
            rows += [r for r in csv.DictReader(fh) if metric is None or r.get(metric) not in (None, "")]
    return rows


class LoaderEpoch(Callback):
    """Tell training loaders that draw their own shuffles and augmentations (``set_epoch(epoch)``, as
    `zoo.vision.fastdata.FastLoader`) which epoch starts, so a run resumed from a checkpoint continues their stream
    instead of restarting it (Lightning does this for samplers only). Added by :func:`make_trainer`."""

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        loaders = trainer.train_dataloader
        if isinstance(loaders, dict):
            loaders = list(loaders.values())
        for loader in loaders if isinstance(loaders, (list, tuple)) else [loaders]:
            if callable(getattr(loader, "set_epoch", None)):
                loader.set_epoch(trainer.current_epoch)


class ResumedSchedule(Callback):
    """A run resumed with another length (more or fewer epochs or steps) follows its new length: the warm-up +
    cosine schedule (:class:`zoo.training.WarmupCosine`) restored from the checkpoint is replaced by the one this
    run built, with a warning that names both lengths. Lightning alone keeps the stored schedule, so the
    learning rate would stop short of its end value or reach it early. Added by :func:`make_trainer`."""

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # configure_optimizers has run; the checkpoint's scheduler state is restored after this hook
        self._built = [[dict(vars(f)) if isinstance(f, WarmupCosine) else None for f in _lambdas(c.scheduler)]
                       for c in trainer.lr_scheduler_configs]  # fmt: skip

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        for config, built in zip(trainer.lr_scheduler_configs, getattr(self, "_built", [])):
            sched = config.scheduler
            changed = False
            for f, fresh in zip(_lambdas(sched), built):
                if fresh is not None and isinstance(f, WarmupCosine) and vars(f) != fresh:
                    warnings.warn(
                        f"resumed run: the checkpoint's learning-rate schedule spans {f.total_steps} steps "
                        f"({f.warmup_steps} warm-up), this run's {fresh['total_steps']} ({fresh['warmup_steps']} "
                        f"warm-up); following this run's from step {sched.last_epoch}", UserWarning, stacklevel=1)
                    vars(f).update(fresh)
                    changed = True
            if changed:  # the learning rate of the next step, under the new schedule
                for group, base, f in zip(sched.optimizer.param_groups, sched.base_lrs, sched.lr_lambdas):
                    group["lr"] = base * f(sched.last_epoch)


class RunSegments(Callback):
    """The conditions of each part of a run: the first fit and every resume are one segment each, ``{"steps":
    [first, last], "threads": N, "seconds": wall, "cpu_seconds": this process's CPU time, "load_average": the
    mean of the 1-minute load average read after each step, "started": UTC time}``. The load average counts this
    run's own threads too: about ``threads`` when nothing else ran, more when other jobs shared the machine.
    Kept in the checkpoints, so a resumed run knows the segments before it (the steps after the last checkpoint
    of an interrupted segment are repeated by the next one and are not counted twice); a checkpoint written
    without this callback starts the history at its step. CPU seconds far below ``threads`` x wall seconds mean
    that the process waited (another job had the cores, or it was stopped). Added by :func:`make_trainer`; read
    with :func:`train_segments`."""

    def __init__(self) -> None:
        self.segments: list[dict] = []
        self._clock: tuple[float, float] | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        step = int(trainer.global_step)
        self.segments.append({
            "steps": [step + 1, step], "threads": torch.get_num_threads(), "seconds": 0.0, "cpu_seconds": 0.0,
            "load_average": None, "started": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        })  # fmt: skip
        self._clock = (time.monotonic(), time.process_time())
        self._load = [0.0, 0]  # sum and count of the load averages read in this segment

    def _update(self, trainer: L.Trainer) -> None:
        if self._clock is not None and self.segments:
            seg = self.segments[-1]
            seg["steps"][1] = int(trainer.global_step)
            seg["seconds"] = round(time.monotonic() - self._clock[0], 1)
            seg["cpu_seconds"] = round(time.process_time() - self._clock[1], 1)
            if hasattr(os, "getloadavg"):  # not on Windows
                self._load = [self._load[0] + os.getloadavg()[0], self._load[1] + 1]
                seg["load_average"] = round(self._load[0] / self._load[1], 2)

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        self._update(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._update(trainer)

    def state_dict(self) -> dict:
        return {"segments": [dict(s, steps=list(s["steps"])) for s in self.segments]}

    def load_state_dict(self, state_dict: dict) -> None:
        self.segments = [dict(s, steps=list(s["steps"])) for s in state_dict.get("segments", [])]


def train_segments(trainer: L.Trainer) -> list[dict]:
    """The segments of the run (:class:`RunSegments`, which :func:`make_trainer` adds): one per fit, resumes
    included, each with its steps, threads, wall and CPU seconds and mean load average::

        fit(module, datamodule, trainer)
        train_segments(trainer)   # [{"steps": [1, 2000], "threads": 1, ...}, {"steps": [2001, 4500], ...}]
    """
    found = [cb for cb in trainer.callbacks if isinstance(cb, RunSegments)]
    if not found:
        raise InputError("train_segments needs a trainer with a RunSegments callback (make_trainer adds one); got none")
    return [dict(s, steps=list(s["steps"])) for s in found[0].segments]


def _lambdas(scheduler: Any) -> list:
    return list(scheduler.lr_lambdas) if isinstance(scheduler, torch.optim.lr_scheduler.LambdaLR) else []


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
    progress_bar: bool | None = None,
    gradient_clip_val: float | None = None,
    accumulate_grad_batches: int = 1,
    deterministic: bool = False,
    logger: Logger | Iterable[Logger] | bool | None | EllipsisType = ...,
    callbacks: Iterable[Callback] = (),
    **trainer_kwargs: Any,
) -> L.Trainer:
    """Build a ``lightning.Trainer`` with the zoo's callbacks.

    - ``ckpt_dir`` given: ``ModelCheckpoint(dirpath=ckpt_dir, filename="best", monitor=monitor, mode=mode,
      save_top_k=1)`` and a second ``ModelCheckpoint`` that rewrites ``last.ckpt`` at every validation (end of
      epoch without validation), whether or not the monitored value improved: Lightning's ``save_last=True``
      writes it only when a best checkpoint is written, so a resumed run would repeat every step since the
      last improvement. ``monitor=None`` keeps the latest checkpoint and ``last.ckpt``. Without ``ckpt_dir``
      no checkpoint is written and the default logger is off.
    - ``patience`` given: ``EarlyStopping(monitor, mode=mode, patience=patience)`` (needs ``monitor``).
    - Always: :class:`LoaderEpoch` (loaders with ``set_epoch`` learn the epoch; exact resumption),
      :class:`ResumedSchedule` (a run resumed with another length follows the new length, with a warning), and a
      ``Timer`` (Lightning's; ``max_time`` given: it is that limit), saved in the checkpoints, so that
      :func:`train_seconds` is the training time of the whole run across resumes; :class:`RunSegments`
      records each fit's steps, threads, wall and CPU seconds and mean load average (:func:`train_segments`).
    - ``progress_bar``: Lightning's default bar when True; None (default) shows it only on an interactive
      terminal and not in CI (:func:`progress_bar_default`).
    - ``logger=...`` (default): :func:`default_loggers` under ``ckpt_dir`` (CSV, and TensorBoard when
      installed) when ``ckpt_dir`` is given, else none; ``None``/``False``: none; a Logger (or list): used
      as is. ``LearningRateMonitor`` is added when a logger is active.
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
    cbs: list[Callback] = [*callbacks, LoaderEpoch(), ResumedSchedule(), RunSegments()]
    if not any(isinstance(cb, Timer) for cb in cbs):  # Trainer(max_time=...) would add one; ours also times
        cbs.append(Timer(duration=trainer_kwargs.pop("max_time", None), interval="step", verbose=False))
    if ckpt_dir is not None:
        ckpt_dir = Path(ckpt_dir)
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        if monitor:  # best by the monitor, and last.ckpt at every checkpoint event, improved or not
            cbs.append(ModelCheckpoint(dirpath=ckpt_dir, filename="best", monitor=monitor, mode=mode, save_top_k=1,
                                       auto_insert_metric_name=False))  # fmt: skip
            cbs.append(ModelCheckpoint(dirpath=ckpt_dir, filename=Path(LAST_CKPT).stem, save_top_k=1,
                                       enable_version_counter=False))  # fmt: skip
        else:
            cbs.append(ModelCheckpoint(dirpath=ckpt_dir, filename="epoch{epoch}-step{step}", save_top_k=1,
                                       save_last=True, auto_insert_metric_name=False))  # fmt: skip
    if patience is not None:
        cbs.append(EarlyStopping(monitor=monitor, mode=mode, patience=int(patience)))
    if progress_bar is None:
        progress_bar = progress_bar_default()
    if logger is ...:
        logger = default_loggers(ckpt_dir) if ckpt_dir is not None else False
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
        enable_progress_bar=bool(progress_bar),
        enable_checkpointing=ckpt_dir is not None,
        gradient_clip_val=gradient_clip_val,
        accumulate_grad_batches=accumulate_grad_batches,
        deterministic=deterministic,
        logger=logger,
        callbacks=cbs,
        default_root_dir=str(ckpt_dir) if ckpt_dir is not None else None,
        **trainer_kwargs,
    )


def train_seconds(trainer: L.Trainer) -> float:
    """Seconds the run has trained (its fit loops, their validations included), across resumes: the ``Timer``
    that :func:`make_trainer` adds keeps its time in the checkpoints. ``trainer`` must come from ``make_trainer``
    (or hold a ``Timer``)::

        trainer = make_trainer(max_epochs=10, ckpt_dir="runs/my")
        fit(module, datamodule, trainer)      # resumes runs/my/last.ckpt when it exists
        train_seconds(trainer)                # this fit's time plus the time stored in last.ckpt
    """
    timers = [cb for cb in trainer.callbacks if isinstance(cb, Timer)]
    if not timers:
        raise InputError("train_seconds needs a trainer with a Timer callback (make_trainer adds one); got none")
    return float(timers[0].time_elapsed("train"))


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


def _run_dir_entries(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir()) if out.is_dir() else []


def check_run_dir(out: str | os.PathLike, resume: bool = False, inputs: Iterable[str | os.PathLike | None] = ()) -> Path:
    """Validate the run directory of ``zoo finetune ... --out DIR [--resume]`` before any work; returns it.

    A new run needs a new or empty folder; ``resume=True`` needs a folder holding ``last.ckpt``. Refused
    with `InputError`: a file, a folder equal to (or inside) one of ``inputs`` (e.g. the data folder), a
    non-empty folder without ``resume`` (the zoo never writes over files it was not asked to), and
    ``resume`` without a ``last.ckpt`` to continue from.
    """
    if out is None or str(out).strip() == "":
        raise InputError(f"expected a run folder for the output (--out DIR), got {out!r}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"expected a run folder for --out, got the existing file {str(out)!r}")
    for inp in inputs:
        if inp is None:
            continue
        inp_path = Path(inp).resolve()
        if out.resolve() == inp_path or inp_path in out.resolve().parents:
            raise InputError(f"run folder {str(out)!r} is (inside) the input {str(inp)!r}; choose another --out folder")
    entries = _run_dir_entries(out)
    if resume:
        if not (out / LAST_CKPT).is_file():
            found = ", ".join(entries[:5]) or "nothing"
            raise InputError(f"--resume expected a previous run in {str(out)!r} (its {LAST_CKPT}), found {found}")
    elif entries:
        hint = "pass --resume to continue it, or " if LAST_CKPT in entries else ""
        raise InputError(
            f"expected a new or empty folder for --out, got {str(out)!r} holding {len(entries)} "
            f"{'entry' if len(entries) == 1 else 'entries'} "
            f"({', '.join(entries[:5])}); {hint}choose another folder"
        )
    return out


def restore_best(module: L.LightningModule, trainer: L.Trainer) -> str | None:
    """Load the weights of the trainer's best checkpoint (``best.ckpt``) into ``module``; returns its path.

    Nothing happens (returns None) when no best checkpoint was written (no monitor, or no validation).
    """
    cb = trainer.checkpoint_callback
    best = getattr(cb, "best_model_path", "") if cb is not None and getattr(cb, "monitor", None) else ""
    if not best or not Path(best).is_file():
        return None
    import torch

    state = torch.load(best, map_location="cpu", weights_only=False)["state_dict"]
    module.load_state_dict(state)
    return str(best)


def finetune(
    module: L.LightningModule,
    datamodule: L.LightningDataModule | None = None,
    *,
    out: str | os.PathLike,
    resume: bool = False,
    max_steps: int = -1,
    max_epochs: int | None = None,
    monitor: str | None = "val/loss",
    mode: str = "min",
    patience: int | None = None,
    best: bool = True,
    inputs: Iterable[str | os.PathLike | None] = (),
    train_dataloaders: Any = None,
    val_dataloaders: Any = None,
    **trainer_kwargs: Any,
) -> L.Trainer:
    """Fine-tune ``module`` with its run directory in ``out``: the core of ``zoo finetune NAME --out DIR [--resume]``.

    ``out`` is checked first (:func:`check_run_dir`: new or empty, or with ``resume`` a previous run), then
    it receives ``best.ckpt``, ``last.ckpt``, ``logs/version_N/{metrics.csv,hparams.yaml}`` (and TensorBoard
    logs when installed). ``resume=True`` continues the run from ``out/last.ckpt`` (``ckpt_path="last"``:
    weights, optimizer, scheduler, step counters). With ``best=True`` the weights of ``best.ckpt`` (by
    ``monitor``) are loaded back into ``module`` at the end, so ``module.model`` is the best fine-tuned model.
    ``max_steps`` / ``max_epochs`` and ``trainer_kwargs`` go to :func:`make_trainer` (e.g.
    ``val_check_interval``, ``limit_val_batches``, ``progress_bar``). Returns the trainer.

    Example::

        model = zoo.load("informer-etth1-h96")
        task = ForecastTask(model, lr=1e-4)
        trainer = finetune(task, ForecastDataModule("my.csv", pred_len=96), out="runs/my", max_steps=300,
                           monitor="val/mse", inputs=["my.csv"])
        save_pretrained(task.model, "runs/my/model", name="informer-my-data")
    """
    out = check_run_dir(out, resume=resume, inputs=inputs)
    if datamodule is None and train_dataloaders is None:
        raise InputError("finetune needs a datamodule or train_dataloaders")
    if max_epochs is None and (max_steps is None or max_steps < 0):
        raise InputError("finetune needs max_steps or max_epochs (got neither)")
    if max_epochs is None:
        max_epochs = -1  # bounded by max_steps
    trainer = make_trainer(max_epochs=max_epochs, max_steps=max_steps, ckpt_dir=out, monitor=monitor, mode=mode,
                           patience=patience, **trainer_kwargs)  # fmt: skip
    ckpt_path = "last" if resume else None
    with warnings.catch_warnings():  # check_run_dir made sure the folder is new, empty or this run's
        warnings.filterwarnings("ignore", message="Checkpoint directory .* exists and is not empty")
        if datamodule is not None:
            trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
        else:
            trainer.fit(module, train_dataloaders=train_dataloaders, val_dataloaders=val_dataloaders,
                        ckpt_path=ckpt_path)  # fmt: skip
    if best:
        restore_best(module, trainer)
    return trainer
