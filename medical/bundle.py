"""Export a zoo Swin UNETR as a MONAI bundle that runs, exports and fine-tunes without the zoo.

Because the zoo's state-dict keys equal MONAI's, the bundle's network is
``monai.networks.nets.SwinUNETR`` itself: ``models/model.pt`` is the zoo state dict, and
``configs/inference.json`` repeats the zoo's preprocessing, sliding window and label mapping with
MONAI transforms, so ``python -m monai.bundle run`` gives the same segmentation as ``zoo segment``.

Layout (the MONAI model-zoo layout)::

    configs/metadata.json   every field of MONAI's metadata schema (``schema`` URL included)
    configs/inference.json  python -m monai.bundle run --config_file configs/inference.json ...
    configs/train.json      fine-tuning with MONAI transforms, DiceCELoss and AdamW (softmax models)
    configs/logging.conf    the logging set-up ``monai.bundle`` applies by default
    models/model.pt         the state dict (``ckpt_export`` turns it into TorchScript, see docs/README.md)
    docs/README.md          model card and commands
    docs/data_license.txt   the training data's licence
    LICENSE                 the weights' licence

Example:
    $ zoo export-bundle swin-unetr-brats-subset --out bundles/brats
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

__all__ = [
    "export_bundle", "bundle_configs", "train_config", "channel_names", "is_zoo_bundle", "check_bundle_folder",
    "REQUIRED_METADATA", "REQUIRED_TENSOR_FIELDS",
]  # fmt: skip

# The schema MONAI's model zoo validates against (``python -m monai.bundle verify_metadata``)
SCHEMA_URL = "https://github.com/Project-MONAI/MONAI-extra-test-data/releases/download/0.8.1/meta_schema_20240725.json"
# Top-level keys a bundle must have: the ``required`` list of meta_schema_20240725.json (schema, version,
# monai/pytorch/numpy versions, required_packages_version, task, description, authors, copyright,
# network_data_format) plus what MONAI's bundle specification also asks for (changelog, and
# optional_packages_version, the older schemas' name of required_packages_version).
REQUIRED_METADATA = (
    "schema", "version", "changelog", "monai_version", "pytorch_version", "numpy_version", "required_packages_version",
    "optional_packages_version", "task", "description", "authors", "copyright", "network_data_format",
)  # fmt: skip
# Keys of every tensor specifier (``network_data_format.inputs.*`` / ``outputs.*``): the schema requires the
# first six, the bundle specification all nine.
REQUIRED_TENSOR_FIELDS = ("type", "format", "num_channels", "spatial_shape", "dtype", "value_range", "modality",
                          "is_patch_data", "channel_def")  # fmt: skip
EXPORTED_BY = "attention-zoo"
# BRATS label values and what they mean (BRATS 2015: 1 necrosis, 2 edema, 3 non-enhancing, 4 enhancing;
# the zoo's BRATS models write necrosis and non-enhancing tumour together as 1)
BRATS_LABEL_NAMES = {0: "background", 1: "necrosis + non-enhancing tumour", 2: "edema", 4: "enhancing tumour"}
MR_MODALITIES = {"flair", "t1", "t1c", "t1ce", "t1gd", "t2", "dwi", "adc", "mr", "mri"}

LOGGING_CONF = """[loggers]
keys=root

[handlers]
keys=consoleHandler

[formatters]
keys=fullFormatter

[logger_root]
level=INFO
handlers=consoleHandler

[handler_consoleHandler]
class=StreamHandler
level=INFO
formatter=fullFormatter
args=(sys.stdout,)

