"""Adam with L2 (``torch.optim.Adam(weight_decay=...)``): the estimator against the derivation
(1e-12), its inputs, its cost, and its measured accuracy against the real torch optimizer."""

from __future__ import annotations

import dataclasses
import math
import time
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

from adamw_rms import AccuracyWarning
from adamw_rms import symbols as S
from adamw_rms.estimators import adam_l2 as module
from adamw_rms.estimators import adam_l2_weight_rms
from adamw_rms.estimators.adam_l2 import effective_decay
from adamw_rms.steps import derivation

SE_MULTIPLIER = 4.0


@pytest.fixture(scope="module")
def adam_l2():
    return derivation("adam_l2")


# --- the checks can fail -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step_id", "wrong"),
    [
        # A noise term dropped from the covariance recursion: the brute force sees it.
        ("var_theta_recursion", lambda rhs: rhs.subs(S.sigma, 0)),
        # A Lyapunov entry off by 1%: the substitution and the iterated recursion both see it.
        ("stationary_var_theta", lambda rhs: rhs * sp.Rational(101, 100)),
        ("stationary_var_m", lambda rhs: rhs * sp.Rational(101, 100)),
        # The self-consistency without eps, and the equilibrium without the mean.
        ("self_consistency", lambda rhs: rhs.subs(S.eps, 0)),
        ("theta_rms_equilibrium", lambda rhs: rhs.subs(S.mu, 0)),
        # The mean square of g' without the weights' spread.
        ("mean_square_coupled_gradient", lambda rhs: rhs.subs(S.lam**2, 0)),
        # REQ's balance with the momentum factor of AdamW's update RMS: too small by (1-b1)/(1+b1).
        ("theta_rms_small_decay", lambda rhs: rhs * (1 - S.beta1) / (1 + S.beta1)),
    ],
)
def test_a_wrong_step_fails_every_check(step_id, wrong, adam_l2):
    step = adam_l2.step(step_id)
    mutant = dataclasses.replace(step, rhs=wrong(step.rhs))
    assert mutant.rhs != step.rhs
    results = mutant.verify().checks
    assert results and not any(r.passed for r in results), [r.detail for r in results]


# --- the estimator against the derived expressions ----------------------------------------------


STATIONARY_POINTS = [
    # lr, weight_decay, beta1, eps, snr, grad_std
    (1e-3, 0.1, 0.9, 1e-8, 0.0, 1.0),
    (1e-3, 3.0, 0.9, 1e-8, 1.0, 1e-3),
    (3e-2, 5.0, 0.5, 1e-3, 0.3, 0.2),
    (1e-4, 1e-2, 0.0, 0.0, 0.0, 2.0),
    (0.5, 40.0, 0.95, 1e-8, 2.0, 1.0),  # far past kappa ~ 1: the share of v is large
    (0.5, 1000.0, 0.9, 1e-3, 0.0, 1.0),  # kappa near kappa_max: the share from the root
]


@pytest.mark.parametrize("point", STATIONARY_POINTS)
def test_equilibrium_is_the_root_of_the_derived_self_consistency(point, adam_l2):
    lr, decay, beta1, eps, snr, std = point
    values = {S.beta1: beta1, S.eps: eps, S.sigma: std, S.lam: decay, S.mu: math.sqrt(snr) * std}
    consistency = adam_l2.step("self_consistency").rhs.xreplace(values)
    kappa_of = sp.lambdify(S.effective_decay, consistency, "mpmath")
    equilibrium = sp.lambdify(
        S.effective_decay, adam_l2.step("theta_rms_equilibrium").rhs.xreplace(values), "mpmath"
    )
    with mpmath.workdps(40):
        kappa_max = mpmath.mpf(2) * (1 + beta1) / (1 - beta1)
        kappa = mpmath.findroot(
            lambda k: kappa_of(k) - mpmath.mpf(lr) * decay,
            (mpmath.mpf(0), min(kappa_max, mpmath.mpf(lr) * decay / std) * (1 - 1e-30)),
            solver="anderson",
        )
        expected = mpmath.sqrt(equilibrium(kappa))
    found = adam_l2_weight_rms(lr, decay, beta1=beta1, eps=eps, snr=snr, grad_std=std)
    assert found == pytest.approx(float(expected), rel=1e-12)
    assert effective_decay(lr, decay, beta1=beta1, eps=eps, grad_std=std) == pytest.approx(
        float(kappa), rel=1e-12
    )
    slow = adam_l2_weight_rms(
        lr, decay, beta1=beta1, eps=eps, snr=snr, grad_std=std, backend="mpmath"
    )
    assert float(slow) == pytest.approx(float(expected), rel=1e-12)


