"""The inputs every public estimator accepts: real numbers only, whole steps, keywords after the
first arguments (issue 19, item 6)."""

from __future__ import annotations

import inspect
import math
from fractions import Fraction
from typing import Any, NamedTuple

import mpmath
import numpy as np
import pytest

from adamw_rms import estimators
from adamw_rms.estimators import (
    adam_l2_weight_rms,
    decay_per_step,
    equilibrium_weight_rms,
    lion_bound,
    lion_weight_rms,
    muon_weight_rms,
    pytorch_weight_decay,
    schedule_weight_rms,
    sgd_weight_rms,
    sign_sgdm_weight_rms,
    solve_schedule_weight_decay,
    solve_weight_decay,
    timescale,
    update_rms,
    weight_rms,
    weight_rms_large_snr,
    weight_rms_quick,
    weight_rms_trajectory,
)
from adamw_rms.estimators.sign_sgdm import truncation_bound

SCHEDULE = np.linspace(1e-3, 1e-4, 200)


class Case(NamedTuple):
    """A valid call of one estimator, split into its positional and keyword arguments."""

    function: Any
    positional: dict[str, Any]  # the leading arguments that may stay positional
    keywords: dict[str, Any]  # the rest, keyword-only
    numbers: tuple[str, ...]  # the parameters that take real numbers (or arrays of them)

    def call(self, **changes: Any) -> Any:
        arguments = {**self.positional, **self.keywords, **changes}
        leading = [arguments.pop(name) for name in self.positional]
        return self.function(*leading, **arguments)


