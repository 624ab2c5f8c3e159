"""The classifier plumbing the vision models share (zoo.vision.common): init, head swap, pooled-feature head."""

import pytest
import torch
from torch import nn

from zoo.vision.biformer import BiFormer
from zoo.vision.common import init_linear_weights
from zoo.vision.dinat import DiNAT
from zoo.vision.swin import SwinTransformer

TINY = {
    "swin": lambda: SwinTransformer(img_size=32, window_size=4, patch_size=4, embed_dim=16, depths=(2, 2),
                                    num_heads=(2, 2), num_classes=7),
    "biformer": lambda: BiFormer(depth=(1, 1, 1, 1), embed_dim=(16, 32, 32, 64), qk_dims=(16, 32, 32, 64),
                                 head_dim=16, n_win=2, topks=(1, 2, 4, -2), num_classes=7),
    "dinat": lambda: DiNAT(embed_dim=16, mlp_ratio=2, depths=(2, 2), num_heads=(2, 4), kernel_size=3,
                           dilations=((1, 2), (1, 1)), num_classes=7),
}
SIDE = {"swin": 32, "biformer": 64, "dinat": 32}


def test_init_linear_weights_is_truncated_normal_with_zero_bias():
    torch.manual_seed(0)
    lin = nn.Linear(512, 512)
    init_linear_weights(lin)
    assert lin.bias.abs().max() == 0
    # trunc_normal_(std=.02) cuts at +-2 (absolute), i.e. at 100 sigma: std 0.02, unlike PyTorch's default
    # kaiming-uniform init (std 1/sqrt(3 * 512) = 0.0255 here)
    assert abs(lin.weight.std().item() - 0.02) < 5e-4
    norm = nn.LayerNorm(8)
    with torch.no_grad():
        norm.weight.fill_(3.0)
    init_linear_weights(norm)  # not a Linear: untouched
    assert torch.equal(norm.weight, torch.full((8,), 3.0))


@pytest.mark.parametrize("arch", sorted(TINY))
def test_models_start_from_the_shared_init(arch):
    torch.manual_seed(0)
    net = TINY[arch]()
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert linears and all(m.bias is None or m.bias.abs().max() == 0 for m in linears)
    weights = torch.cat([m.weight.flatten() for m in linears])
    assert abs(weights.std().item() - 0.02) < 1e-3


@pytest.mark.parametrize("arch", sorted(TINY))
def test_reset_classifier_swaps_the_head_and_keeps_the_features(arch):
    torch.manual_seed(0)
    net = TINY[arch]().eval()
    x = torch.randn(2, 3, SIDE[arch], SIDE[arch])
    with torch.no_grad():
        features = net.forward_features(x)
        net.reset_classifier(4)
        head = net.get_classifier()
        assert isinstance(head, nn.Linear) and (head.in_features, head.out_features) == (net.num_features, 4)
        assert net.num_classes == 4
        logits = net(x)
        # timm's contract: forward_features is the unpooled map (NHWC for Swin/DiNAT, NCHW for BiFormer)
        features = features.mean(dim=(2, 3)) if arch == "biformer" else features.mean(dim=(1, 2))
        torch.testing.assert_close(net.forward_head(net.forward_features(x), pre_logits=True), features)
        torch.testing.assert_close(logits, head(features))
        net.reset_classifier(0)
        assert torch.equal(net(x), features)
