"""Train a registered forecasting recipe, evaluate it on the test split and write its weights.

Usage (``zoo train`` is the documented command; this module keeps working):
    ZOO_DATA_DIR=/path/to/data zoo train informer-etth1-h96
    zoo train dlinear-etth1-h96 --out runs/timeseries --threads 1 max_epochs=4 model_args.d_model=128
    python -m zoo.timeseries.train dlinear-etth1-h96 --set max_epochs=4

Steps: seed -> LTSF DataModule -> Lightning fit with early stopping on validation MSE (best
checkpoint kept) -> test MSE/MAE over every test window in fp32 and after an fp16 round trip ->
``<out>/<name>/result.json`` and ``best.safetensors``. ``--publish`` writes the Hub-form folder
``hub/models/<name>`` (fp16 when it does not move the test MSE at the 4th decimal, else fp32).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from zoo.io import atomic_write_bytes
from zoo.loading import build

from .data import ForecastDataModule
from .recipes import get_recipe
from .task import ForecastTask, evaluate


def build_model(recipe: dict, dm: ForecastDataModule, name: str | None = None):
    """Build the recipe's architecture with data-dependent arguments and data facts in its config."""
    pre = dm.preprocessing()
    n_in = len(pre["columns"])
    n_out = len(pre["out_columns"])
    args = {"seq_len": recipe["seq_len"], "label_len": recipe["label_len"], "pred_len": recipe["pred_len"],
            "enc_in": n_in, "freq": pre["freq"], **recipe["model_args"]}
    if recipe["architecture"] in ("informer", "autoformer"):
        args.update(dec_in=n_in, c_out=n_out)
    return build(recipe["architecture"], args, pre, name=name)


def make_datamodule(recipe: dict, data_dir: str | None = None) -> ForecastDataModule:
    dm = ForecastDataModule(recipe["data"], data_dir=data_dir, seq_len=recipe["seq_len"],
                            label_len=recipe["label_len"], pred_len=recipe["pred_len"],
                            features=recipe["features"], target=recipe["target"],
                            batch_size=recipe["batch_size"], train_stride=recipe.get("train_stride", 1),
                            val_stride=recipe.get("val_stride", 1))
    dm.setup()
    return dm


def fit(model, dm: ForecastDataModule, recipe: dict, run_dir: Path, log_every: int = 50) -> dict:
    """Lightning fit with early stopping on val MSE (progress bar on a terminal only); loads the best weights back into ``model``."""
    from zoo.training import fit as zoo_fit
    from zoo.training import make_trainer, train_seconds, train_segments

    task = ForecastTask(model, lr=recipe["lr"], features=recipe["features"], lr_decay=recipe.get("lr_decay", 0.5),
                        weight_decay=recipe.get("weight_decay", 0.0))
    trainer = make_trainer(max_epochs=recipe["max_epochs"], ckpt_dir=run_dir, monitor="val/mse", mode="min",
                           patience=recipe["patience"], progress_bar=None, log_every_n_steps=log_every,
                           enable_model_summary=False, num_sanity_val_steps=0)
    zoo_fit(task, datamodule=dm, trainer=trainer, resume="auto")  # resumes runs/<name>/last.ckpt after a cut
    ckpt = trainer.checkpoint_callback
    best = torch.load(ckpt.best_model_path, map_location="cpu", weights_only=False)["state_dict"]
    task.load_state_dict(best)
    return {"fit_seconds": train_seconds(trainer), "epochs_run": trainer.current_epoch,
            "best_val_mse": float(ckpt.best_model_score), "best_epoch": _best_epoch(run_dir),
            "segments": train_segments(trainer)}  # each fit's steps, threads, wall and CPU seconds, load average


def _best_epoch(run_dir: Path) -> int | None:
    from zoo.training import logged_rows

    rows = logged_rows(run_dir, "val/mse")
    if not rows:
        return None
    return int(min(rows, key=lambda r: float(r["val/mse"]))["epoch"])


def half_roundtrip(model) -> torch.nn.Module:
    import copy

    m = copy.deepcopy(model)
    with torch.no_grad():
        for t in list(m.parameters()) + list(m.buffers()):
            if t.is_floating_point():
                t.copy_(t.half().float())
    return m


OPTIONAL_RECIPE_KEYS = ("train_stride", "val_stride", "weight_decay", "fp16_check")