def _derived_recursion(adam_l2, steps, lr, decay, beta1, beta2, eps, snr, std, init):
    """E[theta_t^2] for t = 1..steps by iterating the derivation's own steps (mpmath)."""
    mu = math.sqrt(snr) * std
    t, theta, m, v = S.t, S.theta, S.m, S.v
    E, Var, Cov = S.Expect, S.Variance, S.Covariance
    fixed = {S.beta1: beta1, S.beta2: beta2, S.eps: eps, S.sigma: std, S.lam: decay, S.mu: mu}
    fixed[S.eta] = lr
    alpha_t = (lr / ((1 - beta1**t) * (sp.sqrt(E(v[t]) / (1 - beta2**t)) + eps))).xreplace(fixed)
    frozen = adam_l2.step("frozen_update").rhs.xreplace(fixed)
    assert sp.simplify(frozen - (theta[t - 1] - alpha_t * m[t])) == 0
    previous = [E(theta[t - 1]), E(m[t - 1]), Var(theta[t - 1]), Cov(theta[t - 1], m[t - 1])]
    previous.append(Var(m[t - 1]))
    names = ["mean_theta_recursion", "mean_m_recursion", "var_theta_recursion"]
    names += ["cov_recursion", "var_m_recursion"]
    alpha_symbol = sp.Symbol("alpha_now")
    updates = [
        sp.lambdify(
            (t, alpha_symbol, *previous),
            adam_l2.step(name).rhs.xreplace(fixed).xreplace({S.step_size: alpha_symbol}),
            "mpmath",
        )
        for name in names
    ]
    square = sp.lambdify(
        (E(theta[t - 1]), Var(theta[t - 1])),
        adam_l2.step("mean_square_coupled_gradient").rhs.xreplace(fixed),
        "mpmath",
    )
    step_size = sp.lambdify((t, E(v[t])), alpha_t, "mpmath")
    out = []
    with mpmath.workdps(30):
        state = [mpmath.mpf(0), mpmath.mpf(0), mpmath.mpf(init) ** 2, mpmath.mpf(0)]
        state.append(mpmath.mpf(0))
        mean_v = mpmath.mpf(0)
        for n in range(1, steps + 1):
            mean_v = beta2 * mean_v + (1 - mpmath.mpf(beta2)) * square(state[0], state[2])
            alpha = step_size(n, mean_v)
            state = [update(n, alpha, *state) for update in updates]
            out.append(mpmath.sqrt(state[0] ** 2 + state[2]))
    return out


@pytest.mark.parametrize(
    "point",
    [
        (1e-2, 2.0, 0.9, 0.95, 1e-8, 1.0, 0.5, 0.3),
        (3e-3, 0.5, 0.5, 0.999, 1e-3, 0.0, 0.05, 0.0),
    ],
)
def test_finite_steps_iterate_the_derived_recursions(point, adam_l2):
    lr, decay, beta1, beta2, eps, snr, std, init = point
    steps = 40
    expected = _derived_recursion(adam_l2, steps, lr, decay, beta1, beta2, eps, snr, std, init)
    keywords = dict(beta1=beta1, beta2=beta2, eps=eps, snr=snr, grad_std=std, init_rms=init)
    found = adam_l2_weight_rms(lr, decay, steps=np.arange(1, steps + 1), **keywords)
    np.testing.assert_allclose(found, [float(x) for x in expected], rtol=1e-12)
    slow = adam_l2_weight_rms(lr, decay, steps=steps, **keywords, backend="mpmath")
    assert float(slow) == pytest.approx(float(expected[-1]), rel=1e-12)


