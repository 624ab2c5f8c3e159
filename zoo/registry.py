"""The zoo's two registries: architectures (how to build a model) and entries (named, weighted models).

Two kinds of entries:

- **models trained here** live in their Hub-form folder ``hub/models/<name>/`` (``config.json`` with
  architecture, arguments, preprocessing, card text and training recipe; ``results.json`` with every
  measured metric). The folder is the one home of those facts: entries are built from it on first use.
- **upstream entries** (e.g. timm's Swin weights on the Hub) are registered in Python next to their
  model file when their domain package is imported.

A generated index (``zoo/model_index.json``, rewritten by ``python -m zoo.registry``) maps every name
and architecture to its domain, so a look-up imports only the domain it needs: ``zoo.load("dlinear-etth1")``
never imports timm, MONAI, RDKit or torch_geometric. A domain that fails to import is recorded and
reported when one of its models is asked for, so one broken extra never hides the rest.

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
import importlib.util
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any

from zoo.errors import InputError, UnknownModelError

log = logging.getLogger(__name__)

DOMAINS = ("timeseries", "vision", "audio", "medical", "graph")


@dataclass(frozen=True)
class Architecture:
    """A named model constructor: ``builder(**model_args) -> nn.Module``.

    ``to_hub_config`` / ``from_hub_config`` let a family keep a foreign ``config.json`` convention
    (timm's, for Swin) instead of the zoo's; ``to_hub_config`` returning None keeps the zoo's for that model.
    """

    name: str
    builder: Callable[..., Any]
    domain: str
    to_hub_config: Callable[[Any], dict | None] | None = None
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
    protocol: str = ""


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


INDEX_PATH = Path(__file__).resolve().parent / "model_index.json"
_INDEX: dict | None = None
_IMPORTED: set[str] = set()
_FROM_FOLDER: dict[str, ModelEntry] = {}  # name -> the entry built from its model folder
CONFIG_NAME, RESULTS_NAME = "config.json", "results.json"
# card-text fields of a folder's config.json "card" section that an entry keeps in ``extra``
CARD_EXTRA_KEYS = ("training_notes", "usage", "license_note", "library_name", "pipeline_tag", "loader", "widget")
# recipe fields of its "training" section
TRAINING_KEYS = ("hyper_parameters", "recipe", "seed", "dataset_source")


def models_dir() -> Path:
    """The committed model folders (``hub/models``), found where the package is installed (wheel or editable)."""
    env = os.environ.get("ZOO_MODELS_DIR")
    if env:
        return Path(env)
    spec = importlib.util.find_spec("zoo.hub")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("zoo.hub is not installed: the package is incomplete")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def index() -> dict:
    """The generated name → domain index (``{"models": {...}, "architectures": {...}}``)."""
    global _INDEX
    if _INDEX is None:
        try:
            _INDEX = json.loads(INDEX_PATH.read_text())
        except FileNotFoundError:
            _INDEX = {"models": {}, "architectures": {}}
    return _INDEX


def _import_domain(domain: str) -> None:
    if domain in _IMPORTED or domain == "core":
        return
    _IMPORTED.add(domain)
    try:
        importlib.import_module(f"zoo.{domain}")
    except Exception as exc:  # noqa: BLE001 - recorded and reported on use
        log.warning("zoo.%s could not be imported: %s", domain, exc)
        _DOMAIN_ERRORS[domain] = exc


def _ensure_loaded() -> None:
    """Import every domain (for listings of everything; single look-ups import only their own)."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for domain in DOMAINS:
        _import_domain(domain)


def read_folder_facts(folder: str | os.PathLike) -> tuple[dict, dict]:
    """``(config, results)`` of a Hub-form folder; ``results`` is empty when the folder has none."""
    folder = Path(folder)
    config = json.loads((folder / CONFIG_NAME).read_text())
    results_path = folder / RESULTS_NAME
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    return config, results


def entry_from_folder(folder: str | os.PathLike, name: str | None = None, sha256: str | None = None) -> ModelEntry:
    """The `ModelEntry` of a model folder (see `entry_from_facts`)."""
    config, results = read_folder_facts(folder)
    return entry_from_facts(config, results, folder=folder, name=name, sha256=sha256)


def entry_from_facts(config: dict, results: dict, folder: str | os.PathLike | None = None, name: str | None = None,
                     sha256: str | None = None) -> ModelEntry:
    """A `ModelEntry` from a folder's facts: architecture, arguments and preprocessing from ``config.json``,
    card text and training recipe from its ``card`` / ``training`` sections, metrics from ``results.json``."""
    arch_name = config.get("zoo_architecture", config["architecture"])
    card, training = dict(config.get("card") or {}), dict(config.get("training") or {})
    if "model_args" in config and "zoo_architecture" not in config:
        model_args, preprocessing = config["model_args"], config.get("preprocessing", {})
    else:  # a family with its own config convention (timm's, for Swin) reads it
        arch = get_architecture(arch_name)
        model_args, preprocessing = arch.from_hub_config(config) if arch.from_hub_config else (config["model_args"], {})
    extra = {k: v for k, v in training.items() if k != "command"}
    extra.update((results or {}).get("measured", {}))
    extra.update({k: card[k] for k in CARD_EXTRA_KEYS if k in card})
    if config.get("library_name") not in (None, "attention-zoo"):  # a family's own convention (timm's for Swin)
        extra.setdefault("library_name", config["library_name"])
    if "parameters" in card:
        extra["params"] = card["parameters"]
    extra["weights_dtype"] = config.get("weights_dtype")
    fields = {f.name for f in dataclass_fields(Metric)}
    folder_name = Path(folder).name if folder is not None else None
    return ModelEntry(
        name=name or config.get("name") or folder_name or arch_name,
        architecture=arch_name,
        domain=config.get("domain") or "core",
        task=config.get("task") or "",
        model_args=dict(model_args),
        preprocessing=dict(preprocessing),
        weights=WeightsSource(folder=str(folder), sha256=sha256 or config.get("weights_sha256")) if folder is not None else None,
        license=card.get("license") or "apache-2.0",
        metrics=[Metric(**{k: v for k, v in m.items() if k in fields}) for m in (results or {}).get("metrics", [])],
        aliases=tuple(card.get("aliases") or ()),
        description=card.get("description") or "",
        datasets=tuple(card.get("datasets") or ()),
        tags=tuple(card.get("tags") or ()),
        paper=card.get("paper") or "",
        base_model=card.get("base_model"),
        train_command=training.get("command", ""),
        extra=extra,
    )


def _resolve_name(name: str) -> str:
    if name in _ALIASES:
        return _ALIASES[name]
    if name in _ENTRIES:
        return name
    for key, info in index()["models"].items():
        if name == key or name in info.get("aliases", ()):
            return key
    return name


def _entry_from_index(key: str) -> ModelEntry | None:
    info = index()["models"].get(key)
    if info is None:
        return None
    _import_domain(info["domain"])
    if info.get("folder"):  # a model folder is the truth for its name (over a weightless recipe entry)
        folder = models_dir() / info["folder"]
        if (folder / CONFIG_NAME).is_file():
            entry = entry_from_folder(folder, name=key, sha256=info.get("weights_sha256"))
            _ENTRIES[key] = entry
            _FROM_FOLDER[key] = entry
            _ALIASES.update({alias: key for alias in entry.aliases})
            return entry
    return _ENTRIES.get(key)  # an upstream entry, registered by its domain


def get_architecture(name: str) -> Architecture:
    if not isinstance(name, str) or not name:
        raise InputError(f"expected an architecture name (a non-empty string), got {name!r}")
    if name not in _ARCHITECTURES:
        domain = index()["architectures"].get(name)
        if domain:
            _import_domain(domain)
        if name not in _ARCHITECTURES:
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
    """The entry for ``name`` (or one of its aliases); unknown names list the closest matches.

    Only the domain serving ``name`` is imported (the index says which).
    """
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"expected a model name (a non-empty string, see `zoo list`), got {name!r}")
    key = _resolve_name(name)
    if key in _ENTRIES and (_ENTRIES[key] is _FROM_FOLDER.get(key) or not (index()["models"].get(key) or {}).get("folder")):
        return _ENTRIES[key]
    entry = _entry_from_index(key)
    if entry is not None:
        return entry
    _ensure_loaded()  # a name the index does not know yet (registered by code imported on purpose)
    key = _ALIASES.get(name, name)
    if key in _ENTRIES:
        return _ENTRIES[key]
    names = sorted(set(list(_ENTRIES) + list(_ALIASES) + _index_names()))
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
    close += [n for n in names if name.lower() in n and n not in close][: 5 - len(close)]
    msg = f"unknown model {name!r}."
    msg += f" Did you mean: {', '.join(close)}?" if close else f" Registered models: {len(names)}."
    broken = [d for d in _DOMAIN_ERRORS if d in name.lower()]
    if broken or (not close and _DOMAIN_ERRORS):
        msg += " Domains that failed to import: " + "; ".join(f"zoo.{d}: {e}" for d, e in _DOMAIN_ERRORS.items())
    msg += " See `zoo list`."
    raise UnknownModelError(msg)


