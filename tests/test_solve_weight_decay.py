"""The weight decay for a target RMS: derived closed form, numeric inversions, validation."""

from __future__ import annotations

import dataclasses

import mpmath
import numpy as np
import pytest
import sympy as sp

import adamw_rms
from adamw_rms import derivation
from adamw_rms import symbols as S
from adamw_rms.checks import UniquePositiveRoot
from adamw_rms.codegen import _equilibrium_weight_decay, lr_over_rms
from adamw_rms.estimators import (
    _generated,
    solve_schedule_weight_decay,
    solve_weight_decay,
    weight_rms,
    weight_rms_trajectory,
)
from adamw_rms.estimators._common import _decay_terms_mpmath
from adamw_rms.schedules import cosine, proportional_weight_decay

EPS = np.finfo(np.float64).eps
LR = 1e-3


def relative(got, expected):
    return np.abs(np.asarray(got, dtype=np.float64) / np.asarray(expected, dtype=np.float64) - 1)


# --- the derivation -------------------------------------------------------------------------------


def test_steps_are_in_the_derivation_and_verify():
    d = derivation("weight_rms")
    assert d.ids[-2:] == ["theta_rms_equilibrium", "weight_decay_for_rms"]
    assert d.result("equilibrium_weight_decay") is d.step("weight_decay_for_rms").rhs
    for step_id in ("theta_rms_equilibrium", "weight_decay_for_rms"):
        result = d.step(step_id).verify()
        assert result.passed, [c.detail for c in result.checks if not c.passed]
    methods = d.step("weight_decay_for_rms").verify().method
    assert "Vieta" in methods and "substituted back" in methods and "spot" in methods


def test_equilibrium_is_the_limit_of_eq_theta_rms():
    # Independently of the step's own check: beta3^t -> 0 numerically in the derived formula.
    d = derivation("weight_rms")
    equilibrium = d.step("theta_rms_equilibrium").rhs
    full = d.result("weight_rms_sq").subs(S.beta3, 1 - S.eta * S.lam)
    point = {S.eta: sp.Float("3e-3", 40), S.lam: sp.Float("0.7", 40), S.snr: sp.Float(2, 40)}
    late = full.xreplace({S.rho0: sp.Float("0.25", 40)}).subs(point).subs(S.t, 10**6)
    assert abs(late / equilibrium.subs(point) - 1) < 1e-30


def test_the_other_root_fails_verification():
    step = derivation("weight_rms").step("weight_decay_for_rms")
    (root,) = [p for p in step.rhs.atoms(sp.Pow) if p.exp == sp.S.Half]
    negative = step.rhs.xreplace({root: -root})
    broken = dataclasses.replace(step, rhs=negative)
    failed = {c.method for c in broken.verify().checks if not c.passed}
    # It solves the equation, but it is not the positive root (and not eta/(2r^2) at SNR 0).
    assert "substituted back" not in failed
    assert "the unique positive root (Vieta)" in failed


def test_unique_positive_root_refuses_undecided_signs():
    a, x = sp.Symbol("a", real=True), sp.Symbol("x")
    # Roots 1 and a: the product has no known sign.
    assert not UniquePositiveRoot((x - 1) * (x - a), x, sp.Integer(1)).run().passed
    # Roots 1 and -(1 + a^2) < 0: the product alone decides.
    assert UniquePositiveRoot((x - 1) * (x + a**2 + 1), x, sp.Integer(1)).run().passed
    assert not UniquePositiveRoot((x - 1) * (x + a**2 + 1), x, sp.Integer(2)).run().passed
    assert not UniquePositiveRoot(x**3 - 1, x, sp.Integer(1)).run().passed


def _reference_root():
    """The derived SymPy root (not the printed kernel), as an mpmath function."""
    rhs = derivation("weight_rms").step("weight_decay_for_rms").rhs
    return sp.lambdify((S.eta, S.target_rms, S.snr), rhs, modules="mpmath")


@pytest.mark.parametrize("snr", [0.0, 1e-12, 1e-3, 1.0, 1e6])
def test_closed_form_against_derived_expression_at_50_digits(snr):
    reference = _reference_root()
    lrs, targets = np.array([1e-5, 1e-3, 5e-3]), np.array([0.01, 0.05, 1.0, 30.0])
    got = solve_weight_decay(targets[:, None], lrs, snr=snr)
    with mpmath.workdps(50):
        mp_backend = solve_weight_decay(targets[:, None], lrs, snr=snr, backend="mpmath")
        for (k, m), value in np.ndenumerate(got):
            expected = reference(mpmath.mpf(lrs[m]), mpmath.mpf(targets[k]), mpmath.mpf(snr))
            assert float(abs(value - expected) / expected) < 4 * EPS
            assert abs(mp_backend[k, m] - expected) / expected < mpmath.mpf(10) ** -45


