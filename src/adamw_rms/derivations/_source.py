"""The sources, and the formulas they print, typed once so the derivations can be compared.

Nothing here is used to *compute* a step. Each claim is the source's formula as printed (same
grouping, same notation mapped onto :mod:`adamw_rms.symbols`); a derived step that differs is an
erratum in the generated documents.
"""

from __future__ import annotations

import sympy as sp

from .. import symbols as S
from ..steps import Claim, Source

b1, b2, b3, t, j = S.beta1, S.beta2, S.beta3, S.t, S.j
eta, lam, mu, sigma, snr = S.eta, S.lam, S.mu, S.sigma, S.snr

UPDATE_RMS_SOURCE = Source(
    key="su2025updaterms",
    author="Su Jianlin",
    title="为什么Adam的Update RMS是0.2?",
    title_en="Why is Adam's update RMS 0.2?",
    date="2025-09-02",
    url="https://kexue.fm/archives/11267",
)

#: Kosson et al.'s rotational-equilibrium analysis: its formulas are compared, not followed
#: (derivations sgd and adam_l2; Lion's REQ step cites it in its text).
REQ_SOURCE = Source(
    key="kosson2024req",
    author="Atli Kosson, Bettina Messmer, Martin Jaggi",
    title="Rotational Equilibrium: How Weight Decay Balances Learning Across Neural Networks",
    title_en="Rotational Equilibrium: How Weight Decay Balances Learning Across Neural Networks",
    date="2024 (ICML)",
    url="https://arxiv.org/abs/2305.17212",
)

WEIGHT_RMS_SOURCE = Source(
    key="su2025weightrms",
    author="Su Jianlin",
    title="AdamW的Weight RMS的渐近估计(上)",
    title_en="Asymptotic estimate of AdamW's weight RMS, part 1",
    date="2025-10-01",
    url="https://kexue.fm/archives/11307",
)


def _claim(rhs: sp.Expr, where: str, **given: sp.Expr) -> Claim:
    return Claim(rhs, where, tuple((getattr(S, k), v) for k, v in given.items()))


# --- "Why is Adam's update RMS 0.2?" ---------------------------------------------------
UPDATE_RMS_CLAIMS = {
    "m_recursion": _claim(b1 * S.m[t - 1] + (1 - b1) * S.g[t], "11267, Adam"),
    "v_recursion": _claim(b2 * S.v[t - 1] + (1 - b2) * S.g[t] ** 2, "11267, Adam"),
    "adam_update": _claim(S.m[t] / sp.sqrt(S.v[t]), "11267, t large, epsilon -> 0"),
    "m_unrolled": _claim(
        (1 - b1) * sp.Sum(b1 ** (t - S.i) * S.g[S.i], (S.i, 1, t)), "11267, expansion of m_t"
    ),
    "v_unrolled": _claim(
        (1 - b2) * sp.Sum(b2 ** (t - S.i) * S.g[S.i] ** 2, (S.i, 1, t)), "11267, expansion of v_t"
    ),
    "mean_v": _claim((1 - b2**t) * (mu**2 + sigma**2), "11267, E[v_t]"),
    "mean_v_limit": _claim(mu**2 + sigma**2, "11267, E[v_t] as t -> oo"),
    # Printed as E[m_t] = mu, where t is already taken large (the weights sum to 1 - beta1^t).
    "mean_m_limit": _claim(mu, "11267, E[m_t] (t large)"),
    "var_m": _claim(
        (1 - b1) ** 2 * (1 - b1 ** (2 * t)) / (1 - b1**2) * sigma**2, "11267, Var[m_t]"
    ),
    "var_m_limit": _claim((1 - b1) / (1 + b1) * sigma**2, "11267, Var[m_t] as t -> oo"),
    "mean_field_u": _claim(
        S.Expect(S.m[t] ** 2) / S.Expect(S.v[t]), "11267, mean-field approximation"
    ),
    "u_sq": _claim(
        (mu**2 + (1 - b1) / (1 + b1) * sigma**2) / (mu**2 + sigma**2), "11267, E[u_t^2]"
    ),
    "update_rms_sq": _claim((snr + (1 - b1) / (1 + b1)) / (snr + 1), "11267, eq:mean-field"),
    "update_rms_mu0": _claim(sp.sqrt((1 - b1) / (1 + b1)), "11267, eq:special-case"),
    "update_rms_value": _claim(
        sp.sqrt((1 - b1) / (1 + b1)), "11267, beta1 = 0.9: 0.2294...", beta1=sp.Rational(9, 10)
    ),
    "snr_from_update_rms": _claim(
        (S.RMS2(S.u[t]) - (1 - b1) / (1 + b1)) / (1 - S.RMS2(S.u[t])), "11267, reverse prediction"
    ),
}

