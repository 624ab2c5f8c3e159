"""Fine-tune a pretrained molecular property model on your own CSV of SMILES with a plain ``lightning.Trainer``.

The CSV has a SMILES column and one numeric target column; it is split 80/10/10 at random, and the
target and descriptor scaling are refitted on its training part. The model is saved in Hub form with its
test RMSE, reloaded, and asked for predictions.

    python examples/graph_finetune.py --csv my.csv --smiles smiles --target y --out runs/my-gps --max-steps 500
    python examples/graph_finetune.py --out runs/demo --max-steps 5     # logP of micro-ZINC from $ZOO_DATA_DIR
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import lightning as L
import torch

import zoo
from zoo.graph.data import GraphDataset, load_csv, loader, molecule_graphs, random_split
from zoo.graph.task import GraphTask
from zoo.hub import from_pretrained, save_pretrained
from zoo.training import check_run_dir


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--csv", default=None, help="your data (default: $ZOO_DATA_DIR/graph/micro_zinc/micro_ZINC.csv)")
    p.add_argument("--smiles", default="SMILES", help="the SMILES column")
    p.add_argument("--target", default="logp", help="the target column")
    p.add_argument("--rows", type=int, default=0, help="use the first N molecules (0: all)")
    p.add_argument("--model", default="gps-esol")
    p.add_argument("--max-steps", type=int, default=500)
    p.add_argument("--out", default="runs/example-graph")
    args = p.parse_args(argv)
    out = check_run_dir(args.out, inputs=[args.csv])
    csv = Path(args.csv or Path(os.environ.get("ZOO_DATA_DIR", "data"), "graph", "micro_zinc", "micro_ZINC.csv"))

    L.seed_everything(0)
    table = load_csv(csv, smiles_column=args.smiles, target_columns=[args.target])
    n = min(args.rows or len(table.smiles), len(table.smiles))
    model = zoo.load(args.model)  # one regression target, like your column
    feat = model.featurizer()
    graphs, descriptors = molecule_graphs(table.smiles[:n], feat)
    targets = table.targets[:n]
    train, val, test = random_split(n, seed=0)
    model.set_normalization(targets[train], descriptors[train] if descriptors is not None else None)
    model.config["preprocessing"] = {**model.config["preprocessing"], "dataset": csv.stem, "task_names": [args.target],
                                     "smiles_column": args.smiles, "units": ""}  # fmt: skip
    ds = GraphDataset(graphs, feat, targets, descriptors)
    part = lambda idx: torch.utils.data.Subset(ds, idx.tolist())  # noqa: E731

    task = GraphTask(model, optim={"optimizer": "adamw", "lr": 3e-4, "weight_decay": 1e-5})
    trainer = L.Trainer(max_steps=args.max_steps, default_root_dir=out / "run", enable_progress_bar=False,
                        log_every_n_steps=10)  # fmt: skip
    trainer.fit(task, loader(part(train), 32, shuffle=True), loader(part(val), 256))
    rmse = trainer.test(task, loader(part(test), 256), verbose=False)[0]["test/rmse"]
    print(f"test RMSE after fine-tuning: {rmse:.4f} ({len(test)} molecules)")

    metrics = [{"name": "rmse", "value": round(rmse, 4), "dataset": csv.name, "split": "test (random 10%, seed 0)",
                "command": f"python examples/graph_finetune.py --csv {csv} --max-steps {args.max_steps}"}]
    save_pretrained(model, out / "model", name=f"{args.model.split('-')[0]}-{csv.stem}".lower().replace("_", "-"),
                    datasets=[csv.name], results={"metrics": metrics})  # fmt: skip

    reloaded = from_pretrained(out / "model")
    print(dict(zip(["CCO", "c1ccccc1"], reloaded.predict_smiles(["CCO", "c1ccccc1"])[:, 0].tolist())))


if __name__ == "__main__":
    main()
