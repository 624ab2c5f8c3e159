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
        "model_args": {"in_channels": 2, "out_channels": 4, "feature_size": 12},
        "preprocessing": BRATS_PREPROCESSING,
        "max_steps": 1500,
        "max_minutes": 35,
        "val_every": 50,
        "lr": 5e-4,
        "num_samples": 2,
        "seed": 0,
    }
}

# Zoo-trained: filled from runs/medical/<name>/result.json and the sha256 of hub/models/<name>/model.safetensors.
# Filled once a recipe is trained to a state worth committing (sha256 of model.safetensors, test Dice,
# notes). The first run of swin-unetr-brats-subset got ~1 CPU-minute (14 steps) on a saturated machine and
# reached test Dice WT 0.043 / TC 0.014 / ET 0.019: not committed; resume it with
# `zoo train swin-unetr-brats-subset --data ../shared/data/medical/brats2015-subset --max-minutes N`.
_TRAINED: dict[str, dict] = {}


def _trained_entry(name: str, facts: dict | None) -> ModelEntry:
    """The entry of a recipe: with weights and measured Dice once trained, else architecture + recipe only."""
    recipe = RECIPES[name]
    cmd = f"zoo eval {name}"
    note = "2 test cases of a 6-case BRATS 2015 subset, at the original 1 mm grid: proves the pipeline, not a benchmark."
    metrics = []
    if facts:
        metrics = [Metric(f"Dice {r}", facts["dice"][r], "BRATS2015-subset", "test", cmd, note=note) for r in ("WT", "TC", "ET")]
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
            "as two channels, at 3 mm, predicting whole tumour (WT), tumour core (TC) and enhancing tumour (ET) "
            "as sigmoid channels. Six cases prove the pipeline; they are not a benchmark, and these weights are "
            "not a useful tumour segmenter."
        ),
        tags=("mri", "brain-tumour"),
        train_command=f"zoo train {name} --data ../shared/data/medical/brats2015-subset",
        extra={
            "license_note": "Trained on BRATS 2015 data (CC BY-NC-SA 3.0): the weights inherit that licence "
            "(non-commercial, share-alike).",
            "training_notes": facts.get("training_notes", ""),
        },
    )


for _name in RECIPES:
    register_model(_trained_entry(_name, _TRAINED.get(_name)))
