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
from .kernels import (
    CHUNK,
    LANES,
    NJIT,
    adamw_step,
    fill_normals,
    sign_step,
    step_word,
    weight_step,
)
from .progress import progress_bar
from .random import ZIGGURAT, coordinate_keys
from .result import SimulationResult

__all__ = ["CHUNK", "LANES", "run"]


@numba.njit(parallel=True, **NJIT)
def _kernel(
    keys,
    lr,
    decay,
    inverse_bias1,
    inverse_bias2_sqrt,
    betas,
    eps,
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
    window = steps - window_start + 1
    for chunk in numba.prange(chunks):
        normal = np.empty(LANES)
        words = np.empty(LANES, dtype=np.uint64)
        update_sq = np.empty(LANES)
        # One block for the optimizer state: the update loops then touch few enough arrays
        # for the compiler's run-time alias checks, and they vectorise.
        state = np.empty((4, LANES), dtype=betas.dtype)
        momentum, second, weights, gradient = state[0], state[1], state[2], state[3]
        chunk_end = min(n, (chunk + 1) * CHUNK)
        for base in range(chunk * CHUNK, chunk_end, LANES):
            lanes = min(LANES, chunk_end - base)
            fill_normals(keys, base, lanes, step_word(0), words, normal, tables)
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
                fill_normals(keys, base, lanes, step_word(step), words, normal, tables)
                for lane in range(lanes):
                    gradient[lane] = grad_mean + grad_std * normal[lane]
                lr_k, decay_k = lr[k], decay[k]
                in_window = 1.0 if step >= window_start else 0.0
                if sign_update:
                    for lane in range(lanes):
                        momentum[lane], u = sign_step(gradient[lane], momentum[lane], betas)
                        weights[lane] = weight_step(weights[lane], u, lr_k, decay_k)
                        update_sq[lane] += in_window * (np.float64(u) * np.float64(u))
                else:
                    c1, c2 = inverse_bias1[k], inverse_bias2_sqrt[k]
                    for lane in range(lanes):
                        momentum[lane], second[lane], u = adamw_step(
                            gradient[lane], momentum[lane], second[lane], betas, c1, c2, eps
                        )
                        weights[lane] = weight_step(weights[lane], u, lr_k, decay_k)
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
    betas = np.array([beta1, one - beta1, beta2, one - beta2, one], dtype=dtype)
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
                    betas,
                    dtype.type(config.eps),
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
