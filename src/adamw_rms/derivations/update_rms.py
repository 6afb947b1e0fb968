"""The prerequisite: the mean-field RMS of Adam's update for iid Gaussian gradients.

Source: Su Jianlin, "Why is Adam's update RMS 0.2?" (kexue.fm/archives/11267). Each gradient
coordinate is iid N(mu, sigma^2); the moments of the EMAs m_t and v_t are computed for finite t,
then t -> oo, and two mean-field steps give the update RMS.
"""

from __future__ import annotations

import sympy as sp

from .. import symbols as S
from ..algebra import limit
from ..checks import BRUTE_FORCE_POINT as POINT
from ..checks import (
    RHS,
    BruteForce,
    Induction,
    LimitRatio,
    MeanFieldRewrite,
    NumericValue,
    RewriteToZero,
    SpotCheck,
    gaussian_expectation,
)
from ..rules import geometric_sum, mean_field, tidy
from ..steps import Assumption, Derivation, Kind, StepRecorder
from ._source import UPDATE_RMS_CLAIMS, UPDATE_RMS_SOURCE

b1, b2, t, i = S.beta1, S.beta2, S.t, S.i
mu, sigma = S.mu, S.sigma
g, m, v, u = S.g, S.m, S.v, S.u
E, Var = S.Expect, S.Variance

NAME = "update_rms"
SECTIONS = ("Setting", "Moments of the moving averages", "Mean field", "Update RMS")

MEAN_FIELD = Assumption(
    "mean_field_ratio",
    "the expectation of a ratio is replaced by the ratio of expectations",
    r"\mathbb{E}[X/Y] \approx \mathbb{E}[X]/\mathbb{E}[Y]",
)
COORDINATE_AVERAGE = Assumption(
    "coordinate_average",
    "the coordinate mean of a ratio is replaced by the ratio of coordinate means",
    r"\tfrac1d\sum_k a_k/b_k \approx \sum_k a_k / \sum_k b_k",
)


def ema_sum(beta: sp.Expr, increment: sp.Expr, index: sp.Symbol = i, upper: sp.Expr = t):
    """The unrolled EMA with zero start: sum_{i=1}^{t} beta^{t-i} (1-beta) increment_i."""
    return sp.Sum((1 - beta) * beta ** (upper - index) * increment, (index, 1, upper))


def ema_recursion(beta: sp.Expr, increments: list[sp.Expr]) -> sp.Expr:
    """Run x_n = beta x_{n-1} + (1 - beta) increment_n from x_0 = 0 (the brute-force side)."""
    state = sp.Integer(0)
    for increment in increments:
        state = beta * state + (1 - beta) * increment
    return state


def gradients(n: int) -> list[sp.Expr]:
    return [g[k] for k in range(1, n + 1)]


def moment_at(n: int, statistic) -> sp.Expr:
    """E[statistic(g_1..g_n)] by brute-force Gaussian moments."""
    return gaussian_expectation(statistic(gradients(n)), gradients(n), mu, sigma)


def coordinate_average(ratio: sp.Expr) -> sp.Expr:
    """Average numerator and denominator over coordinates: mu^2, sigma^2 become squared norms."""
    return ratio.xreplace({mu: S.mu_norm, sigma: S.sigma_norm})


SNR_OF_NORMS = {S.mu_norm: sp.sqrt(S.snr) * S.sigma_norm}


def in_snr(averaged: sp.Expr) -> sp.Expr:
    """Divide numerator and denominator term by term by ||sigma||^2; ||mu||^2 = SNR ||sigma||^2.

    Term by term (no ``cancel``) keeps the source's grouping, e.g. ``(SNR + c)/(SNR + 1)``.
    """
    numerator, denominator = sp.fraction(averaged)

    def per_noise(side: sp.Expr) -> sp.Expr:
        terms = sp.Add.make_args(sp.expand(side, mul=False, multinomial=False, deep=False))
        return sp.Add(
            *(sp.powsimp(term.xreplace(SNR_OF_NORMS) / S.sigma_norm**2) for term in terms)
        )

    return per_noise(numerator) / per_noise(denominator)


def _sum_closed(summand_of_i: sp.Expr) -> sp.Expr:
    return tidy(geometric_sum(summand_of_i, i, 1, t), t)


