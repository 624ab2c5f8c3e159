"""Registered separators: recipes trained here on FSDD two-speaker mixtures (`zoo.audio.recipes`).

All three recipes were trained identically (same data stream, steps, optimiser, seed) on this shared
CPU; ``audio/trained.py`` holds what was measured (written by ``python -m zoo.audio.publish measure``),
and every entry found there is registered with its Hub-form folder ``hub/models/<name>`` (sha256 pinned)
and its test SI-SNRi / SI-SNR measured by ``zoo eval <name>``. Each card also states the SI-SNRi of the
identically trained Conv-TasNet baseline, measured by the same command. An entry missing from
``trained.py`` is registered without weights (``zoo train <name>`` then writes ``runs/audio/<name>/hub``).

Published figures, quoted as theirs (not re-measured here; other data): ClearVoice's README
(clearvoice/README.md, speech separation table) gives MossFormer2_SS_16K 22.0 dB SI-SNRi on WSJ0-2mix
(8 kHz) and, for Conv-TasNet, 15.3 dB (taken there from the TDANet repository).
"""
from __future__ import annotations

from zoo.registry import Metric, ModelEntry, WeightsSource, register_model

from .recipes import RECIPES
from .trained import TRAINED

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
PROTOCOL = ("500 fixed two-speaker test mixtures (seed 0) built only from FSDD's official test utterances "
            "(index 0-4), 1 s at 8 kHz, relative level uniform in [-5, 5] dB")


def _db(v: float) -> str:
    return f"{v:.2f} dB"


def _comparison(name: str) -> str:
    """The card's sentence comparing ``name`` with the identically trained models, all measured here."""
    if name not in TRAINED:
        return ""
    mine = TRAINED[name]["test"]["si_snri"]
    if name != BASELINE and BASELINE in TRAINED:
        base = TRAINED[BASELINE]["test"]["si_snri"]
        paired = TRAINED[name].get("vs_baseline")
        spread = (f" (mixture by mixture: standard error {paired['stderr_db']:.2f} dB, 95 % interval "
                  f"{paired['ci95_db'][0]:+.2f} to {paired['ci95_db'][1]:+.2f} dB; better on "
                  f"{100 * paired['better_share']:.0f} % of the mixtures; benchmarks/audio_paired.py)" if paired else "")
        return (f" Identically trained Conv-TasNet baseline (`{BASELINE}`, same steps, data stream, optimiser and "
                f"seed), measured by the same command: {_db(base)} SI-SNRi, so this model is {mine - base:+.2f} dB "
                f"against it{spread}, with {TRAINED[name]['parameters'] / TRAINED[BASELINE]['parameters']:.2f}x its "
                f"{TRAINED[BASELINE]['parameters']:,} parameters.")  # fmt: skip
    others = [f"`{n}` {_db(TRAINED[n]['test']['si_snri'])}" for n in sorted(TRAINED) if n != name]
    return (" Identically trained MossFormer models, measured by the same command: " + ", ".join(others) + "."
            if others else "")  # fmt: skip


def _trained_description(name: str, arch: str, facts: dict) -> str:
    r, t = RECIPES[name], facts["test"]
    return (
        f"{TITLES[arch]} for two-speaker separation at 8 kHz, trained from scratch in attention-zoo on Free Spoken "
        f"Digit Dataset mixtures: {facts['steps']} steps of batch {r['batch_size']} (dynamic mixing: two different "
        f"speakers, relative level uniform in [-5, 5] dB, {r['segment_seconds']} s), Adam {r['optim']['lr']}, "
        f"warm-up then cosine, PIT SI-SNR loss, {_threads(facts)}; the checkpoint with the best validation SI-SNRi "
        f"(step {facts['best_step']}, {_db(max(facts['val_si_snri'].values()))} on 100 "
        f"validation mixtures) is kept. {facts['parameters']:,} parameters, stored in {facts['dtype']}. "
        f"Test: {_db(t['si_snri'])} SI-SNRi ({_db(t['si_snr'])} SI-SNR, the mixtures' own {_db(t['input_si_snr'])}) on "
        f"{PROTOCOL}.{_comparison(name)} A small model with a short CPU run: far below the papers' models "
        f"(tens of millions of parameters, hundreds of GPU hours) and not comparable with WSJ0-2mix figures. "
        f"{PUBLISHED[arch]}"
    )


def _threads(facts: dict) -> str:
    n = facts.get("threads", 1)  # the runs before session 5 did not record it: all used one thread
    return "one CPU thread" if n == 1 else f"{n} CPU threads"


def _training_notes(name: str, facts: dict) -> str:
    n = facts.get("threads", 1)
    where = "a 2-core CPU shared with one other training run" if n == 1 else "a 2-core CPU with no other job"
    return (f"Run here as `ZOO_DATA_DIR=/path/to/data zoo train {name} --threads {n} --no-progress` ({_threads(facts)}, "
            f"{facts['train_seconds']:.0f} s of training on {where}). "
            f"Validation SI-SNRi by step: "
            + ", ".join(f"{k}: {v:.2f} dB" for k, v in sorted(facts["val_si_snri"].items())) + ". "
            f"Stored in {facts['dtype']}: test SI-SNRi {facts['fp32_test_si_snri']:.3f} dB in float32, "
            f"{facts['fp16_test_si_snri']:.3f} dB with float16 weights (kept when within 0.05 dB).")  # fmt: skip


def _entry(name: str) -> ModelEntry:
    r = RECIPES[name]
    arch = r["architecture"]
    facts = TRAINED.get(name)
    metrics, weights = [], None
    description = (
        f"{TITLES[arch]} for two-speaker separation at 8 kHz, recipe for Free Spoken Digit Dataset mixtures "
        "(two different speakers, relative level uniform in [-5, 5] dB, 1 s, dynamic mixing; test mixtures "
        "from the official test utterances only). Registered without weights: train it with "
        f"`zoo train {name}`. {PUBLISHED[arch]}"
    )
    if facts is not None:
        weights = WeightsSource(folder=name, sha256=facts["sha256"])
        cmd = f"zoo eval {name}"
        note = (f"FSDD = {PROTOCOL}; SI-SNRi = SI-SNR of the best speaker permutation minus the mixture's own "
                "SI-SNR, in dB, averaged over mixtures (ZOO_DATA_DIR pointing at the data folder).")  # fmt: skip
        metrics = [
            Metric("SI-SNRi", facts["test"]["si_snri"], DATASET, "test", cmd, note=note),
            Metric("SI-SNR", facts["test"]["si_snr"], DATASET, "test", cmd, note=note),
        ]
        description = _trained_description(name, arch, facts)
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


for _name in RECIPES:
    register_model(_entry(_name))
