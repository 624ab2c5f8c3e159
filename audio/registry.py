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

from zoo.registry import Metric, ModelEntry, WeightsSource, register_model

from .recipes import RECIPES

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


def _comparison(name: str, trained: dict) -> str:
    """The card's sentence comparing ``name`` with the identically trained models (``trained``: name -> facts)."""
    if name not in trained:
        return ""
    mine = trained[name]["test"]["si_snri"]
    if name != BASELINE and BASELINE in trained:
        base = trained[BASELINE]["test"]["si_snri"]
        paired = trained[name].get("vs_baseline")
        spread = (f" (mixture by mixture: standard error {paired['stderr_db']:.2f} dB, 95 % interval "
                  f"{paired['ci95_db'][0]:+.2f} to {paired['ci95_db'][1]:+.2f} dB; better on "
                  f"{100 * paired['better_share']:.0f} % of the mixtures; benchmarks/audio_paired.py)" if paired else "")
        return (f" Identically trained Conv-TasNet baseline (`{BASELINE}`, same steps, data stream, optimiser and "
                f"seed), measured by the same command: {_db(base)} SI-SNRi, so this model is {mine - base:+.2f} dB "
                f"against it{spread}, with {trained[name]['parameters'] / trained[BASELINE]['parameters']:.2f}x its "
                f"{trained[BASELINE]['parameters']:,} parameters.")  # fmt: skip
    others = [f"`{n}` {_db(trained[n]['test']['si_snri'])}" for n in sorted(trained) if n != name]
    return (" Identically trained MossFormer models, measured by the same command: " + ", ".join(others) + "."
            if others else "")  # fmt: skip


def _trained_description(name: str, arch: str, facts: dict, trained: dict) -> str:
    r, t = RECIPES[name], facts["test"]
    return (
        f"{TITLES[arch]} for two-speaker separation at 8 kHz, trained from scratch in attention-zoo on Free Spoken "
        f"Digit Dataset mixtures: {facts['steps']} steps of batch {r['batch_size']} (dynamic mixing: two different "
        f"speakers, relative level uniform in [-5, 5] dB, {r['segment_seconds']} s), Adam {r['optim']['lr']}, "
        f"warm-up then cosine, PIT SI-SNR loss, {_threads(facts)}; the checkpoint with the best validation SI-SNRi "
        f"(step {facts['best_step']}, {_db(max(facts['val_si_snri'].values()))} on 100 "
        f"validation mixtures) is kept. {facts['parameters']:,} parameters, stored in {facts['dtype']}. "
        f"Test: {_db(t['si_snri'])} SI-SNRi ({_db(t['si_snr'])} SI-SNR, the mixtures' own {_db(t['input_si_snr'])}) on "
        f"{PROTOCOL}.{_comparison(name, trained)} A small model with a short CPU run: far below the papers' models "
        f"(tens of millions of parameters, hundreds of GPU hours) and not comparable with WSJ0-2mix figures. "
        f"{PUBLISHED[arch]}"
    )


def _threads(facts: dict) -> str:
    n = facts.get("threads", 1)  # runs that did not record it used one thread
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


def entry_for_run(name: str, facts: dict | None = None, trained: dict | None = None) -> ModelEntry:
    """The entry of recipe ``name``: weightless, or (``facts`` of a finished run, ``trained``: the other
    separators' facts for the comparison) with the card text and metrics its folder gets."""
    r = RECIPES[name]
    arch = r["architecture"]
    metrics, weights = [], None
    description = (
        f"{TITLES[arch]} for two-speaker separation at 8 kHz, recipe for Free Spoken Digit Dataset mixtures "
        "(two different speakers, relative level uniform in [-5, 5] dB, 1 s, dynamic mixing; test mixtures "
        "from the official test utterances only). Registered without weights: train it with "
        f"`zoo train {name}`. {PUBLISHED[arch]}"
    )
    if facts is not None:
        weights = WeightsSource(folder=name, sha256=facts["sha256"])
        trained = {**(trained or {}), name: facts}
        cmd = f"zoo eval {name} --protocol sparse"
        note = (f"FSDD = {PROTOCOL}; SI-SNRi = SI-SNR of the best speaker permutation minus the mixture's own "
                "SI-SNR, in dB, averaged over mixtures (ZOO_DATA_DIR pointing at the data folder).")  # fmt: skip
        metrics = [
            Metric("SI-SNRi (sparse protocol)", facts["test"]["si_snri"], DATASET, "test", cmd, note=note),
            Metric("SI-SNR (sparse protocol)", facts["test"]["si_snr"], DATASET, "test", cmd, note=note),
        ]
        metrics = [Metric(**{**m.__dict__, "protocol": PROTOCOL}) for m in metrics]
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
