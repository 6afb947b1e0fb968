"""The fast CPU engine: a compiled kernel with the loops interchanged (extra ``sim``: numba).

Coordinates are independent, so each block of ``LANES`` coordinates runs through *all* steps
while its state (``m``, ``v``, ``theta``) stays in the L1 cache, and blocks run in parallel
(``numba.prange`` over chunks of ``CHUNK`` coordinates). Within a block the lanes advance in
lock-step, in one loop per step that the compiler turns into SIMD code: each lane applies
step ``t``'s update with the normal drawn the step before, then draws its normal for step
``t + 1`` by the ziggurat's fast path (:func:`.kernels.first_try`: a hash and two table
gathers). Interleaving the two keeps the CPU's divider (the update's square root and
division) busy while the integer units hash; the rare rejections (0.43% of draws) are redone
after the loop. The loop is compiled in variants chosen per step, so that none tests a flag
per lane: inside or before the window of the update RMS, and, where the inverse bias
corrections are 1 and ``eps`` is 0 (the source's update), ``u = m / sqrt(v)`` without the
multiplications by 1 and the addition of 0, which change no bit (``v`` starts at +0 and only
adds squares, so ``sqrt(v)`` is never -0). One thread, the source's settings, float64: 3.3e8
element-steps/s with the separate hash, draw and update passes this loop replaced, 5.3e8 now.

Random numbers come from :mod:`adamw_rms.simulation.random`, keyed by (seed, coordinate, step):
the result does not depend on the number of threads, and the NumPy engine with
``random_source="counter"`` replays the very same numbers. Statistics are summed per chunk and
the chunks added in a fixed order, so results are bit-for-bit reproducible. Memory is O(n)
(the optimizer state) plus O(chunks x recorded steps) for the sums, never O(n x steps).
``cache=True`` keeps the compiled kernel on disk, so the compile (several seconds) is paid
once.

AdamW and SignSGDMW run :func:`_kernel`; Lion, SGD and Adam with L2 run :func:`_rules_kernel`,
the same blocks, draws and sums around their own loops (:func:`_lion_lanes`,
:func:`_sgd_lanes`, :func:`_adam_l2_lanes`), kept apart so that AdamW's compiled loop is the
one measured above. One thread, float64, ``n = 3·10⁴``, 10³ steps on the shared development
machine: Lion 3.9e8 element-steps/s, SGD 4.3e8 (4.9e8 with Nesterov momentum), Adam with L2
4.1e8, AdamW with bias correction 3.2e8 in the same session.
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
from .kernels import (
    CHUNK,
    NJIT,
    adamw_step,
    coupled_gradient,
    descent_step,
    draw_normals,
    first_try,
    lion_step,
    redo_rejections,
    sgd_step,
    sign_step,
    step_word,
    weight_step,
)
from .progress import progress_bar, shows_progress
from .random import coordinate_keys
from .reference import sgd_buffer_terms
from .result import SimulationResult

__all__ = ["CHUNK", "LANES", "RULE_CODES", "run"]

#: The code of each update rule of :func:`_rules_kernel` (AdamW and SignSGDMW run ``_kernel``).
RULE_CODES = {"lion": 2, "sgd": 3, "adam_l2": 4}

#: Coordinates advanced in lock-step by one loop (8 SIMD vectors of 4 float64). It divides
#: ``CHUNK``, so the sums, hence the results, do not depend on it. Measured with this loop, one
#: thread, paired runs: 8 lanes 4.2e8 element-steps/s, 16 5.2e8, 32 5.3e8, 64 5.0e8.
LANES = 32

#: Coordinates per kernel call when no progress bar is shown (whole chunks): bounds the keys
#: (8 bytes each) and the per-chunk sums; n = 2·10⁵ is one call.
MAX_GROUP = 1 << 20
if CHUNK % LANES or MAX_GROUP % CHUNK:  # pragma: no cover - a guard for edits
    raise ValueError("LANES must divide CHUNK, and CHUNK MAX_GROUP")


@numba.njit(inline="always")
def _adamw_lanes(
    keys, lanes, following, normal, momentum, second, weights, gradient, update_sq, betas, c1,
    c2, eps, lr, decay, grad_mean, grad_std, accumulate, plain,
):  # fmt: skip
    """Step ``t`` of AdamW for one block (with step ``t``'s ``normal``), then draw step
    ``t + 1``'s normals into ``normal``; returns how many the fast path rejected.

    ``accumulate`` and ``plain`` are constants at each call site, so each call compiles to
    one branch-free loop.
    """
    rejected = 0
    for lane in range(lanes):
        gradient[lane] = grad_mean + grad_std * normal[lane]
        if plain:  # c1 = c2 = 1, eps = 0: the same numbers without the no-op arithmetic
            g = gradient[lane]
            m = betas[0] * momentum[lane] + betas[1] * g
            v = betas[2] * second[lane] + betas[3] * (g * g)
            u = m / math.sqrt(v)
            momentum[lane], second[lane] = m, v
        else:
            momentum[lane], second[lane], u = adamw_step(
                gradient[lane], momentum[lane], second[lane], betas, c1, c2, eps
            )
        weights[lane] = weight_step(weights[lane], u, lr, decay)
        if accumulate:
            update_sq[lane] += np.float64(u) * np.float64(u)
        normal[lane], miss = first_try(keys[lane], following)
        rejected += miss
    return rejected


@numba.njit(inline="always")
def _sign_lanes(
    keys, lanes, following, normal, momentum, weights, gradient, update_sq, betas, lr, decay,
    grad_mean, grad_std, accumulate,
):  # fmt: skip
    """:func:`_adamw_lanes` for SignSGDM."""
    rejected = 0
    for lane in range(lanes):
        gradient[lane] = grad_mean + grad_std * normal[lane]
        momentum[lane], u = sign_step(gradient[lane], momentum[lane], betas)
        weights[lane] = weight_step(weights[lane], u, lr, decay)
        if accumulate:
            update_sq[lane] += np.float64(u) * np.float64(u)
        normal[lane], miss = first_try(keys[lane], following)
        rejected += miss
    return rejected


@numba.njit(inline="always")
def _lion_lanes(
    keys, lanes, following, normal, momentum, weights, gradient, update_sq, betas, lr, decay,
    grad_mean, grad_std, accumulate,
):  # fmt: skip
    """:func:`_adamw_lanes` for Lion."""
    rejected = 0
    for lane in range(lanes):
        gradient[lane] = grad_mean + grad_std * normal[lane]
        momentum[lane], u = lion_step(gradient[lane], momentum[lane], betas)
        weights[lane] = weight_step(weights[lane], u, lr, decay)
        if accumulate:
            update_sq[lane] += np.float64(u) * np.float64(u)
        normal[lane], miss = first_try(keys[lane], following)
        rejected += miss
    return rejected


@numba.njit(inline="always")
def _sgd_lanes(
    keys, lanes, following, normal, buffer, weights, gradient, update_sq, buffer_decay,
    gradient_gain, momentum, lr, decay, grad_mean, grad_std, accumulate, has_momentum, nesterov,
    decoupled,
):  # fmt: skip
    """:func:`_adamw_lanes` for PyTorch's SGD (coupled or decoupled decay). The flags are
    the same at every step: the compiler may hoist them, and the AdamW loops are not touched."""
    rejected = 0
    for lane in range(lanes):
        g = grad_mean + grad_std * normal[lane]
        gradient[lane] = g
        w = weights[lane]
        if not decoupled:
            gradient[lane] = coupled_gradient(gradient[lane], w, decay)
        u = gradient[lane]
        if has_momentum:
            buffer[lane], u = sgd_step(
                gradient[lane], buffer[lane], buffer_decay, gradient_gain, momentum, nesterov
            )
        if decoupled:
            weights[lane] = weight_step(w, u, lr, decay)
        else:
            weights[lane] = descent_step(w, u, lr)
        if accumulate:
            update_sq[lane] += np.float64(u) * np.float64(u)
        normal[lane], miss = first_try(keys[lane], following)
        rejected += miss
    return rejected


@numba.njit(inline="always")
def _adam_l2_lanes(
    keys, lanes, following, normal, momentum, second, weights, gradient, update_sq, betas, c1,
    c2, eps, lr, decay, grad_mean, grad_std, accumulate,
):  # fmt: skip
    """:func:`_adamw_lanes` for Adam with L2 decay (``torch.optim.Adam(weight_decay=...)``)."""
    rejected = 0
    for lane in range(lanes):
        gradient[lane] = grad_mean + grad_std * normal[lane]
        w = weights[lane]
        gradient[lane] = coupled_gradient(gradient[lane], w, decay)
        momentum[lane], second[lane], u = adamw_step(
            gradient[lane], momentum[lane], second[lane], betas, c1, c2, eps
        )
        weights[lane] = descent_step(w, u, lr)
        if accumulate:
            update_sq[lane] += np.float64(u) * np.float64(u)
        normal[lane], miss = first_try(keys[lane], following)
        rejected += miss
    return rejected


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
):
    n = keys.size
    steps = lr.size
    chunks = (n + CHUNK - 1) // CHUNK
    weight_sums = np.zeros((chunks, record.size, 2))
    update_sums = np.zeros((chunks, 2))
    window = steps - window_start + 1
    for chunk in numba.prange(chunks):
        # Two blocks of rows: the loop then touches few enough arrays for the compiler's
        # run-time alias checks, and it vectorises.
        wide = np.empty((2, LANES))
        normal, update_sq = wide[0], wide[1]
        state = np.empty((4, LANES), dtype=betas.dtype)
        momentum, second, weights, gradient = state[0], state[1], state[2], state[3]
        chunk_end = min(n, (chunk + 1) * CHUNK)
        for base in range(chunk * CHUNK, chunk_end, LANES):
            lanes = min(LANES, chunk_end - base)
            block = keys[base : base + lanes]
            draw_normals(block, 0, lanes, step_word(0), normal)
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
            draw_normals(block, 0, lanes, step_word(1), normal)
            for step in range(1, steps + 1):
                k = step - 1
                following = step_word(step + 1)  # step steps + 1's draw is not used
                lr_k, decay_k = lr[k], decay[k]
                accumulate = step >= window_start
                if sign_update:
                    if accumulate:
                        rejected = _sign_lanes(
                            block, lanes, following, normal, momentum, weights, gradient,
                            update_sq, betas, lr_k, decay_k, grad_mean, grad_std, True,
                        )  # fmt: skip
                    else:
                        rejected = _sign_lanes(
                            block, lanes, following, normal, momentum, weights, gradient,
                            update_sq, betas, lr_k, decay_k, grad_mean, grad_std, False,
                        )  # fmt: skip
                else:
                    c1, c2 = inverse_bias1[k], inverse_bias2_sqrt[k]
                    if c1 == 1 and c2 == 1 and eps == 0:
                        if accumulate:
                            rejected = _adamw_lanes(
                                block, lanes, following, normal, momentum, second, weights,
                                gradient, update_sq, betas, c1, c2, eps, lr_k, decay_k, grad_mean,
                                grad_std, True, True,
                            )  # fmt: skip
                        else:
                            rejected = _adamw_lanes(
                                block, lanes, following, normal, momentum, second, weights,
                                gradient, update_sq, betas, c1, c2, eps, lr_k, decay_k, grad_mean,
                                grad_std, False, True,
                            )  # fmt: skip
                    elif accumulate:
                        rejected = _adamw_lanes(
                            block, lanes, following, normal, momentum, second, weights,
                            gradient, update_sq, betas, c1, c2, eps, lr_k, decay_k, grad_mean,
                            grad_std, True, False,
                        )  # fmt: skip
                    else:
                        rejected = _adamw_lanes(
                            block, lanes, following, normal, momentum, second, weights,
                            gradient, update_sq, betas, c1, c2, eps, lr_k, decay_k, grad_mean,
                            grad_std, False, False,
                        )  # fmt: skip
                if rejected:
                    redo_rejections(block, 0, lanes, following, normal)
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


@numba.njit(parallel=True, **NJIT)
def _rules_kernel(
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
    rule,
    buffer_decay,
    gradient_gain,
    sgd_momentum,
    nesterov,
    decoupled,
):
    """:func:`_kernel` for Lion (``rule`` 2), SGD (3) and Adam with L2 (4): the same blocks,
    draws and sums. A kernel of its own so that AdamW's stays as compiled before these rules
    (one kernel for all five measured 2.6% slower on AdamW with bias correction, paired runs)."""
    n = keys.size
    steps = lr.size
    chunks = (n + CHUNK - 1) // CHUNK
    weight_sums = np.zeros((chunks, record.size, 2))
    update_sums = np.zeros((chunks, 2))
    window = steps - window_start + 1
    for chunk in numba.prange(chunks):
        # Two blocks of rows: the loop then touches few enough arrays for the compiler's
        # run-time alias checks, and it vectorises.
        wide = np.empty((2, LANES))
        normal, update_sq = wide[0], wide[1]
        state = np.empty((4, LANES), dtype=betas.dtype)
        momentum, second, weights, gradient = state[0], state[1], state[2], state[3]
        chunk_end = min(n, (chunk + 1) * CHUNK)
        for base in range(chunk * CHUNK, chunk_end, LANES):
            lanes = min(LANES, chunk_end - base)
            block = keys[base : base + lanes]
            draw_normals(block, 0, lanes, step_word(0), normal)
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
            draw_normals(block, 0, lanes, step_word(1), normal)
            for step in range(1, steps + 1):
                k = step - 1
                following = step_word(step + 1)  # step steps + 1's draw is not used
                lr_k, decay_k = lr[k], decay[k]
                accumulate = step >= window_start
                if rule == 2:
                    rejected = _lion_lanes(
                        block, lanes, following, normal, momentum, weights, gradient, update_sq,
                        betas, lr_k, decay_k, grad_mean, grad_std, accumulate,
                    )  # fmt: skip
                elif rule == 3:
                    rejected = _sgd_lanes(
                        block, lanes, following, normal, momentum, weights, gradient, update_sq,
                        buffer_decay[k], gradient_gain[k], sgd_momentum, lr_k, decay_k,
                        grad_mean, grad_std, accumulate, sgd_momentum != 0, nesterov, decoupled,
                    )  # fmt: skip
                else:  # 4: adam_l2
                    rejected = _adam_l2_lanes(
                        block, lanes, following, normal, momentum, second, weights, gradient,
                        update_sq, betas, inverse_bias1[k], inverse_bias2_sqrt[k], eps, lr_k,
                        decay_k, grad_mean, grad_std, accumulate,
                    )  # fmt: skip
                if rejected:
                    redo_rejections(block, 0, lanes, following, normal)
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


def _load(kernel, arguments: tuple) -> None:
    """Compile ``kernel`` for these argument types, or load it from numba's disk cache."""
    kernel.compile(tuple(kernel.typeof_pyval(value) for value in arguments))


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
    if config.update in ("adamw", "sign_sgdm"):
        kernel, rule_arguments = _kernel, (config.update == "sign_sgdm",)
    else:
        buffer_decay, gradient_gain = sgd_buffer_terms(
            config.momentum, config.dampening, config.steps, dtype
        )
        kernel = _rules_kernel
        rule_arguments = (
            RULE_CODES[config.update], buffer_decay, gradient_gain, dtype.type(config.momentum),
            config.nesterov, config.update == "sgd" and config.decoupled,
        )  # fmt: skip
    window_start = config.steps - config.update_window + 1
    previous_threads = numba.get_num_threads()
    if threads is not None:
        if not 1 <= threads <= numba.config.NUMBA_NUM_THREADS:
            raise ValueError(
                f"threads must be in [1, {numba.config.NUMBA_NUM_THREADS}]; got {threads}"
            )
        numba.set_num_threads(threads)

    def arguments(first: int, last: int) -> tuple:
        return (
            coordinate_keys(config.seed, np.arange(first, last)),
            *arrays,
            betas,
            dtype.type(config.eps),
            config.grad_mean,
            config.grad_std,
            config.init_rms,
            record,
            window_start,
            *rule_arguments,
        )

    # Groups of whole chunks: chunk boundaries (hence sums) do not depend on the grouping.
    # With a bar, a few chunks per thread between its updates; without, as few calls as memory
    # allows (each call starts the threads and waits for the slowest: 10-20 ms with the OpenMP
    # layer on a busy machine).
    live = shows_progress(config, progress)
    group = CHUNK * max(1, 8 * numba.get_num_threads()) if live else MAX_GROUP
    weight_parts, update_parts = [], []
    try:
        _load(kernel, arguments(0, min(config.n, CHUNK)))  # compile or load from cache: untimed
        start = time.perf_counter()
        with progress_bar(config, live, "numba engine", total=config.n) as bar:
            for first in range(0, config.n, group):
                last = min(config.n, first + group)
                weight_sums, update_sums = kernel(*arguments(first, last))
                weight_parts.append(weight_sums)
                update_parts.append(update_sums)
                bar.update(last - first)
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
