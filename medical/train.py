"""Training, fine-tuning and evaluation of Swin UNETR segmenters through `zoo.training`.

- `SegmentationTask` (a `zoo.training.ZooModule`): MONAI ``DiceCELoss`` on ROI crops, validation by
  ``sliding_window_inference`` over whole volumes with MONAI's ``DiceMetric`` per region
  (``val/dice_WT`` ...; ``val/dice`` is their mean, the monitored value).
- `train_brats`: the BRATS-subset recipe (2 train / 2 validation cases), writing a Hub-form folder.
- `evaluate`: Dice per region on the test cases at the ORIGINAL resolution (``zoo segment``'s output
  against the original label file).

Example:
    >>> from zoo.medical.train import evaluate
    >>> evaluate(zoo.load("swin-unetr-brats-subset"), "/work/shared/data/medical/brats2015-subset")
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from monai.data import CacheDataset, DataLoader, Dataset, list_data_collate
from monai.losses import DiceCELoss
from monai.metrics import DiceMetric
from torch import nn

from zoo.errors import InputError
from zoo.io import atomic_write_bytes
from zoo.medical.data import (
    BRATS_REGIONS,
    brats_cases,
    eval_transforms,
    region_masks,
    train_transforms,
)
from zoo.medical.infer import predict_logits, segment
from zoo.training import ZooModule, fit, make_trainer, seed_everything, train_seconds, train_segments

__all__ = ["SegmentationTask", "make_loaders", "train", "evaluate"]


class SegmentationTask(ZooModule):
    """Volumetric segmentation: softmax classes, DiceCE loss, sliding-window Dice per region.

    ``preprocessing`` (ROI size, sliding-window options, label values, regions) defaults to the
    model's ``config["preprocessing"]``.

    Example:
        >>> task = SegmentationTask(net, optim={"optimizer": "adamw", "lr": 2e-4}, preprocessing=pre)
    """

    def __init__(self, model: nn.Module, optim: Mapping | None = None, preprocessing: Mapping | None = None):
        super().__init__(model, optim)
        self.save_hyperparameters(ignore=["model"])
        if preprocessing is None:  # the model's own (zoo models carry it in config["preprocessing"])
            config = getattr(model, "config", None)
            preprocessing = config.to_dict().get("preprocessing") if hasattr(config, "to_dict") else None
        self.pre = dict(preprocessing or {})
        self.regions = dict(self.pre.get("regions") or BRATS_REGIONS)
        self.loss = DiceCELoss(to_onehot_y=True, softmax=True)
        self.dice = DiceMetric(include_background=True, reduction="mean_batch", ignore_empty=False)

    def _values(self, classes: torch.Tensor) -> torch.Tensor:
        values = self.pre.get("class_values")
        return classes if values is None else torch.as_tensor(values, device=classes.device)[classes.long()]

    def shared_step(self, batch, stage: str) -> torch.Tensor:
        x, y = batch["image"], batch["label"]
        if stage == "train":
            return self.loss(self(x), y)
        logits = predict_logits(self.model, x, self.pre)
        pred = self._values(logits.argmax(1, keepdim=True))
        self.dice(region_masks(pred, self.regions), region_masks(self._values(y), self.regions))
        return self.loss(logits, y)

    def _end(self, stage: str) -> None:
        d = self.dice.aggregate()
        for name, v in zip(self.regions, d):
            self.log(f"{stage}/dice_{name}", float(v))
        self.log(f"{stage}/dice", float(d.mean()), prog_bar=True)
        self.dice.reset()

    def on_validation_epoch_end(self) -> None:
        self._end("val")

    def on_test_epoch_end(self) -> None:
        self._end("test")


def make_loaders(train_cases: Sequence[Mapping], val_cases: Sequence[Mapping], pre: Mapping, num_samples: int = 2,
                 cache: bool = True):  # fmt: skip
    """(train, validation) loaders: ROI crops for training, whole volumes for validation.

    Cases are ``{"image": [file per modality], "label": file}`` (e.g. from `brats_cases` or a datalist JSON).
    """
    roi = list(pre["roi_size"])
    strip = lambda cs: [{"image": list(c["image"]), "label": c["label"]} for c in cs]  # noqa: E731
    ds_cls = CacheDataset if cache else Dataset
    kw = {"cache_rate": 1.0, "num_workers": 0, "progress": False} if cache else {}
    train_ds = ds_cls(strip(train_cases), transform=train_transforms(pre, roi, num_samples), **kw)
    val_ds = ds_cls(strip(val_cases), transform=eval_transforms(pre), **kw)
    train_dl = DataLoader(train_ds, batch_size=1, shuffle=True, num_workers=0, collate_fn=list_data_collate)
    val_dl = DataLoader(val_ds, batch_size=1, num_workers=0)
    return train_dl, val_dl


def load_cases(data: str | os.PathLike, pre: Mapping) -> tuple[list[dict], list[dict]]:
    """(train, validation) cases from a BRATS-layout folder (``train/``, ``validation/``) or a datalist JSON.

    The JSON is MONAI/Decathlon style: ``{"training": [{"image": [...], "label": ...}], "validation": [...]}``;
    relative paths are taken from the JSON's folder.
    """
    path = Path(data)
    if path.is_file():
        spec = json.loads(path.read_text())

        def fix(cases):
            out = []
            for c in cases:
                imgs = c["image"] if isinstance(c["image"], list) else [c["image"]]
                out.append({"image": [str(path.parent / f) for f in imgs], "label": str(path.parent / c["label"])})
            return out

        if not spec.get("training") or not spec.get("validation"):
            raise InputError(f"{path}: a datalist needs non-empty 'training' and 'validation' lists")
        return fix(spec["training"]), fix(spec["validation"])
    mods = pre.get("modalities", ("flair", "t1c"))
    return brats_cases(path, "train", mods), brats_cases(path, "validation", mods)


def train(
    model: nn.Module,
    data: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    max_steps: int = 600,
    val_every: int = 50,
    lr: float = 2e-4,
    weight_decay: float = 1e-5,
    num_samples: int = 2,
    seed: int = 0,
    max_minutes: float | None = None,
    progress: bool = True,
    resume: str | os.PathLike | None = "auto",
) -> tuple[nn.Module, dict]:
    """Train ``model`` (built with its ``config``) on ``data`` (see `load_cases`); returns (best model, summary).

    Checkpoints (``best.ckpt``, ``last.ckpt``), CSV logs (``logs/version_N/metrics.csv``, ``hparams.yaml``)
    and ``summary.json`` go to ``out_dir``. ``resume="auto"`` continues from ``out_dir/last.ckpt`` when it
    exists, None starts afresh. Validation (whole volumes, sliding window) every ``val_every`` steps; the
    best ``val/dice`` weights are restored at the end. The network trains in train mode (dropout, drop path).
    """
    seed_everything(seed)
    pre = dict(model.config.to_dict().get("preprocessing", {}))
    train_dl, val_dl = make_loaders(*load_cases(data, pre), pre, num_samples)
    optim = {"optimizer": "adamw", "lr": lr, "weight_decay": weight_decay, "scheduler": "cosine", "warmup_steps": 20}
    task = SegmentationTask(model, optim=optim, preprocessing=pre)
    out_dir = Path(out_dir)
    extra = {"max_time": {"minutes": max_minutes}} if max_minutes else {}
    trainer = make_trainer(
        max_epochs=-1, max_steps=max_steps,  # max_steps ends the run, also when it resumes in a later epoch
        ckpt_dir=out_dir, monitor="val/dice", mode="max",
        check_val_every_n_epoch=max(1, val_every // len(train_dl)), num_sanity_val_steps=0,
        log_every_n_steps=max(1, len(train_dl)), progress_bar=progress, **extra,
    )  # fmt: skip
    fit(task, train_dataloaders=train_dl, val_dataloaders=val_dl, trainer=trainer, resume=resume)
    best = trainer.checkpoint_callback.best_model_path
    if best and Path(best).is_file():
        state = torch.load(best, map_location="cpu", weights_only=False)["state_dict"]
        model.load_state_dict({k.removeprefix("model."): v for k, v in state.items() if k.startswith("model.")})
    model.eval()
    summary = {
        "steps": int(trainer.global_step),
        "train_seconds": round(train_seconds(trainer), 1),  # across resumes
        "segments": train_segments(trainer),  # each fit's steps, threads, wall and CPU seconds
        "best_val_dice": float(trainer.checkpoint_callback.best_model_score or float("nan")),
        "best_checkpoint": str(best),
    }
    atomic_write_bytes(out_dir / "summary.json", (json.dumps(summary, indent=2) + "\n").encode())
    return model, summary


def dice_np(pred: np.ndarray, true: np.ndarray) -> float:
    """Dice of two binary masks; 1.0 when both are empty."""
    inter, total = float(np.logical_and(pred, true).sum()), float(pred.sum() + true.sum())
    return 1.0 if total == 0 else 2 * inter / total


def evaluate(model: nn.Module, root: str | os.PathLike, split: str = "test", progress: bool = False,
             cases: Sequence[str] | None = None) -> dict:  # fmt: skip
    """Dice per region (WT/TC/ET) of ``model`` on ``split``, at the original 1 mm grid, with MONAI's DiceMetric.

    Each case goes through `segment` (files in, label volume out on the input grid) and is compared
    with the original ``OTMultiClass`` labels; ``cases`` (folder names) restricts the split to those.
    Returns ``{"dice": {region: mean}, "cases": {...}}``.
    """
    import nibabel as nib

    pre = dict(model.config.to_dict().get("preprocessing", {}))
    regions = dict(pre.get("regions") or BRATS_REGIONS)
    metric = DiceMetric(include_background=True, reduction="mean_batch", ignore_empty=False)
    per_case = {}
    chosen = [c for c in brats_cases(root, split, pre.get("modalities", ("flair", "t1c"))) if cases is None or c["name"] in cases]
    if not chosen:
        raise InputError(f"none of the cases {list(cases or [])} is in {Path(root) / split}")
    for case in chosen:
        out = segment(model, case["image"], progress=progress)
        true = np.asanyarray(nib.load(case["label"]).dataobj).astype(np.int64)
        if true.shape != out["array"].shape:
            raise InputError(f"label {case['label']} has shape {true.shape}, the images {out['array'].shape}")
        p = region_masks(torch.from_numpy(out["array"].astype(np.int64))[None, None], regions)
        t = region_masks(torch.from_numpy(true)[None, None], regions)
        d = metric(p, t)[0]
        per_case[case["name"]] = {name: round(float(v), 4) for name, v in zip(regions, d)}
    agg = metric.aggregate()
    return {"dice": {name: round(float(v), 4) for name, v in zip(regions, agg)}, "cases": per_case, "split": split}
