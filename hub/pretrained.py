"""Hub form: a model folder with ``config.json``, ``model.safetensors`` and a ``README.md`` card.

Example:
    >>> import zoo
    >>> from zoo.hub import save_pretrained, from_pretrained
    >>> model = zoo.load("dlinear-etth1")
    >>> save_pretrained(model, "out/dlinear-etth1")          # folder in Hub form, written atomically
    >>> again = from_pretrained("out/dlinear-etth1")          # or a Hub repo id (cache used offline)
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from zoo import __version__
from zoo.errors import InputError, WeightsIntegrityError, WeightsNotFoundError, ZooError
from zoo.loading import build
from zoo.registry import CARD_EXTRA_KEYS, TRAINING_KEYS, ModelEntry, get_architecture, get_entry
from zoo.weights import CONFIG_NAME, WEIGHTS_NAME, load_state_dict_strict, read_state_dict

from .card import render_card

RESULTS_NAME = "results.json"
HUB_FILES = (CONFIG_NAME, WEIGHTS_NAME, "README.md")
OPTIONAL_FILES = (RESULTS_NAME, "handler.py")


def hub_config(model: nn.Module) -> dict:
    """The ``config.json`` content of ``model`` (the zoo's convention, or its family's own)."""
    cfg = getattr(model, "config", None)
    if cfg is None or "architecture" not in cfg:
        raise ZooError(
            f"{type(model).__name__} has no zoo config; build it with zoo.load / zoo.build "
            "so that model.config names its architecture and arguments"
        )
    arch = get_architecture(cfg["architecture"])
    own = arch.to_hub_config(model) if arch.to_hub_config is not None else None
    if own is not None:  # the family's convention (None: this model has no such form, use the zoo's)
        return own
    return {
        "architecture": cfg["architecture"],
        "model_args": cfg.to_dict()["model_args"],
        "preprocessing": cfg.to_dict().get("preprocessing", {}),
        "name": cfg.get("name"),
        "library_name": "attention-zoo",
        "zoo_version": __version__,
    }


def _registered(model: nn.Module) -> ModelEntry | None:
    name = model.config.get("name")
    if not name:
        return None
    try:
        return get_entry(name)
    except (KeyError, ZooError):
        return None


def _is_repo_id(text: str) -> bool:
    return isinstance(text, str) and text.count("/") == 1 and not text.startswith((".", "/")) and " " not in text


def _new_identity(model: nn.Module, name: str, parent: ModelEntry | None, base_model: str | None,
                  datasets, card: dict | None) -> dict:
    """Card section of a model that is not (or no longer) a registered model: never the parent's claims."""
    cfg = model.config
    arch = get_architecture(cfg["architecture"])
    out = dict(card or {})
    parent_repo = base_model or (parent.weights.repo_id if parent is not None and parent.weights is not None else None)
    if parent_repo and not _is_repo_id(parent_repo):
        parent_repo = None  # not a Hub repo id (e.g. a zoo name): named in the description instead
    parent_name = parent.name if parent is not None else base_model
    if parent_name and not out.get("description"):
        out["description"] = (f"Fine-tuned from `{parent_name}` (attention-zoo"
                              + (f", `{parent_repo}` on the Hugging Face Hub" if parent_repo else "") + ")"
                              + (f" on {', '.join(datasets)}." if datasets else "."))
    out.setdefault("description", f"A {cfg['architecture']} model saved with attention-zoo.")
    if parent_repo:
        out["base_model"] = parent_repo
    elif out.get("base_model") and not _is_repo_id(out["base_model"]):
        out.pop("base_model")  # the card's base_model must be a Hub repo id; the parent is named in prose
    out.setdefault("datasets", list(datasets or []))
    out.setdefault("license", parent.license if parent is not None else "apache-2.0")
    out.setdefault("tags", [arch.domain, cfg["architecture"]])
    out.setdefault("aliases", [])
    out.setdefault("loader", "from_pretrained")  # not a registered name: the card's usage loads the folder / repo
    return out