[formatter_fullFormatter]
format=%(asctime)s - %(name)s - %(levelname)s - %(message)s
"""

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


def _preprocessing(pre: Mapping, label: bool = False) -> list[dict]:
    keys = ["image", "label"] if label else "image"
    ts: list[dict] = [
        {"_target_": "LoadImaged", "keys": keys, "image_only": False},
        {"_target_": "EnsureChannelFirstd", "keys": keys},
    ]
    if pre.get("orientation"):
        ts.append({"_target_": "Orientationd", "keys": keys, "axcodes": pre["orientation"]})
    if pre.get("spacing"):
        ts.append({"_target_": "Spacingd", "keys": keys, "pixdim": list(pre["spacing"]),
                   "mode": ["bilinear", "nearest"] if label else "bilinear"})  # fmt: skip
    spec = dict(pre.get("intensity") or {"kind": "none"})
    kind = spec.pop("kind", "none")
    if kind == "normalize":
        ts.append({"_target_": "NormalizeIntensityd", "keys": "image", "nonzero": spec.get("nonzero", True),
                   "channel_wise": spec.get("channel_wise", True)})  # fmt: skip
    elif kind == "scale_range":
        ts.append({"_target_": "ScaleIntensityRanged", "keys": "image", **spec})
    if not label:
        ts.append({"_target_": "EnsureTyped", "keys": "image", "dtype": "$torch.float32"})
    return ts


def _train_transforms(pre: Mapping, roi: list[int]) -> list[dict]:
    """The zoo's training transforms (`zoo.medical.data.train_transforms`) as MONAI config (softmax models)."""
    ts = _preprocessing(pre, label=True)
    if pre.get("label_map"):
        src = sorted(int(k) for k in pre["label_map"])
        ts.append({"_target_": "MapLabelValued", "keys": "label", "orig_labels": src,
                   "target_labels": [int(pre["label_map"][str(k)]) for k in src]})  # fmt: skip
    both = ["image", "label"]
    ts += [
        {"_target_": "CropForegroundd", "keys": both, "source_key": "image", "allow_smaller": True},
        {"_target_": "SpatialPadd", "keys": both, "spatial_size": roi},
        {"_target_": "RandCropByPosNegLabeld", "keys": both, "label_key": "label", "spatial_size": roi, "pos": 1, "neg": 1,
         "num_samples": "@num_samples", "image_key": "image", "image_threshold": 0},  # fmt: skip
        *({"_target_": "RandFlipd", "keys": both, "prob": 0.5, "spatial_axis": a} for a in range(len(roi))),
        {"_target_": "RandScaleIntensityd", "keys": "image", "factors": 0.1, "prob": 0.5},
        {"_target_": "RandShiftIntensityd", "keys": "image", "offsets": 0.1, "prob": 0.5},
        {"_target_": "EnsureTyped", "keys": both, "dtype": "$torch.float32", "track_meta": False},
    ]
    return ts


def channel_names(pre: Mapping, channels: int) -> dict[str, str]:
    """Plain-language meaning of each output channel (``{"0": "background", ...}``).

    ``preprocessing["label_names"]`` (label value -> name) wins; BRATS models (BRATS regions) get the
    BRATS names; otherwise ``"class K"``. The label value each channel is written as is appended.
    """
    from zoo.medical.data import BRATS_REGIONS

    names = {int(k): v for k, v in (pre.get("label_names") or {}).items()}
    if not names and {k: sorted(v) for k, v in (pre.get("regions") or {}).items()} == BRATS_REGIONS:
        names = dict(BRATS_LABEL_NAMES)
    if pre.get("output", "softmax") == "sigmoid":
        paint = {int(ch): int(v) for ch, v in pre.get("paint") or []}
        regions = list(pre.get("label_channels") or {})
        return {str(c): (f"{regions[c]} (painted as label {paint[c]})" if c < len(regions) and c in paint else f"channel {c}")
                for c in range(channels)}  # fmt: skip
    values = list(pre.get("class_values") or range(channels))
    out = {}
    for c in range(channels):
        v = int(values[c]) if c < len(values) else c
        out[str(c)] = f"{names[v]} (label {v})" if v in names else (f"class {c}" + (f" (label {v})" if v != c else ""))
    return out


