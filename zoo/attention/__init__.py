"""`zoo.attention`: the one attention dispatch every model in every domain calls.

Dense attention (`attend`) dispatches to a backend chosen by `use_backend` or the
``ZOO_ATTENTION_BACKEND`` environment variable (``sdpa`` default, ``math`` reference, ``flex``).
The structured kernels (windowed, neighbourhood, routing, ProbSparse, auto-correlation, joint
local/global) live in their own modules, each with a math reference, and call `attend` for their
dense part. Names are imported lazily so that importing one kernel never pays for the others.

Example:
    >>> import torch, zoo.attention as za
    >>> q = k = v = torch.randn(2, 4, 16, 8)
    >>> out = za.attend(q, k, v, causal=True)
    >>> with za.use_backend("math"):
    ...     ref = za.attend(q, k, v, causal=True)
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    # dense dispatch (dense.py)
    "attend": "dense",
    "attend_reference": "dense",
    "use_backend": "dense",
    "get_backend": "dense",
    "available_backends": "dense",
    # shifted-window attention, 2D and 3D (window.py)
    "window_partition": "window",
    "window_reverse": "window",
    "window_attention": "window",
    "relative_position_index": "window",
    "shifted_window_mask": "window",
    # neighbourhood attention (neighborhood.py)
    "neighborhood_attention_2d": "neighborhood",
    # bi-level routing attention (routing.py)
    "bilevel_routing_attention": "routing",
    # ProbSparse attention (probsparse.py)
    "probsparse_attention": "probsparse",
    # auto-correlation (autocorrelation.py)
    "auto_correlation": "autocorrelation",
    # joint local/global attention (joint.py)
    "joint_attention": "joint",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'zoo.attention' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"zoo.attention.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