def test_long_runs_reach_the_equilibrium_and_numba_matches_python():
    keywords = dict(beta2=0.99, snr=0.5, grad_std=0.1, init_rms=0.2)
    stationary = adam_l2_weight_rms(1e-3, 2.0, **keywords)
    assert adam_l2_weight_rms(1e-3, 2.0, steps=10**6, **keywords) == pytest.approx(
        stationary, rel=1e-12
    )
    compiled = module._compiled_recursion()
    if compiled is None:
        pytest.skip("numba is not installed")
    arguments = (1e-3, 2.0, 0.9, 0.99, 1e-8, 30_000, 0.05, 0.1, 0.04, 10**9, (0.0, 1.0, 1.0, 1.0))
    python_mean, python_var = module._recursion(*arguments)
    numba_mean, numba_var = compiled(*arguments)
    assert numba_mean == pytest.approx(python_mean, rel=1e-12)
    assert numba_var == pytest.approx(python_var, rel=1e-12)


def test_ten_million_steps_under_a_second():
    if module._compiled_recursion() is None:
        pytest.skip("numba is not installed: the Python loop takes about 1 s per 1e6 steps")
    adam_l2_weight_rms(1e-4, 1e-3, steps=module._COMPILE_FROM)  # compile outside the timing
    # CPU time: the machine the suite runs on may be shared (about 0.2 s on an idle core).
    begin = time.process_time()
    # lr * wd / grad_std = 1e-7: nowhere near settled after 1e7 steps, every step is iterated.
    value = adam_l2_weight_rms(1e-4, 1e-3, steps=10**7)
    assert time.process_time() - begin < 1.0
    assert 0 < value < adam_l2_weight_rms(1e-4, 1e-3)


def test_small_decay_is_reqs_balance_and_the_norm_follows_the_gradient_scale():
    for std in (1e-3, 1.0, 10.0):
        ratio = 1e-6
        lr, decay = 1e-3, ratio * std / 1e-3
        rms = adam_l2_weight_rms(lr, decay, grad_std=std, eps=0.0)
        assert rms == pytest.approx(math.sqrt(lr * std / (2 * decay)), rel=1e-6)
        assert adam_l2_weight_rms(lr, decay, grad_std=std, formula="req") == pytest.approx(
            math.sqrt(lr * std / (2 * decay)), rel=1e-15
        )
        slow = adam_l2_weight_rms(lr, decay, grad_std=std, formula="req", backend="mpmath")
        assert float(slow) == pytest.approx(math.sqrt(lr * std / (2 * decay)), rel=1e-15)
    # The mean: -mu / weight_decay at equilibrium (the coupled gradient's mean vanishes).
    big = adam_l2_weight_rms(1e-3, 0.1, snr=4.0, grad_std=0.5)
    assert big**2 == pytest.approx(
        1.0**2 / 0.1**2 + adam_l2_weight_rms(1e-3, 0.1, grad_std=0.5) ** 2, rel=1e-12
    )


def test_huge_decay_saturates_at_the_stability_edge():
    # kappa -> kappa_max = 2(1+beta1)/(1-beta1): the weights' share dominates v and the RMS
    # tends to lr / kappa_max, whatever the gradient scale. There E[v] >> grad_std^2, where the
    # mean field's dropped fluctuation of v is largest: the estimator says so.
    # (At the edge itself a second warning says the mean-field map may not settle at all.)
    with pytest.warns(AccuracyWarning) as caught:
        for std in (1e-6, 1.0):
            found = adam_l2_weight_rms(1.0, 1e9 * std, grad_std=std, eps=0.0)
            assert found == pytest.approx(0.1 / 3.8, rel=1e-8)
        assert 0 < adam_l2_weight_rms(1.0, 1e6, grad_std=1e-6, steps=100) < 0.1
    messages = " ".join(str(w.message) for w in caught)
    assert "sqrt(E[v]) / grad_std" in messages and "no stable fixed point" in messages


def test_broadcasting_and_trivial_cases():
    out = adam_l2_weight_rms(np.array([1e-3, 2e-3]), np.array([[0.1], [0.2]]), steps=[100, 200])
    assert out.shape == (2, 2)
    assert out[0, 1] == adam_l2_weight_rms(2e-3, 0.1, steps=200)
    assert isinstance(adam_l2_weight_rms(1e-3, 0.1), float)
    assert adam_l2_weight_rms(0.0, 0.1, init_rms=0.3) == 0.3
    assert adam_l2_weight_rms(0.0, 0.0, init_rms=0.3) == 0.3
    assert adam_l2_weight_rms(1e-3, 0.1, steps=0, init_rms=0.3) == 0.3
    # No decay, finite steps: the plain Adam random walk grows like sqrt(t) at most.
    assert 0 < adam_l2_weight_rms(1e-3, 0.0, steps=100) < 1e-3 * 100