def bundle_configs(model: nn.Module) -> tuple[dict, dict]:
    """``(metadata, inference)`` config dicts for ``model`` (needs ``model.config``); see `train_config`."""
    cfg = model.config
    args = {k: v for k, v in cfg.to_dict()["model_args"].items() if k in MONAI_ARGS}
    pre = cfg.to_dict().get("preprocessing", {})
    roi = list(pre.get("roi_size") or [96, 96, 96])
    channels = int(args["out_channels"])
    inference = {
        "imports": ["$import torch", "$import numpy"],
        "bundle_root": ".",
        "output_dir": "$@bundle_root + '/eval'",
        "device": "$torch.device('cuda' if torch.cuda.is_available() else 'cpu')",
        "image_files": [],
        "datalist": "$[{'image': @image_files}]",
        "network_def": _network(args),
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
        "ckpt_path": "$@bundle_root + '/models/model.pt'",
        "checkpoint": "$torch.load(@ckpt_path, map_location='cpu', weights_only=True)",
        "initialize": ["$@network.load_state_dict(@checkpoint)", "$@network.eval()"],
        # no ignite engine: one expression per case, so the bundle needs only monai, torch and nibabel
        "predict": "$lambda d: @postprocessing(dict(d, pred=@inferer(d['image'][None].to(@device), @network)[0].cpu()))",
        "run": ["$torch.set_grad_enabled(False)", "$[@predict(d) for d in @dataset]"],
    }
    import monai
    import nibabel
    import numpy

    modalities = list(pre.get("modalities") or [f"channel{i}" for i in range(int(args["in_channels"]))])
    kinds = {"CT" if m.lower() == "ct" else "MR" if m.lower() in MR_MODALITIES else m for m in modalities}
    name = cfg.get("name") or cfg["architecture"]
    from zoo import __version__ as zoo_version

    packages = {"nibabel": nibabel.__version__}
    value_names = channel_names(pre, channels)
    metadata = {
        "schema": SCHEMA_URL,
        "version": "0.1.0",
        "changelog": {"0.1.0": f"exported by attention-zoo {zoo_version} from {name}"},
        "monai_version": monai.__version__,
        "pytorch_version": torch.__version__.split("+")[0],
        "numpy_version": numpy.__version__,
        "required_packages_version": packages,
        "optional_packages_version": packages,
        "name": name,
        "task": "Volumetric (3D) segmentation" if int(args.get("spatial_dims", 3)) == 3 else "2D segmentation",
        "description": f"Swin UNETR ({name}) exported by attention-zoo; network is monai.networks.nets.SwinUNETR.",
        "authors": "attention-zoo",
        "copyright": "see LICENSE (weights) and docs/data_license.txt (training data)",
        "intended_use": "Research only; not for diagnostic use.",
        "exported_by": {"package": EXPORTED_BY, "version": zoo_version, "model": name},
        "label_values": {c: int(v) for c, v in enumerate(pre.get("class_values") or range(channels))}
        if pre.get("output", "softmax") != "sigmoid" else {},
        "network_data_format": {
            "inputs": {"image": {"type": "image", "format": "magnitude", "modality": "/".join(sorted(kinds)),
                                 "num_channels": len(modalities), "spatial_shape": roi, "dtype": "float32",
                                 "value_range": [], "is_patch_data": True,
                                 "channel_def": {str(i): m for i, m in enumerate(modalities)}}},  # fmt: skip
            "outputs": {"pred": {"type": "image", "format": "labels" if pre.get("output", "softmax") != "sigmoid" else "classes",
                                 "modality": "n/a", "num_channels": channels, "spatial_shape": roi, "dtype": "float32", "value_range": [],
                                 "is_patch_data": True, "channel_def": value_names}},  # fmt: skip
        },
    }
    metadata["label_values"] = {str(k): v for k, v in metadata["label_values"].items()}
    return metadata, inference


def _network(args: Mapping) -> dict:
    return {"_target_": "SwinUNETR", **{k: (list(v) if isinstance(v, tuple) else v) for k, v in args.items()}}


def train_config(model: nn.Module) -> dict | None:
    """``configs/train.json``: fine-tune ``models/model.pt`` with MONAI only (no ignite, no zoo).

    Softmax models only (None otherwise). ``python -m monai.bundle run --config_file configs/train.json
    --bundle_root . --datalist_file my/datalist.json --max_steps 300`` trains on the datalist's ``training``
    list (Decathlon format, paths relative to the file) and writes ``models/model_finetuned.pt``.
    """
    cfg = model.config.to_dict()
    pre = cfg.get("preprocessing", {})
    if pre.get("output", "softmax") == "sigmoid":
        return None
    args = {k: v for k, v in cfg["model_args"].items() if k in MONAI_ARGS}
    roi = list(pre.get("roi_size") or [96, 96, 96])
    return {
        "imports": ["$import torch", "$import itertools", "$import monai"],
        "bundle_root": ".",
        "device": "$torch.device('cuda' if torch.cuda.is_available() else 'cpu')",
        "datalist_file": "",
        "train_datalist": "$monai.data.load_decathlon_datalist(@datalist_file, True, 'training') if @datalist_file else []",
        "max_steps": 300,
        "learning_rate": 1e-4,
        "num_samples": 2,
        "seed": 0,
        "network_def": _network(args),
        "network": "$@network_def.to(@device)",
        "preprocessing": {"_target_": "Compose", "transforms": _train_transforms(pre, roi)},
        "dataset": {"_target_": "Dataset", "data": "@train_datalist", "transform": "@preprocessing"},
        "dataloader": {"_target_": "DataLoader", "dataset": "@dataset", "batch_size": 1, "shuffle": True, "num_workers": 0},
        "loss": {"_target_": "DiceCELoss", "to_onehot_y": True, "softmax": True},
        "optimizer": {"_target_": "torch.optim.AdamW", "params": "$@network.parameters()", "lr": "@learning_rate",
                      "weight_decay": 1e-5},  # fmt: skip
        "ckpt_path": "$@bundle_root + '/models/model.pt'",
        "ckpt_out": "$@bundle_root + '/models/model_finetuned.pt'",
        "checkpoint": "$torch.load(@ckpt_path, map_location='cpu', weights_only=True)",
        "initialize": [
            "$monai.utils.set_determinism(seed=@seed)",
            "$None if @train_datalist else exec(\"raise ValueError('no training cases: pass --datalist_file FILE "
            "(Decathlon JSON with a training list) or --train_datalist')\")",
            "$@network.load_state_dict(@checkpoint)",
            "$@network.train()",
        ],
        "batches": "$itertools.islice(itertools.chain.from_iterable(itertools.repeat(@dataloader)), @max_steps)",
        "step": "$lambda d: (@optimizer.zero_grad(), (lambda loss: (loss.backward(), @optimizer.step(), loss.detach().item())[-1])("
        "@loss(@network(d['image'].to(@device)), d['label'].to(@device))))[-1]",
        "run": [
            # no f-strings: the config parser rewrites @refs inside them into quoted lookups
            "$[print('step %d/%d: loss %.4f' % (i + 1, @max_steps, @step(d)), flush=True) for i, d in enumerate(@batches)]",
            "$torch.save(@network.state_dict(), @ckpt_out)",
            "$print('wrote', @ckpt_out, flush=True)",
        ],
    }


