"""Repository hygiene: ruff clean, CI runs the README's commands, the package layout maps as documented."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed (pip install -e '.[dev]')")
    proc = subprocess.run([ruff, "check", "--quiet", str(ROOT)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ci_reads_the_readme_commands():
    proc = subprocess.run(
        ["bash", "-c", "source <(sed -n '/^extract()/,/^}/p' .ci/run); extract ci:install; extract ci:test"],
        capture_output=True, text=True, cwd=ROOT,
    )
    install, test = proc.stdout.strip().splitlines()
    assert "pip install -e '.[dev]'" in install and install.startswith("python3 -m venv .venv")
    assert "pytest" in test and "HF_HUB_OFFLINE=1" in test and "ZOO_DATA_DIR=../shared/data" in test


@pytest.mark.parametrize("domain", ["vision", "audio", "timeseries", "medical", "graph", "hub"])
def test_domain_folders_import_under_zoo(domain):
    import importlib

    module = importlib.import_module(f"zoo.{domain}")
    assert Path(module.__file__).resolve().parent == ROOT / domain


def test_no_domain_imports_another():
    import re

    domains = ["vision", "audio", "timeseries", "medical", "graph"]
    for d in domains:
        for path in (ROOT / d).rglob("*.py"):
            text = path.read_text()
            for other in domains:
                if other != d:
                    assert not re.search(rf"^\s*(from|import)\s+zoo\.{other}\b", text, re.M), f"{path} imports zoo.{other}"
