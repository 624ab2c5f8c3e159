"""Regenerate the demo example files in this folder from the shared data sets (run once, by hand).

    $ ZOO_DATA_DIR=../shared/data python hub/assets/make_assets.py

Every file is a small excerpt of a public data set, under that set's licence (see README.md here).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("ZOO_DATA_DIR", "../shared/data"))


def etth1(rows: int = 336) -> None:
    """The last ``rows`` hours of the ETTh1 test split, copied verbatim (CC BY-ND 4.0 allows verbatim copies)."""
    lines = (DATA / "timeseries/ETTh1.csv").read_text().splitlines()
    end = 14400 + 1  # header + test rows end at 14400
    (HERE / "etth1-example.csv").write_text("\n".join([lines[0], *lines[end - rows : end]]) + "\n")


def cifar10() -> None:
    """One CIFAR-10 test image per class for a few classes (the first file of each class folder)."""
    for cls in ("cat", "ship", "horse", "automobile"):
        src = sorted((DATA / "vision/cifar10/test" / cls).glob("*.jpg"))[0]
        shutil.copyfile(src, HERE / f"cifar10-{cls}.jpg")


def fsdd_mixture() -> None:
    """A two-speaker mixture of two FSDD test utterances (index < 5), summed at equal level, 8 kHz."""
    import soundfile as sf

    rec = DATA / "audio/fsdd/recordings"
    a, sr = sf.read(rec / "3_george_0.wav", dtype="float32")
    b, sr_b = sf.read(rec / "7_jackson_1.wav", dtype="float32")
    assert sr == sr_b == 8000
    n = max(len(a), len(b))
    a, b = np.pad(a, (0, n - len(a))), np.pad(b, (0, n - len(b)))
    a, b = a / (a.std() + 1e-8), b / (b.std() + 1e-8)
    mix = a + b
    mix = 0.5 * mix / np.abs(mix).max()
    sf.write(HERE / "fsdd-mixture.wav", mix, sr, subtype="PCM_16")


def brats_crop() -> None:
    """FLAIR and T1c of BRATS 2013 patient 1 cropped around the tumour and averaged to 3 mm voxels."""
    import nibabel as nib

    case = DATA / "medical/brats2015-subset/test/brats_2013_pat0001_1"
    box = (slice(36, 132), slice(60, 189), slice(18, 114))  # 96 x 129 x 96 mm around the labelled tumour
    for mod, fname in (("flair", "Flair_subtrMeanDivStd.nii.gz"), ("t1c", "T1c_subtrMeanDivStd.nii.gz")):
        img = nib.load(case / fname)
        vol = np.asarray(img.dataobj, dtype=np.float32)[box]
        x, y, z = (s // 3 for s in vol.shape)
        vol = vol[: 3 * x, : 3 * y, : 3 * z].reshape(x, 3, y, 3, z, 3).mean((1, 3, 5))
        start = np.array([b.start for b in box] + [1.0])
        affine = img.affine.copy()
        affine[:3, 3] = (img.affine @ start)[:3] + img.affine[:3, :3] @ np.ones(3)  # centre of the first 3x3x3 block
        affine[:3, :3] = img.affine[:3, :3] * 3
        out = nib.Nifti1Image(vol.astype(np.float32), affine)
        out.set_qform(affine, 1)
        out.set_sform(affine, 1)
        nib.save(out, HERE / f"brats-{mod}.nii.gz")


if __name__ == "__main__":
    etth1()
    cifar10()
    fsdd_mixture()
    brats_crop()
    for p in sorted(HERE.iterdir()):
        print(f"{p.name:28s} {p.stat().st_size:>9,d} bytes")