# --- "Asymptotic estimate of AdamW's weight RMS (part 1)" -----------------------------------------
_theta_rms = b3 ** (2 * t) * S.rho0 + (1 - b3**t) ** 2 * (
    snr + (1 - b3) * (1 + b3**t) / 2 / (1 - b3**t)
) / (lam**2 * (snr + 1))

_w_i = S.i
_window = (1 - b3) / (1 - b3**t)
_c_var = (1 - b3) * (1 + b3**t) / 2 / (1 - b3**t)

WEIGHT_RMS_CLAIMS = {
    "beta3_def": _claim(1 - eta * lam, "11307, sliding view"),
    "ema_wd": _claim(b3 * S.theta[t - 1] + (1 - b3) * (-S.u[t] / lam), "11307, eq:ema-wd"),
    "theta_unrolled": _claim(
        b3**t * S.theta[0] + (1 - b3) * sp.Sum(b3 ** (t - _w_i) * (-S.u[_w_i] / lam), (_w_i, 1, t)),
        "11307, eq:theta-t",
    ),
    "m_unrolled": _claim(
        (1 - b1) * sp.Sum(b1 ** (t - _w_i) * S.g[_w_i], (_w_i, 1, t)), "11307, eq:mv-roll"
    ),
    "v_unrolled": _claim(
        (1 - b2) * sp.Sum(b2 ** (t - _w_i) * S.g[_w_i] ** 2, (_w_i, 1, t)), "11307, eq:mv-roll"
    ),
    "rms_recursion": _claim(
        b3**2 * S.RMS2(S.theta[t - 1])
        + (1 - b3) ** 2 * S.RMS2(S.u[t]) / lam**2
        - 2 * b3 * (1 - b3) * S.MeanDot(S.theta[t - 1], S.u[t]) / lam,
        "11307, quick estimate",
    ),
    "quick_balance": Claim(
        (1 - b3) ** 2 * (1 - b1) / (1 + b1) / lam**2,
        "11307, quick estimate",
        lhs=(1 - b3**2) * S.RMS2(S.theta[t]),
    ),
    "u_bar_def": _claim(
        _window * sp.Sum(b3 ** (t - _w_i) * S.u[_w_i], (_w_i, 1, t)), "11307, eq:u-bar"
    ),
    "m_bar_def": _claim(
        _window * sp.Sum(b3 ** (t - _w_i) * S.m[_w_i], (_w_i, 1, t)), "11307, eq:u-bar"
    ),
    "v_bar_def": _claim(
        _window * sp.Sum(b3 ** (t - _w_i) * S.v[_w_i], (_w_i, 1, t)), "11307, eq:u-bar"
    ),
    "u_bar_mean_field": _claim(S.m_bar[t] / sp.sqrt(S.v_bar[t]), "11307, eq:u-bar"),
    "theta_rms_split": _claim(
        b3 ** (2 * t) * S.rho0 + (1 - b3**t) ** 2 * lam**-2 * S.RMS2(S.u_bar[t]), "11307, step 1"
    ),
    "mean_field_u_bar": _claim(S.Expect(S.m_bar[t] ** 2) / S.Expect(S.v_bar[t]), "11307, step 1"),
    "mean_m_bar": _claim(mu, "11307, step 4"),
    "u_bar_sq": _claim((mu**2 + _c_var * sigma**2) / (mu**2 + sigma**2), "11307, step 5"),
    "u_bar_rms": _claim((snr + _c_var) / (snr + 1), "11307, step 5"),
    "quick_estimate": _claim(sp.sqrt((1 - b1) / (1 + b1) * eta / (2 * lam)), "11307, quick"),
    "double_sum_m": _claim(
        (1 - b1) * sp.Sum((b3 ** (t - j + 1) - b1 ** (t - j + 1)) / (b3 - b1) * S.g[j], (j, 1, t)),
        "11307, step 2",
    ),
    "double_sum_v": _claim(
        (1 - b2)
        * sp.Sum((b3 ** (t - j + 1) - b2 ** (t - j + 1)) / (b3 - b2) * S.g[j] ** 2, (j, 1, t)),
        "11307, step 2",
    ),
    "mean_v_bar_exact": _claim(
        (1 - b3)
        * (1 - b2)
        / ((1 - b3**t) * (b3 - b2))
        * ((b3 - b3 ** (t + 1)) / (1 - b3) - (b2 - b2 ** (t + 1)) / (1 - b2))
        * (mu**2 + sigma**2),
        "11307, step 3",
    ),
    "mean_v_bar_approx": _claim(mu**2 + sigma**2, "11307, step 3"),
    "var_m_bar_exact": _claim(
        (1 - b3) ** 2
        * (1 - b1) ** 2
        / ((1 - b3**t) ** 2 * (b3 - b1) ** 2)
        * (
            (b3**2 - b3 ** (2 * (t + 1))) / (1 - b3**2)
            + (b1**2 - b1 ** (2 * (t + 1))) / (1 - b1**2)
            - 2 * (b1 * b3 - b1 ** (t + 1) * b3 ** (t + 1)) / (1 - b1 * b3)
        )
        * sigma**2,
        "11307, step 4",
    ),
    "var_m_bar_approx": _claim(
        (1 - b3) * (1 + b3**t) * sigma**2 / 2 / (1 - b3**t), "11307, step 4"
    ),
    "theta_rms": _claim(_theta_rms, "11307, eq:theta-rms"),
    "theta_rms_mu0": _claim(
        b3 ** (2 * t) * S.rho0 + (1 - b3 ** (2 * t)) * eta / 2 / lam, "11307, eq:theta-rms-mu0"
    ),
    "theta_rms_simple": _claim(sp.sqrt(eta / (2 * lam)), "11307, eq:theta-rms-simple"),
    "theta_rms_no_decay": _claim(S.rho0 + eta**2 * t, "11307, lambda -> 0"),
    "theta_rms_large_snr": _claim(
        b3 ** (2 * t) * S.rho0 + (1 - b3**t) ** 2 * snr / (lam**2 * (snr + 1)),
        "11307, SNR dominant",
    ),
}

