"""The formula registry: named predicates decide where each formula applies."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from adamw_rms import comparison, formulas
from adamw_rms.formulas import FORMULAS, PREDICATES, Predicate, formula
from adamw_rms.simulation import SimulationConfig, simulate

BASE = dict(lr=1e-2, weight_decay=0.1, steps=100, n=2)


def applicable(**settings) -> list[str]:
    config = SimulationConfig(**{**BASE, **settings})
    return [f.name for f in FORMULAS if f.applies(config) is None]


def test_comparison_re_exports_the_registry():
    assert comparison.FORMULAS is formulas.FORMULAS
    assert comparison.formula is formulas.formula
    assert comparison.Formula is formulas.Formula


def test_every_requirement_is_a_named_predicate():
    for item in FORMULAS:
        assert item.requires
        for predicate in item.requires:
            assert isinstance(predicate, Predicate)
            assert PREDICATES[predicate.name] is predicate
    assert len({f.name for f in FORMULAS}) == len(FORMULAS)


@pytest.mark.parametrize(
    ("settings", "names"),
    [
        (
            {},
            [
                "theta_rms",
                "theta_rms_corrected",
                "theta_rms_mu0",
                "equilibrium",
                "quick",
                "update_rms",
                "update_rms_corrected",
            ],
        ),
        (
            {"grad_mean": 1.0},
            ["theta_rms", "theta_rms_corrected", "large_snr", "update_rms", "update_rms_corrected"],
        ),
        # The corrected weight RMS takes weight_decay = 0 (the estimator accepts it).
        (
            {"weight_decay": 0.0},
            ["theta_rms_corrected", "no_decay", "update_rms", "update_rms_corrected"],
        ),
        (
            {"weight_decay": 0.0, "grad_mean": 1.0},
            ["theta_rms_corrected", "no_decay", "update_rms", "update_rms_corrected"],
        ),
        ({"update": "sign_sgdm"}, ["sign_arcsine", "sign_source"]),
        (
            {"lr": np.linspace(1e-2, 1e-3, 100)},
            [
                "schedule_mean_field",
                "schedule_corrected",
                "schedule_series",
                "schedule_ode",
                "schedule_single_epoch",
            ],
        ),
        (
            {"lr": np.linspace(1e-2, 1e-3, 100), "grad_mean": 1.0},
            ["schedule_mean_field", "schedule_corrected"],
        ),
    ],
)
def test_which_formulas_apply(settings, names):
    assert applicable(**settings) == names


def test_applies_gives_the_first_failing_reason():
    config = SimulationConfig(**{**BASE, "weight_decay": 0.0, "update": "sign_sgdm"})
    assert formula("theta_rms").applies(config) == "an AdamW formula"
    assert formula("equilibrium").applies(SimulationConfig(**{**BASE, "grad_mean": 1.0})) == (
        "needs grad_mean = 0"
    )
    assert formula("no_decay").applies(SimulationConfig(**BASE)) == "needs weight_decay = 0"


def test_update_rule_follows_the_predicates():
    assert {f.name for f in FORMULAS if f.update == "sign_sgdm"} == {"sign_arcsine", "sign_source"}


def test_unknown_formula_lists_the_known_ones():
    with pytest.raises(ValueError, match="known: theta_rms, theta_rms_corrected, theta_rms_mu0"):
        formula("nope")


NOISELESS = [
    {"update": "adamw"},
    {"update": "adamw", "weight_decay": 0.0},
    {"update": "adamw", "lr": np.linspace(1e-2, 1e-3, 100)},
    {"update": "sign_sgdm"},
    {"update": "sgd"},
    {"update": "lion"},
    {"update": "adam_l2"},
]


@pytest.mark.parametrize("settings", NOISELESS, ids=lambda s: "-".join(map(str, s.values()))[:40])
def test_noiseless_gradients_apply_only_where_a_formula_can_predict(settings):
    # grad_std = 0 is a legal run (a pure decay towards the drift) with snr = inf: every
    # formula either declines it with a reason or predicts a finite value, without warnings.
    config = SimulationConfig(**{**BASE, **settings, "grad_std": 0.0, "grad_mean": 0.5})
    declined = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for item in FORMULAS:
            reason = item.applies(config)
            if reason is None:
                assert math.isfinite(item.predictions(config, [50])[0]), item.name
            elif reason == formulas.requires_noise.reason:
                declined.append(item.name)
    # The rule's own formulas that take the SNR are the ones declined for want of noise.
    rule = settings["update"]
    assert declined and all(formula(name).update == rule for name in declined)
    assert formula(declined[0]).applies(config.replace(grad_std=1.0)) is None


@pytest.mark.parametrize("update", ["sgd", "adamw"])
def test_compare_skips_what_noiseless_gradients_do_not_allow(update):
    result = simulate(
        SimulationConfig(**{**BASE, "update": update, "grad_std": 0.0, "grad_mean": 0.5}),
        engine="numpy",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = comparison.compare(result)
    assert [row.formula.name for row in rows] == []  # everything left needs noise or mean 0
    assert formula("sgd_exact").applies(result.config) == (
        formulas.sgd_update.reason if update != "sgd" else formulas.requires_noise.reason
    )
