"""The picture of docs/audio.md: an FSDD test mixture and its two reference sources as spectrograms.

    ZOO_DATA_DIR=../shared/data python benchmarks/audio_figure.py [--index 0] [--out docs/img/audio_fsdd_mixture.png]

Optionally ``--checkpoint runs/audio/mossformer2-fsdd2mix/hub`` adds the model's two estimates.
"""

from __future__ import annotations

import argparse

import torch


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--index", type=int, default=0)
    p.add_argument("--out", default="docs/img/audio_fsdd_mixture.png")
    p.add_argument("--checkpoint")
    a = p.parse_args(argv)

    from zoo.audio.cli import plot_spectrograms
    from zoo.audio.data import MixtureDataModule

    dm = MixtureDataModule(test_size=a.index + 1, splits=("test",))
    dm.setup()
    mix, src = dm.test_set[a.index]
    rows = src
    titles = [f"reference {i + 1}" for i in range(src.shape[0])]
    if a.checkpoint:
        from zoo.audio.task import mixture_si_snr, pit_si_snr
        from zoo.hub import from_pretrained

        model = from_pretrained(a.checkpoint)
        est = model.separate(mix)[0]
        best, perm = pit_si_snr(est[None], src[None])
        est = est[perm[0]]  # estimates in the references' order
        gain = float(best[0] - mixture_si_snr(mix[None], src[None])[0])
        name = model.config.get("name") or a.checkpoint
        rows = torch.cat([src, est])
        titles += [f"{name}: estimate of reference {i + 1} (SI-SNRi of this mixture {gain:.2f} dB)"
                   for i in range(est.shape[0])]  # fmt: skip
    plot_spectrograms(mix, rows, dm.sample_rate, a.out, titles=titles)
    print(a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
