"""Optimizer and learning-rate scheduler from a plain config dict.

Every object built here is a stock ``torch.optim`` optimizer or ``torch.optim.lr_scheduler`` scheduler; the
warmup/cosine shape is a ``LambdaLR`` with a closed-form multiplier (so its value at any step is exact and
its state round-trips through a checkpoint).

Config keys (all optional, defaults in brackets)::

    optimizer      "adamw" | "adam" | "sgd"                                   ["adamw"]
    lr             peak learning rate                                         [1e-3]
    weight_decay   decoupled (adamw) or L2 (adam, sgd) weight decay           [0.0]
    betas, eps     Adam/AdamW                                                 [(0.9, 0.999), 1e-8]
    momentum, nesterov   SGD                                                  [0.0, False]
    scheduler      None | "cosine" | "step" | "plateau" | "onecycle" | "exponential"   [None]
    warmup_steps   linear warmup length in optimizer steps (None/cosine/onecycle)      [0]
    warmup_epochs  the same in epochs (converted with steps_per_epoch)        [0]
    max_steps      total optimizer steps (cosine/onecycle)     [trainer.estimated_stepping_batches]
    max_epochs     total epochs, alternative to max_steps      [trainer.max_epochs]
    steps_per_epoch  optimizer steps per epoch                 [from the trainer's train loader]
    min_lr         floor of the cosine schedule                               [0.0]
    step_size, gamma   StepLR (epochs) / ExponentialLR            [max(1, max_epochs // 3), 0.1 / 0.95]
    factor, patience, monitor, mode   ReduceLROnPlateau           [0.1, 10, "val/loss", "min"]
    pct_start, div_factor, final_div_factor   OneCycleLR          [warmup/total or 0.3, 25.0, 1e4]

Weight decay: when ``weight_decay > 0`` the parameters are split in two groups; every parameter with
``ndim <= 1`` (biases, LayerNorm/BatchNorm weights, scalar gains) and every name returned by the model's
``no_weight_decay()`` (timm convention: e.g. ``{"pos_embed", "cls_token"}``) go in a group with
``weight_decay=0``. Frozen parameters (``requires_grad=False``) are left out.

Schedule of ``"cosine"`` (``W`` warmup steps, ``T`` total steps, ``m = min_lr / lr``), multiplier of ``lr``
after ``s`` optimizer steps::

    s < W:   s / W                                         (linear warmup from 0, as transformers does)
    s >= W:  m + (1 - m) * 0.5 * (1 + cos(pi * min(1, (s - W) / (T - W))))

``scheduler=None`` with a warmup gives ``min(1, s / W)``. Example::

    >>> import torch
    >>> net = torch.nn.Linear(4, 2)
    >>> opt = build_optimizer(net, {"optimizer": "sgd", "lr": 0.1, "weight_decay": 1e-4})
    >>> [len(g["params"]) for g in opt.param_groups], [g["weight_decay"] for g in opt.param_groups]
    ([1, 1], [0.0001, 0.0])
    >>> sched = build_scheduler(opt, {"lr": 0.1, "scheduler": "cosine", "warmup_steps": 2, "max_steps": 4})
    >>> sched["interval"], round(opt.param_groups[0]["lr"], 4)
    ('step', 0.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.optim import lr_scheduler

from zoo.errors import InputError

OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULERS = (None, "cosine", "step", "plateau", "onecycle", "exponential")
OPTIM_KEYS = frozenset(
    {
        "optimizer", "lr", "weight_decay", "betas", "eps", "momentum", "nesterov", "scheduler",
        "warmup_steps", "warmup_epochs", "max_steps", "max_epochs", "steps_per_epoch", "min_lr",
        "step_size", "gamma", "factor", "patience", "monitor", "mode", "pct_start", "div_factor",
        "final_div_factor",
    }
)  # fmt: skip
DEFAULT_OPTIM: dict[str, Any] = {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.0, "scheduler": None}


def check_optim(optim: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate an optim config and return it merged over :data:`DEFAULT_OPTIM` (a new plain dict)."""
    optim = dict(optim or {})
    unknown = sorted(set(optim) - OPTIM_KEYS)
    if unknown:
        raise InputError(f"unknown optim key(s) {unknown}; expected some of {sorted(OPTIM_KEYS)}")
    cfg = {**DEFAULT_OPTIM, **optim}
    name = str(cfg["optimizer"]).lower()
    if name not in OPTIMIZERS:
        raise InputError(f"unknown optimizer {cfg['optimizer']!r}; choose one of {list(OPTIMIZERS)}")
    cfg["optimizer"] = name
    sched = cfg["scheduler"]
    sched = None if sched in (None, "none", "None", "constant") else str(sched).lower()
    if sched not in SCHEDULERS:
        raise InputError(f"unknown scheduler {cfg['scheduler']!r}; choose one of {list(SCHEDULERS)}")
    cfg["scheduler"] = sched
    if not float(cfg["lr"]) > 0:
        raise InputError(f"optim lr must be > 0, got {cfg['lr']!r}")
    if float(cfg["weight_decay"]) < 0:
        raise InputError(f"optim weight_decay must be >= 0, got {cfg['weight_decay']!r}")
    if cfg.get("warmup_steps") and cfg.get("warmup_epochs"):
        raise InputError("give warmup_steps or warmup_epochs, not both")
    if (cfg.get("warmup_steps") or cfg.get("warmup_epochs")) and sched not in (None, "cosine", "onecycle"):
        raise InputError(f"warmup is supported with scheduler None, 'cosine' or 'onecycle', not {sched!r}")
    return cfg


