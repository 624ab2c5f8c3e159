"""The model folder is the one home of a trained model's facts; saving never loses user files;
weights are verified wherever they come from; a look-up imports only the domain it needs."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import zoo
from zoo.errors import InputError, WeightsIntegrityError
from zoo.hub import from_pretrained, publish, save_pretrained, verify_folder
from zoo.registry import ModelEntry, build_index, get_entry, index, list_models, models_dir, register_model

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = sorted(p.name for p in models_dir().iterdir() if (p / "config.json").is_file())


def test_index_is_current():
    assert build_index() == index(), "zoo/model_index.json is stale: python -m zoo.registry"


@pytest.mark.parametrize("name", FOLDERS)
def test_load_and_from_pretrained_agree(name):
    a, b = zoo.load(name), from_pretrained(models_dir() / name)
    assert a.config == b.config
    assert get_entry(name).weights.sha256 == json.loads((models_dir() / name / "config.json").read_text())["weights_sha256"]


def test_no_trained_facts_in_python_files():
    py = "\n".join(p.read_text() for d in ("zoo", "timeseries", "vision", "audio", "medical", "graph", "hub")
                   for p in (ROOT / d).rglob("*.py"))
    for name in FOLDERS:
        config = json.loads((models_dir() / name / "config.json").read_text())
        assert config["weights_sha256"] not in py, f"{name}: its weights' sha256 is typed in Python"
        results = json.loads((models_dir() / name / "results.json").read_text())
        for m in results["metrics"]:
            if isinstance(m["value"], float) and len(repr(m["value"])) > 5:
                assert repr(m["value"]) not in py, f"{name}: metric {m['name']} = {m['value']} is typed in Python"
    assert not list(ROOT.glob("*/trained.py")), "measured tables belong in the model folders"


def test_lookup_imports_only_its_domain():
    code = ("import sys, zoo; zoo.load('dlinear-etth1'); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'monai', 'rdkit', 'torch_geometric', 'timm'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_list_models_needs_no_domain_import():
    domains = ("zoo.vision", "zoo.audio", "zoo.medical", "zoo.graph", "zoo.timeseries")
    code = f"import sys, zoo; n = zoo.list_models(); print(len(n), sorted(m for m in {domains!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split()[0] == str(len(list_models())) and out.stdout.strip().endswith("[]"), out.stdout + out.stderr


def _toy(registry_sandbox, name="toy-folder"):
    register_model(ModelEntry(name=name, architecture="toy-mlp", domain="core", task="regression",
                              description="A toy.", model_args={"hidden": 8}))
    torch.manual_seed(0)
    return zoo.load(name, pretrained=False)


def _tree(path: Path) -> dict:
    return {str(p.relative_to(path)): (p.read_bytes() if p.is_file() else None) for p in sorted(path.rglob("*"))}


def test_save_into_a_non_model_folder_never_touches_other_files(registry_sandbox, tmp_path):
    model = _toy(registry_sandbox)
    folder = tmp_path / "project"
    (folder / "sub" / ".git").mkdir(parents=True)
    (folder / "sub" / "data.csv").write_text("a,b\n1,2\n")
    (folder / "notes.txt").write_text("mine")
    before = _tree(folder)
    save_pretrained(model, folder)  # no name clash: the model's files are added beside the user's
    after = _tree(folder)
    assert {k: v for k, v in after.items() if k in before} == before
    assert set(after) - set(before) == {"config.json", "model.safetensors", "README.md"}


def test_save_refuses_to_overwrite_a_users_file(registry_sandbox, tmp_path):
    model = _toy(registry_sandbox)
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "README.md").write_text("# my project\n")
    with pytest.raises(InputError, match=r"not a model folder but already has README\.md; expected an empty folder"):
        save_pretrained(model, folder)
    assert (folder / "README.md").read_text() == "# my project\n" and sorted(p.name for p in folder.iterdir()) == ["README.md"]
    target = tmp_path / "file.bin"
    target.write_bytes(b"keep")
    with pytest.raises(InputError, match="expected a folder to save the model in, got the existing file"):
        save_pretrained(model, target)
    assert target.read_bytes() == b"keep" and sorted(p.name for p in tmp_path.iterdir()) == ["file.bin", "repo"]


def test_weights_hash_is_recorded_and_verified(registry_sandbox, tmp_path):
    model = _toy(registry_sandbox)
    folder = save_pretrained(model, tmp_path / "m")
    weights = folder / "model.safetensors"
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0x01  # one bit of tensor data
    weights.write_bytes(bytes(data))
    with pytest.raises(WeightsIntegrityError, match="sha256 mismatch"):
        from_pretrained(folder)
    with pytest.raises(WeightsIntegrityError, match="sha256 mismatch"):
        publish(str(folder), "org/x", dry_run=True)
    weights.write_bytes(bytes(data[: len(data) // 2]))  # truncated
    with pytest.raises(WeightsIntegrityError):
        verify_folder(folder)


def test_hand_made_folder_loads_with_a_warning_and_nan_weights_are_refused(registry_sandbox, tmp_path):
    from safetensors.torch import save_file

    model = _toy(registry_sandbox)
    folder = tmp_path / "hand"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"architecture": "toy-mlp", "model_args": {"hidden": 8}}))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "model.safetensors"))
    with pytest.warns(UserWarning, match="records no weights_sha256"):
        again = from_pretrained(folder)
    assert torch.equal(again.fc1.weight, model.fc1.weight)
    with pytest.raises(WeightsIntegrityError) as e:  # where the zoo wrote the folder itself, a hash is required
        verify_folder(folder, require_sha256=True)
    assert str(e.value) == (f"{folder / 'config.json'} records no weights_sha256: expected the sha256 of "
                            "model.safetensors that save_pretrained records, so the weights cannot be verified")
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["fc1.weight"][0, 0] = float("nan")
    save_file(state, str(folder / "model.safetensors"))
    with pytest.warns(UserWarning), pytest.raises(WeightsIntegrityError, match="NaN or infinite"):
        from_pretrained(folder)


def test_a_changed_registered_model_gets_a_new_identity(tmp_path):
    model = zoo.load("dlinear-etth1-h96")
    parent = get_entry("dlinear-etth1-h96")
    same = save_pretrained(model, tmp_path / "same")  # unchanged weights: the registered model, card included
    assert (same / "README.md").read_text() == (models_dir() / "dlinear-etth1-h96" / "README.md").read_text()
    with torch.no_grad():
        next(model.parameters()).add_(0.01)
    model.config["preprocessing"] = {**model.config.to_dict()["preprocessing"], "scaler_mean": [0.0] * 7}
    folder = save_pretrained(model, tmp_path / "mine", name="dlinear-weather", datasets=["my_weather.csv"],
                             results={"metrics": [{"name": "mse", "value": 0.123, "dataset": "my_weather.csv",
                                                   "split": "test", "command": "my script"}]})
    cfg = json.loads((folder / "config.json").read_text())
    card = (folder / "README.md").read_text()
    assert cfg["name"] == "dlinear-weather" and cfg["preprocessing"]["scaler_mean"] == [0.0] * 7
    assert "# dlinear-weather" in card and "Fine-tuned from `dlinear-etth1-h96`" in card and "my_weather.csv" in card
    parent_mse = parent.metrics[0].value
    assert str(round(parent_mse, 4)) not in card and "0.123" in card
    assert "base_model" not in card.split("---")[1]  # the parent has no Hub repo id: named in prose only
    assert "datasets:" not in card.split("---")[1] or "my_weather.csv" not in card.split("---")[1]
    assert from_pretrained(folder).config.name == "dlinear-weather"


def test_promote_copies_a_run_folder_with_its_facts(registry_sandbox, tmp_path):
    from zoo.promote import promote

    model = _toy(registry_sandbox, "toy-run")
    run = save_pretrained(model, tmp_path / "run" / "model", name="toy-run", card={"description": "A run."},
                          results={"metrics": [{"name": "mse", "value": 0.5, "dataset": "toy", "split": "test",
                                                "command": "zoo eval toy-promoted"}]}, training={"command": "zoo train toy-run"})
    folder = promote(tmp_path / "run", "toy-promoted", root=tmp_path / "models")
    assert (folder / "model.safetensors").read_bytes() == (run / "model.safetensors").read_bytes()
    from zoo.registry import entry_from_folder

    e = entry_from_folder(folder)
    assert e.name == "toy-promoted" and e.metrics[0].value == 0.5 and e.train_command == "zoo train toy-run"
    assert "| mse | toy | test | 0.5 |" in (folder / "README.md").read_text()
    with pytest.raises(InputError, match="expected a model name of lower-case letters"):
        promote(tmp_path / "run", "Bad Name", root=tmp_path / "models")


@pytest.mark.parametrize("name", FOLDERS)
def test_card_parses_with_widgets_and_hub_metadata(name):
    from huggingface_hub import ModelCard

    folder = models_dir() / name
    card = ModelCard.load(folder / "README.md")
    data = card.data.to_dict()
    assert data["widget"], f"{name}: the card has no widget examples"
    for example in data["widget"]:
        refs = [example.get("src")] + [o.get("url") for o in example.get("output", []) if isinstance(o, dict)]
        refs += [t.strip() for t in str(example.get("text", "")).split(",") if t.strip().startswith("examples/")]
        for ref in filter(None, refs):
            assert (folder / ref).is_file(), f"{name}: widget file {ref} is not in the folder"
    assert card.data.eval_results, f"{name}: no eval results"
    assert set(data["metrics"]) <= {"mse", "mae", "rmse", "roc_auc", "accuracy", "dice", "si-snri", "si-snr"}
    for ds in data.get("datasets") or []:
        assert "/" in ds, f"{name}: {ds!r} is not a Hub dataset id"
    # timm's form where timm can build the model (a Swin of timm's parts); the zoo's otherwise
    assert data["library_name"] == json.loads((folder / "config.json").read_text()).get("library_name", "attention-zoo")
