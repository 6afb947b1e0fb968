"""The numeric estimators against the SymPy expressions they were printed from."""

from __future__ import annotations

import subprocess
import sys

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from adamw_rms import derivation
from adamw_rms import symbols as S
from adamw_rms.algebra import freeze_powers
from adamw_rms.estimators import (
    equilibrium_weight_rms,
    lambdify_result,
    timescale,
    update_rms,
    weight_rms,
    weight_rms_quick,
)

REFERENCE_DIGITS = 50
RHO0 = sp.Symbol("rho0", nonnegative=True)


def _reference_functions():
    """mpmath functions of the *derived* expression (not the printed kernel)."""
    derived = derivation("weight_rms").result("weight_rms_sq").xreplace({S.rho0: RHO0})
    frozen = freeze_powers(derived, {S.beta3**S.t: S.beta3_pow_t}).subs(S.beta3, 1 - S.eta * S.lam)
    arguments = (S.eta, S.lam, S.beta3_pow_t, S.snr, RHO0)
    return sp.lambdify(arguments, frozen, modules="mpmath")


REFERENCE = _reference_functions()


def reference_weight_rms(lr, weight_decay, steps, snr, init_rms) -> mpmath.mpf:
    with mpmath.workdps(REFERENCE_DIGITS):
        eta, lam = mpmath.mpf(lr), mpmath.mpf(weight_decay)
        decay = mpmath.power(1 - eta * lam, mpmath.mpf(steps)) if np.isfinite(steps) else 0
        value = REFERENCE(eta, lam, decay, mpmath.mpf(snr), mpmath.mpf(init_rms) ** 2)
        return mpmath.sqrt(value)


def relative_error(got: float, expected: mpmath.mpf) -> float:
    with mpmath.workdps(REFERENCE_DIGITS):
        return float(abs(mpmath.mpf(got) - expected) / abs(expected))


log_uniform = st.floats(min_value=-14, max_value=np.log10(0.5)).map(lambda e: 10.0**e)
learning_rates = st.floats(min_value=-6, max_value=1).map(lambda e: 10.0**e)
steps_values = st.one_of(
    st.floats(min_value=0, max_value=12).map(lambda e: float(round(10.0**e))),
    st.just(np.inf),
)


@settings(max_examples=300, deadline=None)
@given(
    decay_per_step=log_uniform,
    lr=learning_rates,
    steps=steps_values,
    snr=st.one_of(st.just(0.0), st.floats(min_value=0, max_value=1e6)),
    init_rms=st.floats(min_value=0, max_value=10),
)
def test_weight_rms_matches_the_derived_expression(decay_per_step, lr, steps, snr, init_rms):
    weight_decay = decay_per_step / lr
    if lr * weight_decay >= 1:  # rounding at the top of the range
        return
    got = weight_rms(lr, weight_decay, steps=steps, snr=snr, init_rms=init_rms)
    expected = reference_weight_rms(lr, weight_decay, steps, snr, init_rms)
    if expected == 0:
        assert got == 0
        return
    assert relative_error(got, expected) <= 1e-12


@settings(max_examples=100, deadline=None)
@given(
    decay_per_step=st.floats(min_value=-8, max_value=-1).map(lambda e: 10.0**e),
    lr=learning_rates,
    init_rms=st.floats(min_value=0, max_value=10),
)
def test_trajectory_moves_monotonically_to_equilibrium(decay_per_step, lr, init_rms):
    weight_decay = decay_per_step / lr
    whole = np.unique(np.round(np.geomspace(1, 1e3 / decay_per_step, 60)))  # steps are counts
    steps = np.concatenate([[0.0], whole, [np.inf]])
    path = weight_rms(lr, weight_decay, steps=steps, init_rms=init_rms)
    equilibrium = equilibrium_weight_rms(lr, weight_decay)
    assert path[0] == pytest.approx(init_rms, rel=1e-12, abs=1e-300)
    assert path[-1] == pytest.approx(equilibrium, rel=1e-12)
    steps_taken = np.diff(path)
    slack = 1e-13 * max(init_rms, equilibrium)
    if init_rms <= equilibrium:
        assert np.all(steps_taken >= -slack)
    else:
        assert np.all(steps_taken <= slack)


def test_no_decay_limit_and_special_case_agree():
    lr, steps, init = 1e-3, 1e4, 0.1
    exact = weight_rms(lr, 0.0, steps=steps, init_rms=init)
    assert exact == pytest.approx(np.sqrt(init**2 + lr**2 * steps), rel=1e-15)
    for weight_decay in (1e-6, 1e-9, 1e-12):
        near = weight_rms(lr, weight_decay, steps=steps, init_rms=init)
        assert near == pytest.approx(exact, rel=10 * lr * weight_decay * steps + 1e-15)


