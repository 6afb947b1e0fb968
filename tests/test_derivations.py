"""Structural and numerical properties of the two derivations (built and verified once)."""

from __future__ import annotations

import pytest
import sympy as sp

from adamw_rms import symbols as S
from adamw_rms.derivations._source import (
    SCHEDULES_CLAIMS,
    SIGN_SGDM_CLAIMS,
    TUC_CLAIMS,
    UPDATE_RMS_CLAIMS,
    WEIGHT_RMS_CLAIMS,
)
from adamw_rms.steps import (
    DERIVATION_NAMES,
    Derivation,
    Kind,
    Step,
    UnknownStepError,
    derivation,
    find_step,
)

# Collected once at import: building (without verifying) is cached by ``derivation``.
QUALIFIED_IDS = [f"{name}.{sid}" for name in DERIVATION_NAMES for sid in derivation(name).ids]

# Steps that no later step uses: the end results and their special cases / numeric value.
EXPECTED_TERMINAL = {
    "corrected.weight_rms_sq",
    "corrected.weight_second_moment_schedule",
    "corrected.update_rms_sq_small_eps",
    "corrected.update_rms_sq_large_eps",
    "update_rms.update_rms_value",
    "update_rms.snr_from_update_rms",
    "weight_rms.quick_estimate",
    "weight_rms.theta_rms_large_snr",
    "weight_rms.theta_rms_no_decay",
    "weight_rms.weight_decay_for_rms",
    "sign_sgdm.mean_v_bar_window",
    "sign_sgdm.ratio_to_adamw",
    "sign_sgdm.mean_field_as_autocovariance",
    # sign_sgdm.theta_rms_arcsine_general_limit: Lion's equilibrium reduces to it.
    "lion.req_equilibrium",
    "tuc.tuc_equilibrium",
    "schedules.no_decay_lower_gap",
    "schedules.theta_rms_no_decay_no_momentum",
    "schedules.kappa_constant_decay",
    "schedules.series_reduces_to_part1",
    "schedules.rho_limit",
    "schedules.single_epoch",
    "schedules.noise_lower_gap",
    "schedules.noise_upper_gap",
    "schedules.kappa_linear",
    "schedules.nu_linear",
    "schedules.kappa_cosine",
    "schedules.nu_cosine",
    "schedules.kappa_wsd",
    "schedules.nu_wsd",
    "schedules.rho_linear_exact",
    # The first step's moments start the estimator's recursion; the Nesterov equilibria and
    # the decoupled small-decay limit are end results.
    "sgd.theta_sq_first",
    "sgd.theta_buf_first",
    "sgd.buf_sq_first",
    "sgd.theta_mean_first",
    "sgd.buf_mean_first",
    "sgd.equilibrium_coupled_nesterov",
    "sgd.equilibrium_decoupled_nesterov",
    "sgd.small_decay_decoupled",
    "sgd.req_is_small_decay",
    "sgd.gradient_to_weight",
    # Adam with L2: the other two Lyapunov entries (the estimator's settled test reads Var m),
    # and the small-decay limit (REQ's balance).
    "adam_l2.stationary_cov",
    "adam_l2.stationary_var_m",
    "adam_l2.theta_rms_small_decay",
}
# Identities that rest on no earlier step: the variance lemma is derived from bilinearity
# (the unrolled EMAs rest on the recursions, which are definitions).
EXPECTED_ROOTS = {
    "update_rms.variance_of_sum",
    # Gaussian lemmas, checked against quadrature, and the regrouping of a double sum by lags.
    "sign_sgdm.sign_covariance",
    "sign_sgdm.sign_mean",
    "sign_sgdm.stationary_double_sum",
}
REQUIRED_CLAIMS = {
    # Beyond the source: nothing it prints to compare with.
    "corrected": set(),
    "sgd": set(),
    "lion": set(),
    "adam_l2": set(),
    "weight_rms": {
        "theta_rms",
        "theta_rms_mu0",
        "theta_rms_simple",
        "theta_rms_no_decay",
        "theta_rms_large_snr",
        "double_sum_m",
        "double_sum_v",
        "mean_v_bar_exact",
        "var_m_bar_exact",
        "var_m_bar_approx",
        "quick_estimate",
        "ema_wd",
    },
    # Every formula 11267 prints along the derivation (its intermediate sums excepted).
    "update_rms": set(UPDATE_RMS_CLAIMS),
    # Every formula the sign version prints.
    "sign_sgdm": {
        "momentum",
        "sign_update",
        "adamw_update",
        "v_bar_def",
        "mean_v_bar_sum",
        "mean_v_bar_window",
        "mean_v_bar_approx",
        "theta_rms_sign",
        "theta_rms_sign_simple",
        "ratio_to_adamw",
    },
    "tuc": set(TUC_CLAIMS),
    "schedules": {
        "theta_unrolled_dynamic",
        "theta_rms_split",
        "theta_rms_dynamic",
        "theta_rms_mu0_dynamic",
        "theta_rms_no_decay_dynamic",
        "theta_rms_series",
        "theta_rms_series_constant",
        "theta_rms_integral",
        "rho_ode",
        "single_epoch",
        "kappa_linear",
        "nu_linear",
        "kappa_cosine",
        "nu_cosine",
        "kappa_wsd",
        "nu_wsd",
    },
}
REQUIRED_LABELS = {
    "eq:ema-wd",
    "eq:theta-t",
    "eq:mv-roll",
    "eq:u-bar",
    "eq:theta-rms",
    "eq:theta-rms-mu0",
    "eq:theta-rms-simple",
}


