"""Vision commands for the ``zoo`` CLI: predict, eval, finetune, train.

Examples:
    $ zoo predict swin-tiny cat.jpg dog.png            # top-5 classes with names
    $ zoo eval swin-tiny --data /data/imagenet/val     # top-1 / top-5 on an ImageFolder
    $ zoo finetune dinat-mini --data flowers/ --num-classes 5 --epochs 3 --precision bf16-mixed --out runs/flowers
    $ zoo train swin-cifar10 --data ../shared/data/vision/cifar10     # the registered CIFAR-10 recipe
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from torch import nn

from zoo.cli_support import command
from zoo.errors import InputError

COMMANDS: dict = {}  # zoo VERB -> (add_arguments, run), filled by @command below
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm")


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def open_image(path: str | Path):
    """A PIL RGB image, or `InputError` naming the file and what is wrong with it."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise InputError(f"image file {str(path)!r} does not exist")
    try:
        with Image.open(path) as im:
            im.load()
            return im.convert("RGB")  # grayscale, palette and RGBA files become RGB, as timm does
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise InputError(
            f"{str(path)!r} is not a readable image (expected one of {', '.join(IMAGE_SUFFIXES)}): {exc}"
        ) from None


def _image_folder(root: str | Path, transform, split: str | None = None):
    from torchvision.datasets import ImageFolder

    root = Path(root)
    path = root / split if split and (root / split).is_dir() else root
    if not path.is_dir():
        raise InputError(f"expected an ImageFolder directory (class sub-folders of images), got {str(path)!r}")
    try:
        return ImageFolder(str(path), transform=transform, loader=open_image)
    except (FileNotFoundError, RuntimeError) as exc:
        raise InputError(f"{str(path)!r} is not an ImageFolder (<root>/<class>/<image>): {exc}") from None


class InMemoryImages(torch.utils.data.Dataset):
    """An ImageFolder decoded once into memory (PIL images), transformed on each access.

    Decoding the 50 000 CIFAR-10 files once instead of every epoch saves most of the data cost on a
    small CPU; the transform (timm's augmentation) still runs per sample, so every epoch differs.
    """

    def __init__(self, folder, transform=None):
        self.classes = list(folder.classes)
        self.targets = list(folder.targets)
        self.images = [folder.loader(path) for path, _ in folder.samples]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        im = self.images[i]
        return (self.transform(im) if self.transform is not None else im), self.targets[i]


class _Transformed(torch.utils.data.Dataset):
    """A view of ``InMemoryImages`` (or a subset of it) with its own transform."""

    def __init__(self, base: InMemoryImages, indices: list[int], transform):
        self.base, self.indices, self.transform = base, indices, transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        j = self.indices[i]
        return self.transform(self.base.images[j]), self.base.targets[j]


def split_holdout(n: int, holdout: int, seed: int = 0) -> tuple[list[int], list[int]]:
    """Indices ``(train, held_out)`` of ``n`` samples: ``holdout`` of them, fixed by ``seed``, set aside."""
    from zoo.vision.fastdata import holdout_split

    if not 0 < holdout < n:
        raise InputError(f"--val-holdout must be between 1 and {n - 1} (the training images), got {holdout}")
    train, held = holdout_split(n, holdout, seed)
    return train.tolist(), held.tolist()


def _limit(dataset, limit: int | None, seed: int = 0):
    if not limit or limit >= len(dataset):
        return dataset
    g = torch.Generator().manual_seed(seed)
    return torch.utils.data.Subset(dataset, torch.randperm(len(dataset), generator=g)[:limit].tolist())


def _input_size(model: nn.Module) -> tuple[int, int]:
    pre = dict(model.config.get("preprocessing", {}) or {})
    size = pre.get("input_size", [3, 224, 224])
    return int(size[1]), int(size[2])


# ---------------------------------------------------------------------------------------------
# predict
# ---------------------------------------------------------------------------------------------


def add_predict_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", nargs="+", help="image files")
    p.add_argument("--topk", type=int, default=None,
                   help="classes to show per image, 1 .. the model's classes (default: 5, or all when fewer)")


def _folder_of(args: argparse.Namespace) -> Path | None:
    for value in (getattr(args, "weights", None), args.name):
        if value and Path(value).is_dir():
            return Path(value)
    return None


