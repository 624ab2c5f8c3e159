"""Vision domain: hierarchical vision transformers on the shared attention backend.

Importing ``zoo.vision`` registers the architectures and named models (Swin, DiNAT/NAT, BiFormer,
the CIFAR-10 recipes) in the zoo's registry, and ``dinat_*``, ``nat_*`` and ``biformer_*`` in timm's registry
(built with timm's ``build_model_with_cfg``, so they follow timm's model contract). Nothing else registers
them in timm: ``import zoo`` alone does not.

Example (timm):
    >>> import timm, zoo.vision
    >>> timm.create_model("dinat_mini", features_only=True, out_indices=(1, 2, 3))

Example:
    >>> import zoo
    >>> zoo.list_models(domain="vision")
    >>> model = zoo.load("swin-tiny")
"""

from zoo.vision import biformer, dinat, recipes, swin  # noqa: F401
