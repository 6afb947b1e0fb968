"""The schedules derivation's checks can fail: new check classes, and every step's checks
against a changed right side and a changed left side."""

from __future__ import annotations

import pytest
import sympy as sp

from adamw_rms import symbols as S
from adamw_rms.checks import (
    LHS,
    RHS,
    Given,
    RewriteToZero,
    SolvesRecursion,
    bind,
    mentions,
)
from adamw_rms.steps import Kind, derivation

t, i, k = S.t, S.i, S.k
theta, u, etas, lams, kappa = S.theta, S.u, S.eta_seq, S.lam_seq, S.Kappa

# theta_t = e^{-eta_t lambda_t} theta_{t-1} - eta_t u_t, and its unrolled closed form.
RECURSION = sp.exp(-etas[t] * lams[t]) * theta[t - 1] - etas[t] * u[t]
CLOSED = sp.exp(-kappa(t)) * (theta[0] - sp.Sum(sp.exp(kappa(i)) * etas[i] * u[i], (i, 1, t)))
UNFOLD = {
    kappa(t): sp.Sum(etas[i] * lams[i], (i, 1, t)),
    kappa(i): sp.Sum(etas[k] * lams[k], (k, 1, i)),
}


def _induction(lhs, closed, recursion=RECURSION):
    check = Given.of(SolvesRecursion, LHS, RHS, recursion, t, start=None, base=0, meaning=UNFOLD)
    return bind(check, lhs, closed).run()


def test_induction_proves_the_unrolled_recursion():
    assert _induction(theta[t], CLOSED).passed


@pytest.mark.parametrize(
    "wrong",
    [
        CLOSED.xreplace({theta[0]: 2 * theta[0]}),  # base case
        sp.exp(-kappa(t)) * (theta[0] + sp.Sum(sp.exp(kappa(i)) * etas[i] * u[i], (i, 1, t))),
        sp.exp(-kappa(t)) * (theta[0] - sp.Sum(sp.exp(kappa(i)) * u[i], (i, 1, t))),
        sp.exp(-2 * kappa(t)) * (theta[0] - sp.Sum(sp.exp(kappa(i)) * etas[i] * u[i], (i, 1, t))),
    ],
)
def test_induction_fails_on_a_wrong_closed_form(wrong):
    assert not _induction(theta[t], wrong).passed


def test_induction_fails_on_a_wrong_left_side_or_recursion():
    assert not _induction(theta[t + 1], CLOSED).passed
    assert not _induction(
        theta[t], CLOSED, RECURSION.subs(etas[t] * u[t], 2 * etas[t] * u[t])
    ).passed


def test_given_is_keyed_by_the_left_side_itself():
    meaning = {theta[t]: RECURSION.xreplace({theta[t - 1]: 0}), theta[t - 1]: 0}
    check = Given.of(RewriteToZero, LHS, RHS, meaning=meaning)
    assert mentions(check, LHS) and mentions(check, RHS)
    assert bind(check, theta[t], RECURSION).run().passed
    assert not bind(check, theta[t], 2 * RECURSION).run().passed
    # A different left side is not given a meaning: it stays and the check fails.
    assert not bind(check, theta[t + 1], RECURSION).run().passed


NON_DEFINITIONS = [s.id for s in derivation("schedules").steps if s.kind is not Kind.DEFINITION]


@pytest.mark.parametrize("step_id", NON_DEFINITIONS)
def test_every_check_sees_a_changed_right_side(step_id):
    step = derivation("schedules").step(step_id)
    wrong = step.rhs * sp.Rational(11, 10)
    failed = [c.method for c in step.checks if not bind(c, step.lhs, wrong).run().passed]
    assert failed == [c.method for c in step.checks]


@pytest.mark.parametrize("step_id", NON_DEFINITIONS)
def test_every_check_sees_a_changed_left_side(step_id):
    step = derivation("schedules").step(step_id)
    wrong = step.lhs * sp.Rational(11, 10)
    failed = [c.method for c in step.checks if not bind(c, wrong, step.rhs).run().passed]
    assert failed == [c.method for c in step.checks]
