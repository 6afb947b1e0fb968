"""sgd_weight_rms: exact against brute-force Gaussian moments, torch.optim.SGD, a Lyapunov solve.

The brute force here shares nothing with the derivation: PyTorch's rule is run on linear forms
(exact rational coefficients of theta_0 and each gradient), and the mean square of a linear
form of independent Gaussians is read off its coefficients.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction as F

import mpmath
import numpy as np
import pytest

from adamw_rms import sgd_weight_rms
from adamw_rms.estimators import sgd_weight_rms as exported

# --- brute force: PyTorch's rule on linear forms --------------------------------------------------


def _literal(steps, lr, wd, momentum, dampening, nesterov, decoupled):
    """theta_t as coefficients of (theta_0, g_1, ..., g_steps): torch.optim.SGD, run literally."""
    size = steps + 1

    def unit(k):
        return [F(int(j == k)) for j in range(size)]

    def axpy(a, x, y):  # a*x + y
        return [a * p + q for p, q in zip(x, y, strict=True)]

    weight, buffer = unit(0), None
    for k in range(1, steps + 1):
        if decoupled:
            weight = [w * (1 - lr * wd) for w in weight]
            direction = unit(k)
        else:
            direction = axpy(wd, weight, unit(k))
        if momentum != 0:
            buffer = (
                list(direction)
                if buffer is None
                else axpy(momentum, buffer, [(1 - dampening) * d for d in direction])
            )
            direction = axpy(momentum, buffer, direction) if nesterov else buffer
        weight = axpy(-lr, direction, weight)
    return weight


def _brute_mean_square(steps, lr, wd, momentum, dampening, nesterov, decoupled, mu, sigma, rho0):
    a = _literal(steps, lr, wd, momentum, dampening, nesterov, decoupled)
    noise = sum(x * x for x in a[1:]) * sigma**2
    mean = sum(a[1:]) * mu
    return a[0] ** 2 * rho0 + noise + mean**2


SETTINGS = [
    # (lr, wd, momentum, dampening, nesterov, decoupled)
    (F(3, 10), F(1, 2), F(3, 5), F(1, 4), False, False),
    (F(3, 10), F(1, 2), F(3, 5), F(0), True, False),
    (F(3, 10), F(1, 2), F(3, 5), F(1, 4), False, True),
    (F(3, 10), F(1, 2), F(3, 5), F(0), True, True),
    (F(1, 7), F(2, 3), F(0), F(1, 2), False, False),  # no momentum: dampening ignored
    (F(1, 7), F(2, 3), F(0), F(1, 2), False, True),
    (F(1, 20), F(3, 2), F(9, 10), F(1, 10), False, False),
    (F(2, 5), F(1, 4), F(1, 2), F(1), False, True),  # full dampening
]
IDS = [
    "coupled",
    "coupled-nesterov",
    "decoupled",
    "decoupled-nesterov",
    "no-momentum",
    "no-momentum-decoupled",
    "heavy-momentum",
    "full-dampening",
]


@pytest.mark.parametrize("setting", SETTINGS, ids=IDS)
@pytest.mark.parametrize("snr, sigma, init", [(F(0), F(1), F(0)), (F(1, 4), F(3, 2), F(1, 2))])
def test_exact_against_brute_force_moments(setting, snr, sigma, init):
    lr, wd, momentum, dampening, nesterov, decoupled = setting
    mu = sigma / 2 if snr else F(0)  # sqrt(1/4) * sigma
    steps = np.arange(0, 7)
    got = sgd_weight_rms(
        float(lr),
        float(wd),
        momentum=float(momentum),
        dampening=float(dampening),
        nesterov=nesterov,
        decoupled=decoupled,
        steps=steps,
        snr=float(snr),
        grad_std=float(sigma),
        init_rms=float(init),
    )
    for t, value in zip(steps, got, strict=True):
        exact = _brute_mean_square(
            int(t), lr, wd, momentum, dampening, nesterov, decoupled, mu, sigma, init**2
        )
        assert value == pytest.approx(math.sqrt(exact), rel=1e-12, abs=1e-300), t


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("decoupled", [False, True])
def test_mpmath_backend_is_exact_to_its_precision(nesterov, decoupled):
    # Binary fractions: the float inputs are then exactly the rationals of the brute force.
    lr, wd, momentum = F(1, 4), F(1, 2), F(5, 8)
    dampening = F(0) if nesterov else F(1, 4)
    sigma, mu, init = F(3, 2), F(3, 4), F(1, 2)
    with mpmath.workdps(40):
        for t in (1, 2, 5):
            got = sgd_weight_rms(
                float(lr),
                float(wd),
                momentum=float(momentum),
                dampening=float(dampening),
                nesterov=nesterov,
                decoupled=decoupled,
                steps=t,
                snr=0.25,
                grad_std=1.5,
                init_rms=0.5,
                backend="mpmath",
            )
            exact = _brute_mean_square(
                t, lr, wd, momentum, dampening, nesterov, decoupled, mu, sigma, init**2
            )
            reference = mpmath.sqrt(mpmath.mpf(exact.numerator) / exact.denominator)
            assert abs(got / reference - 1) < mpmath.mpf(10) ** -30


# --- equilibrium: an independent Lyapunov solve, and the long run ---------------------------------


def _linear_step(lr, wd, momentum, dampening, nesterov, decoupled):
    """A, B of (theta, buf) <- A (theta, buf) + B g for t >= 2, from PyTorch's rule in floats."""

    def step(theta, buf, g):
        if decoupled:
            theta, direction = theta * (1 - lr * wd), g
        else:
            direction = g + wd * theta
        buf = momentum * buf + (1 - dampening) * direction
        direction = direction + momentum * buf if nesterov else buf
        return np.array([theta - lr * direction, buf])

    a = np.column_stack([step(1.0, 0.0, 0.0), step(0.0, 1.0, 0.0)])
    return a, step(0.0, 0.0, 1.0)