@pytest.mark.parametrize(
    ("keywords", "error", "match"),
    [
        (dict(beta1=1.0), ValueError, "beta1"),
        (dict(beta2=-0.1), ValueError, "beta2"),
        (dict(eps=-1.0), ValueError, "eps"),
        (dict(eps=math.inf), ValueError, "eps"),
        (dict(grad_std=0.0), ValueError, "grad_std"),
        (dict(grad_std="1"), TypeError, "grad_std"),
        (dict(steps=10.5), ValueError, "steps"),
        (dict(snr=-1.0), ValueError, "snr"),
        (dict(init_rms=math.nan), ValueError, "init_rms"),
        (dict(formula="kosson"), ValueError, "formula"),
        (dict(backend="torch"), ValueError, "backend"),
        (dict(formula="req", steps=100), ValueError, "steps must be inf"),
        (dict(formula="req", snr=1.0), ValueError, "snr must be 0"),
        (dict(eps=1e300, grad_std=1e-300), ValueError, "eps / grad_std"),
    ],
)
def test_bad_input(keywords, error, match):
    with pytest.raises(error, match=match):
        adam_l2_weight_rms(1e-3, 0.1, **keywords)


def test_no_stationary_state_without_decay():
    with pytest.raises(ValueError, match="no stationary state"):
        adam_l2_weight_rms(1e-3, 0.0)
    with pytest.raises(ValueError, match=r"at index \(1,\)"):
        adam_l2_weight_rms(1e-3, [0.1, 0.0])
    with pytest.raises(ValueError, match="lr"):
        adam_l2_weight_rms(-1e-3, 0.1)
    with pytest.raises(TypeError, match="weight_decay"):
        adam_l2_weight_rms(1e-3, None)


# --- the real optimizer -------------------------------------------------------------------------


def _numpy_adam_l2(lr, decay, beta1, beta2, eps, gradients):
    """PyTorch's Adam(weight_decay=...) written out in NumPy, float64."""
    theta = np.zeros(gradients.shape[1])
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    for step, g in enumerate(gradients, start=1):
        coupled = g + decay * theta
        m = beta1 * m + (1 - beta1) * coupled
        v = beta2 * v + (1 - beta2) * coupled**2
        hat = np.sqrt(v / (1 - beta2**step)) + eps
        theta = theta - lr / (1 - beta1**step) * m / hat
    return theta


