"""The zoo's two registries: architectures (how to build a model) and entries (named, weighted models).

Domains register themselves on import; the core never imports a domain at module level. The first
look-up imports every domain package listed in `DOMAINS` (a domain that fails to import is
recorded and reported when one of its models is asked for, so one broken extra never hides the rest).

Example:
    >>> from zoo.registry import register_architecture, register_model, ModelEntry
    >>> @register_architecture("toy-mlp", domain="core")
    ... class ToyMLP(torch.nn.Module): ...
    >>> register_model(ModelEntry(name="toy-mlp-demo", architecture="toy-mlp", domain="core",
    ...                           task="regression", model_args={"width": 8}))
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zoo.errors import UnknownModelError

log = logging.getLogger(__name__)

DOMAINS = ("timeseries", "vision", "audio", "medical", "graph")


@dataclass(frozen=True)
class Architecture:
    """A named model constructor: ``builder(**model_args) -> nn.Module``.

    ``to_hub_config`` / ``from_hub_config`` let a family keep a foreign ``config.json`` convention
    (timm's, for Swin) instead of the zoo's.
    """

    name: str
    builder: Callable[..., Any]
    domain: str
    to_hub_config: Callable[[Any], dict] | None = None
    from_hub_config: Callable[[dict], tuple[dict, dict]] | None = None


@dataclass(frozen=True)
class Metric:
    """One measured number, with the command that reproduces it.

    ``published`` is the paper's figure for the same setting (labelled as theirs), if any.
    ``value=None`` means not measured here (upstream weights whose data set is not available):
    cards then show only the published figure, labelled as such, and no eval result.
    """

    name: str
    value: float | None
    dataset: str
    split: str = "test"
    command: str = ""
    published: float | None = None
    published_source: str = ""
    note: str = ""


@dataclass(frozen=True)
class WeightsSource:
    """Where an entry's weights live, in resolution order.

    - ``folder``: a Hub-form folder inside the repository (``hub/models/<folder>``) or an absolute path.
    - ``repo_id`` + ``revision`` (+ ``filename``): a Hugging Face Hub repository, pinned.
    - ``url``: an upstream release file (``.pth``/``.pt``/``.safetensors``), downloaded once into
      the zoo cache and read with ``torch.load(weights_only=True)``.
    - ``sha256``: of the weights file; verified before loading.
    - ``converter``: ``state_dict -> state_dict`` for upstream key formats.
    """

    folder: str | None = None
    repo_id: str | None = None
    revision: str | None = None
    filename: str = "model.safetensors"
    url: str | None = None
    sha256: str | None = None
    converter: Callable[[dict], dict] | None = None


@dataclass
class ModelEntry:
    """Everything needed to build, load, describe and evaluate one named model."""

    name: str
    architecture: str
    domain: str
    task: str
    model_args: dict = field(default_factory=dict)
    preprocessing: dict = field(default_factory=dict)
    weights: WeightsSource | None = None
    license: str = "apache-2.0"
    metrics: list[Metric] = field(default_factory=list)
    aliases: tuple[str, ...] = ()
    description: str = ""
    datasets: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    paper: str = ""
    base_model: str | None = None
    train_command: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def pretrained(self) -> bool:
        return self.weights is not None


_ARCHITECTURES: dict[str, Architecture] = {}
_ENTRIES: dict[str, ModelEntry] = {}
_ALIASES: dict[str, str] = {}
_DOMAIN_ERRORS: dict[str, BaseException] = {}
_LOADED = False


def register_architecture(
    name: str,
    *,
    domain: str,
    to_hub_config: Callable | None = None,
    from_hub_config: Callable | None = None,
) -> Callable:
    """Decorator registering a model class or builder function under ``name``."""

    def decorator(builder: Callable) -> Callable:
        if name in _ARCHITECTURES and _ARCHITECTURES[name].builder is not builder:
            raise ValueError(f"architecture {name!r} is already registered")
        _ARCHITECTURES[name] = Architecture(name, builder, domain, to_hub_config, from_hub_config)
        return builder

    return decorator


def register_model(entry: ModelEntry) -> ModelEntry:
    """Add a named entry (and its aliases) to the registry."""
    for key in (entry.name, *entry.aliases):
        if key in _ENTRIES or key in _ALIASES:
            raise ValueError(f"model name {key!r} is already registered")
    _ENTRIES[entry.name] = entry
    for alias in entry.aliases:
        _ALIASES[alias] = entry.name
    return entry


def _ensure_loaded() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for domain in DOMAINS:
        try:
            importlib.import_module(f"zoo.{domain}")
        except Exception as exc:  # noqa: BLE001 - recorded and reported on use
            log.warning("zoo.%s could not be imported: %s", domain, exc)
            _DOMAIN_ERRORS[domain] = exc


def get_architecture(name: str) -> Architecture:
    _ensure_loaded()
    if name not in _ARCHITECTURES:
        close = difflib.get_close_matches(name, list(_ARCHITECTURES), n=5, cutoff=0.4)
        hint = f" Closest: {', '.join(close)}." if close else ""
        raise UnknownModelError(f"unknown architecture {name!r}.{hint} Known: {', '.join(sorted(_ARCHITECTURES))}")
    return _ARCHITECTURES[name]


def architectures() -> dict[str, Architecture]:
    _ensure_loaded()
    return dict(_ARCHITECTURES)


def get_entry(name: str) -> ModelEntry:
    """The entry for ``name`` (or one of its aliases); unknown names list the closest matches."""
    _ensure_loaded()
    key = _ALIASES.get(name, name)
    if key in _ENTRIES:
        return _ENTRIES[key]
    names = list(_ENTRIES) + list(_ALIASES)
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
    close += [n for n in sorted(names) if name.lower() in n and n not in close][: 5 - len(close)]
    msg = f"unknown model {name!r}."
    msg += f" Did you mean: {', '.join(close)}?" if close else f" Registered models: {len(names)}."
    broken = [d for d in _DOMAIN_ERRORS if d in name.lower()]
    if broken or (not close and _DOMAIN_ERRORS):
        msg += " Domains that failed to import: " + "; ".join(f"zoo.{d}: {e}" for d, e in _DOMAIN_ERRORS.items())
    msg += " See `zoo list`."
    raise UnknownModelError(msg)


def list_models(
    pattern: str | None = None,
    domain: str | None = None,
    task: str | None = None,
    pretrained: bool | None = None,
) -> list[str]:
    """Sorted names of registered models, filtered by a shell-style ``pattern`` and fields."""
    _ensure_loaded()
    out = []
    for name, entry in _ENTRIES.items():
        if pattern and not fnmatch.fnmatch(name, pattern):
            continue
        if domain and entry.domain != domain:
            continue
        if task and entry.task != task:
            continue
        if pretrained is not None and entry.pretrained != pretrained:
            continue
        out.append(name)
    return sorted(out)


def domain_errors() -> dict[str, BaseException]:
    _ensure_loaded()
    return dict(_DOMAIN_ERRORS)