def _qualify(name: str, used: str) -> str:
    return used if "." in used else f"{name}.{used}"


def _all_steps(derivations: dict[str, Derivation]):
    for name, d in derivations.items():
        for position, step in enumerate(d.steps):
            yield name, position, step


# --- verification ---------------------------------------------------------------------------------


@pytest.mark.parametrize("qualified_id", QUALIFIED_IDS)
def test_step_verifies(qualified_id, verifications):
    result = verifications[qualified_id]
    failures = [f"{c.method}: {c.detail}" for c in result.checks if not c.passed]
    assert result.passed, f"{qualified_id} failed: " + "; ".join(failures)


# The source's known errata: printed formulas that differ from the derivation.
EXPECTED_ERRATA = {
    # The source prints ||theta||^2 on the left of sqrt(eta/(2 lambda) (1+b1)/(1-b1)).
    "sign_sgdm": {"theta_rms_sign_simple"},
    # Part 2 (schedules): none. Every printed formula of 11404, the kappa_t, nu_t table included,
    # matches the derivation; its only slips are labels (the WSD branch "j in [t2, t]" for s, and
    # the translation's theta_1 for theta_{t-1}), not formulas.
}


@pytest.mark.parametrize("name", DERIVATION_NAMES)
def test_errata_are_exactly_the_known_ones(name, derivations):
    errata = {r.step_id for r in derivations[name].verify() if r.erratum and r.claim}
    assert errata == EXPECTED_ERRATA.get(name, set())


def test_the_sign_erratum_is_the_left_side_only(derivations):
    (result,) = [r for r in derivations["sign_sgdm"].verify() if r.erratum]
    assert "left side" in result.claim.detail
    step = derivations["sign_sgdm"].step(result.step_id)
    # The printed right side is the derived one: only the squared norm on the left is wrong.
    from adamw_rms.checks import ClaimCheck

    assert ClaimCheck(step.rhs, step.claim.rhs, "sign-rhs").run().passed


@pytest.mark.parametrize("name", DERIVATION_NAMES)
def test_required_claims_are_compared(name, derivations):
    d = derivations[name]
    with_claims = {s.id for s in d.steps if s.claim is not None}
    assert REQUIRED_CLAIMS[name] <= with_claims
    # The comparison really ran (and passed) for each of them.
    for result in d.verify():
        if result.step_id in with_claims:
            assert result.claim is not None
            expected_erratum = result.step_id in EXPECTED_ERRATA.get(name, set())
            assert result.claim.passed != expected_erratum, (result.step_id, result.claim.detail)