def _torch_adam_l2(lr, decay, beta1, beta2, eps, steps, mu, std, n, seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        weights = torch.zeros(n, dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.Adam(
            [weights], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=decay
        )
        for _ in range(steps):
            weights.grad = torch.from_numpy(mu + std * rng.standard_normal(n))
            optimizer.step()
        return weights.detach().numpy().copy()
    finally:
        torch.set_num_threads(threads)


def test_numpy_loop_is_torch_adam():
    rng = np.random.default_rng(3)
    gradients = 0.2 + 0.5 * rng.standard_normal((50, 64))
    mine = _numpy_adam_l2(1e-2, 3.0, 0.9, 0.95, 1e-8, gradients)
    torch_values = _torch_adam_l2(1e-2, 3.0, 0.9, 0.95, 1e-8, 50, 0.2, 0.5, 64, seed=3)
    np.testing.assert_allclose(torch_values, mine, rtol=1e-12, atol=1e-15)


# Measured by _measure below: the real torch.optim.Adam(weight_decay=...) in float64, 4 seeds x
# 2e4 coordinates (seeds 1000 k + 7), lr = 1e-3, weight_decay = ratio * grad_std / lr, gradient
# mean sqrt(snr) * grad_std, beta1 = 0.9, eps = 1e-8. Each entry: predicted / simulated - 1 of
# the RMS and its standard error, then the same for the centred RMS (the spread over the
# coordinates: at snr = 1 the mean -mu/wd dominates the RMS and the spread is the harder test).
# Every error is within two SEs of 0: the mean field's error is below what 8e4 coordinates
# resolve (about 0.5%) on this grid; grad_std 1e-3 and 1 agree to 1e-7 (the same gradients,
# scaled: only eps breaks the scale invariance).
# (beta2, snr, grad_std, ratio, steps): (RMS error, SE, centred error, SE)
MEASURED = {
    (0.95, 0.0, 0.001, 0.003, 2000): (+0.0035, 0.0025, +0.0035, 0.0025),
    (0.95, 0.0, 0.001, 0.03, 200): (+0.0029, 0.0025, +0.0029, 0.0025),
    (0.95, 0.0, 1.0, 0.003, 2000): (+0.0035, 0.0025, +0.0035, 0.0025),
    (0.95, 0.0, 1.0, 0.03, 200): (+0.0029, 0.0025, +0.0029, 0.0025),
    (0.95, 1.0, 0.001, 0.003, 2000): (+0.0002, 0.0001, +0.0036, 0.0025),
    (0.95, 1.0, 0.001, 0.03, 200): (+0.0007, 0.0004, +0.0029, 0.0025),
    (0.95, 1.0, 1.0, 0.003, 2000): (+0.0002, 0.0001, +0.0036, 0.0025),
    (0.95, 1.0, 1.0, 0.03, 200): (+0.0007, 0.0004, +0.0029, 0.0025),
    (0.999, 0.0, 0.001, 0.003, 3000): (-0.0047, 0.0025, -0.0047, 0.0025),
    (0.999, 0.0, 0.001, 0.03, 3000): (-0.0015, 0.0025, -0.0015, 0.0025),
    (0.999, 0.0, 1.0, 0.003, 3000): (-0.0047, 0.0025, -0.0047, 0.0025),
    (0.999, 0.0, 1.0, 0.03, 3000): (-0.0015, 0.0025, -0.0015, 0.0025),
    (0.999, 1.0, 0.001, 0.003, 3000): (+0.0001, 0.0001, -0.0048, 0.0025),
    (0.999, 1.0, 0.001, 0.03, 3000): (+0.0006, 0.0004, -0.0015, 0.0025),
    (0.999, 1.0, 1.0, 0.003, 3000): (+0.0001, 0.0001, -0.0048, 0.0025),
    (0.999, 1.0, 1.0, 0.03, 3000): (+0.0006, 0.0004, -0.0015, 0.0025),
}
_N, _SEEDS = 20_000, 4


def _measure(beta2, snr, std, ratio, steps):
    lr = 1e-3
    decay = ratio * std / lr
    mu = math.sqrt(snr) * std
    samples = np.concatenate(
        [
            _torch_adam_l2(lr, decay, 0.9, beta2, 1e-8, steps, mu, std, _N, 1000 * k + 7)
            for k in range(_SEEDS)
        ]
    )
    square = samples**2
    rms = math.sqrt(square.mean())
    rms_se = 0.5 * square.std() / math.sqrt(square.size) / square.mean()
    centred = samples - samples.mean()
    spread = math.sqrt((centred**2).mean())
    spread_se = 0.5 * (centred**2).std() / math.sqrt(centred.size) / spread**2
    mean, variance = module._one_numpy(lr, decay, 0.9, beta2, 1e-8, steps, snr, std, 0.0)
    predicted_rms = math.sqrt(mean * mean + variance)
    return predicted_rms / rms - 1, rms_se, math.sqrt(variance) / spread - 1, spread_se


def _check_measurement(key):
    rms_error, rms_se, spread_error, spread_se = _measure(*key)
    pinned = MEASURED[key]
    # Pinned: the same seeds give the same samples, so a change of the formula or of torch's
    # Adam by more than SE_MULTIPLIER standard errors shows here.
    assert abs(rms_error - pinned[0]) <= SE_MULTIPLIER * rms_se, (key, rms_error)
    assert abs(spread_error - pinned[2]) <= SE_MULTIPLIER * spread_se, (key, spread_error)
    # The bar, 3%, holds with the Monte Carlo noise added.
    assert abs(rms_error) + SE_MULTIPLIER * rms_se < 0.03
    assert abs(spread_error) + SE_MULTIPLIER * spread_se < 0.03


@pytest.mark.parametrize("snr", [0.0, 1.0])
def test_accuracy_against_torch_adam_short(snr):
    _check_measurement((0.95, snr, 1.0, 0.03, 200))


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(MEASURED))
def test_accuracy_against_torch_adam(key):
    _check_measurement(key)


# The mean field against a NumPy loop of the same optimizer (4e4 coordinates, lr = 1e-3,
# weight_decay = 30, grad_std = 1, 200 steps, seed 5): what it drops grows with 1 - beta2.
# beta2: (measured error of the RMS, its SE)
MEASURED_BETA2 = {0.5: (-0.0947, 0.0035), 0.8: (-0.0210, 0.0035)}


@pytest.mark.parametrize("beta2", sorted(MEASURED_BETA2))
def test_mean_field_error_grows_with_one_minus_beta2(beta2):
    rng = np.random.default_rng(5)
    gradients = rng.standard_normal((200, 40_000))
    samples = _numpy_adam_l2(1e-3, 30.0, 0.9, beta2, 1e-8, gradients)
    square = samples**2
    se = 0.5 * square.std() / math.sqrt(square.size) / square.mean()
    with pytest.warns(AccuracyWarning, match="beta2 < 0.9"):
        predicted = adam_l2_weight_rms(1e-3, 30.0, beta2=beta2, steps=200)
    error = predicted / math.sqrt(square.mean()) - 1
    assert abs(error - MEASURED_BETA2[beta2][0]) <= SE_MULTIPLIER * se
    assert abs(error) > SE_MULTIPLIER * se  # visible: outside the regime the mean field fails


# Large lr * wd / grad_std against the NumPy loop (4e4 coordinates, beta2 = 0.95, lr = 1e-3,
# 100 steps, seed 9; every run at equilibrium by then): ratio -> (mean-field error, REQ's
# error, SE). The mean field's dropped part grows with the ratio too, slowly; REQ's neglected
# O(kappa) and its missing saturation (the mean field tends to lr / kappa_max) do not.
MEASURED_LARGE_DECAY = {0.3: (-0.0039, +0.0260, 0.0035), 3.0: (-0.0173, +0.1506, 0.0033)}


@pytest.mark.parametrize("ratio", sorted(MEASURED_LARGE_DECAY))
def test_mean_field_and_req_at_large_decay(ratio):
    rng = np.random.default_rng(9)
    samples = _numpy_adam_l2(
        1e-3, ratio / 1e-3, 0.9, 0.95, 1e-8, rng.standard_normal((100, 40_000))
    )
    square = samples**2
    rms = math.sqrt(square.mean())
    se = 0.5 * square.std() / math.sqrt(square.size) / square.mean()
    mean_field = adam_l2_weight_rms(1e-3, ratio / 1e-3, beta2=0.95, steps=100) / rms - 1
    req = adam_l2_weight_rms(1e-3, ratio / 1e-3, formula="req") / rms - 1
    pinned_mean_field, pinned_req, _ = MEASURED_LARGE_DECAY[ratio]
    assert abs(mean_field - pinned_mean_field) <= SE_MULTIPLIER * se
    assert abs(req - pinned_req) <= SE_MULTIPLIER * se
    assert req - SE_MULTIPLIER * se > 0.01  # REQ is visibly high here
    if ratio >= 1:  # the mean field's own dropped part is visible too (within 3% only at 2 SE)
        assert abs(mean_field) > SE_MULTIPLIER * se


def test_reqs_formula_is_the_small_decay_limit():
    """REQ's sqrt(lr grad_std/(2 wd)) against the mean field at equilibrium: its error is the
    neglected O(kappa) (+0.034% at lr wd/grad_std = 0.003, +0.33% at 0.03, beta1 = 0.9)."""
    for ratio, error in ((0.003, 0.00034), (0.03, 0.0033)):
        req = adam_l2_weight_rms(1e-3, ratio / 1e-3, formula="req")
        mean_field = adam_l2_weight_rms(1e-3, ratio / 1e-3)
        assert req / mean_field - 1 == pytest.approx(error, abs=0.00002)


# --- where the mean field fails: a large effective decay at moderate beta2 ----------------------

# Measured with the numba engine (SimulationConfig(update="adam_l2")): lr = 1e-3, weight_decay
# = 0.5, eps = 0, grad_std = 5e-4 / ratio (so lr * wd / grad_std = ratio), beta1 = 0.9, 2**16
# coordinates, 1000 steps, seed 17; the error is the mean over steps 500, 600, ..., 1000 of
# predicted / simulated - 1 (the finite-step mean field at each step), its SE that of one step.
# (beta2, ratio): (error, SE, (1 - beta2) sqrt(E v) / grad_std at the stationary state)
MEASURED_FLUCTUATION = {
    (0.95, 10.0): (-0.0264, 0.0026, 0.099),
    (0.95, 100.0): (-0.0570, 0.0024, 0.243),
    (0.98, 300.0): (-0.0420, 0.0025, 0.191),
    (0.99, 300.0): (-0.0235, 0.0026, 0.096),
}


@pytest.mark.parametrize("key", sorted(MEASURED_FLUCTUATION))
def test_mean_field_error_at_large_decay_and_its_warning(key):
    from adamw_rms.simulation import SimulationConfig, simulate

    beta2, ratio = key
    pinned, _, fluctuation = MEASURED_FLUCTUATION[key]
    std = 5e-4 / ratio
    config = SimulationConfig(
        lr=1e-3, weight_decay=0.5, eps=0.0, beta1=0.9, beta2=beta2, steps=1000, n=2**16,
        grad_std=std, record_steps=tuple(range(500, 1001, 100)), update="adam_l2", seed=17,
    )  # fmt: skip
    result = simulate(config, engine="numba", progress=False)
    se = float(np.mean(result.weight_rms_se / result.weight_rms))

    def predict():
        return adam_l2_weight_rms(1e-3, 0.5, beta2=beta2, eps=0.0, grad_std=std, steps=result.steps)

    # The warning follows the quantity: above FLUCTUATION_BAR, with its value in the message.
    if fluctuation > module.FLUCTUATION_BAR:
        with pytest.warns(AccuracyWarning, match=f"grad_std = {fluctuation:.3g} > 0.12"):
            predicted = predict()
    else:
        predicted = predict()
    error = float(np.mean(predicted / result.weight_rms - 1))
    assert abs(error - pinned) <= SE_MULTIPLIER * se, (key, error)
    assert abs(error) > SE_MULTIPLIER * se  # the dropped fluctuation is visible at each point
    # The bar: the warned points are beyond 3% by more than the noise, the others within.
    if fluctuation > module.FLUCTUATION_BAR:
        assert abs(error) - SE_MULTIPLIER * se > 0.03
    else:
        assert abs(error) < 0.03


# --- the equilibrium over arrays and at the edges of float64 ------------------------------------


def test_equilibrium_over_arrays_is_the_elementwise_root():
    rng = np.random.default_rng(11)
    size = 400
    lr = 10.0 ** rng.uniform(-6, 0, size)
    decay = 10.0 ** rng.uniform(-4, 4, size)
    std = 10.0 ** rng.uniform(-9, 3, size)
    beta1 = rng.choice([0.0, 0.5, 0.9, 0.99], size)
    snr = rng.choice([0.0, 1.0, 10.0], size)
    eps = rng.choice([0.0, 1e-8], size)
    # Edges: lr = 0 (the initial weights), ratios at both ends and past kappa_max / 2.
    lr[:3], decay[3:6], std[3:6] = 0.0, [1e-4, 1e4, 1e9], [1e3, 1e-9, 1e-9]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AccuracyWarning)
        keywords = dict(beta1=beta1, eps=eps, snr=snr, grad_std=std, init_rms=0.1)
        together = adam_l2_weight_rms(lr, decay, **keywords)
        apart = np.empty(size)
        for i in range(size):  # the per-element path of finite steps, handed steps = inf
            mean, variance = module._one_numpy(
                lr[i], decay[i], beta1[i], 0.999, eps[i], math.inf, snr[i], std[i], 0.1
            )
            apart[i] = math.sqrt(mean * mean + variance)
        np.testing.assert_allclose(together, apart, rtol=1e-12, atol=0)
        assert together[0] == 0.1
        # The mpmath backend's own bisection (30 digits) on a sample, edges included.
        chosen = list(range(8)) + list(range(8, size, 40))
        with mpmath.workdps(30):
            reference = [
                float(adam_l2_weight_rms(lr[i], decay[i], beta1=beta1[i], eps=eps[i], snr=snr[i],
                                         grad_std=std[i], init_rms=0.1, backend="mpmath"))
                for i in chosen
            ]  # fmt: skip
    np.testing.assert_allclose(together[chosen], reference, rtol=1e-12, atol=0)


