"""Vectorised input validation: one clear error naming the parameter, value, index, range.

A wrong *kind* of input (a string, a bool, a complex number, ``None``) raises ``TypeError``;
a number outside its range raises ``ValueError``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_float_array", "check_range", "raise_where"]

# NumPy kinds that are real numbers: signed and unsigned integers, floats. Bools ("b") are not,
# though NumPy would cast them to 0 and 1; strings ("U", "S") NumPy would even parse.
_REAL_KINDS = frozenset("iuf")


def _kind_error(name: str, value: object) -> TypeError:
    return TypeError(f"{name} must be a real number or an array of them; got {value!r}")


# Elements of an object array that NumPy would convert (None to NaN) but are not real numbers.
_NOT_REAL = (str, bytes, bool, np.bool_, complex, np.complexfloating, type(None))


def as_float_array(name: str, value: object) -> np.ndarray:
    """``value`` as a float64 array, or a ``TypeError`` naming ``name``.

    Only real numbers are accepted (scalars, sequences, arrays, array-likes such as a CPU
    tensor); NumPy would silently turn ``"3e-4"`` into ``0.0003`` and ``True`` into ``1.0``, so
    strings, bytes and bools are refused here before any conversion.
    """
    if value is None or isinstance(value, str | bytes | bool | np.bool_):
        raise _kind_error(name, value)
    if isinstance(value, float):  # the common case, without building an intermediate array
        return np.asarray(value)
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:  # e.g. ragged nested lists
        raise _kind_error(name, value) from error
    if array.dtype.kind not in _REAL_KINDS:
        # An object array (e.g. of ``mpmath.mpf`` or ``Fraction``) is converted element by
        # element below, but a string in it would be parsed: refuse those first.
        if array.dtype.kind != "O" or any(isinstance(x, _NOT_REAL) for x in array.flat):
            raise _kind_error(name, value)
    try:
        return array.astype(np.float64, copy=False)
    except OverflowError as error:  # a Python int beyond float64
        raise ValueError(f"{name} is too large for a float64") from error
    except (TypeError, ValueError) as error:  # e.g. None, or an object without __float__
        raise _kind_error(name, value) from error


def _describe(low: float, high: float, low_open: bool, high_open: bool) -> str:
    left = "(" if low_open else "["
    right = ")" if high_open or high == np.inf else "]"
    high_text = "inf" if high == np.inf else f"{high:g}"
    return f"{left}{low:g}, {high_text}{right}"


def check_range(
    name: str,
    value: object,
    low: float,
    high: float = np.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
    allow_inf: bool = False,
    whole: bool = False,
) -> np.ndarray:
    """Validate ``value`` elementwise against an interval; return it as a float64 array.

    NaN is always rejected; ``+inf`` only where ``allow_inf``; with ``whole``, every finite
    element must be a whole number (a count, such as ``steps``: ``100`` and ``100.0`` pass,
    ``100.5`` does not). Comparisons with NaN raise no NumPy warning, so this is safe under
    ``-W error``. A value that is not a real number raises ``TypeError`` (:func:`as_float_array`).
    """
    array = as_float_array(name, value)
    if array.size:
        # Fast path: two reductions and no temporaries; NaN propagates and fails the test.
        smallest, largest = array.min(), array.max()
        low_ok = smallest > low if low_open else smallest >= low
        high_ok = largest < high if high_open else largest <= high
        if low_ok and high_ok and (largest < np.inf or allow_inf):
            if whole:
                _check_whole(name, array, allow_inf)
            return array
    finite_or_allowed = np.isfinite(array) | (allow_inf & np.isposinf(array))
    above = array > low if low_open else array >= low
    below = array < high if high_open else array <= high
    allowed = _describe(low, high, low_open, high_open) + (" or inf" if allow_inf else "")
    raise_where(~(finite_or_allowed & above & below), name, array, allowed)
    return array


# Elements per block of the whole-number test: its temporaries stay in the cache, which halves
# its cost on a large array (it runs on every estimator call with ``steps``).
_BLOCK = 1 << 14


def _all_whole(array: np.ndarray) -> bool:
    """Whether ``floor(x) == x`` everywhere (``inf`` passes; NaN was refused before)."""
    flat = array.reshape(-1)
    if flat.size <= _BLOCK:
        return bool(np.array_equal(np.floor(flat), flat))
    floors, equal = np.empty(_BLOCK), np.empty(_BLOCK, dtype=bool)
    for start in range(0, flat.size, _BLOCK):
        block = flat[start : start + _BLOCK]
        size = block.size
        np.floor(block, out=floors[:size])
        if not np.equal(floors[:size], block, out=equal[:size]).all():
            return False
    return True


def _check_whole(name: str, array: np.ndarray, allow_inf: bool) -> None:
    """Raise ``ValueError`` at the first finite element of ``array`` that is not whole."""
    if _all_whole(array):
        return
    fractional = np.floor(array) != array
    allowed = "a whole number" + (" or inf" if allow_inf else "")
    if array.ndim == 0:
        raise ValueError(f"{name} must be {allowed}; got {float(array)!r}")
    index = tuple(int(k) for k in np.argwhere(fractional)[0])
    raise ValueError(f"{name} must be {allowed}; got {float(array[index])!r} at index {index}")


def raise_where(bad: np.ndarray, name: str, values: np.ndarray, allowed: str) -> None:
    """Raise ``ValueError`` for the first ``True`` of ``bad``, naming value and index."""
    if not bad.any():
        return
    if values.ndim == 0:
        raise ValueError(f"{name} must be in {allowed}; got {float(values)!r}")
    index = tuple(int(k) for k in np.argwhere(bad)[0])
    raise ValueError(f"{name} must be in {allowed}; got {float(values[index])!r} at index {index}")
