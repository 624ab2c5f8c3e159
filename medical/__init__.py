"""Medical imaging: Swin UNETR (MONAI-equal) on the zoo's attention backend, NIfTI segmentation, MONAI bundles.

Example:
    >>> import zoo
    >>> model = zoo.load("swin-unetr-btcv")                    # MONAI model-zoo weights, converted
    >>> from zoo.medical.infer import segment
    >>> segment(model, ["ct.nii.gz"], "seg.nii.gz")
"""

from . import registry, swin_unetr  # noqa: F401  (registers architectures and entries)
from .swin_unetr import SwinUNETR, SwinUNETREncoder

__all__ = ["SwinUNETR", "SwinUNETREncoder"]