@pytest.mark.parametrize(
    ("name", "claims"),
    [
        ("update_rms", UPDATE_RMS_CLAIMS),
        ("weight_rms", WEIGHT_RMS_CLAIMS),
        ("sign_sgdm", SIGN_SGDM_CLAIMS),
        ("tuc", TUC_CLAIMS),
        ("schedules", SCHEDULES_CLAIMS),
    ],
)
def test_every_typed_claim_is_attached_to_a_step(name, claims, derivations):
    # A claim keyed by a misspelt id would silently never be compared.
    d = derivations[name]
    assert set(claims) <= set(d.ids)
    for key, claim in claims.items():
        assert d.step(key).claim is claim


# --- the chain of steps -------------------------------------------------------------------------


def test_uses_refer_to_earlier_or_existing_steps(derivations):
    everything = {f"{n}.{s.id}" for n, d in derivations.items() for s in d.steps}
    for name, position, step in _all_steps(derivations):
        earlier = set(derivations[name].ids[:position])
        for used in step.uses:
            if "." in used:
                assert used in everything, f"{step.qualified_id} uses unknown {used}"
                assert not used.startswith(f"{name}."), f"{step.qualified_id}: qualify only others"
            else:
                assert used in earlier, f"{step.qualified_id} uses {used}, not an earlier step"


def test_non_definitions_without_uses_are_the_expected_roots(derivations):
    roots = {
        step.qualified_id
        for _, _, step in _all_steps(derivations)
        if step.kind is not Kind.DEFINITION and not step.uses
    }
    assert roots == EXPECTED_ROOTS


def test_terminal_steps(derivations):
    used = {_qualify(name, u) for name, _, step in _all_steps(derivations) for u in step.uses}
    every = {step.qualified_id for _, _, step in _all_steps(derivations)}
    assert every - used == EXPECTED_TERMINAL


def test_every_result_names_an_existing_step(derivations):
    for name, d in derivations.items():
        assert d.results, name
        for key, step_id in d.results:
            assert d.result(key) is d.step(step_id).rhs
    with pytest.raises(KeyError, match="no result"):
        derivations["weight_rms"].result("nope")


def test_steps_carry_their_derivation_name(derivations):
    for name, _, step in _all_steps(derivations):
        assert step.derivation == name
        assert step.qualified_id == f"{name}.{step.id}"


def test_every_step_is_in_a_known_section(derivations):
    for name, d in derivations.items():
        assert {s.section for s in d.steps} <= set(d.sections), name


# --- kinds, checks, labels, assumptions -----------------------------------------------------------


def test_approximations_name_a_limit_or_assumption(derivations):
    bare = [
        step.qualified_id
        for _, _, step in _all_steps(derivations)
        if step.kind is Kind.APPROXIMATION and not (step.limit or step.assumptions)
    ]
    assert bare == []


def test_non_definitions_have_checks(derivations):
    unchecked = [
        step.qualified_id
        for _, _, step in _all_steps(derivations)
        if step.kind is not Kind.DEFINITION and not step.checks
    ]
    assert unchecked == []


def test_definitions_have_no_checks_and_report_definition(verifications, derivations):
    for _, _, step in _all_steps(derivations):
        if step.kind is Kind.DEFINITION:
            assert verifications[step.qualified_id].method == "definition"


def test_required_labels(derivations):
    labels = [s.label for s in derivations["weight_rms"].steps if s.label]
    assert REQUIRED_LABELS <= set(labels)
    assert len(labels) == len(set(labels)), "duplicate labels"


@pytest.mark.parametrize(
    ("step_id", "key"),
    [
        ("theta_rms_split", "theta0_perp_u_bar"),
        ("quick_balance", "theta_perp_u"),
        ("mean_field_u_bar", "mean_field_ratio"),
    ],
)
def test_statistical_assumptions_recorded(step_id, key, derivations):
    step = derivations["weight_rms"].step(step_id)
    assert key in {a.key for a in step.assumptions}


def test_step_constructor_refuses_unjustified_statements():
    with pytest.raises(ValueError, match="no check"):
        _make_step(kind=Kind.IDENTITY)
    with pytest.raises(ValueError, match="neither a limit nor an assumption"):
        _make_step(kind=Kind.APPROXIMATION, checks=(object(),))


