"""Many AdamW variants on common random numbers in one pass (numba; used by ``make accuracy``).

The weight recursion ``theta_t = theta_{t-1} - lr (u_t + weight_decay theta_{t-1})`` is linear
in ``(theta_0, u)``, and ``u`` does not depend on ``theta``. So one pass over the gradients of
a coordinate computes ``m`` and ``v`` once, the update with and without bias correction, and
then advances any number of weight trajectories -- different ``lr``, ``weight_decay``,
``init_rms`` and bias settings -- on the *same* gradients. Every variant is an ordinary
AdamW run (the NumPy engine with ``random_source="counter"`` replays any one of them exactly);
sharing the gradients makes the sweep cheap and the differences between variants precise.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numba
import numpy as np

from .coefficients import inverse_bias_corrections
from .kernels import CHUNK, LANES, NJIT, adamw_update, fill_normals, moments_step, step_word
from .random import ZIGGURAT, coordinate_keys
from .reference import Betas
from .result import rms_with_se

__all__ = ["SweepResult", "Variant", "sweep"]


@dataclass(frozen=True)
class Variant:
    """One weight trajectory: ``lr``, ``weight_decay``, bias correction and ``init_rms``."""

    lr: float
    weight_decay: float
    bias_correction: bool
    init_rms: float


@dataclass(frozen=True)
class SweepResult:
    """Weight RMS (and SE) per variant and recorded step; update RMS per bias setting."""

    variants: tuple[Variant, ...]
    steps: np.ndarray
    weight_rms: np.ndarray  # (variants, steps)
    weight_rms_se: np.ndarray
    update_rms: dict[bool, tuple[float, float]]  # bias_correction -> (rms, se)
    n: int
    elapsed_s: float


@numba.njit(parallel=True, **NJIT)
def _sweep_kernel(
    keys,
    betas,
    inverse_bias1_steps,
    inverse_bias2_sqrt_steps,
    eps,
    grad_mean,
    grad_std,
    lr,
    decay,
    corrected,
    init_rms,
    record,
    window_start,
    tables,
):
    n = keys.size
    steps = inverse_bias1_steps.size
    variants = lr.size
    chunks = (n + CHUNK - 1) // CHUNK
    weight_sums = np.zeros((chunks, variants, record.size, 2))
    update_sums = np.zeros((chunks, 2, 2))
    window = steps - window_start + 1
    for chunk in numba.prange(chunks):
        normal = np.empty(LANES)
        words = np.empty(LANES, dtype=np.uint64)
        momentum = np.empty(LANES)
        second = np.empty(LANES)
        update_plain = np.empty(LANES)
        update_corrected = np.empty(LANES)
        sq_plain = np.empty(LANES)
        sq_corrected = np.empty(LANES)
        weights = np.empty((variants, LANES))
        chunk_end = min(n, (chunk + 1) * CHUNK)
        for base in range(chunk * CHUNK, chunk_end, LANES):
            lanes = min(LANES, chunk_end - base)
            fill_normals(keys, base, lanes, step_word(0), words, normal, tables)
            for lane in range(lanes):
                momentum[lane] = 0.0
                second[lane] = 0.0
                sq_plain[lane] = 0.0
                sq_corrected[lane] = 0.0
                for k in range(variants):
                    weights[k, lane] = normal[lane] * init_rms[k]
            position = 0
            if record[0] == 0:
                for k in range(variants):
                    for lane in range(lanes):
                        w2 = weights[k, lane] ** 2
                        weight_sums[chunk, k, 0, 0] += w2
                        weight_sums[chunk, k, 0, 1] += w2 * w2
                position = 1
            for step in range(1, steps + 1):
                fill_normals(keys, base, lanes, step_word(step), words, normal, tables)
                inverse_bias1 = inverse_bias1_steps[step - 1]
                inverse_bias2_sqrt = inverse_bias2_sqrt_steps[step - 1]
                in_window = 1.0 if step >= window_start else 0.0
                for lane in range(lanes):
                    g = grad_mean + grad_std * normal[lane]
                    m, v = moments_step(g, momentum[lane], second[lane], betas)
                    momentum[lane] = m
                    second[lane] = v
                    plain = adamw_update(m, v, 1.0, 1.0, eps)
                    fixed = adamw_update(m, v, inverse_bias1, inverse_bias2_sqrt, eps)
                    update_plain[lane] = plain
                    update_corrected[lane] = fixed
                    sq_plain[lane] += in_window * (plain * plain)
                    sq_corrected[lane] += in_window * (fixed * fixed)
                for k in range(variants):
                    lr_k, decay_k = lr[k], decay[k]
                    if corrected[k]:
                        for lane in range(lanes):
                            w = weights[k, lane]
                            weights[k, lane] = w - lr_k * (update_corrected[lane] + decay_k * w)
                    else:
                        for lane in range(lanes):
                            w = weights[k, lane]
                            weights[k, lane] = w - lr_k * (update_plain[lane] + decay_k * w)
                if position < record.size and record[position] == step:
                    for k in range(variants):
                        for lane in range(lanes):
                            w2 = weights[k, lane] ** 2
                            weight_sums[chunk, k, position, 0] += w2
                            weight_sums[chunk, k, position, 1] += w2 * w2
                    position += 1
            for lane in range(lanes):
                a = sq_plain[lane] / window
                b = sq_corrected[lane] / window
                update_sums[chunk, 0, 0] += a
                update_sums[chunk, 0, 1] += a * a
                update_sums[chunk, 1, 0] += b
                update_sums[chunk, 1, 1] += b * b
    return weight_sums, update_sums


def sweep(
    variants: list[Variant],
    *,
    beta1: float,
    beta2: float,
    steps: int,
    n: int,
    grad_mean: float = 0.0,
    grad_std: float = 1.0,
    eps: float = 0.0,
    record_steps: tuple[int, ...],
    update_window: int | None = None,
    seed: int = 0,
) -> SweepResult:
    """Run every variant on the same gradients (float64). See the module docstring."""
    if not variants:
        raise ValueError("variants must name at least one weight trajectory")
    record = np.array(sorted(set(record_steps)), dtype=np.int64)
    if record[0] < 0 or record[-1] > steps:
        raise ValueError(f"record_steps must lie in [0, {steps}]")
    window = steps - steps // 2 if update_window is None else update_window
    start = time.perf_counter()
    weight_sums, update_sums = _sweep_kernel(
        coordinate_keys(seed, np.arange(n)),
        Betas.of(beta1, beta2, np.dtype(np.float64)).array(),
        *inverse_bias_corrections(beta1, beta2, steps),
        eps,
        grad_mean,
        grad_std,
        np.array([v.lr for v in variants], dtype=np.float64),
        np.array([v.weight_decay for v in variants], dtype=np.float64),
        np.array([v.bias_correction for v in variants], dtype=np.bool_),
        np.array([v.init_rms for v in variants], dtype=np.float64),
        record,
        steps - window + 1,
        ZIGGURAT,
    )
    elapsed = time.perf_counter() - start
    totals = weight_sums.sum(axis=0)
    weight_rms, weight_se = rms_with_se(totals[..., 0], totals[..., 1], n)
    updates = update_sums.sum(axis=0)
    update = {}
    for flag in (False, True):
        rms, se = rms_with_se(updates[int(flag), 0], updates[int(flag), 1], n)
        update[flag] = (float(rms), float(se))
    return SweepResult(
        variants=tuple(variants),
        steps=record,
        weight_rms=weight_rms,
        weight_rms_se=weight_se,
        update_rms=update,
        n=n,
        elapsed_s=elapsed,
    )