def _lyapunov(lr, wd, momentum, dampening, nesterov, decoupled, mu, sigma):
    a, b = _linear_step(lr, wd, momentum, dampening, nesterov, decoupled)
    cov = np.linalg.solve(np.eye(4) - np.kron(a, a), (sigma**2 * np.outer(b, b)).ravel())
    mean = np.linalg.solve(np.eye(2) - a, b * mu)
    return mean[0] ** 2 + cov[0]


# Every valid combination: Nesterov needs momentum and no dampening, decoupled lr * wd < 1.
EQUILIBRIUM_CASES = [
    (lr, wd, momentum, dampening, nesterov, decoupled)
    for lr, wd, momentum, dampening in (
        (0.1, 1e-3, 0.9, 0.0),
        (0.3, 0.5, 0.6, 0.25),
        (1.0, 1.5, 0.0, 0.0),
        (0.05, 0.2, 0.99, 0.5),
    )
    for nesterov in (False, True)
    for decoupled in (False, True)
    if not (nesterov and (momentum == 0 or dampening))
    if not (decoupled and lr * wd >= 1)
]


@pytest.mark.parametrize("lr, wd, momentum, dampening, nesterov, decoupled", EQUILIBRIUM_CASES)
def test_equilibrium_against_lyapunov_and_long_run(
    lr, wd, momentum, dampening, nesterov, decoupled
):
    kwargs = dict(
        momentum=momentum,
        dampening=dampening,
        nesterov=nesterov,
        decoupled=decoupled,
        snr=0.3,
        grad_std=2.0,
    )
    equilibrium = sgd_weight_rms(lr, wd, **kwargs)
    reference = math.sqrt(
        _lyapunov(
            lr,
            wd,
            momentum,
            dampening if momentum else 0.0,
            nesterov,
            decoupled,
            math.sqrt(0.3) * 2.0,
            2.0,
        )
    )
    assert equilibrium == pytest.approx(reference, rel=1e-10)
    assert sgd_weight_rms(lr, wd, steps=10**9, **kwargs) == pytest.approx(equilibrium, rel=1e-9)
    mp = sgd_weight_rms(lr, wd, backend="mpmath", **kwargs)
    assert float(mp) == pytest.approx(equilibrium, rel=1e-12)