def _make_step(**fields) -> Step:
    base = dict(id="x", title="x", section="s", lhs=S.eta, rhs=S.eta, justification="")
    return Step(**{**base, **fields})


# --- lookup ------------------------------------------------------------------------------------


def test_step_lookup_by_local_and_qualified_id(derivations):
    d = derivations["weight_rms"]
    assert d.step("double_sum_m") is d.step("weight_rms.double_sum_m")
    assert find_step("weight_rms.double_sum_m") is d.step("double_sum_m")
    assert find_step("theta_rms") is d.step("theta_rms")


def test_unknown_step_suggests_close_ids(derivations):
    with pytest.raises(UnknownStepError) as info:
        derivations["weight_rms"].step("double_sum_mm")
    assert "double_sum_m" in info.value.suggestions
    with pytest.raises(UnknownStepError) as info:
        find_step("double_sum_mm")
    assert "weight_rms.double_sum_m" in info.value.suggestions
    assert "double_sum_m" in str(info.value)


def test_ambiguous_bare_id_lists_both(derivations):
    with pytest.raises(UnknownStepError) as info:
        find_step("m_unrolled")
    assert set(info.value.suggestions) == {"update_rms.m_unrolled", "weight_rms.m_unrolled"}


def test_unknown_derivation_name():
    with pytest.raises(KeyError, match="weight_rms"):
        derivation("weight_rsm")


# --- independent numeric sanity checks ----------------------------------------------------------


def _evaluate(expr: sp.Expr, values: dict) -> float:
    value = expr.xreplace(values)
    assert not value.free_symbols, value.free_symbols
    return float(sp.N(value, 30))


@pytest.mark.parametrize("rho0", [0.0, 0.37, 12.5])
def test_weight_rms_equilibrium_numerically(rho0, derivations):
    eta, lam = sp.Float("1e-3", 30), sp.Float("0.1", 30)
    values = {
        S.eta: eta,
        S.lam: lam,
        S.beta3: 1 - eta * lam,  # = 1 - 1e-4, so beta3**t = exp(-100) at t = 1e6
        S.t: sp.Integer(10**6),
        S.snr: sp.Integer(0),
        S.rho0: sp.Float(rho0, 30),
    }
    rms_sq = derivations["weight_rms"].result("weight_rms_sq")
    assert rms_sq is derivations["weight_rms"].step("theta_rms").rhs
    got = _evaluate(rms_sq, values)
    expected = 1e-3 / (2 * 0.1)
    assert got == pytest.approx(expected, rel=1e-6)


def test_weight_rms_large_snr_numerically(derivations):
    # For SNR -> oo and beta3**t -> 0 the averaged update has RMS 1, so ||theta||^2 -> 1/lambda^2.
    values = {
        S.eta: sp.Float("1e-3", 30),
        S.lam: sp.Float("0.1", 30),
        S.beta3: 1 - sp.Float("1e-4", 30),
        S.t: sp.Integer(10**6),
        S.snr: sp.Float("1e12", 30),
        S.rho0: sp.Float(1, 30),
    }
    got = _evaluate(derivations["weight_rms"].result("weight_rms_sq"), values)
    assert got == pytest.approx(1 / 0.1**2, rel=1e-6)


def test_update_rms_value(derivations):
    rhs = derivations["update_rms"].step("update_rms_value").rhs
    assert not rhs.free_symbols
    assert float(rhs) == pytest.approx(0.22941573387, abs=1e-11)
    assert sp.simplify(rhs - 1 / sp.sqrt(19)) == 0


def test_assumptions_are_listed_with_the_steps_that_use_them():
    from adamw_rms import derivation

    found = derivation("weight_rms").assumptions()
    assert {"theta0_perp_u_bar", "theta_perp_u", "mean_field_ratio", "coordinate_average"} <= set(
        found
    )
    assumption, users = found["theta0_perp_u_bar"]
    assert "theta_rms_split" in users and assumption.latex
