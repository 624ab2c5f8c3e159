"""Hub form: save/load round trips, the model card, offline loading from a cache, publishing."""

from __future__ import annotations

import json
import os

import pytest
import torch
from huggingface_hub import ModelCard

import zoo
from zoo.hub import from_pretrained, publish, render_card, save_pretrained
from zoo.registry import Metric, ModelEntry, WeightsSource, register_model


def _entry(name="toy-hub", **kw):
    base = dict(
        architecture="toy-mlp", domain="core", task="forecasting", model_args={"hidden": 8},
        preprocessing={"mean": [0.5, 1.5]}, license="cc-by-nd-4.0", datasets=("ETTh1",),
        description="A toy model.", train_command="zoo train toy-hub --seed 1",
        metrics=[Metric("MSE", 0.4321, "ETTh1", command="zoo eval toy-hub --data ETTh1", published=0.865,
                        published_source="Informer, FEDformer table")],
        extra={"params": 66},
    )
    base.update(kw)
    return register_model(ModelEntry(name=name, **base))


def test_save_load_round_trip_identical_outputs(registry_sandbox, tmp_path):
    entry = _entry()
    torch.manual_seed(0)
    model = zoo.load(entry.name, pretrained=False)
    folder = save_pretrained(model, tmp_path / "m")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors", "results.json"]
    cfg = json.loads((folder / "config.json").read_text())
    import hashlib

    assert cfg["weights_sha256"] == hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    assert cfg["architecture"] == "toy-mlp" and cfg["model_args"] == {"hidden": 8}
    assert cfg["preprocessing"] == {"mean": [0.5, 1.5]}
    again = from_pretrained(folder)
    x = torch.randn(5, 4)
    assert torch.equal(model(x), again(x))
    assert again.config.mean == [0.5, 1.5] and not again.training
    umask = os.umask(0)
    os.umask(umask)
    assert folder.stat().st_mode & 0o777 == 0o777 & ~umask  # a normal folder, not mkdtemp's 0700


def test_half_precision_storage_loads_back_as_float32(registry_sandbox, tmp_path):
    _entry()
    model = zoo.load("toy-hub", pretrained=False)
    folder = save_pretrained(model, tmp_path / "h", dtype=torch.float16)
    from safetensors.torch import load_file

    assert load_file(str(folder / "model.safetensors"))["fc1.weight"].dtype == torch.float16
    again = from_pretrained(folder)
    assert again.fc1.weight.dtype == torch.float32
    assert torch.equal(again.fc1.weight, model.fc1.weight.half().float())


def test_card_parses_back_with_model_index(registry_sandbox, tmp_path):
    entry = _entry()
    folder = save_pretrained(zoo.load(entry.name, pretrained=False), tmp_path / "c")
    card = ModelCard.load(folder / "README.md")
    data = card.data.to_dict()
    assert data["library_name"] == "attention-zoo"
    assert data["pipeline_tag"] == "time-series-forecasting"
    assert data["license"] == "cc-by-nd-4.0" and "datasets" not in data  # not a Hub dataset id: named in prose
    assert "- data: ETTh1" in card.text
    result = data["model-index"][0]["results"][0]
    assert result["metrics"][0]["type"] == "mse" and result["metrics"][0]["value"] == 0.4321
    assert result["dataset"]["name"] == "ETTh1" and result["dataset"]["split"] == "test"
    assert "| MSE | ETTh1 | test | 0.4321 | 0.865 (Informer, FEDformer table) | `zoo eval toy-hub --data ETTh1` |" in card.text
    assert "zoo train toy-hub --seed 1" in card.text and "parameters: 66" in card.text
    assert str(card) == str(render_card(entry))


