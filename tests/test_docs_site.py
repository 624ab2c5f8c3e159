"""The documentation site builds with `mkdocs build --strict` (no broken link, no unresolved API object).

Skipped with the reason when MkDocs, Material or mkdocstrings is not installed
(`pip install mkdocs mkdocs-material 'mkdocstrings[python]'`).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NEEDED = {"mkdocs": "mkdocs", "material": "mkdocs-material", "mkdocstrings_handlers.python": "mkdocstrings[python]"}


def _missing() -> list[str]:
    out = []
    for module, package in NEEDED.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            out.append(package)
    return out


def test_mkdocs_build_strict(tmp_path):
    missing = _missing()
    if missing:
        pytest.skip(f"the docs site needs {', '.join(missing)} (pip install mkdocs mkdocs-material 'mkdocstrings[python]')")
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)], cwd=REPO,
                          capture_output=True, text=True, timeout=300, env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    # the generated model table, the guide, and API pages rendered from the docstrings
    assert "informer-etth1-h96" in (site / "models" / "index.html").read_text()
    assert "LightningCLI" in (site / "finetuning" / "index.html").read_text()
    api = {page: (site / "api" / page / "index.html").read_text() for page in
           ("zoo", "attention", "training", "hub", "timeseries", "vision", "audio", "medical", "graph")}  # fmt: skip
    for page, symbol in [("zoo", "zoo.loading.load"), ("attention", "zoo.attention.dense.attend"),
                         ("training", "zoo.training.cli.ZooModel"), ("hub", "zoo.hub.pretrained.save_pretrained"),
                         ("timeseries", "zoo.timeseries.task.ForecastTask"), ("vision", "zoo.vision.swin"),
                         ("audio", "zoo.audio.task.SeparationTask"), ("medical", "zoo.medical.infer.segment"),
                         ("graph", "zoo.graph.task.GraphTask")]:  # fmt: skip
        assert f'id="{symbol}"' in api[page], (page, symbol)
    assert not list(site.rglob("*.py")), "source files leaked into the site"


def test_doctest_examples_become_code_blocks():
    sys.path.insert(0, str(REPO / "docs" / "api"))
    try:
        from griffe_doctest_fences import fence_doctests
    finally:
        sys.path.pop(0)
    text = 'Cards.\n\nExample:\n    >>> d = card()["model-index"][0]\n    >>> d["name"]\n    \'x\'\n\nMore text [a][b].'
    assert fence_doctests(text) == (
        'Cards.\n\nExample:\n    ```pycon\n    >>> d = card()["model-index"][0]\n    >>> d["name"]\n    \'x\'\n    ```\n\n'
        "More text [a][b]."
    )
    fenced = "```python\n>>> x[0]\n```"
    assert fence_doctests(fenced) == fenced
