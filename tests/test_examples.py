"""examples/: every fine-tuning script runs end to end on a tiny budget (a few steps, one thread).

Each run loads a zoo model, fits it with a plain lightning.Trainer on a small slice of the shared data
(synthetic volumes for medical), saves it with save_pretrained, reloads it and predicts.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from zoo.errors import InputError

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ZOO_DATA_DIR", REPO.parent / "shared" / "data")).resolve()

CASES = {
    # script: (extra args, shared data it needs, a line it prints, metric name in results.json)
    "timeseries": (["--rows", "1200"], "timeseries/ETTh2.csv", r"test MSE \(standardised\) before [\d.]+, after [\d.]+",
                   "mse"),
    "vision": (["--limit", "16", "--batch-size", "8"], "vision/cifar10", r"predicted \w+ \([\d.]+\), labelled \w+", "top1"),
    "audio": (["--val-size", "2", "--batch-size", "2"], "audio/fsdd", r"into 2 sources \(1, 2, \d+\)", "si_snri"),
    "graph": (["--rows", "60"], "graph/micro_zinc/micro_ZINC.csv", r"\{'CCO': [-\d.]+, 'c1ccccc1': [-\d.]+\}", "rmse"),
    "medical": ([], None, r"segmented case0 \(64, 48, 40\): voxels per label \{", "dice"),
}  # fmt: skip


@pytest.mark.parametrize("domain", list(CASES))
def test_example_runs(domain, tmp_path):
    extra, needs, printed, metric = CASES[domain]
    if needs and not (DATA / needs).exists():
        pytest.skip(f"needs the shared data {DATA / needs} (set ZOO_DATA_DIR)")
    out = tmp_path / "out"
    env = {**os.environ, "ZOO_DATA_DIR": str(DATA), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "CI": "1"}  # fmt: skip
    cmd = [sys.executable, str(REPO / "examples" / f"{domain}_finetune.py"), "--out", str(out), "--max-steps", "2", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(printed, proc.stdout), proc.stdout

    # the run folder, and a Hub-form model folder with a new identity and the metric measured here
    assert list((out / "run").rglob("*.ckpt")), "Lightning wrote no checkpoint"
    config = json.loads((out / "model" / "config.json").read_text())
    results = json.loads((out / "model" / "results.json").read_text())
    assert config.get("weights_sha256") and config.get("name")
    (m,) = [m for m in results["metrics"] if m["name"] == metric]
    assert isinstance(m["value"], float) and f"examples/{domain}_finetune.py" in m["command"]

    # a second run into the same folder is refused before any work (nothing is overwritten)
    before = (out / "model" / "model.safetensors").read_bytes()
    spec = importlib.util.spec_from_file_location(f"example_{domain}", cmd[1])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(InputError, match="expected a new or empty folder for --out"):
        module.main(cmd[2:])
    assert (out / "model" / "model.safetensors").read_bytes() == before
