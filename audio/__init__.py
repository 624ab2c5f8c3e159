"""`zoo.audio`: monaural speech separation (MossFormer, MossFormer2, a Conv-TasNet baseline).

The registered recipes (``mossformer-fsdd2mix``, ``mossformer2-fsdd2mix``, ``convtasnet-fsdd2mix``) carry
no weights yet: train one with ``zoo train NAME`` and load the folder it writes. Released checkpoints
(ClearVoice, ``alibabasglab/mossformer2-*``, ModelScope) load with `load_released`. See docs/audio.md.

Example:
    >>> import zoo
    >>> from zoo.hub import from_pretrained
    >>> model = zoo.load("mossformer2-fsdd2mix", pretrained=False)       # the recipe's architecture
    >>> model = from_pretrained("runs/audio/mossformer2-fsdd2mix/hub")   # after `zoo train`
    >>> est = model.separate(mixture)                        # [B, T] at model.sample_rate -> [B, 2, T]
"""

from . import convtasnet, mossformer, registry  # noqa: F401 - registers architectures and entries
from .api import SeparatorMixin, read_audio, write_audio
from .convtasnet import ConvTasNetSeparator
from .data import MixtureDataModule
from .mossformer import MossFormer, load_released

__all__ = ["ConvTasNetSeparator", "MixtureDataModule", "MossFormer", "SeparatorMixin", "load_released",
           "read_audio", "write_audio"]
