"""The checks added for SignSGDMW can fail, and wrong statements of its steps fail them."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from adamw_rms import symbols as S
from adamw_rms.checks import (
    EPSILON,
    BruteForce,
    Given,
    MeanFieldRewrite,
    NumericEqual,
    SequenceLimit,
    SignQuadrature,
    SmallParameter,
    SumInduction,
    resolve,
)
from adamw_rms.steps import derivation, run_check

b1, b3, t, i, k = S.beta1, S.beta3, S.t, S.i, S.k
E, X, Y, a, corr = S.Expect, S.pair_x, S.pair_y, S.shift, S.corr


@pytest.fixture(scope="module")
def sign():
    return derivation("sign_sgdm")


def test_resolve_runs_to_a_fixed_point():
    p, q, r = sp.symbols("p q r")
    assert resolve({p: q + 1, q: 2 * r, r: 3}, p) == 7


def test_sum_induction_proves_a_geometric_sum_and_rejects_a_wrong_one():
    left = E(S.v_bar[t])
    meaning = {left: sp.Sum(b3 ** (t - i) * i, (i, 1, t))}
    # sum_{i=1}^t b^(t-i) i = (b^(t+1) - (t+1) b + t) / (1 - b)^2
    right = (b3 ** (t + 1) - (t + 1) * b3 + t) / (1 - b3) ** 2
    assert SumInduction(left, right, i, meaning=meaning).run().passed
    assert not SumInduction(left, right + b3**t, i, meaning=meaning).run().passed
    # A left side that is not the expected quantity stays opaque: it fails.
    assert not SumInduction(E(S.v_bar[t]) ** 2, right, i, meaning=meaning).run().passed


def test_small_parameter_given_uses_the_meaning():
    exact_symbol = E(S.v_bar[t])
    meaning = {exact_symbol: 1 + S.eta + S.eta**2}
    good = Given.of(
        SmallParameter,
        exact_symbol,
        1 + S.eta,
        S.eta,
        {S.eta: EPSILON},
        "test-good",
        bound=0.5,
        meaning=meaning,
    )
    assert good.run().passed
    wrong = Given.of(
        SmallParameter,
        exact_symbol,
        1 + 2 * S.eta,
        S.eta,
        {S.eta: EPSILON},
        "test-wrong",
        bound=0.5,
        meaning=meaning,
    )
    assert not wrong.run().passed
    opaque = Given.of(
        SmallParameter,
        E(S.m_bar[t]),
        1 + S.eta,
        S.eta,
        {S.eta: EPSILON},
        "test-opaque",
        meaning=meaning,
    )
    assert not opaque.run().passed


def test_sequence_limit_given_and_numeric_equal_can_fail():
    left = S.RMS2(S.theta[t])
    meaning = {left: 1 + b3**t}
    point = {b3: sp.Rational(1, 2)}
    assert Given.of(SequenceLimit, left, sp.Integer(1), t, point, meaning=meaning).run().passed
    assert (
        not Given.of(SequenceLimit, left, sp.Rational(11, 10), t, point, meaning=meaning)
        .run()
        .passed
    )
    points = ({t: sp.Integer(3), b3: sp.Rational(1, 3)},)
    assert (
        Given.of(NumericEqual, left, 1 + b3**t, points=points, tolerance=1e-12, meaning=meaning)
        .run()
        .passed
    )
    assert (
        not Given.of(
            NumericEqual, left, 1 + b3 ** (t + 1), points=points, tolerance=1e-12, meaning=meaning
        )
        .run()
        .passed
    )
    # An opaque E[...] is left: derive's runner reports the check failed.
    opaque = Given.of(
        NumericEqual, E(left), 1 + b3**t, points=points, tolerance=1e-12, meaning=meaning
    )
    assert not run_check(opaque).passed


def test_mean_field_rewrite_given_can_fail():
    meaning = {S.u_bar[t]: S.m_bar[t] / sp.sqrt(S.v_bar[t])}
    right = E(S.m_bar[t] ** 2) / E(S.v_bar[t])
    assert Given.of(MeanFieldRewrite, E(S.u_bar[t] ** 2), right, meaning=meaning).run().passed
    assert not Given.of(MeanFieldRewrite, E(S.u_bar[t]), right, meaning=meaning).run().passed
    wrong = E(S.m_bar[t]) ** 2 / E(S.v_bar[t])
    assert not Given.of(MeanFieldRewrite, E(S.u_bar[t] ** 2), wrong, meaning=meaning).run().passed


def test_brute_force_evaluates_the_opaque_parts():
    def constant_expectation(expr, n):
        return expr.replace(lambda e: isinstance(e, E), lambda e: e.args[0].subs(S.g[1], 2))

    left = E(S.g[1] * t)
    assert BruteForce(left, 2 * t, steps=(1, 2), evaluate=constant_expectation).run().passed
    assert not BruteForce(left, 3 * t, steps=(1, 2), evaluate=constant_expectation).run().passed


@pytest.mark.parametrize(
    ("left", "right", "point"),
    [
        # A mean-zero pair: the arcsine law, and the correlation itself is rejected.
        (E(sp.sign(X) * sp.sign(Y)), 2 * sp.asin(corr) / sp.pi, {a: 0, corr: sp.Rational(1, 2)}),
        (E(sp.sign(X)), sp.erf(a / sp.sqrt(2)), {a: sp.Rational(1, 3), corr: 0}),
    ],
)
def test_sign_quadrature_accepts_the_law_and_rejects_the_mean_field(left, right, point):
    assert SignQuadrature(left, right, (point,)).run().passed
    assert not SignQuadrature(left, right * sp.Rational(11, 10), (point,)).run().passed


def test_sign_quadrature_tells_covariance_from_product_moment():
    point = {a: sp.Rational(3, 5), corr: sp.Rational(7, 10)}
    covariance = derivation("sign_sgdm").step("sign_covariance").rhs
    assert SignQuadrature(S.Covariance(sp.sign(X), sp.sign(Y)), covariance, (point,)).run().passed
    assert not SignQuadrature(E(sp.sign(X) * sp.sign(Y)), covariance, (point,)).run().passed


# --- wrong statements of the derivation's steps fail their own checks ---------------------------


def _checks_pass(step, **sides) -> bool:
    mutated = dataclasses.replace(step, **sides)
    return all(result.passed for result in mutated.verify().checks)


@pytest.mark.parametrize(
    ("step_id", "sides"),
    [
        ("mean_v_bar_sum", {"lhs": E(S.v_bar[t] ** 2)}),
        ("mean_v_bar_exact", {"lhs": E(S.v_bar[t]) * (1 - b3)}),
        ("mean_v_bar_approx", {"rhs": S.mu**2 + (1 - b1) / (2 + b1) * S.sigma**2}),
        ("mean_v_bar_approx", {"rhs": S.mu**2 + (1 - b1**2) / (1 + b1) * S.sigma**2}),
        ("u_bar_rms", {"lhs": S.RMS2(S.m_bar[t])}),
        ("theta_rms_sign_simple", {"lhs": S.RMS2(S.theta[t])}),
        ("m_autocorrelation", {"rhs": b1 ** (k + 1)}),
        ("m_lagged", {"rhs": b1 ** (k - 1) * S.m[t]}),
        ("sign_covariance", {"lhs": E(sp.sign(X) * sp.sign(Y))}),
        ("weights_second_moment", {"lhs": E(S.theta[t]) ** 2}),
        ("momentum_shift", {"rhs": sp.sqrt(S.snr * (1 + b1) / (1 - b1) + 1)}),
        ("momentum_shift", {"lhs": -S.shift}),
        ("theta_rms_sign_simple", {"lhs": -S.RMS(S.theta[t])}),
        ("u_mean", {"lhs": -E(S.u[t])}),
    ],
)
def test_a_wrong_statement_fails(sign, step_id, sides):
    step = sign.step(step_id)
    assert _checks_pass(step)
    assert not _checks_pass(step, **sides)


def test_a_wrong_equilibrium_fails(sign):
    step = sign.step("theta_rms_arcsine_limit")
    (series,) = step.rhs.atoms(sp.Sum)
    assert not _checks_pass(step, rhs=step.rhs.xreplace({series: series * sp.Rational(11, 10)}))
    source = sign.step("mean_field_as_autocovariance")
    assert not _checks_pass(source, rhs=source.rhs.subs(b1 * b3, b1))


def test_the_source_over_predicts_by_the_sign_autocorrelation_only(sign):
    # At mu = 0 the source's squared equilibrium is the lag sum with beta1^k in place of
    # (2/pi) asin(beta1^k), to leading order in eta lambda: a modelling difference.
    point = {b1: sp.Rational(9, 10), b3: 1 - sp.Rational(1, 10**4), S.lam: sp.Rational(1, 10)}
    from adamw_rms.checks import _numeric_series

    source = _numeric_series(sign.step("mean_field_as_autocovariance").rhs, point, 20)
    corrected = _numeric_series(sign.step("theta_rms_arcsine_limit").rhs, point, 20)
    assert 1.14 < float((source / corrected) ** 0.5) < 1.25


@pytest.mark.parametrize("step_id", ["momentum", "sign_update", "v_bar_def", "ratio_to_adamw"])
def test_the_printed_left_side_pins_the_step(sign, step_id):
    # Definitions have no check: the source's printed left side is compared with theirs.
    step = sign.step(step_id)
    assert step.verify().passed
    assert not dataclasses.replace(step, lhs=-step.lhs).verify().passed
