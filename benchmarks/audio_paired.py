"""Paired comparison of the registered separators with the Conv-TasNet baseline, mixture by mixture.

    ZOO_DATA_DIR=../shared/data python benchmarks/audio_paired.py [--protocol overlap] [--split test] [--models NAME ...]

Each model (the registered weights, as `zoo.load` gives them) separates the same fixed mixtures of
``--protocol`` / ``--split`` (overlap protocol: 300 test or 100 validation mixtures, in min and in max mode);
for every mixture the difference of its SI-SNRi and the baseline's is taken. Prints per model and mode: mean
difference (= the difference of the cards' means), its standard error and a normal-approximation 95 %
interval, and the share of mixtures where the model is better (`zoo.audio.task.paired_difference`;
``python -m zoo.audio.publish`` records the same for the test split on the cards). One JSON line per model
and mode.
"""

from __future__ import annotations

import argparse
import json

import torch


def main(argv=None) -> int:
    import zoo
    from zoo.audio.cli import evaluate_protocol
    from zoo.audio.registry import BASELINE
    from zoo.audio.task import paired_difference

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--protocol", default="overlap", choices=("overlap", "sparse"))
    p.add_argument("--split", default="test", choices=("test", "val"))
    p.add_argument("--models", nargs="+", default=["mossformer2-fsdd2mix", "mossformer-fsdd2mix"])
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    scores = {}
    for name in [BASELINE, *a.models]:
        res = evaluate_protocol(zoo.load(name), name, protocol=a.protocol, split=a.split, per_mixture=True)["results"]
        scores[name] = {mode: torch.tensor(r["si_snri_per_mixture"]) for mode, r in res.items()}
    for name in a.models:
        for mode, s in scores[name].items():
            base = scores[BASELINE][mode]
            out = {"model": name, "baseline": BASELINE, "protocol": a.protocol, "mode": mode, "split": a.split,
                   "model_si_snri": round(s.mean().item(), 3), "baseline_si_snri": round(base.mean().item(), 3),
                   **paired_difference(s, base)}  # fmt: skip
            print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
