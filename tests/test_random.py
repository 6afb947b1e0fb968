"""The counter-based normals: a pure function of (seed, coordinate, step), and Gaussian."""

from __future__ import annotations

import math

import numpy as np
import pytest

from adamw_rms.simulation.random import (
    LAYERS,
    TAIL_START,
    ZIGGURAT,
    coordinate_keys,
    normals,
    step_counter,
)


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


@pytest.fixture(scope="module")
def sample() -> np.ndarray:
    keys = coordinate_keys(7, np.arange(200_000))
    return np.concatenate([normals(keys, step) for step in range(1, 6)])


def test_keyed_by_seed_coordinate_and_step():
    keys = coordinate_keys(3, np.arange(1000))
    again = coordinate_keys(3, np.arange(1000))
    np.testing.assert_array_equal(normals(keys, 5), normals(again, 5))
    # Any subset of coordinates, in any order, gets the same numbers: no hidden state.
    order = np.random.default_rng(0).permutation(1000)
    np.testing.assert_array_equal(normals(keys[order], 5), normals(keys, 5)[order])
    assert not np.array_equal(normals(keys, 5), normals(keys, 6))
    assert not np.array_equal(normals(coordinate_keys(4, np.arange(1000)), 5), normals(keys, 5))
    assert step_counter(0) != step_counter(1)


def test_moments_match_the_standard_normal(sample):
    n = sample.size
    # Tolerances: 5 standard errors of each sample moment under N(0, 1).
    assert abs(sample.mean()) < 5 / math.sqrt(n)
    assert abs(np.mean(sample**2) - 1) < 5 * math.sqrt(2 / n)
    assert abs(np.mean(sample**3)) < 5 * math.sqrt(15 / n)
    assert abs(np.mean(sample**4) - 3) < 5 * math.sqrt(96 / n)


def test_distribution_matches_the_normal_cdf(sample):
    # Chi-square over 40 equiprobable cells plus the two tails beyond the ziggurat's r.
    edges = np.concatenate([[-np.inf], np.linspace(-3.0, 3.0, 41), [np.inf]])
    observed, _ = np.histogram(sample, bins=edges)
    expected = sample.size * np.diff(_normal_cdf(edges))
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    # 41 degrees of freedom: mean 41, sd 9; 100 is beyond the 1e-6 quantile.
    assert statistic < 100, statistic


def test_tail_beyond_r_is_sampled(sample):
    r = 3.6541528853610088
    beyond = np.mean(np.abs(sample) > r)
    expected = 2 * (1 - _normal_cdf(np.array(r)))
    assert abs(beyond - expected) < 5 * math.sqrt(expected / sample.size)
    assert np.abs(sample).max() > r


def test_tables_are_consistent():
    thresholds, widths, heights = ZIGGURAT
    assert thresholds.shape == widths.shape == (LAYERS,)
    assert np.all(np.diff(heights) > 0)  # the layers climb towards the mode
    assert heights[-1] == 1.0
    # Every layer has the same area v: the base strip (rectangle plus tail) and each
    # rectangle x[i] * (f(x[i+1]) - f(x[i])).
    x = np.append(widths * 2.0**52, 0.0)
    tail = math.sqrt(math.pi / 2) * math.erfc(TAIL_START / math.sqrt(2))
    base = TAIL_START * heights[1] + tail
    areas = x[1:-1] * (heights[2:] - heights[1:-1])
    np.testing.assert_allclose(areas, base, rtol=1e-9)
    # 99.6% of draws take the fast path: the mean acceptance ratio x[i+1] / x[i].
    assert np.mean(thresholds / 2.0**52) > 0.995


def test_numba_kernel_draws_the_same_numbers():
    pytest.importorskip("numba")
    from adamw_rms.simulation import SimulationConfig, simulate

    # One step, lr * u with u = m/sqrt(v) = sign(g): both engines see identical gradients.
    config = SimulationConfig(
        lr=1.0, weight_decay=0.0, beta1=0.0, beta2=0.0, eps=0.0, bias_correction=False,
        steps=1, n=3000, init_rms=1.0, grad_mean=0.0, record_steps=(0, 1),
    )  # fmt: skip
    fast = simulate(config, engine="numba")
    reference = simulate(config, engine="numpy", random_source="counter")
    # Same numbers; the sums over coordinates differ only in their order (chunks vs pairwise).
    np.testing.assert_allclose(fast.weight_rms, reference.weight_rms, rtol=1e-14, atol=0)
