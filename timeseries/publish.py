"""Publish finished training runs into their model folders ``hub/models/<name>`` (through `zoo.promote`).

    ZOO_DATA_DIR=../shared/data python -m zoo.timeseries.publish informer-etth1-h96 autoformer-etth1-h96 ...

For each name: read ``runs/timeseries/<name>/result.json`` and ``best.safetensors`` (written by
`zoo.timeseries.train`), measure the stored weights on the first 128 test windows (a quick check for
the tests), and write the folder with its measured results, card text and recipe. No Python file is
rewritten: the folder is the one home of the model's facts.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

PROTOCOL = ("LTSF standard: ETTh1 train/val/test = 12/4/4 months (test rows 11424-14400), input 96, label 48; scaler fit "
            "on training rows; MSE/MAE on standardised values averaged over every test window")


def publish(names: list[str], runs: str = "runs/timeseries", root: str | None = None) -> dict:
    from safetensors.torch import load_file
    from torch.utils.data import DataLoader, Subset

    from zoo.promote import write_entry_folder

    from .registry import entry_for_run
    from .task import evaluate
    from .train import build_model, half_roundtrip, make_datamodule

    written = {}
    for name in names:
        run = Path(runs) / name
        res = json.loads((run / "result.json").read_text())
        recipe = res["recipe"]
        dm = make_datamodule(recipe)
        model = build_model(recipe, dm, name=name)
        model.load_state_dict(load_file(str(run / "best.safetensors")))
        dtype = torch.float16 if res["dtype"] == "float16" else None
        test = res["test_fp16"] if dtype is not None else res["test"]  # numbers of the weights as stored
        stored = half_roundtrip(model) if dtype is not None else model
        check = evaluate(stored, DataLoader(Subset(dm.test_set, range(128)), batch_size=256))["mse"]
        facts = {
            "mse": round(test["mse"], 6), "mae": round(test["mae"], 6), "params": res["params"],
            "best_epoch": res["best_epoch"], "dtype": res["dtype"], "n_test_windows": res["n_test_windows"],
            "check_first_128_mse": round(check, 6), "val_mse": round(res["best_val_mse"], 6), "epochs_run": res["epochs_run"],
        }
        entry = entry_for_run(name, facts)
        for m in entry.metrics:
            object.__setattr__(m, "protocol", PROTOCOL)
        folder = write_entry_folder(model, entry, dtype=dtype, root=root)
        written[name] = folder
        print(name, facts["mse"], facts["mae"], folder)
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="+")
    p.add_argument("--runs", default="runs/timeseries")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    publish(a.names, a.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
