"""Shared fixtures: a toy architecture, a registry sandbox, a Hugging Face cache built on disk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from torch import nn

import zoo.registry as registry
from zoo.registry import register_architecture

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path | None:
    """``ZOO_DATA_DIR`` (CI sets ``../shared/data``), resolved from the repository root."""
    value = os.environ.get("ZOO_DATA_DIR")
    if not value:
        candidate = REPO_ROOT.parent / "shared" / "data"
        return candidate if candidate.is_dir() else None
    p = Path(value)
    return p if p.is_absolute() else (REPO_ROOT / p).resolve() if (REPO_ROOT / p).exists() else p.resolve()


@register_architecture("toy-mlp", domain="core")
class ToyMLP(nn.Module):
    """A two-layer MLP used by the core tests."""

    def __init__(self, in_features: int = 4, hidden: int = 8, out_features: int = 2):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.fc2 = nn.Linear(hidden, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.norm(self.fc1(x))))


@pytest.fixture
def registry_sandbox():
    """Register entries freely inside a test; the registry is restored afterwards."""
    registry._ensure_loaded()
    saved = (dict(registry._ENTRIES), dict(registry._ALIASES), dict(registry._ARCHITECTURES))
    yield registry
    registry._ENTRIES.clear()
    registry._ENTRIES.update(saved[0])
    registry._ALIASES.clear()
    registry._ALIASES.update(saved[1])
    registry._ARCHITECTURES.clear()
    registry._ARCHITECTURES.update(saved[2])


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    """A Hugging Face hub cache in ``tmp_path`` with offline mode on; returns ``add(repo_id, files, commit)``.

    ``files`` maps file names to bytes. The layout is the one huggingface_hub itself writes:
    ``models--org--name/{blobs,snapshots/<commit>,refs/main}``.
    """
    import huggingface_hub.constants as constants

    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def add(repo_id: str, files: dict[str, bytes], commit: str = "0123456789abcdef0123456789abcdef01234567", branch: str = "main") -> Path:
        import hashlib

        repo = cache / ("models--" + repo_id.replace("/", "--"))
        snap = repo / "snapshots" / commit
        (repo / "blobs").mkdir(parents=True, exist_ok=True)
        snap.mkdir(parents=True, exist_ok=True)
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / branch).write_text(commit)
        for name, data in files.items():
            blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
            blob.write_bytes(data)
            target = snap / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(os.path.relpath(blob, target.parent))
        return snap

    return add
