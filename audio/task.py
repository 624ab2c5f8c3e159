"""Separation loss and metrics (torchmetrics SI-SNR with permutation-invariant training) and the Lightning task.

- Loss: ``-SI-SNR`` of the best speaker permutation per mixture (utterance-level PIT), averaged.
- Metrics: SI-SNR of the best permutation and SI-SNRi = that minus the SI-SNR of the unprocessed
  mixture against the same references (averaged over speakers), both in dB, averaged over mixtures.

Example:
    >>> from zoo.audio.task import SeparationTask, evaluate
    >>> task = SeparationTask(model, optim={"optimizer": "adam", "lr": 1e-3})
    >>> evaluate(model, dm.test_dataloader())      # {"si_snr": ..., "si_snri": ..., "mixtures": ...}
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.functional.audio import permutation_invariant_training, scale_invariant_signal_noise_ratio

from zoo.errors import InputError
from zoo.training import ZooModule


def pit_si_snr(est: Tensor, ref: Tensor) -> tuple[Tensor, Tensor]:
    """Best-permutation SI-SNR per mixture ``[B]`` (dB) and the permutation ``[B, S]``; est/ref ``[B, S, T]``."""
    if est.shape != ref.shape or est.ndim != 3:
        raise InputError(f"estimates and references must both be [B, speakers, T], got {tuple(est.shape)} and "
                         f"{tuple(ref.shape)}")  # fmt: skip
    return permutation_invariant_training(est, ref, scale_invariant_signal_noise_ratio, mode="speaker-wise",
                                          eval_func="max")  # fmt: skip


def mixture_si_snr(mix: Tensor, ref: Tensor) -> Tensor:
    """SI-SNR of the unprocessed mixture ``[B, T]`` against each reference, averaged over speakers: ``[B]``."""
    return scale_invariant_signal_noise_ratio(mix[:, None].expand_as(ref), ref).mean(-1)


class SISNR(Metric):
    """Mean best-permutation SI-SNR (``improvement=False``) or SI-SNRi (``improvement=True``), in dB.

    ``update(est [B, S, T], ref [B, S, T], mix [B, T])``.
    """

    full_state_update = False
    higher_is_better = True

    def __init__(self, improvement: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.improvement = improvement
        self.add_state("total", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, est: Tensor, ref: Tensor, mix: Tensor) -> None:
        val, _ = pit_si_snr(est.float(), ref.float())
        if self.improvement:
            val = val - mixture_si_snr(mix.float(), ref.float())
        self.total += val.double().sum()
        self.count += val.numel()

    def compute(self) -> Tensor:
        return (self.total / self.count.clamp(min=1)).float()


class SeparationTask(ZooModule):
    """Trains any ``[B, T] -> [B, S, T]`` separator with the PIT SI-SNR loss; logs ``{stage}/si_snr`` and
    ``{stage}/si_snri`` (epoch means) besides ``{stage}/loss``."""

    def __init__(self, model, optim=None):
        super().__init__(model, optim)
        self.save_hyperparameters(ignore=["model"])
        self.val_si_snr, self.val_si_snri = SISNR(), SISNR(improvement=True)
        self.test_si_snr, self.test_si_snri = SISNR(), SISNR(improvement=True)

    def shared_step(self, batch, stage: str) -> Tensor:
        mix, src = batch
        est = self.model(mix)
        best, _ = pit_si_snr(est, src)
        if stage != "train":
            for key in ("si_snr", "si_snri"):
                metric = getattr(self, f"{stage}_{key}")
                metric.update(est, src, mix)
                self.log(f"{stage}/{key}", metric, on_step=False, on_epoch=True, prog_bar=True)
        return -best.mean()

    def batch_size_of(self, batch) -> int:
        return int(batch[0].shape[0])


@torch.no_grad()
def evaluate(model, loader, max_batches: int | None = None, per_mixture: bool = False) -> dict:
    """SI-SNR / SI-SNRi (dB) of ``model`` over ``loader``'s mixtures, with the input SI-SNR for reference.

    ``per_mixture=True`` adds ``"si_snri_per_mixture"``: each mixture's SI-SNRi in loader order (for paired
    comparisons of two models on the same mixtures).
    """
    model.eval()
    m_snr, m_snri = SISNR(), SISNR(improvement=True)
    inp, each = [], []
    for i, (mix, src) in enumerate(loader):
        if max_batches is not None and i >= max_batches:
            break
        est = model(mix)
        m_snr.update(est, src, mix)
        m_snri.update(est, src, mix)
        inp.append(mixture_si_snr(mix, src))
        if per_mixture:
            each.append(pit_si_snr(est.float(), src.float())[0] - mixture_si_snr(mix.float(), src.float()))
    out = {
        "si_snr": round(float(m_snr.compute()), 3),
        "si_snri": round(float(m_snri.compute()), 3),
        "input_si_snr": round(float(torch.cat(inp).mean()), 3),
        "mixtures": int(m_snr.count),
    }
    if per_mixture:
        out["si_snri_per_mixture"] = torch.cat(each).tolist()
    return out


def paired_difference(a, b) -> dict:
    """Mixture-by-mixture comparison of two models' SI-SNRi on the same mixtures (dB): mean of ``a - b``,
    its standard error, a normal-approximation 95 % interval and the share of mixtures where ``a`` is better.

    Example:
        >>> paired_difference([10.0, 12.0, 11.0], [9.0, 11.5, 11.5])["mean_db"]
        0.333
    """
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    if a.shape != b.shape or a.ndim != 1 or a.numel() < 2:
        raise InputError(f"need two equally long lists of per-mixture scores (at least 2), got {tuple(a.shape)} "
                         f"and {tuple(b.shape)}")  # fmt: skip
    d = a - b
    mean, se = d.mean().item(), d.std().item() / math.sqrt(d.numel())
    return {"mixtures": d.numel(), "mean_db": round(mean, 3), "stderr_db": round(se, 3),
            "ci95_db": [round(mean - 1.96 * se, 3), round(mean + 1.96 * se, 3)],
            "better_share": round((d > 0).double().mean().item(), 3)}  # fmt: skip