CASES = {
    "weight_rms": Case(
        weight_rms,
        {"lr": 3e-4, "weight_decay": 0.1},
        {"beta1": 0.9, "steps": 10_000, "snr": 0.5, "init_rms": 0.02},
        ("lr", "weight_decay", "beta1", "steps", "snr", "init_rms"),
    ),
    "weight_rms_large_snr": Case(
        weight_rms_large_snr,
        {"lr": 3e-4, "weight_decay": 0.1},
        {"steps": 10_000, "snr": 2.0, "init_rms": 0.02},
        ("lr", "weight_decay", "steps", "snr", "init_rms"),
    ),
    "weight_rms_quick": Case(
        weight_rms_quick,
        {"lr": 3e-4, "weight_decay": 0.1},
        {"beta1": 0.9},
        ("lr", "weight_decay", "beta1"),
    ),
    "equilibrium_weight_rms": Case(
        equilibrium_weight_rms, {"lr": 3e-4, "weight_decay": 0.1}, {}, ("lr", "weight_decay")
    ),
    "timescale": Case(timescale, {"lr": 3e-4, "weight_decay": 0.1}, {}, ("lr", "weight_decay")),
    "update_rms": Case(update_rms, {"beta1": 0.9}, {"snr": 0.5}, ("beta1", "snr")),
    "sign_sgdm_weight_rms": Case(
        sign_sgdm_weight_rms,
        {"lr": 3e-4, "weight_decay": 0.1},
        {"beta1": 0.9, "steps": 1000, "snr": 0.5, "init_rms": 0.02},
        ("lr", "weight_decay", "beta1", "steps", "snr", "init_rms"),
    ),
    "muon_weight_rms": Case(
        muon_weight_rms,
        {"lr": 0.02, "weight_decay": 0.1},
        {"shape": (16, 32), "momentum": 0.9, "steps": 300, "init_rms": 0.02, "eps": 1e-7},
        ("lr", "weight_decay", "momentum", "steps", "init_rms", "eps"),
    ),
    "decay_per_step": Case(
        decay_per_step,
        {"lr": SCHEDULE, "weight_decay": 0.1},
        {"convention": "composer", "reference_lr": 2e-3},
        ("lr", "weight_decay", "reference_lr"),
    ),
    "pytorch_weight_decay": Case(
        pytorch_weight_decay,
        {"lr": SCHEDULE, "weight_decay": 1e-4},
        {"convention": "adamc", "reference_lr": 2e-3},
        ("lr", "weight_decay", "reference_lr"),
    ),
    "sgd_weight_rms": Case(
        sgd_weight_rms,
        {"lr": 0.1, "weight_decay": 1e-3},
        {
            "momentum": 0.9,
            "dampening": 0.1,
            "steps": 1000,
            "snr": 0.5,
            "grad_std": 2.0,
            "init_rms": 0.02,
        },
        ("lr", "weight_decay", "momentum", "dampening", "steps", "snr", "grad_std", "init_rms"),
    ),
    "truncation_bound": Case(
        truncation_bound,
        {"lr": 3e-4, "weight_decay": 0.1},
        {"beta1": 0.9, "steps": 1000, "terms": 50},
        ("lr", "weight_decay", "beta1", "steps", "terms"),
    ),
    "schedule_weight_rms": Case(
        schedule_weight_rms,
        {"shape": "cosine"},
        {
            "peak": 1e-3,
            "steps": 10_000,
            "weight_decay": 0.1,
            "final": 1e-4,
            "warmup": 100,
            "decay": 2000,
            "init_rms": 0.02,
        },
        ("peak", "steps", "weight_decay", "final", "warmup", "decay", "init_rms"),
    ),
    "weight_rms_trajectory": Case(
        weight_rms_trajectory,
        {"lr": SCHEDULE, "weight_decay": 0.1},
        {"beta1": 0.9, "snr": 0.5, "init_rms": 0.02},
        ("lr", "weight_decay", "beta1", "snr", "init_rms"),
    ),
    "solve_weight_decay": Case(
        solve_weight_decay,
        {"target_rms": 0.05, "lr": 1e-3},
        {"steps": 5000, "snr": 0.0, "init_rms": 0.02},
        ("target_rms", "lr", "steps", "snr", "init_rms"),
    ),
    "solve_schedule_weight_decay": Case(
        solve_schedule_weight_decay,
        {"target_rms": 0.002, "lr_schedule": SCHEDULE},
        {
            "weight_decay_shape": SCHEDULE / SCHEDULE.max(),
            "beta1": 0.9,
            "snr": 0.0,
            "init_rms": 0.0,
        },
        ("target_rms", "lr_schedule", "weight_decay_shape", "beta1", "snr", "init_rms"),
    ),
    "lion_weight_rms": Case(
        lion_weight_rms,
        {"lr": 3e-4, "weight_decay": 0.1},
        {"beta1": 0.9, "beta2": 0.99, "steps": 200, "snr": 0.0, "init_rms": 0.02},
        ("lr", "weight_decay", "beta1", "beta2", "steps", "snr", "init_rms"),
    ),
    "lion_bound": Case(
        lion_bound,
        {"lr": 3e-4, "weight_decay": 0.1},
        {"steps": 200, "init_rms": 0.02},
        ("lr", "weight_decay", "steps", "init_rms"),
    ),
    "adam_l2_weight_rms": Case(
        adam_l2_weight_rms,
        {"lr": 3e-4, "weight_decay": 0.1},
        {
            "beta1": 0.9,
            "beta2": 0.95,
            "eps": 1e-8,
            "steps": 1000,
            "snr": 0.5,
            "grad_std": 0.1,
            "init_rms": 0.02,
        },
        ("lr", "weight_decay", "beta1", "beta2", "eps", "steps", "snr", "grad_std", "init_rms"),
    ),
}

# The parameters that count steps, per estimator.
STEPS = {
    name: [p for p in ("steps", "warmup", "decay", "terms") if p in case.numbers]
    for name, case in CASES.items()
}


def test_every_public_estimator_is_covered():
    public = {
        name
        for name in estimators.__all__
        if callable(getattr(estimators, name)) and name != "lambdify_result"
    }
    assert public <= set(CASES)


# --- the issue's bars -----------------------------------------------------------------------------


def test_the_issue_bars():
    with pytest.raises(TypeError, match=r"^lr must be a real number"):
        weight_rms("3e-4", 0.1)
    with pytest.raises(TypeError, match="positional"):
        weight_rms(3e-4, 0.1, 10000)
    with pytest.raises(ValueError, match=r"^steps must be a whole number or inf; got 100\.5$"):
        weight_rms(3e-4, 0.1, steps=100.5)