def test_finite_steps_over_arrays_are_the_elementwise_recursion():
    # The stationary targets come from one bisection over the array; each element's recursion
    # is the one a scalar call runs (compiled for every element once the array's steps add up).
    rng = np.random.default_rng(12)
    size = 60
    lr = 10.0 ** rng.uniform(-5, -2, size)
    decay = 10.0 ** rng.uniform(-3, 1, size)
    std = 10.0 ** rng.uniform(-6, 0, size)
    steps = rng.choice([0, 1, 10, 2000], size)
    lr[0], decay[1], steps[2] = 0.0, 0.0, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AccuracyWarning)  # some ratios are large: not the point
        together = adam_l2_weight_rms(lr, decay, beta2=0.99, snr=0.5, grad_std=std, steps=steps,
                                      init_rms=0.01)  # fmt: skip
    apart = np.empty(size)
    for i in range(size):
        mean, variance = module._one_numpy(
            lr[i], decay[i], 0.9, 0.99, 1e-8, float(steps[i]), 0.5, std[i], 0.01
        )
        apart[i] = math.sqrt(mean * mean + variance)
    np.testing.assert_allclose(together, apart, rtol=1e-12, atol=0)


@pytest.mark.parametrize(
    ("args", "keywords"),
    [
        ((1e-3, 1e-170), {}),  # (sigma / wd)^2 would overflow, wd^2 underflows
        ((1e200, 1e-200), {}),
        ((1e-3, 0.1), dict(grad_std=1e300)),  # sigma^2 overflows; the RMS is 7.07e148
        ((1e-3, 0.1), dict(grad_std=1e-300)),  # eps / sigma = 1e292: F = 7e588 would overflow
        ((1e-3, 0.1), dict(grad_std=1e300, steps=3000)),  # the recursion in gradient units
        ((1e-3, 1e-170), dict(snr=1.0, steps=1000)),
    ],
)
def test_extreme_scales_are_finite_and_right(args, keywords):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AccuracyWarning)  # grad_std = 1e-300 sits at the edge
        found = adam_l2_weight_rms(*args, **keywords)
        with mpmath.workdps(30):
            expected = adam_l2_weight_rms(*args, **keywords, backend="mpmath")
    assert math.isfinite(found)
    assert found == pytest.approx(float(expected), rel=1e-11)


