"""The compiled building blocks of every numba kernel: random normals and the optimizer update.

One place for what the numba engine (:mod:`.numba_engine`) and the sweep (:mod:`.sweep`) share:

* :data:`NJIT` -- the compile options of every kernel (on-disk cache, no bounds checks, NumPy's
  error model so that a division by zero gives ``inf``/``nan`` instead of a Python exception,
  which is also what lets the compiler vectorise the update loops);
* :data:`LANES` and :data:`CHUNK` -- a block of coordinates advanced in lock-step, and the
  coordinates per parallel work item (statistics are summed per chunk, in a fixed order);
* :func:`fill_normals` -- the counter-based normals of :mod:`.random` for one block at one step
  (bit for bit :func:`.random.normals`);
* :func:`adamw_step` (:func:`moments_step` then :func:`adamw_update`), :func:`sign_step` and
  :func:`weight_step` -- one coordinate's optimizer step, bit for bit the expressions of the
  NumPy reference (:mod:`.reference`).

The small functions are compiled with ``inline="always"`` and work on scalars: inside a
kernel's loop over a block they become part of its body, so the loop still vectorises (helpers
that loop over arrays themselves measured 5-8% slower in the engine).
"""

from __future__ import annotations

import math

import numpy as np

try:
    import numba
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "the compiled kernels need numba: pip install 'adamw-rms[sim]' (or use engine='numpy')"
    ) from error

from .random import LAYERS, MIX_1, MIX_2, SIGN_BIT, STEP_GOLDEN, TAIL_START

__all__ = [
    "CHUNK",
    "LANES",
    "NJIT",
    "adamw_step",
    "adamw_update",
    "fill_normals",
    "moments_step",
    "sign_step",
    "step_word",
    "weight_step",
]

#: Compile options shared by every kernel (``parallel=True`` is added where a kernel has a
#: ``prange``).
NJIT = {"cache": True, "boundscheck": False, "error_model": "numpy"}

#: Coordinates updated in lock-step (SIMD width times unrolling).
LANES = 32
#: Coordinates per parallel work item; statistics are summed per chunk in a fixed order.
CHUNK = 16 * LANES

_M1 = np.uint64(MIX_1)
_M2 = np.uint64(MIX_2)
_STEP_GOLDEN = np.uint64(STEP_GOLDEN)
_UNIT = 1.0 / 2.0**53
_LAYER_MASK = np.uint64(LAYERS - 1)
_SIGN_SHIFT = np.uint64(SIGN_BIT)
_SIGNS = np.array([1.0, -1.0])


@numba.njit(inline="always")
def _mix64(z):
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@numba.njit(inline="always")
def step_word(step):
    """The counter word of ``step`` (0: the initialisation), as :func:`.random.step_counter`."""
    return _mix64(np.uint64(step + 1) * _STEP_GOLDEN)


@numba.njit(inline="always")
def _uniform(word):
    return np.int64(word >> np.uint64(11)) * _UNIT


@numba.njit(inline="always")
def _word(key, counter, attempt):
    return _mix64(key ^ _mix64(counter + np.uint64(attempt)))


@numba.njit(**NJIT)
def _normal_slow(key, counter, word, thresholds, widths, heights):
    """The ziggurat after a first-word rejection; the same steps as :func:`.random.normals`."""
    attempt = 0
    while True:
        layer = np.int64(word & _LAYER_MASK)
        negative = (word >> _SIGN_SHIFT) & np.uint64(1)
        bits = np.int64(word >> np.uint64(12))
        x = bits * widths[layer]
        if bits < thresholds[layer]:
            return -x if negative else x
        attempt += 1
        second = _word(key, counter, attempt)
        if layer == 0:
            while True:
                a = -math.log1p(-_uniform(second)) / TAIL_START
                attempt += 1
                b = -math.log1p(-_uniform(_word(key, counter, attempt)))
                if b + b >= a * a:
                    return -(TAIL_START + a) if negative else TAIL_START + a
                attempt += 1
                second = _word(key, counter, attempt)
        height = heights[layer + 1] + _uniform(second) * (heights[layer] - heights[layer + 1])
        if height < math.exp(-0.5 * x * x):
            return -x if negative else x
        attempt += 1
        word = _word(key, counter, attempt)


