"""Registry and `zoo.load`: names, aliases, filters, errors that name close matches."""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo.errors import InputError, UnknownModelError
from zoo.registry import Metric, ModelEntry, WeightsSource, register_architecture, register_model


def _entry(name, **kw):
    base = dict(architecture="toy-mlp", domain="core", task="regression", model_args={"hidden": 8})
    base.update(kw)
    return ModelEntry(name=name, **base)


def test_unknown_name_lists_close_matches(registry_sandbox):
    register_model(_entry("toy-alpha-h96", aliases=("toy-alpha",)))
    register_model(_entry("toy-alpha-h192"))
    with pytest.raises(UnknownModelError) as err:
        zoo.load("toy-alpa-h96")
    msg = str(err.value)
    assert "unknown model 'toy-alpa-h96'" in msg
    assert "toy-alpha-h96" in msg and "Did you mean" in msg


def test_no_such_model_message_is_actionable():
    with pytest.raises(UnknownModelError, match=r"unknown model 'no-such-model'.*zoo list"):
        zoo.load("no-such-model")


def test_alias_and_filters(registry_sandbox):
    register_model(_entry("toy-beta-h96", aliases=("toy-beta",), task="regression"))
    register_model(_entry("toy-beta-h192", task="other", weights=WeightsSource(folder="nowhere")))
    assert zoo.info("toy-beta")["name"] == "toy-beta-h96"
    assert zoo.list_models("toy-beta-*") == ["toy-beta-h192", "toy-beta-h96"]
    assert zoo.list_models("toy-beta-*", task="other") == ["toy-beta-h192"]
    assert zoo.list_models("toy-beta-*", pretrained=True) == ["toy-beta-h192"]
    assert zoo.list_models("toy-beta-*", pretrained=False) == ["toy-beta-h96"]
    assert zoo.list_models("toy-beta-*", domain="vision") == []


def test_duplicate_names_are_refused(registry_sandbox):
    register_model(_entry("toy-gamma", aliases=("toy-g",)))
    with pytest.raises(ValueError, match="already registered"):
        register_model(_entry("toy-g"))
    with pytest.raises(ValueError, match="already registered"):
        register_architecture("toy-mlp", domain="core")(lambda: None)


def test_load_without_weights_builds_config_and_eval_mode(registry_sandbox):
    register_model(_entry("toy-delta", preprocessing={"freq": "h"}))
    model = zoo.load("toy-delta", pretrained=False, out_features=3)
    assert not model.training
    assert model.config.architecture == "toy-mlp"
    assert model.config.hidden == 8 and model.config.out_features == 3  # model_args + override
    assert model.config.freq == "h"  # falls back to preprocessing
    assert model.fc2.out_features == 3
    with pytest.raises(AttributeError, match="no field 'nope'"):
        _ = model.config.nope
    with pytest.raises(InputError, match="architecture 'toy-mlp' has no argument 'hiden'"):
        zoo.load("toy-delta", pretrained=False, hiden=4)  # a misspelt argument is named, not a bare TypeError


def test_info_reports_metrics_and_source(registry_sandbox):
    register_model(_entry(
        "toy-eps",
        weights=WeightsSource(folder="toy-eps", sha256="ab" * 32),
        metrics=[Metric("mse", 0.5, "Toy", command="zoo eval toy-eps", published=0.6, published_source="paper")],
    ))
    data = zoo.info("toy-eps")
    assert data["weights"]["folder"] == "toy-eps" and data["weights"]["sha256"] == "ab" * 32
    assert data["metrics"][0]["value"] == 0.5 and data["metrics"][0]["published"] == 0.6


def test_load_moves_to_device(registry_sandbox):
    register_model(_entry("toy-zeta"))
    model = zoo.load("toy-zeta", pretrained=False, device="cpu")
    assert next(model.parameters()).device == torch.device("cpu")
