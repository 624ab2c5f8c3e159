"""Real-time factor of the registered separators on this CPU: seconds of compute per second of audio.

    python benchmarks/audio_rtf.py [--seconds 10] [--threads 1] [--repeats 3] [--long 60] [--paper-size]

For every registered separator's recipe (`zoo.audio.recipes.RECIPES`; random weights: speed does not depend on
them) one forward pass over ``--seconds`` of
8 kHz audio in one piece, in eval mode without gradients; the median of ``--repeats`` runs after one
warm-up. ``--long S`` adds ``model.separate`` of an S-second mixture through the chunked path (10 s
chunks, 1 s overlap; its RTF and the growth of the process's peak resident memory, meaningful for the
first model of a run: use ``--only NAME``). ``--paper-size`` adds
the released 24-layer, 512-wide MossFormer2 configuration. RTF < 1 means faster than real time. Prints
one JSON line per model. Run it on a quiet machine (training runs change the numbers).
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


def long_run(model, seconds: float, rate: int) -> dict:
    """``model.separate`` of a ``seconds``-long mixture in 10 s chunks: RTF and peak-memory growth (MiB)."""
    import resource

    x = torch.randn(int(seconds * rate)) * 0.1
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    est = model.separate(x, chunk_seconds=10.0, overlap_seconds=1.0)
    took = time.perf_counter() - t
    grow = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert est.shape == (1, model.num_speakers, x.numel())
    return {"long_audio_s": seconds, "long_seconds": round(took, 2), "long_rtf": round(took / seconds, 4),
            "long_peak_rss_growth_mib": round(grow, 1)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--paper-size", action="store_true")
    p.add_argument("--long", type=float, default=0.0, help="also separate() a mixture this long, in chunks")
    p.add_argument("--only", help="one model (the peak-memory growth is per process: measure one model per run)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)

    from zoo.audio.mossformer import RELEASED_CONFIGS
    from zoo.audio.recipes import RECIPES
    from zoo.loading import build

    models = {name: (r["architecture"], r["model_args"]) for name, r in RECIPES.items() if a.only in (None, name)}
    if a.paper_size:
        models["mossformer2 (24x512, released config, 8 kHz)"] = ("mossformer2", dict(RELEASED_CONFIGS["mossformer2-librimix-2spk"]))
    for name, (arch, args) in models.items():
        model = build(arch, args)
        rate = args.get("sample_rate", 8000)
        t = measure(model, a.seconds, rate, a.repeats)
        row = {"model": name, "parameters": sum(p.numel() for p in model.parameters()), "audio_s": a.seconds,
               "sample_rate": rate, "threads": a.threads, "seconds": round(t, 3), "rtf": round(t / a.seconds, 4)}
        if a.long:
            row.update(long_run(model, a.long, rate))
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
