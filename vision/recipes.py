"""From-scratch CIFAR-10 recipes; ``zoo train NAME`` runs exactly what is written here.

Both were trained on this machine in a budget of about 25 CPU core-minutes each (1 thread, sharing
2 cores with other jobs, so about 0.4 of a core), one after the other:

    zoo train swin-cifar10  --data ../shared/data/vision/cifar10 --threads 1 --out runs/vision/swin-cifar10
    zoo train dinat-cifar10 --data ../shared/data/vision/cifar10 --threads 1 --out runs/vision/dinat-cifar10

5 000 training images (fixed seed 0) are held out for validation; the checkpoint with the best
held-out top-1 is kept (``best.ckpt``), and the test set is evaluated once, after selection. The
registered folder ``hub/models/NAME`` is that model saved in fp16 (`publish`; test top-1 checked to move by
<= 0.1 pt). Measured numbers live in the folder (results.json), not here.
Pass ``--limit-train 2000 --epochs 1`` for a quick smoke run. Checkpoints (``last.ckpt``) resume.
"""

from __future__ import annotations

from zoo.registry import Metric, ModelEntry, WeightsSource, register_model

CIFAR_MEAN = [0.4914, 0.4822, 0.4465]
CIFAR_STD = [0.2470, 0.2435, 0.2616]
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
_PRE = {"input_size": [3, 32, 32], "interpolation": "bicubic", "crop_pct": 1.0, "crop_mode": "center",
        "mean": CIFAR_MEAN, "std": CIFAR_STD, "label_names": CIFAR_CLASSES}

# timm's training transform, tuned for a few epochs on 32x32: random-resized crop (scale 0.35-1),
# horizontal flip, no colour jitter (RandAugment/mixup need far longer schedules than the budget here)
TRAIN_TRANSFORM = {"scale": (0.35, 1.0), "ratio": (3 / 4, 4 / 3), "hflip": 0.5, "color_jitter": None}
# shared by both recipes: 5 000 training images held out for validation/checkpoint selection,
# images decoded once into memory, batch 64, AdamW + linear warmup (100 steps) + cosine to zero
_ARGS = dict(batch_size=64, lr=2e-3, weight_decay=0.05, precision="32-true", val_holdout=5000, workers=0)

RECIPES = {
    "swin-cifar10": {
        "architecture": "swin",
        # 32x32, patch 4 -> 8x8 tokens, windows of 4 (shifted by 2): stages at 8, 4, 2 tokens a side
        "model_args": dict(img_size=32, patch_size=4, window_size=4, embed_dim=48, depths=[2, 2, 2],
                           num_heads=[2, 4, 8], num_classes=10, drop_path_rate=0.0),
        "args": dict(epochs=6, **_ARGS),
        "num_classes": 10,
        "in_memory": True,
        "train_transform": TRAIN_TRANSFORM,
    },
    "dinat-cifar10": {
        "architecture": "dinat",
        # conv tokenizer /4 -> 8x8 tokens; kernel 3, dilations 1 and 2: levels at 8, 4, 2 (2 is padded to 3)
        "model_args": dict(embed_dim=48, mlp_ratio=3, depths=[2, 2, 2], num_heads=[2, 4, 8], kernel_size=3,
                           dilations=[[1, 2], [1, 1], [1, 1]], num_classes=10, drop_path_rate=0.0),
        "args": dict(epochs=5, **_ARGS),  # one epoch fewer than Swin: ~11 % slower per step, same wall-clock slot
        "num_classes": 10,
        "in_memory": True,
        "train_transform": TRAIN_TRANSFORM,
    },
}