def load_for_inference(args: argparse.Namespace, verb: str = "predict") -> nn.Module:
    """The vision classifier of ``args.name`` / ``--weights``; a folder of another domain is an `InputError`."""
    from zoo.cli_support import load_model
    from zoo.registry import architectures

    folder = _folder_of(args)
    if folder is not None and (folder / "config.json").is_file():
        try:
            cfg = json.loads((folder / "config.json").read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            cfg = {}
        arch_name = (cfg.get("zoo_architecture") or cfg.get("architecture")) if isinstance(cfg, dict) else None
        arch = architectures().get(arch_name)
        if arch is not None and arch.domain != "vision":
            raise InputError(f"`zoo {verb}` expected a vision (image-classification) model folder, got "
                             f"{str(folder)!r} holding a {arch.domain} model (architecture {arch_name!r})")
    model = load_model(args)
    if not hasattr(model, "transform") or not hasattr(model, "num_classes"):
        raise InputError(f"`zoo {verb}` expected an image classifier, got a {type(model).__name__}")
    return model


def _as_image(im, index: int):
    """A PIL RGB image from a path, a PIL image (grayscale/RGBA/palette converted) or an HWC uint8 array."""
    import numpy as np
    from PIL import Image

    if isinstance(im, (str, Path)):
        return open_image(im)
    if isinstance(im, Image.Image):
        return im if im.mode == "RGB" else im.convert("RGB")
    if isinstance(im, np.ndarray):
        if im.dtype != np.uint8 or not (im.ndim == 2 or (im.ndim == 3 and im.shape[-1] in (1, 3, 4))):
            raise InputError(f"image {index}: expected an HxWx3 (or HxW, HxWx1, HxWx4) uint8 array, got "
                             f"{im.dtype} of shape {im.shape}")
        return Image.fromarray(im[..., 0] if im.ndim == 3 and im.shape[-1] == 1 else im).convert("RGB")
    raise InputError(f"image {index}: expected a file path, a PIL image or an HxWx3 uint8 numpy array, "
                     f"got {type(im).__name__}")


@torch.inference_mode()
def predict(model: nn.Module, images: list, topk: int | None = None) -> list[list[tuple[int, str, float]]]:
    """Top-k ``(index, name, probability)`` for each image: a path, a PIL image or an HxWx3 uint8 array.

    ``topk`` defaults to 5 (or every class when the model has fewer); an explicit value must be 1 .. classes.

    Example:
        >>> predict(zoo.load("swin-cifar10"), ["cat.png", PIL.Image.open("dog.png")], topk=3)
    """
    from zoo.vision.common import class_names

    if isinstance(images, (str, Path)) or not hasattr(images, "__len__"):
        images = [images]
    if len(images) == 0:
        raise InputError("expected at least one image (a path, a PIL image or an HxWx3 uint8 array), got none")
    if topk is None:
        topk = min(5, model.num_classes)
    if isinstance(topk, bool) or not isinstance(topk, int) or not 1 <= topk <= model.num_classes:
        raise InputError(f"expected topk between 1 and {model.num_classes} (the model's classes), got {topk!r}")
    names = class_names(dict(model.config.get("preprocessing", {}) or {}), model.num_classes)
    x = torch.stack([model.transform(_as_image(im, i)) for i, im in enumerate(images)])
    prob = model(x).softmax(-1)
    top = prob.topk(topk, dim=-1)
    return [[(int(i), names[int(i)], float(p)) for p, i in zip(ps, idx)] for ps, idx in zip(top.values, top.indices)]


@command(COMMANDS, "predict", add_predict_arguments)
def run_predict(args: argparse.Namespace) -> int:
    from zoo.cli_support import emit
    from zoo.io import atomic_write, check_output

    out = check_output(args.out, inputs=args.images, suffixes=(".json",), what="--out") if args.out else None
    for path in args.images:
        open_image(path)  # a missing or unreadable file is refused before the model is loaded
    model = load_for_inference(args)
    results = predict(model, args.images, args.topk)
    data = {str(p): [{"index": i, "label": n, "prob": round(s, 5)} for i, n, s in r]
            for p, r in zip(args.images, results)}
    if out is not None:
        with atomic_write(out) as tmp:
            tmp.write_text(json.dumps(data, indent=2) + "\n")
    lines = []
    for path, rows in zip(args.images, results):
        lines.append(str(path))
        lines += [f"  {p:7.2%}  {name}  ({i})" for i, name, p in rows]
    emit(args, data, "\n".join(lines))
    return 0


# ---------------------------------------------------------------------------------------------
# eval
# ---------------------------------------------------------------------------------------------


def add_eval_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--split", default=None, help="sub-folder of --data to use (default: val, then test, then the root)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--limit", type=int, default=None, help="evaluate a fixed random subset of this many images")
    p.add_argument("--tta", choices=("none", "flip"), default="none",
                   help="test-time augmentation: 'flip' averages the softmax of each image and its mirror image")


def data_root(args: argparse.Namespace) -> Path:
    """``--data`` (an ImageFolder root), or ``$ZOO_DATA_DIR/vision/cifar10`` for the CIFAR-10 models."""
    from zoo.cli_support import data_dir

    if args.data:
        if not Path(args.data).is_dir():
            raise InputError(f"--data expected an ImageFolder directory (class sub-folders of images), got {args.data!r}")
        return Path(args.data)
    if "cifar10" in str(args.name):
        return data_dir(None, "vision", "cifar10")
    raise InputError(f"expected --data PATH (an ImageFolder root) for {args.name!r}, got none")


def evaluate(model: nn.Module, dataset, batch_size: int = 64, workers: int = 2, tta: str = "none") -> dict:
    """Top-1 / top-5 accuracy (%) of ``model`` on ``dataset`` (``(image_tensor, label)`` pairs)."""
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, num_workers=workers)
    return evaluate_batches(model, loader, tta)


