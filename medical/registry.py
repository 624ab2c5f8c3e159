"""Registered medical models: upstream Swin UNETR weights (converted on load) and the zoo's BRATS-subset model.

Upstream numbers are quoted as theirs (in the description and ``extra["published"]``); they are not
re-measured here (BTCV is not in this project's data). Trained entries carry only numbers measured
by the command written next to them.
"""

from __future__ import annotations

from zoo.registry import Metric, ModelEntry, WeightsSource, register_model

from .data import BRATS_REGIONS
from .swin_unetr import convert_monai_checkpoint, convert_ssl_encoder_checkpoint

PAPER = "https://arxiv.org/abs/2201.01266"
SSL_PAPER = "https://arxiv.org/abs/2111.14791"
SSL_URL = "https://github.com/Project-MONAI/MONAI-extra-test-data/releases/download/0.8.1/model_swinvit.pt"
BTCV_REPO = "MONAI/swin_unetr_btcv_segmentation"

BTCV_PREPROCESSING = {
    "modalities": ["ct"],
    "orientation": "RAS",
    "spacing": [1.5, 1.5, 2.0],
    "intensity": {"kind": "scale_range", "a_min": -175.0, "a_max": 250.0, "b_min": 0.0, "b_max": 1.0, "clip": True},
    "roi_size": [96, 96, 96],
    "overlap": 0.5,
    "sw_batch_size": 1,
    "output": "softmax",
}

BRATS_PREPROCESSING = {
    "modalities": ["flair", "t1c"],
    "orientation": "RAS",
    "spacing": [3.0, 3.0, 3.0],
    "intensity": {"kind": "normalize", "nonzero": True, "channel_wise": True},
    "roi_size": [64, 32, 32],
    "overlap": 0.5,
    "sw_batch_size": 2,
    "output": "softmax",
    # 4 nested classes: background, edema (2), core without enhancing (1, 3), enhancing (4)
    "label_map": {"0": 0, "1": 2, "2": 1, "3": 2, "4": 3},
    "class_values": [0, 2, 1, 4],
    "regions": BRATS_REGIONS,
}

register_model(
    ModelEntry(
        name="swin-unetr-ssl-encoder",
        architecture="swin-unetr-encoder",
        domain="medical",
        task="feature-extraction",
        model_args={"in_channels": 1, "feature_size": 48},
        weights=WeightsSource(url=SSL_URL, converter=convert_ssl_encoder_checkpoint),
        license="apache-2.0",
        paper=SSL_PAPER,
        description=(
            "Swin UNETR encoder (feature size 48) pre-trained self-supervised by Tang et al. (CVPR 2022) on "
            "5,050 CT volumes; upstream `model_swinvit.pt` (MONAI research-contributions), converted on load "
            "(`module.` -> `swinViT.`, `fc1/fc2` -> `linear1/linear2`, pre-training heads dropped). Use it to "
            "initialise `zoo finetune swin-unetr-ssl-encoder ...`."
        ),
        aliases=("swin-unetr-ssl",),
        tags=("ct", "self-supervised"),
        extra={"sha256_note": "upstream file, sha256 not pinned here (no network to hash it)"},
    )
)

register_model(
    ModelEntry(
        name="swin-unetr-btcv",
        architecture="swin-unetr",
        domain="medical",
        task="segmentation",
        model_args={"in_channels": 1, "out_channels": 14, "feature_size": 48},
        preprocessing=BTCV_PREPROCESSING,
        weights=WeightsSource(repo_id=BTCV_REPO, filename="models/model.pt", converter=convert_monai_checkpoint),
        license="apache-2.0",
        paper=PAPER,
        datasets=("BTCV",),
        description=(
            "Swin UNETR (feature size 48) for 13-organ abdominal CT segmentation, the MONAI model-zoo bundle "
            "`swin_unetr_btcv_segmentation` (`models/model.pt`), loaded through `convert_monai_checkpoint`. "
            "Published (theirs, not re-measured here): BTCV mean Dice 82.25 for feature size 48 "
            "(MONAI research-contributions SwinUNETR/BTCV README)."
        ),
        tags=("ct", "abdomen", "multi-organ"),
        extra={"published": {"BTCV mean Dice": 82.25, "source": "MONAI research-contributions SwinUNETR/BTCV"}},
    )
)

# Recipes of the zoo-trained models (`zoo train NAME`).
RECIPES = {
    "swin-unetr-brats-subset": {
        # window 4 (MONAI's default is 7): the 32x16x16 first-stage grid of a 64x32x32 ROI splits into whole
        # windows; forward + backward of a 2-crop batch took ~4.3 s instead of ~11 s on one CPU thread (measured here).
        "model_args": {"in_channels": 2, "out_channels": 4, "feature_size": 12, "window_size": 4},
        "preprocessing": BRATS_PREPROCESSING,
        "max_steps": 800,
        "max_minutes": 60,
        "val_every": 100,
        "lr": 5e-4,
        "num_samples": 2,
        "seed": 0,
    }
}