def test_zero_snr_is_lr_over_twice_the_square():
    targets = np.geomspace(1e-3, 10, 9)
    lrs = np.geomspace(1e-6, 1e-3, 4)[:, None]
    assert np.all(relative(solve_weight_decay(targets, lrs), lrs / (2 * targets**2)) < 2 * EPS)


def test_large_snr_tends_to_one_over_the_target():
    assert relative(solve_weight_decay(0.05, LR, snr=1e12), 1 / 0.05) < 1e-12


def test_printed_kernel_is_the_derived_root():
    # What lambdify_result("equilibrium_weight_decay") returns, without building every kernel.
    kernel = _equilibrium_weight_decay()
    assert kernel.expr.has(lr_over_rms) and not kernel.in_arguments().has(lr_over_rms)
    f = sp.lambdify(kernel.arguments, kernel.in_arguments(), modules="numpy")
    assert relative(f(LR, 0.05, 0.3), solve_weight_decay(0.05, LR, snr=0.3)) < 4 * EPS


# --- round trips ----------------------------------------------------------------------------------


@pytest.mark.parametrize("snr", [0.0, 0.3])
def test_equilibrium_round_trip(snr):
    targets = np.geomspace(0.01, 100, 11)[:, None]
    lrs = np.array([1e-4, 1e-3, 1e-2])
    decay = solve_weight_decay(targets, lrs, snr=snr)
    assert decay.shape == (11, 3)
    assert np.all(relative(weight_rms(lrs, decay, snr=snr), targets) < 1e-14)


@pytest.mark.parametrize("snr", [0.0, 0.3])
@pytest.mark.parametrize("init_rms", [0.0, 0.02, 1.0])
def test_finite_steps_round_trip(snr, init_rms):
    steps = np.array([1.0, 7.0, 1e3, 1e5, 1e7])
    decay = np.geomspace(1e-4, 0.99, 7)[:, None] / LR  # lr * weight_decay from 1e-4 to 0.99
    targets = weight_rms(LR, decay, steps=steps, snr=snr, init_rms=init_rms)
    solved = solve_weight_decay(targets, LR, steps=steps, snr=snr, init_rms=init_rms)
    back = weight_rms(LR, solved, steps=steps, snr=snr, init_rms=init_rms)
    assert np.all(relative(back, targets) < 1e-12)
    # Where the RMS depends on the weight decay appreciably, the decay itself comes back.
    timescales = LR * decay * steps
    sensitive = (timescales > 1e-2) & (timescales < 50)
    assert np.all(relative(solved, decay)[sensitive] < 1e-9)


def test_mixed_finite_and_infinite_steps_broadcast():
    steps = np.array([[1e4], [np.inf]])
    targets = np.array([0.03, 0.05, 0.07])
    decay = solve_weight_decay(targets, LR, steps=steps, snr=0.1, init_rms=0.02)
    assert decay.shape == (2, 3)
    back = weight_rms(LR, decay, steps=steps, snr=0.1, init_rms=0.02)
    assert np.all(relative(back, targets) < 1e-12)
    assert np.array_equal(decay[1], solve_weight_decay(targets, LR, snr=0.1))


def test_long_runs_reach_the_equilibrium_answer():
    # lr * weight_decay * steps = 2000: beta3^t underflows, the finite answer is the closed form.
    finite = solve_weight_decay(0.05, LR, steps=1e7, snr=0.2)
    assert relative(finite, solve_weight_decay(0.05, LR, snr=0.2)) < 4 * EPS


def test_scalars_give_floats_and_arrays_keep_their_shape():
    assert isinstance(solve_weight_decay(0.05, LR), float)
    assert isinstance(solve_weight_decay(0.03, LR, steps=1000, init_rms=0.02), float)
    assert isinstance(solve_weight_decay(np.float64(0.05), np.array(LR)), float)
    assert solve_weight_decay([0.05], LR, steps=[1e4, 1e5]).shape == (2,)
    assert adamw_rms.solve_weight_decay is solve_weight_decay
    assert adamw_rms.solve_schedule_weight_decay is solve_schedule_weight_decay


