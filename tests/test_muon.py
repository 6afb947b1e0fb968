"""Muon: the lag structure against the optimizer's own recursion, the weight sum against a
brute-force double sum, C_0's quadrature against direct Newton--Schulz, G against a fresh
Monte Carlo, the inputs, and the estimate against the real ``torch.optim.Muon``."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from adamw_rms import AccuracyWarning
from adamw_rms.estimators import muon_weight_rms
from adamw_rms.estimators.muon import (
    _newton_schulz,
    _update_mean_square,
    adjusted_lr_ratio,
    input_correlation,
    output_correlation,
    update_mean_square,
)

SHAPE = (16, 32)
COEFFICIENTS = (3.4445, -4.775, 2.0315)


# --- the lag structure ----------------------------------------------------------------------------


def _recursion_weights(beta: float, nesterov: bool, steps: int) -> np.ndarray:
    """Row t: the coefficients of g_1..g_T in the matrix Muon orthogonalises at step t,
    from running Muon's own buffer update (lerp) on coefficient vectors."""
    buf = np.zeros(steps)
    rows = np.zeros((steps, steps))
    for t in range(steps):
        grad = np.zeros(steps)
        grad[t] = 1.0
        buf = buf + (1 - beta) * (grad - buf)
        rows[t] = grad + beta * (buf - grad) if nesterov else buf
    return rows


@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("beta", [0.0, 0.5, 0.95])
def test_input_correlation_matches_the_buffer_recursion(beta, nesterov):
    rows = _recursion_weights(beta, nesterov, 40)
    gram = rows @ rows.T
    for s in (1, 2, 3, 10, 25):
        for k in (0, 1, 2, 7, 14):
            expected = gram[s - 1, s + k - 1] / math.sqrt(
                gram[s - 1, s - 1] * gram[s + k - 1, s + k - 1]
            )
            assert input_correlation(beta, s, k, nesterov=nesterov) == pytest.approx(
                expected, rel=1e-12, abs=1e-15
            )


def test_stationary_input_correlation_is_the_limit():
    far = input_correlation(0.9, 10_000, np.arange(1, 6))
    assert input_correlation(0.9, math.inf, np.arange(1, 6)) == pytest.approx(far, rel=1e-13)


# --- the weight sum -------------------------------------------------------------------------------


def _brute_force_square(lr, decay, steps, beta, nesterov, shape):
    """E RMS^2 by the double sum over step pairs, each pair's G(rho(s, s')) looked up."""
    beta3 = 1 - lr * decay
    total = 0.0
    for s in range(1, steps + 1):
        for s2 in range(1, steps + 1):
            first, lag = min(s, s2), abs(s - s2)
            rho = input_correlation(beta, first, lag, nesterov=nesterov)
            total += beta3 ** (2 * steps - s - s2) * output_correlation(rho, shape)
    return lr**2 * update_mean_square(shape) * total


@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("steps", [1, 2, 7, 60])
def test_weight_sum_matches_the_double_sum(steps, nesterov):
    expected = _brute_force_square(0.05, 0.4, steps, 0.8, nesterov, SHAPE)
    got = muon_weight_rms(0.05, 0.4, shape=SHAPE, momentum=0.8, nesterov=nesterov, steps=steps)
    assert got**2 == pytest.approx(expected, rel=1e-12)


def test_long_runs_use_the_closed_form_for_settled_steps():
    # 400 steps: the transient (s <= settle ~ 130 at beta = 0.8) is summed explicitly and the
    # rest in closed form; compare with the double sum done in a vectorised way.
    steps, lr, decay, beta = 400, 0.05, 0.4, 0.8
    s = np.arange(1, steps + 1)
    first, second = np.minimum.outer(s, s), np.abs(np.subtract.outer(s, s))
    rho = input_correlation(beta, first, second)
    weights = (1 - lr * decay) ** (2 * steps - np.add.outer(s, s))
    expected = lr**2 * update_mean_square(SHAPE) * np.sum(weights * output_correlation(rho, SHAPE))
    got = muon_weight_rms(lr, decay, shape=SHAPE, momentum=beta, steps=steps)
    assert got**2 == pytest.approx(expected, rel=1e-11)


