"""Every registry entry built at pretrained=False, like timm's tests/test_models.py: a small input,
forward and backward, finite outputs and gradients, parametrized over `zoo.list_models()`.

Big upstream variants (over ``BIG`` parameters) run the forward pass at batch 1 and backward on the head
only, to keep the suite within CI's budget on a 2-core CPU.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import zoo
from zoo.registry import get_entry

NAMES = zoo.list_models()
BIG = 40_000_000


def _ring(n: int) -> dict:
    src, dst = list(range(n)), [(i + 1) % n for i in range(n)]
    return {"x": np.zeros((n, 1), np.int64), "edge_index": np.array([src + dst, dst + src], np.int64),
            "edge_attr": np.zeros((2 * n, 1), np.int64)}


def small_input(model, task: str):
    """A small valid input for ``model`` (a tuple of forward arguments)."""
    cfg = model.config
    if task == "forecasting":
        seq, label, pred = cfg.seq_len, cfg.label_len, cfg.pred_len
        enc, dec = cfg.model_args["enc_in"], cfg.model_args.get("dec_in", cfg.model_args["enc_in"])
        marks = 4  # timeF features of hourly data
        return (torch.randn(2, seq, enc), torch.randn(2, seq, marks), torch.randn(2, label + pred, dec),
                torch.randn(2, label + pred, marks))
    if task == "image-classification":
        size = tuple(getattr(model, "pretrained_cfg", {}).get("input_size") or cfg.preprocessing.get("input_size") or (3, 224, 224))
        return (torch.randn(1, *size),)
    if task == "speech-separation":
        return (torch.randn(1, 2000),)
    if task in ("segmentation", "feature-extraction"):  # 3D: 64 voxels keep 2x2x2 at the deepest stage (instance norm)
        return (torch.randn(1, cfg.model_args.get("in_channels", 1), 64, 64, 64),)
    if task.startswith("graph"):
        from zoo.graph import collate

        feat = model.featurizer()
        try:
            items = [feat.from_smiles(s) for s in ("CCO", "c1ccccc1O")]
        except zoo.InputError:  # a model of TU graphs: structural node labels, not atoms
            items = [feat(_ring(5)), feat(_ring(6))]
        return (collate(items),)
    raise AssertionError(f"no small input for task {task!r}")


def _tensors(out):
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _tensors(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in _tensors(o)]
    return []


@pytest.mark.parametrize("name", NAMES)
def test_model_forward_backward(name):
    torch.manual_seed(0)
    entry = get_entry(name)
    model = zoo.load(name, pretrained=False)
    model.train()
    args = small_input(model, entry.task)
    big = sum(p.numel() for p in model.parameters()) > BIG
    if big:  # a big upstream variant: gradients only for the last parameters (the head)
        params = list(model.parameters())
        for p in params[:-2]:
            p.requires_grad_(False)
    outs = _tensors(model(*args))
    assert outs, f"{name}: the forward pass returned no tensor"
    assert all(bool(torch.isfinite(o).all()) for o in outs), f"{name}: non-finite outputs"
    sum(o.float().mean() for o in outs if o.is_floating_point()).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None for g in grads), f"{name}: no parameter received a gradient"
    assert all(bool(torch.isfinite(g).all()) for g in grads if g is not None), f"{name}: non-finite gradients"
