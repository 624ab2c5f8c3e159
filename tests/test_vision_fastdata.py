"""zoo.vision.fastdata: uint8 CIFAR-style tensors from an ImageFolder, cache, batched augmentation, FastLoader."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from zoo.errors import InputError
from zoo.vision.fastdata import FastLoader, augment, holdout_split, load_image_folder, normalize

CLASSES = ["b_second", "a_first"]  # a non-alphabetical order, as CIFAR-10's official order is


def _folder(root, per_class=3, size=32):
    rng = np.random.default_rng(0)
    arrays = {}
    for c in CLASSES:
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            a = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            Image.fromarray(a).save(root / c / f"{i:04d}.png")  # lossless, so the tensors equal the arrays
            arrays[(c, i)] = a
    return arrays


def test_load_shapes_order_and_cache_round_trip(tmp_path):
    arrays = _folder(tmp_path / "data" / "train")
    cache = tmp_path / "cache"
    x, y, classes = load_image_folder(tmp_path / "data" / "train", CLASSES, cache=cache)
    assert x.shape == (6, 3, 32, 32) and x.dtype == torch.uint8
    assert y.dtype == torch.int64 and y.tolist() == [0, 0, 0, 1, 1, 1] and classes == CLASSES
    assert torch.equal(x[4], torch.from_numpy(arrays[("a_first", 1)]).permute(2, 0, 1))
    files = list(cache.glob("*.pt"))
    assert len(files) == 1 and files[0].name.startswith("data-train-")
    # a second load reads the cache file (no new file is written)
    x2, y2, c2 = load_image_folder(tmp_path / "data" / "train", CLASSES, cache=cache)
    assert torch.equal(x, x2) and torch.equal(y, y2) and c2 == CLASSES and list(cache.glob("*.pt")) == files
    # the cache is what is read: a marked cache file comes back as written
    blob = torch.load(files[0], weights_only=True)
    blob["images"][0, 0, 0, 0] = 7 if x[0, 0, 0, 0] != 7 else 8
    torch.save(blob, files[0])
    assert torch.equal(load_image_folder(tmp_path / "data" / "train", CLASSES, cache=cache)[0], blob["images"])
    # a changed file list is a new key, so a new cache file
    Image.fromarray(arrays[("a_first", 0)]).save(tmp_path / "data" / "train" / "a_first" / "0009.png")
    x3, _, _ = load_image_folder(tmp_path / "data" / "train", CLASSES, cache=cache)
    assert len(x3) == 7 and len(list(cache.glob("*.pt"))) == 2


def test_bad_folders(tmp_path):
    with pytest.raises(InputError, match="expected an ImageFolder directory"):
        load_image_folder(tmp_path / "missing", cache=False)
    _folder(tmp_path / "t", per_class=1, size=24)
    with pytest.raises(InputError, match=r"expected the class folders airplane, bird .*got a_first, b_second"):
        load_image_folder(tmp_path / "t", ["airplane", "bird"], cache=False)
    with pytest.raises(InputError, match=r"expected 32x32 images, got 24x24"):
        load_image_folder(tmp_path / "t", cache=False)


def test_augment_equals_per_image_reference_and_is_seeded():
    x = torch.randint(0, 256, (16, 3, 8, 10), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    for mode in ("reflect", "constant"):
        out = augment(x, torch.Generator().manual_seed(5), pad=2, padding_mode=mode)
        g = torch.Generator().manual_seed(5)  # same draws, same order: dy, dx, flip
        dy, dx = torch.randint(0, 5, (16,), generator=g), torch.randint(0, 5, (16,), generator=g)
        flipped = torch.rand(16, generator=g) < 0.5
        assert 0 < flipped.sum() < 16
        for i in range(16):
            xp = F.pad(x[i].float()[None], [2] * 4, mode=mode)[0].to(torch.uint8)
            ref = xp[:, dy[i]:dy[i] + 8, dx[i]:dx[i] + 10]
            ref = torch.flip(ref, [-1]) if flipped[i] else ref
            assert torch.equal(out[i], ref), (mode, i)
        assert torch.equal(out, augment(x, torch.Generator().manual_seed(5), pad=2, padding_mode=mode))
    assert not torch.equal(augment(x, torch.Generator().manual_seed(6), pad=2), augment(x, torch.Generator().manual_seed(5), pad=2))
    # pad 0 and no flip: identity
    assert torch.equal(augment(x, torch.Generator().manual_seed(0), pad=0, flip=False), x)
    with pytest.raises(InputError, match=r"expected a \[batch, C, H, W\] torch.uint8 tensor, got torch.float32 of shape \(3, 8, 10\)"):
        augment(x[0].float())


def test_normalize_pinned():
    x = torch.tensor([0, 255], dtype=torch.uint8).view(1, 1, 1, 2).expand(1, 3, 1, 2).contiguous()
    out = normalize(x, mean=(0.5, 0.5, 0.5), std=(0.25, 0.5, 1.0), channels_last=True)
    assert out.dtype == torch.float32 and out.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(out[0, :, 0, 0], torch.tensor([-2.0, -1.0, -0.5]))
    assert torch.allclose(out[0, :, 0, 1], torch.tensor([2.0, 1.0, 0.5]))


def test_loader_seeded_epochs_and_eval_order():
    x = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 3, 4, 4).contiguous()
    y = torch.arange(10)
    a = FastLoader(x, y, batch_size=4, seed=3, pad=1)
    b = FastLoader(x, y, batch_size=4, seed=3, pad=1)
    e0a, e0b = list(a), list(b)
    assert len(a) == len(e0a) == 2 and e0a[0][0].shape == (4, 3, 4, 4) and e0a[0][0].dtype == torch.float32
    assert all(torch.equal(p[0], q[0]) and torch.equal(p[1], q[1]) for p, q in zip(e0a, e0b))
    e1 = list(a)  # the next epoch is shuffled differently
    assert not torch.equal(torch.cat([t for _, t in e0a]), torch.cat([t for _, t in e1]))
    a.set_epoch(0)
    assert torch.equal(next(iter(a))[1], e0a[0][1])
    ev = list(FastLoader(x, y, batch_size=4, shuffle=False, augment=False, drop_last=False, mean=(0, 0, 0), std=(1 / 255,) * 3))
    assert [len(t) for _, t in ev] == [4, 4, 2] and torch.cat([t for _, t in ev]).tolist() == list(range(10))
    assert torch.equal(torch.cat([b for b, _ in ev]), x.float())
    with pytest.raises(InputError, match=r"expected labels of shape \(10,\) \(one per image\), got \(9,\)"):
        FastLoader(x, y[:9])


def test_holdout_disjoint_and_fixed():
    tr, val = holdout_split(100, 20, seed=0)
    assert len(tr) == 80 and len(val) == 20
    assert set(tr.tolist()).isdisjoint(val.tolist()) and sorted(tr.tolist() + val.tolist()) == list(range(100))
    assert torch.equal(val, holdout_split(100, 20, seed=0)[1]) and not torch.equal(val, holdout_split(100, 20, seed=1)[1])
    from zoo.vision.cli import split_holdout

    assert (tr.tolist(), val.tolist()) == split_holdout(100, 20, 0)  # the same split as zoo train --val-holdout
    with pytest.raises(InputError, match="holdout must be between 1 and 99"):
        holdout_split(100, 100)


def test_a_resumed_run_continues_the_loader_stream(tmp_path):
    """`zoo.training.make_trainer` tells the loader which epoch starts (`LoaderEpoch`): a run stopped after 2 epochs
    and resumed from its last.ckpt sees the batches of epoch 3 that an uninterrupted run sees, not epoch 1's again."""
    import lightning as L

    from zoo.training import make_trainer

    x = torch.randint(0, 256, (16, 3, 8, 8), dtype=torch.uint8)
    y = torch.arange(16) % 2

    class Spy(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))
            self.seen = []

        def training_step(self, batch, i):
            self.seen.append(batch[1].tolist())
            return (self.w * batch[0].mean()).sum()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.0)

    def fit(epochs, out, ckpt=None):
        m = Spy()
        t = make_trainer(max_epochs=epochs, ckpt_dir=tmp_path / out, monitor=None, logger=False, progress_bar=False,
                         enable_model_summary=False)
        t.fit(m, FastLoader(x, y, batch_size=8, seed=5), ckpt_path=ckpt)
        return m.seen

    whole = fit(3, "whole")
    first = fit(2, "split")
    resumed = fit(3, "split", ckpt=str(tmp_path / "split" / "last.ckpt"))
    assert len(whole) == 6 and first == whole[:4] and resumed == whole[4:]
    assert whole[4:] != whole[:2]  # epochs differ, so the comparison can fail
