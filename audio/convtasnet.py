"""Conv-TasNet baseline (Luo & Mesgarani, 2019, https://arxiv.org/abs/1809.07454) as a zoo separator.

A thin wrapper over ``torchaudio.models.ConvTasNet`` (learned encoder, temporal convolutional masking
network, decoder) with the zoo's separator interface, trained in this zoo exactly like MossFormer(2)
so that the cards compare them on equal terms.

Example:
    >>> import torch
    >>> from zoo.audio import ConvTasNetSeparator
    >>> model = ConvTasNetSeparator(enc_num_feats=64, msk_num_feats=32, msk_num_hidden_feats=64,
    ...                             msk_num_layers=2, msk_num_stacks=1).eval()
    >>> model.separate(torch.randn(8000)).shape
    torch.Size([1, 2, 8000])
"""

from __future__ import annotations

from torch import Tensor, nn

from zoo.errors import InputError
from zoo.registry import register_architecture

from .api import SeparatorMixin


@register_architecture("convtasnet", domain="audio")
class ConvTasNetSeparator(SeparatorMixin, nn.Module):
    """``torchaudio.models.ConvTasNet`` taking ``[B, T]`` and returning ``[B, num_speakers, T]``.

    Arguments are torchaudio's (``enc_kernel_size`` 16, ``enc_num_feats`` 512, ``msk_kernel_size`` 3,
    ``msk_num_feats`` 128, ``msk_num_hidden_feats`` 512, ``msk_num_layers`` 8, ``msk_num_stacks`` 3,
    ``msk_activate`` "sigmoid"), plus ``num_speakers`` and ``sample_rate``.
    """

    def __init__(self, num_speakers: int = 2, sample_rate: int = 8000, enc_kernel_size: int = 16,
                 enc_num_feats: int = 512, msk_kernel_size: int = 3, msk_num_feats: int = 128,
                 msk_num_hidden_feats: int = 512, msk_num_layers: int = 8, msk_num_stacks: int = 3,
                 msk_activate: str = "sigmoid"):  # fmt: skip
        super().__init__()
        from torchaudio.models import ConvTasNet

        self.num_speakers, self.sample_rate = int(num_speakers), int(sample_rate)
        self.net = ConvTasNet(num_sources=num_speakers, enc_kernel_size=enc_kernel_size, enc_num_feats=enc_num_feats,
                              msk_kernel_size=msk_kernel_size, msk_num_feats=msk_num_feats,
                              msk_num_hidden_feats=msk_num_hidden_feats, msk_num_layers=msk_num_layers,
                              msk_num_stacks=msk_num_stacks, msk_activate=msk_activate)  # fmt: skip

    def forward(self, mixture: Tensor) -> Tensor:
        if mixture.ndim != 2:
            raise InputError(f"ConvTasNet expects a waveform batch [B, T], got shape {tuple(mixture.shape)}")
        return self.net(mixture[:, None])[..., : mixture.shape[-1]]
