"""From-scratch CIFAR-10 recipes; ``zoo train NAME`` runs exactly what is written here.

Each recipe names the threads its registered weights were trained with (``RECIPES[NAME]["threads"]``): each
model had the whole 2-core machine (two threads, nothing else training, channels-last; Swin 75 epochs, DiNAT 70):

    zoo train swin-cifar10  --data ../shared/data/vision/cifar10 --threads 2 --out runs/vision/swin-cifar10
    zoo train dinat-cifar10 --data ../shared/data/vision/cifar10 --threads 2 --out runs/vision/dinat-cifar10

A convolutional tokenizer (`zoo.vision.common.ConvStem`, as in CCT; 64 then 128 channels at 16x16 for Swin, 32
then 64 for DiNAT) turns the 32x32 image into 8x8 tokens; the
attention stages after it are the family's own blocks (shifted windows / dilated neighbourhoods through
`zoo.attention`). 5 000 training images (fixed seed 0) are held out for validation; the checkpoint with the best
held-out top-1 is kept (``best.ckpt``), and the test set is evaluated once, after selection. The registered
folder ``hub/models/NAME`` is that model saved in fp16 (``python -m zoo.vision.publish NAME ...`` measures the
run and calls `publish`). Measured numbers live in the folder (results.json), not here. Pass ``--limit-train 2000
--epochs 1`` for a quick smoke run; ``--resume`` continues from ``last.ckpt`` (the augmentation stream included).
"""

from __future__ import annotations

from zoo.registry import Metric, ModelEntry, WeightsSource, register_model

CIFAR_MEAN = [0.4914, 0.4822, 0.4465]
CIFAR_STD = [0.2470, 0.2435, 0.2616]
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
_PRE = {"input_size": [3, 32, 32], "interpolation": "bicubic", "crop_pct": 1.0, "crop_mode": "center",
        "mean": CIFAR_MEAN, "std": CIFAR_STD, "label_names": CIFAR_CLASSES}

# shared by both recipes: 5 000 training images held out for validation/checkpoint selection; train/ and test/
# held in memory as uint8 tensors with batched random crop (4-pixel reflect padding) + horizontal flip in torch
# (zoo.vision.fastdata); batch 128, AdamW (lr 2e-3, weight decay 0.05), 700 warm-up steps (2 epochs) then
# cosine to zero over the recipe's epochs, label smoothing 0.1, fp32, channels-last weights and inputs
_ARGS = dict(epochs=40, batch_size=128, lr=2e-3, weight_decay=0.05, warmup_steps=700, precision="32-true",
             val_holdout=5000, workers=0)
# a convolutional tokenizer (CCT-style): conv3x3/2 (32) -> conv3x3 (64) -> conv3x3/2 (width), BN + GELU, 32 px -> 8x8 tokens
# (DiNAT; Swin's is twice as wide: 64 then 128)
_STEM = [32, 64]

RECIPES = {
    "swin-cifar10": {
        "architecture": "swin",
        # conv tokenizer (64, 128 channels at 16x16) -> 8x8 tokens of width 64; Swin stages at 8x8 (windows of 4,
        # shifted by 2) and 4x4
        "model_args": dict(img_size=32, patch_size=4, window_size=4, embed_dim=64, depths=[2, 2], num_heads=[2, 4],
                           stem_widths=[64, 128], num_classes=10, drop_path_rate=0.0),
        # the whole machine for one model: both cores (``--threads 2``), channels-last, 75 epochs
        "args": dict(_ARGS, epochs=75, channels_last=True),
        "threads": 2,
        "num_classes": 10,
        "fast_data": True,
    },
    "dinat-cifar10": {
        "architecture": "dinat",
        # conv tokenizer -> 8x8 tokens of width 64; neighbourhoods of 3x3, dilations 1 and 2 at 8x8, 1 at 4x4
        "model_args": dict(embed_dim=64, mlp_ratio=3, depths=[2, 2], num_heads=[2, 4], kernel_size=3,
                           dilations=[[1, 2], [1, 1]], stem_widths=_STEM, num_classes=10, drop_path_rate=0.0),
        # the whole machine for one model: both cores (``--threads 2``), channels-last, 70 epochs
        "args": dict(_ARGS, epochs=70, channels_last=True),
        "threads": 2,
        "num_classes": 10,
        "fast_data": True,
    },
}