def build() -> Derivation:
    recorder = StepRecorder(NAME, UPDATE_RMS_CLAIMS, strict=False)
    add = recorder.add

    # --- setting ---------------------------------------------------------------------------
    add(
        id="adam_update",
        title="Adam's update, late in training",
        section="Setting",
        lhs=u[t],
        rhs=m[t] / sp.sqrt(v[t]),
        kind=Kind.DEFINITION,
        justification=(
            "For large $t$ the bias corrections $1-\\beta_1^t$, $1-\\beta_2^t$ are 1, and "
            "$\\epsilon \\to 0$, so the update is the ratio of the two moving averages."
        ),
    )
    m_roll = ema_sum(b1, g[i])
    add(
        id="m_unrolled",
        title="First moment unrolled",
        section="Setting",
        lhs=m[t],
        rhs=m_roll,
        kind=Kind.IDENTITY,
        justification="Unroll $m_t = \\beta_1 m_{t-1} + (1-\\beta_1) g_t$ from $m_0 = 0$.",
        checks=(BruteForce(lambda n: ema_recursion(b1, gradients(n)), RHS),),
    )
    v_roll = ema_sum(b2, g[i] ** 2)
    add(
        id="v_unrolled",
        title="Second moment unrolled",
        section="Setting",
        lhs=v[t],
        rhs=v_roll,
        kind=Kind.IDENTITY,
        justification="Unroll $v_t = \\beta_2 v_{t-1} + (1-\\beta_2) g_t^2$ from $v_0 = 0$.",
        checks=(
            BruteForce(
                lambda n: ema_recursion(b2, [x**2 for x in gradients(n)]),
                RHS,
            ),
        ),
    )

    # --- moments -----------------------------------------------------------------------------
    mean_m = _sum_closed(m_roll.function.subs(g[i], mu))
    add(
        id="mean_m",
        title="Mean of the first moment",
        section="Moments of the moving averages",
        lhs=E(m[t]),
        rhs=mean_m,
        kind=Kind.IDENTITY,
        justification=(
            "Linearity of expectation in [[m_unrolled]] with $\\mathbb{E}[g_i] = "
            "\\mu$, then a geometric sum."
        ),
        uses=("m_unrolled",),
        checks=(
            Induction(RHS, (1 - b1) * mu, t, factor=b1),
            BruteForce(
                lambda n: moment_at(n, lambda gs: ema_recursion(POINT[b1], gs)),
                RHS,
                steps=(1, 2, 3, 4),
                at=POINT,
                method="brute-force Gaussian moments",
            ),
        ),
    )
    variance_lemma_sum = sp.Sum(sp.Indexed("a", i) * g[i], (i, 1, t))
    add(
        id="variance_of_sum",
        title="Variance of a weighted sum of iid gradients",
        section="Moments of the moving averages",
        lhs=Var(variance_lemma_sum),
        rhs=sigma**2 * sp.Sum(sp.Indexed("a", i) ** 2, (i, 1, t)),
        kind=Kind.IDENTITY,
        justification=(
            "For independent $g_i \\sim \\mathcal{N}(\\mu, \\sigma^2)$ variances add, and "
            "$\\mathbb{V}\\mathrm{ar}[a_i g_i] = a_i^2 \\sigma^2$."
        ),
        checks=(
            BruteForce(
                lambda n: (
                    moment_at(
                        n, lambda gs: sum(sp.Indexed("a", k + 1) * x for k, x in enumerate(gs)) ** 2
                    )
                    - moment_at(
                        n, lambda gs: sum(sp.Indexed("a", k + 1) * x for k, x in enumerate(gs))
                    )
                    ** 2
                ),
                RHS,
                steps=(1, 2, 3, 4),
                method="brute-force Gaussian moments",
            ),
        ),
    )
    var_m = _sum_closed((m_roll.function.subs(g[i], 1)) ** 2 * sigma**2)
    add(
        id="var_m",
        title="Variance of the first moment",
        section="Moments of the moving averages",
        lhs=Var(m[t]),
        rhs=var_m,
        kind=Kind.IDENTITY,
        justification=(
            "[[variance_of_sum]] with $a_i = (1-\\beta_1)\\beta_1^{t-i}$, then a geometric sum."
        ),
        uses=("m_unrolled", "variance_of_sum"),
        checks=(
            Induction(RHS, (1 - b1) ** 2 * sigma**2, t, factor=b1**2),
            BruteForce(
                lambda n: (
                    moment_at(n, lambda gs: ema_recursion(POINT[b1], gs) ** 2)
                    - moment_at(n, lambda gs: ema_recursion(POINT[b1], gs)) ** 2
                ),
                RHS,
                steps=(1, 2, 3, 4),
                at=POINT,
                method="brute-force Gaussian moments",
            ),
        ),
    )
    mean_v = _sum_closed(v_roll.function.subs(g[i], 1) * (mu**2 + sigma**2))
    add(
        id="mean_v",
        title="Mean of the second moment",
        section="Moments of the moving averages",
        lhs=E(v[t]),
        rhs=mean_v,
        kind=Kind.IDENTITY,
        justification=(
            "Linearity in [[v_unrolled]] with $\\mathbb{E}[g_i^2] = \\mu^2 + \\sigma^2$."
        ),
        uses=("v_unrolled",),
        checks=(
            Induction(RHS, (1 - b2) * (mu**2 + sigma**2), t, factor=b2),
            BruteForce(
                lambda n: moment_at(n, lambda gs: ema_recursion(POINT[b2], [x**2 for x in gs])),
                RHS,
                steps=(1, 2, 3, 4),
                at=POINT,
                method="brute-force Gaussian moments",
            ),
        ),
    )
    second_m = mean_m**2 + var_m
    add(
        id="second_moment_m",
        title="Second moment of m",
        section="Moments of the moving averages",
        lhs=E(m[t] ** 2),
        rhs=second_m,
        kind=Kind.IDENTITY,
        justification=(
            "$\\mathbb{E}[X^2] = \\mathbb{E}[X]^2 + \\mathbb{V}\\mathrm{ar}[X]$ "
            "with [[mean_m]] and [[var_m]]."
        ),
        uses=("mean_m", "var_m"),
        checks=(
            BruteForce(
                lambda n: moment_at(n, lambda gs: ema_recursion(POINT[b1], gs) ** 2),
                RHS,
                steps=(1, 2, 3, 4),
                at=POINT,
                method="brute-force Gaussian moments",
            ),
        ),
    )
    z, y = S.beta1_pow_t, S.beta2_pow_t
    late = "t \\to \\infty:\\ \\beta_1^t, \\beta_2^t \\to 0"
    mean_m_limit = limit(mean_m.subs(b1**t, z), z, 0)
    add(
        id="mean_m_limit",
        title="Mean of m, late",
        section="Moments of the moving averages",
        lhs=E(m[t]),
        rhs=mean_m_limit,
        kind=Kind.APPROXIMATION,
        justification="[[mean_m]] once $\\beta_1^t$ is negligible.",
        limit=late,
        uses=("mean_m",),
        checks=(
            LimitRatio(mean_m, RHS, ((z, 0, "+"),), f"{NAME}.mean_m_limit", freeze={b1**t: z}),
        ),
    )
    var_m_limit = sp.factor(limit(var_m.subs(b1 ** (2 * t), z**2), z, 0))
    add(
        id="var_m_limit",
        title="Variance of m, late",
        section="Moments of the moving averages",
        lhs=Var(m[t]),
        rhs=var_m_limit,
        kind=Kind.APPROXIMATION,
        justification="[[var_m]] once $\\beta_1^{2t}$ is negligible.",
        limit=late,
        uses=("var_m",),
        checks=(LimitRatio(var_m, RHS, ((z, 0, "+"),), f"{NAME}.var_m_limit", freeze={b1**t: z}),),
    )
    mean_v_limit = sp.factor(limit(mean_v.subs(b2**t, y), y, 0))
    add(
        id="mean_v_limit",
        title="Mean of v, late",
        section="Moments of the moving averages",
        lhs=E(v[t]),
        rhs=mean_v_limit,
        kind=Kind.APPROXIMATION,
        justification="[[mean_v]] once $\\beta_2^t$ is negligible; $\\beta_2$ drops out.",
        limit=late,
        uses=("mean_v",),
        checks=(
            LimitRatio(mean_v, RHS, ((y, 0, "+"),), f"{NAME}.mean_v_limit", freeze={b2**t: y}),
        ),
    )

    # --- mean field ----------------------------------------------------------------------------
    ratio = E(m[t] ** 2 / v[t])
    decoupled = mean_field(ratio)
    add(
        id="mean_field_u",
        title="Mean-field decoupling",
        section="Mean field",
        lhs=E(u[t] ** 2),
        rhs=decoupled,
        kind=Kind.APPROXIMATION,
        justification=(
            "By [[adam_update]], $u_t^2 = m_t^2/v_t$; the expectation of the ratio is replaced by "
            "the ratio of expectations."
        ),
        assumptions=(MEAN_FIELD,),
        uses=("adam_update",),
        checks=(MeanFieldRewrite(E((u[t] ** 2).subs(u[t], m[t] / sp.sqrt(v[t]))), RHS),),
    )
    finite = decoupled.xreplace({E(m[t] ** 2): second_m, E(v[t]): mean_v})
    late_value = decoupled.xreplace(
        {E(m[t] ** 2): mean_m_limit**2 + var_m_limit, E(v[t]): mean_v_limit}
    )
    add(
        id="u_sq_finite",
        title="Mean-field update, finite t",
        section="Mean field",
        lhs=E(u[t] ** 2),
        rhs=finite,
        kind=Kind.APPROXIMATION,
        justification=("[[mean_field_u]] with [[second_moment_m]] and [[mean_v]] for finite t."),
        assumptions=(MEAN_FIELD,),
        uses=("mean_field_u", "second_moment_m", "mean_v"),
        checks=(
            BruteForce(
                lambda n: (
                    moment_at(n, lambda gs: ema_recursion(POINT[b1], gs) ** 2)
                    / moment_at(n, lambda gs: ema_recursion(POINT[b2], [x**2 for x in gs]))
                ),
                RHS,
                steps=(1, 2, 3, 4),
                at=POINT,
                method="brute-force Gaussian moments",
            ),
        ),
    )
    add(
        id="u_sq",
        title="Mean-field update, late",
        section="Mean field",
        lhs=E(u[t] ** 2),
        rhs=late_value,
        kind=Kind.APPROXIMATION,
        justification=(
            "[[u_sq_finite]] with [[mean_m_limit]], [[var_m_limit]] and [[mean_v_limit]]."
        ),
        limit=late,
        assumptions=(MEAN_FIELD,),
        uses=("u_sq_finite", "mean_m_limit", "var_m_limit", "mean_v_limit"),
        checks=(
            LimitRatio(
                finite, RHS, ((z, 0, "+"), (y, 0, "+")), f"{NAME}.u_sq", freeze={b1**t: z, b2**t: y}
            ),
        ),
    )

    # --- update RMS ----------------------------------------------------------------------------
    # Averaging numerator and denominator over coordinates turns mu^2, sigma^2 into the squared
    # norms; dividing through by ||sigma||^2 leaves only SNR = ||mu||^2/||sigma||^2.
    averaged = coordinate_average(late_value)
    rms_sq = in_snr(averaged)
    add(
        id="update_rms_sq",
        title="Update RMS with signal-to-noise ratio",
        section="Update RMS",
        lhs=S.RMS2(u[t]),
        rhs=rms_sq,
        kind=Kind.APPROXIMATION,
        justification=(
            "Average the numerator and denominator of [[u_sq]] over coordinates separately (a "
            "second mean-field step) and divide by $\\Vert\\boldsymbol{\\sigma}\\Vert^2$, with "
            "$\\mathrm{SNR} = "
            "\\Vert\\boldsymbol{\\mu}\\Vert^2/\\Vert\\boldsymbol{\\sigma}\\Vert^2$."
        ),
        assumptions=(COORDINATE_AVERAGE,),
        uses=("u_sq",),
        checks=(
            RewriteToZero(averaged, RHS, given=SNR_OF_NORMS),
            SpotCheck(
                averaged,
                RHS,
                f"{NAME}.update_rms_sq",
                given=SNR_OF_NORMS,
            ),
        ),
    )
    mu0 = sp.sqrt(rms_sq.subs(S.snr, 0))
    add(
        id="update_rms_mu0",
        title="Update RMS for zero-mean gradients",
        section="Update RMS",
        lhs=S.RMS(u[t]),
        rhs=mu0,
        kind=Kind.APPROXIMATION,
        justification=(
            "[[update_rms_sq]] at $\\mathrm{SNR} = 0$ ($\\boldsymbol{\\mu} = 0$); "
            "$\\beta_2$ plays no role."
        ),
        limit="\\mathrm{SNR} = 0 \\text{ in the late-time mean-field result}",
        uses=("update_rms_sq",),
        checks=(RewriteToZero(RHS**2, rms_sq.subs(S.snr, 0)),),
    )
    value = mu0.subs(b1, sp.Rational(9, 10))
    add(
        id="update_rms_value",
        title="The value at beta1 = 0.9",
        section="Update RMS",
        lhs=S.RMS(u[t]),
        rhs=value,
        kind=Kind.APPROXIMATION,
        justification=(
            "[[update_rms_mu0]] at $\\beta_1 = 0.9$ gives $1/\\sqrt{19} \\approx 0.2294$: the "
            'source\'s "0.2".'
        ),
        limit="\\mathrm{SNR} = 0,\\ \\beta_1 = 0.9",
        uses=("update_rms_mu0",),
        checks=(NumericValue(RHS, {}, "0.2294", 4),),
    )
    return Derivation(
        name=NAME,
        title="The RMS of Adam's update under iid Gaussian gradients",
        abstract=(
            "A step-by-step, machine-verified re-derivation of the mean-field estimate of the RMS "
            "of Adam's update when every gradient coordinate is iid Gaussian: the moments of the "
            "moving averages for finite and infinite $t$, the mean-field decoupling, and the value "
            "$\\sqrt{(1-\\beta_1)/(1+\\beta_1)} \\approx 0.229$ at $\\beta_1 = 0.9$."
        ),
        source=UPDATE_RMS_SOURCE,
        sections=SECTIONS,
        steps=tuple(recorder.steps),
        results=(("update_rms_sq", "update_rms_sq"), ("update_rms", "update_rms_mu0")),
    )
