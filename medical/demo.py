"""The 3D segmentation demo page: the model's NIfTI volumes in, the labels overlaid on a slice viewer out.

Example:
    >>> from zoo.medical.demo import build, segment_files, render_slice
    >>> model = zoo.load("swin-unetr-brats-subset")
    >>> state, path, note = segment_files(model, ["flair.nii.gz", "t1c.nii.gz"])
    >>> rgb = render_slice(state, 10)                   # uint8 [H, W, 3]: image + labels in colour
    >>> build(model).launch()
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from zoo.demo import describe, output_dir, user_errors
from zoo.errors import InputError

if TYPE_CHECKING:
    import gradio

EXAMPLES = {"flair": "brats-flair.nii.gz", "t1c": "brats-t1c.nii.gz"}  # built by example_case (never shipped)
COLOURS = {1: (220, 40, 40), 2: (40, 200, 60), 3: (150, 60, 200), 4: (250, 210, 0)}  # as in zoo.medical.infer.plot_overlay
NAMES = {1: "necrosis", 2: "edema", 3: "non-enhancing tumour", 4: "enhancing tumour"}
MIN_PIXELS = 320  # slices are enlarged (nearest) to at least this many pixels on their short side


def modalities(model) -> list[str]:
    pre = dict(model.config.get("preprocessing", {}) or {})
    return list(pre.get("modalities") or [f"channel {i}" for i in range(int(getattr(model, "in_channels", 1)))])


def example_case(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """FLAIR and T1c of BRATS 2013 patient 1 (a test case), cropped around the tumour and averaged to 3 mm.

    Built once from the data set under ``$ZOO_DATA_DIR/medical/brats2015-subset`` (CC BY-NC-SA 3.0, so it is
    never shipped with the package) into the zoo cache; ``[]`` when the data set is not there.
    """
    import nibabel as nib

    from zoo.io import atomic_write
    from zoo.weights import cache_dir

    root = Path(data_dir or os.environ.get("ZOO_DATA_DIR", "")) / "medical/brats2015-subset/test/brats_2013_pat0001_1"
    out_dir = cache_dir() / "demo-examples"
    outs = [out_dir / EXAMPLES[m] for m in ("flair", "t1c")]
    if all(p.is_file() for p in outs):
        return outs
    if not root.is_dir():
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    box = (slice(36, 132), slice(60, 189), slice(18, 114))  # 96 x 129 x 96 mm around the labelled tumour
    for out, fname in zip(outs, ("Flair_subtrMeanDivStd.nii.gz", "T1c_subtrMeanDivStd.nii.gz")):
        img = nib.load(root / fname)
        vol = np.asarray(img.dataobj, dtype=np.float32)[box]
        x, y, z = (n // 3 for n in vol.shape)
        vol = vol[: 3 * x, : 3 * y, : 3 * z].reshape(x, 3, y, 3, z, 3).mean((1, 3, 5))
        affine = img.affine.copy()
        start = np.array([b.start for b in box] + [1.0])
        affine[:3, 3] = (img.affine @ start)[:3] + img.affine[:3, :3] @ np.ones(3)  # centre of the first 3x3x3 block
        affine[:3, :3] = img.affine[:3, :3] * 3
        vol_img = nib.Nifti1Image(vol.astype(np.float32), affine)
        vol_img.set_qform(affine, 1)
        vol_img.set_sform(affine, 1)
        with atomic_write(out) as tmp:
            nib.save(vol_img, tmp)
    return outs


def example_inputs(model=None) -> list[str]:
    """The example case (one file per modality, in the model's order), or [] if the model takes others or the
    data set is not under ``$ZOO_DATA_DIR``."""
    mods = modalities(model) if model is not None else list(EXAMPLES)
    if any(m not in EXAMPLES for m in mods):
        return []
    files = dict(zip(("flair", "t1c"), example_case()))
    return [str(files[m]) for m in mods] if files else []


def _window(vol: np.ndarray) -> np.ndarray:
    """Image intensities to uint8 with a 1st-99th percentile window over the non-zero voxels."""
    nz = vol[vol != 0]
    lo, hi = np.percentile(nz if nz.size else vol, [1, 99])
    return (np.clip((vol - lo) / max(hi - lo, 1e-6), 0, 1) * 255).astype(np.uint8)


def segment_files(model, files: Sequence[str | os.PathLike | None], progress=None) -> tuple[dict, str, str]:
    """Segment one case: ``(viewer state, label volume path, summary)``; the output lies on the input's grid."""
    import nibabel as nib

    from zoo.medical.infer import segment

    mods = modalities(model)
    missing = [m for m, f in zip(mods, files) if f is None]
    if len(files) != len(mods) or missing:
        raise InputError(f"this model takes {len(mods)} volumes ({', '.join(mods)}); missing: {', '.join(missing) or 'none'}")
    files = [str(f) for f in files]
    out = output_dir() / "segmentation.nii.gz"
    res = segment(model, files, out=out, progress=progress is not None)
    image = np.asarray(nib.load(files[0]).dataobj, dtype=np.float32).reshape(res["array"].shape)
    labels = res["array"]
    zooms = nib.load(files[0]).header.get_zooms()[:3]
    ml = float(np.prod(zooms)) / 1000.0
    found = {v: c for v, c in res["labels"].items() if v != 0}
    parts = [f"{NAMES.get(v, v)} (label {v}) {c * ml:.1f} mL" for v, c in found.items()]
    grid = f"Grid {labels.shape}, voxel {tuple(round(float(z), 2) for z in zooms)} mm."
    summary = "Labelled volume: " + (", ".join(parts) if parts else "no tumour label found") + ". " + grid
    per_slice = (labels > 0).reshape(-1, labels.shape[2]).sum(0)
    state = {"image": _window(image), "labels": labels, "best": int(per_slice.argmax()) if per_slice.any() else labels.shape[2] // 2}
    return state, str(res["out"]), summary


def render_slice(state: dict | None, index: int, alpha: float = 0.5) -> np.ndarray | None:
    """Axial slice ``index`` as RGB uint8 with the labels blended in colour (rotated like radiology views)."""
    if not state:
        return None
    image, labels = state["image"], state["labels"]
    k = int(np.clip(int(index), 0, image.shape[2] - 1))
    gray = np.rot90(image[:, :, k])
    lab = np.rot90(labels[:, :, k])
    rgb = np.repeat(gray[..., None], 3, axis=2).astype(np.float32)
    for value, colour in COLOURS.items():
        mask = lab == value
        rgb[mask] = (1 - alpha) * rgb[mask] + alpha * np.asarray(colour, np.float32)
    scale = max(1, int(np.ceil(MIN_PIXELS / min(rgb.shape[:2]))))
    return np.kron(rgb, np.ones((scale, scale, 1))).round().astype(np.uint8)


def build(model, title: str | None = None) -> gradio.Blocks:
    """The page: one upload per modality (or the example), Segment button; slice viewer, download, summary."""
    import gradio as gr

    mods = modalities(model)
    legend = " ".join(f"<span style='color:rgb{c}'>&#9632;</span> {NAMES[v]}" for v, c in COLOURS.items())
    with gr.Blocks(title=title or "segment") as app:
        gr.Markdown(describe(model, title or str(model.config.get("name"))))
        gr.Markdown(f"Upload one NIfTI volume per modality ({', '.join(mods)}, co-registered, same grid). "
                    "The label volume is written on the input's grid. Not for clinical use.")  # fmt: skip
        state = gr.State(None)
        with gr.Row():
            with gr.Column(scale=1):
                inputs = [gr.File(label=f"{m} (.nii / .nii.gz)", file_types=[".nii", ".gz"], type="filepath",
                                  elem_id=f"volume-{i}") for i, m in enumerate(mods)]  # fmt: skip
                examples = example_inputs(model)
                if examples:
                    gr.Examples([examples], inputs=inputs, label="example case (cropped around the tumour, 3 mm voxels)",
                                example_labels=["BRATS 2013 patient 1"])  # fmt: skip
                run = gr.Button("Segment", variant="primary", elem_id="run")
                summary = gr.Markdown(elem_id="note")
                download = gr.File(label="label volume (NIfTI)", elem_id="labels-download")
            with gr.Column(scale=2):
                view = gr.Image(label="segmentation overlay (axial)", elem_id="overlay", interactive=False, height=420)
                slider = gr.Slider(0, 1, value=0, step=1, label="axial slice", elem_id="slice")
                gr.Markdown(legend)

        @user_errors
        def fn(*files, progress=gr.Progress(track_tqdm=True)):  # noqa: B008 - Gradio's progress idiom
            st, path, note = segment_files(model, files, progress)
            top = st["image"].shape[2] - 1
            return st, render_slice(st, st["best"]), gr.Slider(0, top, value=st["best"], step=1), path, note

        run.click(fn, inputs, [state, view, slider, download, summary])
        slider.change(render_slice, [state, slider], [view])
    return app
