"""The compiled building blocks of every numba kernel: random normals and the optimizer update.

One place for what the numba engine (:mod:`.numba_engine`) and the sweep (:mod:`.sweep`) share:

* :data:`NJIT` -- the compile options of every kernel (on-disk cache, no bounds checks, NumPy's
  error model so that a division by zero gives ``inf``/``nan`` instead of a Python exception,
  which is also what lets the compiler vectorise the update loops);
* :data:`LANES` and :data:`CHUNK` -- a block of coordinates advanced in lock-step, and the
  coordinates per parallel work item (statistics are summed per chunk, in a fixed order);
* :func:`first_try` -- one coordinate's normal by the ziggurat's fast path (99.6% of draws),
  free of branches and of run-time table arguments, so that a loop over lanes that calls it
  compiles to SIMD code (gathers from the tables); :func:`redo_rejections` finishes the rare
  lanes it rejects, and :func:`draw_normals` is the two together: the counter-based normals
  of :mod:`.random` for one block at one step (bit for bit :func:`.random.normals`);
* :func:`adamw_step` (:func:`moments_step` then :func:`adamw_update`), :func:`sign_step`,
  :func:`lion_step`, :func:`sgd_step`, :func:`coupled_gradient`, :func:`descent_step` and
  :func:`weight_step` -- one coordinate's optimizer step, bit for bit the expressions of the
  NumPy reference (:mod:`.reference`).

The small functions are compiled with ``inline="always"`` and work on scalars: inside a
kernel's loop over a block they become part of its body, so the loop still vectorises (helpers
that loop over arrays themselves measured 5-8% slower in the engine).

numba's on-disk cache is keyed by the file that defines a kernel, not by the files of the
functions it inlines, so an edit here would leave the engine and the sweep running their stale
compiled code (and passing their tests). :func:`drop_stale_caches` therefore runs on import:
when this module or :mod:`.random` changed since the cache was written, it deletes the
package's cached kernels (``__pycache__/*.nbi``, ``*.nbc``) before any is loaded.
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

import numpy as np

try:
    import numba
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "the compiled kernels need numba: pip install 'adamw-rms[sim]' (or use engine='numpy')"
    ) from error

from .random import LAYERS, MIX_1, MIX_2, SIGN_BIT, STEP_GOLDEN, TAIL_START, ZIGGURAT

_HERE = Path(__file__).resolve().parent


def drop_stale_caches(folder: Path = _HERE) -> bool:
    """Delete ``folder``'s cached numba kernels if the sources they inline have changed.

    The digest of this module and :mod:`.random` is kept next to the cache
    (``__pycache__/kernels.digest``); returns True when caches were dropped. A read-only
    install (no writable ``__pycache__``) keeps its caches: they were built from its sources.
    """
    digest = hashlib.sha256()
    for name in ("kernels.py", "random.py"):
        digest.update((folder / name).read_bytes())
    stamp = folder / "__pycache__" / "kernels.digest"
    current = digest.hexdigest()
    try:
        if stamp.read_text(encoding="ascii") == current:
            return False
    except OSError:
        pass
    try:
        stamp.parent.mkdir(exist_ok=True)
        for cached in [*stamp.parent.glob("*.nbi"), *stamp.parent.glob("*.nbc")]:
            cached.unlink(missing_ok=True)
        # Written atomically: a parallel import reads the old digest or the new one.
        partial = stamp.with_name(f"{stamp.name}.{os.getpid()}.tmp")
        partial.write_text(current, encoding="ascii")
        os.replace(partial, stamp)
    except OSError:
        return False
    return True


drop_stale_caches()

__all__ = [
    "CHUNK",
    "LANES",
    "NJIT",
    "adamw_step",
    "adamw_update",
    "coupled_gradient",
    "descent_step",
    "draw_normals",
    "drop_stale_caches",
    "first_try",
    "lion_step",
    "moments_step",
    "redo_rejections",
    "sgd_step",
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

# The tables as module constants: numba compiles them into the kernels as read-only data, so
# the compiler knows that no store can change them and vectorises the loops that read them
# (tables passed as arguments might alias the output, which rules out SIMD gathers).
_THRESHOLDS, _WIDTHS, _HEIGHTS = ZIGGURAT
# The fast path indexes by the word's low 11 bits, the layer and the sign bit above it: the
# widths with the sign folded in (``b * (-w)`` is ``-(b * w)`` exactly: rounding is symmetric),
# and the thresholds once per sign.
if SIGN_BIT != LAYERS.bit_length() - 1:  # pragma: no cover - a guard for edits of .random
    raise ImportError("the signed tables need the sign bit just above the layer bits")
_SIGNED_INDEX = np.uint64(2 * LAYERS - 1)
_SIGNED_WIDTHS = np.concatenate([_WIDTHS, -_WIDTHS])
_SIGNED_THRESHOLDS = np.concatenate([_THRESHOLDS, _THRESHOLDS])


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


@numba.njit(inline="always")
def first_try(key, counter):
    """The normal of ``key`` at the step of ``counter`` if the ziggurat's fast path accepts it.

    Returns ``(value, rejected)``; where ``rejected`` is true, :func:`redo_rejections` gives
    the number (0.43% of draws). Two table lookups and no branch: inside a loop over lanes it
    vectorises, the lookups becoming gathers.
    """
    word = _mix64(key ^ counter)
    bits = np.int64(word >> np.uint64(12))
    index = np.int64(word & _SIGNED_INDEX)
    return bits * _SIGNED_WIDTHS[index], bits >= _SIGNED_THRESHOLDS[index]


@numba.njit(inline="always")
def redo_rejections(keys, base, lanes, counter, out):
    """Redo the lanes of ``keys[base:base + lanes]`` whose first word the fast path rejected.

    Called behind a test of the rejection count (13% of the steps of a 32-lane block have one):
    the loops that draw stay lean, and the slow path itself (:func:`_normal_slow`) is a call.
    Inline, this scan measured 3-4% faster in the engine than as a call of its own, which
    made the compiler save and restore the loop's vector registers around it.
    """
    for lane in range(lanes):
        key = keys[base + lane]
        word = _mix64(key ^ counter)
        if np.int64(word >> np.uint64(12)) >= _THRESHOLDS[np.int64(word & _LAYER_MASK)]:
            out[lane] = _normal_slow(key, counter, word, _THRESHOLDS, _WIDTHS, _HEIGHTS)


@numba.njit(inline="always")
def draw_normals(keys, base, lanes, counter, out):
    """Standard normals of coordinates ``keys[base:base + lanes]`` at the step of ``counter``,
    into ``out[:lanes]``: the fast path for every lane, then the rejected lanes redone."""
    rejected = 0
    for lane in range(lanes):
        out[lane], miss = first_try(keys[base + lane], counter)
        rejected += miss
    if rejected:
        redo_rejections(keys, base, lanes, counter, out)


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


@numba.njit(inline="always")
def lion_step(g, m, betas):
    """One coordinate's Lion step: ``(m, u)`` with ``u = sign(beta1 m + (1 - beta1) g)`` (old
    ``m``; 0 where that is 0), then ``m = beta2 m + (1 - beta2) g``."""
    c = betas[0] * m + betas[1] * g
    m = betas[2] * m + betas[3] * g
    one = betas[4]
    return m, (one if c > 0 else (-one if c < 0 else one - one))


@numba.njit(inline="always")
def coupled_gradient(g, w, weight_decay):
    """``g + weight_decay theta``: L2 weight decay added to the gradient."""
    return g + weight_decay * w


@numba.njit(inline="always")
def sgd_step(g, b, buffer_decay, gradient_gain, momentum, nesterov):
    """PyTorch SGD's buffer ``b = a_t b + c_t g`` and direction (``g + momentum b`` with
    Nesterov, else ``b``); the caller skips it where ``momentum == 0`` (direction ``g``)."""
    b = buffer_decay * b + gradient_gain * g
    return b, (g + momentum * b) if nesterov else b


@numba.njit(inline="always")
def descent_step(w, u, lr):
    """``theta - lr u``: the step of the coupled rules (the decay is inside ``u``)."""
    return w - lr * u