def is_zoo_bundle(folder: str | os.PathLike) -> bool:
    """True when ``folder`` holds a bundle written by `export_bundle` (its metadata says so)."""
    meta = Path(folder) / "configs" / "metadata.json"
    try:
        data = json.loads(meta.read_text())
    except (OSError, ValueError):
        return False
    by = data.get("exported_by")
    if isinstance(by, dict) and by.get("package") == EXPORTED_BY:
        return True
    return any("exported by attention-zoo" in str(v) for v in (data.get("changelog") or {}).values())


def check_bundle_folder(folder: str | os.PathLike, overwrite: bool = False, inputs=()) -> Path:
    """Refuse, before any work, a bundle folder that would replace something it should not; returns it.

    Accepted: a new or empty folder, or an earlier bundle written by the zoo (replaced as a whole). Refused
    with `InputError`: a file, a folder equal to (or holding) one of ``inputs`` (e.g. the model's own folder), a
    zoo model folder, and any other non-empty folder unless ``overwrite``.
    """
    if folder is None or str(folder).strip() == "":
        raise InputError(f"export-bundle expected an output folder, got {folder!r}")
    folder = Path(folder)
    for inp in inputs:
        if inp and Path(inp).exists():
            src = Path(inp).resolve()
            if src == folder.resolve() or folder.resolve() in src.parents:
                raise InputError(f"bundle folder {str(folder)!r} is (or holds) the input {str(inp)!r}; choose another --out folder")
    _check_folder(folder, overwrite)
    if not folder.parent.is_dir():
        raise InputError(f"the folder of the bundle {str(folder)!r} does not exist: {str(folder.parent)!r}")
    return folder


def _check_folder(folder: Path, overwrite: bool) -> None:
    if folder.exists() and not folder.is_dir():
        raise InputError(f"expected a bundle folder for --out, got the existing file {str(folder)!r}")
    if not folder.is_dir() or not any(folder.iterdir()):
        return
    if (folder / "config.json").is_file() and any(folder.glob("*.safetensors")):
        raise InputError(f"{str(folder)!r} is a zoo model folder (config.json + weights); a bundle never replaces it: "
                         "choose another --out folder")  # fmt: skip
    if is_zoo_bundle(folder):
        return  # an earlier export: replaced as a whole
    if not overwrite:
        raise InputError(
            f"expected an empty or new folder (or an earlier bundle written by the zoo) for --out, got {str(folder)!r} "
            "which holds other files; choose another folder, or pass --overwrite to replace it"
        )


