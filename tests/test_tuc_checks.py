"""The checks added for the TUC derivation: each passes a true statement and fails a wrong one."""

from __future__ import annotations

import pytest
import sympy as sp

from adamw_rms import symbols as S
from adamw_rms.checks import EPSILON, CoordinateIdentity, Given, NumericEqual, SmallParameter

b1, b3, t, h, k, lam, eta = S.beta1, S.beta3, S.t, S.h, S.k, S.lam, S.eta
theta, u = S.theta, S.u
RMS2, RMS, MeanDot = S.RMS2, S.RMS, S.MeanDot

COMBINATION = b3 * theta[t - 1] - (1 - b3) * u[t] / lam
EXPANSION = (
    b3**2 * RMS2(theta[t - 1])
    - 2 * b3 * (1 - b3) * MeanDot(theta[t - 1], u[t]) / lam
    + (1 - b3) ** 2 * RMS2(u[t]) / lam**2
)
ORTHOGONAL = b3**2 * RMS2(theta[t - 1]) + (1 - b3) ** 2 * RMS2(u[t]) / lam**2


@pytest.mark.parametrize(
    ("rhs", "disjoint", "ok"),
    [
        (EXPANSION, False, True),
        (EXPANSION.subs(MeanDot(theta[t - 1], u[t]), 0), False, False),  # the cross term dropped
        (EXPANSION.xreplace({(1 - b3) ** 2: 1 - b3}), False, False),
        (ORTHOGONAL, True, True),  # exact when the two vectors are orthogonal
        (ORTHOGONAL.xreplace({b3**2: b3}), True, False),
        (EXPANSION, True, True),  # the cross term is 0 there, so both forms hold
    ],
)
def test_coordinate_identity(rhs, disjoint, ok):
    check = CoordinateIdentity(
        RMS2(theta[t]), rhs, given={theta[t]: COMBINATION}, disjoint=disjoint
    )
    assert check.run().passed is ok


def test_coordinate_identity_sees_the_left_side():
    # Without the meaning of theta_t the left side is an unrelated vector: the check fails.
    assert not CoordinateIdentity(RMS2(theta[t]), EXPANSION).run().passed
    assert (
        not CoordinateIdentity(RMS2(theta[t + 1]), EXPANSION, given={theta[t]: COMBINATION})
        .run()
        .passed
    )


def test_coordinate_identity_rms():
    assert CoordinateIdentity(RMS(2 * u[t]), 2 * RMS(u[t])).run().passed
    assert not CoordinateIdentity(RMS(2 * u[t]), 3 * RMS(u[t])).run().passed


def test_numeric_equal_two_sided_series():
    series = sp.Sum(b1 ** sp.Abs(h), (h, -sp.oo, sp.oo))
    assert NumericEqual(series, (1 + b1) / (1 - b1), "two-sided").run().passed
    assert not NumericEqual(series, 1 / (1 - b1), "one-sided").run().passed


def test_numeric_equal_given():
    x = sp.Symbol("x")
    geometric = sp.Sum((1 - b1) * b1 ** (k - t), (k, t, sp.oo))
    assert NumericEqual(x, 1, "geometric", given={x: geometric}).run().passed
    assert not NumericEqual(x, 1, "geometric", given={x: 2 * geometric}).run().passed


def test_small_parameter_with_the_left_side_given_its_meaning():
    # The left side's meaning is an expression in the sampled symbols: 2/(2 - eta lambda) is the
    # squared equilibrium of the TUC recursion over its leading order, error eta lambda / 2.
    rho = RMS2(theta[t])
    exact = {rho: eta / (lam * (2 - eta * lam))}
    regime = {lam: EPSILON / eta}

    def check(approx, small=eta * lam, regime=regime, key="sp-given"):
        return Given.of(SmallParameter, rho, approx, small, regime, key, meaning=exact)

    assert check(eta / (2 * lam)).run().passed
    # A wrong leading order, and a wrongly named small parameter (eta lambda / 10 is too small).
    assert not check(eta / lam, key="wrong").run().passed
    small = eta * lam / 10
    assert not check(eta / (2 * lam), small, {lam: 10 * EPSILON / eta}, "misnamed").run().passed
    # SmallParameter's own given fixes numbers only: a meaning there fails.
    given = SmallParameter(rho, eta / (2 * lam), eta * lam, regime, "sp-given", given=exact)
    assert not given.run().passed
