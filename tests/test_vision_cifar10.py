"""The zoo-trained CIFAR-10 weights (`swin-cifar10`, `dinat-cifar10`): the registered folder loads and
reproduces pinned predictions on a few test images (the first 3 of each class, sorted by file name).

The pins were written from `zoo.load(NAME)` on this machine right after registration; the full-test-set
top-1 of each model is in its card (`zoo eval NAME --data .../vision/cifar10 --split test`).
"""

from __future__ import annotations

import pytest
import torch

import zoo
from tests.conftest import data_dir
from zoo.registry import get_entry
from zoo.vision.cli import open_image
from zoo.weights import folder_path

CIFAR = (data_dir() / "vision" / "cifar10" / "test") if data_dir() else None
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

# predicted class index for the 30 images (3 per class, classes in order), and how many are right
PINNED: dict[str, tuple[list[int], int]] = {
    "swin-cifar10": ([0, 0, 0, 1, 1, 9, 2, 1, 2, 3, 3, 3, 4, 4, 4, 5, 5, 4, 6, 6, 2, 7, 7, 5, 8, 8, 8, 9, 9, 9], 25),
    "dinat-cifar10": ([0, 0, 0, 1, 1, 9, 2, 6, 2, 3, 3, 3, 0, 5, 4, 5, 5, 4, 6, 6, 6, 7, 7, 7, 1, 8, 8, 9, 9, 9], 24),
}


def _images() -> tuple[list, list[int]]:
    images, labels = [], []
    for c, name in enumerate(CLASSES):
        for path in sorted((CIFAR / name).iterdir())[:3]:
            images.append(open_image(path))
            labels.append(c)
    return images, labels


@pytest.mark.parametrize("name", ["swin-cifar10", "dinat-cifar10"])
def test_cifar10_weights_reproduce_pinned_predictions(name):
    if CIFAR is None or not CIFAR.is_dir():
        pytest.skip("CIFAR-10 not found (set ZOO_DATA_DIR)")
    entry = get_entry(name)
    if entry.weights is None or name not in PINNED:
        pytest.skip(f"{name} has no registered weights")
    assert (folder_path(entry.weights.folder) / "model.safetensors").is_file()
    torch.set_num_threads(1)
    model = zoo.load(name)
    assert not model.training and model.num_classes == 10
    images, labels = _images()
    with torch.inference_mode():
        pred = model(torch.stack([model.transform(im) for im in images])).argmax(-1).tolist()
    want, correct = PINNED[name]
    assert pred == want
    assert sum(p == y for p, y in zip(pred, labels)) == correct