def test_equilibrium_is_the_limit_and_init_decays():
    long = muon_weight_rms(0.02, 0.5, shape=SHAPE, steps=5000)
    assert muon_weight_rms(0.02, 0.5, shape=SHAPE) == pytest.approx(long, rel=1e-12)
    start = muon_weight_rms(0.02, 0.5, shape=SHAPE, steps=0, init_rms=0.3)
    assert start == 0.3
    assert muon_weight_rms(0.0, 0.5, shape=SHAPE, init_rms=0.3) == 0.3
    assert muon_weight_rms(0.02, 0.0, shape=SHAPE) == math.inf
    only_init = muon_weight_rms(0.02, 0.5, shape=SHAPE, steps=50, init_rms=0.3) ** 2
    noise = muon_weight_rms(0.02, 0.5, shape=SHAPE, steps=50) ** 2
    assert only_init - noise == pytest.approx(0.99**100 * 0.09, rel=1e-12)


def test_no_momentum_is_uncorrelated():
    # momentum 0: the orthogonalised matrices of different steps are independent (G(0) = 0).
    lr, decay = 0.02, 0.5
    expected = lr * math.sqrt(update_mean_square(SHAPE) / (lr * decay * (2 - lr * decay)))
    assert muon_weight_rms(lr, decay, shape=SHAPE, momentum=0.0) == pytest.approx(expected, 1e-13)


def test_broadcasting_and_lr_adjustments():
    values = muon_weight_rms([0.01, 0.02], 0.5, shape=(32, 16), steps=[[100], [math.inf]])
    assert values.shape == (2, 2)
    assert values[1, 1] == muon_weight_rms(0.02, 0.5, shape=(32, 16))
    tall = muon_weight_rms(0.02, 0.5, shape=(32, 16))
    match = muon_weight_rms(0.02, 0.5, shape=(32, 16), adjust_lr_fn="match_rms_adamw")
    assert match / tall == pytest.approx(0.2 * math.sqrt(32) / math.sqrt(2), rel=1e-13)
    assert adjusted_lr_ratio((16, 32)) == 1.0


# --- C_0: the Marchenko--Pastur quadrature --------------------------------------------------------


def test_quadrature_is_converged():
    for shape in ((512, 512), (64, 256), (8, 8)):
        coarse = _update_mean_square(*shape, COEFFICIENTS, 5, 256)
        assert _update_mean_square(*shape, COEFFICIENTS, 5, 512) == pytest.approx(coarse, rel=1e-9)


def test_quadrature_exact_cases():
    # No iteration: ||X||_F = 1 exactly, so C_0 = 1/(AB) (the law's mean is 1).
    assert update_mean_square((48, 96), ns_steps=0) == pytest.approx(1 / (48 * 96), rel=1e-9)
    # One row: the normalised vector's singular value is exactly 1.
    phi = 1.0
    for _ in range(5):
        phi = 3.4445 * phi - 4.775 * phi**3 + 2.0315 * phi**5
    assert update_mean_square((1, 40)) == pytest.approx(phi**2 / 40, rel=1e-14)


@pytest.mark.parametrize(("shape", "finite_size"), [((64, 64), 0.006), ((64, 256), 0.003)])
def test_quadrature_matches_direct_newton_schulz(shape, finite_size):
    # finite_size: the large-matrix law's measured error at this size (docs/muon.md).
    rng = np.random.default_rng(7)
    small, large = min(shape), max(shape)
    x = rng.standard_normal((64, small, large))
    out = _newton_schulz(x.astype(np.float32), COEFFICIENTS, 5).astype(np.float64)
    per_matrix = (out**2).sum(axis=(1, 2)) / (small * large)
    se = per_matrix.std(ddof=1) / math.sqrt(len(per_matrix))
    assert (
        abs(update_mean_square(shape) - per_matrix.mean())
        < 3 * se + finite_size * per_matrix.mean()
    )


# --- G: the output correlation --------------------------------------------------------------------


def test_output_correlation_limits_and_symmetry():
    assert output_correlation(1.0, SHAPE) == 1.0
    assert output_correlation(0.0, SHAPE) == 0.0
    values = output_correlation(np.array([0.2, 0.7]), SHAPE)
    assert output_correlation(np.array([-0.2, -0.7]), SHAPE) == pytest.approx(-values, abs=0)
    grid = output_correlation(np.linspace(0, 1, 50), SHAPE)
    assert np.all(np.diff(grid) > 0)


