"""Dense attention dispatch: `attend` and its backends.

Every model in the zoo computes dense softmax attention through `attend`, which validates its inputs
once and hands them to one of three backends:

* ``"sdpa"`` (default): `torch.nn.functional.scaled_dot_product_attention`. ``bias``, ``mask`` and
  ``causal`` are folded into ONE attention mask: a bool keep-mask when there is no bias, else the bias
  with ``-inf`` where a key may not be attended; ``causal`` alone uses SDPA's own ``is_causal``.
* ``"math"``: an explicit reference, ``softmax(q @ k^T * scale + bias, masked with -inf) @ v``, computed in
  float32 for half-precision inputs and cast back (`attend_reference`).
* ``"flex"``: `torch.nn.attention.flex_attention` (compiled), bias as a ``score_mod``, mask and causal as a
  ``block_mask``. It has no backward pass on CPU and no dropout; it is never the default.

The backend is chosen by `use_backend` (a context manager backed by a `contextvars.ContextVar`, so it is
per thread / per task) or, when no context is active, by the ``ZOO_ATTENTION_BACKEND`` environment
variable read at call time.

Conventions:

* Shapes: q ``[*batch, Lq, D]``, k ``[*batch, Lk, D]``, v ``[*batch, Lk, Dv]``, output ``[*batch, Lq, Dv]``.
  ``*batch`` is usually ``(B, heads)`` but any number of leading dims works (``[N, L, D]``,
  ``[B, windows, heads, L, D]``...).
* ``causal=True`` is top-left aligned, like torch SDPA's ``is_causal``: query ``i`` may attend key ``j``
  iff ``j <= i``, whatever Lq and Lk are (so with Lq < Lk the last keys are never attended).
* A query row whose keys are all masked (by ``mask`` and/or ``causal``) returns zeros and passes zero
  gradient, with no NaN in forward or backward, in every backend. Measured on torch 2.14.1 CPU: SDPA
  already returns zeros and finite (zero) gradients for such rows with a bool or ``-inf`` float mask,
  so the CPU path pays nothing; on other devices rows without any key are re-opened before the kernel
  and their output zeroed after it (cost only when a mask is given).
* ``dropout_p`` is applied to the attention probabilities whenever it is > 0: pass
  ``p if self.training else 0.0``.

Example:
    >>> import torch
    >>> from zoo.attention import attend, use_backend
    >>> q = k = v = torch.randn(2, 4, 16, 8)
    >>> out = attend(q, k, v, causal=True)
    >>> with use_backend("math"):
    ...     ref = attend(q, k, v, causal=True)
    >>> torch.allclose(out, ref, atol=1e-5)
    True
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
from collections.abc import Iterator

import torch
import torch.nn.functional as F

from zoo.errors import InputError

__all__ = ["attend", "attend_reference", "use_backend", "get_backend", "available_backends"]

ENV_VAR = "ZOO_ATTENTION_BACKEND"
DEFAULT_BACKEND = "sdpa"
_BACKEND_NAMES = ("sdpa", "math", "flex")
_backend_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("zoo_attention_backend", default=None)
_NEG_INF = float("-inf")


# --------------------------------------------------------------------------------------------------------
# backend selection


def available_backends() -> tuple[str, ...]:
    """Names accepted by `use_backend` and ``ZOO_ATTENTION_BACKEND``, default first."""
    return _BACKEND_NAMES


def _check_name(name: str, source: str) -> str:
    if name not in _BACKEND_NAMES:
        raise InputError(
            f"unknown attention backend {name!r} (from {source}); expected one of {', '.join(_BACKEND_NAMES)}"
        )
    return name


def get_backend() -> str:
    """The backend `attend` would use now: the innermost `use_backend`, else ``$ZOO_ATTENTION_BACKEND``,
    else ``"sdpa"``."""
    name = _backend_var.get()
    if name is not None:
        return name
    env = os.environ.get(ENV_VAR, "").strip().lower()
    return _check_name(env, f"${ENV_VAR}") if env else DEFAULT_BACKEND


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[str]:
    """Run the enclosed `attend` calls with backend ``name`` (``"sdpa"``, ``"math"`` or ``"flex"``).

    Example:
        >>> with use_backend("math"):
        ...     out = attend(q, k, v)
    """
    token = _backend_var.set(_check_name(str(name).strip().lower(), "use_backend"))
    try:
        yield name
    finally:
        _backend_var.reset(token)


# --------------------------------------------------------------------------------------------------------
# validation and shape helpers


def _tracing() -> bool:
    """True under torch.jit / torch.fx / torch.compile tracing, where data-dependent checks cannot run."""
    import torch.fx._symbolic_trace as fx_trace

    return torch.jit.is_tracing() or fx_trace._get_is_fx_tracing() or torch.compiler.is_compiling()


def _check_scale(scale, q: torch.Tensor) -> float:
    if scale is None:
        return q.shape[-1] ** -0.5
    if isinstance(scale, torch.Tensor):
        if scale.numel() != 1:
            raise InputError(f"scale must be a number, got a tensor of shape {tuple(scale.shape)}")
        if _tracing():
            return scale
        scale = float(scale)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)):
        raise InputError(f"scale must be a finite positive number, got {type(scale).__name__} {scale!r}")
    if not math.isfinite(scale) or scale <= 0:
        raise InputError(f"scale must be a finite positive number, got {scale!r}")
    return scale


def _check_bias_values(bias: torch.Tensor | None) -> None:
    """A NaN anywhere in an additive bias poisons whole rows of the output: refuse it (-inf is a valid mask)."""
    if bias is None or _tracing():
        return
    if bool(torch.isnan(bias).any()):
        raise InputError(f"bias must not contain NaN (got {int(torch.isnan(bias).sum())} NaN of {bias.numel()} values); "
                         "use -inf to mask, or a bool mask")


def _validate(q, k, v, bias, mask, dropout_p) -> None:
    for n, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, torch.Tensor):
            raise InputError(f"{n} must be a torch.Tensor, got {type(t).__name__}")
        if not t.is_floating_point():
            raise InputError(f"{n} must be a floating tensor, got dtype {t.dtype}")
    if not (q.ndim == k.ndim == v.ndim) or q.ndim < 2:
        raise InputError(
            "q, k, v must have the same rank >= 2 ([*batch, tokens, head_dim]), got "
            f"q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}"
        )
    if not (q.dtype == k.dtype == v.dtype):
        raise InputError(f"q, k, v must share a dtype, got q {q.dtype}, k {k.dtype}, v {v.dtype}")
    if k.shape[-1] != q.shape[-1]:
        raise InputError(f"k head_dim must equal q head_dim {q.shape[-1]}, got {k.shape[-1]} (k {tuple(k.shape)})")
    if v.shape[-2] != k.shape[-2]:
        raise InputError(f"v must have as many tokens as k ({k.shape[-2]}), got {v.shape[-2]} (v {tuple(v.shape)})")
    if not (q.shape[:-2] == k.shape[:-2] == v.shape[:-2]):
        raise InputError(
            "q, k, v must share their leading (batch) dims, got "
            f"q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}"
        )
    target = (*q.shape[:-1], k.shape[-2])
    for n, t in (("bias", bias), ("mask", mask)):
        if t is None:
            continue
        if not isinstance(t, torch.Tensor):
            raise InputError(f"{n} must be a torch.Tensor or None, got {type(t).__name__}")
        if n == "mask" and t.dtype != torch.bool:
            raise InputError(f"mask must be a bool keep-mask (True = may attend), got dtype {t.dtype}")
        if n == "bias" and not t.is_floating_point():
            raise InputError(f"bias must be a floating (additive) tensor, got dtype {t.dtype}")
        ok = t.ndim <= len(target)
        if ok:
            try:
                ok = torch.broadcast_shapes(t.shape, target) == target
            except RuntimeError:
                ok = False
        if not ok:
            raise InputError(f"{n} of shape {tuple(t.shape)} is not broadcastable to {target} ([*batch, Lq, Lk])")
    if not 0.0 <= dropout_p < 1.0:
        raise InputError(f"dropout_p must be in [0, 1), got {dropout_p}")


def _keep_mask(mask, causal, lq, lk, device):
    """Combined bool keep-mask (broadcastable, as small as its inputs) or None."""
    if not causal:
        return mask
    tril = torch.ones(lq, lk, dtype=torch.bool, device=device).tril()  # top-left aligned, like SDPA
    return tril if mask is None else mask & tril


def _fold(x: torch.Tensor, nlead: int) -> torch.Tensor:
    """[*lead, L, D] -> [B', H, L, D] (a view when x is contiguous)."""
    if nlead == 2:
        return x
    if nlead < 2:
        return x.reshape((1,) * (2 - nlead) + tuple(x.shape))
    return x.reshape(-1, *x.shape[-3:])


def _fold_mask(m: torch.Tensor, lead: tuple[int, ...]) -> torch.Tensor:
    """A mask broadcastable to [*lead, Lq, Lk] -> one broadcastable to the 4D fold of [*lead, Lq, Lk].

    Copies only when there are more than two leading dims and the mask varies along the merged ones.
    """
    n = len(lead)
    m = m.reshape((1,) * (n + 2 - m.ndim) + tuple(m.shape))
    if n <= 2:
        return m.reshape((1,) * (2 - n) + tuple(m.shape))
    tail = tuple(m.shape[n - 1 :])
    if all(s == 1 for s in m.shape[: n - 1]):
        return m.reshape(1, *tail)
    return m.expand(*lead[:-1], *tail).reshape(-1, *tail)


# --------------------------------------------------------------------------------------------------------
# backends (inputs already validated)


def _attend_math(q, k, v, bias, mask, scale, dropout_p, causal):
    out_dtype = q.dtype
    if q.dtype in (torch.float16, torch.bfloat16):
        q, k, v = q.float(), k.float(), v.float()
    s = (q @ k.transpose(-2, -1)) * scale
    if bias is not None:
        s = s + bias.to(s.dtype)
    keep = _keep_mask(mask, causal, q.shape[-2], k.shape[-2], q.device)
    if keep is not None:
        s = s.masked_fill(~keep, _NEG_INF)
    # rows with no key at all (mask, causal or a -inf bias): softmax over zeros, then zero probabilities,
    # so neither the output nor the gradient sees a NaN
    dead = torch.isneginf(s).all(-1, keepdim=True)
    p = s.masked_fill(dead, 0.0).softmax(-1).masked_fill(dead, 0.0)
    if dropout_p > 0:
        p = F.dropout(p, dropout_p, training=True)
    return (p @ v).to(out_dtype)


def _sdpa_needs_row_guard(device: torch.device) -> bool:
    """Whether SDPA on ``device`` must be protected against query rows with no key.

    Measured on torch 2.14.1 CPU: not needed (bool and -inf masks give zeros and zero grads).
    Unmeasured devices get the guard.
    """
    return device.type != "cpu"


def _attend_sdpa(q, k, v, bias, mask, scale, dropout_p, causal):
    lead = tuple(q.shape[:-2])
    if bias is None and mask is None:
        attn_mask, dead = None, None
    else:
        keep = _keep_mask(mask, causal, q.shape[-2], k.shape[-2], q.device)
        causal = False
        dead = None
        if keep is not None and _sdpa_needs_row_guard(q.device):
            dead = ~keep.any(-1, keepdim=True)
            keep = keep | dead
        if bias is None:
            attn_mask = keep
        else:
            b = bias.to(q.dtype)
            attn_mask = b if keep is None else torch.where(keep, b, _NEG_INF)
        attn_mask = _fold_mask(attn_mask, lead)
    n = len(lead)
    out = F.scaled_dot_product_attention(
        _fold(q, n), _fold(k, n), _fold(v, n), attn_mask=attn_mask, dropout_p=dropout_p, is_causal=causal,
        scale=scale,
    )
    if n != 2:
        out = out.reshape(*lead, q.shape[-2], v.shape[-1])
    if dead is not None:
        out = out.masked_fill(dead, 0.0)
    return out


_compiled_flex = None


def _flex_fn():
    global _compiled_flex
    if _compiled_flex is None:
        from torch.nn.attention.flex_attention import flex_attention

        _compiled_flex = torch.compile(flex_attention, dynamic=False)
    return _compiled_flex


def _attend_flex(q, k, v, bias, mask, scale, dropout_p, causal):
    from torch.nn.attention.flex_attention import create_block_mask

    if dropout_p > 0:
        raise InputError(f"the flex attention backend has no dropout, got dropout_p={dropout_p}; use 'sdpa'")
    if q.device.type == "cpu" and torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in (q, k, v, bias)
    ):
        raise InputError(
            "the flex attention backend has no backward pass on CPU (forward only) but an input requires "
            "grad; use the 'sdpa' backend (use_backend('sdpa')) or run under torch.no_grad()"
        )
    lead = tuple(q.shape[:-2])
    n = len(lead)
    q4, k4, v4 = _fold(q, n), _fold(k, n), _fold(v, n)
    shape = (q4.shape[0], q4.shape[1], q4.shape[2], k4.shape[2])

    score_mod = None
    if bias is not None:
        b4 = _fold_mask(bias.to(q.dtype), lead).expand(shape)

        def score_mod(score, b, h, qi, ki):
            return score + b4[b, h, qi, ki]

    block_mask = None
    if mask is not None or causal:
        m4 = None if mask is None else _fold_mask(mask, lead).expand(shape)

        def mask_mod(b, h, qi, ki):
            if m4 is None:
                return ki <= qi
            return m4[b, h, qi, ki] & (ki <= qi) if causal else m4[b, h, qi, ki]

        block_mask = create_block_mask(mask_mod, shape[0], shape[1], shape[2], shape[3], device=q.device)
    out = _flex_fn()(q4, k4, v4, score_mod=score_mod, block_mask=block_mask, scale=scale)
    return out.reshape(*lead, q.shape[-2], v.shape[-1])