def test_no_decay_with_signal_grows_linearly():
    # lambda -> 0 of the full formula: rho0 + eta^2 (t^2 SNR + t)/(SNR + 1).
    lr, steps, snr = 1e-3, 1e4, 2.0
    got = weight_rms(lr, 0.0, steps=steps, snr=snr)
    assert got == pytest.approx(np.sqrt(lr**2 * (steps**2 * snr + steps) / (snr + 1)), rel=1e-14)


def test_long_runs_reach_the_equilibrium():
    lr, weight_decay = 1e-3, 0.1
    assert weight_rms(lr, weight_decay, steps=1e9) == weight_rms(lr, weight_decay, steps=np.inf)
    assert weight_rms(lr, weight_decay) == pytest.approx(np.sqrt(lr / (2 * weight_decay)))
    assert weight_rms(lr, 0.0, steps=np.inf) == np.inf
    assert weight_rms(0.0, 0.0, steps=np.inf, init_rms=0.3) == 0.3


@pytest.mark.parametrize("seed", range(5))
def test_mpmath_backend_agrees_with_numpy(seed):
    rng = np.random.default_rng(seed)
    lr = 10 ** rng.uniform(-5, -1, 20)
    weight_decay = 10 ** rng.uniform(-3, 0, 20)
    steps = np.round(10 ** rng.uniform(0, 7, 20))
    snr = rng.uniform(0, 3, 20)
    init = rng.uniform(0, 1, 20)
    fast = weight_rms(lr, weight_decay, steps=steps, snr=snr, init_rms=init)
    with mpmath.workdps(30):
        precise = weight_rms(
            lr, weight_decay, steps=steps, snr=snr, init_rms=init, backend="mpmath"
        )
        precise = np.array([float(v) for v in precise])
    np.testing.assert_allclose(fast, precise, rtol=1e-14, atol=0)


def test_broadcasting_and_output_types():
    assert isinstance(weight_rms(1e-3, 0.1), float)
    out = weight_rms(np.full((3, 1), 1e-3), [0.05, 0.1], steps=[[10.0], [1e3], [1e6]])
    assert isinstance(out, np.ndarray) and out.shape == (3, 2)
    assert isinstance(update_rms([0.9, 0.95]), np.ndarray)
    assert isinstance(update_rms(0.9), float)


def test_other_estimators():
    assert update_rms(0.9) == pytest.approx(np.sqrt(0.1 / 1.9), rel=1e-15)
    assert update_rms(0.9, snr=1e12) == pytest.approx(1.0, rel=1e-9)
    assert equilibrium_weight_rms(2e-3, 0.1) == pytest.approx(0.1, rel=1e-15)
    assert weight_rms_quick(1e-3, 0.1, beta1=0.9) == pytest.approx(
        np.sqrt(0.1 / 1.9 * 1e-3 / 0.2), rel=1e-15
    )
    assert timescale(1e-3, 0.1) == pytest.approx(1e4, rel=1e-15)
    with mpmath.workdps(40):
        beta1 = mpmath.mpf(0.9)  # the float 0.9, exactly as the backend receives it
        exact = mpmath.sqrt((1 - beta1) / (1 + beta1))
        assert mpmath.almosteq(
            update_rms(0.9, backend="mpmath"), exact, rel_eps=mpmath.mpf(10) ** -38
        )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: weight_rms(-1e-3, 0.1), "lr must be in [0, inf)"),
        (lambda: weight_rms(1e-3, -0.1), "weight_decay must be in [0, inf)"),
        (lambda: weight_rms(np.nan, 0.1), "lr must be"),
        (lambda: weight_rms(1e-3, np.inf), "weight_decay must be"),
        (lambda: weight_rms(20.0, 0.1), "lr * weight_decay must be in [0, 1)"),
        (lambda: weight_rms(1e-3, 0.1, beta1=1.0), "beta1 must be in [0, 1)"),
        (lambda: weight_rms(1e-3, 0.1, beta1=-0.1), "beta1 must be in [0, 1)"),
        (lambda: weight_rms(1e-3, 0.1, steps=-1), "steps must be in [0, inf) or inf"),
        (lambda: weight_rms(1e-3, 0.1, steps=np.nan), "steps must be"),
        (lambda: weight_rms(1e-3, 0.1, snr=-1), "snr must be in [0, inf)"),
        (lambda: weight_rms(1e-3, 0.1, init_rms=np.inf), "init_rms must be"),
        (lambda: weight_rms(1e-3, 0.1, backend="jax"), "backend must be one of"),
        (lambda: weight_rms([1e-3, 1e-3, -2.0], 0.1), "got -2.0 at index (2,)"),
        (lambda: equilibrium_weight_rms(1e-3, 0.0), "weight_decay must be in (0, inf)"),
        (lambda: weight_rms_quick(1e-3, 0.0), "weight_decay must be in (0, inf)"),
        (lambda: timescale(0.0, 0.1), "lr must be in (0, inf)"),
        (lambda: update_rms(1.5), "beta1 must be in [0, 1)"),
        (lambda: update_rms(0.9, snr=np.inf), "snr must be"),
    ],
)
def test_bad_input_names_the_parameter(call, message):
    with pytest.raises(ValueError, match=None) as caught:
        call()
    assert message in str(caught.value)