def test_req_is_the_small_decay_limit_and_its_error_is_pinned():
    """REQ's squared RMS is exactly (1 - lr wd / (2 (1 + momentum))) times the exact one."""
    cases = [  # (lr, wd, momentum, measured RMS error, rounded as the docstring quotes it)
        (0.1, 1e-3, 0.9, -1.3e-5),
        (0.1, 0.1, 0.0, -2.5e-3),
        (0.1, 1.0, 0.0, -2.5e-2),
        (0.5, 0.2, 0.5, -1.7e-2),
    ]
    for lr, wd, momentum, pinned in cases:
        exact = sgd_weight_rms(lr, wd, momentum=momentum, grad_std=3.0)
        req = sgd_weight_rms(lr, wd, momentum=momentum, grad_std=3.0, formula="req")
        error = req / exact - 1
        assert error == pytest.approx(math.sqrt(1 - lr * wd / (2 * (1 + momentum))) - 1, rel=1e-9)
        assert error == pytest.approx(pinned, rel=0.03)


@pytest.mark.parametrize(
    "bad",
    [
        {"steps": 100},
        {"snr": 0.1},
        {"dampening": 0.1},
        {"nesterov": True},
        {"decoupled": True},
    ],
)
def test_req_refuses_what_its_model_does_not_cover(bad):
    kwargs = {"momentum": 0.9, **bad}
    with pytest.raises(ValueError, match="formula='req'"):
        sgd_weight_rms(0.1, 1e-3, formula="req", **kwargs)


# --- scale, Defazio's ratio -----------------------------------------------------------------------


def test_rms_is_proportional_to_the_gradient_scale():
    kwargs = dict(momentum=0.9, steps=np.array([10, 1000, np.inf]), snr=0.5)
    one = sgd_weight_rms(0.1, 1e-2, grad_std=1.0, **kwargs)
    assert np.allclose(sgd_weight_rms(0.1, 1e-2, grad_std=7.0, **kwargs), 7.0 * one, rtol=1e-13)


def test_defazio_ratio_exact_without_momentum_and_first_order_with_it():
    lr, wd = 0.2, 0.5
    ratio = 1.0 / sgd_weight_rms(lr, wd) ** 2  # sigma = 1
    assert ratio == pytest.approx(wd * (2 - lr * wd) / lr, rel=1e-13)
    for momentum, dampening in ((0.9, 0.0), (0.5, 0.3)):
        small = 1e-6
        ratio = 1.0 / sgd_weight_rms(1.0, small, momentum=momentum, dampening=dampening) ** 2
        first_order = 2 * small * (1 - momentum) / (1 - dampening)
        assert ratio == pytest.approx(first_order, rel=1e-5)


# --- against simulation ---------------------------------------------------------------------------


def _check_simulated(theta, predicted):
    square = theta.astype(np.float64) ** 2
    measured = math.sqrt(square.mean())
    se = square.std() / math.sqrt(square.size) / (2 * square.mean()) * measured
    assert abs(predicted - measured) <= 0.005 * measured + 2 * se, (predicted, measured, se)


