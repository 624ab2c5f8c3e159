"""Separator recipes and what is not a measurement: papers, published figures, the card text of a run.

The trained separators live in their folders ``hub/models/<name>/`` (``config.json`` and
``results.json``, written by ``python -m zoo.audio.publish NAME...`` from a finished run); the core registry
reads them from there and they take precedence over the weightless recipe entries registered here
(``zoo train <name>`` trains a recipe).

Published figures, quoted as theirs (not re-measured here; other data): ClearVoice's README
(clearvoice/README.md, speech separation table) gives MossFormer2_SS_16K 22.0 dB SI-SNRi on WSJ0-2mix
(8 kHz) and, for Conv-TasNet, 15.3 dB (taken there from the TDANet repository).
"""
from __future__ import annotations

import itertools

from zoo.registry import Metric, ModelEntry, WeightsSource, register_model

from .recipes import RECIPES, TEST_PROTOCOLS, restart_stages

PAPERS = {
    "mossformer": "https://arxiv.org/abs/2302.11824",
    "mossformer2": "https://arxiv.org/abs/2312.11825",
    "convtasnet": "https://arxiv.org/abs/1809.07454",
}
TITLES = {"mossformer": "MossFormer", "mossformer2": "MossFormer2", "convtasnet": "Conv-TasNet (torchaudio)"}
PUBLISHED = {
    "mossformer": "Released MossFormer checkpoints (ModelScope) load with zoo.audio.load_released.",
    "mossformer2": "Published (ClearVoice README, their model on their data, not comparable to FSDD): MossFormer2_SS_16K "
    "22.0 dB SI-SNRi on WSJ0-2mix; released checkpoints load with zoo.audio.load_released.",
    "convtasnet": "Published (ClearVoice README table, from the TDANet repository): Conv-TasNet 15.3 dB SI-SNRi on "
    "WSJ0-2mix; not comparable to FSDD.",
}


BASELINE = "convtasnet-fsdd2mix"
DATASET = "FSDD"
_MODE_TEXT = {"min": "min mode: truncated to the shorter source", "max": "max mode: zero-padded to the longer source"}


def overlap_protocol(mode: str) -> str:
    """What the headline test of ``mode`` ("min" or "max") measures (`zoo.audio.recipes.TEST_PROTOCOLS`)."""
    t = TEST_PROTOCOLS["overlap"]
    return (f"fully overlapped two-speaker mixtures (both start at sample 0; {_MODE_TEXT[mode]}), {t['test_size']} "
            f"fixed test mixtures (seed {t['seed']}) of FSDD's official test utterances (index 0-4), each source "
            f"{t['digits'][0]}-{t['digits'][1]} digits of one speaker joined by {t['gap_seconds'][0]}-"
            f"{t['gap_seconds'][1]} s pauses, levels uniform in [-5, 5] dB, 8 kHz; closed-set: all 6 speakers are "
            "seen in training")  # fmt: skip


SPARSE_PROTOCOL = ("earlier, easier protocol: 500 fixed test mixtures (seed 0) of FSDD's official test utterances, one "
                   "digit per speaker at a random offset in a 1 s window, so the speakers mostly do not overlap")
SPARSE_NOTE = "Sparse protocol (a second, easier condition): one digit per speaker at a random offset in a 1 s window."
SI_SNRI = "SI-SNRi = SI-SNR of the best speaker permutation minus the mixture's own, in dB, averaged over mixtures."


def _db(v: float) -> str:
    return f"{v:.2f} dB"


def _signed(v: float) -> str:
    """``+0.14`` / ``-0.30``; a value that rounds to zero keeps its sign with one more digit (``-0.001``)."""
    return f"{v:+.2f}" if abs(v) >= 0.005 or v == 0 else f"{v:+.3f}"


def _both(t: dict) -> str:
    return f"{_db(t['min']['si_snri'])} (min mode) / {_db(t['max']['si_snri'])} (max mode)"


def _comparison(name: str, trained: dict) -> str:
    """The card's sentence comparing ``name`` with the identically trained models (``trained``: name -> facts)."""
    mine = trained[name]
    if name != BASELINE and BASELINE in trained:
        base, paired = trained[BASELINE], mine.get("vs_baseline") or {}
        parts = []
        for m in ("min", "max"):
            d = mine["test"][m]["si_snri"] - base["test"][m]["si_snri"]
            p = paired.get(m)
            parts.append(f"{_signed(d)} dB in {m} mode" + (
                f" (mixture by mixture: 95 % interval {_signed(p['ci95_db'][0])} to {_signed(p['ci95_db'][1])} dB, better on "
                f"{100 * p['better_share']:.0f} % of the mixtures)" if p else ""))
        return (f" The identically trained Conv-TasNet baseline (`{BASELINE}`: same steps, data stream, optimiser and "
                f"seed), measured by the same command, scores {_both(base['test'])} SI-SNRi: this model is "
                f"{' and '.join(parts)}, with {mine['parameters'] / base['parameters']:.2f}x its "
                f"{base['parameters']:,} parameters.")  # fmt: skip
    others = [f"`{n}` {_both(trained[n]['test'])}" for n in sorted(trained) if n != name and "min" in trained[n]["test"]]
    return (" Identically trained MossFormer models, measured by the same command: " + "; ".join(others) + "."
            if others else "")  # fmt: skip