def test_mpmath_backend_finite_steps_agrees():
    steps, init_rms, snr = 3000.0, 0.02, 0.1
    numpy_value = solve_weight_decay(0.04, LR, steps=steps, snr=snr, init_rms=init_rms)
    with mpmath.workdps(30):
        value = solve_weight_decay(
            0.04, LR, steps=steps, snr=snr, init_rms=init_rms, backend="mpmath"
        )
        # weight_rms rounds its inputs to float64: evaluate the printed kernel at full precision.
        lr, snr_mp, init_mp = mpmath.mpf(LR), mpmath.mpf(snr), mpmath.mpf(init_rms)
        power, total = _decay_terms_mpmath(lr * value, mpmath.mpf(steps))
        back = mpmath.sqrt(
            _generated.weight_rms_sq_mpmath(lr, value, power, total, snr_mp, init_mp)
        )
        assert abs(back / mpmath.mpf(0.04) - 1) < mpmath.mpf(10) ** -27
    assert relative(float(value), numpy_value) < 1e-12


def test_target_equal_to_the_no_decay_rms_needs_no_decay():
    top = weight_rms(LR, 0.0, steps=1000, init_rms=0.02)
    assert solve_weight_decay(top, LR, steps=1000, init_rms=0.02) < 1e-12
    with mpmath.workdps(20):
        assert solve_weight_decay(top, LR, steps=1000, init_rms=0.02, backend="mpmath") == 0


# --- the RMS decreases in the weight decay: the root is unique ------------------------------------


@pytest.mark.parametrize("t", range(1, 7))
def test_weight_rms_is_a_positive_polynomial_in_beta3(t):
    # With lambda = (1 - beta3)/eta, eq:theta-rms is a polynomial in beta3 with non-negative
    # coefficients and a positive linear term: strictly increasing in beta3 = 1 - eta*lambda,
    # i.e. strictly decreasing in lambda on [0, 1/eta).
    rho0 = sp.Symbol("rho0", nonnegative=True)
    rms_sq = derivation("weight_rms").result("weight_rms_sq").xreplace({S.rho0: rho0})
    in_beta3 = rms_sq.subs(S.t, t).subs(S.lam, (1 - S.beta3) / S.eta)
    poly = sp.Poly(sp.cancel(in_beta3 * (S.snr + 1)), S.beta3)
    coefficients = poly.all_coeffs()[::-1]
    assert all(c.is_nonnegative for c in coefficients)
    assert coefficients[1].is_positive


@pytest.mark.parametrize(("steps", "snr", "init_rms"), [(1, 0, 0.5), (3, 1, 0), (1e4, 0.1, 0.02),
                                                        (1e6, 0, 1.0), (np.inf, 3, 0)])  # fmt: skip
def test_weight_rms_decreases_in_weight_decay(steps, snr, init_rms):
    decay = np.concatenate(([0.0], np.geomspace(1e-9, 1 - 1e-9, 2000))) / LR
    values = weight_rms(LR, decay, steps=steps, snr=snr, init_rms=init_rms)
    assert np.all(np.diff(values) < 0)


# --- schedules ------------------------------------------------------------------------------------

SCHEDULE = cosine(1e-3, 1e-4, 5_000, warmup=200)


@pytest.mark.parametrize("proportional", [False, True])
@pytest.mark.parametrize(
    ("method", "snr"),
    [
        ("mean_field", 0.0),
        ("mean_field", 0.5),
        ("series", 0.0),
        ("ode", 0.0),
        ("single_epoch", 0.0),
    ],
)
@pytest.mark.parametrize("init_rms", [0.0, 0.02])
def test_schedule_round_trip(proportional, method, snr, init_rms):
    shape = proportional_weight_decay(SCHEDULE, 1.0) if proportional else None
    target = 0.04
    decay = solve_schedule_weight_decay(
        target, SCHEDULE, weight_decay_shape=shape, snr=snr, init_rms=init_rms, method=method
    )
    weight_decay = decay if shape is None else decay * shape
    final = weight_rms_trajectory(
        SCHEDULE, weight_decay, snr=snr, init_rms=init_rms, method=method
    )[-1]
    assert relative(final, target) < 1e-12
    assert isinstance(decay, float)


def test_schedule_solution_recovers_a_known_decay():
    final = weight_rms_trajectory(SCHEDULE, 0.1, beta1=0.5, init_rms=0.02)[-1]
    decay = solve_schedule_weight_decay(final, SCHEDULE, beta1=0.5, init_rms=0.02)
    assert relative(decay, 0.1) < 1e-10


def test_schedule_final_rms_decreases_in_weight_decay():
    finals = [weight_rms_trajectory(SCHEDULE, d)[-1] for d in np.geomspace(1e-3, 900, 40)]
    assert np.all(np.diff(finals) < 0)


