"""Shared private helpers of the estimators: validation glue, backends, output shaping, decay terms.

Used by :mod:`.adamw`, :mod:`.sign_sgdm` and :mod:`.solve`; nothing here is public API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._validate import check_range, raise_where

_BACKENDS = ("numpy", "mpmath")


def _check_backend(backend: str) -> None:
    if backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS}; got {backend!r}")


def _hyper(lr: Any, weight_decay: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``lr``, ``weight_decay`` and their product ``lr * weight_decay``."""
    lr_array = check_range("lr", lr, 0.0)
    decay_array = check_range("weight_decay", weight_decay, 0.0)
    product = lr_array * decay_array
    # beta3 = 1 - lr * weight_decay must stay positive for the derivation to hold.
    if product.max(initial=0.0) >= 1.0:
        raise_where(product >= 1.0, "lr * weight_decay", product, "[0, 1)")
    return lr_array, decay_array, product


def _trajectory_inputs(
    lr: Any, weight_decay: Any, steps: Any, snr: Any, init_rms: Any
) -> tuple[np.ndarray, ...]:
    """Validated ``lr, weight_decay, lr*weight_decay, steps, snr, init_rms`` arrays."""
    lr_array, decay_array, product = _hyper(lr, weight_decay)
    return (
        lr_array,
        decay_array,
        product,
        check_range("steps", steps, 0.0, allow_inf=True, whole=True),
        check_range("snr", snr, 0.0),
        check_range("init_rms", init_rms, 0.0),
    )


def _beta1(beta1: Any) -> np.ndarray:
    return check_range("beta1", beta1, 0.0, 1.0, high_open=True)


def _output(result: np.ndarray, *inputs: Any) -> Any:
    if all(np.ndim(a) == 0 for a in inputs):
        return float(result)
    return result


def _elementwise_mpmath(function: Callable, *arrays: np.ndarray) -> Any:
    import mpmath

    broadcast = np.broadcast_arrays(*arrays)
    if broadcast[0].ndim == 0:
        return function(*(mpmath.mpf(float(a)) for a in broadcast))
    out = np.empty(broadcast[0].shape, dtype=object)
    for index in np.ndindex(out.shape):
        out[index] = function(*(mpmath.mpf(float(a[index])) for a in broadcast))
    return out


def _decay_terms_numpy(q: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x = (1-q)**t`` and ``r1 = (1 - x)/q`` without cancellation, warnings or NaN.

    ``q = 0`` (no weight decay) gives the exact limits ``x = 1, r1 = t``; ``t = inf`` gives
    ``x = 0, r1 = 1/q`` (and ``r1 = inf`` when also ``q = 0``).
    """
    if q.min(initial=np.inf) > 0 and steps.max(initial=0.0) < np.inf:
        # The common case: no masks and no copies.
        exponent = np.negative(q)
        in_place = exponent if isinstance(exponent, np.ndarray) else None
        exponent = np.log1p(exponent, out=in_place)
        exponent = np.multiply(exponent, steps, out=in_place if np.shape(steps) == () else None)
        in_place = exponent if isinstance(exponent, np.ndarray) else None
        decay_power = np.exp(exponent)
        decay_sum = np.negative(np.expm1(exponent, out=in_place), out=in_place)
        decay_sum /= q
        return decay_power, decay_sum
    finite = np.isfinite(steps)
    exponent = np.where(finite, steps, 0.0) * np.log1p(-q)
    decay_power = np.where(finite, np.exp(exponent), np.where(q > 0, 0.0, 1.0))
    numerator = np.where(finite, -np.expm1(exponent), 1.0)
    positive = q > 0
    limit = np.where(finite, steps, np.inf)
    shape = np.broadcast_shapes(numerator.shape, q.shape)
    decay_sum = np.divide(numerator, q, out=np.broadcast_to(limit, shape).copy(), where=positive)
    return decay_power, decay_sum


def _decay_terms_mpmath(q: Any, steps: Any) -> tuple[Any, Any]:
    import mpmath

    if mpmath.isinf(steps):
        return (mpmath.mpf(0), 1 / q) if q > 0 else (mpmath.mpf(1), mpmath.inf)
    if q == 0:
        return mpmath.mpf(1), steps
    exponent = steps * mpmath.log1p(-q)
    return mpmath.exp(exponent), -mpmath.expm1(exponent) / q