DATA = "../shared/data/vision/cifar10"
def entry_for_run(name: str, t: dict | None = None) -> ModelEntry:
    """Recipe ``name``'s entry: weightless, or (``t``: facts of a finished run: sha256, params, test_top1,
    test_top1_fp32, val_top1, val_curve, summary, budget) with the card text and metrics its folder gets.
    Trained models are read from their folders ``hub/models/<name>``, which take precedence."""
    r = RECIPES[name]
    train_command = f"zoo train {name} --data {DATA} --threads 1 --out runs/vision/{name}"
    fields = dict(
        name=name,
        architecture=r["architecture"],
        domain="vision",
        task="image-classification",
        model_args=r["model_args"],
        preprocessing=_PRE,
        license="apache-2.0",
        datasets=("cifar10",),
        tags=("cifar10", "recipe"),
        train_command=train_command,
    )
    if t is None:
        return ModelEntry(**fields, weights=None, description=(
            f"CIFAR-10 from-scratch recipe for {r['architecture']} (no weights yet: run the train command)."))
    a = r["args"]
    eval_cmd = f"zoo eval {name} --data {DATA} --split test --threads 1"
    return ModelEntry(
        **fields,
        weights=WeightsSource(folder=name, sha256=t["sha256"]),
        metrics=[
            Metric(name="top1", value=t["test_top1"], dataset="cifar10", split="test", command=eval_cmd,
                   note=f"full CIFAR-10 test set (10 000 images; the shared JPEG re-encoding), fp16 weights; "
                        f"fp32 before the fp16 cast: {t['test_top1_fp32']} %."),
            Metric(name="top1 (held-out val)", value=t["val_top1"],
                   dataset="cifar10", split=f"train hold-out ({a['val_holdout']} images, seed 0)",
                   command=train_command + "  # val/acc of the selected epoch, logged in "
                                           f"runs/vision/{name}/checkpoints/logs",
                   note="validation on images held out of train/, never the test set"),
        ],
        description=(
            f"{t['summary']}, {t['params'] / 1e6:.2f} M parameters, trained from scratch on CIFAR-10 on this "
            f"machine's CPU with `zoo train`: **{t['test_top1']} % test top-1** after a very short schedule "
            f"({t['budget']}). A short-budget baseline, not a competitive CIFAR-10 classifier: small CNNs trained "
            f"longer reach over 90 %."
        ),
        extra={"params": t["params"], "training_notes": (
            f"Recipe `zoo.vision.recipes.RECIPES[{name!r}]`: AdamW (lr {a['lr']}, weight decay {a['weight_decay']}), "
            f"batch {a['batch_size']}, {a['epochs']} epochs, 100 warm-up steps then cosine to zero, label smoothing "
            f"0.1, fp32; timm's training transform with random-resized crop (scale 0.35-1, ratio 3/4-4/3) and "
            f"horizontal flip, no colour jitter, RandAugment or mixup (too short a schedule for them). "
            f"{a['val_holdout']} training images (seed 0) are held out: the checkpoint with the best held-out top-1 "
            f"is kept; held-out top-1 per epoch: {', '.join(map(str, t['val_curve']))} %. The test set was "
            f"evaluated once, after selection. This folder is that checkpoint in fp16 "
            f"(`zoo.vision.recipes.publish({name!r})`): test top-1 {t['test_top1']} % vs {t['test_top1_fp32']} % "
            f"in fp32. Data: the shared CIFAR-10 copy (JPEG re-encodings of the official images)."
        )},
    )


for _name in RECIPES:  # weightless recipe entries; a model folder of the same name takes precedence
    register_model(entry_for_run(_name))


def publish(name: str, facts: dict, trained: str | None = None, dtype: str = "float16") -> dict:
    """Write the model folder ``hub/models/NAME`` from the folder ``zoo train`` wrote (fp16 by default), with the
    run's measured ``facts`` (see `entry_for_run`) in its results.json and card.

    ``python -c "from zoo.vision.recipes import publish; print(publish('swin-cifar10', facts))"``
    """
    import torch

    from zoo.hub import from_pretrained
    from zoo.promote import write_entry_folder
    from zoo.weights import sha256_file

    model = from_pretrained(trained or f"runs/vision/{name}/model")
    folder = write_entry_folder(model, entry_for_run(name, {**facts, "sha256": None}), dtype=getattr(torch, dtype))
    return {"folder": str(folder), "sha256": sha256_file(folder / "model.safetensors"),
            "params": sum(p.numel() for p in model.parameters())}
