"""``zoo fit --config my.yaml``: Lightning's ``LightningCLI`` for every zoo task, models given by zoo name.

The config is a plain LightningCLI config: ``model`` is the task (a ``LightningModule`` of a domain, e.g.
``zoo.timeseries.task.ForecastTask``), ``data`` its ``LightningDataModule`` and ``trainer`` the
``lightning.Trainer`` arguments. The task's backbone, ``model.init_args.model``, may be given as a string:
a registered zoo name (``informer-etth1-h96``), a Hub-form model folder, or a Hub repo id
(``my-org/my-informer``). It is loaded with its weights through :class:`ZooModel` (``zoo.load`` /
``zoo.hub.from_pretrained``); a ``{class_path: zoo.training.cli.ZooModel, init_args: {name, weights}}``
mapping says the same with options. Everything else is LightningCLI: subcommands ``fit``, ``validate``,
``test``, ``predict``; ``--print_config``; ``--ckpt_path last`` to resume; dotted overrides such as
``--trainer.max_steps 200``. In a ``--config`` file, ``$VAR`` / ``${VAR}`` in strings are taken from the
environment (e.g. ``root: ${ZOO_DATA_DIR}/vision/cifar10/train``).

Example (``examples/configs/timeseries.yaml``)::

    model:
      class_path: zoo.timeseries.task.ForecastTask
      init_args:
        model: informer-etth1-h96
        lr: 1.0e-4
    data:
      class_path: zoo.timeseries.data.ForecastDataModule
      init_args: {data: ETTh1, pred_len: 96}
    trainer:
      max_steps: 200
      default_root_dir: runs/informer-ft

.. code-block:: bash

    zoo fit --config examples/configs/timeseries.yaml --trainer.max_steps 500
    python -m zoo.training.cli fit --config examples/configs/timeseries.yaml --ckpt_path last   # resume
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import nn

from zoo.errors import InputError, ZooError

__all__ = ["ZooModel", "ZooLightningCLI", "expand_model_specs", "is_zoo_model_spec", "main"]

ZOO_MODEL = "zoo.training.cli.ZooModel"
_CLASS_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_SUBCOMMANDS = ("fit", "validate", "test", "predict")


class ZooModel(nn.Module):
    """A zoo model as a config value: ``ZooModel(name, weights=None)`` returns the loaded model (eval mode).

    Args:
        name: a registered zoo name (``informer-etth1-h96``), a Hub-form model folder, or a Hub repo id
            (``org/name``, fetched with ``zoo.hub.from_pretrained``).
        weights: weights to use instead of the registered ones: a Hub-form folder or a ``.safetensors``
            file with ``name``'s architecture.
        pretrained: False builds ``name``'s architecture with fresh weights.

    Calling the class returns the model itself (not a ``ZooModel``), so jsonargparse/LightningCLI can build
    any zoo model from a config. The fit loop puts it in train mode (see ``ZooModule.on_fit_start``).

    Example:
        >>> net = ZooModel("dlinear-etth1-h96")
        >>> type(net).__name__, net.training
        ('DLinear', False)
    """

    def __new__(cls, name: str, weights: str | None = None, pretrained: bool = True) -> nn.Module:  # type: ignore[misc]
        return load_zoo_model(name, weights=weights, pretrained=pretrained)

    def __init__(self, name: str, weights: str | None = None, pretrained: bool = True) -> None:  # pragma: no cover
        super().__init__()  # never reached: __new__ returns the loaded model


def load_zoo_model(name: str, weights: str | None = None, pretrained: bool = True) -> nn.Module:
    """The model ``name`` (registered name, Hub-form folder or Hub repo id), with ``weights`` if given."""
    import zoo
    from zoo.cli_support import load_model
    from zoo.errors import UnknownModelError

    if not isinstance(name, str) or not name.strip():
        raise InputError(f"expected a zoo model name, folder or Hub repo id, got {name!r}")
    if not pretrained:
        if weights is not None:
            raise InputError(f"weights={weights!r} contradicts pretrained=False; give one of them")
        return zoo.load(name, pretrained=False)
    try:
        return load_model(argparse.Namespace(name=name, weights=weights))
    except UnknownModelError:
        if name.count("/") == 1 and not Path(name).exists() and weights is None:
            from zoo.hub import from_pretrained

            return from_pretrained(name)  # a Hub repo id
        raise


def is_zoo_model_spec(value: Any) -> bool:
    """Whether a config value names a zoo model (rather than a Python class path).

    True for a string that is a registered name, an existing folder, or not a dotted Python name at all
    (``informer-etth1-h96``, ``runs/my/model``, ``org/name``).
    """
    if not isinstance(value, str) or not value.strip():
        return False
    if not _CLASS_PATH.match(value):
        return True
    if Path(value).is_dir():
        return True
    from zoo.errors import UnknownModelError
    from zoo.registry import get_entry

    try:
        get_entry(value)  # a registered name or alias (e.g. "biformer_tiny")
    except (UnknownModelError, KeyError):
        return False
    return True


def _zoo_spec(name: str) -> dict:
    """The ZooModel spec of ``name``; an unknown name fails here, with close matches, before any work."""
    if not Path(name).is_dir() and name.count("/") != 1:  # not a folder nor a Hub repo id
        from zoo.registry import get_entry

        get_entry(name)  # UnknownModelError listing close matches
    return {"class_path": ZOO_MODEL, "init_args": {"name": name}}


def expand_model_specs(cfg: Any) -> Any:
    """A copy of a LightningCLI config (dict) with every zoo-model string under ``model`` made a ZooModel spec.

    Looks at ``model.init_args.model`` and ``model.model`` (also under a subcommand key such as ``fit``).
    """
    if not isinstance(cfg, dict):
        return cfg
    out = dict(cfg)
    for key, value in cfg.items():
        if key in _SUBCOMMANDS and isinstance(value, dict):
            out[key] = expand_model_specs(value)
    task = out.get("model")
    if isinstance(task, dict):
        task = dict(task)
        init = task.get("init_args")
        if isinstance(init, dict) and is_zoo_model_spec(init.get("model")):
            task["init_args"] = {**init, "model": _zoo_spec(init["model"])}
        if is_zoo_model_spec(task.get("model")):
            task["model"] = _zoo_spec(task["model"])
        out["model"] = task
    return out


_MODEL_FLAGS = ("--model.model", "--model.init_args.model")


def _rewrite_argv(argv: Sequence[str]) -> list[str]:
    """Config files with zoo-model strings are passed on as expanded YAML; ``--model.model NAME`` likewise."""
    import yaml

    out: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        flag, eq, value = arg.partition("=")
        if flag in ("--config", "-c") or flag in _MODEL_FLAGS:
            if not eq:
                if i + 1 >= len(args):
                    out.append(arg)
                    break
                value = args[i + 1]
                i += 1
            if flag in _MODEL_FLAGS:
                out += [flag, json.dumps(_zoo_spec(value)) if is_zoo_model_spec(value) else value]
            else:
                out += [flag, _expanded_config(value, yaml)]
        else:
            out.append(arg)
        i += 1
    return out


def _expanded_config(value: str, yaml: Any) -> str:
    path = Path(value)
    if not path.is_file():
        return value  # a YAML string, or a missing file: LightningCLI reports it
    try:
        cfg = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise InputError(f"config {value!r} is not valid YAML: {e}") from None
    new = expand_model_specs(_expand_env(cfg))
    return value if new == cfg else yaml.safe_dump(new, sort_keys=False)


def _expand_env(cfg: Any) -> Any:
    """``$VAR`` / ``${VAR}`` in the config's strings from the environment (e.g. ``${ZOO_DATA_DIR}/vision``)."""
    if isinstance(cfg, dict):
        return {k: _expand_env(v) for k, v in cfg.items()}
    if isinstance(cfg, list):
        return [_expand_env(v) for v in cfg]
    if isinstance(cfg, str) and "$" in cfg:
        out = os.path.expandvars(cfg)
        missing = re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", out)
        if missing:
            raise InputError(f"config value {cfg!r} uses the environment variable {missing[0]}, which is not set")
        return out
    return cfg