def test_schedule_unreachable_targets_report_the_range():
    high = weight_rms_trajectory(SCHEDULE, 0.0, init_rms=0.02)[-1]
    low = weight_rms_trajectory(SCHEDULE, 1 / SCHEDULE.max(), init_rms=0.02)[-1]
    for target in (1.01 * high, 0.99 * low):
        with pytest.raises(ValueError, match="target_rms") as info:
            solve_schedule_weight_decay(target, SCHEDULE, init_rms=0.02)
        assert f"({low:.6g}, {high:.6g}]" in str(info.value)
    assert solve_schedule_weight_decay(high, SCHEDULE, init_rms=0.02) == 0.0


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "name"),
    [
        ({"target_rms": 0.0}, "target_rms"),
        ({"target_rms": -0.1}, "target_rms"),
        ({"target_rms": np.nan}, "target_rms"),
        ({"target_rms": np.inf}, "target_rms"),
        ({"lr": 0.0}, "lr"),
        ({"lr": -1e-3}, "lr"),
        ({"lr": [1e-3, np.nan]}, "lr"),
        ({"steps": 0.5}, "steps"),
        ({"steps": -np.inf}, "steps"),
        ({"steps": np.nan}, "steps"),
        ({"snr": -1.0}, "snr"),
        ({"snr": np.inf}, "snr"),
        ({"init_rms": -0.1}, "init_rms"),
        ({"backend": "torch"}, "backend"),
        ({"lr": [1e-3, 2e-3], "target_rms": [0.05, 0.06, 0.07]}, "broadcast"),
    ],
)
def test_invalid_inputs_are_named(arguments, name):
    call = {"target_rms": 0.05, "lr": LR, **arguments}
    with pytest.raises(ValueError, match=name):
        solve_weight_decay(**call)


@pytest.mark.parametrize(
    ("arguments", "name"),
    [
        ({"target_rms": 0.0}, "target_rms"),
        ({"target_rms": [0.04, 0.05]}, "target_rms"),
        ({"lr_schedule": np.array([1e-3, -1e-3])}, "lr_schedule"),
        ({"lr_schedule": np.ones((2, 2))}, "lr_schedule"),
        ({"lr_schedule": np.array([])}, "lr_schedule"),
        ({"lr_schedule": np.zeros(10)}, "lr_schedule"),
        ({"weight_decay_shape": np.ones(3)}, "weight_decay_shape"),
        ({"weight_decay_shape": -np.ones(SCHEDULE.size)}, "weight_decay_shape"),
        ({"beta1": 1.0}, "beta1"),
        ({"snr": -1.0}, "snr"),
        ({"init_rms": np.nan}, "init_rms"),
        ({"method": "exact"}, "method"),
        ({"method": "series", "snr": 0.5}, "snr"),
    ],
)
def test_invalid_schedule_inputs_are_named(arguments, name):
    call = {"target_rms": 0.04, "lr_schedule": SCHEDULE, **arguments}
    target = call.pop("target_rms")
    with pytest.raises(ValueError, match=name):
        solve_schedule_weight_decay(target, call.pop("lr_schedule"), **call)


@pytest.mark.parametrize("snr", [0.0, 2.0])
@pytest.mark.parametrize("steps", [1.0, 1000.0, np.inf])
def test_unreachable_targets_report_the_range(steps, snr):
    init_rms = 0.02
    # The ends of the range, from weight_rms itself: no decay, and lr * weight_decay -> 1.
    high = weight_rms(LR, 0.0, steps=steps, snr=snr, init_rms=init_rms)
    low = weight_rms(LR, (1 - 1e-13) / LR, steps=steps, snr=snr, init_rms=init_rms)
    shown = f"({low:.6g}, inf)" if steps == np.inf else f"({low:.6g}, {high:.6g}]"
    targets = [0.999 * low] + ([] if steps == np.inf else [1.001 * high])
    for target in targets:
        with pytest.raises(ValueError, match="target_rms") as info:
            solve_weight_decay(target, LR, steps=steps, snr=snr, init_rms=init_rms)
        assert shown in str(info.value)
    # Just inside both ends, it is solved.
    inside = [1.0001 * low] + ([] if steps == np.inf else [0.9999 * high])
    decay = solve_weight_decay(inside, LR, steps=steps, snr=snr, init_rms=init_rms)
    assert np.all(LR * decay < 1)
    back = weight_rms(LR, decay, steps=steps, snr=snr, init_rms=init_rms)
    assert np.all(relative(back, inside) < 1e-12)


def test_unreachable_element_of_an_array_is_located():
    with pytest.raises(ValueError, match=r"target_rms=0\.5 at index \(1,\)"):
        solve_weight_decay([0.03, 0.5], LR, steps=1000, init_rms=0.02)


def test_huge_snr_is_refused_with_the_range() -> None:
    with pytest.raises(ValueError, match=r"snr must be in \[0, 1e\+150\]"):
        solve_weight_decay(0.05, 1e-3, snr=1e200)
