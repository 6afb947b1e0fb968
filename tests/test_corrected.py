"""The corrected formulas (derivation ``corrected``): estimators, their two backends, and
simulated AdamW.

The simulation tolerance is the measured accuracy of the formula (0.5% from 0.3 timescales,
docs/accuracy.md) plus 3 standard errors of the control-variate estimate.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from adamw_rms import update_rms, weight_rms, weight_rms_trajectory
from adamw_rms.checks import stationary_update_moments
from adamw_rms.estimators.corrected import (
    constant_weight_rms_sq,
    corrected_trajectory,
    settling_steps,
)


def brute_force_weight_rms_sq(lr, step_decay, steps, **kwargs):
    """E[theta_t^2] by the double sum of step ``corrected.weight_second_moment_schedule``
    (per-step lr and lr*wd arrays; the constant case is ``weight_second_moment``), summed
    directly over every pair of steps from the per-step kernels (O(steps^2))."""
    from adamw_rms.estimators import _generated as K
    from adamw_rms.estimators.corrected import LAG_TERMS

    args = (
        kwargs["beta1"],
        kwargs["beta2"],
        kwargs["snr"],
        kwargs["eps_ratio"],
        float(kwargs["bias"]),
    )
    s = np.arange(1, steps + 1, dtype=float)
    mean = K.corrected_update_mean_numpy(*args, s)
    keep = 1 - step_decay[:steps]
    # eta_s prod_{q = s+1..t} (1 - lr_q wd_q), s = 1..t
    weights = lr[:steps] * np.array([np.prod(keep[j + 1 :]) for j in range(steps)])
    total = (weights @ mean) ** 2
    for n in range(LAG_TERMS):
        x = getattr(K, f"corrected_lag_early_{n}_numpy")(*args, s)
        y = getattr(K, f"corrected_lag_late_{n}_numpy")(*args, s)
        ratio = float(getattr(K, f"corrected_lag_ratio_{n}_numpy")(*args[:2]))
        lag = np.subtract.outer(s, s)  # r - s
        cov = np.where(lag >= 0, np.outer(y, x) * ratio ** np.abs(lag), 0.0)
        cov = cov + np.triu(cov.T, 1)  # symmetric: Cov[u_s, u_r] = Cov[u_r, u_s]
        total += weights @ cov @ weights
    return total + kwargs["init_rms"] ** 2 * np.prod(keep) ** 2


CASES = [
    dict(beta1=0.9, beta2=0.95, snr=0.0, eps_ratio=0.0, bias=True, init_rms=0.0),
    dict(beta1=0.0, beta2=0.999, snr=1.0, eps_ratio=0.0, bias=False, init_rms=0.1),
    dict(beta1=0.5, beta2=0.99, snr=10.0, eps_ratio=0.3, bias=True, init_rms=0.05),
]


@pytest.mark.parametrize("case", CASES)
def test_recursions_sum_the_double_sum(case):
    """The O(T) recursions equal the O(T^2) double sum of weight_second_moment."""
    lr, step_decay = np.full(60, 0.05), np.full(60, 0.05 * 0.3)
    got = corrected_trajectory(lr, step_decay, **case)
    expected = [brute_force_weight_rms_sq(lr, step_decay, t, **case) for t in (1, 7, 60)]
    np.testing.assert_allclose(got[[0, 6, 59]], expected, rtol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_recursions_sum_the_double_sum_along_a_schedule(case):
    """Per-step lr_t and decay 1 - lr_t wd_t (step weight_second_moment_schedule): the O(T)
    recursions against the double sum with products of the decay factors."""
    rng = np.random.default_rng(7)
    steps = 40
    lr = rng.uniform(0.01, 0.08, steps)
    decay = lr * rng.uniform(0.0, 3.0, steps)
    got = corrected_trajectory(lr, decay, **case)
    for t in (1, 13, steps):
        assert got[t - 1] == pytest.approx(
            brute_force_weight_rms_sq(lr, decay, t, **case), rel=1e-12
        )


def test_schedule_of_constant_rates_is_the_constant_estimator():
    rates = np.full(500, 1e-2)
    trajectory = weight_rms_trajectory(rates, 0.1, method="corrected", beta2=0.95, init_rms=0.1)
    direct = weight_rms(1e-2, 0.1, steps=500, formula="corrected", beta2=0.95, init_rms=0.1)
    assert trajectory[-1] == pytest.approx(direct, rel=1e-12)


def test_small_beta2_warns():
    from adamw_rms import AccuracyWarning

    with pytest.warns(AccuracyWarning, match="beta2"):
        update_rms(0.9, formula="corrected", beta2=0.5)


@pytest.mark.parametrize("case", CASES)
def test_settled_tail_and_stationary_form(case):
    """Past the transient the closed-form tail continues the recursion; steps=inf is the
    stationary closed form (kernel corrected_weight_rms_sq) to rounding."""
    lr, decay = 1e-2, 0.5
    settled = settling_steps(case["beta1"], case["beta2"])
    run = settled + 2000
    direct = corrected_trajectory(np.full(run, lr), np.full(run, lr * decay), **case)
    tail = constant_weight_rms_sq(lr, decay, run, **case)
    assert tail == pytest.approx(direct[-1], rel=1e-10)
    rms = weight_rms(
        lr,
        decay,
        beta1=case["beta1"],
        snr=case["snr"],
        formula="corrected",
        beta2=case["beta2"],
        bias_correction=case["bias"],
        eps=case["eps_ratio"],
        steps=10**9,
    )
    stationary = weight_rms(
        lr,
        decay,
        beta1=case["beta1"],
        snr=case["snr"],
        formula="corrected",
        beta2=case["beta2"],
        eps=case["eps_ratio"],
    )
    assert rms == pytest.approx(stationary, rel=1e-10)


@pytest.mark.parametrize("beta2", [0.95, 0.99])
@pytest.mark.parametrize("snr", [0.0, 1.0])
def test_update_rms_against_exact_quadrature(beta2, snr):
    """The corrected stationary update RMS against the exact Laplace-transform quadrature:
    within 2.3 (1 - beta2)^2 in the mean square (the mean field is off by O(1 - beta2))."""
    _, exact = stationary_update_moments(0.9, beta2, math.sqrt(snr), 0)
    corrected = update_rms(0.9, snr=snr, formula="corrected", beta2=beta2, eps=0.0)
    mean_field = update_rms(0.9, snr=snr)
    assert abs(corrected**2 / exact - 1) <= 2.3 * (1 - beta2) ** 2
    assert abs(mean_field**2 / exact - 1) > 10 * abs(corrected**2 / exact - 1)


def test_defaults_are_pytorch_and_mean_field_unchanged():
    assert weight_rms(1e-3, 0.1) == pytest.approx(math.sqrt(1e-3 / 0.2))
    # PyTorch's defaults: beta2 = 0.999, bias correction on, eps = 1e-8 at grad_std 1.
    explicit = weight_rms(
        1e-3,
        0.1,
        formula="corrected",
        beta2=0.999,
        bias_correction=True,
        eps=1e-8,
        grad_std=1.0,
        steps=5000,
    )
    assert weight_rms(1e-3, 0.1, formula="corrected", steps=5000) == explicit


def test_only_eps_over_grad_std_matters():
    a = weight_rms(1e-2, 0.1, formula="corrected", eps=1e-8, grad_std=1e-7, steps=3000)
    b = weight_rms(1e-2, 0.1, formula="corrected", eps=0.1, grad_std=1.0, steps=3000)
    assert a == pytest.approx(b, rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(formula="exact"), "formula must be one of"),
        (dict(formula="corrected", beta2=1.0), "beta2"),
        (dict(formula="corrected", eps=-1.0), "eps"),
        (dict(formula="corrected", grad_std=0.0), "grad_std"),
        (dict(formula="corrected", snr=1e200), "snr"),
        (dict(formula="corrected", eps=1e300, grad_std=1e-300), "eps / grad_std"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, message):
    with pytest.raises(ValueError, match=message):
        weight_rms(1e-3, 0.1, **kwargs)


def test_bias_correction_must_be_a_bool():
    with pytest.raises(TypeError, match="bias_correction"):
        weight_rms(1e-3, 0.1, formula="corrected", bias_correction=1)


EDGES = [
    dict(lr=0.0, weight_decay=0.1, init_rms=0.1),
    dict(lr=1e-3, weight_decay=0.0),
    dict(lr=1e-3, weight_decay=0.0, steps=50, init_rms=0.1),
    dict(lr=1e-2, weight_decay=0.1, steps=0, init_rms=0.3),
    dict(lr=1e-2, weight_decay=0.1, steps=25, snr=2.0, beta1=0.0, bias_correction=False),
    dict(lr=1e-2, weight_decay=0.1, beta1=0.95, beta2=0.9, eps=0.5, snr=0.1),
]


@pytest.mark.parametrize("case", EDGES)
def test_backends_agree(case):
    """NumPy and mpmath agree at the edges (lr = 0, no decay, steps 0 or inf)."""
    case = dict(case)
    lr, decay = case.pop("lr"), case.pop("weight_decay")
    a = weight_rms(lr, decay, formula="corrected", **case)
    b = float(weight_rms(lr, decay, formula="corrected", backend="mpmath", **case))
    assert a == b or a == pytest.approx(b, rel=1e-11)
    assert not math.isnan(a)


def test_against_simulated_adamw():
    """The sweep's control-variate estimate at 1 and 3 timescales, bias correction on and
    off (beta2 = 0.95, where the mean field is +1.6% off)."""
    from adamw_rms.simulation.sweep import Variant, sweep

    lr, decay = 2e-2, 0.5  # 1/(lr*decay) = 100 steps
    variants = [Variant(lr, decay, bias_correction=b) for b in (False, True)]
    result = sweep(
        variants, beta1=0.9, beta2=0.95, steps=300, n=4096, record_steps=(100, 300), seed=3
    )
    for row, variant in enumerate(variants):
        for column, step in enumerate((100, 300)):
            predicted = weight_rms(
                lr,
                decay,
                beta1=0.9,
                steps=step,
                formula="corrected",
                beta2=0.95,
                bias_correction=variant.bias_correction,
                eps=0.0,
            )
            simulated = result.precise_weight_rms[row][column]
            se = result.precise_weight_rms_se[row][column]
            assert abs(predicted - simulated) <= 0.005 * simulated + 3 * se