def apply_recipe_overrides(recipe: dict, overrides: dict) -> dict:
    """``recipe`` with ``overrides`` (``{"lr": 1e-3, "model_args": {"d_model": 128}}`` or dotted keys
    ``{"model_args.d_model": 128}``); an unknown key is an `InputError` listing the known ones."""
    from zoo.errors import InputError

    nested: dict = {}
    for key, value in overrides.items():
        if value is None:
            continue
        node, parts = nested, key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if isinstance(value, dict) and isinstance(node.get(parts[-1]), dict):
            node[parts[-1]].update(value)
        else:
            node[parts[-1]] = value
    out = dict(recipe)
    for key, value in nested.items():
        if key not in out and key not in OPTIONAL_RECIPE_KEYS:
            raise InputError(f"recipe has no field {key!r}; expected one of: {', '.join(sorted(set(out) | set(OPTIONAL_RECIPE_KEYS)))}")
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def train(name: str, data_dir: str | None = None, out: str = "runs/timeseries", threads: int = 1,
          publish: bool = False, resume: bool = False, **overrides) -> dict:
    """Run recipe ``name`` end to end; returns the result dict (also written to ``result.json``).

    ``overrides`` change recipe fields (``max_epochs=4``, ``model_args={"d_model": 128}`` or
    ``**{"model_args.d_model": 128}``). A new run needs ``<out>/<name>`` to be new or empty (a folder holding
    files is refused, never cleared); ``resume=True`` continues it from its ``last.ckpt``
    (`zoo.training.check_run_dir`).
    """
    import lightning as L

    from zoo.training import check_run_dir

    torch.set_num_threads(threads)
    recipe = apply_recipe_overrides(get_recipe(name), overrides)
    run_dir = check_run_dir(Path(out) / name, resume=resume, inputs=[data_dir])  # before any work
    L.seed_everything(recipe["seed"], workers=True)
    dm = make_datamodule(recipe, data_dir)
    model = build_model(recipe, dm, name=name)
    run_dir.mkdir(parents=True, exist_ok=True)
    info = fit(model, dm, recipe, run_dir)
    test = evaluate(model, dm.test_dataloader(), recipe["features"])
    test16, dtype = None, "float32"
    if recipe.get("fp16_check", True):  # store fp16 only if it does not move the test MSE
        test16 = evaluate(half_roundtrip(model), dm.test_dataloader(), recipe["features"])
        dtype = "float16" if abs(test16["mse"] - test["mse"]) < 5e-5 else "float32"
    result = {"name": name, "recipe": recipe, **info, "test": test, "test_fp16": test16, "dtype": dtype,
              "params": sum(p.numel() for p in model.parameters()), "n_test_windows": len(dm.test_set)}
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(run_dir / "best.safetensors"))
    atomic_write_bytes(run_dir / "result.json", json.dumps(result, indent=2).encode())
    print(json.dumps({k: result[k] for k in ("name", "test", "test_fp16", "dtype", "params", "best_epoch")}))
    if publish:
        publish_run(name, out)
    return result


def publish_run(name: str, out: str = "runs/timeseries", folder: str | None = None) -> Path:
    """Write the model folder of a finished run (``hub/models/<name>``, or ``folder``'s parent) via `zoo.timeseries.publish`."""
    from .publish import publish

    return publish([name], out, root=str(Path(folder).parent) if folder else None)[name]


def train_command(name: str) -> str:
    return f"zoo train {name}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name", help="registered recipe, e.g. informer-etth1-h96")
    p.add_argument("--data-dir", default=None, help="folder with timeseries/ETTh1.csv (default $ZOO_DATA_DIR)")
    p.add_argument("--out", default="runs/timeseries")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-epochs", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--train-stride", type=int, default=None)
    p.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                   help="override a recipe field, e.g. --set max_epochs=4 --set model_args.d_model=128")
    p.add_argument("--publish", action="store_true", help="write hub/models/<name> after training")
    p.add_argument("--resume", action="store_true", help="continue <out>/<name> from its last.ckpt")
    p.add_argument("--publish-only", action="store_true", help="only write hub/models/<name> from a finished run")
    a = p.parse_args(argv)
    if a.publish_only:
        print(publish_run(a.name, a.out))
        return 0
    overrides = {"max_epochs": a.max_epochs, "lr": a.lr, "train_stride": a.train_stride}
    for item in a.set:
        key, _, value = item.partition("=")
        overrides[key] = json.loads(value)
    train(a.name, a.data_dir, a.out, a.threads, publish=a.publish, resume=a.resume, **overrides)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