@torch.inference_mode()
def evaluate_batches(model: nn.Module, loader, tta: str = "none") -> dict:
    """Top-1 / top-5 accuracy (%) of ``model`` over ``(images, labels)`` batches; ``tta="flip"`` averages the
    softmax of each image and its horizontal mirror."""
    if tta not in ("none", "flip"):
        raise InputError(f"expected tta 'none' or 'flip', got {tta!r}")
    n = top1 = top5 = 0
    for x, y in loader:
        logits = model(x)
        if tta == "flip":
            logits = (logits.softmax(-1) + model(x.flip(-1)).softmax(-1)) / 2
        k = min(5, logits.shape[-1])
        pred = logits.topk(k, dim=-1).indices
        top1 += (pred[:, 0] == y).sum().item()
        top5 += (pred == y[:, None]).any(-1).sum().item()
        n += len(y)
    return {"top1": 100.0 * top1 / max(n, 1), "top5": 100.0 * top5 / max(n, 1), "images": n}


@command(COMMANDS, "eval", add_eval_arguments)
def run_eval(args: argparse.Namespace) -> int:
    from zoo.cli_support import emit

    root = data_root(args)
    model = load_for_inference(args, "eval")
    split = args.split
    if split is None:
        split = next((s for s in ("val", "test") if (root / s).is_dir()), None)
    dataset = _image_folder(root, model.transform, split)
    if len(dataset.classes) != model.num_classes:
        raise InputError(f"expected {model.num_classes} class folders (the model's classes), got "
                         f"{len(dataset.classes)} in {str(root)!r}")
    result = evaluate(model, _limit(dataset, args.limit), args.batch_size, args.workers, args.tta)
    result.update(model=args.name, data=str(root), split=split, **({"tta": args.tta} if args.tta != "none" else {}))
    emit(args, result)
    return 0


# ---------------------------------------------------------------------------------------------
# finetune / train (Lightning through zoo.training)
# ---------------------------------------------------------------------------------------------


