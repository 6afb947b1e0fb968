"""The derived formulas as fast, validated numeric functions (no SymPy at import time).

Every function evaluates kernels that ``adamw-rms derive`` printed from the derivations
(:mod:`adamw_rms.estimators._generated`), broadcasts over NumPy arrays (scalars in, Python floats
out), validates its input, and can evaluate in arbitrary precision with ``backend="mpmath"``.
Two exceptions: :func:`muon_weight_rms` has no SymPy derivation (its lag sum and update mean
square are checked numerically, its output correlation is measured; no mpmath backend), and
:func:`lion_weight_rms` sums its settled lags with the orthant (Hermite) series of the derived
sign-pair moment, tested against the derived quadrature.

Other optimizers (issue 17): :func:`sgd_weight_rms` (``torch.optim.SGD``, or SGDW; exact),
:func:`lion_weight_rms` (exact), :func:`adam_l2_weight_rms` (``torch.optim.Adam`` with
``weight_decay``; mean field) and :func:`muon_weight_rms` (``torch.optim.Muon``); weight-decay
conventions of other libraries: :func:`decay_per_step`, :func:`pytorch_weight_decay`.

Arguments: ``lr`` and ``weight_decay`` come first and may be positional; everything after them
is keyword-only (``weight_rms(3e-4, 0.1, steps=10_000)``), so a count of steps can never land
in ``beta1``'s place. (:func:`update_rms` takes ``beta1`` first, the solvers ``target_rms``
first, then ``lr``.) Inputs must be real numbers or arrays of them: a string, bytes, a bool or
``None`` raises ``TypeError`` naming the parameter, a value out of range ``ValueError``;
``steps`` must be a whole number (``100`` or ``100.0``, not ``100.5``) or ``inf``.

Weight-decay convention (PyTorch's ``torch.optim.AdamW`` and the source):
``theta <- theta - lr * (u + weight_decay * theta)``, i.e. the decay per step is
``lr * weight_decay`` and ``beta3 = 1 - lr * weight_decay``.

Accuracy: by default these are the source's mean-field estimates (iid Gaussian gradients,
``eps -> 0``, no ``beta2``). ``formula="corrected"`` (:func:`weight_rms`, :func:`update_rms`,
:func:`equilibrium_weight_rms`, :func:`solve_weight_decay`; ``method="corrected"`` for
:func:`weight_rms_trajectory`) goes beyond the mean field -- ``beta2``, Adam's bias correction
and ``eps`` included (derivation ``corrected``) -- and is within 0.5% plus two standard errors
of simulated AdamW at every grid point from 0.3 timescales (1.5% before); what remains is its
dropped order, largest at ``beta2 = 0.95`` (about -0.3%). Every error is measured, not
assumed: ``make accuracy`` runs a grid of settings (``docs/accuracy.md``; every point in
``adamw_rms/data/accuracy.csv``) and each docstring below quotes its formula's measured range
of ``predicted / simulated - 1``.

Schedules: :func:`weight_rms_trajectory` with its default ``method="mean_field"`` (within 0.7%
of simulation on the schedule study); :func:`schedule_weight_rms` is the single-epoch closed
form, high after a decay, and warns (:class:`adamw_rms.AccuracyWarning`) where it is far off.
"""

from __future__ import annotations

from .adam_l2 import adam_l2_weight_rms
from .adamw import (
    equilibrium_weight_rms,
    lambdify_result,
    timescale,
    update_rms,
    weight_rms,
    weight_rms_large_snr,
    weight_rms_quick,
)
from .conventions import DECAY_CONVENTIONS, decay_per_step, pytorch_weight_decay
from .lion import lion_bound, lion_weight_rms
from .muon import muon_weight_rms
from .schedules import schedule_weight_rms, weight_rms_trajectory
from .sgd import sgd_weight_rms
from .sign_sgdm import sign_sgdm_weight_rms
from .solve import solve_schedule_weight_decay, solve_weight_decay

__all__ = [
    "DECAY_CONVENTIONS",
    "adam_l2_weight_rms",
    "decay_per_step",
    "equilibrium_weight_rms",
    "lambdify_result",
    "lion_bound",
    "lion_weight_rms",
    "muon_weight_rms",
    "pytorch_weight_decay",
    "schedule_weight_rms",
    "sgd_weight_rms",
    "sign_sgdm_weight_rms",
    "solve_schedule_weight_decay",
    "solve_weight_decay",
    "timescale",
    "update_rms",
    "weight_rms",
    "weight_rms_large_snr",
    "weight_rms_quick",
    "weight_rms_trajectory",
]
