"""The user's front door: `load`, `list_models`, `info`.

Example:
    >>> import zoo
    >>> zoo.list_models("informer-*")
    >>> model = zoo.load("informer-etth1")          # eval mode, weights from the repository folder
    >>> model.config.seq_len, zoo.info("informer-etth1")["metrics"]
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from zoo.config import Config
from zoo.errors import InputError
from zoo.registry import ModelEntry, get_architecture, get_entry
from zoo.registry import list_models as _list_models
from zoo.weights import load_state_dict_strict, read_state_dict, resolve_weights


def build(architecture: str, model_args: dict, preprocessing: dict | None = None, name: str | None = None) -> nn.Module:
    """Build an architecture with ``model_args`` and attach its `Config` (no weights)."""
    arch = get_architecture(architecture)
    try:
        model = arch.builder(**model_args)
    except TypeError as exc:  # a misspelt or foreign argument: name it instead of a deep TypeError
        if "unexpected keyword argument" not in str(exc):
            raise
        bad = str(exc).rsplit("argument", 1)[-1].strip(" '\"")
        raise InputError(f"architecture {architecture!r} has no argument {bad!r}; got model_args "
                         f"{sorted(model_args)}") from exc  # fmt: skip
    model.config = Config(
        architecture=architecture,
        model_args=dict(model_args),
        preprocessing=dict(preprocessing or {}),
        name=name,
    )
    init = getattr(model, "init_preprocessing", None)
    if callable(init):
        init()
    return model


def load_entry_weights(model: nn.Module, entry: ModelEntry) -> nn.Module:
    """Resolve, verify and strictly load ``entry``'s weights into ``model``."""
    path = resolve_weights(entry)
    state = read_state_dict(path, entry.weights.sha256)
    if entry.weights.converter is not None:
        state = entry.weights.converter(state)
    load_state_dict_strict(model, state, source=str(path))
    return model


def load_weights_file(model: nn.Module, path, sha256: str | None = None) -> nn.Module:
    """Verify (``sha256`` when given) and strictly load a weights file into ``model``."""
    state = read_state_dict(path, sha256)
    load_state_dict_strict(model, state, source=str(path))
    return model


def load(name: str, pretrained: bool = True, device: str | torch.device | None = None, **overrides: Any) -> nn.Module:
    """Build the registered model ``name`` and load its weights; returns it in eval mode.

    ``overrides`` replace constructor arguments (e.g. ``dropout=0.2``); an override that changes
    parameter shapes makes a strict pretrained load fail, so use ``pretrained=False`` or the domain's
    fine-tuning command for that. ``model.config`` holds architecture, arguments and preprocessing.
    """
    entry = get_entry(name)
    args = {**entry.model_args, **overrides}
    model = build(entry.architecture, args, entry.preprocessing, name=entry.name)
    if pretrained:
        load_entry_weights(model, entry)
    model.eval()
    if device is not None:
        model.to(device)
    return model


def list_models(
    pattern: str | None = None, domain: str | None = None, task: str | None = None, pretrained: bool | None = None
) -> list[str]:
    """Sorted registered names; ``pattern`` is shell-style (``"informer-*"``)."""
    return _list_models(pattern, domain=domain, task=task, pretrained=pretrained)


def info(name: str) -> dict[str, Any]:
    """Card data of a registered model: source, metrics (with their commands), licence, preprocessing."""
    import inspect

    from zoo.registry import get_architecture
    from zoo.weights import folder_path

    e = get_entry(name)
    w = e.weights
    builder = get_architecture(e.architecture).builder
    try:
        source = inspect.getsourcefile(builder)
    except TypeError:
        source = None
    return {
        "source_file": source,
        "folder": str(folder_path(w.folder)) if w is not None and w.folder else None,
        "name": e.name,
        "aliases": list(e.aliases),
        "architecture": e.architecture,
        "domain": e.domain,
        "task": e.task,
        "description": e.description,
        "model_args": dict(e.model_args),
        "preprocessing": dict(e.preprocessing),
        "license": e.license,
        "datasets": list(e.datasets),
        "paper": e.paper,
        "base_model": e.base_model,
        "train_command": e.train_command,
        "weights": None
        if w is None
        else {
            "folder": w.folder,
            "repo_id": w.repo_id,
            "revision": w.revision,
            "filename": w.filename,
            "url": w.url,
            "sha256": w.sha256,
            "converter": getattr(w.converter, "__name__", None),
        },
        "metrics": [m.__dict__.copy() for m in e.metrics],
        "extra": dict(e.extra),
    }
