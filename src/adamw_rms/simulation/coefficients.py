"""Per-step coefficients shared by the NumPy and numba engines (computed once, in float64)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import SimulationConfig

__all__ = ["StepCoefficients", "inverse_bias_corrections", "step_coefficients"]


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


def inverse_bias_corrections(
    beta1: float, beta2: float, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """``1/(1 - beta1^t)`` and ``1/sqrt(1 - beta2^t)`` for ``t = 1..steps``.

    Formed as PyTorch forms them (``1 - beta ** step``), so engines agree with
    ``torch.optim.AdamW`` to rounding.
    """
    t = np.arange(1, steps + 1, dtype=np.float64)
    return 1.0 / (1.0 - beta1**t), 1.0 / np.sqrt(1.0 - beta2**t)


def step_coefficients(config: SimulationConfig) -> StepCoefficients:
    """``lr_t``, ``weight_decay_t`` and the inverse bias corrections (ones if off)."""
    if config.bias_correction:
        inverse1, inverse2_sqrt = inverse_bias_corrections(config.beta1, config.beta2, config.steps)
    else:
        inverse1, inverse2_sqrt = np.ones(config.steps), np.ones(config.steps)
    return StepCoefficients(
        lr=np.ascontiguousarray(config.lr_per_step()),
        weight_decay=np.ascontiguousarray(config.weight_decay_per_step()),
        inverse_bias1=inverse1,
        inverse_bias2_sqrt=inverse2_sqrt,
    )
