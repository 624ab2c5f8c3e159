"""DiNAT/NAT: official key format, strict load through the registry, natten padding semantics, a CPU train step."""

from __future__ import annotations

import torch
import torch.nn.functional as F

import zoo
from tests.test_attention_neighborhood import _reference
from zoo.vision.dinat import DINAT_CONFIGS, DiNAT, NeighborhoodAttention2D


def _official_keys(embed_dim, mlp_ratio, depths, num_heads, kernel_size=7, layer_scale=None, num_classes=1000,
                   in_chans=3):
    """Key -> shape of SHI-Labs' NAT/DiNAT, written from classification/nat.py (natten NeighborhoodAttention2D)."""
    keys = {
        "patch_embed.proj.0.weight": (embed_dim // 2, in_chans, 3, 3), "patch_embed.proj.0.bias": (embed_dim // 2,),
        "patch_embed.proj.1.weight": (embed_dim, embed_dim // 2, 3, 3), "patch_embed.proj.1.bias": (embed_dim,),
        "patch_embed.norm.weight": (embed_dim,), "patch_embed.norm.bias": (embed_dim,),
    }
    for i, (depth, heads) in enumerate(zip(depths, num_heads)):
        dim = embed_dim * 2**i
        hidden = int(dim * mlp_ratio)
        for j in range(depth):
            p = f"levels.{i}.blocks.{j}."
            keys.update({
                p + "norm1.weight": (dim,), p + "norm1.bias": (dim,),
                p + "attn.rpb": (heads, 2 * kernel_size - 1, 2 * kernel_size - 1),
                p + "attn.qkv.weight": (3 * dim, dim), p + "attn.qkv.bias": (3 * dim,),
                p + "attn.proj.weight": (dim, dim), p + "attn.proj.bias": (dim,),
                p + "norm2.weight": (dim,), p + "norm2.bias": (dim,),
                p + "mlp.fc1.weight": (hidden, dim), p + "mlp.fc1.bias": (hidden,),
                p + "mlp.fc2.weight": (dim, hidden), p + "mlp.fc2.bias": (dim,),
            })
            if layer_scale is not None:
                keys.update({p + "gamma1": (dim,), p + "gamma2": (dim,)})
        if i < len(depths) - 1:
            keys.update({f"levels.{i}.downsample.reduction.weight": (2 * dim, dim, 3, 3),
                         f"levels.{i}.downsample.norm.weight": (2 * dim,),
                         f"levels.{i}.downsample.norm.bias": (2 * dim,)})
    last = embed_dim * 2 ** (len(depths) - 1)
    keys.update({"norm.weight": (last,), "norm.bias": (last,),
                 "head.weight": (num_classes, last), "head.bias": (num_classes,)})
    return keys


def test_dinat_mini_keys_and_shapes_are_official():
    cfg = {k: v for k, v in DINAT_CONFIGS["mini"].items() if k != "dilations"}
    import timm

    net = timm.create_model("dinat_mini")  # registered in timm's registry by zoo.vision
    assert isinstance(net, DiNAT)
    ours = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert ours == _official_keys(**cfg)


def test_layer_scale_keys():
    small = dict(embed_dim=16, mlp_ratio=2, depths=(1, 2), num_heads=(1, 2), kernel_size=3, layer_scale=1e-5,
                 num_classes=5)
    ours = {k: tuple(v.shape) for k, v in DiNAT(**small, dilations=((2,), (1, 2))).state_dict().items()}
    assert ours == _official_keys(**small)


def test_dinat_mini_loads_official_checkpoint_through_registry(tmp_path, monkeypatch):
    """An upstream-format .pth (wrapped as train.py writes it, DDP prefixes included) in the zoo cache loads strictly."""
    torch.manual_seed(0)
    source = DiNAT(**DINAT_CONFIGS["mini"]).eval()
    with torch.no_grad():
        for name, p in source.named_parameters():
            if name.endswith("rpb"):
                p.normal_(0, 1)
    entry = zoo.registry.get_entry("dinat-mini")
    target = tmp_path / "downloads" / entry.weights.url.rsplit("/", 1)[-1]
    target.parent.mkdir(parents=True)
    torch.save({"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}, "epoch": 300}, target)
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path))
    model = zoo.load("dinat-mini")
    assert not model.training
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    assert "Resize(size=256" in str(model.transform)  # crop_pct 0.875 -> 256 -> 224


def test_attention_module_pads_like_natten():
    """Inputs smaller than kernel*dilation: zero-pad bottom/right before qkv, attend, crop (natten's rule)."""
    torch.manual_seed(0)
    attn = NeighborhoodAttention2D(dim=8, num_heads=2, kernel_size=3, dilation=2).double()
    with torch.no_grad():
        attn.rpb.normal_()
    x = torch.randn(2, 4, 7, 8, dtype=torch.float64)  # H=4 < 6, W=7 >= 6
    xp = F.pad(x, (0, 0, 0, 0, 0, 2))
    q, k, v = attn.qkv(xp).view(2, 6, 7, 3, 2, 4).permute(3, 0, 4, 1, 2, 5)
    ref = _reference(q, k, v, 3, (2, 2), attn.rpb, attn.scale)
    ref = attn.proj(ref.permute(0, 2, 3, 1, 4).reshape(2, 6, 7, 8)[:, :4])
    torch.testing.assert_close(attn(x), ref)


def test_tiny_dinat_trains_a_step_on_cpu():
    torch.manual_seed(0)
    net = DiNAT(embed_dim=16, mlp_ratio=2, depths=(2, 2), num_heads=(2, 4), kernel_size=3,
                dilations=((1, 2), (1, 1)), num_classes=4, drop_path_rate=0.1)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    losses = []
    for _ in range(3):
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
        assert net.levels[0].blocks[1].attn.rpb.grad.abs().sum() > 0
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
