"""Fine-tune a pretrained image classifier on your own image folder with a plain ``lightning.Trainer``.

``--data`` holds ``train/<class>/*.jpg`` and ``val/<class>/*.jpg`` (or ``test/``); a different number of
classes gets a new head. The model is saved in Hub form with its validation accuracy, reloaded, and
asked to classify one image.

    python examples/vision_finetune.py --data my_images --out runs/my-swin --max-steps 500
    python examples/vision_finetune.py --out runs/demo --max-steps 5 --limit 64   # CIFAR-10 from $ZOO_DATA_DIR
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import lightning as L
import torch
from PIL import Image
from torch.utils.data import DataLoader, Subset
from torchvision.datasets import ImageFolder

import zoo
from zoo.hub import from_pretrained, save_pretrained
from zoo.training import check_run_dir
from zoo.vision.common import build_transform
from zoo.vision.task import ClassificationTask


def subset(ds, n: int | None, seed: int = 0):
    return ds if not n else Subset(ds, torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed))[:n].tolist())


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="image folder root (default: $ZOO_DATA_DIR/vision/cifar10)")
    p.add_argument("--model", default="swin-cifar10")
    p.add_argument("--limit", type=int, default=None, help="use N random training and N validation images")
    p.add_argument("--max-steps", type=int, default=500)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--out", default="runs/example-vision")
    args = p.parse_args(argv)
    out = check_run_dir(args.out, inputs=[args.data])
    root = Path(args.data or Path(os.environ.get("ZOO_DATA_DIR", "data"), "vision", "cifar10"))
    val_dir = root / "val" if (root / "val").is_dir() else root / "test"

    L.seed_everything(0)
    model = zoo.load(args.model)
    pre = dict(model.config["preprocessing"])
    train_set = ImageFolder(str(root / "train"), transform=build_transform(pre, is_training=True))
    val_set = ImageFolder(str(val_dir), transform=build_transform(pre))
    if len(train_set.classes) != model.num_classes:
        model.reset_classifier(len(train_set.classes))  # a new head for your classes
        model.config.model_args["num_classes"] = len(train_set.classes)
    model.config["preprocessing"] = {**pre, "label_names": train_set.classes}

    task = ClassificationTask(model, optim={"optimizer": "adamw", "lr": 1e-4, "weight_decay": 0.05}, label_smoothing=0.1)
    train = DataLoader(subset(train_set, args.limit), batch_size=args.batch_size, shuffle=True, drop_last=True)
    val = DataLoader(subset(val_set, args.limit), batch_size=2 * args.batch_size)
    trainer = L.Trainer(max_steps=args.max_steps, default_root_dir=out / "run", enable_progress_bar=False,
                        log_every_n_steps=10, check_val_every_n_epoch=None, val_check_interval=min(args.max_steps, 100))  # fmt: skip
    trainer.fit(task, train, val)
    acc = trainer.validate(task, val, verbose=False)[0]["val/acc"]
    print(f"validation accuracy after fine-tuning: {acc:.4f} ({len(val.dataset)} images)")

    metrics = [{"name": "top1", "value": round(100 * acc, 2), "dataset": root.name, "split": val_dir.name,
                "command": f"python examples/vision_finetune.py --data {root} --max-steps {args.max_steps}"}]
    save_pretrained(model, out / "model", name=f"{args.model}-{root.name}".lower(), datasets=[root.name],
                    results={"metrics": metrics})  # fmt: skip

    reloaded = from_pretrained(out / "model")
    path, label = val_set.samples[0]
    with torch.no_grad():
        probs = reloaded(reloaded.transform(Image.open(path).convert("RGB"))[None]).softmax(-1)[0]
    names = reloaded.config["preprocessing"]["label_names"]
    print(f"{Path(path).name}: predicted {names[int(probs.argmax())]} ({float(probs.max()):.2f}), labelled {names[label]}")


if __name__ == "__main__":
    main()
