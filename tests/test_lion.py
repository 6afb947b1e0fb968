"""Lion: the estimator against its derivation, SignSGDMW, mpmath, REQ and simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from adamw_rms import symbols as S
from adamw_rms.checks import SignQuadrature, _numeric_series
from adamw_rms.estimators import lion as lion_module
from adamw_rms.estimators import lion_bound, lion_weight_rms, sign_sgdm_weight_rms
from adamw_rms.evaluation_points import LION_PAIR_POINTS
from adamw_rms.steps import derivation


@pytest.fixture(scope="module")
def lion():
    return derivation("lion")


# --- the estimator against the derivation ------------------------------------------------------


@pytest.mark.parametrize(
    ("lr", "weight_decay", "beta1", "beta2", "steps", "snr", "init_rms"),
    [
        (0.02, 5.0, 0.9, 0.6, 6, 0.0, 0.3),
        (0.02, 3.0, 0.5, 0.8, 5, 0.4, 0.0),
        (0.01, 10.0, 0.9, 0.99, math.inf, 0.0, 0.0),
        (0.01, 10.0, 0.8, 0.7, math.inf, 0.3, 0.0),
    ],
)
def test_estimator_equals_the_derived_expression(
    lr, weight_decay, beta1, beta2, steps, snr, init_rms, lion
):
    step_id = "theta_rms_lion" if math.isfinite(steps) else "theta_rms_lion_limit"
    point = {
        S.eta: sp.nsimplify(lr),
        S.lam: sp.nsimplify(weight_decay),
        S.beta1: sp.nsimplify(beta1),
        S.beta2: sp.nsimplify(beta2),
        S.snr: sp.nsimplify(snr),
        S.rho0: sp.nsimplify(init_rms) ** 2,
        S.beta3: 1 - sp.nsimplify(lr) * sp.nsimplify(weight_decay),
    }
    if math.isfinite(steps):
        point[S.t] = sp.Integer(int(steps))
    expected = math.sqrt(float(_numeric_series(lion.step(step_id).rhs, point, 25)))
    got = lion_weight_rms(
        lr, weight_decay, beta1=beta1, beta2=beta2, steps=steps, snr=snr, init_rms=init_rms
    )
    assert got == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.99])
@pytest.mark.parametrize("snr", [0.0, 0.3])
def test_equal_betas_is_sign_sgdm(beta, snr):
    lion_value = lion_weight_rms(1e-3, 0.1, beta1=beta, beta2=beta, snr=snr)
    sign_value = sign_sgdm_weight_rms(1e-3, 0.1, beta1=beta, snr=snr)
    assert lion_value == pytest.approx(sign_value, rel=1e-12)


@pytest.mark.parametrize(
    ("beta1", "beta2", "steps", "snr"),
    [
        (0.9, 0.6, 150, 0.0),  # past the settled step (42): both parts of the sum
        (0.8, 0.3, 60, 0.5),  # with a mean: settled from step 37
        (0.0, 0.99, 30, 0.2),
        (0.9, 0.0, 20, 0.2),
        (0.9, 0.99, math.inf, 0.2),
    ],
)
def test_numpy_and_mpmath_backends_agree(beta1, beta2, steps, snr):
    keywords = {"beta1": beta1, "beta2": beta2, "steps": steps, "snr": snr, "init_rms": 0.1}
    fast = lion_weight_rms(0.01, 2.0, **keywords)
    slow = lion_weight_rms(0.01, 2.0, **keywords, backend="mpmath")
    assert fast == pytest.approx(float(slow), rel=1e-12)


@pytest.mark.parametrize(("low", "high"), [(0.0, 0.3), (0.3, 0.75), (0.75, 0.999)])
def test_quadrature_rules_reach_rounding(low, high):
    import mpmath

    from adamw_rms.estimators.lion import _sign_covariance

    rng = np.random.default_rng(int(high * 1000))
    shift, shift_y = rng.uniform(0.0, 8.0, (2, 20))
    correlation = rng.uniform(low, high, 20)
    got = _sign_covariance(shift, shift_y, correlation, noisy=True)

    def reference(a, b, r):
        def integrand(angle):
            spread = a * a + b * b - 2 * a * b * mpmath.sin(angle)
            return mpmath.exp(-spread / (2 * mpmath.cos(angle) ** 2))

        return 2 / mpmath.pi * mpmath.quad(integrand, [0, mpmath.asin(r)])

    with mpmath.workdps(30):
        for a, b, r, value in zip(shift, shift_y, correlation, got, strict=True):
            assert abs(value - float(reference(a, b, r))) < 1e-15


def test_two_shift_sign_quadrature_true_and_wrong():
    # The generalised check of checks.SignQuadrature (Y's mean differs): true and wrong pair.
    rhs = sp.erf(S.shift / sp.sqrt(2)) * sp.erf(S.shift_y / sp.sqrt(2))
    rhs += (2 / sp.pi) * sp.Integral(
        sp.exp(
            -(S.shift**2 + S.shift_y**2 - 2 * S.shift * S.shift_y * sp.sin(S.angle))
            / (2 * sp.cos(S.angle) ** 2)
        ),
        (S.angle, 0, sp.asin(S.corr)),
    )
    lhs = S.Expect(sp.sign(S.pair_x) * sp.sign(S.pair_y))
    assert SignQuadrature(lhs, rhs, LION_PAIR_POINTS, shift_y=S.shift_y).run().passed
    wrong = rhs.xreplace({S.shift_y: S.shift})  # the equal-shift lemma: wrong here
    assert not SignQuadrature(lhs, wrong, LION_PAIR_POINTS, shift_y=S.shift_y).run().passed


# --- REQ ----------------------------------------------------------------------------------------

# REQ / exact - 1 at equilibrium, lr * weight_decay = 1e-4 (measured; see the docstring).
REQ_ERRORS = {
    (0.9, 0.99): -0.0027,
    (0.5, 0.99): -0.0618,
    (0.99, 0.99): -0.0373,
    (0.9, 0.9): -0.0452,
    (0.0, 0.99): math.sqrt(2 / math.pi) - 1,
}


@pytest.mark.parametrize(("betas", "error"), REQ_ERRORS.items())
def test_req_error_pinned(betas, error):
    beta1, beta2 = betas
    exact = lion_weight_rms(1e-4, 1.0, beta1=beta1, beta2=beta2)
    req = lion_weight_rms(1e-4, 1.0, beta1=beta1, beta2=beta2, formula="req")
    assert req / exact - 1 == pytest.approx(error, abs=1e-4)


def test_req_at_no_momentum_is_the_lag0_term_only():
    # beta1 = 0: no lags at all; REQ keeps 2/pi where the sign has 1. Exact to O(lr wd).
    ratio = lion_weight_rms(1e-6, 1.0, beta1=0.0, formula="req") / lion_weight_rms(
        1e-6, 1.0, beta1=0.0
    )
    assert ratio == pytest.approx(math.sqrt(2 / math.pi), rel=1e-6)


def test_req_refuses_what_it_does_not_model():
    with pytest.raises(ValueError, match="steps must be inf"):
        lion_weight_rms(1e-3, 0.1, steps=100, formula="req")
    with pytest.raises(ValueError, match="snr must be 0"):
        lion_weight_rms(1e-3, 0.1, snr=0.1, formula="req")
    with pytest.raises(ValueError, match="weight_decay > 0"):
        lion_weight_rms(1e-3, 0.0, formula="req")


# --- input handling -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keywords", "match"),
    [
        ({"beta1": 1.0}, "beta1"),
        ({"beta1": -0.1}, "beta1"),
        ({"beta2": 1.0}, "beta2"),
        ({"beta2": float("nan")}, "beta2"),
        ({"steps": 10.5}, "steps"),
        ({"snr": -1.0}, "snr"),
        ({"init_rms": -1.0}, "init_rms"),
        ({"formula": "mean-field"}, "formula"),
        ({"backend": "torch"}, "backend"),
    ],
)
def test_bad_input_is_named(keywords, match):
    with pytest.raises((ValueError, TypeError), match=match):
        lion_weight_rms(1e-3, 0.1, **keywords)


def test_bad_hyperparameters_are_named():
    with pytest.raises(ValueError, match="lr \\* weight_decay"):
        lion_weight_rms(1.0, 1.0)
    with pytest.raises(ValueError, match="lr"):
        lion_weight_rms(-1e-3, 0.1)


def test_limits_and_broadcasting():
    assert lion_weight_rms(1e-3, 0.0) == math.inf  # no decay, infinitely many steps
    assert lion_weight_rms(0.0, 0.0, init_rms=0.5) == 0.5
    assert lion_weight_rms(1e-3, 0.1, steps=0, init_rms=0.3) == pytest.approx(0.3, rel=1e-15)
    # One step from 0: |theta_1| = lr exactly.
    assert lion_weight_rms(1e-3, 0.1, steps=1, snr=0.7) == pytest.approx(1e-3, rel=1e-14)
    out = lion_weight_rms([1e-3, 2e-3], 0.1, beta1=[[0.5], [0.9]], steps=[100, math.inf])
    assert out.shape == (2, 2)
    assert out[1, 1] == lion_weight_rms(2e-3, 0.1, beta1=0.9)
    assert isinstance(lion_weight_rms(1e-3, 0.1), float)


# --- the equilibrium over arrays, edge inputs, the cost limit ----------------------------------


@pytest.mark.parametrize(
    ("beta1", "beta2", "snr"),
    [
        (0.9, 0.99, 0.0),  # the defaults: no lag above the cut, the series alone
        (0.9, 0.99, 0.3),
        (0.99, 0.99, 0.0),  # rho_1 = 0.99: lags summed one by one, then the series
        (0.99, 0.99, 0.5),
        (0.95, 0.999, 0.0),
        (0.95, 0.999, 0.5),
        (0.0, 0.99, 0.2),  # independent signs
        (0.9, 0.0, 0.0),  # lag 1 only
        (0.9, 0.0, 0.2),
        (0.6, 0.7, 5.0),
        (0.9, 0.99, 10.0),  # large shift: the Hermite recurrence far from the origin
        (0.9, 0.99, 1e3),  # the pair moments underflow
    ],
)
def test_vectorised_equilibrium_equals_the_element_sum(beta1, beta2, snr):
    """Grouped and vectorised over (lr, wd): the per-element lag sum (``_one_numpy``) to 1e-12."""
    rng = np.random.default_rng(17)
    # (The subnormal lr * wd = 1e-310 overflows the element sum's 1/q: it is checked against
    # mpmath in test_tiny_and_huge_products_stay_finite.)
    lr = np.concatenate([10 ** rng.uniform(-6, -1, 12), [0.999, 1e-12, 0.5, 1e-150]])
    decay = np.concatenate([10 ** rng.uniform(-3, 0.9, 12), [1.0, 1.0, 1.999, 1e-10]])
    got = lion_weight_rms(lr, decay, beta1=beta1, beta2=beta2, snr=snr)
    for value, lr_i, decay_i in zip(got, lr, decay, strict=True):
        expected = lion_module._one_numpy(lr_i, decay_i, beta1, beta2, math.inf, snr, 0.0)
        assert value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("beta1", "beta2", "steps", "snr"),
    [
        (0.9, 0.6, 150, 0.0),  # past the settled step: both parts of the sum
        (0.8, 0.3, 60, 0.5),
        (0.0, 0.99, 30, 0.2),
        (0.9, 0.0, 20, 0.2),
        (0.9, 0.99, 1000, 0.0),  # before the settled step (2071): early pairs only
        (0.99, 0.99, 300, 0.5),
        (0.9, 0.99, 1, 0.3),
    ],
)
def test_grouped_finite_steps_equal_the_element_sum(beta1, beta2, steps, snr):
    """Pair covariances shared by the group and collected by power: the element sum to 1e-12."""
    rng = np.random.default_rng(18)
    lr = np.concatenate([10 ** rng.uniform(-6, -1, 5), [0.999, 1e-12, 0.5, 1e-300, 1e-3]])
    decay = np.concatenate([10 ** rng.uniform(-3, 0.9, 5), [1.0, 1.0, 1.999, 1e-10, 0.0]])
    init = rng.uniform(0.0, 1.0, lr.size)
    keywords = {"beta1": beta1, "beta2": beta2, "steps": steps, "snr": snr}
    got = lion_weight_rms(lr, decay, **keywords, init_rms=init)
    for value, lr_i, decay_i, init_i in zip(got, lr, decay, init, strict=True):
        expected = lion_module._one_numpy(lr_i, decay_i, beta1, beta2, steps, snr, init_i)
        assert value == pytest.approx(expected, rel=1e-12)


def test_groups_are_kept_apart():
    """Elements of several (beta1, beta2, snr) and finite steps in one call, each its own."""
    beta1 = np.array([0.9, 0.5, 0.9, 0.9])[:, None]
    snr = np.array([0.0, 0.3])
    steps = np.array([[math.inf], [math.inf], [50], [math.inf]])[..., None]
    out = lion_weight_rms(2e-3, 0.5, beta1=beta1, snr=snr, steps=steps)
    assert out.shape == (4, 4, 2)
    for i, j, k in np.ndindex(out.shape):
        one = lion_weight_rms(2e-3, 0.5, beta1=beta1[j, 0], snr=snr[k], steps=steps[i, 0, 0])
        # Equal up to the order of the blocked sums (a matrix product over other elements).
        assert out[i, j, k] == pytest.approx(one, rel=1e-14)


def test_orthant_series_is_the_quadrature():
    """The tetrachoric series at one correlation against the Gauss-Legendre arcsine integral."""
    for shift in (0.0, 0.4, 3.0):
        terms = lion_module._orthant_terms(shift, 0.5, 0.99)
        for correlation in (0.1, 0.3, 0.49):
            series = float(terms @ correlation ** np.arange(1, terms.size + 1))
            quadrature = lion_module._sign_covariance(
                np.array([shift]), np.array([shift]), np.array([correlation]), shift > 0
            )[0]
            assert series == pytest.approx(quadrature, rel=1e-13, abs=1e-300)


def test_tiny_and_huge_products_stay_finite():
    """lr * wd subnormal, lr**2 below float64, no decay for 1e300 steps: finite, no warning."""
    # lr**2 = 1e-600: the RMS is still lr times the sums' square root.
    for steps in (math.inf, 1000):
        fast = lion_weight_rms(1e-300, 1e-10, steps=steps)
        slow = float(lion_weight_rms(1e-300, 1e-10, steps=steps, backend="mpmath"))
        assert fast == pytest.approx(slow, rel=1e-12)
    # No decay: |sum_s M_s| = t M up to the first steps' deficit (relative 1/t).
    _, _, mean = lion_module._statistics(0.9, 0.99, 0.1, np.array(np.inf))
    value = lion_weight_rms(1e-3, 0.0, steps=1e300, snr=0.1)
    assert value == pytest.approx(1e-3 * 1e300 * float(mean), rel=1e-12)
    with pytest.raises(ValueError, match="exceeds float64"):
        lion_weight_rms(1e300, 0.0, steps=1e300)


def test_work_beyond_minutes_is_refused():
    with pytest.raises(ValueError, match="minutes"):
        lion_weight_rms(1e-3, 0.1, beta2=0.999, steps=100_000, snr=0.5)


@pytest.mark.parametrize("steps", [1, 10, 1000, math.inf])
@pytest.mark.parametrize("beta1", [0.0, 0.9, 0.99])
def test_estimator_never_exceeds_the_hard_bound(steps, beta1):
    for snr in (0.0, 100.0):
        value = lion_weight_rms(0.1, 0.5, beta1=beta1, beta2=0.9, steps=steps, snr=snr)
        assert value <= lion_bound(0.1, 0.5, steps=steps) * (1 + 1e-12)
    assert lion_bound(1e-3, 0.1) == pytest.approx(10.0)


# --- simulation ----------------------------------------------------------------------------------


def _simulate_numpy(lr, decay, beta1, beta2, steps, n, snr, seed, record=()):
    """Lion in a plain numpy loop (decay first), iid N(mu, 1) gradients; weights from 0.

    Returns the final weights, the squares at the ``record`` steps averaged per coordinate, and
    the largest |theta| seen.
    """
    rng = np.random.default_rng(seed)
    theta, momentum, squares = np.zeros(n), np.zeros(n), np.zeros(n)
    mu = math.sqrt(snr)
    largest = 0.0
    for step in range(1, steps + 1):
        gradient = mu + rng.standard_normal(n)
        theta *= 1 - lr * decay
        theta -= lr * np.sign(beta1 * momentum + (1 - beta1) * gradient)
        momentum = beta2 * momentum + (1 - beta2) * gradient
        largest = max(largest, float(np.abs(theta).max()))
        if step in record:
            squares += theta**2 / len(record)
    return theta, squares, largest


def _relative_error(formula, squares):
    """Relative error of the formula's RMS against sqrt(mean of ``squares``), and the relative
    Monte Carlo SE of that RMS (coordinates are iid: the SE of a mean over them)."""
    measured = math.sqrt(squares.mean())
    # delta method: SE(rms) = SE(mean square) / (2 rms)
    se = squares.std(ddof=1) / math.sqrt(squares.size) / (2 * measured)
    return formula / measured - 1, se / measured


# q = lr * wd = 0.05 and beta2 <= 0.99: every start-up term is below 1e-13 from step 2000 on
# (beta2^2000 = 2e-9 enters the weights through beta3^(t-s)); the squares at steps 2000, 2100,
# ..., 3000 are averaged per coordinate, each with the equilibrium's expectation.
EQUILIBRIUM = {"lr": 0.05, "decay": 1.0, "steps": 3000, "n": 10_000}
RECORD = tuple(range(2000, 3001, 100))


@pytest.mark.parametrize(
    ("beta1", "beta2", "snr"), [(0.9, 0.99, 0.0), (0.9, 0.99, 0.01), (0.5, 0.9, 0.3)]
)
def test_numpy_simulation_at_equilibrium(beta1, beta2, snr):
    lr, decay, steps, n = EQUILIBRIUM.values()
    _, squares, largest = _simulate_numpy(lr, decay, beta1, beta2, steps, n, snr, 17, RECORD)
    equilibrium = lion_weight_rms(lr, decay, beta1=beta1, beta2=beta2, snr=snr)
    error, rel_se = _relative_error(equilibrium, squares)
    # The formula is exact: only Monte Carlo noise (4 SE), well inside the 1% bar.
    assert abs(error) < 4 * rel_se
    assert 4 * rel_se < 0.01
    assert largest <= lion_bound(lr, decay, steps=steps)


def test_numpy_simulation_transient():
    # Early, before the momentum's start-up is over: the exact transient, with a mean.
    theta, _, _ = _simulate_numpy(0.01, 1.0, 0.9, 0.9, 40, 200_000, 0.3, seed=5)
    exact = lion_weight_rms(0.01, 1.0, beta1=0.9, beta2=0.9, steps=40, snr=0.3)
    error, rel_se = _relative_error(exact, theta**2)
    assert abs(error) < 4 * rel_se


def test_torch_lion_matches_the_update_rule():
    torch = pytest.importorskip("torch")
    from adamw_rms.simulation.torch_lion import Lion

    torch.manual_seed(0)
    weights = torch.nn.Parameter(torch.randn(50, dtype=torch.float64))
    optimizer = Lion([weights], lr=0.01, betas=(0.9, 0.99), weight_decay=0.5)
    theta, momentum = weights.detach().clone(), torch.zeros(50, dtype=torch.float64)
    for _ in range(5):
        gradient = torch.randn(50, dtype=torch.float64)
        weights.grad = gradient.clone()
        optimizer.step()
        theta = theta * (1 - 0.005) - 0.01 * torch.sign(0.9 * momentum + 0.1 * gradient)
        momentum = 0.99 * momentum + 0.01 * gradient
    assert torch.equal(weights.detach(), theta)
    with pytest.raises(ValueError, match="beta2"):
        Lion([weights], lr=0.01, betas=(0.9, 1.5))


@pytest.mark.parametrize("snr", [0.0, 0.01])
def test_torch_lion_at_equilibrium(snr):
    torch = pytest.importorskip("torch")
    from adamw_rms.simulation.torch_lion import Lion

    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(11)
    lr, decay, steps, n = EQUILIBRIUM.values()
    weights = torch.nn.Parameter(torch.zeros(n, dtype=torch.float64))
    optimizer = Lion([weights], lr=lr, betas=(0.9, 0.99), weight_decay=decay)
    squares = torch.zeros(n, dtype=torch.float64)
    for step in range(1, steps + 1):
        weights.grad = math.sqrt(snr) + torch.randn(n, dtype=torch.float64, generator=generator)
        optimizer.step()
        if step in RECORD:
            squares += weights.detach() ** 2 / len(RECORD)
    error, rel_se = _relative_error(lion_weight_rms(lr, decay, snr=snr), squares.numpy())
    assert abs(error) < 4 * rel_se
    assert 4 * rel_se < 0.01
    assert weights.detach().abs().max().item() <= lion_bound(lr, decay, steps=steps)
