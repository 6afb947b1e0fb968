"""The sweep's control variate: its exact expectation, its unbiasedness, its combination."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("numba")

from adamw_rms.simulation.sweep import (
    Variant,
    controlled_rms_with_se,
    surrogate_second_moments,
    sweep,
)

CASES = {
    "adamw, mu = 0": dict(update="adamw", beta1=0.9, beta2=0.95, grad_mean=0.0),
    "adamw, snr = 1": dict(update="adamw", beta1=0.5, beta2=0.99, grad_mean=1.0),
    "adamw, snr = 10": dict(update="adamw", beta1=0.0, beta2=0.95, grad_mean=math.sqrt(10)),
    "sign, mu = 0": dict(update="sign_sgdm", beta1=0.9, grad_mean=0.0),
    "sign, snr = 0.1": dict(update="sign_sgdm", beta1=0.5, grad_mean=math.sqrt(0.1)),
}
VARIANTS = [
    Variant(2e-2, 0.1, True, 0.1),
    Variant(2e-2, 0.1, False, 0.0, eps=0.3),
    Variant(np.linspace(3e-2, 1e-3, 600), 0.2, True, 0.0),
    Variant(1e-2, 0.0, False, 0.1),
]


def run(case: str, n: int = 4096, **changes):
    settings = dict(CASES[case], steps=600, record_steps=(0, 50, 200, 600), seed=5)
    settings.update(changes)
    return sweep(VARIANTS, n=n, **settings)


@pytest.mark.parametrize("case", CASES)
def test_the_surrogate_expectation_is_exact(case):
    # The one ingredient of the control variate that is computed, not sampled: the sample mean
    # of the surrogate's square must match its exact expectation within its standard error.
    result = run(case, n=32768)
    z = (result.surrogate_mean_square - result.surrogate_expected) / np.where(
        result.surrogate_mean_square_se > 0, result.surrogate_mean_square_se, 1.0
    )
    assert np.nanmax(np.abs(z)) < 4.5, z


def _by_impulse_responses(lr, decay, scale, second, offset, beta1, beta2, mu, sigma, init_rms):
    """E[θ̃_t²] by another route: θ̃_t as an explicit sum of responses to each input (g_s, g_s²)."""
    steps = lr.size

    def run(inputs: np.ndarray, theta0: float, constant: bool) -> float:
        m = v = 0.0
        theta = theta0
        for k in range(steps):
            g, g2 = inputs[k]
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g2
            shift = offset[k] if constant else 0.0
            theta = (1 - lr[k] * decay[k]) * theta - lr[k] * (scale[k] * m - second[k] * v + shift)
        return theta

    zero = np.zeros((steps, 2))
    base = run(zero, 0.0, True)  # the deterministic part
    mean_input = np.array([mu, mu * mu + sigma * sigma])
    input_cov = np.array([[sigma**2, 2 * mu * sigma**2],
                          [2 * mu * sigma**2, 4 * mu**2 * sigma**2 + 2 * sigma**4]])  # fmt: skip
    mean, variance = base, 0.0
    for s in range(steps):
        response = np.empty(2)
        for j in range(2):
            unit = zero.copy()
            unit[s, j] = 1.0
            response[j] = run(unit, 0.0, False)
        mean += response @ mean_input
        variance += response @ input_cov @ response
    variance += run(zero, init_rms, False) ** 2
    return variance + mean * mean


def test_the_surrogate_recursion_matches_the_impulse_responses():
    rng = np.random.default_rng(7)
    steps = 30
    lr, decay = rng.uniform(0.01, 0.1, steps), rng.uniform(0, 2, steps)
    scale, second, offset = rng.normal(size=steps), rng.normal(size=steps), rng.normal(size=steps)
    expected = surrogate_second_moments(
        lr, decay, scale, second, offset, beta1=0.7, beta2=0.9, grad_mean=0.6, grad_std=1.3,
        init_rms=0.2, record_steps=[steps],
    )  # fmt: skip
    direct = _by_impulse_responses(lr, decay, scale, second, offset, 0.7, 0.9, 0.6, 1.3, 0.2)
    assert expected[0] == pytest.approx(direct, rel=1e-10)


@pytest.mark.parametrize("case", CASES)
def test_the_controlled_estimate_agrees_with_the_plain_one(case):
    result = run(case)
    gap = result.precise_weight_rms - result.weight_rms
    assert np.nanmax(np.abs(gap) / np.where(result.weight_rms_se > 0, result.weight_rms_se, 1)) < 4
    # ... and is never less precise (on these settings at least 1.5x fewer coordinates needed
    # for Adam; about as precise at worst for the sign update).
    ratio = result.weight_rms_se[:, 1:] / result.precise_weight_rms_se[:, 1:]
    assert np.nanmin(ratio) > (1.2 if CASES[case]["update"] == "adamw" else 0.95)


@pytest.mark.parametrize("case", ["adamw, snr = 1", "sign, mu = 0"])
def test_the_controlled_estimate_is_unbiased_and_its_se_honest_over_blocks(case):
    # 24 disjoint blocks of 512 coordinates: the mean of their controlled estimates agrees with
    # the controlled estimate of all 12288 together (whose slope-fitting bias is 24x smaller)
    # within the controlled spread -- a bias of the estimated slope would show as a gap -- and
    # the spread of the blocks' estimates is what their reported standard error says.
    blocks = [
        run(case, n=None, coordinates=(512 * k, 512 * (k + 1)), record_steps=(600,))
        for k in range(24)
    ]
    pooled = blocks[0]
    for block in blocks[1:]:
        pooled = pooled.combine(block)
    squares = np.array([b.precise_weight_rms[0, 0] ** 2 for b in blocks])
    spread = squares.std(ddof=1)
    assert abs(squares.mean() - pooled.precise_weight_rms[0, 0] ** 2) < 4 * spread / math.sqrt(24)
    reported = np.mean([b.precise_weight_rms_se[0, 0] for b in blocks])
    # 24 samples: the sample SD is within about +-35% of the truth (3 sigma).
    assert 0.65 < np.sqrt(squares).std(ddof=1) / reported < 1.45


def test_sweeps_over_consecutive_coordinates_combine():
    whole = run("adamw, snr = 1", n=2048)
    first = run("adamw, snr = 1", n=None, coordinates=(0, 1024))
    second = run("adamw, snr = 1", n=None, coordinates=(1024, 2048))
    both = first.combine(second)
    assert both.n == 2048
    np.testing.assert_allclose(both.weight_rms, whole.weight_rms, rtol=1e-12)
    np.testing.assert_allclose(both.precise_weight_rms, whole.precise_weight_rms, rtol=1e-12)
    with pytest.raises(ValueError, match="consecutive"):
        second.combine(first)
    # The same sweep by value (variants rebuilt) combines; another sweep does not.
    rebuilt = sweep([Variant(v.lr, v.weight_decay, v.bias_correction, v.init_rms, v.eps)
                     for v in VARIANTS], coordinates=(1024, 2048),
                    **dict(CASES["adamw, snr = 1"], steps=600, record_steps=(0, 50, 200, 600),
                           seed=5))  # fmt: skip
    assert first.combine(rebuilt).n == 2048
    other = run("adamw, snr = 10", n=None, coordinates=(1024, 2048))
    with pytest.raises(ValueError, match="same variants, steps and options"):
        first.combine(other)


def test_the_surrogate_moments_validate_their_steps():
    for steps in ([10, 4], [4, 4], [4, 50], []):
        with pytest.raises(ValueError, match="record_steps"):
            surrogate_second_moments(np.full(10, 0.1), np.zeros(10), np.ones(10), beta1=0.0,
                                     grad_mean=0.0, grad_std=1.0, init_rms=0.0,
                                     record_steps=steps)  # fmt: skip


def test_controlled_rms_needs_three_coordinates_and_ignores_a_constant_surrogate():
    with pytest.raises(ValueError, match="at least 3"):
        controlled_rms_with_se(np.ones(5), np.array(1.0), 2)
    # A surrogate constant up to rounding gets no slope (it would be 1/rounding noise).
    y = np.random.default_rng(2).normal(size=1000) ** 2
    z = np.full(1000, 3.0) + 1e-15 * np.arange(1000)
    sums = np.array([y.sum(), (y * y).sum(), z.sum(), (z * z).sum(), (y * z).sum()])
    rms, _ = controlled_rms_with_se(sums, np.array(7.0), y.size)
    assert rms == pytest.approx(math.sqrt(y.mean()), rel=1e-12)


def test_controlled_rms_with_a_useless_control_is_the_plain_rms():
    rng = np.random.default_rng(1)
    y, z = rng.normal(size=10_000) ** 2, np.ones(10_000)
    sums = np.array([y.sum(), (y * y).sum(), z.sum(), (z * z).sum(), (y * z).sum()])
    rms, se = controlled_rms_with_se(sums, np.array(1.0), y.size)
    assert rms == pytest.approx(math.sqrt(y.mean()), rel=1e-12)
    # n - 2 degrees of freedom for the residual (mean and slope fitted)
    plain_se = y.std(ddof=1) / math.sqrt(y.size) / (2 * rms)
    assert se == pytest.approx(plain_se * math.sqrt((y.size - 1) / (y.size - 2)), rel=1e-9)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(update="lion"), "update must be one of"),
        (dict(beta1=1.0), "beta1 must be in"),
        (dict(steps=0), "steps must be"),
        (dict(record_steps=(700,)), "record_steps must"),
        (dict(n=None), "exactly one of n and coordinates"),
        (dict(n=1), "at least 2"),
        (dict(update_window=0), "update_window"),
    ],
)
def test_bad_arguments_name_the_parameter(changes, message):
    settings = dict(beta1=0.9, steps=600, n=64, record_steps=(600,))
    settings.update(changes)
    with pytest.raises(ValueError, match=message):
        sweep(VARIANTS, **settings)


def test_a_variant_may_not_record_what_the_sweep_does_not():
    with pytest.raises(ValueError, match="does not"):
        sweep([Variant(1e-2, 0.1, record_steps=(5,))], beta1=0.9, steps=10, n=64,
              record_steps=(10,))  # fmt: skip
    with pytest.raises(ValueError, match=r"lr \* weight_decay"):
        sweep([Variant(1.0, 2.0)], beta1=0.9, steps=10, n=64, record_steps=(10,))
