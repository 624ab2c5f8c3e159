"""Train / fine-tune a separator with Lightning (`zoo.training`) and write a Hub-form folder + ``result.json``.

    python -m zoo.audio.train mossformer-fsdd2mix [--max-steps N] [--out runs/audio/NAME] [--data DIR] [--resume]

is what ``zoo train mossformer-fsdd2mix`` runs (recipe: `zoo.audio.recipes.RECIPES`). A run folder
that already holds ``last.ckpt`` is continued with ``--resume`` (weights, optimiser, schedule and the
position in the training stream, so it ends where an uninterrupted run would) and refused without it. A
recipe with ``restart`` trains in stages (`_run_in_stages`): the first in ``<out>/stage1``, then warm
restarts, each from the best weights of the stage before, the last in ``<out>``.
The run validates and checkpoints every ``val_every`` steps, keeps the checkpoint with the best
validation SI-SNRi, evaluates it on the fixed test mixtures of the overlap protocol (min and max) and
writes ``<out>/hub`` (``config.json``, ``model.safetensors``, ``README.md``) and ``<out>/result.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from zoo.errors import InputError
from zoo.io import atomic_write_bytes

DATA_KEYS = ("sample_rate", "segment_seconds", "batch_size", "train_size", "val_size", "test_size", "seed", "protocol",
             "mode", "train_mode", "digits", "gap_seconds", "stream_offset")


def _datamodule(recipe: dict, data: str | None, **over):
    from .data import MixtureDataModule

    kw = {k: recipe[k] for k in DATA_KEYS if k in recipe}
    kw.update({k: v for k, v in over.items() if v is not None})
    return MixtureDataModule(root=data, **kw)


def _flatten(d: dict, prefix: str = "") -> list[str]:
    out = []
    for k, v in d.items():
        if isinstance(v, dict):
            out += _flatten(v, f"{prefix}{k}.")
        else:
            out.append(f"{prefix}{k}={json.dumps(v)}")
    return out


def apply_overrides(recipe: dict, items: list[str] | dict) -> dict:
    """A copy of ``recipe`` with ``KEY=JSON`` overrides (or the dict the shared CLI parsed them into); dotted
    keys reach into dicts (``model_args.group_size=256``, ``optim.lr=0.002``, ``max_steps=800``). Unknown keys
    are refused, except new architecture arguments under ``model_args``."""
    import copy

    out = copy.deepcopy(recipe)
    if isinstance(items, dict):
        items = _flatten(items)
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
                 threads: int | None = None, progress: bool = True, overrides: list[str] | dict | None = None,
                 resume: bool = False, stop_after: int | None = None, **data_over) -> dict:  # fmt: skip
    """Train ``model`` (default: the recipe's architecture, from scratch) and return the result dict.

    ``overrides``: ``KEY=JSON`` strings (or a parsed dict) applied to the recipe (`apply_overrides`).
    ``resume``: continue ``<out>/last.ckpt`` (required when it exists; refused when it does not).
    ``stop_after``: end the fit after this many steps, as an interruption would (the schedule still spans
    ``max_steps``; tests use it to check that resuming continues exactly)."""
    from zoo.loading import build
    from zoo.training import LAST_CKPT, fit, make_trainer, seed_everything, train_seconds, train_segments

    from .recipes import train_recipe
    from .task import SeparationTask

    if recipe is None:
        recipe = train_recipe(name)
    if overrides:
        recipe = apply_overrides(recipe, overrides)
    if recipe.get("restart"):
        return _run_in_stages(name, recipe, model=model, out=out, data=data, max_steps=max_steps, val_every=val_every,
                              threads=threads, progress=progress, resume=resume, stop_after=stop_after, **data_over)
    if threads:
        torch.set_num_threads(int(threads))
    out = Path(out or f"runs/audio/{name}")
    last = out / LAST_CKPT
    if resume and not last.is_file():
        raise InputError(f"--resume: expected a run folder with {LAST_CKPT}, got {str(out)!r} without one")
    if not resume and last.is_file():
        raise InputError(f"{str(out)!r} already holds a run ({LAST_CKPT}): pass --resume to continue it, or another --out")
    seed_everything(recipe["seed"])
    if model is None:
        model = build(recipe["architecture"], recipe["model_args"], name=name)
    if recipe.get("init"):  # a continued stage starts from the weights of the stage before
        from zoo.loading import load_weights_file

        init = Path(recipe["init"])
        if init.is_dir():  # the stage's Hub-form folder: weights checked against the sha256 it records, and finite
            from zoo.hub import verify_folder

            verify_folder(init, require_sha256=True)
            init = init / "model.safetensors"
        load_weights_file(model, init)
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
    callbacks = [_StopAfter(stop_after)] if stop_after else []
    trainer = make_trainer(
        callbacks=callbacks, max_epochs=-1, max_steps=steps, ckpt_dir=out, monitor="val/si_snri", mode="max",
        gradient_clip_val=recipe.get("gradient_clip_val"), progress_bar=progress, log_every_n_steps=10,
        val_check_interval=min(val_every, batches_per_epoch), num_sanity_val_steps=0,
        reload_dataloaders_every_n_epochs=1,  # the training stream's position follows the epoch (data.py)
    )  # fmt: skip
    fit(task, dm, trainer, resume="auto" if resume else None)
    train_s = train_seconds(trainer)  # training (with its validations) of the steps kept, across resumes
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    if best and Path(best).is_file():
        state = torch.load(best, map_location="cpu", weights_only=False)["state_dict"]
        model.load_state_dict({k[len("model."):]: v for k, v in state.items() if k.startswith("model.")})
    from .cli import evaluate_protocol

    protocol = "sparse" if recipe.get("protocol") == "sparse" else "overlap"
    res = evaluate_protocol(model, name, data, protocol=protocol, mixtures=recipe.get("test_size"))
    best_step = int(torch.load(best, map_location="cpu", weights_only=False)["global_step"]) if best else None
    result = {"name": name, "steps": int(trainer.global_step), "train_seconds": round(train_s, 1),
              "best_checkpoint": str(best), "best_step": best_step, "parameters": sum(p.numel() for p in model.parameters()),
              "threads": torch.get_num_threads(), "segments": train_segments(trainer), "recipe": recipe,
              "test": res}  # fmt: skip
    save_folder(model, name, out / "hub", result)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "result.json", (json.dumps(result, indent=2) + "\n").encode())
    return result


def _run_in_stages(name: str, recipe: dict, *, out, resume: bool, stop_after, model=None, **kw) -> dict:
    """A recipe with ``restart`` (`zoo.audio.recipes.restart_stages`: one ``{"max_steps", "lr"}`` or a list) trains
    in stages: the recipe itself in ``<out>/stage1``, then each restart in turn, ``max_steps`` more steps from the
    best weights of the stage before with a fresh optimiser, warm-up and cosine from ``lr`` (a warm restart), the
    training stream going on where the stage before ended; the last stage runs in ``<out>``, the ones between in
    ``<out>/stage2``, ... ``resume`` continues whichever stage was interrupted. The result is the last stage's,
    with each earlier stage's steps, time, threads and their segments (`zoo.training.train_segments`), best step
    and validation history under ``earlier_stages``."""
    from zoo.training import LAST_CKPT

    from .recipes import restart_stages

    out = Path(out or f"runs/audio/{name}")
    later = restart_stages(recipe["restart"])
    dirs = [out / f"stage{i + 1}" for i in range(len(later))] + [out]
    held = [d / LAST_CKPT for d in dirs if (d / LAST_CKPT).is_file()]
    if resume and not held:
        raise InputError(f"--resume: expected a run folder with {LAST_CKPT}, got {str(out)!r} without one")
    if not resume and held:
        raise InputError(f"{str(out)!r} already holds a run ({held[0].relative_to(out)}): pass --resume to continue "
                         "it, or another --out")  # fmt: skip
    base = {k: v for k, v in recipe.items() if k != "restart"}
    per_epoch = max(1, int(base["train_size"]) // int(base["batch_size"]))
    drawn, earlier = int(base.get("stream_offset", 0)), []  # epochs of the training stream drawn so far
    for i, folder in enumerate(dirs):
        stage, last = base, folder == out
        if i:  # a warm restart from the best weights of the stage before
            stage = dict(base, max_steps=int(later[i - 1]["max_steps"]), init=str(dirs[i - 1] / "hub"),
                         optim=dict(base["optim"], lr=float(later[i - 1]["lr"])), stream_offset=drawn)  # fmt: skip
            kw.pop("max_steps", None)  # --max-steps sets the first stage's length
        if not last and (folder / "result.json").is_file():  # this stage has finished
            done = json.loads((folder / "result.json").read_text())
        else:
            done = run_training(name, model=None if i else model, recipe=stage, out=folder,
                                resume=(folder / LAST_CKPT).is_file(), stop_after=stop_after if last else None, **kw)
        drawn += -(-int(done["steps"]) // per_epoch)
        if not last:
            earlier.append({"steps": done["steps"], "train_seconds": done["train_seconds"], "threads": done["threads"],
                            "segments": done.get("segments", []), "best_step": done.get("best_step"),
                            "val_si_snri": val_history(folder)})  # fmt: skip
    done["earlier_stages"] = earlier
    atomic_write_bytes(out / "result.json", (json.dumps(done, indent=2) + "\n").encode())
    return done


def val_history(run: str | Path) -> dict[int, float]:
    """Validation SI-SNRi by step (1-based: after that many steps) from a run's logs; the latest value wins."""
    from zoo.training import logged_rows

    return {int(r["step"]) + 1: round(float(r["val/si_snri"]), 3) for r in logged_rows(run, "val/si_snri")}


class _StopAfter:
    """Lightning callback: stop the fit once ``global_step`` reaches ``steps``."""

    def __new__(cls, steps: int):
        from lightning.pytorch.callbacks import Callback

        class StopAfter(Callback):
            def on_train_batch_end(self, trainer, *args, **kwargs):
                if trainer.global_step >= steps:
                    trainer.should_stop = True

        return StopAfter()


def save_folder(model, name: str, folder: Path, result: dict | None = None) -> None:
    """Hub-form folder named ``name`` (`zoo.hub.save_pretrained`), with the test SI-SNRi of ``result`` (each
    condition) as its results and the recipe as its training facts."""
    from zoo.hub import save_pretrained

    kw = {}
    if result is not None:
        test = result["test"]
        cmd = f"zoo eval {name} --weights {folder}" + ("" if test["protocol"] == "overlap" else " --protocol sparse")
        metrics = [{"name": metric, "value": r[key], "dataset": "FSDD", "split": "test",
                    "protocol": f"{test['protocol']}-{mode}" if mode != "sparse" else "sparse", "command": cmd}
                   for mode, r in test["results"].items()
                   for metric, key in (("SI-SNRi", "si_snri"), ("SI-SNR", "si_snr"))]  # fmt: skip
        kw = dict(name=name, datasets=["FSDD"], results={"metrics": metrics},
                  training={"command": f"zoo train {name} --threads {result['threads']} --no-progress",
                            "recipe": result.get("recipe"), "steps": result["steps"],
                            "seconds": result["train_seconds"], "threads": result["threads"]})  # fmt: skip
    save_pretrained(model, folder, **kw)


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
    p.add_argument("--resume", action="store_true", help="continue OUT/last.ckpt")
    a = p.parse_args(argv)
    res = run_training(a.name, out=a.out, data=a.data, max_steps=a.max_steps, val_every=a.val_every,
                       threads=a.threads, progress=not a.no_progress, val_size=a.val_size,
                       test_size=a.test_size, overrides=a.set, resume=a.resume)  # fmt: skip
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
