"""`zoo.audio`: monaural speech separation (MossFormer, MossFormer2, a Conv-TasNet baseline).

The registered models (``mossformer-fsdd2mix``, ``mossformer2-fsdd2mix``, ``convtasnet-fsdd2mix``) were
trained here, identically, on FSDD two-speaker mixtures of the earlier, partially overlapping protocol
(8 kHz; small CPU runs; ``zoo eval NAME --protocol sparse``). ``zoo eval NAME`` measures fully overlapped
mixtures (min and max mode) and ``zoo train NAME`` trains under that protocol (docs/audio.md). Released checkpoints (ClearVoice,
``alibabasglab/mossformer2-*``, ModelScope) load with `load_released`.

Example:
    >>> import zoo
    >>> model = zoo.load("mossformer2-fsdd2mix")                         # registered weights
    >>> est = model.separate(mixture)                        # [T] at model.sample_rate -> [1, 2, T]
    >>> from zoo.hub import from_pretrained
    >>> model = from_pretrained("runs/audio/mossformer2-fsdd2mix/hub")   # what `zoo train` writes
"""

from . import convtasnet, mossformer, registry  # noqa: F401 - registers architectures and entries
from .api import SeparatorMixin, read_audio, write_audio
from .convtasnet import ConvTasNetSeparator
from .data import MixtureDataModule
from .mossformer import MossFormer, load_released

__all__ = ["ConvTasNetSeparator", "MixtureDataModule", "MossFormer", "SeparatorMixin", "load_released",
           "read_audio", "write_audio"]