_BACKENDS = {"sdpa": _attend_sdpa, "math": _attend_math, "flex": _attend_flex}


# --------------------------------------------------------------------------------------------------------
# public entry points


def attend(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    bias: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    scale: float | None = None,
    dropout_p: float = 0.0,
    causal: bool = False,
) -> torch.Tensor:
    """Dense softmax attention, dispatched to the current backend (see `get_backend`).

    Args:
        q: ``[*batch, Lq, D]`` queries (usually ``[B, heads, Lq, D]``).
        k: ``[*batch, Lk, D]`` keys.
        v: ``[*batch, Lk, Dv]`` values (Dv may differ from D).
        bias: additive float bias broadcastable to ``[*batch, Lq, Lk]`` (e.g. relative position bias).
        mask: bool keep-mask broadcastable to ``[*batch, Lq, Lk]``; True = may attend.
        scale: logit scale, default ``D ** -0.5``.
        dropout_p: dropout on the attention probabilities, applied whenever > 0 (pass 0 in eval).
        causal: top-left aligned causal mask (query i sees keys j <= i), like torch SDPA.

    Returns:
        ``[*batch, Lq, Dv]``, dtype of q. Query rows with no attendable key are zeros (no NaN, zero grads).

    Example:
        >>> q = k = v = torch.randn(2, 4, 16, 8)
        >>> attend(q, k, v, mask=torch.rand(16, 16) > 0.5).shape
        torch.Size([2, 4, 16, 8])
    """
    _validate(q, k, v, bias, mask, dropout_p)
    scale = _check_scale(scale, q)
    _check_bias_values(bias)
    return _BACKENDS[get_backend()](q, k, v, bias, mask, scale, dropout_p, causal)


def attend_reference(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    bias: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    scale: float | None = None,
    dropout_p: float = 0.0,
    causal: bool = False,
) -> torch.Tensor:
    """The ``"math"`` backend: ``softmax(q @ k^T * scale + bias, masked with -inf) @ v``, in float32 for
    half-precision inputs, cast back. Same arguments and conventions as `attend`.
    """
    _validate(q, k, v, bias, mask, dropout_p)
    scale = _check_scale(scale, q)
    _check_bias_values(bias)
    return _attend_math(q, k, v, bias, mask, scale, dropout_p, causal)
