"""NIfTI volumes in, MONAI transforms, BRATS-subset cases, and the checks that turn bad input into clear errors.

A model's ``config.preprocessing`` (its registry entry's ``preprocessing``) drives everything:

``modalities``        input channel names, in order (``["flair", "t1c"]``); one file per modality
``orientation``       axis codes the model works in (``"RAS"``)
``spacing``           voxel size in mm the model works at (``[3.0, 3.0, 3.0]``), or None to keep the file's
``intensity``         ``{"kind": "normalize", "nonzero": true, "channel_wise": true}`` or
                      ``{"kind": "scale_range", "a_min": -175, "a_max": 250, "b_min": 0, "b_max": 1, "clip": true}``
``roi_size``          sliding-window ROI (each size divisible by 32 for patch size 2)
``overlap``, ``sw_batch_size``, ``sw_mode``   sliding-window options
``output``            ``"softmax"`` (argmax of classes) or ``"sigmoid"`` (overlapping channels, threshold 0.5)
``label_map``         training labels -> class index (``{"0": 0, "1": 2, ...}``); None keeps the labels
``class_values``      class index -> label value written to the output (``[0, 2, 1, 4]``); None: the index
``regions``           name -> label values, for Dice (``{"WT": [1, 2, 3, 4], "TC": [1, 3, 4], "ET": [4]}``)
``label_channels``    sigmoid models: channel name -> source labels (``{"TC": [1, 3, 4], ...}``)
``paint``             sigmoid models: ``[[channel, label], ...]`` painted in order into the output label map

Example:
    >>> from zoo.medical.data import brats_cases, inference_transforms
    >>> cases = brats_cases("/work/shared/data/medical/brats2015-subset", "test")
    >>> t = inference_transforms(model.config.preprocessing)
    >>> item = t({"image": cases[0]["image"]})            # MetaTensor [2, X, Y, Z] at the model's spacing
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from monai import transforms as mt

from zoo.errors import InputError

BRATS_FILES = {"flair": "Flair_subtrMeanDivStd.nii.gz", "t1c": "T1c_subtrMeanDivStd.nii.gz"}
BRATS_LABEL = "OTMultiClass.nii.gz"
BRATS_SUBSET = "medical/brats2015-subset"
# BraTS regions from the labels 1 necrosis, 2 edema, 3 non-enhancing, 4 enhancing
BRATS_REGIONS = {"TC": [1, 3, 4], "WT": [1, 2, 3, 4], "ET": [4]}
BRATS_PAINT = [[1, 2], [0, 1], [2, 4]]  # WT -> 2 (edema), TC -> 1 (core), ET -> 4 (enhancing)


def data_root(path: str | os.PathLike | None = None) -> Path:
    """``path`` or ``$ZOO_DATA_DIR`` (default ``../shared/data``) joined with the BRATS subset folder."""
    if path is not None:
        return Path(path)
    base = Path(os.environ.get("ZOO_DATA_DIR", "../shared/data"))
    return base / BRATS_SUBSET


def brats_cases(root: str | os.PathLike, split: str, modalities: Sequence[str] = ("flair", "t1c")) -> list[dict]:
    """``[{"image": [file per modality], "label": file, "name": case}]`` of one split of the BRATS subset."""
    folder = Path(root) / split
    if not folder.is_dir():
        raise InputError(f"BRATS split folder not found: expected {folder} (with case folders inside)")
    cases = []
    for case in sorted(p for p in folder.iterdir() if p.is_dir()):
        files = [case / BRATS_FILES[m] for m in modalities]
        cases.append({"image": [str(f) for f in files], "label": str(case / BRATS_LABEL), "name": case.name})
    if not cases:
        raise InputError(f"no cases in {folder}")
    return cases


# ---------------------------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------------------------


def check_volumes(files: Sequence[str | os.PathLike], modalities: Sequence[str] | None = None, spatial_dims: int = 3):
    """Validate the input files of one case; return ``(affine, shape)`` of the first.

    Errors (`InputError`): wrong number of files, missing/unreadable file, a 2D file for a 3D model,
    an empty (zero-size or all-constant) volume, shapes or affines that differ between modalities.
    """
    import nibabel as nib

    if isinstance(files, (str, os.PathLike)):
        files = [files]
    files = [str(f) for f in files]
    if not files:
        raise InputError(f"expected one NIfTI file per modality ({', '.join(modalities or []) or 'the model input'}), got none")
    if modalities is not None and len(files) != len(modalities):
        raise InputError(
            f"this model takes {len(modalities)} modalities ({', '.join(modalities)}) in that order; got {len(files)} file(s)"
        )
    ref_affine = ref_shape = None
    for i, f in enumerate(files):
        name = modalities[i] if modalities else f"input {i}"
        path = Path(f)
        if path.is_dir():
            raise InputError(f"{name}: expected a NIfTI file (.nii or .nii.gz), got the directory {f}")
        if not path.is_file():
            raise InputError(f"{name}: file not found: {f}")
        if not path.name.lower().endswith((".nii", ".nii.gz")):
            raise InputError(f"{name}: expected a NIfTI file (.nii or .nii.gz), got {f}")
        try:
            img = nib.load(f)
            shape = tuple(int(s) for s in img.shape)
            data = np.asanyarray(img.dataobj)
        except Exception as exc:  # noqa: BLE001 - nibabel raises many types for a bad file
            raise InputError(f"{name}: expected a readable NIfTI file, got {f} ({type(exc).__name__}: {exc})") from None
        while len(shape) > spatial_dims and shape[-1] == 1:
            shape = shape[:-1]
        if len(shape) != spatial_dims:
            raise InputError(f"{name}: expected a {spatial_dims}D volume, got shape {tuple(img.shape)} from {f}")
        if min(shape) == 0:
            raise InputError(f"{name}: expected a non-empty {spatial_dims}D volume, got shape {shape} (no voxels) in {f}")
        if not (np.issubdtype(data.dtype, np.number) or data.dtype == np.bool_) or np.iscomplexobj(data):
            raise InputError(f"{name}: expected real-valued voxels, got dtype {data.dtype} in {f}")
        finite = np.isfinite(data)
        if not finite.all():
            raise InputError(
                f"{name}: expected finite voxel values, got {int(data.size - finite.sum())} NaN/inf voxel(s) of {data.size} in {f}"
            )
        if float(data.max()) == float(data.min()):
            raise InputError(f"{name}: volume {f} is empty: every voxel has the value {float(data.min())} (expected an image)")
        if ref_shape is None:
            ref_affine, ref_shape = img.affine, shape
            continue
        if shape != ref_shape:
            raise InputError(f"{name}: shape {shape} differs from the first modality's {ref_shape}; resample to one grid first")
        if not np.allclose(img.affine, ref_affine, atol=1e-3):
            raise InputError(
                f"{name}: affine differs from the first modality's (voxel-to-world matrices {img.affine.round(3).tolist()} "
                f"vs {np.asarray(ref_affine).round(3).tolist()}); co-register the modalities first"
            )
    return ref_affine, ref_shape


# ---------------------------------------------------------------------------------------------
# transforms
# ---------------------------------------------------------------------------------------------


def _intensity(pre: Mapping, key: str = "image") -> list:
    spec = dict(pre.get("intensity") or {"kind": "none"})
    kind = spec.pop("kind", "none")
    if kind == "normalize":
        return [mt.NormalizeIntensityd(keys=key, nonzero=spec.get("nonzero", True), channel_wise=spec.get("channel_wise", True))]
    if kind == "scale_range":
        return [mt.ScaleIntensityRanged(keys=key, **{k: spec[k] for k in ("a_min", "a_max", "b_min", "b_max", "clip") if k in spec})]
    if kind == "none":
        return []
    raise InputError(f"unknown intensity kind {kind!r}; expected 'normalize', 'scale_range' or 'none'")


def base_transforms(pre: Mapping, label: bool = False) -> list:
    """Load, channel-first, orientation, spacing, intensity (image; label too when ``label``)."""
    keys = ["image", "label"] if label else ["image"]
    ts = [mt.LoadImaged(keys=keys, image_only=False), mt.EnsureChannelFirstd(keys=keys)]
    if pre.get("orientation"):
        ts.append(mt.Orientationd(keys=keys, axcodes=pre["orientation"]))
    if pre.get("spacing"):
        ts.append(mt.Spacingd(keys=keys, pixdim=pre["spacing"], mode=("bilinear", "nearest")[: len(keys)]))
    return ts + _intensity(pre)


def inference_transforms(pre: Mapping) -> mt.Compose:
    """Transforms from files ``{"image": [paths]}`` to the model's input grid (invertible)."""
    return mt.Compose(base_transforms(pre) + [mt.EnsureTyped(keys="image", dtype=torch.float32)])


