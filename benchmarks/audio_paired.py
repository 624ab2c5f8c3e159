"""Paired comparison of the registered separators with the Conv-TasNet baseline, mixture by mixture.

    ZOO_DATA_DIR=../shared/data python benchmarks/audio_paired.py [--split test] [--models NAME ...]

Each model (the registered weights, as `zoo.load` gives them) separates the same fixed mixtures of the
recipe's ``--split`` (test: 500, validation: 100); for every mixture the difference of its SI-SNRi and the
baseline's is taken. Prints per model: mean difference (= the difference of the cards' means), its
standard error and a normal-approximation 95 % interval, and the share of mixtures where the model is
better (`zoo.audio.task.paired_difference`; `python -m zoo.audio.publish measure` records the same on
the cards). One JSON line per model.
"""

from __future__ import annotations

import argparse
import json

import torch


def main(argv=None) -> int:
    import zoo
    from zoo.audio.cli import evaluate_model
    from zoo.audio.registry import BASELINE
    from zoo.audio.task import paired_difference

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--split", default="test", choices=("test", "val"))
    p.add_argument("--models", nargs="+", default=["mossformer2-fsdd2mix", "mossformer-fsdd2mix"])
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    scores = {}
    for name in [BASELINE, *a.models]:
        res = evaluate_model(zoo.load(name), name, split=a.split, per_mixture=True)
        scores[name] = torch.tensor(res["si_snri_per_mixture"])
    for name in a.models:
        out = {"model": name, "baseline": BASELINE, "split": a.split,
               "model_si_snri": round(scores[name].mean().item(), 3),
               "baseline_si_snri": round(scores[BASELINE].mean().item(), 3),
               **paired_difference(scores[name], scores[BASELINE])}  # fmt: skip
        print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
