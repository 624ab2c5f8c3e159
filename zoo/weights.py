"""Finding, verifying and strictly loading weights.

Resolution order for an entry: its Hub-form folder inside the repository → the local Hugging Face
cache / the Hub through ``hf_hub_download`` at the pinned revision → an upstream release URL (cached
under ``$ZOO_CACHE``) → a `WeightsNotFoundError` naming every place tried and how to get the file.
Zoo weights are safetensors only; upstream ``.pth``/``.pt`` files are read with
``torch.load(weights_only=True)``. Every file with a pinned sha256 is verified before it is read.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
from torch import nn

from zoo.errors import WeightsIntegrityError, WeightsNotFoundError
from zoo.registry import (
    ModelEntry,
    WeightsSource,
    models_dir,  # noqa: E402
)

MODELS_DIR = models_dir()  # hub/models of the installed package (importlib spec: wheel, sdist or editable)
WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"


def cache_dir() -> Path:
    """``$ZOO_CACHE`` or ``~/.cache/attention-zoo``."""
    return Path(os.environ.get("ZOO_CACHE", Path.home() / ".cache" / "attention-zoo"))


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def verify_sha256(path: str | os.PathLike, expected: str | None) -> None:
    """Raise `WeightsIntegrityError` when ``path`` does not hash to ``expected`` (if given)."""
    if not expected:
        return
    got = sha256_file(path)
    if got != expected.lower():
        raise WeightsIntegrityError(
            f"sha256 mismatch for {path}: expected {expected}, got {got}. The file is corrupted, "
            "truncated or not the pinned version; delete it and download it again."
        )


def folder_path(folder: str | os.PathLike) -> Path:
    """A registry folder name resolves inside ``hub/models``; absolute paths stay as they are."""
    p = Path(folder)
    return p if p.is_absolute() else MODELS_DIR / p


def resolve_weights(entry: ModelEntry) -> Path:
    """Local path of ``entry``'s weights file, trying each source in order."""
    src = entry.weights
    if src is None:
        raise WeightsNotFoundError(f"model {entry.name!r} has no pretrained weights; use pretrained=False")
    tried: list[str] = []
    if src.folder:
        path = folder_path(src.folder) / src.filename
        if path.is_file():
            return path
        tried.append(f"repository folder {path} (missing)")
    if src.repo_id:
        path_or_err = _from_hub(src)
        if isinstance(path_or_err, Path):
            return path_or_err
        tried.append(f"Hugging Face Hub {src.repo_id}@{src.revision or 'main'}/{src.filename} ({path_or_err})")
    if src.url:
        path_or_err = _from_url(src)
        if isinstance(path_or_err, Path):
            return path_or_err
        tried.append(f"{src.url} ({path_or_err})")
    how = []
    if src.repo_id:
        how.append(
            f"go online once (unset HF_HUB_OFFLINE) to fill the Hugging Face cache, or run "
            f"`huggingface-cli download {src.repo_id} {src.filename} --revision {src.revision or 'main'}` "
            "on a machine with internet and copy the cache (HF_HOME) here"
        )
    if src.url:
        how.append(f"download {src.url} into {cache_dir() / 'downloads'}")
    advice = ("To get them: " + "; or ".join(how) + ".") if how else ""
    raise WeightsNotFoundError(f"weights of {entry.name!r} not found. Tried: " + "; ".join(tried) + ". " + advice)


def _from_hub(src: WeightsSource) -> Path | str:
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(src.repo_id, src.filename, revision=src.revision))
    except Exception as exc:  # noqa: BLE001 - offline, missing repo, missing file: all reported
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def _from_url(src: WeightsSource) -> Path | str:
    # an explicit filename names the cache file (release URLs such as ".../root/content" share basenames)
    name = src.filename if src.filename != WEIGHTS_NAME else src.url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    target = cache_dir() / "downloads" / name
    if target.is_file():
        return target
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("ZOO_OFFLINE") == "1":
        return "offline, not in cache"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".part")
        torch.hub.download_url_to_file(src.url, str(tmp), progress=True)
        verify_sha256(tmp, src.sha256)
        os.replace(tmp, target)
        return target
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"


def read_state_dict(path: str | os.PathLike, sha256: str | None = None) -> dict[str, torch.Tensor]:
    """Read a weights file (safetensors, or an upstream torch pickle with ``weights_only=True``)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsNotFoundError(f"weights file {path} does not exist")
    verify_sha256(path, sha256)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as exc:  # noqa: BLE001
            raise WeightsIntegrityError(
                f"{path} is not a readable safetensors file ({type(exc).__name__}: {exc}); "
                "it is corrupted or truncated: delete it and fetch it again"
            ) from None
    if path.suffix in {".pth", ".pt", ".bin", ".ckpt"}:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001
            raise WeightsIntegrityError(f"{path} could not be read as a torch checkpoint: {type(exc).__name__}: {exc}") from None
        return obj
    raise WeightsIntegrityError(f"{path}: expected a .safetensors file (or an upstream .pth/.pt/.bin), got {path.suffix!r}")


def load_state_dict_strict(model: nn.Module, state_dict: dict[str, torch.Tensor], source: str = "") -> None:
    """``load_state_dict(strict=True)`` with a readable report of missing/unexpected/mis-shaped keys."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    shapes = [
        f"{k}: model {tuple(own[k].shape)} vs file {tuple(state_dict[k].shape)}"
        for k in own
        if k in state_dict and tuple(own[k].shape) != tuple(state_dict[k].shape)
    ]
    bad = [k for k, v in state_dict.items() if torch.is_tensor(v) and v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise WeightsIntegrityError(
            f"weights {source or ''} contain NaN or infinite values in {len(bad)} tensors (e.g. {', '.join(bad[:3])}); "
            "expected finite weights: the file is corrupted or came from a diverged run"
        )
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {', '.join(missing[:5])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {', '.join(unexpected[:5])})")
        if shapes:
            parts.append(f"{len(shapes)} shape mismatches (e.g. {'; '.join(shapes[:3])})")
        raise WeightsIntegrityError(
            f"weights {source or ''} do not match {type(model).__name__}: " + ", ".join(parts)
        )
    with torch.no_grad():
        cast = {k: v.to(own[k].dtype) if v.is_floating_point() and own[k].is_floating_point() else v for k, v in state_dict.items()}
    model.load_state_dict(cast, strict=True)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace`` (never half-written)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