class LabelsToChannelsd(mt.MapTransform):
    """Label map ``[1, *S]`` -> one binary channel per region (``{"TC": [1, 3, 4], ...}``)."""

    def __init__(self, keys, regions: Mapping[str, Sequence[int]]):
        super().__init__(keys)
        self.regions = [list(v) for v in regions.values()]

    def __call__(self, data):
        from monai.data import MetaTensor

        d = dict(data)
        for k in self.keys:
            lab = d[k]
            arr = lab.as_tensor()[0] if isinstance(lab, MetaTensor) else torch.as_tensor(lab)[0]
            out = torch.stack([torch.isin(arr, torch.tensor(v, device=arr.device)) for v in self.regions]).float()
            d[k] = MetaTensor(out, meta=lab.meta, applied_operations=lab.applied_operations) if isinstance(lab, MetaTensor) else out
        return d


def _label_transforms(pre: Mapping) -> list:
    if pre.get("output") == "sigmoid":
        return [LabelsToChannelsd(keys="label", regions=pre["label_channels"])]
    if pre.get("label_map"):
        src = sorted(int(k) for k in pre["label_map"])
        dst = [int(pre["label_map"][str(k)]) for k in src]
        return [mt.MapLabelValued(keys="label", orig_labels=src, target_labels=dst)]
    return []