def _card_from_entry(entry: ModelEntry, n_params: int) -> dict:
    card = {"description": entry.description, "aliases": list(entry.aliases), "license": entry.license,
            "datasets": list(entry.datasets), "tags": list(entry.tags), "paper": entry.paper,
            "base_model": entry.base_model, "parameters": entry.extra.get("params", n_params)}
    card.update({k: entry.extra[k] for k in CARD_EXTRA_KEYS if entry.extra.get(k)})
    return card


def _results_from_entry(entry: ModelEntry) -> dict | None:
    if not entry.metrics:
        return None
    measured = {k: v for k, v in entry.extra.items()
                if k not in (*CARD_EXTRA_KEYS, *TRAINING_KEYS, "params", "weights_dtype")}
    return {"metrics": [dict(m.__dict__) for m in entry.metrics], "measured": measured}


def state_dict_for_saving(model: nn.Module, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    """Detached, contiguous, unshared copies (safetensors refuses shared storage); floats cast to ``dtype``."""
    out = {}
    for key, value in model.state_dict().items():
        t = value.detach().to("cpu")
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        out[key] = t.contiguous().clone()
    return out


def _same_weights(model: nn.Module, parent: ModelEntry) -> bool:
    """True when ``model``'s tensors, in the stored precision, are exactly ``parent``'s registered weights."""
    from zoo.weights import resolve_weights

    try:
        stored = read_state_dict(resolve_weights(parent))
    except ZooError:
        return False
    own = model.state_dict()
    if set(own) != set(stored):
        return False
    return all(torch.equal(own[k].detach().cpu().to(v.dtype), v) for k, v in stored.items())


def _copy_examples(parent: ModelEntry, folder: Path) -> None:
    """The card's widget files (``examples/``) of a registered model, next to its re-saved copy (never replacing a file)."""
    import shutil

    from zoo.weights import folder_path

    if parent.weights is None or not parent.weights.folder:
        return
    src = folder_path(parent.weights.folder) / "examples"
    dst = folder / "examples"
    if not src.is_dir() or src.resolve() == dst.resolve():
        return
    dst.mkdir(exist_ok=True)
    for f in src.iterdir():
        if f.is_file() and not (dst / f.name).exists():
            shutil.copy2(f, dst / f.name)


def _is_model_folder(folder: Path) -> bool:
    try:
        config = json.loads((folder / CONFIG_NAME).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and "architecture" in config and (folder / WEIGHTS_NAME).is_file()


def save_pretrained(
    model: nn.Module,
    folder: str | os.PathLike,
    *,
    name: str | None = None,
    base_model: str | None = None,
    datasets: list[str] | tuple[str, ...] | None = None,
    results: dict | None = None,
    card: dict | None = None,
    training: dict | None = None,
    dtype: torch.dtype | None = None,
    overwrite: bool = False,
    entry: ModelEntry | None = None,
) -> Path:
    """Write ``model`` to ``folder`` in Hub form: ``config.json``, ``model.safetensors``, ``results.json``, ``README.md``.

    - Only these files are written; nothing else in ``folder`` is touched. A folder that already holds a
      zoo model is updated; any other folder holding a file of the same name is refused unless ``overwrite``.
    - All files are staged beside their targets and renamed into place only when every one is written.
    - ``config.json`` records the sha256 of the weights (`from_pretrained` verifies it).
    - Identity: a model whose weights are exactly its registered model's keeps that card and results. Any
      other (e.g. fine-tuned) model gets a new one: ``name`` (default: the folder name), ``base_model`` (default:
      the parent's Hub repo id, when it has one), ``datasets``, and only the ``results`` passed here
      (``{"metrics": [{"name", "value", "dataset", "split", "command", ...}]}``), never the parent's.
    - ``dtype`` (``torch.float16``/``torch.bfloat16``) stores floating tensors in half precision.

    Example:
        >>> save_pretrained(model, "my-informer", name="informer-weather", datasets=["my_weather.csv"],
        ...                 results={"metrics": [{"name": "mse", "value": 0.31, "dataset": "my_weather.csv", "split": "test"}]})
    """
    from safetensors.torch import save

    from zoo.registry import entry_from_facts

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"expected a folder to save the model in, got the existing file {str(folder)!r}")
    config = hub_config(model)
    weights = save(state_dict_for_saving(model, dtype), metadata={"format": "pt"})  # one key: byte-stable
    digest = hashlib.sha256(weights).hexdigest()
    n_params = sum(p.numel() for p in model.parameters())
    parent = entry if entry is not None else _registered(model)
    same = entry is not None or (parent is not None and name in (None, parent.name) and (
        parent.weights is None or parent.weights.sha256 in (None, digest)))
    if not same and parent is not None and parent.weights is not None and name in (None, parent.name):
        same = _same_weights(model, parent)
        if same and dtype is None:  # keep the registered storage precision
            dtype = {"float16": torch.float16, "bfloat16": torch.bfloat16}.get(parent.extra.get("weights_dtype"))
            if dtype is not None:
                weights = save(state_dict_for_saving(model, dtype), metadata={"format": "pt"})
                digest = hashlib.sha256(weights).hexdigest()
    if same and parent is not None:
        name = parent.name
        card = {**_card_from_entry(parent, n_params), **(card or {})}
        if results is None:
            results = _results_from_entry(parent)
        training = training or ({"command": parent.train_command} if parent.train_command else None)
    else:
        name = name or folder.resolve().name
        card = _new_identity(model, name, parent, base_model, datasets, card)
    card.setdefault("parameters", n_params)
    arch = get_architecture(model.config["architecture"])
    config.update({
        "name": name,
        "domain": arch.domain,
        "task": card.pop("task", None) or (parent.task if parent is not None else model.config.get("task", arch.domain)),
        "weights_sha256": digest,
        "weights_dtype": str(dtype or next((v.dtype for v in model.state_dict().values() if v.is_floating_point()),
                                           torch.float32)).replace("torch.", ""),
        "card": card,
        "zoo_version": __version__,
    })
    if training:
        config["training"] = training
    entry_view = entry_from_facts(config, results or {}, folder=folder, name=name)
    payload = {
        WEIGHTS_NAME: weights,
        RESULTS_NAME: (json.dumps(results, indent=2, sort_keys=True) + "\n").encode() if results else None,
        CONFIG_NAME: (json.dumps(config, indent=2, sort_keys=True) + "\n").encode(),
        "README.md": str(render_card(entry_view)).encode(),
    }
    if folder.is_dir() and not overwrite and not _is_model_folder(folder):
        clash = sorted(n for n in payload if (folder / n).exists())
        if clash:
            raise InputError(
                f"{str(folder)!r} is not a model folder but already has {', '.join(clash)}; expected an empty folder, "
                "a new path or an earlier model folder (pass overwrite=True to replace those files; nothing else is touched)"
            )
    folder.mkdir(parents=True, exist_ok=True)
    umask = os.umask(0)
    os.umask(umask)
    staged: list[tuple[Path, Path]] = []
    try:
        for fname, data in payload.items():  # stage everything first: a failure leaves the folder as it was
            if data is None:
                continue
            tmp = folder / f".{fname}.tmp{os.getpid()}"
            with open(tmp, "wb") as f:
                staged.append((tmp, folder / fname))
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o666 & ~umask)
        for tmp, target in staged:  # weights first, config (with their hash) after: a reader never trusts a mix
            os.replace(tmp, target)
        if payload[RESULTS_NAME] is None and (folder / RESULTS_NAME).is_file():
            (folder / RESULTS_NAME).unlink()  # our own stale file: it described other weights
        if same and parent is not None:
            _copy_examples(parent, folder)
    finally:
        for tmp, _ in staged:
            if tmp.exists():
                tmp.unlink()
    return folder


