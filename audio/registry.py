"""Registered separators: recipes trained on FSDD two-speaker mixtures (`zoo.audio.recipes`).

The entries are registered WITHOUT weights: the runs made on this shared 2-core CPU were too short to
give models worth publishing (see docs/audio.md for what was measured). ``zoo train <name>`` runs the
recipe and writes a Hub-form folder (``runs/audio/<name>/hub``) plus ``result.json`` with the test
SI-SNRi measured by ``zoo eval <name> --checkpoint runs/audio/<name>/hub``; when a run is good enough,
its folder goes to ``hub/models/<name>`` and ``weights=WeightsSource(folder=..., sha256=...)`` plus the
measured metrics are added here.

Published figures, quoted as theirs (not re-measured here; other data): ClearVoice's README
(clearvoice/README.md, speech separation table) gives MossFormer2_SS_16K 22.0 dB SI-SNRi on WSJ0-2mix
(8 kHz) and, for Conv-TasNet, 15.3 dB (taken there from the TDANet repository).
"""

from __future__ import annotations

from zoo.registry import ModelEntry, register_model

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


def _entry(name: str) -> ModelEntry:
    r = RECIPES[name]
    arch = r["architecture"]
    return ModelEntry(
        name=name,
        architecture=arch,
        domain="audio",
        task="speech-separation",
        model_args=dict(r["model_args"]),
        preprocessing={"sample_rate": r["sample_rate"], "num_speakers": r["model_args"]["num_speakers"],
                       "segment_seconds": r["segment_seconds"]},  # fmt: skip
        weights=None,
        license="cc-by-sa-4.0",
        metrics=[],
        description=(
            f"{TITLES[arch]} for two-speaker separation at 8 kHz, recipe for Free Spoken Digit Dataset mixtures "
            "(two different speakers, relative level uniform in [-5, 5] dB, 1 s, dynamic mixing; test mixtures "
            "from the official test utterances only). Registered without weights: train it with "
            f"`zoo train {name}`. {PUBLISHED[arch]}"
        ),
        datasets=("FSDD",),
        tags=("speech-separation", "audio", arch),
        paper=PAPERS[arch],
        train_command=f"zoo train {name}",
        extra={"recipe": {k: v for k, v in r.items() if k != "model_args"}},
    )


for _name in RECIPES:
    register_model(_entry(_name))
