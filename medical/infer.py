"""Sliding-window segmentation of NIfTI volumes: files in, a label volume on the input's grid out.

Example:
    >>> import zoo
    >>> from zoo.medical.infer import segment
    >>> model = zoo.load("swin-unetr-brats-subset")
    >>> info = segment(model, ["flair.nii.gz", "t1c.nii.gz"], "seg.nii.gz", plot="overlay.png")
    >>> info["labels"]                      # voxel count per label value
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from monai import transforms as mt
from monai.data import MetaTensor
from monai.inferers import sliding_window_inference
from torch import nn

from zoo.errors import InputError
from zoo.io import atomic_write, check_output
from zoo.medical.data import check_volumes, inference_transforms, logits_to_labels

__all__ = ["predict_logits", "segment", "save_label_volume", "plot_overlay"]


def predict_logits(model: nn.Module, image: torch.Tensor, pre: Mapping, progress: bool = False) -> torch.Tensor:
    """``[B, C, *S]`` (any size) -> ``[B, K, *S]`` logits by sliding-window inference over ``pre["roi_size"]``."""
    roi = list(pre.get("roi_size") or [96, 96, 96])
    return sliding_window_inference(
        image, roi, int(pre.get("sw_batch_size", 1)), model, overlap=float(pre.get("overlap", 0.25)),
        mode=pre.get("sw_mode", "gaussian"), progress=progress,
    )  # fmt: skip


NIFTI_SUFFIXES = (".nii.gz", ".nii")


def check_outputs(files: Sequence[str | os.PathLike], out=None, plot=None) -> tuple[Path | None, Path | None]:
    """Refuse, before any work, an ``out`` that is not ``.nii``/``.nii.gz`` or is one of the inputs, and a bad ``plot``."""
    inputs = [str(f) for f in files]
    if out is not None:
        out = check_output(out, inputs=inputs, suffixes=NIFTI_SUFFIXES, what="output label volume")
    if plot is not None:
        plot = check_output(plot, inputs=inputs + ([str(out)] if out is not None else []), suffixes=(".png",), what="plot")
    return out, plot


def save_label_volume(labels: np.ndarray, affine: np.ndarray, reference: str, out: str | os.PathLike) -> Path:
    """Write ``labels`` (uint8) as NIfTI with ``affine`` and the reference file's header, atomically."""
    import nibabel as nib

    out = check_output(out, inputs=[reference], suffixes=NIFTI_SUFFIXES, what="output label volume")
    ref = nib.load(str(reference))
    header = ref.header.copy()
    header.set_data_dtype(np.uint8)
    img = nib.Nifti1Image(labels.astype(np.uint8), affine, header)
    img.set_qform(ref.get_qform(), int(ref.header["qform_code"]))
    img.set_sform(ref.get_sform(), int(ref.header["sform_code"]))
    with atomic_write(out) as tmp:  # the temporary name keeps .nii.gz, so nibabel compresses it
        nib.save(img, str(tmp))
    return out


