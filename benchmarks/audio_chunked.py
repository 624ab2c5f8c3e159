"""Chunked against one-pass separation of a trained separator on long, fully overlapped FSDD test mixtures.

    ZOO_DATA_DIR=../shared/data python benchmarks/audio_chunked.py runs/audio/overlap/convtasnet-fsdd2mix/hub \
        [--mixtures 20] [--digits 12 16] [--chunk 2.0] [--overlap 0.5] [--mode max]

Test mixtures of the overlap protocol with longer utterances (``--digits``: 12-16 recordings per speaker,
about 6-8 s) are separated once in one pass (``chunk_seconds=None``) and once in chunks; prints one JSON
line with the mean SI-SNRi of each, the mean and largest per-mixture difference, and how many mixtures
lost more than 3 dB (a speaker swap across a chunk border shows up as such a loss).
"""

from __future__ import annotations

import argparse
import json

import torch


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("weights", help="Hub-form folder of a separator")
    p.add_argument("--mixtures", type=int, default=20)
    p.add_argument("--digits", type=int, nargs=2, default=[12, 16])
    p.add_argument("--chunk", type=float, default=2.0)
    p.add_argument("--overlap", type=float, default=0.5)
    p.add_argument("--mode", choices=["min", "max"], default="max")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)

    from zoo.audio.data import MixtureDataModule
    from zoo.audio.task import mixture_si_snr, pit_si_snr
    from zoo.hub import from_pretrained

    model = from_pretrained(a.weights)
    dm = MixtureDataModule(mode=a.mode, digits=tuple(a.digits), test_size=a.mixtures, splits=("test",),
                           sample_rate=model.sample_rate)  # fmt: skip
    dm.setup()
    one, chunked, seconds = [], [], []
    for i in range(a.mixtures):
        mix, src = dm.test_set[i]
        base = float(mixture_si_snr(mix[None], src[None]))
        for out, kw in ((one, {"chunk_seconds": None}), (chunked, {"chunk_seconds": a.chunk, "overlap_seconds": a.overlap})):
            out.append(float(pit_si_snr(model.separate(mix, **kw), src[None])[0]) - base)
        seconds.append(mix.numel() / model.sample_rate)
    d = torch.tensor(chunked) - torch.tensor(one)
    print(json.dumps({"weights": a.weights, "mode": a.mode, "mixtures": a.mixtures,
                      "mean_seconds": round(sum(seconds) / len(seconds), 2), "chunk_s": a.chunk, "overlap_s": a.overlap,
                      "one_pass_si_snri": round(sum(one) / len(one), 3), "chunked_si_snri": round(sum(chunked) / len(chunked), 3),
                      "mean_diff_db": round(float(d.mean()), 3), "largest_loss_db": round(float(-d.min()), 3),
                      "losses_over_3db": int((d < -3).sum())}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