def _trained_description(name: str, arch: str, facts: dict, trained: dict) -> str:
    r, t = RECIPES[name], facts["test"]
    best_val = {int(k): v for k, v in facts["val_si_snri"].items()}[facts["best_step"]]
    return (
        f"{TITLES[arch]} for two-speaker separation at 8 kHz, trained from scratch in attention-zoo on fully "
        f"overlapped Free Spoken Digit Dataset mixtures. Test (`zoo eval {name}`): **{_both(t)} SI-SNRi** on "
        f"{t['min']['mixtures']} fixed mixtures in which both speakers talk at once from the first sample (the "
        f"field's standard condition, as in WSJ0-2mix / Libri2Mix), each speaker saying {r['digits'][0]}-"
        f"{r['digits'][1]} digits, levels within ±5 dB.{_comparison(name, trained)} Training: {_schedule(r, facts)}, "
        f"PIT SI-SNR loss, {_threads(facts)} for {'about ' if facts.get('train_seconds_note') else ''}"
        f"{facts['train_seconds'] / 60:.0f} min; the checkpoint with the best validation SI-SNRi "
        f"{'of the last stage ' if facts.get('earlier_stages') else ''}(step {facts['best_step']}, {_db(best_val)} on "
        f"{r['val_size']} validation mixtures) is kept. "
        f"{facts['parameters']:,} parameters, stored in {facts['dtype']}. Limits: FSDD has 6 speakers and all of "
        f"them are seen in training, so this is a closed-set result, not a measure of unseen voices; a small model "
        f"trained for {_duration(facts['train_seconds'])} on {_threads(facts)}, far below the papers' models (tens of millions of "
        f"parameters, hundreds of GPU hours) and not comparable with WSJ0-2mix figures. On the earlier, "
        f"partially overlapping 1 s mixtures (`zoo eval {name} --protocol sparse`) it scores "
        f"{_db(facts['sparse_test']['si_snri'])}. {PUBLISHED[arch]}"
    )


def _schedule(r: dict, facts: dict) -> str:
    """The card's training schedule: steps, data, optimiser; a run in stages (``earlier_stages``) names each."""
    earlier = facts.get("earlier_stages") or []
    steps = [int(s["steps"]) for s in earlier] + [facts["steps"] - sum(int(s["steps"]) for s in earlier)]
    text = (f"{steps[0]} steps of batch {r['batch_size']} with dynamic mixing under the same protocol "
            f"({r['segment_seconds']} s crops, min and max mode), Adam {r['optim']['lr']}, warm-up then cosine")
    lrs = [s["lr"] for s in restart_stages(r.get("restart"))]
    if len(steps) == 2:
        text += (f", then {steps[1]} more steps from the best of those weights with a fresh Adam, warm-up "
                 f"and cosine from {lrs[0]} (a warm restart; the data stream goes on)")  # fmt: skip
    elif len(steps) > 2:
        count = {2: "two", 3: "three"}.get(len(steps) - 1, len(steps) - 1)
        text += (f", then {count} warm restarts, each from the best weights of the stage before with a fresh "
                 "Adam, warm-up and cosine (the data stream goes on): "
                 + ", then ".join(f"{n} steps from {lr}" for n, lr in zip(steps[1:], lrs)))  # fmt: skip
    return text + (f", {facts['steps']} steps in all" if earlier else "")


def _stage_starts(facts: dict) -> str:
    """Where a run's later stages begin, for its validation history (empty for a run in one stage)."""
    starts = list(itertools.accumulate(int(s["steps"]) for s in facts.get("earlier_stages") or []))
    if len(starts) < 2:
        return "".join(f"; the second stage begins after step {n}" for n in starts)
    return f"; the later stages begin after steps {', '.join(map(str, starts[:-1]))} and {starts[-1]}"


def _duration(seconds: float) -> str:
    """``"under an hour"`` or e.g. ``"about 1.5 hours"``: the card's plain-words training time."""
    return "under an hour" if seconds < 3600 else f"about {seconds / 3600:.1f} hours"


def _threads(facts: dict) -> str:
    if facts.get("threads_note"):  # a run resumed with another thread count says how
        return facts["threads_note"]
    ranges = thread_ranges(facts.get("segments") or [])
    if len(ranges) > 1:
        return ", ".join(f"{_thread_words(n)} for steps {_int(a)}-{_int(b)}" if n else f"steps {_int(a)}-{_int(b)} "
                         "not recorded" for a, b, n in ranges)  # fmt: skip
    return _thread_words(facts.get("threads", 1))  # runs that did not record it used one thread


