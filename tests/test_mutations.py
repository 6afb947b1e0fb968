"""The verifier must be able to fail: mutated statements, wrong claims, the checks themselves."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from adamw_rms import symbols as S
from adamw_rms.algebra import is_zero, split_powers
from adamw_rms.checks import (
    LHS,
    RHS,
    BruteForce,
    ClaimCheck,
    CoordinateIdentity,
    LimitRatio,
    LimitValue,
    MeanFieldRewrite,
    RewriteToZero,
    RoundsTo,
    SolvesRecursion,
    SpotCheck,
    bind,
    gaussian_expectation,
)
from adamw_rms.rules import NotGeometricError, geometric_sum, swap_triangular_sum
from adamw_rms.steps import Kind, Step, find_step

b1, b2, b3, t, i, j = S.beta1, S.beta2, S.beta3, S.t, S.i, S.j
eta, lam, snr = S.eta, S.lam, S.snr


@pytest.fixture(scope="module", autouse=True)
def _built(derivations):
    """Build (and verify) both derivations once before any mutation."""


def _failing_checks(step: Step) -> list[str]:
    return [f"{c.method}: {c.detail}" for c in step.verify().checks if not c.passed]


def assert_mutation_caught(qualified_id: str, mutated: sp.Expr) -> None:
    step = find_step(qualified_id)
    assert step.verify().passed, f"{qualified_id} must verify before mutation"
    assert mutated != step.rhs, "the mutation did not change the expression"
    assert not is_zero(mutated - step.rhs), "the mutation is mathematically a no-op"
    broken = dataclasses.replace(step, rhs=mutated)
    assert not broken.verify().passed, f"mutated {qualified_id} still verifies"
    assert _failing_checks(broken)


def _reveal_factor(expr: sp.Expr, target: sp.Expr) -> sp.Expr:
    """Same value, new form: in each sum, factor the SNR-free part where ``target`` divides it."""
    mapping = {}
    for e in sp.preorder_traversal(expr):
        if isinstance(e, sp.Add) and e.has(snr):
            free, with_snr = e.as_independent(snr, as_Add=True)
            factored = sp.factor(free)
            if target in sp.Mul.make_args(factored):
                mapping[e] = with_snr + factored
    return expr.xreplace(mapping)


# --- weight_rms.theta_rms: (1 + beta3^t) -> (1 - beta3^t) -----------------------------------------


def test_theta_rms_sign_mutation_fails_verification():
    step = find_step("weight_rms.theta_rms")
    target = 1 + b3**t
    # The rhs is expanded: the SNR-free part of its numerator is (beta3 - 1)(1 + beta3^t).
    revealed = _reveal_factor(step.rhs, target)
    assert revealed.has(target)
    # Refactoring alone is harmless: the revealed form still verifies.
    assert dataclasses.replace(step, rhs=revealed).verify().passed
    mutated = revealed.xreplace({target: 1 - b3**t})
    assert_mutation_caught("weight_rms.theta_rms", mutated)


def test_theta_rms_sign_mutation_in_claim_fails_unless_declared():
    step = find_step("weight_rms.theta_rms")
    assert step.claim is not None
    assert not step.verify().erratum
    printed = step.claim.rhs.xreplace({1 + b3**t: 1 - b3**t})
    assert printed != step.claim.rhs
    wrong = dataclasses.replace(step, claim=dataclasses.replace(step.claim, rhs=printed))
    result = wrong.verify()
    # An undeclared mismatch is an error of the derivation, not blamed on the source.
    assert not result.passed
    assert "differs from the formula the source prints" in result.claim_problem
    declared = dataclasses.replace(wrong.claim, erratum="the source flips the sign")
    result = dataclasses.replace(step, claim=declared).verify()
    assert result.passed and result.erratum
    # A declared erratum that does not hold (the formulas agree) is an error too.
    stale = dataclasses.replace(step.claim, erratum="no longer true")
    result = dataclasses.replace(step, claim=stale).verify()
    assert not result.passed and "equals the printed one" in result.claim_problem


# --- the other mutations --------------------------------------------------------------------------


def _double_sum_m_exponent(rhs: sp.Expr) -> sp.Expr:
    assert rhs.has(b3 ** (t - j + 1))
    return rhs.xreplace({b3 ** (t - j + 1): b3 ** (t - j)})


def _var_m_bar_approx_factor(rhs: sp.Expr) -> sp.Expr:
    # rhs = (1 - b3)(1 + b3^t) sigma^2 / (2 (1 - b3^t)); the 2 becomes a 3.
    assert sp.Rational(1, 2) in rhs.args
    return rhs.xreplace({sp.Rational(1, 2): sp.Rational(1, 3)})


def _mean_v_bar_exact_power(rhs: sp.Expr) -> sp.Expr:
    # beta2^(t+1) is printed as beta2 * beta2^t (only there does beta2^t occur), so turning
    # beta2^t into beta2^(t-1) turns beta2^(t+1) into beta2^t.
    assert rhs.has(b2**t)
    return rhs.xreplace({b2**t: b2 ** (t - 1)})


def _var_m_sign(rhs: sp.Expr) -> sp.Expr:
    assert rhs.has(b1 + 1)
    return rhs.xreplace({b1 + 1: 1 - b1})


def _ema_wd_weight(rhs: sp.Expr) -> sp.Expr:
    # rhs = beta3 theta_{t-1} - (1 - beta3) u_t / lambda; (1 - beta3) becomes beta3.
    if rhs.has(b3 - 1):
        return rhs.xreplace({b3 - 1: -b3})
    assert rhs.has(1 - b3)
    return rhs.xreplace({1 - b3: b3})


def _theta_rms_mu0_equilibrium(rhs: sp.Expr) -> sp.Expr:
    assert rhs.has(eta / (2 * lam))
    return rhs.subs(eta / (2 * lam), eta / lam)


def _theta_rms_simple_equilibrium(rhs: sp.Expr) -> sp.Expr:
    assert rhs == sp.sqrt(eta / (2 * lam))
    return sp.sqrt(eta / lam)


def _quick_estimate_drop_beta1(rhs: sp.Expr) -> sp.Expr:
    factor = sp.sqrt(1 - b1) / sp.sqrt(1 + b1)
    assert rhs.has(sp.sqrt(1 - b1)) and rhs.has(1 / sp.sqrt(1 + b1))
    mutated = rhs.xreplace({sp.sqrt(1 - b1): 1, 1 / sp.sqrt(1 + b1): 1})
    assert not mutated.has(b1)
    assert is_zero(mutated * factor - rhs)
    return mutated


MUTATIONS = [
    ("weight_rms.double_sum_m", _double_sum_m_exponent),
    ("weight_rms.var_m_bar_approx", _var_m_bar_approx_factor),
    ("weight_rms.mean_v_bar_exact", _mean_v_bar_exact_power),
    ("update_rms.var_m", _var_m_sign),
    ("weight_rms.ema_wd", _ema_wd_weight),
    ("weight_rms.theta_rms_mu0", _theta_rms_mu0_equilibrium),
    ("weight_rms.theta_rms_simple", _theta_rms_simple_equilibrium),
    ("weight_rms.quick_estimate", _quick_estimate_drop_beta1),
]


@pytest.mark.parametrize(
    ("qualified_id", "mutate"), MUTATIONS, ids=[m[0].split(".", 1)[1] for m in MUTATIONS]
)
def test_mutation_fails_verification(qualified_id, mutate):
    assert_mutation_caught(qualified_id, mutate(find_step(qualified_id).rhs))


@pytest.mark.parametrize(("qualified_id", "mutate"), MUTATIONS[:1] + MUTATIONS[4:])
def test_mutated_claim_is_an_erratum(qualified_id, mutate):
    # The same mutations applied to the source's printed formula (where it has the same shape).
    step = find_step(qualified_id)
    assert step.claim is not None
    printed = mutate(step.rhs)  # a wrong formula, as a source typo would be
    wrong = dataclasses.replace(step, claim=dataclasses.replace(step.claim, rhs=printed))
    assert wrong.verify().erratum


# --- sentinels ------------------------------------------------------------------------------------


def test_bind_replaces_sentinels_only_where_used():
    check = RewriteToZero(LHS, RHS + 0 * eta)
    bound = bind(check, eta, lam)
    assert (bound.lhs, bound.rhs) == (eta, lam)
    untouched = RewriteToZero(eta, lam)
    assert bind(untouched, b1, b2) is untouched


# --- the checks -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lhs", "rhs", "ok"),
    [
        ((eta + 1) ** 2, eta**2 + 2 * eta + 1, True),
        (b3 ** (t + 1), b3 * b3**t, True),
        (b3 ** (2 * t), (b3**t) ** 2, True),
        ((1 - b3 ** (2 * t)) / (1 - b3**t), 1 + b3**t, True),
        (b3 ** (t + 1), b3**t, False),
        ((1 - b3 ** (2 * t)) / (1 - b3**t), 1 - b3**t, False),
    ],
)
def test_rewrite_to_zero(lhs, rhs, ok):
    result = RewriteToZero(lhs, rhs).run()
    assert result.passed is ok
    assert is_zero(lhs - rhs) is ok


def test_rewrite_to_zero_given():
    assert RewriteToZero(b3, 1 - eta * lam, given={b3: 1 - eta * lam}).run().passed
    assert not RewriteToZero(b3, 1 - eta * lam).run().passed


def test_split_powers_makes_symbolic_exponents_rational():
    split = split_powers(b3 ** (2 * t + 3) * b1 ** (t - j))
    assert not any(p.exp.free_symbols for p in split.atoms(sp.Pow))


_n = sp.Symbol("n", integer=True, positive=True)


@pytest.mark.parametrize(
    ("closed", "ok"), [(_n * (_n + 1) / 2, True), (_n**2 / 2, False), (_n * (_n - 1) / 2, False)]
)
def test_induction_sum_of_first_integers(closed, ok):
    total = sp.Function("S")
    result = SolvesRecursion(total(_n), closed, total(_n - 1) + _n, _n).run()
    assert result.passed is ok, result.detail


def test_induction_with_factor_ema():
    # S(n) = beta S(n-1) + (1 - beta): the closed form 1 - beta^n; 1 - beta^(n+1) is wrong.
    ema = sp.Function("S")
    recursion = b1 * ema(_n - 1) + 1 - b1
    assert SolvesRecursion(ema(_n), 1 - b1**_n, recursion, _n).run().passed
    assert not SolvesRecursion(ema(_n), 1 - b1 ** (_n + 1), recursion, _n).run().passed


def test_limit_ratio():
    good = LimitRatio(eta + eta**2, eta, ((eta, 0, "+"),), "unit.good").run()
    assert good.passed, good.detail
    bad = LimitRatio(2 * eta + eta**2, eta, ((eta, 0, "+"),), "unit.bad").run()
    assert not bad.passed
    assert "2" in bad.detail


def test_limit_value():
    assert LimitValue(sp.sin(eta) / eta, sp.Integer(1), eta, 0, "unit.lv").run().passed
    assert not LimitValue(sp.sin(eta) / eta, sp.Integer(2), eta, 0, "unit.lv").run().passed


def test_mean_field_rewrite():
    E, m, v = S.Expect, S.m, S.v
    lhs = E(m[t] ** 2 / v[t])
    assert MeanFieldRewrite(lhs, E(m[t] ** 2) / E(v[t])).run().passed
    assert not MeanFieldRewrite(lhs, lhs).run().passed
    assert not MeanFieldRewrite(lhs, E(m[t]) ** 2 / E(v[t])).run().passed
    assert not MeanFieldRewrite(lhs, E(m[t] ** 2) / E(v[t]) ** 2).run().passed


def test_spot_check():
    assert SpotCheck(b3 ** (t + 1), b3 * b3**t, "unit.spot").run().passed
    result = SpotCheck(b3 ** (t + 1), b3**t, "unit.spot").run()
    assert not result.passed
    assert "lhs - rhs" in result.detail


def test_brute_force():
    ema = sp.Sum((1 - b1) * b1 ** (t - i) * S.g[i], (i, 1, t))

    def recursion(n: int) -> sp.Expr:
        state = sp.Integer(0)
        for k in range(1, n + 1):
            state = b1 * state + (1 - b1) * S.g[k]
        return state

    assert BruteForce(recursion, ema).run().passed
    wrong = sp.Sum((1 - b1) * b1 ** (t - i + 1) * S.g[i], (i, 1, t))
    result = BruteForce(recursion, wrong).run()
    assert not result.passed
    assert "t = 1" in result.detail


def test_by_coordinates():
    a, b = S.theta[0], S.u[1]
    good = S.RMS2(a) + 4 * S.MeanDot(a, b) + 4 * S.RMS2(b)
    assert CoordinateIdentity(S.RMS2(a + 2 * b), good).run().passed
    assert not CoordinateIdentity(S.RMS2(a + 2 * b), S.RMS2(a) + 4 * S.RMS2(b)).run().passed


def test_numeric_value():
    assert RoundsTo(1 / sp.sqrt(19), sp.sqrt(19) / 19, "0.2294", 4).run().passed
    assert not RoundsTo(1 / sp.sqrt(20), sp.sqrt(19) / 19, "0.2294", 4).run().passed


def test_claim_check():
    assert ClaimCheck((1 - b1**2) / (1 - b1), 1 + b1, "unit.claim").run().passed
    assert not ClaimCheck((1 - b1**2) / (1 - b1), 1 - b1, "unit.claim").run().passed


# --- derivation rules -----------------------------------------------------------------------------

_AT = {b1: sp.Rational(9, 11), b2: sp.Rational(19, 23), b3: sp.Rational(29, 31)}


@pytest.mark.parametrize(
    "summand",
    [
        b3 ** (t - i),
        b1 ** (t - i) * b3 ** (i - 1),
        (b3 ** (t - i + 1) - b1 ** (t - i + 1)) * b2**i,
        (b3 ** (t - i) - b1 ** (t - i)) ** 2,
        b3 ** (2 * i) / (b3 - b1) ** 2,
    ],
)
@pytest.mark.parametrize(("lower", "n"), [(1, 1), (1, 5), (3, 7)])
def test_geometric_sum_matches_summation(summand, lower, n):
    closed = geometric_sum(summand, i, sp.Integer(lower), t)
    got = closed.xreplace(_AT).subs(t, n)
    expected = sp.summation(summand.xreplace(_AT).subs(t, n), (i, lower, n)).doit()
    assert sp.nsimplify(got - expected) == 0


def test_geometric_sum_symbolic_lower_limit():
    # As in double_sum_*: the inner sum runs from j to t.
    closed = geometric_sum(b3 ** (t - i) * b1 ** (i - j), i, j, t)
    for n, lower in [(4, 1), (6, 3), (5, 5)]:
        got = closed.xreplace(_AT).subs({t: n, j: lower})
        expected = sum(
            (b3 ** (n - k) * b1 ** (k - lower)).xreplace(_AT) for k in range(lower, n + 1)
        )
        assert got - expected == 0


def test_geometric_sum_refuses_non_geometric():
    with pytest.raises(NotGeometricError):
        geometric_sum(i * b3**i, i, 1, t)


def test_geometric_sum_constant_term():
    closed = geometric_sum((1 - b3**i) ** 2, i, sp.Integer(1), t)
    expected = sp.summation(((1 - b3**i) ** 2).xreplace(_AT).subs(t, 5), (i, 1, 5))
    assert sp.nsimplify(closed.xreplace(_AT).subs(t, 5) - expected) == 0


def _unroll(s: sp.Sum) -> sp.Expr:
    """Expand a nested sum term by term, outermost (concrete) limit first."""
    *inner, (index, lower, upper) = s.limits
    terms = []
    for k in range(int(lower), int(upper) + 1):
        body = s.function.subs(index, k)
        if inner:
            limits = [(v, lo.subs(index, k), hi.subs(index, k)) for v, lo, hi in inner]
            terms.append(_unroll(sp.Sum(body, *limits)))
        else:
            terms.append(body)
    return sp.Add(*terms)


def test_swap_triangular_sum_brute_force():
    a, c = sp.IndexedBase("a"), sp.IndexedBase("c")
    o, n = sp.symbols("o n", integer=True, positive=True)
    double = sp.Sum(a[o] * c[n] * b3 ** (o - n), (n, 1, o), (o, 1, t))
    swapped = swap_triangular_sum(double)
    assert swapped.limits == ((o, n, t), (n, 1, t))
    lhs = sp.expand(_unroll(double.subs(t, 4)))
    rhs = sp.expand(_unroll(swapped.subs(t, 4)))
    assert lhs - rhs == 0
    assert len(sp.Add.make_args(lhs)) == 10  # 4 + 3 + 2 + 1 terms


def test_swap_triangular_sum_rejects_other_shapes():
    n = sp.Symbol("n", integer=True, positive=True)
    with pytest.raises(ValueError, match="double sum"):
        swap_triangular_sum(sp.Sum(b3**n, (n, 1, t)))
    with pytest.raises(ValueError, match="inner sum"):
        swap_triangular_sum(sp.Sum(b3 ** (n + i), (n, 1, t), (i, 1, t)))


def test_gaussian_expectation_matches_sympy_stats():
    import sympy.stats as stats

    a, b = sp.symbols("a b", real=True)
    x, y = sp.symbols("x y")
    X = stats.Normal("X", S.mu, S.sigma)
    Y = stats.Normal("Y", S.mu, S.sigma)
    expected = stats.E((a * X + b * Y) ** 2)
    got = gaussian_expectation((a * x + b * y) ** 2, [x, y], S.mu, S.sigma)
    assert sp.expand(got - expected) == 0


def test_gaussian_expectation_fourth_moment_and_limit():
    x = sp.Symbol("x")
    got = gaussian_expectation((x - S.mu) ** 4, [x], S.mu, S.sigma)
    assert sp.expand(got - 3 * S.sigma**4) == 0
    with pytest.raises(ValueError, match="order 5"):
        gaussian_expectation(x**5, [x], S.mu, S.sigma)


# --- step verification is about *this* step's checks ----------------------------------------------


def _verdict(check, lhs: sp.Expr, rhs: sp.Expr) -> bool:
    step = Step(
        id="probe",
        title="probe",
        section="probe",
        lhs=lhs,
        rhs=rhs,
        kind=Kind.IDENTITY,
        justification="",
        checks=(check,),
    )
    return step.verify().passed


def test_each_step_gets_its_own_checks_verdict():
    # Fresh check objects are created and dropped in turn: a verdict must never be reused for a
    # different check, even when Python hands out the same id() to the new object.
    wrong, right = [], []
    for _ in range(50):
        wrong.append(_verdict(RewriteToZero(LHS, RHS), eta, eta + 1))
        right.append(_verdict(RewriteToZero(LHS + 1, RHS), eta, eta + 1))
    assert not any(wrong), f"{sum(wrong)} of 50 wrong statements verified"
    assert all(right), f"{50 - sum(right)} of 50 true statements failed"


# --- the fast limit (where present) agrees with SymPy's -----------------------------------------


_x = sp.Symbol("x", positive=True)


@pytest.mark.parametrize(
    ("expr", "variable", "point", "direction"),
    [
        ((_x**2 + _x - 2) / (_x**2 + 2 * _x - 3), _x, 1, "+"),  # 0/0 after expansion
        (_x / (_x**2 - _x), _x, 0, "+"),
        ((1 - b3**2) / (1 - b3), b3, 1, "-"),
        ((b3 - b1) / (b3**2 - b1**2), b3, b1, "+"),
        ((2 * _x**2 + 1) / (_x**2 + 3 * _x), _x, sp.oo, "-"),
        ((_x + 1) / (_x - 2), _x, 0, "+"),
        (_x * (1 - b3) / (1 - b3**3), b3, 1, "-"),
        ((1 - b3) ** 2 / (1 - b3) ** 3 * (1 - b3), b3, 1, "-"),
        (eta**2 / (eta + eta**3), eta, 0, "+"),
    ],
)
def test_fast_limit_agrees_with_sympy(expr, variable, point, direction):
    from adamw_rms import checks as proof

    fast = getattr(proof, "limit", None)
    if fast is None:
        pytest.skip("adamw_rms.proof has no fast limit")
    expected = sp.limit(expr, variable, point, direction)
    got = fast(expr, variable, point, direction)
    assert sp.simplify(got - expected) == 0, (got, expected)


# --- every step's checks test its own statement -----------------------------------------------


def _non_definitions():
    from adamw_rms.steps import DERIVATION_NAMES, derivation

    return [
        pytest.param(step, id=step.qualified_id)
        for name in DERIVATION_NAMES
        for step in derivation(name).steps
        if step.kind is not Kind.DEFINITION
    ]


@pytest.mark.parametrize("step", _non_definitions())
def test_doubling_the_right_side_fails(step):
    """No step passes whatever its right side says: doubling it must be caught."""
    doubled = dataclasses.replace(step, rhs=2 * step.rhs)
    assert not doubled.verify().passed


def test_average_of_ratios_step_checks_its_statement():
    from adamw_rms import symbols as S

    step = find_step("weight_rms.u_bar_mean_field")
    without_root = dataclasses.replace(step, rhs=S.m_bar[S.t] / S.v_bar[S.t])
    assert not without_root.verify().passed
