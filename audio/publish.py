"""Measure finished runs and write their model folders ``hub/models/<name>`` (through `zoo.promote`).

    ZOO_DATA_DIR=../shared/data python -m zoo.audio.publish convtasnet-fsdd2mix mossformer-fsdd2mix ...

For each name (the baseline first): read ``runs/audio/<name>/hub`` (the best-validation checkpoint that
``zoo train <name>`` wrote) and its ``result.json`` / training log, evaluate it on the recipe's fixed test
mixtures exactly as ``zoo eval <name>`` does with its weights rounded to float16, and compare with the
float32 test SI-SNRi the run measured on the same mixtures; float16 is kept only if the test SI-SNRi
moves by at most 0.05 dB. It also records the SI-SNRi of the first ``CHECK_MIXTURES`` test mixtures
(``zoo eval <name> --mixtures 8``, pinned by the tests) and, for every model but the baseline, the
mixture-by-mixture comparison with the baseline as stored (read from the baseline's folder). The folder
is written with these facts in ``results.json``; no Python file is rewritten.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import torch

REPO = Path.cwd()  # runs/ are read from the working directory (the checkout)
CHECK_MIXTURES = 8
FP16_TOLERANCE_DB = 0.05

def _load_trained() -> dict:
    """name -> measured facts of the separators that already have a folder."""
    from zoo.registry import get_entry, list_models

    out = {}
    for name in list_models(domain="audio", pretrained=True):
        entry = get_entry(name)
        if "trained" in entry.extra:
            out[name] = entry.extra["trained"]
    return out


def _val_history(run: Path) -> dict[int, float]:
    out = {}
    for f in sorted(run.glob("logs/version_*/metrics.csv")):
        with open(f) as fh:
            for row in csv.DictReader(fh):
                if row.get("val/si_snri"):
                    out[int(row["step"]) + 1] = round(float(row["val/si_snri"]), 3)
    return out


def _rounded(model, dtype):
    state = {k: (v.to(dtype).to(v.dtype) if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    return model


def _weights_bytes(model, dtype) -> bytes:
    from safetensors.torch import save

    from zoo.hub.pretrained import state_dict_for_saving

    return save(state_dict_for_saving(model, dtype), metadata={"format": "pt"})


def measure(name: str, trained: dict) -> dict:
    """Measured facts of ``runs/audio/<name>``; ``trained`` holds the other separators' (the baseline's first)."""
    import hashlib

    from zoo.hub import from_pretrained

    from .cli import evaluate_model
    from .registry import BASELINE
    from .task import paired_difference

    torch.set_num_threads(1)
    run = REPO / "runs" / "audio" / name
    result = json.loads((run / "result.json").read_text())
    fp32 = result["test"]  # the training run's evaluation of the same checkpoint on the same test mixtures
    half = _rounded(from_pretrained(run / "hub"), torch.float16)
    fp16 = evaluate_model(half, name, per_mixture=True)
    keep16 = abs(fp16["si_snri"] - fp32["si_snri"]) <= FP16_TOLERANCE_DB
    if keep16:
        final, dtype, test = half, torch.float16, fp16
    else:
        final, dtype = from_pretrained(run / "hub"), None
        test = evaluate_model(final, name, per_mixture=True)
    check = evaluate_model(final, name, mixtures=CHECK_MIXTURES)
    vs_baseline = None
    if name != BASELINE:  # mixture by mixture against the baseline as stored (measure the baseline first)
        base_facts = trained.get(BASELINE)
        if base_facts is None:
            raise SystemExit(f"{name}: measure {BASELINE} first (the paired comparison needs it)")
        base = from_pretrained(REPO / "runs" / "audio" / BASELINE / "hub")
        if base_facts["dtype"] == "float16":
            base = _rounded(base, torch.float16)
        base_scores = evaluate_model(base, BASELINE, per_mixture=True)
        if base_scores["si_snri"] != base_facts["test"]["si_snri"]:
            raise SystemExit(f"{BASELINE}: runs/audio/{BASELINE}/hub gives {base_scores['si_snri']} dB, not the "
                             f"measured {base_facts['test']['si_snri']} dB: measure it again first")  # fmt: skip
        vs_baseline = paired_difference(test["si_snri_per_mixture"], base_scores["si_snri_per_mixture"])
    best = result.get("best_checkpoint") or ""
    best_step = int(torch.load(run / Path(best).name, map_location="cpu", weights_only=False)["global_step"]) if best else None
    facts = {
        "dtype": "float16" if keep16 else "float32",
        "sha256": hashlib.sha256(_weights_bytes(final, dtype)).hexdigest(),
        "parameters": int(result["parameters"]),
        "steps": int(result["steps"]),
        "best_step": best_step,
        "train_seconds": result["train_seconds"],
        "threads": int(result.get("threads", 1)),
        "val_si_snri": _val_history(run),
        "test": {k: test[k] for k in ("si_snr", "si_snri", "input_si_snr", "mixtures")},
        "fp32_test_si_snri": fp32["si_snri"],
        "fp16_test_si_snri": fp16["si_snri"],
        "check_mixtures": CHECK_MIXTURES,
        "check_si_snri": check["si_snri"],
        **({"vs_baseline": vs_baseline} if vs_baseline else {}),
    }
    print(name, json.dumps(facts), flush=True)
    return facts


def write(name: str, facts: dict, trained: dict) -> Path:
    from zoo.hub import from_pretrained
    from zoo.promote import write_entry_folder
    from zoo.weights import sha256_file

    from .registry import entry_for_run

    dtype = torch.float16 if facts["dtype"] == "float16" else None
    model = from_pretrained(REPO / "runs" / "audio" / name / "hub")
    folder = write_entry_folder(model, entry_for_run(name, facts, trained), dtype=dtype)
    got = sha256_file(Path(folder) / "model.safetensors")
    if got != facts["sha256"]:
        raise SystemExit(f"{name}: written sha256 {got} differs from the measured {facts['sha256']}")
    print(folder)
    return Path(folder)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-"):
        print(__doc__)
        return 2
    trained = _load_trained()
    for name in argv:
        trained[name] = measure(name, trained)
        write(name, trained[name], trained)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
