"""The `zoo` command: list, info, publish, errors, and dispatch of task commands to a domain."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

from zoo.cli import main
from zoo.registry import Metric, ModelEntry, WeightsSource, register_model


def _register(name="toy-cli", **kw):
    base = dict(architecture="toy-mlp", domain="core", task="regression",
                metrics=[Metric("rmse", 0.5, "Toy", command=f"zoo eval {name}", published=0.6, published_source="paper")])
    base.update(kw)
    return register_model(ModelEntry(name=name, **base))


def test_list_and_info(registry_sandbox, capsys):
    _register(aliases=("toy-c",), weights=WeightsSource(folder="toy-cli", sha256="ef" * 32))
    assert main(["list", "toy-cli*"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["name", "domain", "task", "weights", "metric", "aliases"]
    assert out[1].split() == ["toy-cli", "core", "regression", "yes", "Toy", "rmse", "0.5", "toy-c"]
    assert main(["info", "toy-c"]) == 0
    out = capsys.readouterr().out
    assert "toy-cli  (core, regression, architecture toy-mlp)" in out
    assert "weights: its folder" in out and "folder: " in out and "toy-cli" in out and "sha256 " + "ef" * 32 in out
    assert "source: " in out and out.count("tests/conftest.py") == 1  # the toy architecture's source file
    assert "Toy test rmse: 0.5 (published 0.6, paper)  ← zoo eval toy-cli" in out


def test_unknown_model_exit_code_and_message(registry_sandbox, capsys):
    _register("toy-cli-h96")
    assert main(["info", "toy-cli-h69"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error: unknown model 'toy-cli-h69'") and "toy-cli-h96" in err
    assert main(["eval", "toy-cli-h69"]) == 2


def test_task_command_dispatches_to_domain(registry_sandbox, monkeypatch, capsys, tmp_path):
    _register("toy-cli-d")
    seen = {}

    def add(parser):
        parser.add_argument("--data", required=True)

    def run(args):
        seen.update(vars(args))
        return 0

    fake = types.ModuleType("zoo.core.cli")
    fake.COMMANDS = {"eval": (add, run)}
    monkeypatch.setitem(sys.modules, "zoo.core", types.ModuleType("zoo.core"))
    monkeypatch.setitem(sys.modules, "zoo.core.cli", fake)
    assert main(["eval", "toy-cli-d", "--data", "ETTh1"]) == 0
    # the core adds the shared options; the domain narrowed --data to required
    assert seen == {"name": "toy-cli-d", "data": "ETTh1", "weights": None, "threads": None, "out": None, "json": False,
                    "overrides": {}}
    folder = tmp_path / "finetuned"  # a Hub-form folder is dispatched by its config's architecture
    folder.mkdir()
    (folder / "config.json").write_text('{"architecture": "toy-mlp", "model_args": {}}')
    assert main(["eval", str(folder), "--data", "x"]) == 0 and seen["name"] == str(folder)
    assert main(["forecast", "toy-cli-d"]) == 2
    assert "`zoo forecast` is not available for core models" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["eval", "toy-cli-d"])  # --data is required by the domain's parser


def test_publish_dry_run_prints_files(registry_sandbox, tmp_path, capsys):
    import zoo
    from zoo.hub import save_pretrained

    _register("toy-cli-p")
    folder = save_pretrained(zoo.load("toy-cli-p", pretrained=False), tmp_path / "toy-cli-p")
    assert main(["publish", str(folder), "--repo-id", "org/toy-cli-p", "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "would upload to https://huggingface.co/org/toy-cli-p:"
    assert [line.split()[0] for line in out[1:]] == ["README.md", "config.json", "handler.py", "model.safetensors", "results.json"]


def test_console_script_runs():
    proc = subprocess.run([sys.executable, "-m", "zoo.cli", "list", "--json"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith("[")
