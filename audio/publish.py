"""Measure finished runs and write their model folders ``hub/models/<name>`` (through `zoo.promote`).

    ZOO_DATA_DIR=../shared/data python -m zoo.audio.publish [--runs runs/audio/overlap] [--measure-only] NAME...

For each name: read ``RUNS/<name>/hub`` (the best-validation checkpoint that ``zoo train <name> --out
RUNS/<name>`` wrote) and its ``result.json`` / training log (of every stage of a recipe in stages; steps,
time and validations are counted across them), and evaluate it exactly as ``zoo eval <name>``
does, with its weights rounded to float16, on the fixed test mixtures of the overlap protocol (min and max
mode, mixture by mixture) and of the earlier sparse protocol (second condition). float16 is kept only if
the SI-SNRi of every overlap mode moves by at most 0.05 dB from the float32 figure the run measured on
the same mixtures. It also records the SI-SNRi of the first ``CHECK_MIXTURES`` test mixtures per mode
(``zoo eval <name> --mixtures 8``, pinned by the tests). The facts go to ``RUNS/<name>/published.json``
(``--measure-only`` stops there, so models can be measured in parallel processes); writing a folder
compares each model mixture by mixture with the Conv-TasNet baseline (paired 95 % interval per mode) from
the stored per-mixture scores, writes the folder with these facts in ``results.json`` and the card's widget
example (the bundled mixture separated by the new weights), and re-renders the other separators' cards, which
quote its figures (`refresh_cards`). No Python file is rewritten.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

CHECK_MIXTURES = 8
FP16_TOLERANCE_DB = 0.05
MODES = ("min", "max")


def _load_trained() -> dict:
    """name -> measured facts of the separators that already have a folder."""
    from zoo.registry import get_entry, list_models

    out = {}
    for name in list_models(domain="audio", pretrained=True):
        entry = get_entry(name)
        if "trained" in entry.extra:
            out[name] = entry.extra["trained"]
    return out


def _rounded(model, dtype):
    state = {k: (v.to(dtype).to(v.dtype) if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    return model


def _weights_bytes(model, dtype) -> bytes:
    from safetensors.torch import save

    from zoo.hub.pretrained import state_dict_for_saving

    return save(state_dict_for_saving(model, dtype), metadata={"format": "pt"})


def _summary(r: dict) -> dict:
    return {k: r[k] for k in ("si_snr", "si_snri", "input_si_snr", "mixtures")}


def measure(name: str, runs: Path) -> dict:
    """Measured facts of ``runs/<name>`` (also written to ``runs/<name>/published.json``)."""
    import hashlib

    from zoo.hub import from_pretrained

    from .cli import evaluate_protocol
    from .train import val_history

    run = runs / name
    result = json.loads((run / "result.json").read_text())
    fp32 = {m: result["test"]["results"][m]["si_snri"] for m in MODES}  # the run's own evaluation, same mixtures
    half = _rounded(from_pretrained(run / "hub"), torch.float16)
    fp16 = evaluate_protocol(half, name, per_mixture=True)["results"]
    keep16 = all(abs(fp16[m]["si_snri"] - fp32[m]) <= FP16_TOLERANCE_DB for m in MODES)
    if keep16:
        final, dtype, test = half, torch.float16, fp16
    else:
        final, dtype = from_pretrained(run / "hub"), None
        test = evaluate_protocol(final, name, per_mixture=True)["results"]
    check = evaluate_protocol(final, name, mixtures=CHECK_MIXTURES)["results"]
    sparse = evaluate_protocol(final, name, protocol="sparse")["results"]["sparse"]
    best = result.get("best_checkpoint") or ""
    best_step = result.get("best_step")
    if best_step is None and best:  # runs from before result.json recorded it
        best_step = int(torch.load(run / Path(best).name, map_location="cpu", weights_only=False)["global_step"])
    facts = {
        "protocol": "overlap",
        "dtype": "float16" if keep16 else "float32",
        "sha256": hashlib.sha256(_weights_bytes(final, dtype)).hexdigest(),
        "parameters": int(result["parameters"]),
        "steps": int(result["steps"]),
        "best_step": best_step,
        "train_seconds": result["train_seconds"],
        **({"train_seconds_note": result["train_seconds_note"]} if result.get("train_seconds_note") else {}),
        "threads": int(result.get("threads", 1)),
        **({"threads_note": result["threads_note"]} if result.get("threads_note") else {}),
        **({"segments": result["segments"]} if result.get("segments") else {}),
        "val_si_snri": val_history(run),
        "test": {m: _summary(test[m]) for m in MODES},
        "fp32_test_si_snri": fp32,
        "fp16_test_si_snri": {m: fp16[m]["si_snri"] for m in MODES},
        "si_snri_per_mixture": {m: test[m]["si_snri_per_mixture"] for m in MODES},
        "sparse_test": _summary(sparse),
        "check_mixtures": CHECK_MIXTURES,
        "check_si_snri": {m: check[m]["si_snri"] for m in MODES},
    }
    if result.get("earlier_stages"):
        facts = across_stages(facts, result["earlier_stages"])
    from zoo.io import atomic_write

    with atomic_write(run / "published.json") as tmp:
        Path(tmp).write_text(json.dumps(facts, indent=1))
    print(name, json.dumps({k: v for k, v in facts.items() if k != "si_snri_per_mixture"}), flush=True)
    return facts


def across_stages(facts: dict, earlier: list[dict]) -> dict:
    """The facts of a run in stages: steps, best step, time, validations and segments (threads and time of each
    fit, `zoo.training.train_segments`) counted across the ``earlier`` stages (``result.json``'s
    ``earlier_stages``, in order) and the last (``facts``, its steps counted from 0)."""
    n, val, seconds, segments = 0, {}, 0.0, []
    for stage in earlier + [facts]:
        val.update({n + int(k): v for k, v in stage["val_si_snri"].items()})
        segments += [dict(s, steps=[n + s["steps"][0], n + s["steps"][1]]) for s in stage.get("segments") or []]
        n, seconds = n + int(stage["steps"]), seconds + stage["train_seconds"]
    return {**facts, "steps": n, "best_step": n - int(facts["steps"]) + facts["best_step"],
            "train_seconds": round(seconds, 1), "val_si_snri": val, **({"segments": segments} if segments else {}),
            "earlier_stages": [{k: s[k] for k in ("steps", "train_seconds", "threads", "best_step")} for s in earlier]}


def compare(facts: dict, baseline: dict) -> dict:
    """Per overlap mode, the mixture-by-mixture comparison of ``facts`` with the baseline's
    (`zoo.audio.task.paired_difference` of the stored per-mixture SI-SNRi)."""
    from .task import paired_difference

    return {m: paired_difference(facts["si_snri_per_mixture"][m], baseline["si_snri_per_mixture"][m]) for m in MODES}


def write(name: str, facts: dict, trained: dict, runs: Path) -> Path:
    from zoo.hub import from_pretrained
    from zoo.promote import add_widget_examples, write_entry_folder
    from zoo.weights import sha256_file

    from .registry import BASELINE, entry_for_run

    if name != BASELINE:
        if BASELINE not in trained or "si_snri_per_mixture" not in trained[BASELINE]:
            raise SystemExit(f"{name}: publish {BASELINE} first (the paired comparison needs its scores)")
        facts = {**facts, "vs_baseline": compare(facts, trained[BASELINE])}
    dtype = torch.float16 if facts["dtype"] == "float16" else None
    model = from_pretrained(runs / name / "hub")
    folder = write_entry_folder(model, entry_for_run(name, facts, trained), dtype=dtype)
    got = sha256_file(Path(folder) / "model.safetensors")
    if got != facts["sha256"]:
        raise SystemExit(f"{name}: written sha256 {got} differs from the measured {facts['sha256']}")
    add_widget_examples(folder)  # the bundled mixture separated by these weights
    print(folder)
    return Path(folder)


def refresh_cards(trained: dict, skip=()) -> list[Path]:
    """Re-render the card text of the registered separators not in ``skip`` from their stored facts and the
    others' in ``trained`` (a card names the other separators' figures, which a newly published model changes):
    the ``description`` and ``training_notes`` of the folder's ``config.json``, then its ``README.md``; the
    weights and results are not touched. Returns the folders that changed."""
    from zoo.hub.card import write_card
    from zoo.io import atomic_write
    from zoo.promote import facts_from_entry
    from zoo.registry import models_dir

    from .recipes import RECIPES
    from .registry import entry_for_run

    changed = []
    for name in sorted(set(trained) - set(skip)):
        path = models_dir() / name / "config.json"
        if name not in RECIPES or not path.is_file():
            continue
        card, _, _ = facts_from_entry(entry_for_run(name, trained[name], trained))
        config = json.loads(path.read_text())
        new = {k: card[k] for k in ("description", "training_notes") if k in card}
        if all(config.get("card", {}).get(k) == v for k, v in new.items()):
            continue
        config.setdefault("card", {}).update(new)
        with atomic_write(path) as tmp:
            Path(tmp).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        write_card(path.parent)
        print(path.parent, "card re-rendered")
        changed.append(path.parent)
    return changed


def main(argv=None) -> int:
    from .registry import BASELINE

    p = argparse.ArgumentParser(prog="python -m zoo.audio.publish", description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="+")
    p.add_argument("--runs", default="runs/audio/overlap", help="folder of the runs (RUNS/<name>/hub, result.json)")
    p.add_argument("--measure-only", action="store_true", help="write RUNS/<name>/published.json, no folder")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    runs = Path(a.runs)
    facts = {}
    for name in a.names:  # measured facts are reused while newer than the run's weights
        stored, weights = runs / name / "published.json", runs / name / "hub" / "model.safetensors"
        if stored.is_file() and stored.stat().st_mtime > weights.stat().st_mtime:
            facts[name] = json.loads(stored.read_text())
        else:
            facts[name] = measure(name, runs)
    if a.measure_only:
        return 0
    trained = {**_load_trained(), **facts}
    for name in sorted(a.names, key=lambda n: n != BASELINE):  # the baseline first
        write(name, facts[name], trained, runs)
    refresh_cards(_load_trained(), skip=a.names)  # the other cards quote the new figures
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
