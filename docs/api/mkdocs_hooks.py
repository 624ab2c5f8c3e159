"""MkDocs hook: let mkdocstrings read ``zoo.<domain>`` packages, which live in top-level folders.

pyproject.toml maps ``zoo.audio`` to ``audio/`` and so on (``[tool.setuptools] package-dir``). For the
API pages this hook builds, in a temporary folder, a ``zoo`` package of symbolic links with the same
layout as the installed one and points mkdocstrings' Python handler at it (static analysis: nothing is
imported).
"""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
from pathlib import Path

from mkdocs.plugins import event_priority

ROOT = Path(__file__).resolve().parents[2]


def package_dirs() -> dict[str, str]:
    """``[tool.setuptools] package-dir`` of pyproject.toml (one inline table; read without a TOML parser)."""
    line = next(ln for ln in (ROOT / "pyproject.toml").read_text().splitlines() if ln.startswith("package-dir"))
    return dict(re.findall(r'"([\w.]+)"\s*=\s*"([^"]+)"', line))


def source_tree() -> Path:
    """A temporary folder holding ``zoo/`` as installed: the core files plus a link per mapped sub-package."""
    mapping = package_dirs()
    tmp = Path(tempfile.mkdtemp(prefix="zoo-api-src-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    pkg = tmp / "zoo"
    pkg.mkdir()
    for child in (ROOT / mapping["zoo"]).iterdir():
        if child.name != "__pycache__":
            (pkg / child.name).symlink_to(child)
    for name, folder in mapping.items():
        if name.startswith("zoo.") and name.count(".") == 1:
            (pkg / name.split(".", 1)[1]).symlink_to(ROOT / folder)
    return tmp


@event_priority(100)  # before mkdocstrings reads its handler options
def on_config(config):
    handlers = config.plugins["mkdocstrings"].config["handlers"]
    handlers.setdefault("python", {})["paths"] = [str(source_tree())]
    return config