@pytest.mark.parametrize("rho", [0.25, 0.75, 0.9])
def test_output_correlation_matches_a_fresh_monte_carlo(rho):
    # A different seed and plain (not antithetic) pairs; the table's own error is ~0.3% of G.
    rng = np.random.default_rng(123)
    x = rng.standard_normal((256, *SHAPE)).astype(np.float32)
    y = rng.standard_normal((256, *SHAPE)).astype(np.float32)
    first = _newton_schulz(x, COEFFICIENTS, 5).astype(np.float64)
    second = _newton_schulz(rho * x + math.sqrt(1 - rho**2) * y, COEFFICIENTS, 5)
    inner = (first * second).sum(axis=(1, 2))
    norm = (first**2).sum(axis=(1, 2)).mean()
    estimate, se = inner.mean() / norm, inner.std(ddof=1) / math.sqrt(len(inner)) / norm
    assert abs(output_correlation(rho, SHAPE) - estimate) < 4 * se + 0.005 * estimate


# --- inputs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"shape": (16,)}, TypeError, "^shape must be a pair"),
        ({"shape": (16.0, 8)}, TypeError, "^shape must be a pair"),
        ({"shape": (0, 8)}, ValueError, "^shape must be a pair"),
        ({"momentum": 1.0}, ValueError, "^momentum"),
        ({"ns_steps": -1}, ValueError, r"^ns_steps must be an int in \[0, 100\)"),
        ({"ns_steps": 100}, ValueError, r"^ns_steps must be an int in \[0, 100\)"),
        ({"ns_steps": 2.0}, TypeError, r"^ns_steps must be an int in \[0, 100\)"),
        ({"eps": [1e-7, 1e-8]}, TypeError, "^eps must be a single real number"),
        ({"ns_coefficients": (1.0, 2.0)}, TypeError, "^ns_coefficients must be three"),
        ({"ns_coefficients": (1.0, math.nan, 2.0)}, ValueError, "^ns_coefficients must be three"),
        ({"adjust_lr_fn": "adamw"}, ValueError, "^adjust_lr_fn must be one of"),
        ({"nesterov": 1}, TypeError, "^nesterov must be a bool"),
        ({"eps": -1e-7}, ValueError, "^eps"),
        ({"weight_decay": 60.0}, ValueError, r"^lr \* weight_decay"),
        ({"steps": 10.5}, ValueError, "^steps must be a whole number"),
    ],
)
def test_bad_input_is_refused(changes, error, match):
    arguments = {"lr": 0.02, "weight_decay": 0.5, "shape": SHAPE, **changes}
    with pytest.raises(error, match=match):
        muon_weight_rms(**arguments)


@pytest.mark.parametrize("nesterov", ["False", None, 1, 0.0])
def test_input_correlation_refuses_a_nesterov_that_is_not_a_bool(nesterov):
    # bool("False") is True: a string must not silently select the Nesterov value.
    with pytest.raises(TypeError, match=r"^nesterov must be a bool"):
        input_correlation(0.9, 5, 1, nesterov=nesterov)
    assert input_correlation(0.9, 5, 1, nesterov=np.bool_(False)) == input_correlation(
        0.9, 5, 1, nesterov=False
    )


@pytest.mark.parametrize(
    ("coefficients", "match"),
    [
        ((0, 0, 0), "update zero for shape"),  # every update 0: C_0 = 0
        ((1e200,) * 3, r"update not finite \(an overflow\)"),  # float64 overflow
        ((1e20, 0.0, 0.0), "float32"),  # finite in float64, not in the measurement's float32
        ((1e-30, 0.0, 0.0), "float32"),  # underflows to 0 in float32
    ],
)
def test_coefficients_with_a_zero_or_overflowing_update_are_refused(coefficients, match):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for call in (
            lambda: muon_weight_rms(1e-3, 0.1, shape=(16, 16), ns_coefficients=coefficients),
            lambda: output_correlation(0.5, (16, 16), ns_coefficients=coefficients),
        ):
            with pytest.raises(ValueError, match=f"^ns_coefficients=.*{match}"):
                call()
        if "float32" not in match:
            with pytest.raises(ValueError, match=f"^ns_coefficients=.*{match}"):
                update_mean_square((16, 16), ns_coefficients=coefficients)


