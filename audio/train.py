"""Train / fine-tune a separator with Lightning (`zoo.training`) and write a Hub-form folder + ``result.json``.

    python -m zoo.audio.train mossformer-fsdd2mix [--max-steps N] [--out runs/audio/NAME] [--data DIR]

is what ``zoo train mossformer-fsdd2mix`` runs. The run resumes from ``<out>/last.ckpt`` when present,
keeps the checkpoint with the best validation SI-SNRi, evaluates it on the fixed test mixtures and
writes ``<out>/hub`` (``config.json``, ``model.safetensors``, ``README.md``) and ``<out>/result.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from zoo.errors import InputError


def _datamodule(recipe: dict, data: str | None, **over):
    from .data import MixtureDataModule

    keys = ("sample_rate", "segment_seconds", "batch_size", "train_size", "val_size", "test_size", "seed")
    kw = {k: recipe[k] for k in keys}
    kw.update({k: v for k, v in over.items() if v is not None})
    return MixtureDataModule(root=data, **kw)


def apply_overrides(recipe: dict, items: list[str]) -> dict:
    """A copy of ``recipe`` with ``KEY=JSON`` overrides; dotted keys reach into dicts
    (``model_args.group_size=256``, ``optim.lr=0.002``, ``max_steps=800``). Unknown keys are refused."""
    import copy

    out = copy.deepcopy(recipe)
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise InputError(f"--set expects KEY=JSON (e.g. optim.lr=0.002), got {item!r}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            raise InputError(f"--set {key}: the value must be JSON (numbers, true/false, \"strings\"), got {raw!r}") from None
        *path, last = key.split(".")
        node = out
        for part in path:
            if not isinstance(node.get(part), dict):
                raise InputError(f"--set {key}: the recipe has no section {part!r}; sections: "
                                 f"{sorted(k for k, v in node.items() if isinstance(v, dict))}")  # fmt: skip
            node = node[part]
        if last not in node and not (path and path[0] == "model_args"):
            raise InputError(f"--set {key}: unknown recipe field {last!r}; expected one of {sorted(node)}")
        node[last] = value
    return out


def run_training(name: str, *, model=None, recipe: dict | None = None, out: str | Path | None = None,
                 data: str | None = None, max_steps: int | None = None, val_every: int | None = None,
                 threads: int | None = None, progress: bool = True, overrides: list[str] | None = None,
                 **data_over) -> dict:  # fmt: skip
    """Train ``model`` (default: the recipe's architecture, from scratch) and return the result dict.

    ``overrides``: ``KEY=JSON`` strings applied to the recipe (`apply_overrides`)."""
    from zoo.loading import build
    from zoo.training import fit, make_trainer, seed_everything

    from .recipes import RECIPES
    from .task import SeparationTask, evaluate

    if recipe is None:
        if name not in RECIPES:
            raise InputError(f"no training recipe named {name!r}; expected one of {sorted(RECIPES)}")
        recipe = RECIPES[name]
    if overrides:
        recipe = apply_overrides(recipe, overrides)
    if threads:
        torch.set_num_threads(int(threads))
    out = Path(out or f"runs/audio/{name}")
    seed_everything(recipe["seed"])
    if model is None:
        model = build(recipe["architecture"], recipe["model_args"], name=name)
    dm = _datamodule(recipe, data, **data_over)
    dm.setup()
    steps = int(max_steps or recipe["max_steps"])
    optim = dict(recipe["optim"])
    optim["max_steps"] = steps
    if optim.get("warmup_steps"):  # short runs keep a tenth of their steps for warm-up
        optim["warmup_steps"] = min(int(optim["warmup_steps"]), max(1, steps // 10))
    task = SeparationTask(model, optim=optim)
    batches_per_epoch = max(1, len(dm.train_set) // dm.batch_size)
    val_every = int(val_every or recipe.get("val_every") or batches_per_epoch)
    trainer = make_trainer(
        max_epochs=-1, max_steps=steps, ckpt_dir=out, monitor="val/si_snri", mode="max",
        gradient_clip_val=recipe.get("gradient_clip_val"), progress_bar=progress, log_every_n_steps=10,
        val_check_interval=min(val_every, batches_per_epoch), num_sanity_val_steps=0,
    )  # fmt: skip
    t0 = time.time()
    fit(task, dm, trainer)
    train_s = time.time() - t0
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    if best and Path(best).is_file():
        state = torch.load(best, map_location="cpu", weights_only=False)["state_dict"]
        model.load_state_dict({k[len("model."):]: v for k, v in state.items() if k.startswith("model.")})
    res = evaluate(model, dm.test_dataloader())
    result = {"name": name, "steps": int(trainer.global_step), "train_seconds": round(train_s, 1),
              "best_checkpoint": str(best), "parameters": sum(p.numel() for p in model.parameters()),
              "threads": torch.get_num_threads(), "test": res}  # fmt: skip
    save_folder(model, name, out / "hub")
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def save_folder(model, name: str, folder: Path) -> None:
    """Hub-form folder; falls back to config + safetensors if the card cannot be rendered."""
    try:
        from zoo.hub import save_pretrained

        save_pretrained(model, folder)
    except Exception as exc:  # noqa: BLE001 - the weights must be written even if the card fails
        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "model.safetensors"))
        cfg = getattr(model, "config", None)
        (folder / "config.json").write_text(json.dumps({"architecture": getattr(cfg, "architecture", None),
                                                        "model_args": getattr(cfg, "model_args", {}),
                                                        "name": name, "card_error": str(exc)}, indent=2))  # fmt: skip


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m zoo.audio.train")
    p.add_argument("name")
    p.add_argument("--max-steps", type=int)
    p.add_argument("--val-every", type=int, help="validate every N training batches")
    p.add_argument("--out")
    p.add_argument("--data")
    p.add_argument("--threads", type=int)
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--val-size", type=int, help="fixed validation mixtures (default: the recipe's)")
    p.add_argument("--test-size", type=int, help="fixed test mixtures (default: the recipe's)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                   help="override a recipe field, e.g. --set optim.lr=0.002 --set model_args.group_size=256")
    a = p.parse_args(argv)
    res = run_training(a.name, out=a.out, data=a.data, max_steps=a.max_steps, val_every=a.val_every,
                       threads=a.threads, progress=not a.no_progress, val_size=a.val_size,
                       test_size=a.test_size, overrides=a.set)  # fmt: skip
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