def _cli_class():
    from lightning.pytorch.cli import LightningCLI

    class _ZooLightningCLI(LightningCLI):
        """``LightningCLI`` with zoo defaults: any LightningModule/DataModule by class path, a progress bar
        only on a terminal, checkpoints in ``<default_root_dir>/checkpoints`` (so ``--ckpt_path last`` finds
        the previous run's ``last.ckpt``), and no ``config.yaml`` clash when a run folder is reused."""

        def instantiate_trainer(self, **kwargs: Any):
            trainer = super().instantiate_trainer(**kwargs)
            for cb in trainer.checkpoint_callbacks:
                if getattr(cb, "dirpath", None) is None:
                    cb.dirpath = os.path.realpath(os.path.join(trainer.default_root_dir, "checkpoints"))
            return trainer

        def __init__(self, args: Sequence[str] | None = None, run: bool = True, **kwargs: Any) -> None:
            from zoo.training.trainer import progress_bar_default

            defaults = {"enable_progress_bar": progress_bar_default(), **kwargs.pop("trainer_defaults", {})}
            kwargs.setdefault("save_config_kwargs", {"overwrite": True})
            super().__init__(
                model_class=None, datamodule_class=None, subclass_mode_model=True, subclass_mode_data=True,
                trainer_defaults=defaults, args=args, run=run, **kwargs,
            )  # fmt: skip

    return _ZooLightningCLI


def ZooLightningCLI(args: Sequence[str] | None = None, run: bool = True, **kwargs: Any):  # noqa: N802
    """Build (and by default run) the zoo's ``LightningCLI`` on ``args``, zoo-model strings expanded.

    Example:
        >>> cli = ZooLightningCLI(["--config", "examples/configs/timeseries.yaml", "--trainer.max_steps", "2"],
        ...                       run=False)
        >>> cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    """
    return _cli_class()(args=_rewrite_argv(list(args if args is not None else sys.argv[1:])), run=run, **kwargs)


def main(argv: Sequence[str] | None = None) -> int:
    """``zoo fit --config my.yaml`` (and ``validate``/``test``/``predict``): LightningCLI; returns an exit code.

    ``argv`` starts with the subcommand (``["fit", "--config", "my.yaml"]``); without one (and without
    ``--help``) ``fit`` is meant, so ``zoo fit`` may pass its arguments with or without the word ``fit``.
    Zoo errors (unknown model name, bad data) are printed as one line on stderr with exit code 2.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(a in _SUBCOMMANDS for a in argv) and not any(a in ("-h", "--help") for a in argv):
        argv = ["fit", *argv]
    saved, sys.argv = sys.argv, sys.argv[:1]  # LightningCLI warns when given args while sys.argv has some too
    try:
        ZooLightningCLI(argv)
    except ZooError as e:
        print(f"zoo fit: error: {e}", file=sys.stderr)
        return 2
    except SystemExit as e:  # jsonargparse exits on --help and on bad arguments
        code = e.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    finally:
        sys.argv = saved
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
