"""The readable reference engine: one vectorised NumPy step at a time over all coordinates.

With :meth:`SimulationConfig.source` and ``random_source="numpy"`` this is the source's own
script, line for line (``np.random.RandomState(seed)``'s ``randn`` for ``theta_0`` and each
step's gradient; ``w - lr * (m / sqrt(v) + weight_decay * w)``). With
``random_source="counter"`` it draws the counter-based normals of
:mod:`adamw_rms.simulation.random`, i.e. exactly the numbers of the numba engine, for exact
comparisons.
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np

from .coefficients import step_coefficients
from .config import SimulationConfig
from .progress import progress_bar
from .random import coordinate_keys, normals
from .reference import (
    Betas,
    adamw_step,
    coupled_gradient,
    descent_step,
    lion_step,
    sgd_buffer_terms,
    sgd_step,
    sign_step,
    weight_step,
)
from .result import SimulationResult

__all__ = ["RANDOM_SOURCES", "run"]

RANDOM_SOURCES = ("numpy", "counter")


def run(
    config: SimulationConfig,
    *,
    random_source: Literal["numpy", "counter"] = "numpy",
    progress: bool | None = None,
) -> SimulationResult:
    """Simulate ``config`` step by step; O(n) memory.

    Parameters
    ----------
    random_source
        ``"numpy"``: ``np.random.RandomState(config.seed)``, drawn as the source's script draws;
        ``"counter"``: the counter-based normals shared with the numba engine.
    progress
        Show a progress bar (tqdm, if installed); ``None`` shows one on long runs in a terminal.
    """
    if random_source not in RANDOM_SOURCES:
        raise ValueError(f"random_source must be one of {RANDOM_SOURCES}; got {random_source!r}")
    dtype = np.dtype(config.dtype)
    n = config.n
    if random_source == "numpy":
        state = np.random.RandomState(config.seed)

        def standard_normal(step: int) -> np.ndarray:
            return state.standard_normal(n)
    else:
        keys = coordinate_keys(config.seed, np.arange(n))

        def standard_normal(step: int) -> np.ndarray:
            return normals(keys, step)

    coefficients = step_coefficients(config)
    record = set(config.record_steps)
    recorded: list[tuple[float, float]] = []
    start = time.perf_counter()
    weights = (standard_normal(0) * config.init_rms).astype(dtype, copy=False)
    if 0 in record:
        recorded.append(_moments(weights))
    momentum = np.zeros(n, dtype=dtype)
    second = np.zeros(n, dtype=dtype)
    update_sq_sum = np.zeros(n, dtype=np.float64)
    window_start = config.steps - config.update_window + 1
    betas = Betas.of(config.beta1, config.beta2, dtype)
    eps = dtype.type(config.eps)
    mean, std = config.grad_mean, config.grad_std
    rule = config.update
    buffer_decay, buffer_gain = sgd_buffer_terms(
        config.momentum, config.dampening, config.steps, dtype
    )
    sgd_momentum = dtype.type(config.momentum)
    decoupled = config.decoupled_decay
    # An overflow (e.g. from an enormous grad_std) gives inf: SimulationResult.from_sums then
    # raises OverflowError naming the step, so NumPy's warnings on the way would only repeat it.
    with (
        progress_bar(config, progress, "numpy engine") as bar,
        np.errstate(over="ignore", invalid="ignore"),
    ):
        for step in range(1, config.steps + 1):
            k = step - 1
            gradient = (mean + std * standard_normal(step)).astype(dtype, copy=False)
            lr, decay = dtype.type(coefficients.lr[k]), dtype.type(coefficients.weight_decay[k])
            if not decoupled:
                gradient = coupled_gradient(gradient, weights, decay)
            if rule == "sign_sgdm":
                momentum, update = sign_step(gradient, momentum, betas)
            elif rule == "lion":
                momentum, update = lion_step(gradient, momentum, betas)
            elif rule == "sgd":
                momentum, update = sgd_step(
                    gradient, momentum, buffer_decay[k], buffer_gain[k], sgd_momentum,
                    config.nesterov,
                )  # fmt: skip
            else:  # adamw, adam_l2
                momentum, second, update = adamw_step(
                    gradient,
                    momentum,
                    second,
                    betas,
                    dtype.type(coefficients.inverse_bias1[k]),
                    dtype.type(coefficients.inverse_bias2_sqrt[k]),
                    eps,
                )
            if decoupled:
                weights = weight_step(weights, update, lr, decay)
            else:
                weights = descent_step(weights, update, lr)
            if step >= window_start:
                update_sq_sum += np.square(update, dtype=np.float64)
            if step in record:
                recorded.append(_moments(weights))
            bar.update(1)
    elapsed = time.perf_counter() - start
    with np.errstate(over="ignore", invalid="ignore"):
        update_sums = _sums(update_sq_sum / config.update_window)
    info = {"random_source": random_source}
    return SimulationResult.from_sums(config, "numpy", recorded, update_sums, elapsed, info)


def _moments(weights: np.ndarray) -> tuple[float, float]:
    return _sums(np.square(weights, dtype=np.float64))


def _sums(values: np.ndarray) -> tuple[float, float]:
    """``(sum x, sum x²)`` over coordinates (one place, so a test can sum in another order)."""
    return float(values.sum()), float(np.square(values).sum())
