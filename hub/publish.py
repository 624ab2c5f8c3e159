"""`zoo publish`: upload a model folder in Hub form with ``HfApi.upload_folder``.

Example:
    >>> from zoo.hub import publish
    >>> publish("informer-etth1-h96", repo_id="my-org/informer-etth1-h96", dry_run=True)
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from zoo.errors import ZooError
from zoo.registry import get_entry
from zoo.weights import folder_path, sha256_file

from .pretrained import HUB_FILES, save_pretrained, verify_folder


@dataclass(frozen=True)
class UploadFile:
    path: str
    size: int
    sha256: str


def model_folder(name_or_folder: str | os.PathLike, workdir: str | os.PathLike | None = None) -> Path:
    """The Hub-form folder of a registered name (exported on the fly for upstream weights) or a path."""
    path = Path(name_or_folder)
    if path.is_dir():
        return path
    entry = get_entry(str(name_or_folder))
    if entry.weights is not None and entry.weights.folder:
        folder = folder_path(entry.weights.folder)
        if all((folder / f).is_file() for f in HUB_FILES):
            return folder
    import zoo

    model = zoo.load(entry.name)
    target = Path(workdir or tempfile.mkdtemp(prefix="zoo-publish-")) / entry.name
    return save_pretrained(model, target, entry=entry, overwrite=True)


HANDLER = Path(__file__).resolve().with_name("handler.py")  # the Inference Endpoints handler every model repo carries


def _sources(folder: Path) -> dict[str, Path]:
    """Repository path -> local file: the folder's files (hidden ones left out) plus ``handler.py``."""
    files = {str(p.relative_to(folder)): p for p in sorted(folder.rglob("*"))
             if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)}
    files.setdefault("handler.py", HANDLER)
    return dict(sorted(files.items()))


def planned_files(folder: Path) -> list[UploadFile]:
    return [UploadFile(path, p.stat().st_size, sha256_file(p)) for path, p in _sources(folder).items()]


def publish(
    name_or_folder: str | os.PathLike,
    repo_id: str,
    revision: str | None = None,
    dry_run: bool = False,
    private: bool = False,
    commit_message: str | None = None,
    token: str | None = None,
) -> list[UploadFile]:
    """Upload the folder of ``name_or_folder`` to ``repo_id`` (branch ``revision``); returns the files.

    With ``dry_run`` nothing is sent: the returned list is exactly what would be uploaded.
    """
    if repo_id.count("/") != 1:
        raise ZooError(f"--repo-id must look like 'org/name', got {repo_id!r}")
    folder = model_folder(name_or_folder)
    missing = [f for f in HUB_FILES if not (folder / f).is_file()]
    if missing:
        raise ZooError(f"{folder} is not a complete Hub-form folder: missing {', '.join(missing)}")
    verify_folder(folder)  # a corrupted or truncated folder is refused, dry run included
    files = planned_files(folder)
    if dry_run:
        return files
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
    if revision:
        api.create_branch(repo_id, branch=revision, exist_ok=True)
    from huggingface_hub import CommitOperationAdd

    api.create_commit(
        repo_id=repo_id,
        repo_type="model",
        revision=revision,
        operations=[CommitOperationAdd(path_in_repo=path, path_or_fileobj=str(local)) for path, local in _sources(folder).items()],
        commit_message=commit_message or f"Upload {Path(folder).name} with attention-zoo",
    )
    return files


def publish_space(
    name: str,
    repo_id: str,
    dry_run: bool = False,
    private: bool = False,
    model_repo_id: str | None = None,
    token: str | None = None,
) -> list[UploadFile]:
    """Upload a Gradio Space (``sdk: gradio``) whose ``app.py`` runs ``zoo demo``'s code for model ``name``.

    ``model_repo_id`` is the model repository the Space pulls (default: the entry's Hub repo, else ``name``).
    With ``dry_run`` nothing is written or sent: the returned list is the Space's files.

    Example:
        >>> publish_space("informer-etth1", "my-org/informer-demo", model_repo_id="my-org/informer-etth1-h96", dry_run=True)
    """
    import hashlib

    from .space import space_files

    if repo_id.count("/") != 1:
        raise ZooError(f"--repo-id must look like 'org/name', got {repo_id!r}")
    texts = space_files(name, model_repo_id)
    files = [UploadFile(path, len(text.encode()), hashlib.sha256(text.encode()).hexdigest()) for path, text in sorted(texts.items())]
    if dry_run:
        return files
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
    api.create_commit(repo_id=repo_id, repo_type="space", commit_message=f"Space for {name} (attention-zoo)",
                      operations=[CommitOperationAdd(path_in_repo=p, path_or_fileobj=t.encode()) for p, t in texts.items()])
    return files
