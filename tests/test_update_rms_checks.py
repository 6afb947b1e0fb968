"""The update_rms derivation's checks: each can fail, and each step's checks see both sides."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from adamw_rms import symbols as S
from adamw_rms.checks import (
    EPSILON,
    LHS,
    RHS,
    CoordinateAverage,
    GaussianMoments,
    Given,
    IteratesRecursion,
    MeanFieldRewrite,
    RoundsTo,
    SmallParameter,
    SolvesEquation,
    SolvesRecursion,
    mentions,
)
from adamw_rms.derivations._source import UPDATE_RMS_CLAIMS
from adamw_rms.steps import Kind, derivation, run_check

b1, b2, t, i = S.beta1, S.beta2, S.t, S.i
mu, sigma, snr = S.mu, S.sigma, S.snr
g, m, v, u = S.g, S.m, S.v, S.u
E, Var = S.Expect, S.Variance

M_RECURSION = b1 * m[t - 1] + (1 - b1) * g[t]
M_UNROLLED = sp.Sum((1 - b1) * b1 ** (t - i) * g[i], (i, 1, t))
AT = {b1: sp.Rational(9, 11), b2: sp.Rational(19, 23)}


@pytest.fixture(scope="module")
def update_rms():
    return derivation("update_rms")


# --- each new check class passes on the truth and fails on a wrong statement -------------------


def test_solves_recursion():
    assert SolvesRecursion(m[t], M_UNROLLED, M_RECURSION, t).run().passed
    # A wrong exponent breaks the inductive step.
    wrong = sp.Sum((1 - b1) * b1 ** (t - i + 1) * g[i], (i, 1, t))
    result = SolvesRecursion(m[t], wrong, M_RECURSION, t).run()
    assert not result.passed
    # The homogeneous solution added: the inductive step holds, the base case does not.
    mean_recursion = b1 * E(m[t - 1]) + (1 - b1) * mu
    result = SolvesRecursion(E(m[t]), (1 - b1**t) * mu + b1**t, mean_recursion, t).run()
    assert not result.passed and "base case" in result.detail
    # The left side must be the sequence the recursion defines.
    assert not SolvesRecursion(v[t], M_UNROLLED, M_RECURSION, t).run().passed


def test_solves_recursion_given():
    recursion = b1**2 * E(m[t - 1] ** 2) + 2 * b1 * (1 - b1) * mu * E(m[t - 1])
    recursion += (1 - b1) ** 2 * (mu**2 + sigma**2)
    closed = mu**2 * (1 - b1**t) ** 2 + sigma**2 * (1 - b1) * (1 - b1 ** (2 * t)) / (1 + b1)
    given = {E(m[t - 1]): (1 - b1 ** (t - 1)) * mu}
    check = Given.of(SolvesRecursion, E(m[t] ** 2), closed, recursion, t, meaning=given)
    assert check.run().passed
    wrong = {E(m[t - 1]): (1 - b1**t) * mu}
    assert not dataclasses.replace(check, meaning=wrong).run().passed
    # Without its meaning the earlier moment stays unknown: the induction cannot close.
    assert not SolvesRecursion(E(m[t] ** 2), closed, recursion, t).run().passed


def test_iterates_recursion():
    assert IteratesRecursion(m[t], M_UNROLLED, M_RECURSION, t).run().passed
    wrong = sp.Sum((1 - b1) * b1 ** (t - i) * g[i], (i, 1, t - 1))
    assert not IteratesRecursion(m[t], wrong, M_RECURSION, t).run().passed
    assert not IteratesRecursion(v[t], M_UNROLLED, M_RECURSION, t).run().passed


def test_gaussian_moments():
    var_m = sigma**2 * (1 - b1) * (1 - b1 ** (2 * t)) / (1 + b1)
    assert GaussianMoments(Var(m[t]), var_m, {m[t]: M_RECURSION}, at=AT).run().passed
    # E[m^2] is not Var[m] (mu != 0).
    assert not GaussianMoments(E(m[t] ** 2), var_m, {m[t]: M_RECURSION}, at=AT).run().passed
    # A left side with no Gaussian meaning fails instead of passing.
    result = GaussianMoments(E(u[t]), var_m, {m[t]: M_RECURSION}, at=AT).run()
    assert not result.passed
    a = sp.IndexedBase("a")
    weighted = sp.Sum(a[i] * g[i], (i, 1, t))
    lemma = sigma**2 * sp.Sum(a[i] ** 2, (i, 1, t))
    assert GaussianMoments(Var(weighted), lemma).run().passed
    assert not GaussianMoments(Var(weighted), sigma**2 * sp.Sum(a[i], (i, 1, t))).run().passed


def test_with_meaning():
    meaning = {u[t]: m[t] / sp.sqrt(v[t])}
    good = Given.of(MeanFieldRewrite, meaning=meaning, lhs=E(u[t] ** 2), rhs=E(m[t] ** 2) / E(v[t]))
    assert good.method == MeanFieldRewrite.method
    assert good.run().passed
    wrong = Given.of(MeanFieldRewrite, meaning=meaning, lhs=E(u[t]), rhs=E(m[t] ** 2) / E(v[t]))
    assert not wrong.run().passed
    # A left side that the meaning does not resolve cannot be evaluated: a failure, not an error.
    unresolved = Given.of(
        SmallParameter,
        meaning={E(m[t]): (1 - b1**t) * mu},
        exact=E(v[t]),
        approx=mu,
        small=b1**t,
        regime={t: sp.log(EPSILON) / sp.log(b1)},
        key="test",
    )
    result = unresolved.run()
    assert not result.passed and "applies to nothing" in result.detail
    # One that it resolves only in part (an opaque quantity is left) cannot be evaluated.
    partial = dataclasses.replace(unresolved, arguments={**unresolved.arguments, "approx": E(m[t])})
    partial = dataclasses.replace(partial, arguments={**partial.arguments, "exact": E(v[t])})
    result = run_check(partial)  # as derive runs every check
    assert not result.passed and "could not evaluate" in result.detail


def test_small_parameter_names_the_real_parameter():
    def check(small, power):
        return Given.of(
            SmallParameter,
            meaning={E(m[t]): (1 - b1**t) * mu},
            exact=E(m[t]),
            approx=mu,
            small=small,
            regime={t: sp.log(EPSILON) / (power * sp.log(b1))},
            key="test",
            bound=1.01,
        ).run()

    assert check(b1**t, 1).passed
    # beta1^{2t} is not what bounds the error of dropping beta1^t.
    assert not check(b1 ** (2 * t), 2).passed


def test_coordinate_average():
    c = (1 - b1) / (1 + b1)
    per_coordinate = (E(u[t] ** 2), (mu**2 + c * sigma**2) / (mu**2 + sigma**2))
    right = (snr + c) / (snr + 1)
    assert CoordinateAverage(S.RMS2(u[t]), right, per_coordinate).run().passed
    assert not CoordinateAverage(S.RMS2(u[t]), (snr + c) / (snr + 2), per_coordinate).run().passed
    assert not CoordinateAverage(S.RMS2(m[t]), right, per_coordinate).run().passed
    root = sp.sqrt(c)
    assert CoordinateAverage(S.RMS(u[t]), root, per_coordinate, given={mu: 0}).run().passed
    assert not CoordinateAverage(S.RMS(u[t]), -root, per_coordinate, given={mu: 0}).run().passed
    assert not CoordinateAverage(S.RMS(u[t]), c, per_coordinate, given={mu: 0}).run().passed


def test_rounds_to():
    value = 1 / sp.sqrt(19)
    assert RoundsTo(S.RMS(u[t]), value, "0.2294", 4, given={S.RMS(u[t]): value}).run().passed
    assert not RoundsTo(S.RMS(u[t]), value, "0.2294", 4).run().passed
    assert (
        not RoundsTo(S.RMS(u[t]), value + b2, "0.2294", 4, given={S.RMS(u[t]): value}).run().passed
    )
    assert not RoundsTo(S.RMS(u[t]), value, "0.2295", 4, given={S.RMS(u[t]): value}).run().passed


def test_solves_equation():
    r2, c = S.RMS2(u[t]), (1 - b1) / (1 + b1)
    equation = (snr + c) / (snr + 1) - r2
    assert SolvesEquation(snr, (r2 - c) / (1 - r2), equation).run().passed
    assert not SolvesEquation(snr, (r2 - c) / (1 + r2), equation).run().passed
    quadratic = (snr**2 + c) / (snr + 1) - r2
    assert not SolvesEquation(snr, (r2 - c) / (1 - r2), quadratic).run().passed


# --- the derivation ------------------------------------------------------------------------------


def test_every_check_sees_both_sides(update_rms):
    for step in update_rms.steps:
        if step.kind is Kind.DEFINITION:
            continue
        for check in step.checks:
            assert mentions(check, LHS) and mentions(check, RHS), (step.id, check.method)


def test_unrolled_recursions_are_proved_by_induction(update_rms):
    # The review: "steps 4-6 are supported only by brute force at t = 1..4".
    for step_id in ("m_unrolled", "v_unrolled", "variance_of_sum", "mean_m", "var_m", "mean_v"):
        checks = update_rms.step(step_id).checks
        assert any(isinstance(c, SolvesRecursion) for c in checks), step_id


@pytest.mark.parametrize(
    ("step_id", "mutate"),
    [
        ("m_unrolled", lambda s: s.rhs.xreplace({b1: b2})),
        ("variance_of_sum", lambda s: s.rhs.subs(t, t - 1)),
        ("mean_m", lambda s: s.rhs * (1 + b1**t)),
        ("var_m", lambda s: s.rhs / (1 + b1)),
        ("mean_v", lambda s: s.rhs.xreplace({b2: b1})),
        ("second_moment_m", lambda s: s.rhs + mu**2 * b1**t),
        ("mean_m_limit", lambda s: s.rhs * (1 - b1**t)),  # the exact mean: no error at all
        ("var_m_limit", lambda s: s.rhs * (1 + b1) / 2),
        ("u_sq", lambda s: s.rhs.xreplace({mu: 2 * mu})),
        ("update_rms_sq", lambda s: s.rhs.xreplace({snr: 2 * snr})),
        ("update_rms_mu0", lambda s: s.rhs**2),
        ("update_rms_value", lambda s: s.rhs * 2),
        ("snr_from_update_rms", lambda s: -s.rhs),
    ],
)
def test_a_wrong_right_side_fails(update_rms, step_id, mutate):
    step = update_rms.step(step_id)
    wrong = mutate(step)
    assert not dataclasses.replace(step, rhs=wrong, claim=None).verify().passed


@pytest.mark.parametrize(
    ("step_id", "lhs"),
    [
        ("m_unrolled", v[t]),
        ("mean_m", E(v[t])),
        ("var_m", E(m[t])),
        ("mean_v", E(v[t] ** 2)),
        ("second_moment_m", Var(m[t])),
        ("mean_m_limit", E(m[t + 1])),
        ("var_m_limit", E(m[t] ** 2)),
        ("mean_field_u", E(u[t])),
        ("u_sq_finite", E(m[t] ** 2)),
        ("u_sq", E(u[t])),
        ("update_rms_sq", S.RMS(u[t])),
        ("update_rms_mu0", S.RMS2(u[t])),
        ("update_rms_value", S.RMS2(u[t])),
        ("snr_from_update_rms", S.mu_norm),
    ],
)
def test_a_wrong_left_side_fails(update_rms, step_id, lhs):
    step = update_rms.step(step_id)
    assert not dataclasses.replace(step, lhs=lhs, claim=None).verify().passed


def test_every_printed_formula_is_compared(update_rms):
    printed = {
        "m_recursion",
        "v_recursion",
        "adam_update",
        "m_unrolled",
        "v_unrolled",
        "mean_v",
        "mean_v_limit",
        "mean_m_limit",
        "var_m",
        "var_m_limit",
        "mean_field_u",
        "u_sq",
        "update_rms_sq",
        "update_rms_mu0",
        "update_rms_value",
        "snr_from_update_rms",
    }
    assert set(UPDATE_RMS_CLAIMS) == printed
    results = {r.step_id: r for r in update_rms.verify()}
    for step_id in printed:
        assert results[step_id].claim.passed, step_id


def test_assumptions_are_recorded(update_rms):
    recorded = update_rms.assumptions()
    for key in (
        "no_bias_correction",
        "no_epsilon",
        "iid_gradients",
        "self_averaging",
        "mean_field_ratio",
        "coordinate_average",
    ):
        assert key in recorded, key
    assert update_rms.scope
