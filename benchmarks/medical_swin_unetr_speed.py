"""Forward time of the zoo's Swin UNETR vs MONAI's ``SwinUNETR`` with the same weights, in one run.

Both models get the same state dict (MONAI's keys load strictly into the zoo model); outputs are
checked equal (max abs difference) before timing. Times are the best of ``--repeats`` interleaved runs
after one warm-up, fp32, eval, ``torch.no_grad()``, batch 1, on this machine's CPU (or ``--device``).
Rows: the whole network and the Swin encoder alone (``swinViT``, where the attention is), for MONAI's
default path (explicit ``q @ kᵀ``) and for MONAI with ``use_flash_attention=True`` (its SDPA path).

    python benchmarks/medical_swin_unetr_speed.py --size 96 --features 24 48 --threads 1 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import time

import torch


def _time_interleaved(fns: dict, x, repeats: int) -> dict[str, float]:
    """Best-of-``repeats`` seconds per function, runs interleaved (a, b, c, a, b, c, ...) after one warm-up
    each, so that load from other processes on a shared machine hits every contender alike."""
    best = {k: float("inf") for k in fns}
    with torch.no_grad():
        for fn in fns.values():
            fn(x)
        for _ in range(repeats):
            for k, fn in fns.items():
                t = time.perf_counter()
                fn(x)
                best[k] = min(best[k], time.perf_counter() - t)
    return best


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=96)
    p.add_argument("--features", type=int, nargs="+", default=[24, 48])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", default=None, help="also write the rows to this file")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    from monai.networks.nets import SwinUNETR as MonaiSwinUNETR

    from zoo.medical.swin_unetr import SwinUNETR

    rows = []
    for fs in args.features:
        torch.manual_seed(0)
        kw = dict(in_channels=1, out_channels=14, feature_size=fs)
        ref = MonaiSwinUNETR(**kw).eval().to(args.device)
        ref_sdpa = MonaiSwinUNETR(**kw, use_flash_attention=True).eval().to(args.device)
        ref_sdpa.load_state_dict(ref.state_dict())
        ours = SwinUNETR(**kw).eval().to(args.device)
        ours.load_state_dict(ref.state_dict(), strict=True)
        x = torch.randn(1, 1, args.size, args.size, args.size, device=args.device)
        with torch.no_grad():
            diff = (ref(x) - ours(x)).abs().max().item()
        row = {"feature_size": fs, "size": args.size, "threads": args.threads, "max_abs_diff": diff}
        for part, get in (("network", lambda m: m), ("encoder", lambda m: (lambda inp: m.swinViT(inp, True)))):
            s = _time_interleaved({"monai": get(ref), "monai_flash": get(ref_sdpa), "zoo": get(ours)}, x, args.repeats)
            row[part] = {"monai_s": round(s["monai"], 3), "monai_flash_s": round(s["monai_flash"], 3), "zoo_s": round(s["zoo"], 3),
                         "speedup_vs_monai": round(s["monai"] / s["zoo"], 2),
                         "speedup_vs_monai_flash": round(s["monai_flash"] / s["zoo"], 2)}  # fmt: skip
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