def test_import_does_not_load_sympy():
    code = "import sys, adamw_rms.estimators; print('sympy' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_lambdify_result_gives_the_same_numbers():
    f = lambdify_result("weight_rms_quick")
    expected = weight_rms_quick(1e-3, 0.1, beta1=0.9)
    assert float(f(1e-3, 0.1, 0.9)) == pytest.approx(expected, rel=1e-14)
    with pytest.raises(ValueError, match="unknown result"):
        lambdify_result("weight_rms_cubed")


def _derived(name: str) -> tuple[tuple, sp.Expr]:
    """The derived SymPy expression behind each simple estimator, in estimator arguments."""
    weight, update = derivation("weight_rms"), derivation("update_rms")
    beta3 = weight.step("beta3_def").rhs
    table = {
        "update_rms": ((S.beta1, S.snr), sp.sqrt(update.result("update_rms_sq"))),
        "weight_rms_quick": ((S.eta, S.lam, S.beta1), weight.result("weight_rms_quick")),
        "equilibrium_weight_rms": ((S.eta, S.lam), weight.result("equilibrium_weight_rms")),
        "timescale": ((S.eta, S.lam), 1 / (1 - beta3)),
    }
    return table[name]


SIMPLE = {
    # Positional arguments in the derived expression's order; the estimators take the ones after
    # (lr, weight_decay) -- or after beta1 for update_rms -- by keyword.
    "update_rms": (
        lambda beta1, snr: update_rms(beta1, snr=snr),
        lambda r: (r.uniform(0, 0.9999), r.uniform(0, 1e3)),
    ),
    "weight_rms_quick": (
        lambda lr, weight_decay, beta1: weight_rms_quick(lr, weight_decay, beta1=beta1),
        lambda r: (10 ** r.uniform(-6, -2), 10 ** r.uniform(-4, 1), r.uniform(0, 0.9999)),
    ),
    "equilibrium_weight_rms": (
        equilibrium_weight_rms,
        lambda r: (10 ** r.uniform(-6, -2), 10 ** r.uniform(-4, 1)),
    ),
    "timescale": (timescale, lambda r: (10 ** r.uniform(-6, -2), 10 ** r.uniform(-4, 1))),
}


@pytest.mark.parametrize("name", sorted(SIMPLE))
def test_simple_estimators_match_their_derived_expressions(name):
    function, draw = SIMPLE[name]
    arguments, expr = _derived(name)
    reference = sp.lambdify(arguments, expr, modules="mpmath")
    rng = np.random.default_rng(len(name))
    for _ in range(50):
        values = draw(rng)
        with mpmath.workdps(REFERENCE_DIGITS):
            expected = reference(*(mpmath.mpf(v) for v in values))
        assert relative_error(function(*values), expected) <= 1e-14


@settings(max_examples=50, deadline=None)
@given(beta1=st.floats(min_value=0, max_value=0.9999))
def test_weight_rms_does_not_depend_on_beta1(beta1):
    assert weight_rms(1e-3, 0.1, beta1=beta1, steps=1e4) == weight_rms(1e-3, 0.1, steps=1e4)


def test_req_formula_for_adamw_is_the_zero_mean_equilibrium():
    from adamw_rms import weight_rms

    assert weight_rms(1e-3, 0.1, formula="req") == pytest.approx(np.sqrt(1e-3 / 0.2), rel=1e-15)
    for bad in ({"steps": 100}, {"snr": 1.0}):
        with pytest.raises(ValueError, match="steps=inf and snr=0"):
            weight_rms(1e-3, 0.1, formula="req", **bad)
    with pytest.raises(ValueError, match="'req'"):
        weight_rms(1e-3, 0.1, formula="reqq")