def param_groups(module: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Split the trainable parameters of ``module`` into a decay group and a no-decay group.

    No decay for 1-D/0-D parameters (biases, norm weights) and for names listed by any submodule's
    ``no_weight_decay()`` (names relative to that submodule, timm convention). With ``weight_decay == 0``
    one group holds everything. Empty groups are dropped.
    """
    named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    if weight_decay == 0:
        return [{"params": [p for _, p in named], "weight_decay": 0.0}]
    skip: set[str] = set()
    for prefix, sub in module.named_modules():
        fn = getattr(sub, "no_weight_decay", None)
        if callable(fn):
            skip |= {f"{prefix}.{n}" if prefix else n for n in fn()}
    decay, no_decay = [], []
    for n, p in named:
        (no_decay if p.ndim <= 1 or n in skip else decay).append(p)
    groups = [{"params": decay, "weight_decay": float(weight_decay)}, {"params": no_decay, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


def build_optimizer(module: nn.Module, optim: Mapping[str, Any] | None) -> torch.optim.Optimizer:
    """``torch.optim`` optimizer over ``module``'s trainable parameters from an optim config."""
    cfg = check_optim(optim)
    groups = param_groups(module, float(cfg["weight_decay"]))
    lr = float(cfg["lr"])
    if cfg["optimizer"] == "sgd":
        return torch.optim.SGD(
            groups, lr=lr, momentum=float(cfg.get("momentum", 0.0)), nesterov=bool(cfg.get("nesterov", False))
        )
    cls = torch.optim.AdamW if cfg["optimizer"] == "adamw" else torch.optim.Adam
    return cls(groups, lr=lr, betas=tuple(cfg.get("betas", (0.9, 0.999))), eps=float(cfg.get("eps", 1e-8)))


class WarmupCosine:
    """Multiplier of the base lr after ``step`` optimizer steps (see the module docstring).

    A plain class (not a closure) so ``LambdaLR.state_dict`` stores its fields.
    """

    def __init__(self, warmup_steps: int, total_steps: int | None, min_ratio: float = 0.0, cosine: bool = True):
        self.warmup_steps, self.total_steps = int(warmup_steps), total_steps
        self.min_ratio, self.cosine = float(min_ratio), cosine

    def __call__(self, step: int) -> float:
        w = self.warmup_steps
        if step < w:
            return step / w
        if not self.cosine:
            return 1.0
        span = max(1, self.total_steps - w)
        progress = min(1.0, (step - w) / span)
        return self.min_ratio + (1.0 - self.min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def _need(value: Any, what: str) -> int:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        raise InputError(f"{what} is unknown: give it in the optim config or train with a finite trainer length")
    return int(value)


def build_scheduler(
    optimizer: torch.optim.Optimizer,
    optim: Mapping[str, Any] | None,
    *,
    total_steps: int | None = None,
    steps_per_epoch: int | None = None,
    max_epochs: int | None = None,
) -> dict[str, Any] | None:
    """Lightning ``lr_scheduler`` config dict (``{"scheduler", "interval", "frequency"[, "monitor"]}``).

    ``total_steps``/``steps_per_epoch``/``max_epochs`` are the trainer-derived fallbacks for the config's
    ``max_steps``/``steps_per_epoch``/``max_epochs``. Returns None when there is nothing to schedule.
    """
    cfg = check_optim(optim)
    sched = cfg["scheduler"]
    spe = cfg.get("steps_per_epoch", steps_per_epoch)
    epochs = cfg.get("max_epochs", max_epochs)
    warmup = int(cfg.get("warmup_steps") or 0)
    if cfg.get("warmup_epochs"):
        warmup = int(round(float(cfg["warmup_epochs"]) * _need(spe, "steps_per_epoch")))

    def total() -> int:
        if cfg.get("max_steps") is not None:
            return int(cfg["max_steps"])
        if cfg.get("max_epochs") is not None:
            return int(cfg["max_epochs"]) * _need(spe, "steps_per_epoch")
        return _need(total_steps, "max_steps")

    lr = float(cfg["lr"])
    if sched is None:
        if not warmup:
            return None
        fn = WarmupCosine(warmup, None, cosine=False)
        return {"scheduler": lr_scheduler.LambdaLR(optimizer, fn), "interval": "step", "frequency": 1}
    if sched == "cosine":
        fn = WarmupCosine(warmup, total(), min_ratio=float(cfg.get("min_lr", 0.0)) / lr)
        return {"scheduler": lr_scheduler.LambdaLR(optimizer, fn), "interval": "step", "frequency": 1}
    if sched == "onecycle":
        t = total()
        pct = float(cfg["pct_start"]) if "pct_start" in cfg else (warmup / t if warmup else 0.3)
        s = lr_scheduler.OneCycleLR(
            optimizer, max_lr=lr, total_steps=t, pct_start=pct, div_factor=float(cfg.get("div_factor", 25.0)),
            final_div_factor=float(cfg.get("final_div_factor", 1e4)), cycle_momentum=False,
        )  # fmt: skip
        return {"scheduler": s, "interval": "step", "frequency": 1}
    if sched == "step":
        step_size = cfg.get("step_size")
        if step_size is None:
            step_size = max(1, _need(epochs, "max_epochs (to derive step_size)") // 3)
        s = lr_scheduler.StepLR(optimizer, step_size=int(step_size), gamma=float(cfg.get("gamma", 0.1)))
        return {"scheduler": s, "interval": "epoch", "frequency": 1}
    if sched == "exponential":
        s = lr_scheduler.ExponentialLR(optimizer, gamma=float(cfg.get("gamma", 0.95)))
        return {"scheduler": s, "interval": "epoch", "frequency": 1}
    # plateau
    s = lr_scheduler.ReduceLROnPlateau(
        optimizer, mode=cfg.get("mode", "min"), factor=float(cfg.get("factor", 0.1)),
        patience=int(cfg.get("patience", 10)), min_lr=float(cfg.get("min_lr", 0.0)),
    )  # fmt: skip
    return {"scheduler": s, "interval": "epoch", "frequency": 1, "monitor": cfg.get("monitor", "val/loss")}
