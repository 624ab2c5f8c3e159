"""Fine-tune a pretrained speech separator on mixtures of your own recordings with a plain ``lightning.Trainer``.

``--data`` is a folder of mono WAV files named ``<word>_<speaker>_<n>.wav`` (the Free Spoken Digit layout;
other names need ``speaker_regex``, see ``zoo.audio.data.scan``). Two-speaker mixtures are drawn on the
fly. The model is saved in Hub form with its validation SI-SNRi, reloaded, and asked to separate one
mixture.

    python examples/audio_finetune.py --data my_wavs --out runs/my-mossformer2 --max-steps 500
    python examples/audio_finetune.py --out runs/demo --max-steps 5     # FSDD from $ZOO_DATA_DIR
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import lightning as L

import zoo
from zoo.audio.data import MixtureDataModule
from zoo.audio.task import SeparationTask, evaluate
from zoo.hub import from_pretrained, save_pretrained
from zoo.training import check_run_dir


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="folder of WAV files (default: $ZOO_DATA_DIR/audio/fsdd)")
    p.add_argument("--model", default="mossformer2-fsdd2mix")
    p.add_argument("--max-steps", type=int, default=500)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--val-size", type=int, default=50, help="fixed validation mixtures")
    p.add_argument("--out", default="runs/example-audio")
    args = p.parse_args(argv)
    out = check_run_dir(args.out, inputs=[args.data])
    root = Path(args.data or Path(os.environ.get("ZOO_DATA_DIR", "data"), "audio", "fsdd"))

    L.seed_everything(0)
    model = zoo.load(args.model)
    dm = MixtureDataModule(root, sample_rate=model.sample_rate, segment_seconds=2.0, batch_size=args.batch_size,
                           train_size=max(1, args.max_steps) * args.batch_size, val_size=args.val_size,
                           splits=("train", "val"))  # fmt: skip
    task = SeparationTask(model, optim={"optimizer": "adamw", "lr": 1e-4, "weight_decay": 0.01})
    trainer = L.Trainer(max_steps=args.max_steps, default_root_dir=out / "run", enable_progress_bar=False,
                        gradient_clip_val=5.0, log_every_n_steps=10)  # fmt: skip
    trainer.fit(task, datamodule=dm)
    res = evaluate(model, dm.val_dataloader())
    print(f"validation SI-SNRi after fine-tuning: {res['si_snri']:.2f} dB ({res['mixtures']} mixtures)")

    metrics = [{"name": "si_snri", "value": res["si_snri"], "dataset": root.name, "split": "validation mixtures",
                "command": f"python examples/audio_finetune.py --data {root} --max-steps {args.max_steps}"}]
    save_pretrained(model, out / "model", name=f"{args.model}-{root.name}".lower(), datasets=[root.name],
                    results={"metrics": metrics})  # fmt: skip

    reloaded = from_pretrained(out / "model")
    mix, _ = dm.val_set[0]
    est = reloaded.separate(mix)
    print(f"separated a {mix.numel() / reloaded.sample_rate:.2f} s mixture into {est.shape[1]} sources {tuple(est.shape)}")


if __name__ == "__main__":
    main()
