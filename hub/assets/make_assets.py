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


if __name__ == "__main__":
    etth1()
    cifar10()
    fsdd_mixture()
    for p in sorted(HERE.iterdir()):
        print(f"{p.name:28s} {p.stat().st_size:>9,d} bytes")
