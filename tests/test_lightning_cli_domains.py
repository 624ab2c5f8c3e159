"""``zoo fit --config`` for molecules and 3D segmentation: MoleculeDataModule, SegmentationDataModule, their configs."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from zoo.errors import InputError

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "examples" / "configs"
DATA = Path(os.environ.get("ZOO_DATA_DIR", REPO.parent / "shared" / "data"))
ESOL = DATA / "graph" / "moleculenet" / "delaney-processed.csv"
BRATS = DATA / "medical" / "brats2015-subset"
TARGET = "measured log solubility in mols per litre"
QUIET = ["--trainer.enable_model_summary", "false", "--trainer.enable_progress_bar", "false"]


def _needs(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"needs the shared data {path} (set ZOO_DATA_DIR)")


def _fit(tmp_path, config: str, *extra: str) -> Path:
    from zoo.training.cli import main

    run = tmp_path / "run"
    assert main(["fit", "--config", str(CONFIGS / config), *QUIET, "--trainer.default_root_dir", str(run), *extra]) == 0
    return run


def _metrics(run: Path) -> list[dict]:
    import csv

    with open(run / "lightning_logs" / "version_0" / "metrics.csv") as f:
        return list(csv.DictReader(f))


def _values(rows: list[dict], key: str) -> list[float]:
    return [float(r[key]) for r in rows if r.get(key)]


@pytest.fixture
def esol_subset(tmp_path, monkeypatch):
    """The first 120 ESOL rows as a CSV of one's own (fast to featurise)."""
    import pandas as pd

    _needs(ESOL)
    monkeypatch.setenv("ZOO_DATA_DIR", str(DATA))
    path = tmp_path / "esol120.csv"
    pd.read_csv(ESOL).head(120).to_csv(path, index=False)
    return path


# ------------------------------------------------------------------------------------------------ graph
def test_graph_config_fits_and_refits_normalization(tmp_path, esol_subset):
    import zoo
    from zoo.graph.data import load_csv, split_table

    run = _fit(tmp_path, "graph.yaml", "--data.csv", str(esol_subset), "--trainer.max_epochs", "1",
               "--trainer.limit_train_batches", "2", "--trainer.limit_val_batches", "1", "--trainer.log_every_n_steps", "1")  # fmt: skip
    last = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)
    assert last["global_step"] == 2 and (run / "checkpoints" / "best.ckpt").is_file()
    rows = _metrics(run)
    losses, rmse = _values(rows, "train/loss_step"), _values(rows, "val/rmse")
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
    assert len(rmse) == 1 and 0 < rmse[0] < 5  # log10(mol/L), the pretrained model is already close
    # target normalisation refitted on the training part of this CSV (96 of 120 molecules), not ESOL's
    table = load_csv(esol_subset, "smiles", [TARGET])
    train, val, test = split_table(table, "random", 0)
    assert (len(train), len(val), len(test)) == (96, 12, 12)
    mean, std = table.targets[train].mean(), table.targets[train].std()
    assert last["state_dict"]["model.target_mean"].item() == pytest.approx(mean, abs=1e-5)
    assert last["state_dict"]["model.target_std"].item() == pytest.approx(std, abs=1e-5)
    assert abs(zoo.load("gps-esol").target_mean.item() - mean) > 0.1  # so the check above is not trivially true
    saved = (run / "lightning_logs" / "version_0" / "config.yaml").read_text()
    assert "class_path: zoo.graph.data.MoleculeDataModule" in saved and "name: gps-esol" in saved


def test_molecule_datamodule_attach_stages_batches_and_config(esol_subset):
    import zoo
    from zoo.graph.data import GraphBatch, MoleculeDataModule

    model = zoo.load("gps-esol")
    before = model.target_mean.clone(), model.globals_mean.clone()
    dm = MoleculeDataModule(str(esol_subset), target_columns=[TARGET], split="scaffold", batch_size=8)
    dm.attach(model, "validate")  # validate/test keep the model's normalisation
    assert torch.equal(model.target_mean, before[0]) and torch.equal(model.globals_mean, before[1])
    assert [len(dm.train_set), len(dm.val_set), len(dm.test_set)] == [96, 12, 12]
    batch = next(iter(dm.train_dataloader()))
    assert isinstance(batch, GraphBatch) and batch.num_graphs == 8 and batch.y.shape == (8, 1)
    assert batch.globals.shape == (8, len(model.descriptors)) and batch.rwse.shape[1] == model.rwse_steps
    assert sum(b.num_graphs for b in dm.val_dataloader()) == 12
    dm.attach(model, "fit")
    assert not torch.equal(model.target_mean, before[0]) and not torch.equal(model.globals_mean, before[1])
    prep = model.config["preprocessing"]
    assert prep["split"] == {"method": "scaffold", "seed": 0, "fractions": [0.8, 0.1, 0.1]}
    assert prep["task_names"] == [TARGET] and prep["dataset"] == "esol120"
    assert prep["normalization"]["fitted_on"] == "train part of esol120 (96 molecules)"
    assert prep["normalization"]["target_mean"] == pytest.approx(model.target_mean.tolist())
    assert zoo.load("gps-esol").config["preprocessing"]["dataset"] == "esol"  # the registry's config is untouched