def export_bundle(model: nn.Module, folder: str | os.PathLike, entry=None, overwrite: bool = False) -> Path:
    """Write ``model`` as a MONAI bundle in ``folder`` (built in a staging folder, then moved in place).

    ``folder`` may be new, empty, or an earlier bundle from `export_bundle` (replaced); any other
    non-empty folder is refused unless ``overwrite``; a zoo model folder is always refused.
    """
    if getattr(model, "config", None) is None or model.config.get("architecture") != "swin-unetr":
        got = getattr(getattr(model, "config", None), "get", lambda *_: None)("architecture") or type(model).__name__
        raise InputError(f"export-bundle expected a zoo Swin UNETR (architecture 'swin-unetr', from zoo.load / zoo.build), got {got}")
    folder = check_bundle_folder(folder, overwrite)
    metadata, inference = bundle_configs(model)
    train = train_config(model)
    if entry is None:
        from zoo.registry import get_entry

        try:
            entry = get_entry(model.config.get("name") or "")
        except Exception:  # noqa: BLE001 - an unregistered model still exports
            entry = None
    licence = getattr(entry, "license", None) or "not stated (see the model's source)"
    extra = getattr(entry, "extra", None) or {}
    note = extra.get("license_note", "") or ""
    datasets = list(getattr(entry, "datasets", ()) or [])
    paper = getattr(entry, "paper", "") or ""
    if paper:
        metadata["references"] = [paper]
    if datasets:
        metadata["data_source"] = ", ".join(datasets)
    readme = f"# {metadata['name']} (MONAI bundle)\n\n"
    if entry is not None:
        try:
            from zoo.hub.card import card_body

            readme += card_body(entry) + "\n"
        except Exception:  # noqa: BLE001 - the card is a courtesy; the bundle works without it
            pass
    c = metadata["network_data_format"]["inputs"]["image"]["num_channels"]
    roi = metadata["network_data_format"]["inputs"]["image"]["spatial_shape"]
    outs = metadata["network_data_format"]["outputs"]["pred"]["channel_def"]
    readme += (
        "## Run\n\n```bash\npython -m monai.bundle run --config_file configs/inference.json --bundle_root . \\\n"
        "    --image_files \"['modality1.nii.gz', ...]\" --output_dir out\n```\n\n"
        f"Inputs, in this order: {', '.join(metadata['network_data_format']['inputs']['image']['channel_def'].values())}.\n\n"
        "Output channels: " + "; ".join(f"{k}: {v}" for k, v in outs.items()) + ".\n\n"
        "## TorchScript\n\n```bash\npython -m monai.bundle ckpt_export network_def --filepath models/model.ts \\\n"
        "    --ckpt_file models/model.pt --meta_file configs/metadata.json --config_file configs/inference.json \\\n"
        f"    --use_trace True --input_shape \"{[1, c, *roi]}\"\n```\n\n"
        f"The traced model takes patches of the ROI shape {roi} (what sliding-window inference feeds it).\n\n"
    )
    if train is not None:
        readme += (
            "## Fine-tune\n\n```bash\npython -m monai.bundle run --config_file configs/train.json --bundle_root . \\\n"
            "    --datalist_file my/datalist.json --max_steps 300\n```\n\n"
            "`my/datalist.json` is a Decathlon-style list (`{\"training\": [{\"image\": [...], \"label\": ...}]}`, paths "
            "relative to the file); the result is `models/model_finetuned.pt` (run inference with "
            "`--ckpt_path models/model_finetuned.pt`).\n"
        )
    data_licence = (
        f"Training data: {', '.join(datasets) or 'not stated'}.\n"
        + (f"{note}\n" if note else "")
        + f"Licence of the weights (see LICENSE): {licence}.\n"
    )
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu().float().contiguous() if v.is_floating_point() else v.detach().cpu().contiguous()
                for k, v in model.state_dict().items()}, buf)  # fmt: skip
    files = {
        "configs/metadata.json": json.dumps(metadata, indent=2) + "\n",
        "configs/inference.json": json.dumps(inference, indent=2) + "\n",
        "configs/logging.conf": LOGGING_CONF,
        "docs/README.md": readme,
        "docs/data_license.txt": data_licence,
        "LICENSE": f"Model weights licence: {licence}.\n" + (f"{note}\n" if note else ""),
    }
    if train is not None:
        files["configs/train.json"] = json.dumps(train, indent=2) + "\n"
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.staging-", dir=folder.parent))
    old = None
    try:
        for rel, text in files.items():
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            (staging / rel).write_text(text)
        (staging / "models").mkdir(exist_ok=True)
        (staging / "models" / "model.pt").write_bytes(buf.getvalue())
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
            os.replace(folder, old)
        os.replace(staging, folder)
    except BaseException:
        if old is not None and old.exists() and not folder.exists():
            os.replace(old, folder)  # put the earlier folder back
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if old is not None and folder.exists():
            shutil.rmtree(old, ignore_errors=True)
    return folder