def test_failed_save_leaves_previous_folder_intact(registry_sandbox, tmp_path, monkeypatch):
    _entry()
    model = zoo.load("toy-hub", pretrained=False)
    folder = save_pretrained(model, tmp_path / "a")
    (folder / "NOTES.md").write_text("kept")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    import os

    real_fsync, calls = os.fsync, []

    def failing_fsync(fd):  # the second file fails half-way through the write
        calls.append(fd)
        if len(calls) == 2:
            raise OSError("disk full")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with torch.no_grad():
        model.fc1.weight.add_(1.0)
    with pytest.raises(OSError, match="disk full"):
        save_pretrained(model, folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]  # no staging folder left behind
    monkeypatch.setattr(os, "fsync", real_fsync)
    save_pretrained(model, folder)  # a successful save replaces the files and keeps the extra one
    assert (folder / "NOTES.md").read_text() == "kept"
    assert torch.equal(from_pretrained(folder).fc1.weight, model.fc1.weight)


def test_from_pretrained_repo_id_offline_from_cache(registry_sandbox, tmp_path, hf_cache):
    _entry()
    model = zoo.load("toy-hub", pretrained=False)
    folder = save_pretrained(model, tmp_path / "src")
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    hf_cache("my-org/toy-hub", files, commit="d" * 40)
    again = from_pretrained("my-org/toy-hub")
    x = torch.randn(2, 4)
    assert torch.equal(again(x), model(x))
    pinned = from_pretrained("my-org/toy-hub", revision="d" * 40)
    assert torch.equal(pinned(x), model(x))
    with pytest.raises(zoo.WeightsNotFoundError, match="local Hugging Face cache"):
        from_pretrained("my-org/absent")
    with pytest.raises(zoo.WeightsNotFoundError, match="neither an existing folder"):
        from_pretrained(tmp_path / "no" / "such" / "dir")


def test_publish_dry_run_and_upload(registry_sandbox, tmp_path, monkeypatch):
    _entry()
    folder = save_pretrained(zoo.load("toy-hub", pretrained=False), tmp_path / "p")
    register_model(ModelEntry(name="toy-pub", architecture="toy-mlp", domain="core", task="regression",
                              weights=WeightsSource(folder=str(folder))))
    files = publish("toy-pub", "org/toy-pub", dry_run=True)
    assert [f.path for f in files] == ["README.md", "config.json", "handler.py", "model.safetensors", "results.json"]
    assert files[3].size == (folder / "model.safetensors").stat().st_size

    calls = []

    class FakeApi:
        def __init__(self, token=None):
            pass

        def create_repo(self, repo_id, **kw):
            calls.append(("create_repo", repo_id, kw["exist_ok"]))

        def create_branch(self, repo_id, branch, exist_ok):
            calls.append(("create_branch", repo_id, branch))

        def create_commit(self, **kw):
            calls.append(("create_commit", kw["repo_id"], kw["revision"], sorted(op.path_in_repo for op in kw["operations"])))

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    publish("toy-pub", "org/toy-pub", revision="v1")
    assert calls == [
        ("create_repo", "org/toy-pub", True),
        ("create_branch", "org/toy-pub", "v1"),
        ("create_commit", "org/toy-pub", "v1", ["README.md", "config.json", "handler.py", "model.safetensors", "results.json"]),
    ]
    with pytest.raises(zoo.ZooError, match="org/name"):
        publish("toy-pub", "not-a-repo-id", dry_run=True)


def test_saving_is_byte_reproducible(registry_sandbox, tmp_path):
    _entry()
    model = zoo.load("toy-hub", pretrained=False)
    digests = set()
    for i in range(4):  # safetensors writes metadata from a hash map: more than one key would shuffle
        folder = save_pretrained(model, tmp_path / f"r{i}", dtype=torch.float16)
        digests.add(tuple((folder / f).read_bytes() for f in ("config.json", "model.safetensors", "README.md", "results.json")))
    assert len(digests) == 1


def test_publish_space_dry_run_lists_a_gradio_space(registry_sandbox, tmp_path, capsys):
    from zoo.cli import main
    from zoo.hub import publish_space

    files = publish_space("informer-etth1", "org/informer-demo", model_repo_id="org/informer-etth1-h96", dry_run=True)
    assert [f.path for f in files] == ["README.md", "app.py", "requirements.txt"]
    assert main(["publish", "informer-etth1", "--repo-id", "org/informer-demo", "--space", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("would upload to https://huggingface.co/spaces/org/informer-demo:") and "app.py" in out
