"""ProbSparse vs full attention: forward time and peak memory for L = 96 ... 8192 (self-attention).

Full attention is measured twice: ``sdpa`` (torch's fused CPU kernel, the zoo default, which never
materialises the L x L scores) and ``math`` (the explicit softmax(QK^T)V the paper compared against).

Each (kernel, L) runs in a fresh subprocess so that its peak resident memory (``ru_maxrss`` minus
the idle process baseline) belongs to it alone. The growth exponent is the slope of log(time) and
log(memory) against log(L) between consecutive lengths. The paper claims O(L log L) for ProbSparse.

    python benchmarks/timeseries_attention.py                    # B=1, H=8, D=64, 1 thread
    python benchmarks/timeseries_attention.py --lengths 96 384 1536 --threads 2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys

CHILD = r"""
import resource, sys, time, torch
torch.set_num_threads({threads})
from zoo.attention import attend, probsparse_attention, use_backend
kind, L, B, H, D, reps = "{kind}", {L}, {B}, {H}, {D}, {reps}
g = torch.Generator().manual_seed(0)
q, k, v = (torch.randn(B, H, L, D, generator=g) for _ in range(3))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
def fn():
    if kind == "prob":
        return probsparse_attention(q, k, v, factor=5, generator=torch.Generator().manual_seed(1))
    with use_backend("sdpa" if kind == "full" else "math"):
        return attend(q, k, v)
with torch.no_grad():
    fn()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    dt = (time.perf_counter() - t) / reps
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(dt, (peak - base) / 1024)
"""


def run(kind: str, length: int, args) -> tuple[float, float]:
    reps = max(1, min(20, int(2e9 / (length * length * args.heads * args.dim + 1)) + 1)) if kind != "prob" else 3
    code = CHILD.format(kind=kind, L=length, B=args.batch, H=args.heads, D=args.dim, reps=reps, threads=args.threads)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lengths", type=int, nargs="+", default=[96, 192, 384, 768, 1536, 3072, 6144, 8192])
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default=None)
    args = p.parse_args()
    rows = []
    print(f"B={args.batch} H={args.heads} D={args.dim} threads={args.threads}")
    print(f"{'L':>6} | {'sdpa ms':>9} {'sdpa MiB':>9} | {'math ms':>9} {'math MiB':>9} | {'prob ms':>9} "
          f"{'prob MiB':>9} | {'u':>4}")
    for length in args.lengths:
        ts, ms = run("full", length, args)
        tm, mm = run("math", length, args)
        tp, mp = run("prob", length, args)
        u = min(length, 5 * math.ceil(math.log(length)))
        rows.append({"L": length, "sdpa_s": ts, "sdpa_mib": ms, "math_s": tm, "math_mib": mm, "prob_s": tp,
                     "prob_mib": mp, "u": u})
        print(f"{length:>6} | {ts * 1e3:9.1f} {ms:9.1f} | {tm * 1e3:9.1f} {mm:9.1f} | {tp * 1e3:9.1f} {mp:9.1f} | {u:>4}")
    print("growth exponents (d log y / d log L) from the first to the last length:")
    a, b = rows[0], rows[-1]
    r = math.log(b["L"] / a["L"])
    for key in ("sdpa_s", "math_s", "prob_s", "sdpa_mib", "math_mib", "prob_mib"):
        print(f"  {key:<9} {math.log(max(b[key], 1e-9) / max(a[key], 1e-9)) / r:5.2f}")
    if len(rows) > 2:
        a, b = rows[-3], rows[-1]
        r = math.log(b["L"] / a["L"])
        print(f"  over the last three lengths ({a['L']}->{b['L']}): " + ", ".join(
            f"{k} {math.log(max(b[k], 1e-9) / max(a[k], 1e-9)) / r:.2f}" for k in ("sdpa_s", "math_s", "prob_s",
                                                                                  "math_mib", "prob_mib")))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"config": vars(args), "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
