"""`Config`: the JSON-serialisable configuration every zoo model carries at ``model.config``.

A `Config` is a dict with attribute access. Keys are the architecture name, the constructor
arguments and a ``preprocessing`` sub-config; attribute look-up falls back to ``preprocessing`` so
that ``model.config.seq_len`` and ``model.config.freq`` both work whichever of the two holds them.

Example:
    >>> cfg = Config(architecture="dlinear", model_args={"seq_len": 96}, preprocessing={"freq": "h"})
    >>> cfg.seq_len, cfg.freq
    (96, 'h')
"""

from __future__ import annotations

import copy
import json
from typing import Any


def _wrap(value: Any) -> Any:
    if isinstance(value, dict) and not isinstance(value, Config):
        return Config(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


class Config(dict):
    """A dict with attribute access, falling back to ``model_args`` then ``preprocessing``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, value in list(self.items()):
            dict.__setitem__(self, key, _wrap(value))

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, _wrap(value))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name in self:
            return self[name]
        for section in ("model_args", "preprocessing"):
            sub = dict.get(self, section)
            if isinstance(sub, dict) and name in sub:
                return sub[name]
        raise AttributeError(f"config has no field {name!r}; fields: {sorted(self.fields())}")

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __deepcopy__(self, memo: dict) -> Config:
        return Config(copy.deepcopy(dict(self), memo))

    def fields(self) -> set[str]:
        """Every name reachable by attribute access."""
        names = set(self)
        for section in ("model_args", "preprocessing"):
            sub = dict.get(self, section)
            if isinstance(sub, dict):
                names |= set(sub)
        return names

    def to_dict(self) -> dict:
        """A plain, JSON-serialisable copy."""
        return json.loads(self.to_json())

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self, indent=indent, sort_keys=True, default=_json_default)


def _json_default(obj: Any) -> Any:
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(obj, tuple):
        return list(obj)
    raise TypeError(f"config value of type {type(obj).__name__} is not JSON-serialisable: {obj!r}")