DATA = "../shared/data/vision/cifar10"
def entry_for_run(name: str, t: dict | None = None) -> ModelEntry:
    """Recipe ``name``'s entry: weightless, or (``t``: facts of a finished run: sha256, params, test_top1,
    test_top1_fp32, val_top1, val_curve, summary, budget) with the card text and metrics its folder gets.
    Trained models are read from their folders ``hub/models/<name>``, which take precedence."""
    r = RECIPES[name]
    train_command = f"zoo train {name} --data {DATA} --threads {r['threads']} --out runs/vision/{name}"
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
                   note=f"full CIFAR-10 test set (10 000 images; the shared JPEG re-encoding), fp16 weights, no test-time "
                        f"augmentation; fp32 before the fp16 cast: {t['test_top1_fp32']} %."),
            *([Metric(name="top1 (flip TTA)", value=t["test_top1_tta"], dataset="cifar10", split="test",
                      command=eval_cmd + " --tta flip",
                      note="the same test set, averaging the prediction of each image and its mirror image")]
              if t.get("test_top1_tta") is not None else []),
            Metric(name="top1 (held-out val)", value=t["val_top1"],
                   dataset="cifar10", split=f"train hold-out ({a['val_holdout']} images, seed 0)",
                   command=train_command + "  # val/acc of the selected epoch, logged in "
                                           f"runs/vision/{name}/logs",
                   note="validation on images held out of train/, never the test set"),
        ],
        description=(
            f"{t['summary']}, {t['params'] / 1e6:.2f} M parameters, trained from scratch on CIFAR-10 on a 2-core CPU "
            f"with `zoo train` in {t['budget']}: **{t['test_top1']} % test top-1**. A convolutional tokenizer "
            f"(three 3x3 conv-BN-GELU layers, 32 px to 8x8 tokens, as in CCT) feeds the attention stages."
        ),
        extra={**{k: v for k, v in t.items() if k != "sha256"}, "training_notes": (
            f"Recipe `zoo.vision.recipes.RECIPES[{name!r}]`: AdamW (lr {a['lr']}, weight decay {a['weight_decay']}), "
            f"batch {a['batch_size']}, {a['epochs']} epochs of 45 000 images, {a['warmup_steps']} warm-up steps then "
            f"cosine to zero, label smoothing 0.1, fp32{', channels-last' if a.get('channels_last') else ''}. "
            f"Data: the training images held in memory as uint8 tensors, "
            f"each batch randomly cropped from the 4-pixel reflect-padded images and flipped horizontally in torch "
            f"(`zoo.vision.fastdata`); no colour jitter, RandAugment or mixup. {a['val_holdout']} training images "
            f"(seed 0) are held out: the checkpoint with the best held-out top-1 is kept; held-out top-1 per epoch: "
            f"{', '.join(map(str, t['val_curve']))} %. The test set was evaluated once, after selection. Training time: "
            f"{t['budget']}. This folder is that checkpoint in fp16 (`zoo.vision.recipes.publish({name!r}, facts)`): "
            f"test top-1 {t['test_top1']} % vs {t['test_top1_fp32']} % in fp32. Data: the shared CIFAR-10 copy (JPEG "
            f"re-encodings of the official images). Limits: 32x32 images of the ten CIFAR-10 classes; a small model "
            f"trained briefly on a CPU, well below the best published CIFAR-10 results."
        )},
    )


for _name in RECIPES:  # weightless recipe entries; a model folder of the same name takes precedence
    register_model(entry_for_run(_name))


def publish(name: str, facts: dict, trained: str | None = None, dtype: str = "float16", root: str | None = None) -> dict:
    """Write the model folder ``hub/models/NAME`` from the folder ``zoo train`` wrote (fp16 by default), with the
    run's measured ``facts`` (see `entry_for_run`) in its results.json and card.

    ``python -c "from zoo.vision.recipes import publish; print(publish('swin-cifar10', facts))"``
    """
    import torch

    from zoo.hub import from_pretrained
    from zoo.promote import write_entry_folder
    from zoo.weights import sha256_file

    model = from_pretrained(trained or f"runs/vision/{name}/model")
    folder = write_entry_folder(model, entry_for_run(name, {**facts, "sha256": None}), dtype=getattr(torch, dtype),
                                root=root)  # root: another models folder than hub/models
    return {"folder": str(folder), "sha256": sha256_file(folder / "model.safetensors"),
            "params": sum(p.numel() for p in model.parameters())}