def _local_or_download(folder_or_repo_id: str | os.PathLike, revision: str | None) -> Path:
    path = Path(folder_or_repo_id)
    if path.is_dir():
        return path
    repo_id = str(folder_or_repo_id)
    if repo_id.count("/") != 1 or repo_id.startswith((".", "/")):
        raise WeightsNotFoundError(f"{repo_id!r} is neither an existing folder nor a Hub repo id of the form 'org/name'")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, revision=revision, allow_patterns=list(HUB_FILES + OPTIONAL_FILES)))
    except Exception as exc:  # noqa: BLE001
        raise WeightsNotFoundError(
            f"could not get {repo_id}@{revision or 'main'} from the local Hugging Face cache or the Hub "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}). Offline, the repository "
            "must already be in the cache (HF_HOME / HF_HUB_CACHE)."
        ) from None


def read_hub_config(folder: Path, config: dict | None = None) -> tuple[str, dict, dict, str | None]:
    """(architecture, model_args, preprocessing, name) from a folder's ``config.json``."""
    if config is None:
        config = _read_config(Path(folder))
    cfg_path = Path(folder) / CONFIG_NAME
    arch = get_architecture(config.get("zoo_architecture", config["architecture"]))
    if arch.from_hub_config is not None:  # a family with its own convention (timm's, for Swin) reads it
        model_args, preprocessing = arch.from_hub_config(config)
        return arch.name, model_args, preprocessing, config.get("name")
    if not isinstance(config.get("model_args"), dict):
        raise WeightsIntegrityError(f"{cfg_path}: expected 'model_args' (a JSON object) for {arch.name!r}, got "
                                    f"{type(config.get('model_args')).__name__}")
    return arch.name, config["model_args"], config.get("preprocessing", {}), config.get("name")