# --- part 1, "sign version" (SignSGDMW) ----------------------------------------------------------
_sign_window = (1 - b3) / (1 - b3**t)


def _printed(lhs: sp.Expr, rhs: sp.Expr, where: str) -> Claim:
    # The sign version's formulas with the left side the source prints, compared too.
    return Claim(rhs, where, lhs=lhs)


_adamw_norm = sp.Symbol(r"\Vert\theta_t^{\mathrm{AdamW}}\Vert_{\mathrm{RMS}}")

SIGN_SGDM_CLAIMS = {
    "momentum": _printed(S.m[t], b1 * S.m[t - 1] + (1 - b1) * S.g[t], "11307, SignSGDMW, m_t"),
    "sign_update": _printed(
        S.u[t], S.m[t] / sp.sqrt(S.m[t] ** 2), "11307, sign(m_t) = m_t/sqrt(m_t^2)"
    ),
    # Printed with eta_t, lambda_t; constant here.
    "adamw_update": _printed(
        S.theta[t],
        S.theta[t - 1] - eta * (S.u[t] + lam * S.theta[t - 1]),
        "11307, SignSGDMW, theta_t",
    ),
    "v_bar_def": _printed(
        S.v_bar[t],
        _sign_window * sp.Sum(b3 ** (t - S.i) * S.m[S.i] ** 2, (S.i, 1, t)),
        "11307, sign version, v_bar_t",
    ),
    "mean_v_bar_sum": _printed(
        S.Expect(S.v_bar[t]),
        _sign_window * sp.Sum(b3 ** (t - S.i) * S.Expect(S.m[S.i] ** 2), (S.i, 1, t)),
        "11307, sign version, E[v_bar_t]",
    ),
    "mean_v_bar_approx": _printed(
        S.Expect(S.v_bar[t]), mu**2 + (1 - b1) / (1 + b1) * sigma**2, "11307, sign version"
    ),
    "mean_v_bar_window": _printed(
        S.Expect(S.v_bar[t]),
        _sign_window
        * sp.Sum(b3 ** (t - S.i) * (mu**2 + (1 - b1) / (1 + b1) * sigma**2), (S.i, 1, t)),
        "11307, sign version, E[v_bar_t] with stationary E[m_i^2]",
    ),
    "theta_rms_sign": _printed(
        S.RMS2(S.theta[t]),
        b3 ** (2 * t) * S.rho0
        + (1 - b3**t) ** 2
        * (snr + (1 - b3) * (1 + b3**t) / 2 / (1 - b3**t))
        / (lam**2 * (snr + (1 - b1) / (1 + b1))),
        "11307, sign version",
    ),
    # Printed with the squared norm on the left of a square root (a typo).
    "theta_rms_sign_simple": Claim(
        sp.sqrt(eta / (2 * lam) * (1 + b1) / (1 - b1), evaluate=False),
        "11307, sign version, mu = 0, t -> oo",
        lhs=S.RMS2(S.theta[t]),
        erratum=(
            "the source writes the squared RMS on the left of a square root; the square root of "
            "eta (1 + beta1) / (2 lambda (1 - beta1)) is the RMS itself, not its square"
        ),
    ),
    # In words: the weight RMS is sqrt((1 + beta1)/(1 - beta1)) times AdamW's.
    "ratio_to_adamw": _printed(
        S.RMS(S.theta[t]) / _adamw_norm,
        sp.sqrt((1 + b1) / (1 - b1)),
        "11307, sign version, ratio",
    ),
}