def _fast_sets(data: Path, pre: dict, holdout: int | None, seed: int):
    """``(train, val, test, classes)`` as ``(uint8 images, labels)`` tensor pairs (`zoo.vision.fastdata`): val is
    ``val/`` when ``holdout`` is None, else ``holdout`` images of train/ (-1: a tenth), the split of `split_holdout`."""
    from zoo.vision.fastdata import load_image_folder

    size = tuple(pre.get("input_size", [3, 32, 32])[-2:])
    x, y, classes = load_image_folder(data / "train", None, size)
    test = load_image_folder(data / "test", classes, size)[:2] if (data / "test").is_dir() else None
    if holdout is None:
        return (x, y), load_image_folder(data / "val", classes, size)[:2], test, classes
    holdout = max(1, len(y) // 10) if holdout < 0 else holdout
    train_idx, val_idx = map(torch.as_tensor, split_holdout(len(y), holdout, seed))  # checks --val-holdout
    return (x[train_idx], y[train_idx]), (x[val_idx], y[val_idx]), test, classes


def _fast_loader(pair, batch_size: int, limit: int | None, seed: int, train: bool, pre: dict,
                 channels_last: bool = False):
    from zoo.vision.fastdata import FastLoader

    x, y = pair
    if limit:
        keep = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))[:limit].sort().values
        x, y = x[keep], y[keep]
    return FastLoader(x, y, batch_size, shuffle=train, augment=train, seed=seed, drop_last=train,
                      mean=pre.get("mean", (0.5, 0.5, 0.5)), std=pre.get("std", (0.5, 0.5, 0.5)),
                      channels_last=channels_last)


def add_finetune_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--num-classes", type=int, required=True)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--precision", default="32-true", help="32-true or bf16-mixed")
    p.add_argument("--img-size", type=int, default=None, help="input size (models with a fixed size keep theirs)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--limit-train", type=int, default=None, help="use a random subset of the training images")
    p.add_argument("--limit-val", type=int, default=None)
    p.add_argument("--no-pretrained", action="store_true", help="start from random weights")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-holdout", type=int, default=None,
                   help="validate (and pick the checkpoint) on this many images held out of train/ "
                        "(default: val/ when it exists, else 10%% of train/; test/ is never used for selection)")
    p.add_argument("--in-memory", action="store_true", help="decode the training images once into memory")
    p.add_argument("--fast-data", action="store_true",
                   help="hold train/ and test/ in memory as uint8 tensors and augment whole batches in torch "
                        "(random crop of the 4-pixel reflect-padded image + horizontal flip; small images such as CIFAR)")
    p.add_argument("--warmup-steps", type=int, default=None, help="linear warm-up steps (default: min(100, 10%% of the steps))")
    p.add_argument("--channels-last", action="store_true",
                   help="train with channels-last weights and inputs (faster convolutions on CPU)")


