"""Training recipes of the registered separators (``zoo train <name>``): small 8 kHz models for a CPU.

All three are trained identically (same data stream, steps, optimiser, seed) on fully overlapped FSDD
two-speaker mixtures (`zoo.audio.data.MixtureDataModule`, protocol ``"overlap"``: utterances of 2-6 digits
of one speaker, both starting at sample 0, min and max modes at random, levels ±5 dB, dynamic mixing,
random 2.0 s training crops), Adam, PIT SI-SNR loss, gradient clipping 5, so their SI-SNRi are comparable.
Three stages: ``max_steps`` of warm-up and cosine from lr 1e-3, then each stage of ``restart`` in turn
(``zoo.audio.train``): more steps from the best weights of the stage before with a fresh Adam, warm-up and
cosine from a lower lr (a warm restart), the training stream going on where the stage before ended
(``restart=null`` trains the first stage only).
Validation every ``val_every`` steps on ``val_size`` fixed whole mixtures (min and max alternating); the
best validation checkpoint is kept. Test: `TEST_PROTOCOLS` (``zoo eval``).

Sizes: all within 1.1x of the Conv-TasNet baseline's 327 065 parameters (MossFormer2 312 210; MossFormer
with 7 layers 333 239). The MossFormers keep the released layer design (MossFormer's depthwise kernel of 17 frames);
MossFormer's depth, 7 layers, fills the size bound and was chosen on validation among kernel and depth settings
under the overlap protocol (docs/audio.md). The models are far smaller than the
papers' (0.31-0.34 M parameters instead of 40-60 M; encoder kernel 32 = 4 ms instead of 16) so that a
step costs 0.3-1.3 s on one CPU thread (docs/audio.md).

`RECIPES` are what ``zoo train NAME`` runs and what the registered weights were trained with; the registry
builds their entries from them (`zoo.audio.registry`).
"""

from __future__ import annotations

import json

_COMMON = dict(
    sample_rate=8000,
    protocol="overlap",
    segment_seconds=2.0,  # training crop; validation/test mixtures are whole
    train_mode="both",
    mode="both",  # validation: min and max alternating
    digits=[2, 6],
    gap_seconds=[0.05, 0.25],
    batch_size=4,
    train_size=1000,  # mixtures per 'epoch' (drawn from (seed, item)): 250 batches = one validation + checkpoint
    val_size=100,
    test_size=300,
    seed=0,
    gradient_clip_val=5.0,
    optim={"optimizer": "adam", "lr": 1e-3, "weight_decay": 0.0, "scheduler": "cosine", "warmup_steps": 50},
    val_every=250,
    max_steps=10000,
    # then two warm restarts, each from the best weights of the stage before with a fresh Adam, warm-up and
    # cosine, the training stream going on: 6 000 steps from lr 5e-4, then 3 000 from 2.5e-4
    restart=[{"max_steps": 6000, "lr": 5e-4}, {"max_steps": 3000, "lr": 2.5e-4}],
)

# What `zoo eval` measures: the headline overlap protocol in min and max mode (the same 300 pairs of test
# utterances and levels), and the earlier partially overlapping protocol as a second, secondary condition.
TEST_PROTOCOLS: dict[str, dict] = {
    "overlap": dict(protocol="overlap", modes=["min", "max"], digits=[2, 6], gap_seconds=[0.05, 0.25],
                    test_size=300, val_size=100, seed=0),
    "sparse": dict(protocol="sparse", modes=["sparse"], segment_seconds=1.0, test_size=500, val_size=100, seed=0),
}

RECIPES: dict[str, dict] = {
    "mossformer-fsdd2mix": dict(
        _COMMON,
        architecture="mossformer",
        # The released depthwise kernel of 17 frames, 7 layers: 333 239 parameters, 1.02x the baseline's. Chosen on
        # validation under the overlap protocol over kernel 65 / 5 layers, kernel 113 / 4 and kernel 17 / 6
        # (docs/audio.md, "MossFormer's depthwise kernel under the overlap protocol").
        model_args=dict(enc_dim=96, kernel_size=32, dim=96, depth=7, group_size=64, qk_dim=48, expansion=2.0,
                        conv_kernel=17, fsmn=False, dropout=0.0, num_speakers=2, sample_rate=8000),
    ),
    "mossformer2-fsdd2mix": dict(
        _COMMON,
        architecture="mossformer2",
        model_args=dict(enc_dim=96, kernel_size=32, dim=96, depth=4, group_size=64, qk_dim=48, expansion=2.0,
                        fsmn=True, fsmn_dim=48, fsmn_lorder=10, dropout=0.0, num_speakers=2, sample_rate=8000),
    ),
    "convtasnet-fsdd2mix": dict(
        _COMMON,
        architecture="convtasnet",
        model_args=dict(num_speakers=2, sample_rate=8000, enc_kernel_size=32, enc_num_feats=96, msk_kernel_size=3,
                        msk_num_feats=64, msk_num_hidden_feats=128, msk_num_layers=6, msk_num_stacks=2),
    ),
}

def train_recipe(name: str) -> dict:
    """The recipe ``zoo train NAME`` runs (`RECIPES`); `InputError` naming the known ones otherwise."""
    import copy

    from zoo.errors import InputError

    if name not in RECIPES:
        raise InputError(f"no training recipe named {name!r}; expected one of {sorted(RECIPES)}")
    return copy.deepcopy(RECIPES[name])


def restart_stages(restart) -> list[dict]:
    """A recipe's ``restart`` as the list of its later stages: ``None`` is none, one ``{"max_steps", "lr"}`` is
    one stage, a list is several; anything else is an `InputError` saying what was expected."""
    from zoo.errors import InputError

    stages = [restart] if isinstance(restart, dict) else list(restart or []) if isinstance(restart, list | None) else None
    if stages is None or any(not isinstance(s, dict) or sorted(s) != ["lr", "max_steps"] for s in stages):
        raise InputError('restart: expected {"max_steps": N, "lr": X}, a list of them or null, got '
                         f"{json.dumps(restart, default=repr)}")  # fmt: skip
    return stages
