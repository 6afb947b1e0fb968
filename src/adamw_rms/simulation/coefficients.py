"""Per-step coefficients shared by the NumPy and numba engines (computed once, in float64)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import SimulationConfig

__all__ = ["StepCoefficients", "step_coefficients"]


@dataclass(frozen=True)
class StepCoefficients:
    """Arrays indexed by step - 1: learning rate, weight decay, Adam's inverse bias corrections.

    The engines form ``u = (m * inverse_bias1) / (sqrt(v) * inverse_bias2_sqrt + eps)``: one
    division per element, and without bias correction (inverses exactly 1) bit for bit the
    source's ``m / sqrt(v)``.
    """

    lr: np.ndarray
    weight_decay: np.ndarray
    inverse_bias1: np.ndarray
    inverse_bias2_sqrt: np.ndarray


def step_coefficients(config: SimulationConfig) -> StepCoefficients:
    """``lr_t``, ``weight_decay_t``, ``1/(1 - beta1^t)`` and ``1/sqrt(1 - beta2^t)`` (ones if off).

    The corrections are formed as PyTorch forms them (``1 - beta ** step``), so engines agree
    with ``torch.optim.AdamW`` to rounding.
    """
    steps = np.arange(1, config.steps + 1, dtype=np.float64)
    if config.bias_correction:
        bias1 = 1.0 - config.beta1**steps
        bias2_sqrt = np.sqrt(1.0 - config.beta2**steps)
    else:
        bias1 = np.ones(config.steps)
        bias2_sqrt = np.ones(config.steps)
    return StepCoefficients(
        lr=np.ascontiguousarray(config.lr_per_step()),
        weight_decay=np.ascontiguousarray(config.weight_decay_per_step()),
        inverse_bias1=1.0 / bias1,
        inverse_bias2_sqrt=1.0 / bias2_sqrt,
    )