def train_transforms(pre: Mapping, roi: Sequence[int], num_samples: int = 2) -> mt.Compose:
    """Training: base transforms + label classes, foreground crop, pos/neg-balanced ROI crops, augmentations."""
    ts = base_transforms(pre, label=True) + _label_transforms(pre)
    ts += [
        mt.CropForegroundd(keys=["image", "label"], source_key="image", allow_smaller=True),
        mt.SpatialPadd(keys=["image", "label"], spatial_size=list(roi)),
        mt.RandCropByPosNegLabeld(keys=["image", "label"], label_key="label", spatial_size=list(roi), pos=1, neg=1,
                                  num_samples=num_samples, image_key="image", image_threshold=0),  # fmt: skip
        mt.RandFlipd(keys=["image", "label"], prob=0.5, spatial_axis=0),
        mt.RandFlipd(keys=["image", "label"], prob=0.5, spatial_axis=1),
        mt.RandFlipd(keys=["image", "label"], prob=0.5, spatial_axis=2),
        mt.RandScaleIntensityd(keys="image", factors=0.1, prob=0.5),
        mt.RandShiftIntensityd(keys="image", offsets=0.1, prob=0.5),
        mt.EnsureTyped(keys=["image", "label"], dtype=torch.float32, track_meta=False),
    ]
    return mt.Compose(ts)


def eval_transforms(pre: Mapping) -> mt.Compose:
    """Validation/test: base transforms + regions (whole volume, no crop)."""
    ts = base_transforms(pre, label=True) + _label_transforms(pre)
    return mt.Compose(ts + [mt.EnsureTyped(keys=["image", "label"], dtype=torch.float32)])


# ---------------------------------------------------------------------------------------------
# outputs
# ---------------------------------------------------------------------------------------------


def logits_to_labels(logits: torch.Tensor, pre: Mapping) -> torch.Tensor:
    """``[K, *S]`` logits of one volume -> ``[1, *S]`` integer label map."""
    if pre.get("output", "softmax") == "sigmoid":
        masks = torch.sigmoid(logits) > 0.5
        out = torch.zeros_like(logits[:1], dtype=torch.int64)
        for ch, value in pre.get("paint", [[i, i + 1] for i in range(logits.shape[0])]):
            out[0][masks[ch]] = int(value)
        return out
    classes = logits.argmax(0, keepdim=True)
    values = pre.get("class_values")
    return classes if values is None else torch.as_tensor(values, device=classes.device)[classes]


def region_masks(labels: torch.Tensor, regions: Mapping[str, Sequence[int]]) -> torch.Tensor:
    """``[B, 1, *S]`` label values -> ``[B, R, *S]`` binary masks, one per region (label values in it)."""
    chans = [torch.isin(labels[:, 0], torch.tensor(list(v), device=labels.device)) for v in regions.values()]
    return torch.stack(chans, 1).to(torch.float32)


# ---------------------------------------------------------------------------------------------
# data module
# ---------------------------------------------------------------------------------------------


