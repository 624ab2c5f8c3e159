"""Swin-T forward speed: zoo (SDPA, one additive mask) vs timm 1.0.31's default path, same weights.

Run:  python benchmarks/vision_swin_speed.py [--batch 8] [--threads 1] [--repeats 7]

Steps: build timm's ``swin_tiny_patch4_window7_224`` (random init, ``pretrained=False``), load its
state dict strictly into ``zoo.vision.swin.SwinTransformer``, check logits are equal (max abs diff
<= 1e-4), then time interleaved repeats in this one process and report medians and ratios for
  1. the whole model (batch × 3 × 224 × 224, eval, no grad);
  2. the attention part of all 12 blocks: cyclic shift + window partition + qkv + attention + proj
     + window reverse (each block's ``_attn`` on the real intermediate activations);
  3. the same without the qkv/proj linear layers (both models get an identical stand-in), i.e.
     partition + masked attention + reverse only.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn


class _Repeat3(nn.Module):
    """Stand-in for qkv: C -> 3C without a matmul (identical cost in both models)."""

    def forward(self, x):
        return torch.cat([x, x, x], dim=-1)


def _time(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _interleaved(fns: dict, repeats: int) -> dict:
    for fn in fns.values():  # warm-up
        fn()
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            times[k].append(_time(fn))
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    import timm

    from zoo.vision.swin import SWIN_CONFIGS, SwinTransformer

    ref = timm.create_model("swin_tiny_patch4_window7_224", pretrained=False).eval()
    with torch.no_grad():  # a non-trivial bias table, as in trained weights
        for n, prm in ref.named_parameters():
            if "relative_position_bias_table" in n:
                prm.normal_(0, 1)
    ours = SwinTransformer(**SWIN_CONFIGS["tiny"]).eval()
    ours.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(args.batch, 3, 224, 224)

    with torch.inference_mode():
        diff = (ref(x) - ours(x)).abs().max().item()
    print(f"max |logits_timm - logits_zoo| = {diff:.2e}")
    assert diff <= 1e-4, "logits differ: not benchmarking"
    fused = ref.layers[0].blocks[0].attn.fused_attn
    print(f"timm default path: fused_attn={fused} ({'SDPA' if fused else 'explicit q @ k^T + softmax'})")
    print(f"torch {torch.__version__}, timm {timm.__version__}, threads={args.threads}, batch={args.batch}")

    with torch.inference_mode():
        whole = _interleaved({"timm": lambda: ref(x), "zoo": lambda: ours(x)}, args.repeats)

        # activations entering each block's attention
        inputs = []
        hooks = [b.norm1.register_forward_hook(lambda m, i, o: inputs.append(o))
                 for st in ref.layers for b in st.blocks]
        ref(x)
        for h in hooks:
            h.remove()
        ref_blocks = [b for st in ref.layers for b in st.blocks]
        our_blocks = [b for st in ours.layers for b in st.blocks]

        def run(blocks):
            return lambda: [b._attn(t) for b, t in zip(blocks, inputs)]

        for b0, b1, t in zip(ref_blocks, our_blocks, inputs):
            assert (b0._attn(t) - b1._attn(t)).abs().max() < 1e-4
        attn = _interleaved({"timm": run(ref_blocks), "zoo": run(our_blocks)}, args.repeats)

        for blocks in (ref_blocks, our_blocks):
            for b in blocks:
                b.attn.qkv, b.attn.proj = _Repeat3(), nn.Identity()
        for b in our_blocks:
            b.attn._cache = None
        core = _interleaved({"timm": run(ref_blocks), "zoo": run(our_blocks)}, args.repeats)

    rows = [("whole model", whole), ("partition + attention (with qkv/proj)", attn),
            ("partition + attention (kernel only)", core)]
    print(f"{'part':40s} {'timm ms':>9s} {'zoo ms':>9s} {'speed-up':>9s}")
    for name, t in rows:
        print(f"{name:40s} {t['timm'] * 1e3:9.1f} {t['zoo'] * 1e3:9.1f} {t['timm'] / t['zoo']:8.2f}x")


if __name__ == "__main__":
    main()
