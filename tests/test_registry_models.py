"""Every registered entry, parametrized like timm's model tests: folders, cards, hashes, strict loads."""

from __future__ import annotations

import json

import pytest

import zoo
from zoo.hub import render_card
from zoo.registry import get_entry, list_models
from zoo.weights import folder_path, sha256_file

ALL = list_models()
FOLDER = [n for n in ALL if get_entry(n).weights is not None and get_entry(n).weights.folder]


def test_registry_is_not_empty_and_domains_import():
    from zoo.registry import domain_errors

    assert domain_errors() == {}, domain_errors()


@pytest.mark.parametrize("name", ALL)
def test_entry_is_complete(name):
    e = get_entry(name)
    assert e.domain in {"timeseries", "vision", "audio", "medical", "graph"}
    assert e.license and e.task and e.description
    for m in e.metrics:
        assert m.command, f"{name}: metric {m.name} has no command that reproduces it"
    zoo.registry.get_architecture(e.architecture)


@pytest.mark.parametrize("name", FOLDER)
def test_committed_folder_matches_registry(name):
    e = get_entry(name)
    folder = folder_path(e.weights.folder)
    weights = folder / e.weights.filename
    assert weights.is_file(), f"{weights} is missing"
    assert e.weights.sha256, f"{name}: no sha256 pinned in the registry"
    assert sha256_file(weights) == e.weights.sha256
    cfg = json.loads((folder / "config.json").read_text())
    if "model_args" in cfg:
        assert cfg.get("zoo_architecture", cfg["architecture"]) == e.architecture
        want = json.loads(json.dumps(e.model_args))
        if "zoo_architecture" in cfg:  # timm's form keeps num_classes at the top level
            want.pop("num_classes", None)
            assert cfg["num_classes"] == e.model_args["num_classes"]
        assert cfg["model_args"] == want
    card = (folder / "README.md").read_text()
    assert card == str(render_card(e)), f"{folder}/README.md is stale: regenerate it with save_pretrained"


@pytest.mark.parametrize("name", FOLDER)
def test_load_is_strict_and_eval(name):
    model = zoo.load(name)
    assert not model.training and model.config.name == name


def test_docs_model_table_is_current():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "docs" / "make_model_table.py"
    spec = importlib.util.spec_from_file_location("make_model_table", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.OUT.read_text() == mod.render(), "docs/models.md is stale: python docs/make_model_table.py"