def test_extreme_scales_beyond_float64_are_refused():
    with pytest.raises(ValueError, match=r"lr \* weight_decay / grad_std must be 0 or at least"):
        adam_l2_weight_rms(1e-3, 1e-320)
    with pytest.raises(ValueError, match="exceeds float64's range"):
        adam_l2_weight_rms(1e3, 1e-309, snr=1.0)  # the mean -mu / wd is 1e309


def test_near_the_stability_edge_a_separate_warning_says_the_model_breaks_down():
    # lr * wd / grad_std = 1000 at beta2 = 0.95: kappa = 0.975 kappa_max, where the mean-field
    # recursion oscillates without settling (its value changes with the parity of steps).
    from adamw_rms import AccuracyWarning

    with pytest.warns(AccuracyWarning) as caught:
        adam_l2_weight_rms(1e-3, 1e6, beta2=0.95, eps=0.0)
    messages = [str(w.message) for w in caught]
    assert any("kappa / kappa_max = 0.97" in m and "no stable fixed point" in m for m in messages)
    # Well inside the stable region (lr * wd / grad_std = 100) there is no such warning.
    with pytest.warns(AccuracyWarning) as caught:
        adam_l2_weight_rms(1e-3, 1e5, beta2=0.95, eps=0.0)
    assert not any("kappa_max" in str(w.message) for w in caught)
