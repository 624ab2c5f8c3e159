"""Export a zoo Swin UNETR as a MONAI bundle that runs without the zoo.

Because the zoo's state-dict keys equal MONAI's, the bundle's network is
``monai.networks.nets.SwinUNETR`` itself: ``models/model.pt`` is the zoo state dict, and
``configs/inference.json`` repeats the zoo's preprocessing, sliding window and label mapping with
MONAI transforms, so ``python -m monai.bundle run`` gives the same segmentation as ``zoo segment``.

Layout: ``configs/metadata.json``, ``configs/inference.json``, ``models/model.pt``,
``docs/README.md``, ``LICENSE``.

Example:
    $ zoo export-bundle swin-unetr-brats-subset bundles/brats
    $ python -m monai.bundle run --config_file bundles/brats/configs/inference.json \\
        --bundle_root bundles/brats --image_files "['flair.nii.gz','t1c.nii.gz']" --output_dir out
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from zoo.errors import InputError

__all__ = ["export_bundle", "bundle_configs"]

MONAI_ARGS = (
    "in_channels", "out_channels", "patch_size", "depths", "num_heads", "window_size", "qkv_bias", "mlp_ratio",
    "feature_size", "norm_name", "drop_rate", "attn_drop_rate", "dropout_path_rate", "normalize", "patch_norm",
    "spatial_dims", "downsample", "use_v2",
)  # fmt: skip


def _paint_expression(pre: Mapping, channels: int) -> str:
    """A MONAI-config expression turning ``[K, *S]`` logits into a ``[1, *S]`` label map (as the zoo does)."""
    if pre.get("output", "softmax") != "sigmoid":
        values = pre.get("class_values") or list(range(channels))
        terms = " + ".join(f"(a == {k}).float() * {float(v)}" for k, v in enumerate(values) if v)
        return f"$lambda x: (lambda a: a.float() * 0 + {terms or '0'})(torch.argmax(x, dim=0, keepdim=True))"
    paint = pre.get("paint") or [[i, i + 1] for i in range(channels)]
    expr = "torch.zeros_like(x[0:1])"
    for ch, value in paint:  # later paints win: wrap outward
        expr = f"torch.where(x[{ch}:{ch + 1}] > 0, torch.full_like(x[0:1], {float(value)}), {expr})"
    return f"$lambda x: {expr}"


def _preprocessing(pre: Mapping) -> list[dict]:
    ts: list[dict] = [
        {"_target_": "LoadImaged", "keys": "image", "image_only": False},
        {"_target_": "EnsureChannelFirstd", "keys": "image"},
    ]
    if pre.get("orientation"):
        ts.append({"_target_": "Orientationd", "keys": "image", "axcodes": pre["orientation"]})
    if pre.get("spacing"):
        ts.append({"_target_": "Spacingd", "keys": "image", "pixdim": list(pre["spacing"]), "mode": "bilinear"})
    spec = dict(pre.get("intensity") or {"kind": "none"})
    kind = spec.pop("kind", "none")
    if kind == "normalize":
        ts.append({"_target_": "NormalizeIntensityd", "keys": "image", "nonzero": spec.get("nonzero", True),
                   "channel_wise": spec.get("channel_wise", True)})  # fmt: skip
    elif kind == "scale_range":
        ts.append({"_target_": "ScaleIntensityRanged", "keys": "image", **spec})
    ts.append({"_target_": "EnsureTyped", "keys": "image", "dtype": "$torch.float32"})
    return ts


def bundle_configs(model: nn.Module) -> tuple[dict, dict]:
    """``(metadata, inference)`` config dicts for ``model`` (needs ``model.config``)."""
    cfg = model.config
    args = {k: v for k, v in cfg.to_dict()["model_args"].items() if k in MONAI_ARGS}
    pre = cfg.to_dict().get("preprocessing", {})
    roi = list(pre.get("roi_size") or [96, 96, 96])
    channels = int(args["out_channels"])
    network = {"_target_": "SwinUNETR", **{k: (list(v) if isinstance(v, tuple) else v) for k, v in args.items()}}
    inference = {
        "imports": ["$import torch", "$import numpy"],
        "bundle_root": ".",
        "output_dir": "$@bundle_root + '/eval'",
        "device": "$torch.device('cuda' if torch.cuda.is_available() else 'cpu')",
        "image_files": [],
        "datalist": "$[{'image': @image_files}]",
        "network_def": network,
        "network": "$@network_def.to(@device)",
        "preprocessing": {"_target_": "Compose", "transforms": _preprocessing(pre)},
        "dataset": {"_target_": "Dataset", "data": "@datalist", "transform": "@preprocessing"},
        "dataloader": {"_target_": "DataLoader", "dataset": "@dataset", "batch_size": 1, "shuffle": False, "num_workers": 0},
        "inferer": {"_target_": "SlidingWindowInferer", "roi_size": roi, "sw_batch_size": int(pre.get("sw_batch_size", 1)),
                    "overlap": float(pre.get("overlap", 0.25)), "mode": pre.get("sw_mode", "gaussian")},  # fmt: skip
        "postprocessing": {
            "_target_": "Compose",
            "transforms": [
                {"_target_": "Lambdad", "keys": "pred", "func": _paint_expression(pre, channels)},
                {"_target_": "Invertd", "keys": "pred", "transform": "@preprocessing", "orig_keys": "image",
                 "nearest_interp": True, "to_tensor": True},  # fmt: skip
                {"_target_": "SaveImaged", "keys": "pred", "output_dir": "@output_dir", "output_postfix": "seg",
                 "output_dtype": "$numpy.uint8", "resample": False, "separate_folder": False, "print_log": False},  # fmt: skip
            ],
        },
        "checkpoint": "$torch.load(@bundle_root + '/models/model.pt', map_location='cpu', weights_only=True)",
        "initialize": ["$@network.load_state_dict(@checkpoint)", "$@network.eval()"],
        # no ignite engine: one expression per case, so the bundle needs only monai, torch and nibabel
        "predict": "$lambda d: @postprocessing(dict(d, pred=@inferer(d['image'][None].to(@device), @network)[0].cpu()))",
        "run": ["$torch.set_grad_enabled(False)", "$[@predict(d) for d in @dataset]"],
    }
    import monai

    modalities = list(pre.get("modalities") or [f"channel{i}" for i in range(int(args["in_channels"]))])
    name = cfg.get("name") or cfg["architecture"]
    metadata = {
        "version": "0.1.0",
        "changelog": {"0.1.0": f"exported by attention-zoo from {name}"},
        "monai_version": monai.__version__,
        "pytorch_version": torch.__version__.split("+")[0],
        "numpy_version": __import__("numpy").__version__,
        "optional_packages_version": {"nibabel": __import__("nibabel").__version__},
        "name": name,
        "task": "Volumetric segmentation",
        "description": f"Swin UNETR ({name}) exported by attention-zoo; network is monai.networks.nets.SwinUNETR.",
        "authors": "attention-zoo",
        "copyright": "see LICENSE",
        "network_data_format": {
            "inputs": {"image": {"type": "image", "format": "magnitude", "modality": "/".join(modalities),
                                 "num_channels": len(modalities), "spatial_shape": roi, "dtype": "float32",
                                 "value_range": [], "is_patch_data": True,
                                 "channel_def": {str(i): m for i, m in enumerate(modalities)}}},  # fmt: skip
            "outputs": {"pred": {"type": "image", "format": "labels", "num_channels": channels, "spatial_shape": roi,
                                 "dtype": "float32", "value_range": [], "is_patch_data": True,
                                 "channel_def": {str(i): f"class {i}" for i in range(channels)}}},  # fmt: skip
        },
    }
    return metadata, inference


def export_bundle(model: nn.Module, folder: str | os.PathLike, entry=None, overwrite: bool = False) -> Path:
    """Write ``model`` as a MONAI bundle in ``folder`` (built in a staging folder, then moved in place)."""
    if getattr(model, "config", None) is None or model.config.get("architecture") != "swin-unetr":
        raise InputError("export-bundle needs a zoo Swin UNETR (architecture 'swin-unetr') built by zoo.load / zoo.build")
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()) and not overwrite:
        raise InputError(f"{folder} exists and is not empty; pass --overwrite or choose another folder")
    metadata, inference = bundle_configs(model)
    if entry is None:
        from zoo.registry import get_entry

        try:
            entry = get_entry(model.config.get("name") or "")
        except Exception:  # noqa: BLE001 - an unregistered model still exports
            entry = None
    licence = entry.license if entry is not None else "see the model's source"
    note = (entry.extra.get("license_note", "") if entry is not None else "") or ""
    readme = f"# {metadata['name']} (MONAI bundle)\n\n"
    if entry is not None:
        from zoo.hub.card import card_body

        readme += card_body(entry) + "\n"
    readme += (
        "## Run\n\n```bash\npython -m monai.bundle run --config_file configs/inference.json --bundle_root . \\\n"
        "    --image_files \"['modality1.nii.gz', ...]\" --output_dir out\n```\n\n"
        f"Inputs, in this order: {', '.join(metadata['network_data_format']['inputs']['image']['channel_def'].values())}.\n"
    )
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, buf)
    files = {
        "configs/metadata.json": json.dumps(metadata, indent=2) + "\n",
        "configs/inference.json": json.dumps(inference, indent=2) + "\n",
        "docs/README.md": readme,
        "LICENSE": f"Model weights licence: {licence}.\n{note}\n",
    }
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.staging-", dir=folder.parent))
    try:
        for rel, text in files.items():
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            (staging / rel).write_text(text)
        (staging / "models").mkdir(exist_ok=True)
        (staging / "models" / "model.pt").write_bytes(buf.getvalue())
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
