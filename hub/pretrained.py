"""Hub form: a model folder with ``config.json``, ``model.safetensors`` and a ``README.md`` card.

Example:
    >>> import zoo
    >>> from zoo.hub import save_pretrained, from_pretrained
    >>> model = zoo.load("dlinear-etth1")
    >>> save_pretrained(model, "out/dlinear-etth1")          # folder in Hub form, written atomically
    >>> again = from_pretrained("out/dlinear-etth1")          # or a Hub repo id (cache used offline)
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from torch import nn

from zoo import __version__
from zoo.errors import WeightsIntegrityError, WeightsNotFoundError, ZooError
from zoo.loading import build
from zoo.registry import ModelEntry, get_architecture, get_entry
from zoo.weights import CONFIG_NAME, WEIGHTS_NAME, load_state_dict_strict, read_state_dict

from .card import render_card

HUB_FILES = (CONFIG_NAME, WEIGHTS_NAME, "README.md")


def hub_config(model: nn.Module) -> dict:
    """The ``config.json`` content of ``model`` (the zoo's convention, or its family's own)."""
    cfg = getattr(model, "config", None)
    if cfg is None or "architecture" not in cfg:
        raise ZooError(
            f"{type(model).__name__} has no zoo config; build it with zoo.load / zoo.build "
            "so that model.config names its architecture and arguments"
        )
    arch = get_architecture(cfg["architecture"])
    if arch.to_hub_config is not None:
        return arch.to_hub_config(model)
    return {
        "architecture": cfg["architecture"],
        "model_args": cfg.to_dict()["model_args"],
        "preprocessing": cfg.to_dict().get("preprocessing", {}),
        "name": cfg.get("name"),
        "library_name": "attention-zoo",
        "zoo_version": __version__,
    }


def _entry_for(model: nn.Module, entry: ModelEntry | None) -> ModelEntry:
    if entry is not None:
        return entry
    cfg = model.config
    name = cfg.get("name")
    if name:
        try:
            return get_entry(name)
        except KeyError:
            pass
    arch = get_architecture(cfg["architecture"])
    return ModelEntry(
        name=name or cfg["architecture"],
        architecture=cfg["architecture"],
        domain=arch.domain,
        task=cfg.get("task", arch.domain),
        model_args=cfg.to_dict()["model_args"],
        preprocessing=cfg.to_dict().get("preprocessing", {}),
    )


def state_dict_for_saving(model: nn.Module, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    """Detached, contiguous, unshared copies (safetensors refuses shared storage); floats cast to ``dtype``."""
    out = {}
    for key, value in model.state_dict().items():
        t = value.detach().to("cpu")
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        out[key] = t.contiguous().clone()
    return out


def save_pretrained(
    model: nn.Module,
    folder: str | os.PathLike,
    entry: ModelEntry | None = None,
    dtype: torch.dtype | None = None,
) -> Path:
    """Write ``model`` to ``folder`` in Hub form; every file is written whole or not at all.

    ``dtype`` (``torch.float16``/``torch.bfloat16``) stores floating tensors in half precision;
    they are cast back to the model's dtype on load. ``entry`` supplies the card (default: the
    registry entry named in ``model.config``).
    """
    from safetensors.torch import save

    folder = Path(folder)
    config = hub_config(model)
    card = render_card(_entry_for(model, entry))
    payload = {
        CONFIG_NAME: (json.dumps(config, indent=2, sort_keys=True) + "\n").encode(),
        WEIGHTS_NAME: save(state_dict_for_saving(model, dtype), metadata={"format": "pt"}),  # one key: byte-stable
        "README.md": str(card).encode(),
    }
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.staging-", dir=folder.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes it 0700; the folder gets a normal directory mode
    backup = folder.parent / f".{folder.name}.previous-{os.getpid()}"
    try:
        if folder.is_dir():  # keep files of the folder that are not ours (e.g. extra docs)
            for extra in folder.iterdir():
                if extra.name not in payload and extra.is_file():
                    shutil.copy2(extra, staging / extra.name)
        for name, data in payload.items():
            with open(staging / name, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        if folder.exists():  # swap whole folders: readers see the old or the new one, never a mix
            os.replace(folder, backup)
            try:
                os.replace(staging, folder)
            except BaseException:
                os.replace(backup, folder)
                raise
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
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
        return Path(snapshot_download(repo_id, revision=revision, allow_patterns=list(HUB_FILES)))
    except Exception as exc:  # noqa: BLE001
        raise WeightsNotFoundError(
            f"could not get {repo_id}@{revision or 'main'} from the local Hugging Face cache or the Hub "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}). Offline, the repository "
            "must already be in the cache (HF_HOME / HF_HUB_CACHE)."
        ) from None


def read_hub_config(folder: Path) -> tuple[str, dict, dict, str | None]:
    """(architecture, model_args, preprocessing, name) from a folder's ``config.json``."""
    cfg_path = folder / CONFIG_NAME
    if not cfg_path.is_file():
        raise WeightsNotFoundError(f"{folder} has no {CONFIG_NAME}: not a model folder in Hub form")
    try:
        config = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as exc:
        raise WeightsIntegrityError(f"{cfg_path} is not valid JSON: {exc}") from None
    if "architecture" not in config:
        raise WeightsIntegrityError(f"{cfg_path} names no 'architecture'")
    arch = get_architecture(config["architecture"])
    if arch.from_hub_config is not None:  # a family with its own convention (timm's, for Swin) reads it
        model_args, preprocessing = arch.from_hub_config(config)
        return arch.name, model_args, preprocessing, config.get("name")
    if "model_args" not in config:
        raise WeightsIntegrityError(f"{cfg_path}: no 'model_args' and {arch.name!r} has no foreign config reader")
    return arch.name, config["model_args"], config.get("preprocessing", {}), config.get("name")


def from_pretrained(
    folder_or_repo_id: str | os.PathLike, revision: str | None = None, device: str | torch.device | None = None
) -> nn.Module:
    """Load a Hub-form model from a folder, or from a Hub repo id (the local cache serves offline)."""
    folder = _local_or_download(folder_or_repo_id, revision)
    architecture, model_args, preprocessing, name = read_hub_config(folder)
    model = build(architecture, model_args, preprocessing, name=name)
    state = read_state_dict(folder / WEIGHTS_NAME)
    load_state_dict_strict(model, state, source=str(folder / WEIGHTS_NAME))
    model.eval()
    if device is not None:
        model.to(device)
    return model