@torch.no_grad()
def segment(
    model: nn.Module,
    files: Sequence[str | os.PathLike],
    out: str | os.PathLike | None = None,
    plot: str | os.PathLike | None = None,
    progress: bool = False,
    preprocessing: Mapping | None = None,
) -> dict:
    """Segment one case (one NIfTI file per modality, in ``preprocessing["modalities"]`` order).

    The volume is brought to the model's orientation/spacing/intensity, segmented with
    `sliding_window_inference`, and the label map is mapped back (nearest) to the input's voxel
    grid, so the output has the input's shape, affine and orientation. Returns ``{"labels":
    {value: voxels}, "out": path, "shape": ..., "array": np.ndarray}``.

    Checked before any work (`InputError`, naming what was expected and what came): ``out`` must end in
    ``.nii``/``.nii.gz`` and differ from every input (``plot``: ``.png``), the files must be one readable,
    finite, non-constant 3D NIfTI volume per modality on one grid. ``out`` is written atomically.
    """
    if not isinstance(model, nn.Module) or not hasattr(model, "swinViT") or not hasattr(model, "out"):
        raise InputError(f"segment expected a Swin UNETR segmentation model (zoo.load of a segmentation entry), got {type(model).__name__}")
    if preprocessing is None:
        config = getattr(model, "config", None)
        preprocessing = config.get("preprocessing", {}) if config is not None else {}
    pre = dict(preprocessing or {})
    if isinstance(files, (str, os.PathLike)):
        raise InputError(f"segment expected a list of NIfTI files (one per modality), got the single path {str(files)!r}; "
                         f"pass [{str(files)!r}]")  # fmt: skip
    files = [str(f) for f in files]
    out, plot = check_outputs(files, out, plot)
    spatial_dims = int(getattr(model, "spatial_dims", 3))
    in_channels = int(getattr(model, "in_channels", len(files)))
    mods = pre.get("modalities") or [f"channel {i}" for i in range(in_channels)]
    affine, shape = check_volumes(files, mods, spatial_dims)
    if len(files) != in_channels:
        raise InputError(f"the model takes {in_channels} input channels ({', '.join(mods)}), got {len(files)} file(s)")
    transform = inference_transforms(pre)
    data = transform({"image": files})
    image = data["image"]
    model.eval()
    param = next(model.parameters())
    logits = predict_logits(model, image.as_tensor()[None].to(param.device, param.dtype), pre, progress)[0].cpu()
    labels = logits_to_labels(logits, pre).to(torch.float32)
    data["pred"] = MetaTensor(labels, meta=image.meta, applied_operations=image.applied_operations)
    data = mt.Invertd(keys="pred", transform=transform, orig_keys="image", nearest_interp=True)(data)
    arr = np.asarray(data["pred"][0].detach().cpu().numpy()).round().astype(np.uint8)
    if arr.shape != tuple(shape):
        raise RuntimeError(f"inverted prediction has shape {arr.shape}, expected the input's {tuple(shape)}")
    result = {"shape": tuple(shape), "array": arr}
    values, counts = np.unique(arr, return_counts=True)
    result["labels"] = {int(v): int(c) for v, c in zip(values, counts)}
    if out is not None:
        result["out"] = str(save_label_volume(arr, affine, files[0], out))
    if plot is not None:
        result["plot"] = str(plot_overlay(files[0], arr, plot))
    return result


def plot_overlay(
    image_file: str, labels: np.ndarray, out: str | os.PathLike, title: str | None = None, reference: np.ndarray | None = None
) -> Path:
    """PNG with three orthogonal slices through the label centroid, labels overlaid in colour.

    With ``reference`` (e.g. the ground truth) a second row shows it on the same slices.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import nibabel as nib

    img = np.asanyarray(nib.load(image_file).dataobj).astype(np.float32).reshape(labels.shape)
    rows = [("prediction", labels)] + ([("reference", reference)] if reference is not None else [])
    fg = np.argwhere((reference if reference is not None else labels) > 0)
    center = fg.mean(0).round().astype(int) if len(fg) else np.array(labels.shape) // 2
    fig, axes = plt.subplots(len(rows), 3, figsize=(12, 4.2 * len(rows)), squeeze=False)
    cmap = matplotlib.colors.ListedColormap(["none", "tab:red", "tab:green", "tab:purple", "gold"])
    for r, (name, lab_vol) in enumerate(rows):
        for axis in range(3):
            ax = axes[r, axis]
            sl = [slice(None)] * 3
            sl[axis] = int(center[axis])
            ax.imshow(np.rot90(img[tuple(sl)]), cmap="gray")
            lab = np.ma.masked_equal(np.rot90(lab_vol[tuple(sl)]).astype(int), 0)
            ax.imshow(lab, cmap=cmap, vmin=0, vmax=4, alpha=0.55, interpolation="nearest")
            ax.set_title(f"{name}: axis {axis}, slice {center[axis]}" if len(rows) > 1 else f"axis {axis}, slice {center[axis]}")
            ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out = check_output(out, inputs=[image_file], suffixes=(".png",), what="plot")
    try:
        with atomic_write(out) as tmp:
            fig.savefig(tmp, dpi=80)
    finally:
        plt.close(fig)
    return out