def test_molecule_datamodule_refusals(tmp_path, esol_subset):
    import zoo
    from zoo.graph.data import MoleculeDataModule

    with pytest.raises(InputError, match=r"csv: expected a CSV file of SMILES and targets, got '.*nope.csv' \(not found\)"):
        MoleculeDataModule(str(tmp_path / "nope.csv"))
    with pytest.raises(InputError, match="split must be 'random' or 'scaffold', got 'time'"):
        MoleculeDataModule(str(esol_subset), split="time")
    with pytest.raises(InputError, match="batch_size must be a positive integer, got 0"):
        MoleculeDataModule(str(esol_subset), batch_size=0)
    with pytest.raises(InputError, match=r"fractions must be three non-negative numbers summing to 1, got \[0.5, 0.1, 0.1\]"):
        MoleculeDataModule(str(esol_subset), fractions=(0.5, 0.1, 0.1))
    dm = MoleculeDataModule(str(esol_subset))  # every numeric column: 8 targets for a 1-target model
    with pytest.raises(InputError, match=r"the model predicts 1 target\(s\), got 8 target column\(s\)"):
        dm.attach(zoo.load("gps-esol"))
    with pytest.raises(InputError, match="has no data yet"):
        dm.train_dataloader()
    with pytest.raises(InputError, match="needs the task's model"):
        dm.setup("fit")


# ---------------------------------------------------------------------------------------------- medical
def test_medical_config_fits_one_step(tmp_path, monkeypatch):
    _needs(BRATS)
    monkeypatch.setenv("ZOO_DATA_DIR", str(DATA))
    run = _fit(tmp_path, "medical.yaml", "--trainer.max_steps", "1", "--trainer.limit_train_batches", "1",
               "--trainer.check_val_every_n_epoch", "1", "--trainer.limit_val_batches", "1", "--trainer.log_every_n_steps", "1",
               "--data.num_samples", "1", "--data.cache", "false")  # fmt: skip
    last = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)
    assert last["global_step"] == 1 and (run / "checkpoints" / "best.ckpt").is_file()
    rows = _metrics(run)
    (loss,) = _values(rows, "train/loss_step")
    assert math.isfinite(loss) and loss > 0
    (dice,) = _values(rows, "val/dice")
    assert 0.0 <= dice <= 1.0 and {"val/dice_WT", "val/dice_TC", "val/dice_ET"} <= set(rows[0])
    saved = (run / "lightning_logs" / "version_0" / "config.yaml").read_text()
    assert "class_path: zoo.medical.data.SegmentationDataModule" in saved and "name: swin-unetr-brats-subset" in saved


def test_segmentation_task_and_datamodule_use_the_models_preprocessing(tmp_path):
    import zoo
    from zoo.medical.data import SegmentationDataModule, brats_cases
    from zoo.medical.train import SegmentationTask

    _needs(BRATS)
    model = zoo.load("swin-unetr-brats-subset")
    pre = model.config.to_dict()["preprocessing"]
    task = SegmentationTask(model)
    assert task.pre == pre and task.regions == pre["regions"]
    assert SegmentationTask(model, preprocessing={"roi_size": [32, 32, 32]}).pre == {"roi_size": [32, 32, 32]}

    # a datalist JSON (paths relative to its folder) with a test list
    cases = {s: brats_cases(BRATS, s) for s in ("train", "validation", "test")}
    rel = lambda c: {"image": [os.path.relpath(f, tmp_path) for f in c["image"]], "label": os.path.relpath(c["label"], tmp_path)}  # noqa: E731
    parts = (("training", "train"), ("validation", "validation"), ("test", "test"))
    listing = {key: [rel(c) for c in cases[split]] for key, split in parts}
    datalist = tmp_path / "datalist.json"
    datalist.write_text(json.dumps(listing))
    dm = SegmentationDataModule(str(datalist), num_samples=1, cache=False)
    with pytest.raises(InputError, match="has no data yet"):
        dm.train_dataloader()
    dm.attach(model)
    assert len(dm.train_dataloader().dataset) == 2 and len(dm.val_dataloader().dataset) == 2
    assert [c["label"] for c in dm.test_cases] == [str(tmp_path / listing["test"][i]["label"]) for i in range(2)]
    item = next(iter(dm.test_dataloader()))
    assert item["image"].shape[:2] == (1, 2) and item["label"].shape[:2] == (1, 1)
    assert item["image"].meta["pixdim"][0][1:4].tolist() == pytest.approx(pre["spacing"])  # resampled to 3 mm
    assert set(np.unique(item["label"].numpy()).tolist()) <= {0, 1, 2, 3}  # label_map applied: class indices


def test_segmentation_datamodule_refusals(tmp_path):
    import zoo
    from zoo.medical.data import SegmentationDataModule

    with pytest.raises(InputError, match=r"data: expected a BRATS-layout folder or a datalist JSON, got '.*missing' \(not found\)"):
        SegmentationDataModule(str(tmp_path / "missing"))
    with pytest.raises(InputError, match="num_samples must be a positive integer, got 0"):
        SegmentationDataModule(str(tmp_path), num_samples=0)
    with pytest.raises(InputError, match=r"BRATS split folder not found: expected .*train"):
        SegmentationDataModule(str(tmp_path)).attach(zoo.load("swin-unetr-brats-subset"))
    with pytest.raises(InputError, match="expected a zoo segmentation model with config.preprocessing.roi_size"):
        SegmentationDataModule(str(tmp_path)).attach(torch.nn.Linear(2, 2))