def _thread_words(n: int) -> str:
    return "one CPU thread" if n == 1 else f"{n} CPU threads"


def _int(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def thread_ranges(segments: list[dict]) -> list[tuple[int, int, int | None]]:
    """``(first step, last step, threads)`` of a run's segments (`zoo.training.train_segments`, steps counted
    across stages), neighbours with the same thread count joined; steps before the first recorded segment, or
    between two, come as ``threads=None``. No segments: ``[]``."""
    out: list[tuple[int, int, int | None]] = []
    for s in segments:
        a, b, n = int(s["steps"][0]), int(s["steps"][1]), int(s["threads"])
        if b < a:  # a fit that ran no step (resumed at its end)
            continue
        end = out[-1][1] if out else 0
        if a > end + 1:
            out.append((end + 1, a - 1, None))
        if out and out[-1][2] == n:
            out[-1] = (out[-1][0], b, n)
        else:
            out.append((a, b, n))
    return out


def _training_notes(name: str, facts: dict) -> str:
    n = facts.get("threads", 1)
    where = "a 2-core CPU shared with one other job" if n == 1 else "a 2-core CPU with no other job"
    if facts.get("threads_note") or len(thread_ranges(facts.get("segments") or [])) > 1:
        where = "a 2-core CPU"
    val = sorted((int(k), v) for k, v in facts["val_si_snri"].items())
    return (f"Run here as `ZOO_DATA_DIR=/path/to/data zoo train {name} --threads {n} --no-progress` ({_threads(facts)}, "
            f"{facts['train_seconds']:.0f} s of training on {where}"
            + (f"; {facts['train_seconds_note']}" if facts.get("train_seconds_note") else "") + "). "
            "Validation SI-SNRi by step (min and max mode alternating"
            + _stage_starts(facts)
            + "): "
            + ", ".join(f"{k}: {v:.2f} dB" for k, v in val) + ". "
            f"Stored in {facts['dtype']}: test SI-SNRi "
            + "; ".join(f"{m} mode {facts['fp32_test_si_snri'][m]:.3f} dB in float32, "
                        f"{facts['fp16_test_si_snri'][m]:.3f} dB with float16 weights" for m in ("min", "max"))
            + " (float16 kept when every mode is within 0.05 dB).")  # fmt: skip


def entry_for_run(name: str, facts: dict | None = None, trained: dict | None = None) -> ModelEntry:
    """The entry of recipe ``name``: weightless, or (``facts`` of a finished run, ``trained``: the other
    separators' facts for the comparison) with the card text and metrics its folder gets."""
    r = RECIPES[name]
    arch = r["architecture"]
    metrics, weights = [], None
    description = (
        f"{TITLES[arch]} for two-speaker separation at 8 kHz, recipe for fully overlapped Free Spoken Digit Dataset "
        "mixtures (two different speakers talking at once, relative level uniform in [-5, 5] dB, dynamic mixing; "
        "test mixtures from the official test utterances only). Registered without weights: train it with "
        f"`zoo train {name}`. {PUBLISHED[arch]}"
    )
    if facts is not None:
        weights = WeightsSource(folder=name, sha256=facts["sha256"])
        trained = {**(trained or {}), name: facts}
        overlap = [Metric(f"SI-SNRi (overlap, {m})", facts["test"][m]["si_snri"], DATASET, "test", f"zoo eval {name}",
                          note=SI_SNRI, protocol=overlap_protocol(m)) for m in ("min", "max")]
        sparse = [Metric(f"{k} (sparse protocol)", facts["sparse_test"][key], DATASET, "test",
                         f"zoo eval {name} --protocol sparse", note=SPARSE_NOTE,
                         protocol=SPARSE_PROTOCOL) for k, key in (("SI-SNRi", "si_snri"), ("SI-SNR", "si_snr"))]
        metrics = overlap + sparse
        description = _trained_description(name, arch, facts, trained)
    return ModelEntry(
        name=name,
        architecture=arch,
        domain="audio",
        task="speech-separation",
        model_args=dict(r["model_args"]),
        preprocessing={"sample_rate": r["sample_rate"], "num_speakers": r["model_args"]["num_speakers"],
                       "segment_seconds": r["segment_seconds"]},  # fmt: skip
        weights=weights,
        license="cc-by-sa-4.0",
        metrics=metrics,
        description=description,
        datasets=("FSDD",),
        tags=("speech-separation", "audio", arch),
        paper=PAPERS[arch],
        train_command=f"zoo train {name}",
        extra={"recipe": {k: v for k, v in r.items() if k != "model_args"},
               **({"params": facts["parameters"], "weights_dtype": facts["dtype"], "trained": facts,
                   "training_notes": _training_notes(name, facts)} if facts else {})},  # fmt: skip
    )


for _name in RECIPES:  # weightless recipe entries; a model folder of the same name takes precedence
    register_model(entry_for_run(_name))