@numba.njit(**NJIT)
def _fix_rejections(keys, base, lanes, counter, words, out, tables):
    """Redo the lanes whose first word failed the fast path (kept out of line: see below)."""
    thresholds, widths, heights = tables
    for lane in range(lanes):
        word = words[lane]
        if np.int64(word >> np.uint64(12)) >= thresholds[np.int64(word & _LAYER_MASK)]:
            out[lane] = _normal_slow(keys[base + lane], counter, word, thresholds, widths, heights)


@numba.njit(inline="always")
def fill_normals(keys, base, lanes, counter, words, out, tables):
    """Standard normals of coordinates ``keys[base:base + lanes]`` at the step of ``counter``.

    ``words`` (uint64) is scratch space of at least ``lanes`` entries; ``tables`` is
    :data:`.random.ZIGGURAT`. One pass takes the ziggurat's fast path, then the rare
    rejections are redone one by one.
    """
    thresholds, widths, _heights = tables
    # The hash alone, in its own loop: free of table lookups, it compiles to SIMD code (the
    # compiler will not vectorise a loop with gathers on this CPU, and would keep it scalar).
    for lane in range(lanes):
        words[lane] = _mix64(keys[base + lane] ^ counter)
    rejected = 0
    for lane in range(lanes):
        word = words[lane]
        layer = np.int64(word & _LAYER_MASK)
        bits = np.int64(word >> np.uint64(12))
        # The sign by a two-entry lookup: a branch on a random bit mispredicts half the time.
        out[lane] = (bits * widths[layer]) * _SIGNS[np.int64((word >> _SIGN_SHIFT) & np.uint64(1))]
        rejected += bits >= thresholds[layer]
    # 13% of the steps of a 32-lane block have a rejection; the fix-up as a call (rather than
    # inline code that re-tests every lane) keeps this loop lean: measured 13% faster overall.
    if rejected:
        _fix_rejections(keys, base, lanes, counter, words, out, tables)


@numba.njit(inline="always")
def moments_step(g, m, v, betas):
    """``(beta1 m + (1 - beta1) g, beta2 v + (1 - beta2) g^2)``: Adam's two moving averages.

    ``betas`` is ``(beta1, 1 - beta1, beta2, 1 - beta2, 1)`` in the state's dtype, formed as the
    reference engine forms them, so the results are bit for bit :mod:`.reference`'s.
    """
    return betas[0] * m + betas[1] * g, betas[2] * v + betas[3] * (g * g)


@numba.njit(inline="always")
def adamw_update(m, v, inverse_bias1, inverse_bias2_sqrt, eps):
    """``u = (m c1) / (sqrt(v) c2 + eps)`` with ``c1 = 1/(1 - beta1^t)``,
    ``c2 = 1/sqrt(1 - beta2^t)`` (ones without bias correction)."""
    return (m * inverse_bias1) / (math.sqrt(v) * inverse_bias2_sqrt + eps)


@numba.njit(inline="always")
def adamw_step(g, m, v, betas, inverse_bias1, inverse_bias2_sqrt, eps):
    """One coordinate's AdamW step: ``(m, v, u)`` after gradient ``g``."""
    m, v = moments_step(g, m, v, betas)
    return m, v, adamw_update(m, v, inverse_bias1, inverse_bias2_sqrt, eps)


@numba.njit(inline="always")
def sign_step(g, m, betas):
    """One coordinate's SignSGDM step: ``(m, u)`` with ``u = sign(m)`` (0 where ``m`` is 0)."""
    m = betas[0] * m + betas[1] * g
    one = betas[4]
    return m, (one if m > 0 else (-one if m < 0 else one - one))


@numba.njit(inline="always")
def weight_step(w, u, lr, weight_decay):
    """``theta - lr (u + weight_decay theta)``: decoupled weight decay in PyTorch's order."""
    return w - lr * (u + weight_decay * w)
