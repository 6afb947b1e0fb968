"""SignSGDMW: the arcsine lemma, the estimators against mpmath and the derivation, and both
formulas against simulation (the corrected one within its band, the source's pinned as wrong)."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from adamw_rms import symbols as S
from adamw_rms.checks import _numeric_series
from adamw_rms.comparison import formula
from adamw_rms.estimators import sign_sgdm_weight_rms
from adamw_rms.estimators.sign_sgdm import truncation_bound
from adamw_rms.simulation import SimulationConfig, simulate
from adamw_rms.steps import derivation

SE_MULTIPLIER = 4.0


@pytest.fixture(scope="module")
def sign():
    return derivation("sign_sgdm")


# --- the lemmas, by simulation ------------------------------------------------------------------


@pytest.mark.parametrize("correlation", [-0.5, 0.3, 0.8, 0.95])
def test_arcsine_law_by_sampling(correlation, sign):
    rng = np.random.default_rng(int(abs(correlation) * 1000))
    n = 400_000
    x = rng.standard_normal(n)
    y = correlation * x + math.sqrt(1 - correlation**2) * rng.standard_normal(n)
    products = np.sign(x) * np.sign(y)
    law = float(sign.step("arcsine_law").rhs.subs(S.corr, correlation))
    se = products.std() / math.sqrt(n)
    assert abs(products.mean() - law) < SE_MULTIPLIER * se
    # ... and the mean field's guess, the correlation itself, is rejected where it differs.
    if abs(correlation) < 0.99:
        assert abs(products.mean() - correlation) > SE_MULTIPLIER * se


@pytest.mark.parametrize(("shift", "correlation"), [(0.7, 0.6), (1.5, 0.9)])
def test_sign_covariance_and_mean_by_sampling(shift, correlation, sign):
    rng = np.random.default_rng(17)
    n = 400_000
    x = shift + rng.standard_normal(n)
    y = shift + correlation * (x - shift) + math.sqrt(1 - correlation**2) * rng.standard_normal(n)
    mean = float(sign.step("sign_mean").rhs.subs(S.shift, shift))
    assert abs(np.sign(x).mean() - mean) < SE_MULTIPLIER * np.sign(x).std() / math.sqrt(n)
    covariance = float(
        sp.N(sign.step("sign_covariance").rhs.subs({S.shift: shift, S.corr: correlation}))
    )
    centred = (np.sign(x) - mean) * (np.sign(y) - mean)
    assert abs(centred.mean() - covariance) < SE_MULTIPLIER * centred.std() / math.sqrt(n)


# --- the estimator against the derivation and mpmath -----------------------------------------


@pytest.mark.parametrize(
    ("lr", "weight_decay", "beta1", "steps", "snr", "init_rms"),
    [
        (0.01, 5.0, 0.9, 40, 0.0, 0.3),
        (0.02, 3.0, 0.5, 25, 0.4, 0.0),
        (0.01, 10.0, 0.95, math.inf, 0.0, 0.0),
        (0.01, 10.0, 0.8, math.inf, 0.3, 0.0),
    ],
)
def test_arcsine_estimator_equals_the_derived_expression(
    lr, weight_decay, beta1, steps, snr, init_rms, sign
):
    step_id = (
        "theta_rms_arcsine_general" if math.isfinite(steps) else ("theta_rms_arcsine_general_limit")
    )
    point = {
        S.eta: sp.nsimplify(lr),
        S.lam: sp.nsimplify(weight_decay),
        S.beta1: sp.nsimplify(beta1),
        S.snr: sp.nsimplify(snr),
        S.rho0: sp.nsimplify(init_rms) ** 2,
        S.beta3: 1 - sp.nsimplify(lr) * sp.nsimplify(weight_decay),
    }
    if math.isfinite(steps):
        point[S.t] = sp.Integer(int(steps))
    expected = math.sqrt(float(_numeric_series(sign.step(step_id).rhs, point, 25)))
    got = sign_sgdm_weight_rms(
        lr, weight_decay, beta1=beta1, steps=steps, snr=snr, init_rms=init_rms
    )
    assert got == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("formula_name", ["arcsine", "source"])
def test_numpy_and_mpmath_backends_agree(formula_name):
    cases = [
        (1e-3, 0.1, 0.9, math.inf, 0.0, 0.0),
        (1e-3, 0.1, 0.95, 3000, 0.5, 0.1),
        (1e-3, 0.0, 0.9, 500, 0.0, 0.05),
        (1e-2, 1.0, 0.0, 200, 2.0, 0.0),
    ]
    names = ("beta1", "steps", "snr", "init_rms")  # keyword-only after (lr, weight_decay)
    for lr, weight_decay, *rest in cases:
        keywords = dict(zip(names, rest, strict=True), formula=formula_name)
        fast = sign_sgdm_weight_rms(lr, weight_decay, **keywords)
        with mpmath.workdps(30):
            slow = sign_sgdm_weight_rms(lr, weight_decay, **keywords, backend="mpmath")
        assert fast == pytest.approx(float(slow), rel=1e-12), (lr, weight_decay, *rest)


def test_truncation_bound_holds_against_mpmath():
    # The series terms after K, summed in mpmath, never exceed the stated bound.
    lr, weight_decay, beta1 = 1e-3, 1.0, 0.9
    q, beta3 = lr * weight_decay, 1 - lr * weight_decay
    with mpmath.workdps(40):

        def term(k):
            weight = beta3**k / q  # r_inf
            return 2 * weight / (2 - q) * 2 / mpmath.pi * mpmath.asin(mpmath.mpf(beta1) ** k)

        for terms in (5, 20, 80):
            tail = mpmath.nsum(term, [terms + 1, mpmath.inf])
            bound = truncation_bound(lr, weight_decay, beta1=beta1, steps=math.inf, terms=terms)
            assert 0 < tail <= bound
            assert bound < 3 * tail  # and it is not vacuous


def test_no_momentum_is_the_adamw_equilibrium_to_first_order():
    # beta1 = 0: sign updates are independent, and both formulas give eta/(2 lambda) to O(eta
    # lambda); the corrected one is exact in beta3: eta / (lambda (2 - eta lambda)).
    lr, weight_decay = 1e-3, 0.1
    arcsine = sign_sgdm_weight_rms(lr, weight_decay, beta1=0.0)
    assert arcsine**2 == pytest.approx(lr / (weight_decay * (2 - lr * weight_decay)), rel=1e-13)
    source = sign_sgdm_weight_rms(lr, weight_decay, beta1=0.0, formula="source")
    assert source == pytest.approx(math.sqrt(lr / (2 * weight_decay)), rel=1e-13)


def test_source_over_predicts_by_the_autocorrelation_factor():
    # At SNR = 0 and t -> inf: source^2 = eta/(2 lambda) (1+b1)/(1-b1), while the lag sum is
    # eta/(lambda (2 - q)) (1 + (4/pi) sum_k beta3^k asin(b1^k)), q = eta lambda.
    lr, weight_decay = 1e-5, 0.1
    q = lr * weight_decay
    for beta1 in (0.5, 0.9, 0.95):
        lags = sum((1 - q) ** k * math.asin(beta1**k) for k in range(1, 5000))
        expected = (1 + beta1) / (1 - beta1) * (2 - q) / 2 / (1 + 4 / math.pi * lags)
        source = sign_sgdm_weight_rms(lr, weight_decay, beta1=beta1, formula="source")
        arcsine = sign_sgdm_weight_rms(lr, weight_decay, beta1=beta1)
        assert (source / arcsine) ** 2 == pytest.approx(expected, rel=1e-12)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="formula must be one of"):
        sign_sgdm_weight_rms(1e-3, 0.1, formula="mean-field")
    with pytest.raises(ValueError, match="beta1 must be in"):
        sign_sgdm_weight_rms(1e-3, 0.1, beta1=1.0)
    with pytest.raises(ValueError, match="whole number"):
        sign_sgdm_weight_rms(1e-3, 0.1, steps=10.5)
    with pytest.raises(ValueError, match="snr must be in"):
        sign_sgdm_weight_rms(1e-3, 0.1, snr=-1.0)
    assert sign_sgdm_weight_rms(1e-3, 0.0) == math.inf  # no decay, infinitely many steps


def test_broadcasting():
    out = sign_sgdm_weight_rms([1e-3, 2e-3], 0.1, beta1=[[0.5], [0.9]], steps=[100, math.inf])
    assert out.shape == (2, 2)
    assert out[1, 1] == sign_sgdm_weight_rms(2e-3, 0.1, beta1=0.9)


# --- both formulas against simulation -----------------------------------------------------------


@pytest.fixture(scope="module")
def steady_runs():
    runs = {}
    for beta1 in (0.0, 0.5, 0.9, 0.95):
        config = SimulationConfig(
            lr=1e-3, weight_decay=1.0, beta1=beta1, steps=10_000, n=16_384,
            update="sign_sgdm", seed=int(beta1 * 100) + 1, record_steps=(1000, 10_000),
        )  # fmt: skip
        runs[beta1] = simulate(config, engine="numba")
    return runs


def _relative(predicted: float, result, step: int) -> tuple[float, float]:
    simulated, se = result.at(step)
    return predicted / simulated - 1, se / simulated


@pytest.mark.parametrize("beta1", [0.0, 0.5, 0.9, 0.95])
@pytest.mark.parametrize("step", [1000, 10_000])
def test_arcsine_formula_within_its_band(beta1, step, steady_runs):
    result = steady_runs[beta1]
    band = formula("sign_arcsine").band(result.config, step)
    assert band is not None and not band.extrapolated
    error, rel_se = _relative(
        sign_sgdm_weight_rms(1e-3, 1.0, beta1=beta1, steps=step), result, step
    )
    margin = SE_MULTIPLIER * rel_se
    assert band.low - margin <= error <= band.high + margin
    # The measured band (grid errors +- 4 grid SE) contains 0: no systematic error is resolved.
    assert band.low < 0 < band.high


@pytest.mark.parametrize("beta1", [0.5, 0.9, 0.95])
def test_source_formula_pinned_as_wrong(beta1, steady_runs):
    result = steady_runs[beta1]
    step = 10_000
    band = formula("sign_source").band(result.config, step)
    error, rel_se = _relative(
        sign_sgdm_weight_rms(1e-3, 1.0, beta1=beta1, steps=step, formula="source"), result, step
    )
    margin = SE_MULTIPLIER * rel_se
    assert band.low - margin <= error <= band.high + margin
    assert error > 0.10  # not a percent-level effect: +14% at beta1 = 0.5, about +20% above


def test_both_formulas_coincide_without_momentum(steady_runs):
    result = steady_runs[0.0]
    arcsine = sign_sgdm_weight_rms(1e-3, 1.0, beta1=0.0, steps=10_000)
    source = sign_sgdm_weight_rms(1e-3, 1.0, beta1=0.0, steps=10_000, formula="source")
    assert source / arcsine - 1 == pytest.approx(0.0, abs=1e-3)  # O(lr * weight_decay)
    simulated, se = result.at(10_000)
    assert abs(source - simulated) < SE_MULTIPLIER * se + 1e-3 * simulated


def test_numpy_engine_agrees_with_the_arcsine_formula():
    config = SimulationConfig(
        lr=1e-3, weight_decay=1.0, beta1=0.9, steps=4000, n=4000, update="sign_sgdm", seed=3,
        record_steps=(4000,),
    )  # fmt: skip
    result = simulate(config, engine="numpy", random_source="counter")
    error, rel_se = _relative(sign_sgdm_weight_rms(1e-3, 1.0, beta1=0.9, steps=4000), result, 4000)
    band = formula("sign_arcsine").band(config, 4000)
    margin = SE_MULTIPLIER * rel_se
    assert band.low - margin <= error <= band.high + margin