@pytest.mark.parametrize(
    "options",
    [
        dict(momentum=0.9, dampening=0.1, snr=0.5),
        dict(momentum=0.8, nesterov=True, snr=0.0),
        dict(momentum=0.0, snr=1.0),
    ],
)
def test_coupled_against_torch_sgd(options):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    torch.manual_seed(17)
    n, steps, lr, wd, std, init = 20_000, 200, 0.05, 0.4, 1.5, 0.5
    snr = options.pop("snr")
    param = torch.nn.Parameter(init * torch.randn(n, dtype=torch.float64))
    optimizer = torch.optim.SGD([param], lr=lr, weight_decay=wd, **options)
    mean = math.sqrt(snr) * std
    for _ in range(steps):
        param.grad = mean + std * torch.randn(n, dtype=torch.float64)
        optimizer.step()
    predicted = sgd_weight_rms(lr, wd, steps=steps, snr=snr, grad_std=std, init_rms=init, **options)
    _check_simulated(param.detach().numpy(), predicted)


@pytest.mark.parametrize(
    "options",
    [
        dict(momentum=0.9, dampening=0.2, snr=0.5),
        dict(momentum=0.7, nesterov=True, snr=0.2),
    ],
)
def test_decoupled_against_a_hand_loop(options):
    rng = np.random.default_rng(17)
    n, steps, lr, wd, std, init = 20_000, 300, 0.05, 0.4, 1.5, 0.5
    snr = options.pop("snr")
    momentum, dampening = options["momentum"], options.get("dampening", 0.0)
    nesterov = options.get("nesterov", False)
    theta, buf = init * rng.standard_normal(n), None
    for _ in range(steps):
        theta *= 1 - lr * wd
        g = math.sqrt(snr) * std + std * rng.standard_normal(n)
        buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
        theta -= lr * (g + momentum * buf if nesterov else buf)
    predicted = sgd_weight_rms(
        lr, wd, steps=steps, snr=snr, grad_std=std, init_rms=init, decoupled=True, **options
    )
    _check_simulated(theta, predicted)


# --- inputs ---------------------------------------------------------------------------------------


def test_exported_at_both_levels_and_scalars_give_floats():
    assert exported is sgd_weight_rms
    assert isinstance(sgd_weight_rms(0.1, 0.01), float)
    assert isinstance(sgd_weight_rms(0.1, 0.01, steps=5), float)
    shaped = sgd_weight_rms([0.1, 0.2], [[0.01], [0.02]], momentum=0.9, steps=[10, np.inf])
    assert shaped.shape == (2, 2)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"nesterov": "yes"}, TypeError, "nesterov"),
        ({"decoupled": 1}, TypeError, "decoupled"),
        ({"momentum": 1.0}, ValueError, "momentum"),
        ({"momentum": -0.1}, ValueError, "momentum"),
        ({"dampening": 1.5}, ValueError, "dampening"),
        ({"nesterov": True}, ValueError, "momentum"),
        ({"nesterov": True, "momentum": 0.9, "dampening": 0.1}, ValueError, "dampening"),
        ({"decoupled": True, "lr": 2.0, "weight_decay": 0.5}, ValueError, "lr \\* weight_decay"),
        (
            {"lr": 10.0, "weight_decay": 1.0},
            ValueError,
            "spectral radius.*2 \\* \\(1 \\+ momentum\\)",
        ),
        (
            {"lr": 1.0, "weight_decay": 1.5, "momentum": 0.5, "nesterov": True},
            ValueError,
            "1 \\+ 2 \\* momentum",
        ),
        ({"momentum": 0.5, "dampening": 1.0}, ValueError, "dampening = 1"),
        ({"steps": 2.5}, ValueError, "steps"),
        ({"grad_std": 0.0}, ValueError, "grad_std"),
        ({"snr": -1.0}, ValueError, "snr"),
        ({"init_rms": float("nan")}, ValueError, "init_rms"),
        ({"lr": "0.1"}, TypeError, "lr"),
        ({"formula": "mean_field"}, ValueError, "formula"),
        ({"backend": "torch"}, ValueError, "backend"),
    ],
)
def test_bad_input_is_refused_by_name(kwargs, error, match):
    arguments = {"lr": 0.1, "weight_decay": 0.01, **kwargs}
    with pytest.raises(error, match=match):
        sgd_weight_rms(arguments.pop("lr"), arguments.pop("weight_decay"), **arguments)


