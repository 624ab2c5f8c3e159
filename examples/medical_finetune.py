"""Fine-tune a pretrained 3D segmenter on your own labelled volumes with a plain ``lightning.Trainer``.

``--data`` holds ``train/<case>/`` and ``validation/<case>/`` folders in the BRATS layout (one NIfTI per
modality, ``Flair_subtrMeanDivStd.nii.gz`` and ``T1c_subtrMeanDivStd.nii.gz``, and the label map
``OTMultiClass.nii.gz``); or a MONAI datalist JSON. Without ``--data`` a few small synthetic cases are
written inside ``--out``. The model is saved in Hub form with its validation Dice, reloaded, and asked to
segment one case.

    python examples/medical_finetune.py --data my_brats --out runs/my-swin-unetr --max-steps 300
    python examples/medical_finetune.py --out runs/demo --max-steps 3        # synthetic volumes
"""

from __future__ import annotations

import argparse
from pathlib import Path

import lightning as L
import nibabel as nib
import numpy as np

import zoo
from zoo.hub import from_pretrained, save_pretrained
from zoo.medical.data import BRATS_FILES, BRATS_LABEL
from zoo.medical.train import SegmentationTask, load_cases, make_loaders
from zoo.training import check_run_dir


def synthetic_cases(root: Path, n_train: int = 2, n_val: int = 1, shape=(64, 48, 40), seed: int = 0) -> Path:
    """Tiny BRATS-layout cases: a bright nested 'tumour' (labels 2 > 1 > 4 from outside in) in noise, 3 mm voxels."""
    rng = np.random.default_rng(seed)
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    grid = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1)
    for split, n in (("train", n_train), ("validation", n_val)):
        for k in range(n):
            case = root / split / f"case{k}"
            case.mkdir(parents=True)
            centre = np.array(shape) / 2 + rng.uniform(-6, 6, 3)
            r = np.linalg.norm(grid - centre, axis=-1)
            label = np.select([r < 4, r < 7, r < 11], [4, 1, 2], 0).astype(np.uint8)
            for i, name in enumerate(BRATS_FILES.values()):
                img = rng.normal(0, 0.3, shape) + (label > 0) * (1.5 + i) + (label == 4) * 1.0
                nib.save(nib.Nifti1Image(img.astype(np.float32), affine), case / name)
            nib.save(nib.Nifti1Image(label, affine), case / BRATS_LABEL)
    return root


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="BRATS-layout folder or datalist JSON (default: synthetic cases)")
    p.add_argument("--model", default="swin-unetr-brats-subset")
    p.add_argument("--max-steps", type=int, default=300)
    p.add_argument("--out", default="runs/example-medical")
    args = p.parse_args(argv)
    out = check_run_dir(args.out, inputs=[args.data])
    data = Path(args.data) if args.data else synthetic_cases(out / "data")

    L.seed_everything(0)
    model = zoo.load(args.model)
    pre = dict(model.config["preprocessing"])
    train_dl, val_dl = make_loaders(*load_cases(data, pre), pre, num_samples=2)
    task = SegmentationTask(model, optim={"optimizer": "adamw", "lr": 1e-4, "weight_decay": 1e-5}, preprocessing=pre)
    trainer = L.Trainer(max_steps=args.max_steps, default_root_dir=out / "run", enable_progress_bar=False,
                        log_every_n_steps=1, num_sanity_val_steps=0)  # fmt: skip
    trainer.fit(task, train_dl, val_dl)
    dice = trainer.validate(task, val_dl, verbose=False)[0]
    print("validation Dice after fine-tuning: " + ", ".join(f"{k[4:]} {v:.3f}" for k, v in dice.items() if "dice" in k))

    metrics = [{"name": "dice", "value": round(dice["val/dice"], 4), "dataset": data.name, "split": "validation",
                "command": f"python examples/medical_finetune.py --data {data} --max-steps {args.max_steps}"}]
    save_pretrained(model, out / "model", name=f"swin-unetr-{data.name}".lower(), datasets=[data.name],
                    results={"metrics": metrics})  # fmt: skip

    reloaded = from_pretrained(out / "model")
    from zoo.medical.infer import segment

    case = load_cases(data, pre)[1][0]
    result = segment(reloaded, case["image"])
    print(f"segmented {Path(case['label']).parent.name} {result['shape']}: voxels per label {result['labels']}")


if __name__ == "__main__":
    main()
