"""Real-time factor of the registered separators on this CPU: seconds of compute per second of audio.

    python benchmarks/audio_rtf.py [--seconds 10] [--threads 1] [--repeats 3] [--paper-size]

For every ``*-fsdd2mix`` recipe (random weights: speed does not depend on them) one forward pass over
``--seconds`` of 8 kHz audio in one piece, in eval mode without gradients; the median of ``--repeats``
runs after one warm-up. ``--paper-size`` adds the released 24-layer, 512-wide MossFormer2 configuration.
RTF < 1 means faster than real time. Prints one JSON line per model.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch


def measure(model, seconds: float, rate: int, repeats: int) -> float:
    x = torch.randn(1, int(seconds * rate)) * 0.1
    model.eval()
    with torch.no_grad():
        model(x)
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--paper-size", action="store_true")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)

    from zoo.audio.mossformer import RELEASED_CONFIGS
    from zoo.audio.recipes import RECIPES
    from zoo.loading import build

    models = {name: (r["architecture"], r["model_args"]) for name, r in RECIPES.items()}
    if a.paper_size:
        models["mossformer2 (24x512, released config, 8 kHz)"] = ("mossformer2", dict(RELEASED_CONFIGS["mossformer2-librimix-2spk"]))
    for name, (arch, args) in models.items():
        model = build(arch, args)
        rate = args.get("sample_rate", 8000)
        t = measure(model, a.seconds, rate, a.repeats)
        print(json.dumps({"model": name, "parameters": sum(p.numel() for p in model.parameters()), "audio_s": a.seconds,
                          "sample_rate": rate, "threads": a.threads, "seconds": round(t, 3), "rtf": round(t / a.seconds, 4)}),
              flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
