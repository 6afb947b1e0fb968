r"""The measured weight RMS split into the terms the theory names, and AdamW's iid values of each.

Summing the monitor's per-step identity along the run (:math:`P_{k,t} = \prod_{j=k+1}^t
\beta_{3,j}`):

.. math:: \rho_t = \underbrace{P_{0,t}^2\rho_0}_{I_t}
   + \underbrace{\sum_k P_{k,t}^2\,\eta_k^2\langle u_k^2\rangle}_{D_t}
   + \underbrace{\sum_k P_{k,t}^2\,(-2\beta_{3,k}\eta_k\langle\theta_{k-1},u_k\rangle)}_{C_t}

— the initialisation still remembered, the drive of the update's size, and what the updates'
correlation with the weights (that is, with the earlier updates and with :math:`\theta_0`)
adds. Each is accumulated from its own measured statistic; their sum meeting the measured
:math:`\rho_t` is a test of the record, not an assumption.

AdamW's iid mean field (eq. theta-rms, zero-mean gradients, :math:`u = m/\sigma` with
:math:`m` the EMA of the gradients, no bias correction) has the same three terms:
:math:`E[u_k^2] = (1-\beta_1)^2(1-\beta_1^{2k})/(1-\beta_1^2)`, and since
:math:`E[u_l u_k] = \beta_1^{k-l}E[u_l^2]` for :math:`l < k`,
:math:`E\langle\theta_{k-1},u_k\rangle = -\beta_1 h_{k-1}` with
:math:`h_k = \beta_1\beta_{3,k}h_{k-1} + \eta_k E[u_k^2]`.
"""

from __future__ import annotations

import numpy as np

from ..estimators.schedules import linear_recurrence
from .history import RunHistory

__all__ = ["iid_terms", "measured_terms", "recurrence", "update_statistics"]


def recurrence(factor: np.ndarray, term: np.ndarray, start: np.ndarray | float = 0.0):
    """:math:`x_t = a_t x_{t-1} + b_t` column by column for ``(T, n)`` arrays."""
    term = np.asarray(term, dtype=np.float64)
    start = np.broadcast_to(np.asarray(start, dtype=np.float64), term.shape[1:])
    factor = np.broadcast_to(factor, term.shape)
    out = np.empty_like(term)
    for column in range(term.shape[1]):
        out[:, column] = linear_recurrence(factor[:, column], term[:, column], start[column])
    return out


def update_statistics(history: RunHistory) -> dict[str, np.ndarray]:
    r"""Per sampled step ``(S, n)``: :math:`\langle u^2\rangle`, :math:`\langle\theta_{t-1},u
    \rangle`, :math:`\rho_{t-1}`, :math:`\rho_t` and the step's :math:`\eta`, :math:`\beta_3`
    (0 and 1 where the tensor was skipped or ``lr`` was 0: no update to divide by)."""
    means = history.sample_means()
    rows = history.sampled - 1
    lr = history.step_lr()[rows]
    safe = np.where(lr > 0, lr, 1.0)
    return {
        "update_sq": np.where(lr > 0, means["drive_sq"] / safe**2, 0.0),
        "theta_dot_update": np.where(lr > 0, means["theta_dot_step"] / safe, 0.0),
        "rho_before": means["rho_before"],
        "rho_after": means["rho_after"],
        "lr": lr,
        "decay_factor": history.decay_factor()[rows],
    }


def measured_terms(history: RunHistory) -> dict[str, np.ndarray]:
    """``init``, ``drive``, ``correlation`` (each ``(T, n)``, every step) and ``rho`` at the
    sampled steps ``(S, n)``.

    With ``every > 1`` a sample's :math:`\\langle u^2\\rangle` and
    :math:`\\langle\\theta,u\\rangle` stand for the steps up to the next sample (each with its
    own :math:`\\eta_t`, :math:`\\beta_{3,t}`); with ``every = 1`` nothing is held.
    """
    stats = update_statistics(history)
    lr = history.step_lr()
    decay = history.decay_factor()
    update_sq = history.held_per_step(stats["update_sq"])
    theta_dot_update = history.held_per_step(stats["theta_dot_update"])
    square = decay**2
    rho0 = stats["rho_before"][0] if len(history.sampled) else np.zeros(lr.shape[1])
    return {
        "init": recurrence(square, np.zeros_like(lr), rho0),
        "drive": recurrence(square, lr**2 * update_sq),
        "correlation": recurrence(square, -2 * decay * lr * theta_dot_update),
        "rho": stats["rho_after"],
    }


def iid_update_sq(history: RunHistory) -> np.ndarray:
    """``(T, n)``: AdamW's mean-field :math:`E[u_t^2]` (counting each tensor's own steps)."""
    beta1 = np.array([rule.beta1 for rule in history.rules])[history.group]
    count = history.first_step + np.cumsum(~history.skipped, axis=0)
    ema_sq = np.exp(2 * count * np.log(np.where(beta1 > 0, beta1, 1.0)))
    ema_sq = np.where(beta1 > 0, ema_sq, 0.0)
    return (1 - beta1) ** 2 * (1 - ema_sq) / (1 - beta1**2)


def iid_terms(history: RunHistory) -> dict[str, np.ndarray]:
    """AdamW's iid ``drive`` and ``correlation`` ``(T, n)`` for the recorded schedule (the
    ``init`` term is the measured one: the same :math:`\\theta_0`)."""
    beta1 = np.array([rule.beta1 for rule in history.rules])[history.group]
    lr = history.step_lr()
    decay = history.decay_factor()
    expected = np.where(history.skipped, 0.0, iid_update_sq(history))
    drive = recurrence(decay**2, lr**2 * expected)
    memory = recurrence(beta1 * decay, lr * expected)  # h_t
    previous = np.vstack([np.zeros((1, lr.shape[1])), memory[:-1]])
    correlation = recurrence(decay**2, 2 * decay * lr * beta1 * previous)
    return {"drive": drive, "correlation": correlation}