def test_edge_cases_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sgd_weight_rms(0.1, 0.0) == math.inf  # no decay: a random walk
        assert sgd_weight_rms(0.0, 0.0, init_rms=0.3) == pytest.approx(0.3)
        assert sgd_weight_rms(0.1, 0.5, steps=0, init_rms=0.3) == pytest.approx(0.3)
        # Unstable coupled runs are fine at finite steps, and overflow to inf, not NaN.
        assert math.isfinite(sgd_weight_rms(10.0, 1.0, steps=20))
        assert sgd_weight_rms(10.0, 1.0, steps=10**6) == math.inf
        # Coupled, full dampening: finite steps are exact (the weight keeps its start).
        assert math.isfinite(sgd_weight_rms(0.1, 0.5, momentum=0.5, dampening=1.0, steps=10**6))


@pytest.mark.parametrize(
    "lr, wd, kwargs",
    [
        (1e-3, 0.1, {"grad_std": 1e300}),  # squares of the gradient overflow
        (1e-3, 0.1, {"grad_std": 1e300, "steps": 10, "snr": 1e5, "momentum": 0.9}),
        (1e-3, 0.1, {"grad_std": 1e300, "momentum": 0.9, "nesterov": True, "snr": 1e5}),
        (1e200, 1e-200, {}),  # lr^2 overflows, lr * weight_decay = 1
        (1e200, 1e-200, {"steps": 10, "init_rms": 1e150}),
        (1.0, 1e-200, {"snr": 1.0}),  # mean^2 / weight_decay^2 overflows: the RMS is 1e200
        (1.0, 1e-200, {"snr": 1.0, "decoupled": True, "momentum": 0.9, "dampening": 0.5}),
        (1.0, 1e-300, {"momentum": 0.5, "nesterov": True}),
        (1e-3, 0.1, {"grad_std": 1e-300, "steps": 10, "momentum": 0.9}),  # squares underflow
    ],
)
def test_extreme_scales_are_exact_without_warnings(lr, wd, kwargs):
    # The numpy path rescales by a power of two (lr' = 1, gradients near 1): it must agree with
    # mpmath, which has no float64 range to leave, to float64's rounding.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = sgd_weight_rms(lr, wd, **kwargs)
    assert math.isfinite(value)
    assert value == pytest.approx(float(sgd_weight_rms(lr, wd, backend="mpmath", **kwargs)), 1e-14)


@pytest.mark.parametrize(
    "lr, wd, kwargs, match",
    [
        (1.0, 1e-310, {}, "a normal float64"),  # subnormal: the equilibrium's 1/q overflows
        (1e-200, 1e-200, {}, "a normal float64.*got 0"),  # underflowed to 0: not "no decay"
        (1e200, 1e200, {"steps": 5}, "finite; got an overflow"),
    ],
)
def test_decay_products_out_of_float64_are_refused(lr, wd, kwargs, match):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=f"^lr \\* weight_decay must .*{match}"):
            sgd_weight_rms(lr, wd, **kwargs)
    # At finite steps a subnormal product is no problem (no division by it).
    assert sgd_weight_rms(1.0, 1e-310, steps=4) == pytest.approx(2.0, rel=1e-15)