def _index_names() -> list[str]:
    out = []
    for key, info in index()["models"].items():
        out += [key, *info.get("aliases", ())]
    return out


def list_models(
    pattern: str | None = None,
    domain: str | None = None,
    task: str | None = None,
    pretrained: bool | None = None,
) -> list[str]:
    """Sorted names of registered models, filtered by a shell-style ``pattern`` and fields (no domain is imported)."""
    rows = {key: (info["domain"], info["task"], info["pretrained"]) for key, info in index()["models"].items()}
    folders = {key for key, info in index()["models"].items() if info.get("folder")}
    rows.update({name: (e.domain, e.task, e.pretrained) for name, e in _ENTRIES.items()
                 if name not in folders or e is _FROM_FOLDER.get(name)})
    out = []
    for name, (dom, tsk, has_weights) in rows.items():
        if pattern and not fnmatch.fnmatch(name, pattern):
            continue
        if domain and dom != domain:
            continue
        if task and tsk != task:
            continue
        if pretrained is not None and has_weights != pretrained:
            continue
        out.append(name)
    return sorted(out)


def build_index() -> dict:
    """The index as the code and folders say now: every domain imported, every model folder read."""
    _ensure_loaded()
    models: dict[str, dict] = {}
    for name, e in _ENTRIES.items():
        if e.domain == "core":
            continue
        folder = e.weights.folder if e.weights is not None else None
        models[name] = {"domain": e.domain, "architecture": e.architecture, "task": e.task,
                        "aliases": sorted(e.aliases), "pretrained": e.pretrained,
                        "folder": folder if folder and not Path(folder).is_absolute() else None,
                        "weights_sha256": None}
    root = models_dir()
    for folder in sorted(p for p in root.iterdir() if (p / CONFIG_NAME).is_file()):
        config = json.loads((folder / CONFIG_NAME).read_text())
        card = config.get("card", {})
        models[folder.name] = {"domain": config["domain"], "architecture": config.get("zoo_architecture", config["architecture"]),
                               "task": config["task"], "aliases": sorted(card.get("aliases", ())), "pretrained": True,
                               "folder": folder.name, "weights_sha256": config["weights_sha256"]}
    archs = {name: a.domain for name, a in sorted(_ARCHITECTURES.items()) if a.domain in DOMAINS}
    return {"models": dict(sorted(models.items())), "architectures": archs}


def domain_errors() -> dict[str, BaseException]:
    _ensure_loaded()
    return dict(_DOMAIN_ERRORS)


if __name__ == "__main__":  # python -m zoo.registry : rewrite the index after adding a model folder or entry
    from zoo import registry  # the imported module (domains register there), not this __main__ copy

    text = json.dumps(registry.build_index(), indent=1, sort_keys=True) + "\n"
    from zoo.io import atomic_write_bytes

    atomic_write_bytes(INDEX_PATH, text.encode())
    print(f"wrote {INDEX_PATH} ({len(json.loads(text)['models'])} models)")