# --- part 1, "related analysis": the total update contribution (TUC) ------------------------------
_k = S.k
_tuc_weight = (1 - b1) * b1 ** (_k - t)
_tuc_share = S.g[t] / sp.sqrt(S.v[_k])

TUC_CLAIMS = {
    "tuc_def": _claim(sp.Sum(_tuc_weight * _tuc_share, (_k, t, sp.oo)), "11307, TUC definition"),
    "tuc_recursion": _claim(
        b3 * S.theta[t - 1] + (1 - b3) * (-S.u_tilde[t] / lam), "11307, TUC recursion"
    ),
    "tuc_rms_of_recursion": _claim(
        S.RMS2(b3 * S.theta[t - 1] + (1 - b3) * (-S.u_tilde[t] / lam)), "11307, eq:tilde-u-rms"
    ),
    "tuc_rms": _claim(
        b3**2 * S.RMS2(S.theta[t - 1]) + (1 - b3) ** 2 * S.RMS2(S.u_tilde[t]) / lam**2,
        "11307, eq:tilde-u-rms",
    ),
    "tuc_norms_add": _claim(
        sp.Sum(_tuc_weight * S.RMS(_tuc_share), (_k, t, sp.oo)), "11307, unit RMS of the TUC"
    ),
    "tuc_unit_share": _claim(sp.Sum(_tuc_weight, (_k, t, sp.oo)), "11307, unit RMS of the TUC"),
    "tuc_unit_rms": _claim(sp.Integer(1), "11307, unit RMS of the TUC"),
    "tuc_equilibrium": _claim(sp.sqrt(eta / (2 * lam)), "11307, TUC equilibrium"),
}

# --- "Asymptotic estimate of AdamW's weight RMS (part 2)": dynamic eta_t, lambda_t ---------------
SCHEDULES_SOURCE = Source(
    key="su2025weightrmsdynamic",
    author="Su Jianlin",
    title="AdamW的Weight RMS的渐近估计(下)",
    title_en="Asymptotic estimate of AdamW's weight RMS, part 2",
    date="2025-11-17",
    url="https://kexue.fm/archives/11404",
)

_etas, _lams, _kappa, _z = S.eta_seq, S.lam_seq, S.Kappa, S.Z
_i, _s = S.i, S.s
_inner_printed = sp.Sum(sp.exp(_kappa(_i)) * b1 ** (_i - j) * _etas[_i], (_i, j, t))
_u_bar_printed = (snr + sp.Sum(S.Beta1Bar(j, t) ** 2, (j, 1, t))) / (snr + 1)
_decay_t = sp.exp(-2 * _kappa(t))