def finetune(args: argparse.Namespace, pretrained: bool = True, model_overrides: dict | None = None,
             entry_fields: dict | None = None, train_transform: dict | None = None, model: nn.Module | None = None) -> Path:
    """Fine-tune ``args.name`` on an ImageFolder; the run (checkpoints, ``logs/``) stays in ``--out DIR`` and the
    model is written to ``DIR/model`` (returned). ``--resume`` continues the run from ``DIR/last.ckpt``."""
    import zoo
    from zoo.hub import save_pretrained
    from zoo.registry import Metric, ModelEntry, get_entry
    from zoo.training import finetune as finetune_run_dir
    from zoo.training import seed_everything
    from zoo.vision.common import build_transform
    from zoo.vision.task import ClassificationTask

    if args.precision not in ("32-true", "32", "bf16-mixed", "bf16-true"):
        raise InputError(f"--precision must be 32-true or bf16-mixed, got {args.precision!r}")
    args.data = str(data_root(args))
    run = Path(args.out or f"runs/{args.name}-finetuned")
    out = run / "model"
    if run.resolve() == Path(args.data).resolve() or Path(args.data).resolve() in run.resolve().parents:
        raise InputError(f"--out {str(run)!r} is inside the input data folder {args.data!r}; choose another folder "
                         "(the zoo never writes into its inputs)")
    seed_everything(args.seed)
    base = get_entry(args.name)
    if model is None:
        model = zoo.load(args.name, pretrained=pretrained, **(model_overrides or {}))  # body + old head, strict
    pre = dict(model.config.get("preprocessing", {}) or {})
    if args.img_size and not hasattr(model, "img_size"):
        pre["input_size"] = [3, args.img_size, args.img_size]
        pre["crop_pct"] = 1.0
    train_tf = build_transform(pre, is_training=True, **dict(train_transform or {}))
    eval_tf = build_transform(pre)
    data = Path(args.data)
    holdout = args.val_holdout
    if holdout is None and not (data / "val").is_dir():
        holdout = -1  # 10 % of train/, set below
    fast = bool(getattr(args, "fast_data", False))
    mem = InMemoryImages(_image_folder(args.data, None, "train")) if args.in_memory and not fast else None
    if fast:  # uint8 tensors in memory, batched crop + flip in torch (zoo.vision.fastdata)
        train_set, val_set, test_set, classes = _fast_sets(data, pre, holdout, args.seed)
        if holdout is None:
            val_split = "val"
        else:
            holdout = len(val_set[1])
            val_split = f"train (hold-out of {holdout}, seed {args.seed})"
    elif holdout is None:  # a val/ folder and no hold-out asked for
        val_split = "val"
        val_set = _image_folder(args.data, eval_tf, val_split)
        train_set = _Transformed(mem, list(range(len(mem))), train_tf) if mem else \
            _image_folder(args.data, train_tf, "train")
        classes = mem.classes if mem else train_set.classes
    else:
        folder = mem or _image_folder(args.data, None, "train")
        n, classes = len(folder.targets), folder.classes
        holdout = max(1, n // 10) if holdout < 0 else holdout
        train_idx, val_idx = split_holdout(n, holdout, args.seed)
        val_split = f"train (hold-out of {holdout}, seed {args.seed})"
        if mem:
            train_set, val_set = _Transformed(mem, train_idx, train_tf), _Transformed(mem, val_idx, eval_tf)
        else:
            train_set = torch.utils.data.Subset(_image_folder(args.data, train_tf, "train"), train_idx)
            val_set = torch.utils.data.Subset(_image_folder(args.data, eval_tf, "train"), val_idx)
    if len(classes) != args.num_classes:
        raise InputError(f"--num-classes {args.num_classes} but {args.data}/train has {len(classes)} "
                         f"class folders: {', '.join(classes[:10])}")
    if model.num_classes != args.num_classes:
        model.reset_classifier(args.num_classes)  # new head
    model.config.model_args["num_classes"] = args.num_classes
    pre["label_names"] = list(classes)
    pre.pop("labels", None)
    model.config["preprocessing"] = pre
    model.init_preprocessing()

    channels_last = bool(getattr(args, "channels_last", False))
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if fast:
        loaders = [_fast_loader(train_set, args.batch_size, args.limit_train, args.seed, True, pre, channels_last),
                   _fast_loader(val_set, 500, args.limit_val, args.seed, False, pre, channels_last)]
    else:
        loaders = [torch.utils.data.DataLoader(_limit(ds, lim, args.seed), batch_size=args.batch_size, shuffle=shuffle,
                                               num_workers=args.workers, drop_last=shuffle)
                   for ds, lim, shuffle in ((train_set, args.limit_train, True), (val_set, args.limit_val, False))]
    steps = max(1, len(loaders[0])) * args.epochs
    warmup = getattr(args, "warmup_steps", None)
    optim = {"optimizer": "adamw", "lr": args.lr, "weight_decay": args.weight_decay, "scheduler": "cosine",
             "warmup_steps": min(100, max(1, steps // 10)) if warmup is None else min(int(warmup), max(1, steps // 2))}
    module = ClassificationTask(model, optim, num_classes=args.num_classes)
    # the run in `run` (new or empty, or resumed); the best checkpoint on validation is loaded back at the end
    trainer = finetune_run_dir(module, out=run, resume=bool(getattr(args, "resume", False)), max_epochs=args.epochs,
                               monitor="val/acc", mode="max", inputs=[args.data], train_dataloaders=loaders[0],
                               val_dataloaders=loaders[1], precision=args.precision)  # fmt: skip
    best = getattr(trainer.checkpoint_callback, "best_model_path", "")
    model.eval()
    if fast:
        acc = evaluate_batches(model, loaders[1])
    else:
        acc = evaluate(model, _limit(val_set, args.limit_val, args.seed), args.batch_size, args.workers)
    acc["selected_on"] = val_split
    acc["checkpoint"] = best or None
    cmd = (f"zoo eval {out} --data {args.data}"
           + (f" --limit {args.limit_val}" if args.limit_val else ""))
    if holdout is not None:
        cmd = f"validation during training ({val_split})"
    if (data / "test").is_dir() and holdout is not None:  # reported once, after selection
        test = (evaluate_batches(model, _fast_loader(test_set, 500, None, args.seed, False, pre, channels_last)) if fast else
                evaluate(model, _image_folder(args.data, eval_tf, "test"), args.batch_size, args.workers))
        acc["test_top1"], acc["test_images"] = test["top1"], test["images"]
    fields = dict(
        name=run.name, architecture=model.config.architecture,
        domain="vision", task="image-classification",
        model_args=dict(model.config.model_args), preprocessing=pre, license=base.license,
        metrics=[Metric(name="top1", value=round(acc["top1"], 2), dataset=str(args.data), split=val_split,
                        command=cmd, note=f"measured after fine-tuning, {acc['images']} images")],
        description=f"{base.name} fine-tuned on {args.data} ({args.num_classes} classes) with `zoo finetune`.",
        base_model=base.weights.repo_id if base.weights is not None and base.weights.repo_id else None,
        train_command=f"zoo finetune {args.name} --data {args.data} --num-classes {args.num_classes} "
                      f"--epochs {args.epochs} --batch-size {args.batch_size} --lr {args.lr} "
                      f"--precision {args.precision}",
        tags=("image-classification", "fine-tuned"),
        datasets=(Path(args.data).name,),
    )
    fields.update(entry_fields or {})
    model.to(memory_format=torch.contiguous_format)  # safetensors stores contiguous tensors
    save_pretrained(model, out, entry=ModelEntry(**fields))
    print(json.dumps({"folder": str(out), **acc}, indent=2))
    return out


_TUNABLE = ("epochs", "batch_size", "lr", "weight_decay", "precision", "img_size", "workers", "limit_train",
            "limit_val", "seed", "val_holdout", "warmup_steps", "channels_last")


@command(COMMANDS, "finetune", add_finetune_arguments)
def run_finetune(args: argparse.Namespace) -> int:
    from zoo.cli_support import apply_overrides

    given = apply_overrides({k: getattr(args, k) for k in _TUNABLE}, getattr(args, "overrides", None) or {},
                            "zoo finetune")
    for key, value in given.items():
        setattr(args, key, value)
    finetune(args, pretrained=not args.no_pretrained)
    return 0


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    add_finetune_arguments(p)
    for action in p._actions:  # recipe values fill whatever the user does not pass
        if action.dest == "num_classes":
            action.required = False
        if action.dest in ("num_classes", "epochs", "batch_size", "lr", "weight_decay", "precision", "workers",
                           "val_holdout", "limit_train", "warmup_steps", "channels_last"):
            action.default = None


@command(COMMANDS, "train", add_train_arguments)
def run_train(args: argparse.Namespace) -> int:
    """``zoo train <recipe>``: from-scratch training with the recipe's hyper-parameters (see recipes.py)."""
    from zoo.vision.recipes import RECIPES

    if args.name not in RECIPES:
        raise InputError(f"no vision training recipe named {args.name!r}; recipes: {', '.join(RECIPES)}")
    recipe = RECIPES[args.name]
    from zoo.cli_support import apply_overrides

    args.data = str(data_root(args))
    recipe_args = apply_overrides(recipe["args"], getattr(args, "overrides", None) or {}, f"recipe {args.name}")
    for key, value in recipe_args.items():
        if key == "val_holdout" and (Path(args.data) / "val").is_dir():
            continue  # a val/ folder is used as it is; the recipe's hold-out is for train/ + test/ sets
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    args.num_classes = args.num_classes or recipe["num_classes"]
    args.in_memory = args.in_memory or recipe.get("in_memory", False)
    args.fast_data = args.fast_data or recipe.get("fast_data", False)
    if args.workers is None:
        args.workers = 2
    from zoo.loading import build

    # the recipe's own architecture and arguments (a registered folder of the same name may predate the recipe)
    model = build(recipe["architecture"], dict(recipe["model_args"]), _recipe_preprocessing(), name=args.name)
    finetune(args, pretrained=False, train_transform=recipe.get("train_transform"), model=model)
    return 0


def _recipe_preprocessing() -> dict:
    from zoo.vision.recipes import _PRE

    return dict(_PRE)


__all__ = ["COMMANDS", "evaluate", "finetune", "open_image", "predict"]