def test_tiny_and_subnormal_decay_give_finite_results_without_warnings():
    # lr * weight_decay = 1e-310 is subnormal: F ~ 1/(2 lr wd) would overflow and lr^2 underflow,
    # but at equilibrium the RMS is sqrt(lr / wd) times a constant, as at ordinary values.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tiny = muon_weight_rms(1e-300, 1e-10, shape=(16, 16))
        ordinary = muon_weight_rms(1e-3, 1e-10, shape=(16, 16))
        assert tiny == pytest.approx(ordinary * math.sqrt(1e-300 / 1e-3), rel=1e-12)
        # Finite steps with q t << 1: no decay to speak of, the RMS is linear in lr.
        short = muon_weight_rms(1e-300, 1e-10, shape=(16, 16), steps=100)
        assert short == pytest.approx(
            1e-297 * muon_weight_rms(1e-3, 0.0, shape=(16, 16), steps=100), rel=1e-12
        )
        # An RMS beyond float64's range is inf (lr = 1e308, lr * weight_decay ~ 1e-12).
        assert muon_weight_rms(1e308, 1e-320, shape=(16, 16)) == math.inf


def test_exported_at_the_top_level():
    import adamw_rms

    assert adamw_rms.muon_weight_rms is muon_weight_rms


def test_shape_is_keyword_only_and_eps_warns_only_when_large():
    with pytest.raises(TypeError, match="positional"):
        muon_weight_rms(0.02, 0.5, SHAPE)  # type: ignore[misc]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        muon_weight_rms(0.02, 0.5, shape=SHAPE)
    with pytest.warns(AccuracyWarning, match="eps"):
        muon_weight_rms(0.02, 0.5, shape=SHAPE, eps=1.0)


# --- against the real optimizer -------------------------------------------------------------------


# The estimate's measured accuracy at these sizes (docs/muon.md): C_0's finite-size error
# (-0.67% at 16 x 32, +0.51% at 64 x 64, -0.23% at 64 x 256, in the mean square; half that in
# the RMS) plus G's table error (at most 0.0026 in G, about 0.15% of the RMS).
def _torch_with_muon():
    torch = pytest.importorskip("torch")
    if not hasattr(torch.optim, "Muon"):
        pytest.skip("this PyTorch has no torch.optim.Muon")
    return torch


MODEL_ACCURACY = {(16, 32): 0.006, (64, 64): 0.005, (64, 256): 0.004, (256, 64): 0.004}


@pytest.mark.parametrize("adjust_lr_fn", [None, "match_rms_adamw"])
def test_estimate_matches_torch_muon_small(adjust_lr_fn):
    torch = _torch_with_muon()
    from adamw_rms.simulation.muon import simulate_muon

    torch.set_num_threads(1)
    run = simulate_muon(0.02, 0.5, shape=(32, 16), steps=200, matrices=8,
                        adjust_lr_fn=adjust_lr_fn, record_every=50)  # fmt: skip
    estimate = muon_weight_rms(
        0.02, 0.5, shape=(32, 16), steps=run.steps, adjust_lr_fn=adjust_lr_fn
    )
    bound = 4 * run.weight_rms_se + MODEL_ACCURACY[(16, 32)] * run.weight_rms
    assert np.all(np.abs(estimate - run.weight_rms) < bound)


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(64, 64), (64, 256), (256, 64)])
@pytest.mark.parametrize("adjust_lr_fn", [None, "match_rms_adamw"])
def test_estimate_matches_torch_muon(shape, adjust_lr_fn):
    torch = _torch_with_muon()
    from adamw_rms.simulation.muon import simulate_muon

    torch.set_num_threads(1)
    run = simulate_muon(0.02, 0.5, shape=shape, steps=400, matrices=8, seed=3,
                        adjust_lr_fn=adjust_lr_fn, record_every=100)  # fmt: skip
    estimate = muon_weight_rms(0.02, 0.5, shape=shape, steps=run.steps, adjust_lr_fn=adjust_lr_fn)
    bound = 4 * run.weight_rms_se + MODEL_ACCURACY[shape] * run.weight_rms
    assert np.all(np.abs(estimate - run.weight_rms) < bound)


def test_simulation_is_seeded_and_checks_its_inputs():
    _torch_with_muon()
    from adamw_rms.simulation.muon import simulate_muon

    first = simulate_muon(0.02, 0.5, shape=(4, 6), steps=5, matrices=3, seed=1)
    again = simulate_muon(0.02, 0.5, shape=(4, 6), steps=5, matrices=3, seed=1)
    assert np.array_equal(first.weight_rms, again.weight_rms)
    assert first.steps.tolist() == [1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="matrices"):
        simulate_muon(0.02, 0.5, shape=(4, 6), steps=5, matrices=1)
