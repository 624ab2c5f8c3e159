"""Vision domain: hierarchical vision transformers on the shared attention backend.

Importing ``zoo.vision`` registers the architectures and named models (Swin, DiNAT/NAT, BiFormer,
the CIFAR-10 recipes) in the zoo's registry, and DiNAT/NAT/BiFormer in timm's registry.

Example:
    >>> import zoo
    >>> zoo.list_models(domain="vision")
    >>> model = zoo.load("swin-tiny")
"""

from zoo.vision import biformer, dinat, recipes, swin  # noqa: F401
