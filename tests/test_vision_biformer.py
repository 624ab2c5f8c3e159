"""BiFormer: official key format, strict load of checkpoint["model"], legacy-BRA reference, CPU train step."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange

import zoo
from zoo.vision.biformer import BIFORMER_CONFIGS, BiFormer, BiLevelRoutingAttention, checkpoint_filter_fn
from zoo.weights import load_state_dict_strict, read_state_dict


def _official_keys(depth, embed_dim, qk_dims, mlp_ratio=3, topks=(1, 4, 16, -2), num_classes=1000):
    """Key -> shape of rayleizhu/BiFormer models/biformer.py (legacy BRA), written from that code."""
    e0 = embed_dim[0]
    keys = {}

    def bn(p, c):
        keys.update({p + ".weight": (c,), p + ".bias": (c,), p + ".running_mean": (c,), p + ".running_var": (c,),
                     p + ".num_batches_tracked": ()})

    keys.update({"downsample_layers.0.0.weight": (e0 // 2, 3, 3, 3), "downsample_layers.0.0.bias": (e0 // 2,),
                 "downsample_layers.0.3.weight": (e0, e0 // 2, 3, 3), "downsample_layers.0.3.bias": (e0,)})
    bn("downsample_layers.0.1", e0 // 2)
    bn("downsample_layers.0.4", e0)
    for i in range(1, 4):
        keys.update({f"downsample_layers.{i}.0.weight": (embed_dim[i], embed_dim[i - 1], 3, 3),
                     f"downsample_layers.{i}.0.bias": (embed_dim[i],)})
        bn(f"downsample_layers.{i}.1", embed_dim[i])
    for i, d in enumerate(depth):
        c, hid = embed_dim[i], int(mlp_ratio * embed_dim[i])
        for j in range(d):
            p = f"stages.{i}.{j}."
            keys.update({p + "pos_embed.weight": (c, 1, 3, 3), p + "pos_embed.bias": (c,),
                         p + "norm1.weight": (c,), p + "norm1.bias": (c,), p + "norm2.weight": (c,),
                         p + "norm2.bias": (c,), p + "mlp.0.weight": (hid, c), p + "mlp.0.bias": (hid,),
                         p + "mlp.3.weight": (c, hid), p + "mlp.3.bias": (c,),
                         p + "attn.lepe.weight": (c, 1, 5, 5), p + "attn.lepe.bias": (c,)})
            if topks[i] > 0:
                keys.update({p + "attn.qkv.qkv.weight": (2 * qk_dims[i] + c, c),
                             p + "attn.qkv.qkv.bias": (2 * qk_dims[i] + c,),
                             p + "attn.wo.weight": (c, c), p + "attn.wo.bias": (c,)})
            else:
                keys.update({p + "attn.qkv.weight": (3 * c, c), p + "attn.proj.weight": (c, c),
                             p + "attn.proj.bias": (c,)})
    bn("norm", embed_dim[-1])
    keys.update({"head.weight": (num_classes, embed_dim[-1]), "head.bias": (num_classes,)})
    return keys


def test_biformer_tiny_keys_are_official_and_checkpoint_model_loads_strictly(tmp_path):
    torch.manual_seed(0)
    import timm

    source = timm.create_model("biformer_tiny").eval()  # registered in timm's registry by zoo.vision
    assert isinstance(source, BiFormer)
    sd = source.state_dict()
    assert {k: tuple(v.shape) for k, v in sd.items()} == _official_keys(**BIFORMER_CONFIGS["tiny"])
    path = tmp_path / "biformer_tiny_in1k.pth"
    torch.save({"model": sd, "optimizer": {}, "epoch": 299}, path)  # the released file layout
    target = zoo.build("biformer", zoo.registry.get_entry("biformer-tiny").model_args).eval()
    load_state_dict_strict(target, checkpoint_filter_fn(read_state_dict(path)))
    for key, value in sd.items():
        assert torch.equal(target.state_dict()[key], value), key


def _legacy_bra(m: BiLevelRoutingAttention, x):
    """The legacy BRA forward (ops/bra_legacy.py semantics) with explicit q @ k^T, on m's weights."""
    n, qk = m.n_win, m.qk_dim
    H, W = x.shape[1:3]
    xw = rearrange(x, "n (j h) (i w) c -> n (j i) h w c", j=n, i=n)
    q, kv = m.qkv.qkv(xw).split([qk, qk + m.dim], dim=-1)
    q_pix = rearrange(q, "n p2 h w c -> n p2 (h w) c")
    kv_pix = rearrange(kv, "n p2 h w c -> n p2 (h w) c")
    q_win, k_win = q.mean([2, 3]), kv[..., :qk].mean([2, 3])
    lepe = m.lepe(rearrange(kv[..., qk:], "n (j i) h w c -> n c (j h) (i w)", j=n, i=n))
    lepe = rearrange(lepe, "n c (j h) (i w) -> n (j h) (i w) c", j=n, i=n)
    idx = torch.topk((q_win * m.scale) @ k_win.transpose(-2, -1), k=m.topk, dim=-1).indices
    N, p2, w2, ckv = kv_pix.shape
    sel = torch.gather(kv_pix.view(N, 1, p2, w2, ckv).expand(-1, p2, -1, -1, -1), 2,
                       idx.view(N, p2, m.topk, 1, 1).expand(-1, -1, -1, w2, ckv))
    k_sel, v_sel = sel.split([qk, m.dim], dim=-1)
    k_sel = rearrange(k_sel, "n p2 k w2 (m c) -> (n p2) m c (k w2)", m=m.num_heads)
    v_sel = rearrange(v_sel, "n p2 k w2 (m c) -> (n p2) m (k w2) c", m=m.num_heads)
    q_pix = rearrange(q_pix, "n p2 w2 (m c) -> (n p2) m w2 c", m=m.num_heads)
    out = ((q_pix * m.scale) @ k_sel).softmax(-1) @ v_sel
    out = rearrange(out, "(n j i) m (h w) c -> n (j h) (i w) (m c)", j=n, i=n, h=H // n, w=W // n)
    return m.wo(out + lepe)


def test_bra_module_matches_legacy_forward():
    torch.manual_seed(0)
    m = BiLevelRoutingAttention(dim=16, num_heads=2, n_win=2, qk_dim=16, topk=2, side_dwconv=5).double()
    x = torch.randn(2, 8, 6, 16, dtype=torch.float64)
    torch.testing.assert_close(m(x), _legacy_bra(m, x))


def test_tiny_biformer_trains_a_step():
    torch.manual_seed(0)
    net = BiFormer(depth=(1, 1, 1, 1), embed_dim=(16, 32, 32, 64), qk_dims=(16, 32, 32, 64), head_dim=16, n_win=2,
                   topks=(1, 2, 4, -2), num_classes=3, drop_path_rate=0.1)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    x, y = torch.randn(4, 3, 64, 64), torch.tensor([0, 1, 2, 0])
    losses = []
    for _ in range(3):
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert net.stages[0][0].attn.qkv.qkv.weight.grad.abs().sum() > 0
