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
:math:`m` the EMA of the gradients) has the same three terms, with
:math:`E[m_k^2] = (1-\beta_1)^2(1-\beta_1^{2k})/(1-\beta_1^2)` and, since
:math:`E[m_l m_k] = \beta_1^{k-l}E[m_l^2]` for :math:`l < k`, a cross term that is a linear
recursion (:func:`iid_terms`). The report adds Adam's bias correction of :math:`m`, which the
source's equation leaves out and torch's AdamW applies; it matters in the first steps only.
"""

from __future__ import annotations

import numpy as np

from ..estimators.schedules import linear_recurrence
from .history import RunHistory

__all__ = [
    "balance",
    "iid_terms",
    "measured_terms",
    "recurrence",
    "sampled_drive",
    "update_statistics",
]


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


def _momentum_moments(history: RunHistory) -> tuple[np.ndarray, np.ndarray]:
    r"""``(T, n)``: :math:`E[m_t^2]` (unit gradient variance) and the bias correction
    :math:`c_t = 1 - \beta_1^{t}`, counting each tensor's own steps (from the optimizer's)."""
    beta1 = history.per_rule("beta1")
    count = history.first_step + np.cumsum(~history.skipped, axis=0)
    log_beta1 = np.log(np.where(beta1 > 0, beta1, 1.0))
    power = np.where(beta1 > 0, np.exp(count * log_beta1), 0.0)  # beta1 ** count
    momentum_sq = (1 - beta1) ** 2 * (1 - power**2) / (1 - beta1**2)
    # Before a tensor's first step c = 0; nothing divides by it there (E[m^2] = 0 too).
    correction = np.where(count > 0, 1 - power, 1.0)
    return momentum_sq, correction


def iid_update_sq(history: RunHistory, *, bias_correction: bool = True) -> np.ndarray:
    r"""``(T, n)``: AdamW's mean-field :math:`E[u_t^2] = E[m_t^2]/c_t^2` (:math:`c_t = 1` without
    bias correction)."""
    momentum_sq, correction = _momentum_moments(history)
    return momentum_sq / correction**2 if bias_correction else momentum_sq


def iid_terms(history: RunHistory, *, bias_correction: bool = True) -> dict[str, np.ndarray]:
    r"""AdamW's iid ``drive`` and ``correlation`` ``(T, n)`` for the recorded schedule (the
    ``init`` term is the measured one: the same :math:`\theta_0`).

    With Adam's bias correction (the default; torch's AdamW applies it) the update is
    :math:`u_t = m_t/(c_t\sigma)`, so :math:`E[u_l u_k] = \beta_1^{k-l}E[m_l^2]/(c_l c_k)` and
    :math:`E\langle\theta_{k-1},u_k\rangle = -(\beta_1/c_k)\,h_{k-1}` with
    :math:`h_k = \beta_1\beta_{3,k}h_{k-1} + \eta_k E[m_k^2]/c_k`. ``bias_correction=False``
    is eq. theta-rms as the source writes it (:math:`c = 1`); the two differ only in the first
    few :math:`1/(1-\beta_1)` steps and in what those steps leave behind.
    """
    beta1 = history.per_rule("beta1")
    lr = history.step_lr()
    decay = history.decay_factor()
    momentum_sq, correction = _momentum_moments(history)
    if not bias_correction:
        correction = np.ones_like(correction)
    active = ~history.skipped
    drive = recurrence(decay**2, np.where(active, lr**2 * momentum_sq / correction**2, 0.0))
    # The momentum does not move at a step its tensor skips (no grad): the memory is kept.
    memory = recurrence(
        np.where(active, beta1 * decay, 1.0), np.where(active, lr * momentum_sq / correction, 0.0)
    )
    previous = np.vstack([np.zeros((1, lr.shape[1])), memory[:-1]])
    correlation = recurrence(decay**2, 2 * decay * lr * beta1 * previous / correction)
    return {"drive": drive, "correlation": correlation}


def sampled_drive(history: RunHistory) -> np.ndarray:
    r"""``(S, n)``: the measured drive of each sampled step,
    :math:`q_t = \eta_t^2\langle u_t^2\rangle - 2\beta_{3,t}\eta_t\langle\theta_{t-1},u_t
    \rangle`, straight from the recorded sums of :math:`d = \eta_t u_t` (0 at a skipped
    step, where :math:`d = 0`)."""
    means = history.sample_means()
    decay = history.decay_factor()[history.sampled - 1]
    return means["drive_sq"] - 2 * decay * means["theta_dot_step"]


#: The trailing window of :func:`balance`: this fraction of the samples so far, at least
#: :data:`BALANCE_MIN_SAMPLES` of them.
BALANCE_WINDOW = 0.1
BALANCE_MIN_SAMPLES = 20


def balance(history: RunHistory) -> np.ndarray:
    r"""``(S, n)``: how far each tensor sits from its equilibrium at each sampled step.

    The ratio of what the updates add to what the decay removes, over a trailing window
    (:data:`BALANCE_WINDOW` of the samples so far, at least :data:`BALANCE_MIN_SAMPLES`):
    :math:`\sum q_t / \sum (1-\beta_{3,t}^2)\rho_{t-1}` with
    :math:`q_t = \eta_t^2\langle u_t^2\rangle - 2\beta_{3,t}\eta_t\langle\theta_{t-1},u_t\rangle`.
    1 at equilibrium; below 1 the norm is shrinking toward it, above 1 growing. NaN where
    nothing is decayed (coupled L2 decay: :math:`\beta_3 = 1`; or no decay).
    """
    stats = update_statistics(history)
    drive = sampled_drive(history)
    loss = (1 - stats["decay_factor"] ** 2) * stats["rho_before"]
    samples = drive.shape[0]
    index = np.arange(1, samples + 1)
    start = np.maximum(
        index - np.maximum(BALANCE_MIN_SAMPLES, (BALANCE_WINDOW * index).astype(int)), 0
    )
    zero = np.zeros((1, drive.shape[1]))
    drive_sum = np.vstack([zero, np.cumsum(drive, axis=0)])
    loss_sum = np.vstack([zero, np.cumsum(loss, axis=0)])
    added = drive_sum[index] - drive_sum[start]
    removed = loss_sum[index] - loss_sum[start]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(removed > 0, added / removed, np.nan)