# --- keyword-only ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_arguments_after_the_leading_ones_are_keyword_only(name):
    case = CASES[name]
    parameters = inspect.signature(case.function).parameters.values()
    leading = [p.name for p in parameters if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    assert leading == list(case.positional)
    case.call()  # the valid call works
    if case.keywords:
        first = next(iter(case.keywords))
        extra = (*case.positional.values(), case.keywords[first])
        with pytest.raises(TypeError, match="positional argument"):
            case.function(*extra)


# --- real numbers only ----------------------------------------------------------------------------

NOT_NUMBERS = ["3e-4", b"1", True, np.bool_(False), None, 1 + 0j, [0.1, "0.2"], ["x"],
               np.array([True, False]), np.array(["0.1"])]  # fmt: skip


# Parameters whose default is None (meaning: derive it), so None is a valid value there.
NONE_ALLOWED = {
    ("schedule_weight_rms", "decay"),
    ("solve_schedule_weight_decay", "weight_decay_shape"),
    ("decay_per_step", "reference_lr"),
    ("pytorch_weight_decay", "reference_lr"),
}


@pytest.mark.parametrize(
    ("name", "parameter", "value"),
    [
        pytest.param(name, parameter, value, id=f"{name}-{parameter}-{value!r}")
        for name, case in sorted(CASES.items())
        for parameter in case.numbers
        for value in NOT_NUMBERS
        if not (value is None and (name, parameter) in NONE_ALLOWED)
    ],
)
def test_anything_but_a_real_number_is_a_type_error_naming_the_parameter(name, parameter, value):
    with pytest.raises(TypeError, match=rf"^{parameter} must be a real number"):
        CASES[name].call(**{parameter: value})


@pytest.mark.parametrize(
    "name", ["weight_rms", "sign_sgdm_weight_rms", "solve_weight_decay", "muon_weight_rms"]
)
def test_arrays_and_other_real_types_still_work(name):
    case = CASES[name]
    scalar = case.call()
    first = next(iter(case.positional))
    value = case.positional[first]
    for as_array in ([value, value], np.array([value, value], dtype=np.float32),
                     np.array([Fraction(value), mpmath.mpf(value)], dtype=object)):  # fmt: skip
        got = case.call(**{first: as_array})
        assert np.shape(got) == (2,)
        assert got == pytest.approx([scalar, scalar], rel=1e-6)  # float32 rounds the input
    assert case.call(**{first: np.float64(value)}) == scalar


# --- whole steps ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "parameter"), [(name, p) for name, params in sorted(STEPS.items()) for p in params]
)
def test_counts_must_be_whole_numbers(name, parameter):
    case = CASES[name]
    count = case.keywords[parameter]
    expected = case.call()
    for whole in (int(count), float(count), np.int64(count)):
        assert case.call(**{parameter: whole}) == expected
    with pytest.raises(ValueError, match=rf"^{parameter} must be a whole number"):
        case.call(**{parameter: count + 0.5})


@pytest.mark.parametrize("name", ["weight_rms", "weight_rms_large_snr", "sign_sgdm_weight_rms",
                                  "solve_weight_decay", "truncation_bound",
                                  "muon_weight_rms"])  # fmt: skip
def test_steps_may_be_inf_or_an_array_of_whole_numbers(name):
    case = CASES[name]
    assert math.isfinite(case.call(steps=math.inf))
    values = case.call(steps=np.array([5000, 6000, math.inf]))
    assert values.shape == (3,)
    with pytest.raises(
        ValueError, match=r"^steps must be a whole number or inf; got 1\.5 at index"
    ):
        case.call(steps=[5000, 1.5])


def test_a_fraction_anywhere_in_a_long_array_is_found():
    # The whole-number test runs block by block on long arrays: the last block counts too.
    steps = np.arange(1.0, 50_001.0)
    assert weight_rms(1e-3, 0.1, steps=steps).shape == steps.shape
    steps[-1] += 0.5
    with pytest.raises(ValueError, match=r"got 50000\.5 at index \(49999,\)$"):
        weight_rms(1e-3, 0.1, steps=steps)
    with pytest.raises(ValueError, match=r"at index \(1, 0\)$"):
        weight_rms(1e-3, 0.1, steps=np.array([[3.0] * 20_000, [2.5] * 20_000]))