# Zoo-trained: from runs/medical/<name>/result.json and logs/ (`zoo train`), `zoo eval` of the committed fp16
# folder (fp32 vs fp16 compared with `evaluate` on both), and the sha256 of hub/models/<name>/model.safetensors.
_TRAINED: dict[str, dict] = {
    "swin-unetr-brats-subset": {
        "sha256": "2d917376e2e532ecee660fe53703c3c9e2e1a4be600af1a78430196ba9420294",
        # `zoo eval swin-unetr-brats-subset` on the committed fp16 weights (mean of the 2 test cases)
        "dice": {"WT": 0.5696, "TC": 0.1229, "ET": 0.2980},
        "test_cases": {
            "brats_2013_pat0001_1": {"WT": 0.6404, "TC": 0.0821, "ET": 0.1957},
            "brats_2013_pat0002_1": {"WT": 0.4988, "TC": 0.1637, "ET": 0.4002},
        },
        # best validation Dice (2 validation cases, whole volumes at 3 mm, sliding window): the selected checkpoint
        "val_dice": {"mean": 0.5100, "WT": 0.6558, "TC": 0.3487, "ET": 0.5253},
        "params": 3_911_662,
        "training_notes": (
            "800 optimisation steps (each: 2 ROI crops of 64x32x32 voxels at 3 mm from one of the 2 training cases, "
            "pos/neg balanced), AdamW lr 5e-4, 20 warm-up steps then cosine, DiceCE loss, seed 0; validation every "
            "100 steps on the 2 validation cases (whole volumes, sliding window, 3 mm grid). The best validation "
            "mean Dice, 0.510 (WT 0.656, TC 0.349, ET 0.525), came after 400 steps and is the checkpoint kept; later "
            "checkpoints scored 0.45-0.48 while the training loss kept falling (2 training cases are overfit). Run "
            "with `--threads 1 --no-progress`: 2,501 s wall on one thread of a shared 2-core CPU (about 0.4 of a core). "
            "Window size 4 instead of MONAI's default 7: the 32x16x16 first-stage grid of "
            "the ROI splits into whole windows; forward + backward of a 2-crop batch took about 4.3 s instead of 11 s here. Stored in "
            "fp16: `zoo.medical.train.evaluate` of the fp32 and of the fp16 folder differ by at most 0.0004 test Dice."
        ),
    }
}


def _trained_entry(name: str, facts: dict | None) -> ModelEntry:
    """The entry of a recipe: with weights and measured Dice once trained, else architecture + recipe only."""
    recipe = RECIPES[name]
    cmd = f"zoo eval {name}"
    note = "2 test cases of a 6-case BRATS 2015 subset, at the original 1 mm grid: proves the pipeline, not a benchmark."
    metrics = []
    if facts:
        metrics = [Metric(f"Dice {r}", facts["dice"][r], "BRATS2015-subset", "test", cmd, note=note) for r in ("WT", "TC", "ET")]
        val_note = "2 validation cases, whole volumes resampled to 3 mm (not the original grid); used to pick the checkpoint."
        metrics.append(Metric("validation Dice, mean of WT/TC/ET", facts["val_dice"]["mean"], "BRATS2015-subset",
                              "validation", f"zoo train {name} --data ../shared/data/medical/brats2015-subset", note=val_note))  # fmt: skip
    facts = facts or {}
    return ModelEntry(
        name=name,
        architecture="swin-unetr",
        domain="medical",
        task="segmentation",
        model_args=dict(recipe["model_args"]),
        preprocessing=dict(recipe["preprocessing"]),
        weights=WeightsSource(folder=name, sha256=facts["sha256"]) if facts.get("sha256") else None,
        license="cc-by-nc-sa-3.0",
        metrics=metrics,
        paper=PAPER,
        datasets=("BRATS2015 (6-case subset)",),
        description=(
            "A small Swin UNETR trained here on 2 BRATS 2015 cases (2 more for validation) with FLAIR and T1c "
            "as two channels, at 3 mm, predicting 4 softmax classes (background, edema, core without enhancing, "
            "enhancing) that are written as BRATS labels 0/2/1/4 and scored as whole tumour (WT), tumour core (TC) "
            "and enhancing tumour (ET). Six cases (2 train, 2 validation, 2 test) prove that the pipeline trains, "
            "validates and segments end to end; they are not a benchmark, and "
            + (f"with test Dice WT {d['WT']:.2f} / TC {d['TC']:.2f} / ET {d['ET']:.2f} " if (d := facts.get("dice")) else "")
            + "these weights are not a useful tumour segmenter. The data's licence, CC BY-NC-SA 3.0, applies to the weights."
        ),
        tags=("mri", "brain-tumour"),
        train_command=f"zoo train {name} --data ../shared/data/medical/brats2015-subset",
        extra={
            "license_note": "Trained on BRATS 2015 data (CC BY-NC-SA 3.0): the weights inherit that licence "
            "(non-commercial, share-alike).",
            "training_notes": facts.get("training_notes", ""),
            **({"params": facts["params"]} if "params" in facts else {}),
            **({"test_cases": facts["test_cases"]} if "test_cases" in facts else {}),
        },
    )


for _name in RECIPES:
    register_model(_trained_entry(_name, _TRAINED.get(_name)))