@pytest.mark.parametrize(
    "lr, wd, momentum, steps, decoupled, init, std",
    [
        (1e-3, 1e-6, 0.9, 10**9, False, 0.1, 1.0),  # t * lr * wd = 1: T is within 1e-9 of I
        (1e-3, 1e-6, 0.9, 10**9, True, 0.1, 1.0),
        (1e-2, 1e-7, 0.0, 10**9, False, 0.1, 1.0),
        (0.1, 0.5, 0.9, 10**4, False, 10.0, 1e-3),  # a large start decayed far below it
    ],
)
def test_float64_keeps_its_digits_over_long_runs(lr, wd, momentum, steps, decoupled, init, std):
    kwargs = dict(
        momentum=momentum, steps=steps, decoupled=decoupled, snr=0.3, init_rms=init, grad_std=std
    )
    with mpmath.workdps(40):
        reference = sgd_weight_rms(lr, wd, backend="mpmath", **kwargs)
    assert sgd_weight_rms(lr, wd, **kwargs) == pytest.approx(float(reference), rel=1e-13)


def test_astronomical_step_counts():
    # Past 2**63 the bits of t - 1 still come out exactly (float arithmetic, no int64).
    assert sgd_weight_rms(0.1, 0.01, momentum=0.9, steps=1e30) == pytest.approx(
        sgd_weight_rms(0.1, 0.01, momentum=0.9), rel=1e-12
    )
    # No decay: a random walk, E[theta_t^2] = lr^2 sigma^2 t exactly without momentum.
    assert sgd_weight_rms(0.1, 0.0, steps=1e30) == pytest.approx(0.1 * 1e15, rel=1e-12)


@pytest.mark.parametrize(
    "variant", ["coupled", "coupled_nesterov", "decoupled", "decoupled_nesterov"]
)
def test_equilibrium_is_the_derived_expression(variant):
    import sympy as sp

    from adamw_rms import symbols as S
    from adamw_rms.steps import derivation

    derived = derivation("sgd").result(f"sgd_equilibrium_{variant}")
    nesterov = variant.endswith("nesterov")
    lr, wd, momentum, dampening, snr, std = 0.3, 0.7, 0.8, 0.0 if nesterov else 0.3, 0.4, 1.7
    point = {
        S.eta: lr,
        S.lam: wd,
        S.momentum: momentum,
        S.dampening: dampening,
        S.mu: math.sqrt(snr) * std,
        S.sigma: std,
    }
    expected = math.sqrt(float(sp.N(derived.xreplace(point), 30)))
    got = sgd_weight_rms(
        lr,
        wd,
        momentum=momentum,
        dampening=dampening,
        nesterov=nesterov,
        decoupled=variant.startswith("decoupled"),
        snr=snr,
        grad_std=std,
    )
    assert got == pytest.approx(expected, rel=1e-13)


def test_req_is_the_derived_expression():
    import sympy as sp

    from adamw_rms import symbols as S
    from adamw_rms.steps import derivation

    derived = derivation("sgd").result("sgd_req")
    point = {S.eta: 0.2, S.lam: 0.05, S.momentum: 0.9, S.sigma: 2.5}
    expected = math.sqrt(float(sp.N(derived.xreplace(point), 30)))
    got = sgd_weight_rms(0.2, 0.05, momentum=0.9, grad_std=2.5, formula="req")
    assert got == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("grad_std", [1e-9, 1e-12])
@pytest.mark.parametrize("backend", ["numpy", "mpmath"])
def test_large_initial_weights_decayed_below_the_noise_keep_their_precision(grad_std, backend):
    # Plain coupled SGD: theta_t = b theta_{t-1} - lr g_t, b = 1 - lr wd, so
    # E[theta_T^2] = b^(2T) init^2 + lr^2 sigma^2 (1 - b^(2T)) / (1 - b^2). With init = 1 the
    # decayed start (0.9^600 ~ 1e-28) is far below the noise part: T^n s must not be formed as
    # s + (T^n - I) s, which cancels to rounding.
    b, steps = 0.9, 300
    exact = (b ** (2 * steps) + 0.01 * grad_std**2 * (1 - b ** (2 * steps)) / (1 - b * b)) ** 0.5
    got = sgd_weight_rms(0.1, 1.0, steps=steps, init_rms=1.0, grad_std=grad_std, backend=backend)
    assert float(got) == pytest.approx(exact, rel=1e-12)
