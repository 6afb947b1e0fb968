"""The fast CPU engine: a compiled kernel with the loops interchanged (extra ``sim``: numba).

Coordinates are independent, so each block of ``LANES`` coordinates runs through *all* steps
while its state (``m``, ``v``, ``theta``) stays in the L1 cache, and blocks run in parallel
(``numba.prange`` over chunks of ``CHUNK`` coordinates). Within a block the lanes advance in
lock-step: a SIMD pass hashes every lane's counter, a second pass takes the ziggurat's fast path
(its table lookups keep it scalar), the rare rejections (0.43% of draws) are redone one by one,
and a branch-free pass applies the Adam update, which the compiler turns into SIMD code.

Random numbers come from :mod:`adamw_rms.simulation.random`, keyed by (seed, coordinate, step):
the result does not depend on the number of threads, and the NumPy engine with
``random_source="counter"`` replays the very same numbers. Statistics are summed per chunk and
the chunks added in a fixed order, so results are bit-for-bit reproducible. Memory is O(n)
(the optimizer state) plus O(chunks x recorded steps) for the sums, never O(n x steps).
``cache=True`` keeps the compiled kernel on disk, so the compile (a few seconds) is paid once.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np

try:
    import numba
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "the numba engine needs numba: pip install 'adamw-rms[sim]' (or use engine='numpy')"
    ) from error

from .coefficients import step_coefficients
from .config import SimulationConfig
from .progress import progress_bar
from .random import (
    LAYERS,
    MIX_1,
    MIX_2,
    SIGN_BIT,
    STEP_GOLDEN,
    TAIL_START,
    ZIGGURAT,
    coordinate_keys,
)
from .result import SimulationResult

__all__ = ["CHUNK", "LANES", "run"]

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
def _uniform(word):
    return np.int64(word >> np.uint64(11)) * _UNIT


@numba.njit(inline="always")
def _word(key, counter, attempt):
    return _mix64(key ^ _mix64(counter + np.uint64(attempt)))


@numba.njit(cache=True)
def _normal_slow(key, counter, word, thresholds, widths, heights):
    """The ziggurat after a first-word rejection; the same steps as ``random.normals``."""
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


@numba.njit(cache=True, boundscheck=False)
def _fix_rejections(keys, base, lanes, counter, words, out, tables):
    """Redo the lanes whose first word failed the fast path (kept out of line: see below)."""
    thresholds, widths, heights = tables
    for lane in range(lanes):
        word = words[lane]
        if np.int64(word >> np.uint64(12)) >= thresholds[np.int64(word & _LAYER_MASK)]:
            out[lane] = _normal_slow(keys[base + lane], counter, word, thresholds, widths, heights)


@numba.njit(inline="always")
def _fill_normals(keys, base, lanes, counter, words, out, tables):
    """Standard normals for ``lanes`` coordinates at one step: one pass, then rare fix-ups."""
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


# error_model="numpy": a division by zero gives inf/nan as in NumPy instead of a Python
# exception, which lets the compiler vectorise the update loop.
@numba.njit(parallel=True, cache=True, boundscheck=False, error_model="numpy")
def _kernel(
    keys,
    lr,
    decay,
    inverse_bias1,
    inverse_bias2_sqrt,
    scalars,
    grad_mean,
    grad_std,
    init_rms,
    record,
    window_start,
    sign_update,
    tables,
):
    n = keys.size
    steps = lr.size
    chunks = (n + CHUNK - 1) // CHUNK
    weight_sums = np.zeros((chunks, record.size, 2))
    update_sums = np.zeros((chunks, 2))
    beta1, one_minus_beta1 = scalars[0], scalars[1]
    beta2, one_minus_beta2 = scalars[2], scalars[3]
    eps = scalars[4]
    window = steps - window_start + 1
    for chunk in numba.prange(chunks):
        normal = np.empty(LANES)
        gradient = np.empty(LANES, dtype=scalars.dtype)
        words = np.empty(LANES, dtype=np.uint64)
        update_sq = np.empty(LANES)
        # One block for the optimizer state: the update loop then touches three arrays, few
        # enough for the compiler's run-time alias checks, and it vectorises.
        state = np.empty((3, LANES), dtype=scalars.dtype)
        momentum, second, weights = state[0], state[1], state[2]
        chunk_end = min(n, (chunk + 1) * CHUNK)
        for base in range(chunk * CHUNK, chunk_end, LANES):
            lanes = min(LANES, chunk_end - base)
            counter = _mix64(np.uint64(1) * _STEP_GOLDEN)
            _fill_normals(keys, base, lanes, counter, words, normal, tables)
            for lane in range(lanes):
                weights[lane] = normal[lane] * init_rms
                momentum[lane] = 0
                second[lane] = 0
                update_sq[lane] = 0.0
            position = 0
            if record.size and record[0] == 0:
                for lane in range(lanes):
                    w2 = np.float64(weights[lane]) ** 2
                    weight_sums[chunk, 0, 0] += w2
                    weight_sums[chunk, 0, 1] += w2 * w2
                position = 1
            for step in range(1, steps + 1):
                k = step - 1
                counter = _mix64(np.uint64(step + 1) * _STEP_GOLDEN)
                _fill_normals(keys, base, lanes, counter, words, normal, tables)
                for lane in range(lanes):
                    gradient[lane] = grad_mean + grad_std * normal[lane]
                lr_k, decay_k = lr[k], decay[k]
                in_window = 1.0 if step >= window_start else 0.0
                if sign_update:
                    for lane in range(lanes):
                        m = beta1 * momentum[lane] + one_minus_beta1 * gradient[lane]
                        momentum[lane] = m
                        u = scalars[5] if m > 0 else (-scalars[5] if m < 0 else scalars[6])
                        weights[lane] = weights[lane] - lr_k * (u + decay_k * weights[lane])
                        update_sq[lane] += in_window * (np.float64(u) * np.float64(u))
                else:
                    b1, b2 = inverse_bias1[k], inverse_bias2_sqrt[k]
                    for lane in range(lanes):
                        g = gradient[lane]
                        m = beta1 * momentum[lane] + one_minus_beta1 * g
                        v = beta2 * second[lane] + one_minus_beta2 * (g * g)
                        momentum[lane] = m
                        second[lane] = v
                        u = (m * b1) / (math.sqrt(v) * b2 + eps)
                        weights[lane] = weights[lane] - lr_k * (u + decay_k * weights[lane])
                        update_sq[lane] += in_window * (np.float64(u) * np.float64(u))
                if position < record.size and record[position] == step:
                    for lane in range(lanes):
                        w2 = np.float64(weights[lane]) ** 2
                        weight_sums[chunk, position, 0] += w2
                        weight_sums[chunk, position, 1] += w2 * w2
                    position += 1
            for lane in range(lanes):
                mean_sq = update_sq[lane] / window
                update_sums[chunk, 0] += mean_sq
                update_sums[chunk, 1] += mean_sq * mean_sq
    return weight_sums, update_sums


def run(
    config: SimulationConfig, *, threads: int | None = None, progress: bool | None = None
) -> SimulationResult:
    """Simulate ``config`` with the compiled kernel.

    Parameters
    ----------
    threads
        Worker threads (default: numba's default, the CPU count). The result does not depend
        on it.
    progress
        Show a progress bar over coordinates (tqdm); ``None``: on long runs in a terminal.
    """
    dtype = np.dtype(config.dtype)
    coefficients = step_coefficients(config)
    one = dtype.type(1)
    beta1, beta2 = dtype.type(config.beta1), dtype.type(config.beta2)
    scalars = np.array(
        [beta1, one - beta1, beta2, one - beta2, dtype.type(config.eps), one, 0], dtype=dtype
    )
    arrays = [
        np.ascontiguousarray(a, dtype=dtype)
        for a in (
            coefficients.lr,
            coefficients.weight_decay,
            coefficients.inverse_bias1,
            coefficients.inverse_bias2_sqrt,
        )
    ]
    record = np.array(config.record_steps, dtype=np.int64)
    window_start = config.steps - config.update_window + 1
    previous_threads = numba.get_num_threads()
    if threads is not None:
        if not 1 <= threads <= numba.config.NUMBA_NUM_THREADS:
            raise ValueError(
                f"threads must be in [1, {numba.config.NUMBA_NUM_THREADS}]; got {threads}"
            )
        numba.set_num_threads(threads)
    # Groups of whole chunks: chunk boundaries (hence sums) do not depend on the grouping.
    group = CHUNK * max(1, 8 * numba.get_num_threads())
    weight_parts, update_parts = [], []
    start = time.perf_counter()
    try:
        with progress_bar(config, progress, "numba engine", total=config.n) as bar:
            for first in range(0, config.n, group):
                last = min(config.n, first + group)
                size = last - first
                weight_sums, update_sums = _kernel(
                    coordinate_keys(config.seed, np.arange(first, last)),
                    *arrays,
                    scalars,
                    config.grad_mean,
                    config.grad_std,
                    config.init_rms,
                    record,
                    window_start,
                    config.update == "sign_sgdm",
                    ZIGGURAT,
                )
                weight_parts.append(weight_sums)
                update_parts.append(update_sums)
                bar.update(size)
    finally:
        numba.set_num_threads(previous_threads)
    elapsed = time.perf_counter() - start
    weight_totals = np.concatenate(weight_parts).sum(axis=0)
    update_totals = np.concatenate(update_parts).sum(axis=0)
    info = {
        "random_source": "counter",
        "threads": threads or previous_threads,
        "cpus": os.cpu_count(),
    }
    return SimulationResult.from_sums(config, "numba", weight_totals, update_totals, elapsed, info)