_weights_printed = sp.exp(_kappa(_i)) * _etas[_i]
_beta_bar_printed = {
    beta: (1 - beta) / _z(t) * sp.Sum(sp.exp(_kappa(_i)) * beta ** (_i - j) * _etas[_i], (_i, j, t))
    for beta in (b1, b2)
}
_given_beta_bar = (
    (S.Beta1Bar(j, t), _beta_bar_printed[b1]),
    (S.Beta2Bar(j, t), _beta_bar_printed[b2]),
)

SCHEDULES_CLAIMS = {
    "adamw_dynamic": _claim(
        (1 - _etas[t] * _lams[t]) * S.theta[t - 1] - _etas[t] * S.u[t], "11404, step 1"
    ),
    "exp_decay": _claim(
        sp.exp(-_etas[t] * _lams[t]) * S.theta[t - 1] - _etas[t] * S.u[t], "11404, step 1"
    ),
    "kappa_def": _claim(sp.Sum(_etas[_i] * _lams[_i], (_i, 1, t)), "11404, step 1"),
    "z_def": _claim(sp.Sum(_weights_printed, (_i, 1, t)), "11404, step 1"),
    "u_bar_def": _claim(sp.Sum(_weights_printed * S.u[_i], (_i, 1, t)) / _z(t), "11404, step 1"),
    "m_bar_def": _claim(sp.Sum(_weights_printed * S.m[_i], (_i, 1, t)) / _z(t), "11404, step 1"),
    "v_bar_def": _claim(sp.Sum(_weights_printed * S.v[_i], (_i, 1, t)) / _z(t), "11404, step 1"),
    # Printed as ||theta_t||^2 ~ e^{-2 kappa_t} ||theta_0 - z_t u_bar_t||^2, of this.
    "theta_via_u_bar_dynamic": _claim(
        sp.exp(-_kappa(t)) * (S.theta[0] - _z(t) * S.u_bar[t]), "11404, step 1"
    ),
    "u_bar_mean_field": _claim(S.m_bar[t] / sp.sqrt(S.v_bar[t]), "11404, step 1"),
    "mean_field_u_bar": _claim(S.Expect(S.m_bar[t] ** 2) / S.Expect(S.v_bar[t]), "11404, step 2"),
    "double_sum_m_dynamic": Claim(
        sp.Sum(S.g[j] * S.Beta1Bar(j, t), (j, 1, t)), "11404, step 2", _given_beta_bar
    ),
    "beta1_bar_def": _claim(_beta_bar_printed[b1], "11404, step 2"),
    "double_sum_v_dynamic": Claim(
        sp.Sum(S.g[j] ** 2 * S.Beta2Bar(j, t), (j, 1, t)), "11404, step 2", _given_beta_bar
    ),
    "beta2_bar_def": _claim(_beta_bar_printed[b2], "11404, step 2"),
    "mean_v_bar": _claim(mu**2 + sigma**2, "11404, step 3"),
    "mean_m_bar_dynamic": _claim(mu, "11404, step 3"),
    "theta_unrolled_dynamic": _claim(
        sp.exp(-_kappa(t))
        * (S.theta[0] - sp.Sum(sp.exp(_kappa(_i)) * _etas[_i] * S.u[_i], (_i, 1, t))),
        "11404, step 1",
    ),
    "theta_rms_split": _claim(
        _decay_t * S.rho0 + _decay_t * _z(t) ** 2 * S.RMS2(S.u_bar[t]), "11404, step 1"
    ),
    "var_m_bar": _claim(sp.Sum(S.Beta1Bar(j, t) ** 2, (j, 1, t)) * sigma**2, "11404, step 3"),
    "u_bar_sq": _claim(
        (mu**2 + sigma**2 * sp.Sum(S.Beta1Bar(j, t) ** 2, (j, 1, t))) / (mu**2 + sigma**2),
        "11404, step 3",
    ),
    "u_bar_rms": _claim(_u_bar_printed, "11404, step 3"),
    "theta_rms_dynamic": _claim(
        _decay_t * S.rho0 + _decay_t * _z(t) ** 2 * _u_bar_printed, "11404, step 3"
    ),
    "theta_rms_mu0_dynamic": _claim(
        _decay_t * S.rho0 + _decay_t * (1 - b1) ** 2 * sp.Sum(_inner_printed**2, (j, 1, t)),
        "11404, eq:w-rms-mu0",
    ),
    "theta_rms_no_decay_dynamic": _claim(
        S.rho0
        + (1 - b1) ** 2 * sp.Sum(sp.Sum(b1 ** (_i - j) * _etas[_i], (_i, j, t)) ** 2, (j, 1, t)),
        "11404, example 1, lambda = 0",
    ),
    "theta_rms_no_decay_no_momentum": _claim(
        S.rho0 + sp.Sum(_etas[j] ** 2, (j, 1, t)), "11404, example 1, lambda = 0, beta_1 -> 0"
    ),
    "kappa_constant_decay": _claim(
        lam * sp.Sum(_etas[_i], (_i, 1, t)), "11404, example 2, constant lambda"
    ),
    "inner_sum_slow": _claim(
        sp.exp(_kappa(j)) * _etas[j] / (1 - b1), "11404, example 2, slowly varying weights"
    ),
    "theta_rms_series": _claim(
        _decay_t * S.rho0 + _decay_t * sp.Sum(sp.exp(2 * _kappa(j)) * _etas[j] ** 2, (j, 1, t)),
        "11404, eq:w-rms-simp",
    ),
    "theta_rms_series_constant": _claim(
        sp.exp(-2 * lam * eta * t) * S.rho0
        + sp.exp(2 * lam * eta)
        * (1 - sp.exp(-2 * lam * eta * t))
        / (sp.exp(2 * lam * eta) - 1)
        * eta**2,
        "11404, example 2, constant eta and lambda",
    ),
    "series_reduces_to_part1": _claim(
        sp.exp(-2 * lam * eta * t) * S.rho0 + (1 - sp.exp(-2 * lam * eta * t)) * eta / (2 * lam),
        "11404, example 2, leading order",
    ),
    "theta_rms_integral": _claim(
        _decay_t * S.rho0
        + _decay_t * sp.Integral(sp.exp(2 * _kappa(_s)) * _etas[_s] ** 2, (_s, 0, t)),
        "11404, eq:w-rms-int",
    ),
    "kappa_integral": _claim(
        sp.Integral(_lams[_s] * _etas[_s], (_s, 0, t)), "11404, differential equation"
    ),
    "rho_ode": _claim(-2 * _lams[t] * _etas[t] * S.Rho(t) + _etas[t] ** 2, "11404, the ODE"),
    "rho_limit": _claim(eta / (2 * lam), "11404, the limit of rho_t"),
    "nu_def": _claim(sp.Integral(_etas[_s] ** 2, (_s, 0, t)), "11404, mean field"),
    "single_epoch": _claim(
        _decay_t * S.rho0 + (1 - _decay_t) * S.Nu(t) / (2 * _kappa(t)), "11404, mean field"
    ),
    # Example 3: the table of kappa_t and nu_t, as printed in the Chinese original (the WSD
    # schedule's last branch is labelled with j instead of s there; that label is not a formula).
    "kappa_linear": _claim(lam * (S.eta_a + S.eta_b) * t / 2, "11404, example 3, linear"),
    "nu_linear": _claim(
        (S.eta_a**2 + S.eta_a * S.eta_b + S.eta_b**2) * t / 3, "11404, example 3, linear"
    ),
    "kappa_cosine": _claim(lam * (S.eta_min + S.eta_max) * t / 2, "11404, example 3, cosine"),
    "nu_cosine": _claim(
        (3 * S.eta_min**2 + 2 * S.eta_min * S.eta_max + 3 * S.eta_max**2) * t / 8,
        "11404, example 3, cosine",
    ),
    "kappa_wsd": _claim(lam * S.eta_max * (t + S.t2 - S.t1) / 2, "11404, example 3, WSD"),
    "nu_wsd": _claim(S.eta_max**2 * (t + 2 * S.t2 - 2 * S.t1) / 3, "11404, example 3, WSD"),
}
