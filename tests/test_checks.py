"""Every check class can fail: a true statement passes it and a wrong one does not.

The table below holds one (true, wrong) pair per class of :mod:`adamw_rms.checks`; a class
without an entry fails :func:`test_every_check_class_is_exercised`, so a new check cannot be
added without showing that it can fail.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable

import mpmath
import pytest
import sympy as sp

from adamw_rms import checks
from adamw_rms import symbols as S
from adamw_rms.checks import (
    EPSILON,
    LHS,
    RHS,
    ApproximationOrder,
    BruteForce,
    Check,
    ClaimCheck,
    CoordinateAverage,
    CoordinateIdentity,
    GaussianMoments,
    GaussianMomentsAtLags,
    Given,
    IteratesRecursion,
    LimitRatio,
    LimitValue,
    MeanFieldRewrite,
    NumericEqual,
    Quadrature,
    Recurrence,
    Restated,
    RewriteToZero,
    RoundsTo,
    SequenceLimit,
    SignQuadrature,
    SmallParameter,
    SolvesEquation,
    SolvesRecursion,
    SpotCheck,
    SumInduction,
    TaylorByDerivatives,
    UniquePositiveRoot,
    bind,
    mentions,
)
from adamw_rms.steps import run_check

b1, b3, t, i, n = S.beta1, S.beta3, S.t, S.i, sp.Symbol("n", integer=True, positive=True)
eta, lam, snr, E, m, v = S.eta, S.lam, S.snr, S.Expect, S.m, S.v
_S = sp.Function("S")  # a sequence known only by its recursion


def _ema(k: int) -> sp.Expr:
    state = sp.Integer(0)
    for step in range(1, k + 1):
        state = b1 * state + (1 - b1) * S.g[step]
    return state


class _Verified:
    """A stand-in for an earlier step: a statement and its verdict."""

    def __init__(self, lhs: sp.Expr, rhs: sp.Expr, passed: bool = True) -> None:
        self.lhs, self.rhs, self.qualified_id, self._passed = lhs, rhs, "unit.earlier", passed

    def verify(self):
        return dataclasses.make_dataclass("V", [("passed", bool)])(self._passed)


_C = (1 - b3) * (1 + b3**t) / (2 * (1 - b3**t))
_LARGE_SNR = SmallParameter(
    (snr + _C) / (snr + 1), RHS, _C / snr, {snr: _C / EPSILON}, "unit.small"
)

_WINDOW = (1 - b3) * sp.Sum(b3 ** (t - i), (i, 1, t))  # sum_{i=1}^t (1 - b3) b3^(t-i)
_M_RECURSION = b1 * m[t - 1] + (1 - b1) * S.g[t]
_M_UNROLLED = sp.Sum((1 - b1) * b1 ** (t - i) * S.g[i], (i, 1, t))
_AT = {b1: sp.Rational(9, 11)}
_R, _R2 = (1 - b1) / (1 + b1), S.RMS2(S.u[t])
_PER_COORDINATE = (E(S.u[t] ** 2), (S.mu**2 + _R * S.sigma**2) / (S.mu**2 + S.sigma**2))
_SIGN_POINT = ({S.shift: sp.Rational(1, 3), S.corr: sp.Integer(0)},)

# class -> (check bound to a true statement, the same check bound to a wrong one)
CASES: dict[type, tuple[Callable[[], Check], Callable[[], Check]]] = {
    RewriteToZero: (
        lambda: RewriteToZero((1 - b1**2) / (1 - b1), 1 + b1),
        lambda: RewriteToZero((1 - b1**2) / (1 - b1), 1 - b1),
    ),
    SpotCheck: (
        lambda: SpotCheck(b3 ** (t + 1), b3 * b3**t, "unit.spot"),
        lambda: SpotCheck(b3 ** (t + 1), b3**t, "unit.spot"),
    ),
    BruteForce: (
        lambda: BruteForce(_ema, sp.Sum((1 - b1) * b1 ** (t - i) * S.g[i], (i, 1, t))),
        lambda: BruteForce(_ema, sp.Sum((1 - b1) * b1 ** (t - i + 1) * S.g[i], (i, 1, t))),
    ),
    CoordinateIdentity: (
        lambda: CoordinateIdentity(
            S.RMS2(S.theta[0] + 2 * S.u[1]),
            S.RMS2(S.theta[0]) + 4 * S.MeanDot(S.theta[0], S.u[1]) + 4 * S.RMS2(S.u[1]),
        ),
        lambda: CoordinateIdentity(
            S.RMS2(S.theta[0] + 2 * S.u[1]), S.RMS2(S.theta[0]) + 4 * S.RMS2(S.u[1])
        ),
    ),
    SolvesRecursion: (
        lambda: SolvesRecursion(_S(n), n * (n + 1) / 2, _S(n - 1) + n, n),
        lambda: SolvesRecursion(_S(n), n * (n - 1) / 2, _S(n - 1) + n, n),
    ),
    MeanFieldRewrite: (
        lambda: MeanFieldRewrite(E(m[t] ** 2 / v[t]), E(m[t] ** 2) / E(v[t])),
        lambda: MeanFieldRewrite(E(m[t] ** 2 / v[t]), E(m[t]) ** 2 / E(v[t])),
    ),
    UniquePositiveRoot: (
        lambda: UniquePositiveRoot(lam**2 + lam - 2, lam, sp.Integer(1)),
        lambda: UniquePositiveRoot(lam**2 + lam - 2, lam, sp.Integer(2)),
    ),
    LimitRatio: (
        lambda: LimitRatio(eta + eta**2, eta, ((eta, 0, "+"),), "unit.ratio"),
        lambda: LimitRatio(eta + eta**2, 2 * eta, ((eta, 0, "+"),), "unit.ratio"),
    ),
    LimitValue: (
        lambda: LimitValue(sp.sin(eta) / eta, sp.Integer(1), eta, 0, "unit.value"),
        lambda: LimitValue(sp.sin(eta) / eta, sp.Integer(2), eta, 0, "unit.value"),
    ),
    RoundsTo: (
        lambda: RoundsTo(LHS, 1 / sp.sqrt(19), "0.2294", 4, given={LHS: sp.sqrt(19) / 19}),
        lambda: RoundsTo(LHS, 1 / sp.sqrt(20), "0.2294", 4, given={LHS: sp.sqrt(19) / 19}),
    ),
    Quadrature: (
        lambda: Quadrature(
            eta**2 / 2, lambda p: mpmath.quad(lambda s: s, [0, p[eta]]), ({eta: 3},)
        ),
        lambda: Quadrature(
            eta**2 / 3, lambda p: mpmath.quad(lambda s: s, [0, p[eta]]), ({eta: 3},)
        ),
    ),
    SequenceLimit: (
        lambda: SequenceLimit(1 - sp.Rational(1, 2) ** n, sp.Integer(1), n, {}, (20, 40, 80)),
        lambda: SequenceLimit(1 - sp.Rational(1, 2) ** n, sp.Integer(2), n, {}, (20, 40, 80)),
    ),
    ClaimCheck: (
        lambda: ClaimCheck((1 - b1**2) / (1 - b1), 1 + b1, "unit.claim"),
        lambda: ClaimCheck((1 - b1**2) / (1 - b1), 1 - b1, "unit.claim"),
    ),
    Restated: (
        lambda: Restated(eta, lam, _Verified(eta, lam)),
        lambda: Restated(eta, 2 * lam, _Verified(eta, lam)),
    ),
    SmallParameter: (
        lambda: bind(_LARGE_SNR, None, snr / (snr + 1)),
        lambda: bind(_LARGE_SNR, None, snr / (snr + 2)),
    ),
    Given: (
        lambda: Given.of(RewriteToZero, LHS, 1 + b1, meaning={LHS: (1 - b1**2) / (1 - b1)}),
        lambda: Given.of(RewriteToZero, LHS, 1 - b1, meaning={LHS: (1 - b1**2) / (1 - b1)}),
    ),
    Recurrence: (
        lambda: Recurrence(E(v[t]), 1 - b3**t, {E(v[t]): _WINDOW}, factor=b3, base=1),
        lambda: Recurrence(E(v[t]), 1 - b3 ** (t + 1), {E(v[t]): _WINDOW}, factor=b3, base=1),
    ),
    SumInduction: (
        lambda: SumInduction(E(v[t]), 1 - b3**t, i, {E(v[t]): _WINDOW}),
        lambda: SumInduction(E(v[t]), 1 - b3 ** (t + 1), i, {E(v[t]): _WINDOW}),
    ),
    IteratesRecursion: (
        lambda: IteratesRecursion(m[t], _M_UNROLLED, _M_RECURSION, t),
        lambda: IteratesRecursion(m[t], _M_UNROLLED.subs(t, t - 1), _M_RECURSION, t),
    ),
    GaussianMoments: (
        lambda: GaussianMoments(E(m[t]), (1 - b1**t) * S.mu, {m[t]: _M_RECURSION}, at=_AT),
        lambda: GaussianMoments(E(m[t]), (1 - b1 ** (t + 1)) * S.mu, {m[t]: _M_RECURSION}, at=_AT),
    ),
    CoordinateAverage: (
        lambda: CoordinateAverage(S.RMS2(S.u[t]), (snr + _R) / (snr + 1), _PER_COORDINATE),
        lambda: CoordinateAverage(S.RMS2(S.u[t]), (snr + _R) / (snr + 2), _PER_COORDINATE),
    ),
    SolvesEquation: (
        lambda: SolvesEquation(snr, (_R2 - _R) / (1 - _R2), (snr + _R) / (snr + 1) - _R2),
        lambda: SolvesEquation(snr, (_R2 - _R) / (1 + _R2), (snr + _R) / (snr + 1) - _R2),
    ),
    NumericEqual: (
        lambda: NumericEqual(sp.Sum(b3**i, (i, 0, sp.oo)), 1 / (1 - b3), "unit.numeric"),
        lambda: NumericEqual(sp.Sum(b3**i, (i, 0, sp.oo)), 1 / (1 + b3), "unit.numeric"),
    ),
    SignQuadrature: (
        lambda: SignQuadrature(E(sp.sign(S.pair_x)), sp.erf(S.shift / sp.sqrt(2)), _SIGN_POINT),
        lambda: SignQuadrature(E(sp.sign(S.pair_x)), sp.erf(S.shift / 2), _SIGN_POINT),
    ),
    GaussianMomentsAtLags: (
        lambda: GaussianMomentsAtLags(S.Covariance(m[t], m[t + S.k]), _LAGGED_COV, _SEQ, at=_AT),
        lambda: GaussianMomentsAtLags(
            S.Covariance(m[t], m[t + S.k]), _LAGGED_COV * b1, _SEQ, at=_AT
        ),
    ),
    TaylorByDerivatives: (
        lambda: TaylorByDerivatives(1 / sp.sqrt(1 + _X), 1 - _X / 2 + 3 * _X**2 / 8, _X, 2),
        lambda: TaylorByDerivatives(1 / sp.sqrt(1 + _X), 1 - _X / 2 + _X**2 / 2, _X, 2),
    ),
    ApproximationOrder: (
        lambda: ApproximationOrder(_Q, 1 + _X, _Q, _EXP_OF, _SMALL_POINTS, _X, 2, 0.6),
        lambda: ApproximationOrder(_Q, 1 + 2 * _X, _Q, _EXP_OF, _SMALL_POINTS, _X, 2, 0.6),
    ),
}


def _exp_of(point) -> tuple[float, float]:
    value = float(mpmath.exp(point[_X]))
    return value, value


# Cov[m_t, m_{t+k}] of the EMA m (sigma = 1 at _AT's point), and e^x ~ 1 + x to O(x^2).
_X, _Q, _EXP_OF = sp.Symbol("x", positive=True), sp.Symbol("q"), _exp_of
_SEQ = {m[t]: _M_RECURSION}
_LAGGED_COV = S.sigma**2 * (1 - b1) / (1 + b1) * b1**S.k * (1 - b1 ** (2 * t))
_SMALL_POINTS = tuple({_X: sp.Rational(1, n)} for n in (10, 100, 1000))


def _check_classes() -> set[type]:
    return {
        obj
        for _, obj in inspect.getmembers(checks, inspect.isclass)
        if obj.__module__ == checks.__name__
        and dataclasses.is_dataclass(obj)
        and callable(getattr(obj, "run", None))
    }


def test_every_check_class_is_exercised():
    missing = sorted(c.__name__ for c in _check_classes() - set(CASES))
    assert not missing, f"add a (true, wrong) pair to CASES for {missing}"


@pytest.mark.parametrize("cls", sorted(CASES, key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_check_passes_a_true_statement_and_fails_a_wrong_one(cls: type):
    true_case, wrong_case = CASES[cls]
    good, bad = true_case(), wrong_case()
    assert isinstance(good, Check) and isinstance(good, cls)
    assert good.run().passed, good.run().detail
    result = bad.run()
    assert not result.passed
    assert result.detail


def test_restated_fails_when_the_earlier_step_does_not_verify():
    assert not Restated(eta, lam, _Verified(eta, lam, passed=False)).run().passed


def test_small_parameter_fails_when_the_regime_is_not_the_named_parameter():
    # The regime sends SNR to infinity, but the named parameter is not c/SNR.
    check = SmallParameter((snr + _C) / (snr + 1), RHS, 1 / snr, {snr: _C / EPSILON}, "unit.s")
    result = bind(check, None, snr / (snr + 1)).run()
    assert not result.passed and "regime" in result.detail


def test_small_parameter_fails_when_the_error_is_invisible_outside_the_regime():
    exact = (snr + _C) / (snr + 1)
    check = SmallParameter(exact, RHS, _C / snr, {snr: _C / EPSILON}, "unit.s", visible=10.0)
    assert "outside" in bind(check, None, snr / (snr + 1)).run().detail


def test_bind_reaches_mappings_and_tuples():
    check = RewriteToZero(LHS, RHS, given={LHS: eta})
    assert mentions(check, LHS) and mentions(check, RHS)
    bound = bind(check, E(v[t]), eta)
    assert bound.given == {E(v[t]): eta} and bound.run().passed
    assert not bind(check, E(v[t]), lam).run().passed


def test_rounds_to_a_complex_value_fails():
    value = sp.sqrt(-sp.Rational(1, 19))
    result = run_check(RoundsTo(S.RMS(S.u[t]), value, "0.2294", 4, given={S.RMS(S.u[t]): value}))
    assert not result.passed


def test_approximation_order_fails_on_a_reference_that_is_not_finite():
    # max(worst, nan) keeps worst: a diverging reference must fail, not pass silently.
    import math

    from adamw_rms.checks import ApproximationOrder

    x = sp.Symbol("x", positive=True)
    for reference in ((math.nan, 1.0), (1e300, math.inf), (1.0, 0.0)):
        check = ApproximationOrder(
            lhs=x, rhs=x, quantity=x, reference=lambda point, r=reference: r,
            points=({x: sp.Rational(1, 10)},), small=x, power=1, bound=1.0,
        )  # fmt: skip
        assert not check.run().passed
