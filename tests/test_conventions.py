"""Weight-decay conventions: each library's decay rule, written out, against the mapping."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from adamw_rms.estimators import weight_rms_trajectory
from adamw_rms.estimators.conventions import (
    DECAY_CONVENTIONS,
    decay_per_step,
    pytorch_weight_decay,
)
from adamw_rms.schedules import cosine

STEPS = 400
LR = np.concatenate([np.linspace(0.0, 1e-2, 41)[1:], cosine(1e-2, 1e-3, STEPS - 40)])
UPDATES = np.random.default_rng(3).standard_normal(STEPS)


def _run_pytorch(lr, weight_decay, theta=1.0):
    # torch.optim.AdamW's order: decay by lr * weight_decay, then the step.
    for eta, wd, u in zip(lr, weight_decay, UPDATES, strict=True):
        theta = theta * (1 - eta * wd) - eta * u
    return theta


def _run_library(name, lr, weight_decay, theta=1.0):
    """The decay as each library writes it (not through the mapping under test)."""
    base = lr.max()
    for eta, u in zip(lr, UPDATES, strict=True):
        if name == "tf_addons":  # var -= weight_decay * var; then the optimizer's step
            theta = theta - weight_decay * theta
        elif name == "composer":  # param *= 1 - (lr / initial_lr) * weight_decay
            theta = theta * (1 - (eta / base) * weight_decay)
        elif name == "adamc":  # the coefficient follows the schedule: lambda_t = lambda lr_t/max
            theta = theta * (1 - eta * (weight_decay * eta / base))
        else:  # optax.adamw / Keras AdamW: update = -lr * (u + wd * theta)
            theta = theta - eta * (u + weight_decay * theta)
            continue
        theta = theta - eta * u
    return theta


@pytest.mark.parametrize(
    ("name", "weight_decay"),
    [("tf_addons", 2e-4), ("composer", 0.05), ("adamc", 0.1), ("optax", 0.1), ("keras", 0.1)],
)
def test_the_mapping_reproduces_each_library_rule(name, weight_decay):
    mapped = pytorch_weight_decay(LR, weight_decay, convention=name)
    expected = _run_library(name, LR, weight_decay)
    assert _run_pytorch(LR, mapped) == pytest.approx(expected, rel=1e-12)


def test_aliases_name_the_same_rules():
    for alias, kind in DECAY_CONVENTIONS.items():
        np.testing.assert_array_equal(
            decay_per_step(LR, 0.01, convention=alias), decay_per_step(LR, 0.01, convention=kind)
        )


@pytest.mark.parametrize("method", ["mean_field", "series", "ode", "single_epoch", "corrected"])
@pytest.mark.parametrize("convention", ["tf_addons", "composer", "adamc"])
def test_trajectory_takes_the_convention(method, convention):
    decay = 1e-4 if convention == "tf_addons" else 0.05
    direct = weight_rms_trajectory(LR, decay, method=method, decay_convention=convention)
    mapped = weight_rms_trajectory(
        LR, pytorch_weight_decay(LR, decay, convention=convention), method=method
    )
    np.testing.assert_allclose(direct, mapped, rtol=1e-12)


def test_corrected_decay_holds_the_equilibrium_whatever_the_rate():
    # AdamC: lambda_t = lambda eta_t / eta_max, so sqrt(eta / 2 lambda') = sqrt(eta_max / 2 lambda)
    # at any constant eta; the PyTorch convention's equilibrium falls with sqrt(eta).
    peak, decay = 1e-2, 0.5
    for scale in (1.0, 0.25):
        lr = np.full(200_000, peak * scale)
        rms = weight_rms_trajectory(
            lr, decay, method="ode", decay_convention="adamc", reference_lr=peak
        )
        assert rms[-1] == pytest.approx(np.sqrt(peak / (2 * decay)), rel=1e-3)


def test_independent_decay_lets_the_norm_follow_the_rate():
    # TF-Addons with a constant factor d: equilibrium eta / sqrt(2 d), linear in eta.
    decay = 1e-3
    for eta in (1e-3, 4e-3):
        rms = weight_rms_trajectory(np.full(50_000, eta), decay, method="ode",
                                    decay_convention="tf_addons")  # fmt: skip
        assert rms[-1] == pytest.approx(eta / np.sqrt(2 * decay), rel=2e-3)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: decay_per_step(LR, 0.1, convention="adam"), "convention must be one of"),
        (lambda: decay_per_step(LR, 1.5, convention="tf_addons"), r"decay per step \(weight_decay"),
        (lambda: decay_per_step(0.0, 0.1, convention="composer"), "reference_lr"),
        (lambda: decay_per_step(LR, 0.1, convention="adamc", reference_lr=0.0), "reference_lr"),
        (lambda: decay_per_step(LR, -0.1), "weight_decay must be in"),
        (lambda: decay_per_step(np.ones(3), np.ones(4)), "same length"),
        (lambda: pytorch_weight_decay(0.0, 1e-3, convention="tf_addons"), "where lr = 0"),
        (
            lambda: weight_rms_trajectory(LR, 0.1, decay_convention="torch"),
            "convention must be one of",
        ),
    ],
)
def test_bad_input_names_the_parameter(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("reference_lr", [np.array([1e-3, 2e-3]), [1e-3], np.ones((1, 1))])
@pytest.mark.parametrize("convention", ["composer", "corrected"])
def test_reference_lr_must_be_a_single_number(reference_lr, convention):
    # One base (or peak) lr for the whole schedule; an array used to fail inside NumPy's float().
    message = r"^reference_lr must be a single number > 0 .*not an array"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for call in (decay_per_step, pytorch_weight_decay):
            with pytest.raises(TypeError, match=message):
                call(LR, 0.1, convention=convention, reference_lr=reference_lr)
        with pytest.raises(TypeError, match=message):
            weight_rms_trajectory(LR, 0.1, decay_convention=convention, reference_lr=reference_lr)
        # A 0-d array is a single number.
        assert decay_per_step(1e-3, 0.1, convention="composer", reference_lr=np.array(2e-3)) == (
            pytest.approx(0.05)
        )


def test_decay_of_one_is_allowed_and_beyond_it_refused():
    assert decay_per_step(1.0, 1.0) == 1.0
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        decay_per_step(1.0, 1.0 + 1e-12)
