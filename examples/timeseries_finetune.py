"""Fine-tune a pretrained forecaster on your own CSV with a plain ``lightning.Trainer``.

The CSV has a ``date`` column followed by the model's seven columns (the ETT layout); it is split
70/10/20 in time and standardised with its own training rows. The fine-tuned model is saved in Hub form
with its test MSE, reloaded, and asked for a forecast.

    python examples/timeseries_finetune.py --csv my.csv --out runs/my-informer --max-steps 300
    python examples/timeseries_finetune.py --out runs/demo --max-steps 5   # ETTh2 rows from $ZOO_DATA_DIR
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import lightning as L
import pandas as pd

import zoo
from zoo.hub import from_pretrained, save_pretrained
from zoo.timeseries.data import ForecastDataModule
from zoo.timeseries.task import ForecastTask, evaluate
from zoo.training import check_run_dir


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--csv", default=None, help="your data (default: $ZOO_DATA_DIR/timeseries/ETTh2.csv)")
    p.add_argument("--rows", type=int, default=2000, help="use the first N rows of the CSV (0: all)")
    p.add_argument("--max-steps", type=int, default=300)
    p.add_argument("--out", default="runs/example-timeseries")
    args = p.parse_args(argv)
    out = check_run_dir(args.out)  # a new or empty folder: nothing of yours is overwritten
    csv = Path(args.csv or Path(os.environ.get("ZOO_DATA_DIR", "data"), "timeseries", "ETTh2.csv"))
    if args.rows:  # a slice of the CSV, written inside --out
        (out / "data").mkdir(parents=True)
        pd.read_csv(csv).head(args.rows).to_csv(out / "data" / "my_series.csv", index=False)
        csv = out / "data" / "my_series.csv"

    L.seed_everything(0)
    model = zoo.load("informer-etth1-h96")  # eval mode; fit puts it in train mode
    dm = ForecastDataModule(str(csv), seq_len=model.seq_len, label_len=model.label_len, pred_len=model.pred_len)
    dm.setup()
    before = evaluate(model, dm.test_dataloader())["mse"]
    model.config["preprocessing"] = {**model.config["preprocessing"], **dm.preprocessing()}  # your scaler

    task = ForecastTask(model, lr=1e-4)
    trainer = L.Trainer(max_steps=args.max_steps, default_root_dir=out / "run", enable_progress_bar=False,
                        val_check_interval=min(args.max_steps, 50), check_val_every_n_epoch=None,
                        limit_val_batches=10, log_every_n_steps=10)  # fmt: skip
    trainer.fit(task, datamodule=dm)
    test = evaluate(model, dm.test_dataloader())
    print(f"test MSE (standardised) before {before:.4f}, after {test['mse']:.4f}")

    cmd = f"python examples/timeseries_finetune.py --csv {csv} --max-steps {args.max_steps}"
    metrics = [{"name": k, "value": round(test[k], 4), "dataset": csv.name, "split": "test (last 20%)", "command": cmd}
               for k in ("mse", "mae")]  # fmt: skip
    save_pretrained(model, out / "model", name=f"informer-{csv.stem}-h96".lower().replace("_", "-"),
                    datasets=[csv.name], results={"metrics": metrics})  # fmt: skip

    reloaded = from_pretrained(out / "model")
    history = pd.read_csv(csv).tail(reloaded.seq_len)
    print(reloaded.forecast_df(history).head(3).to_string())


if __name__ == "__main__":
    main()
