"""Registered medical models: upstream Swin UNETR weights (converted on load) and the zoo's BRATS-subset model.

Upstream numbers are quoted as theirs (in the description and ``extra["published"]``); they are not
re-measured here (BTCV is not in this project's data). Models trained here live in their folders
``hub/models/<name>/`` (config.json, results.json), read by the core registry; this module keeps their
recipes and the card text of a run (`entry_for_run`).
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

def entry_for_run(name: str, facts: dict | None = None) -> ModelEntry:
    """The entry of a recipe: with weights and measured Dice (``facts`` of a finished run, for its folder), else
    architecture + recipe only. Trained models are read from their folders, which take precedence."""
    recipe = RECIPES[name]
    cmd = f"zoo eval {name}"
    note = "2 test cases of a 6-case BRATS 2015 subset, at the original 1 mm grid: proves the pipeline, not a benchmark."
    metrics = []
    if facts:  # pragma: no cover - used when a new run is written to its folder
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
            **({"training_notes": facts["training_notes"]} if facts.get("training_notes") else {}),
            **({"params": facts["params"]} if "params" in facts else {}),
            **({"test_cases": facts["test_cases"]} if "test_cases" in facts else {}),
        },
    )


for _name in RECIPES:  # weightless recipe entries; a model folder of the same name takes precedence
    register_model(entry_for_run(_name))