def _segmentation_datamodule_class():
    """``SegmentationDataModule``, built on first use so that loading a model never imports Lightning."""
    import lightning as L

    class SegmentationDataModule(L.LightningDataModule):
        """Labelled volumes for LightningCLI (``zoo fit --config``), prepared as the task's model expects.

        Args:
            data: a BRATS-layout folder (``train/``, ``validation/`` and optionally ``test/``, one folder per
                case) or a MONAI/Decathlon datalist JSON (``{"training": [...], "validation": [...],
                "test": [...]}``, each ``{"image": [file per modality], "label": file}``; paths relative to
                the JSON's folder).
            num_samples: ROI crops drawn from each training volume per step (pos/neg balanced).
            cache: keep the prepared volumes in memory (MONAI ``CacheDataset``); False reads them each time.

        Orientation, spacing, intensity normalisation, label mapping and the ROI size all come from the
        model's ``config["preprocessing"]`` (the model of ``trainer.lightning_module``): training gets
        ROI crops with augmentations, validation and test whole volumes. Outside a Trainer, call
        ``attach(model)`` first.

        Example:
            >>> import lightning as L, zoo
            >>> from zoo.medical.data import SegmentationDataModule
            >>> from zoo.medical.train import SegmentationTask
            >>> dm = SegmentationDataModule("my_brats")              # my_brats/train/<case>/..., validation/...
            >>> L.Trainer(max_steps=200).fit(SegmentationTask(zoo.load("swin-unetr-brats-subset")), datamodule=dm)
        """

        def __init__(self, data: str, num_samples: int = 2, cache: bool = True):
            super().__init__()
            if not Path(data).exists():
                raise InputError(f"data: expected a BRATS-layout folder or a datalist JSON, got {str(data)!r} (not found)")
            if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
                raise InputError(f"num_samples must be a positive integer, got {num_samples!r}")
            self.data, self.num_samples, self.cache = str(data), num_samples, bool(cache)
            self.loaders: tuple | None = None
            self.test_cases: list[dict] = []
            self.pre: dict = {}

        def setup(self, stage: str | None = None) -> None:
            trainer = getattr(self, "trainer", None)
            model = getattr(getattr(trainer, "lightning_module", None), "model", None)
            if model is None:
                raise InputError("SegmentationDataModule needs the task's model: use it with a Trainer or call attach(model)")
            self.attach(model)

        def attach(self, model) -> None:
            """Read the cases and build the loaders with ``model``'s preprocessing."""
            from zoo.medical.train import load_cases, make_loaders

            config = getattr(model, "config", None)
            pre = dict(config.to_dict().get("preprocessing") or {}) if config is not None else {}
            if not pre.get("roi_size"):
                raise InputError(f"SegmentationDataModule expected a zoo segmentation model with config.preprocessing.roi_size, "
                                 f"got {type(model).__name__} with preprocessing keys {sorted(pre)}")  # fmt: skip
            self.pre = pre
            self.loaders = make_loaders(*load_cases(self.data, pre), pre, self.num_samples, cache=self.cache)
            self.test_cases = _test_cases(Path(self.data), pre)

        def _get(self, i: int):
            if self.loaders is None:
                raise InputError("SegmentationDataModule has no data yet: it is set up by the Trainer (or attach(model))")
            return self.loaders[i]

        def train_dataloader(self):
            return self._get(0)

        def val_dataloader(self):
            return self._get(1)

        def test_dataloader(self):
            from monai.data import DataLoader, Dataset

            self._get(0)
            if not self.test_cases:
                raise InputError(f"{self.data} has no test cases (a test/ folder, or a 'test' list in the datalist)")
            cases = [{"image": list(c["image"]), "label": c["label"]} for c in self.test_cases]
            return DataLoader(Dataset(cases, transform=eval_transforms(self.pre)), batch_size=1, num_workers=0)

    SegmentationDataModule.__module__, SegmentationDataModule.__qualname__ = __name__, "SegmentationDataModule"
    return SegmentationDataModule


def _test_cases(path: Path, pre: Mapping) -> list[dict]:
    """Test cases of a BRATS-layout folder (``test/``) or of a datalist's ``test`` list; none if absent."""
    import json

    if path.is_file():
        cases = json.loads(path.read_text()).get("test") or []
        return [{"image": [str(path.parent / f) for f in (c["image"] if isinstance(c["image"], list) else [c["image"]])],
                 "label": str(path.parent / c["label"])} for c in cases]  # fmt: skip
    if not (path / "test").is_dir():
        return []
    return brats_cases(path, "test", pre.get("modalities", ("flair", "t1c")))


def __getattr__(name: str):
    if name == "SegmentationDataModule":
        cls = globals()[name] = _segmentation_datamodule_class()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