def _read_config(folder: Path) -> dict:
    cfg_path = folder / CONFIG_NAME
    if not cfg_path.is_file():
        raise WeightsNotFoundError(f"{folder} has no {CONFIG_NAME}: not a model folder in Hub form")
    try:
        config = json.loads(cfg_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WeightsIntegrityError(f"{cfg_path} is not valid JSON ({exc}); expected a zoo or timm config.json") from None
    if not isinstance(config, dict) or "architecture" not in config:
        raise WeightsIntegrityError(f"{cfg_path}: expected a JSON object naming an 'architecture', got {str(config)[:80]!r}")
    return config


def verify_folder(folder: str | os.PathLike, require_sha256: bool = False) -> dict:
    """Check a model folder before use or upload; returns its config.

    Refused (`WeightsIntegrityError`): unreadable ``config.json``, weights whose sha256 differs from the one
    recorded, unreadable or non-finite weights. A folder without a recorded hash (hand-made) passes with a warning,
    or is refused with ``require_sha256=True`` (for folders the zoo wrote itself, which always record one).
    """
    folder = Path(folder)
    config = _read_config(folder)
    if require_sha256 and not config.get("weights_sha256"):
        raise WeightsIntegrityError(f"{folder / CONFIG_NAME} records no weights_sha256: expected the sha256 of "
                                    f"{WEIGHTS_NAME} that save_pretrained records, so the weights cannot be verified")
    _read_verified_weights(folder, config)
    return config


def _read_verified_weights(folder: Path, config: dict) -> dict:
    weights = folder / WEIGHTS_NAME
    if not weights.is_file():
        raise WeightsNotFoundError(f"{folder} has no {WEIGHTS_NAME}: not a complete model folder")
    recorded = config.get("weights_sha256")
    if not recorded:
        warnings.warn(f"{folder}: config.json records no weights_sha256 (a hand-made folder?); its weights are not verified",
                      stacklevel=3)
    state = read_state_dict(weights, recorded)
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise WeightsIntegrityError(f"{weights} contains NaN or infinite values in {len(bad)} tensors (e.g. {bad[0]}); "
                                    "expected finite weights")
    return state


def from_pretrained(
    folder_or_repo_id: str | os.PathLike, revision: str | None = None, device: str | torch.device | None = None
) -> nn.Module:
    """Load a Hub-form model from a folder, or from a Hub repo id (the local cache serves offline).

    The weights are checked against the sha256 recorded in ``config.json`` (a mismatch is refused).

    Example:
        >>> model = from_pretrained("my-informer")          # or "my-org/informer-etth1-h96"
    """
    folder = _local_or_download(folder_or_repo_id, revision)
    config = _read_config(folder)
    architecture, model_args, preprocessing, name = read_hub_config(folder, config)
    model = build(architecture, model_args, preprocessing, name=name)
    state = _read_verified_weights(folder, config)
    load_state_dict_strict(model, state, source=str(folder / WEIGHTS_NAME))
    model.eval()
    if device is not None:
        model.to(device)
    return model
