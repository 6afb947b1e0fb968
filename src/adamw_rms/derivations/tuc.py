"""The total update contribution (TUC): the equilibrium weight RMS as Kosson et al. reach it.

Source: Su Jianlin, "Asymptotic estimate of AdamW's weight RMS, part 1" (kexue.fm/archives/11307),
the section that re-reads the "rotational equilibrium" paper of Kosson et al. Through the
momentum, a gradient ``g_t`` reaches every later update; its *total update contribution*
collects all of them. The steps below show that the updates of a run are exactly the sum of
these contributions, write the weight recursion with them, and solve it under the recorded
assumptions (orthogonality to the weights, unit RMS). The mean-field section shows why the
unit RMS holds once the second moment is frozen at its mean: at zero mean the squared RMS of
one contribution is the long-run variance of the update, ``((1-b1)/(1+b1)) * ((1+b1)/(1-b1))``,
i.e. 1.

Each approximation names the parameter that bounds what it drops, found from an exact
expression: applying a contribution at once costs a relative ``2 b1 eta lambda / (1 - b1^2)``
in the squared weight RMS (against the exact mean field of :mod:`.weight_rms`); the cross term
that orthogonality drops is, relative to what is kept at the steady state,
``2 b3 cos(theta, u~) / sqrt(1 - b3^2)``, about ``cos * sqrt(2 / (eta lambda))``.
Both assumptions are measured by :func:`adamw_rms.simulation.tuc.measure_tuc`.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .. import symbols as S
from ..algebra import freeze_powers, is_zero, limit
from ..checks import BRUTE_FORCE_POINT as POINT
from ..checks import (
    EPSILON,
    LHS,
    RHS,
    BruteForce,
    CoordinateIdentity,
    Given,
    LimitRatio,
    NumericEqual,
    RewriteToZero,
    SmallParameter,
    gaussian_expectation,
)
from ..evaluation_points import GRADIENT_POINT
from ..rules import geometric_sum, prefer_one_minus, swap_triangular_sum
from ..steps import Assumption, Derivation, Kind, Step, StepRecorder, derivation
from ._assumptions import IID_IN_TIME, NO_BIAS_CORRECTION, NO_EPSILON, SELF_AVERAGING
from ._source import TUC_CLAIMS, WEIGHT_RMS_SOURCE
from .update_rms import coordinate_average, ema_recursion, gradients, moment_at
from .weight_rms import STEADY_STATE, expand_rms2

b1, b3, t, i, j, k, T, h = S.beta1, S.beta3, S.t, S.i, S.j, S.k, S.T, S.h
eta, lam, mu, sigma = S.eta, S.lam, S.mu, S.sigma
theta, u, m, v, g = S.theta, S.u, S.m, S.v, S.g
u_tilde, u_tilde_T = S.u_tilde, S.u_tilde_T
E, Var, Cov, RMS2, RMS, MeanDot = S.Expect, S.Variance, S.Covariance, S.RMS2, S.RMS, S.MeanDot
w, z, x = S.beta1_pow_T, S.beta1_pow_t, S.beta3_pow_t

NAME = "tuc"
SECTIONS = (
    "Total update contribution",
    "Recursion in the TUC view",
    "Unit RMS under the mean field",
    "Equilibrium",
)

ORTHOGONAL_TUC = Assumption(
    "theta_perp_u_tilde",
    "orthogonality of the weights and the total update contribution (more plausible than "
    "the orthogonality of the weights and the update: the weights have not yet seen the "
    "gradient whose contribution it is)",
    r"\boldsymbol{\theta}_{t-1}\cdot\tilde{\boldsymbol{u}}_t \approx 0",
)
SAME_DIRECTION = Assumption(
    "same_direction_g_over_sqrt_v",
    "the paper's first assumption: every share $\\boldsymbol{g}_t/\\sqrt{\\boldsymbol{v}_k}$ "
    "of one gradient points the same way, so that their RMS norms add",
    r"\boldsymbol{g}_t/\sqrt{\boldsymbol{v}_k} \parallel \boldsymbol{g}_t/\sqrt{\boldsymbol{v}_t}"
    r"\ (k \ge t)",
)
UNIT_SHARE = Assumption(
    "unit_rms_g_over_sqrt_v",
    "the paper's second assumption: every share "
    "$\\boldsymbol{g}_t/\\sqrt{\\boldsymbol{v}_k}$ has unit RMS",
    r"\Vert\boldsymbol{g}_t/\sqrt{\boldsymbol{v}_k}\Vert_{\mathrm{RMS}} = 1",
)
UNIT_RMS = Assumption(
    "unit_rms_u_tilde",
    "the total update contribution has unit RMS (what the paper's two assumptions give, and "
    "what the mean field gives with a frozen second moment)",
    r"\Vert\tilde{\boldsymbol{u}}_t\Vert_{\mathrm{RMS}} = 1",
)
FROZEN_SECOND_MOMENT = Assumption(
    "frozen_second_moment",
    "over the momentum's memory the second moment is frozen at its late-time mean (the "
    "mean-field reading of the paper's assumption)",
    r"\boldsymbol{v}_k \approx \mathbb{E}[\boldsymbol{v}] = \boldsymbol{\mu}^2 + "
    r"\boldsymbol{\sigma}^2",
)

# The real small parameter of the TUC recursion: the relative error of the squared weight RMS
# it predicts, against the exact mean field of weight_rms (mu = 0), is
# 2 b1 (1 - b3) / ((1 + b1)(1 - b1 b3)) <= 2 b1 eta lambda / (1 - b1^2).
MOMENTUM_MEMORY = (
    "\\frac{2\\beta_1\\eta\\lambda}{1-\\beta_1^2} \\ll 1\\ (\\eta\\lambda \\ll 1 - \\beta_1)"
)
memory = 2 * b1 * (1 - b3) / (1 - b1**2)
# The cosine of the angle between the weights and the contribution (a check's variable only).
cosine = sp.Symbol("cos_theta_u_tilde", real=True)
# Where the relative error is exactly the small parameter: the bound 1, up to the rounding
# of SmallParameter's ratio (15 digits).
EXACTLY = 1.000001
ORTHOGONALITY_LIMIT = (
    "\\vert\\cos(\\boldsymbol{\\theta}_{t-1}, \\tilde{\\boldsymbol{u}}_t)\\vert \\ll "
    "\\frac{\\sqrt{1-\\beta_3^2}}{2\\beta_3} \\approx \\sqrt{\\eta\\lambda/2}"
)


def factor_keeping_powers(expr: sp.Expr) -> sp.Expr:
    """``factor`` with every power of a symbolic exponent kept whole, in the source's signs."""
    powers = {p: sp.Dummy("power", positive=True) for p in expr.atoms(sp.Pow) if p.exp.free_symbols}
    factored = prefer_one_minus(sp.factor(expr.xreplace(powers)))
    return factored.xreplace({d: p for p, d in powers.items()})


def recognise_inner_sum(double_sum: sp.Sum, definition: sp.Sum, name: sp.IndexedBase) -> sp.Sum:
    """Write ``sum_j sum_k f(j, k)`` as ``sum_t name[t]``, where ``definition`` defines ``name[t]``.

    The inner sum must be ``definition`` with its index ``t`` renamed to the outer index ``j``
    (checked structurally); the outer index is then called ``t``, as the source writes it.
    """
    (inner, lower, upper), (outer, outer_lower, outer_upper) = double_sum.limits
    renamed = definition.xreplace({t: outer})
    if sp.Sum(double_sum.function, (inner, lower, upper)) != renamed:
        raise ValueError(f"the inner sum is not {definition}")
    return sp.Sum(name[t], (t, outer_lower, outer_upper))


# --- brute-force meanings of left sides (evaluated once the step number is a number) ------------


class _IteratedMomentum(sp.Function):
    """``m_n`` run from ``m_n = b1 m_{n-1} + (1 - b1) g_n``, ``m_0 = 0``, for a number ``n``."""

    nargs = 1

    @classmethod
    def eval(cls, n):
        if n.is_Integer and n >= 1:  # the first update is u_1
            return ema_recursion(b1, gradients(int(n)))
        return None


class _MomentumCovariance(sp.Function):
    """``Cov[m_n, m_{n+lag}]`` by exact Gaussian moments of the recursion, at ``POINT[b1]``."""

    nargs = 2

    @classmethod
    def eval(cls, n, lag):
        if n.is_Integer and lag.is_Integer:
            n, lag = int(n), int(lag)

            def earlier(gs):
                return ema_recursion(POINT[b1], gs[:n])

            def later(gs):
                return ema_recursion(POINT[b1], gs)

            return moment_at(n + lag, lambda gs: earlier(gs) * later(gs)) - moment_at(
                n + lag, earlier
            ) * moment_at(n + lag, later)
        return None


class _Run(sp.Function):
    """``theta_n``: ``rule`` (a step in ``theta[j-1]`` and the drive ``x``) run from ``theta_0``.

    At step ``s`` of a run of ``n`` steps the drive ``x`` is ``drive(s, n)``; evaluated once
    the horizon ``n`` is a number.
    """

    nargs = 4

    @classmethod
    def eval(cls, rule, x, drive, n):
        if not n.is_Integer:
            return None
        state = theta[0]
        for s in range(1, int(n) + 1):
            state = rule.xreplace({theta[j - 1]: state, x: drive(s, n)}).xreplace({j: s})
        return state


# --- sections -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Contribution:
    definition: Step
    truncated: Step


def _total_update_contribution(recorder: StepRecorder, update: Derivation) -> _Contribution:
    add = recorder.add
    m_roll = update.step("m_unrolled").rhs
    adam = update.step("adam_update")
    share = m_roll.function.xreplace({i: t, t: k}) / sp.sqrt(v[k])
    definition = add(
        id="tuc_def",
        title="Total update contribution of one gradient",
        lhs=u_tilde[t],
        rhs=sp.Sum(share, (k, t, sp.oo)),
        kind=Kind.DEFINITION,
        justification=(
            "By [[update_rms.m_unrolled]] the gradient $\\boldsymbol{g}_t$ enters every later "
            "$\\boldsymbol{m}_k$, $k \\ge t$, with weight $(1-\\beta_1)\\beta_1^{k-t}$ (its share "
            "of $\\boldsymbol{u}_t$ is $(1-\\beta_1)\\boldsymbol{g}_t/\\sqrt{\\boldsymbol{v}_t}$), "
            "and [[update_rms.adam_update]] divides it by $\\sqrt{\\boldsymbol{v}_k}$; summing "
            "over $k$ collects its whole effect on the run."
        ),
        assumptions=(NO_BIAS_CORRECTION, NO_EPSILON),
    )
    truncated = add(
        id="tuc_truncated_def",
        title="The contribution up to a horizon",
        lhs=u_tilde_T[t],
        rhs=sp.Sum(share, (k, t, T)),
        kind=Kind.DEFINITION,
        justification=(
            "The same sum stopped at the last step $T$ of a run; it tends to [[tuc_def]] as "
            "$T \\to \\infty$ (the tail is at most $\\beta_1^{T-t+1}$ times the largest "
            "$|\\boldsymbol{g}_t|/\\sqrt{\\boldsymbol{v}_k}$)."
        ),
    )
    summand = m_roll.function.xreplace({i: j, t: k}) / sp.sqrt(v[k])
    swapped = swap_triangular_sum(sp.Sum(summand, (j, 1, k), (k, 1, T)))
    # The left side's meaning: every u_k = m_k / sqrt(v_k) with m_k run from its recursion.
    iterated_update = adam.rhs.xreplace({m[t]: _IteratedMomentum(t)}).xreplace({t: k})
    add(
        id="tuc_identity",
        title="The updates are the sum of the contributions",
        lhs=sp.Sum(u[k], (k, 1, T)),
        rhs=recognise_inner_sum(swapped, truncated.rhs, u_tilde_T),
        kind=Kind.IDENTITY,
        label="eq:tuc-sum",
        justification=(
            "Insert [[update_rms.m_unrolled]] into every $\\boldsymbol{u}_k$, swap the "
            "triangular double sum ($\\sum_{k=1}^T\\sum_{j=1}^k = \\sum_{j=1}^T\\sum_{k=j}^T$) "
            "and recognise the inner sum as [[tuc_truncated_def]]: the updates of a run, "
            "regrouped by the gradient they come from."
        ),
        assumptions=(NO_BIAS_CORRECTION, NO_EPSILON),
        uses=("update_rms.adam_update", "update_rms.m_unrolled", "tuc_truncated_def"),
        checks=(
            BruteForce(
                LHS,
                RHS,
                given={
                    u[k]: iterated_update,
                    # Unevaluated: the outer sum is expanded first, then each inner one.
                    truncated.lhs: sp.UnevaluatedExpr(truncated.rhs.xreplace({t: j, T: t})),
                    t: j,
                    T: t,
                },
                at=POINT,
                method="brute force: m_k from its recursion, symbolic g_j and v_k (T = 1..4)",
            ),
        ),
    )
    return _Contribution(definition, truncated)


@dataclass(frozen=True)
class _Recursion:
    recursion: Step
    expanded: Step
    orthogonal: Step


def _recursion_in_tuc_view(
    recorder: StepRecorder, weight: Derivation, contribution: _Contribution
) -> _Recursion:
    add = recorder.add
    ema = weight.step("ema_wd").rhs
    adamw_step = weight.step("adamw_update")
    adamw = adamw_step.rhs
    beta3 = weight.step("beta3_def")
    recursion_rhs = ema.xreplace({u[t]: contribution.definition.lhs})
    # Runs of T steps from theta_0, written with the step index j (brute force runs over the
    # horizon): AdamW driven by u_j = m_j / sqrt(v_j), m_j from its recursion, and the step
    # stated here driven by the contributions truncated at the horizon.
    step_s, horizon = sp.Dummy("s", integer=True), sp.Dummy("n", integer=True)
    true_update = sp.Lambda((step_s, horizon), _IteratedMomentum(step_s) / sp.sqrt(v[step_s]))
    truncated_contribution = sp.Lambda(
        (step_s, horizon), contribution.truncated.rhs.xreplace({t: step_s, T: horizon})
    )
    recursion = add(
        id="tuc_recursion",
        title="Weight decay driven by the contributions",
        lhs=theta[t],
        rhs=recursion_rhs,
        kind=Kind.APPROXIMATION,
        justification=(
            "In [[weight_rms.ema_wd]] replace the update by the total contribution of the step's "
            "gradient ([[tuc_def]]). By [[tuc_identity]] this is exact without weight decay; "
            "with it, a contribution is applied at once instead of spread over the next "
            "$\\sim 1/(1-\\beta_1)$ steps, during which the weights decay. The price, found "
            "from the exact mean field at $\\mu = 0$ ([[weight_rms.var_m_bar_exact]]): the "
            "squared weight RMS of this recursion is too large by the relative amount "
            "$\\frac{2\\beta_1(1-\\beta_3)}{(1+\\beta_1)(1-\\beta_1\\beta_3)} \\le "
            "\\frac{2\\beta_1\\eta\\lambda}{1-\\beta_1^2}$, checked where the fixed point is "
            "solved."
        ),
        limit=MOMENTUM_MEMORY,
        uses=("weight_rms.ema_wd", "weight_rms.adamw_update", "tuc_def", "tuc_identity"),
        checks=(
            RewriteToZero(
                LHS,
                RHS,
                given={
                    adamw_step.lhs: adamw.xreplace({u[t]: contribution.definition.lhs}),
                    b3: beta3.rhs,
                },
                method="AdamW's step driven by the contribution, beta3 = 1 - eta lambda",
            ),
            BruteForce(
                _Run(LHS, u[t], true_update, T),
                _Run(RHS, contribution.definition.lhs, truncated_contribution, T),
                given={adamw_step.lhs: adamw.xreplace({t: j}), b3: beta3.rhs, t: j, T: t},
                at={**POINT, lam: 0},
                method="exact for lambda = 0: runs of T = 1..4 steps from theta_0 (brute force)",
            ),
        ),
    )
    of_recursion = add(
        id="tuc_rms_of_recursion",
        title="Squared RMS of the recursion",
        lhs=RMS2(theta[t]),
        rhs=RMS2(recursion.rhs),
        kind=Kind.APPROXIMATION,
        justification=(
            "Take $\\Vert\\cdot\\Vert_{\\mathrm{RMS}}^2$ of both sides of [[tuc_recursion]]."
        ),
        limit=MOMENTUM_MEMORY,
        uses=("tuc_recursion",),
        checks=(
            RewriteToZero(
                LHS, RHS, given={recursion.lhs: recursion.rhs}, method="tuc_recursion inserted"
            ),
        ),
    )
    expanded = add(
        id="tuc_rms_expanded",
        title="The square expanded",
        lhs=RMS2(theta[t]),
        rhs=expand_rms2(recursion.rhs),
        kind=Kind.APPROXIMATION,
        justification=(
            "Expand the square in [[tuc_rms_of_recursion]]: "
            "$\\Vert a\\boldsymbol{x} + b\\boldsymbol{y}\\Vert_{\\mathrm{RMS}}^2 = "
            "a^2\\Vert\\boldsymbol{x}\\Vert_{\\mathrm{RMS}}^2 + 2ab\\,\\boldsymbol{x}\\cdot"
            "\\boldsymbol{y}/d + b^2\\Vert\\boldsymbol{y}\\Vert_{\\mathrm{RMS}}^2$."
        ),
        limit=MOMENTUM_MEMORY,
        uses=("tuc_rms_of_recursion",),
        checks=(CoordinateIdentity(LHS, RHS, given={of_recursion.lhs: of_recursion.rhs}),),
    )
    cross = expanded.rhs - expanded.rhs.subs(MeanDot(theta[t - 1], u_tilde[t]), 0)
    orthogonal = add(
        id="tuc_rms",
        title="Orthogonality of weights and contribution",
        lhs=RMS2(theta[t]),
        rhs=expanded.rhs - cross,
        kind=Kind.APPROXIMATION,
        label="eq:tilde-u-rms",
        justification=(
            "Drop the cross term of [[tuc_rms_expanded]]. The source finds "
            "$\\boldsymbol{\\theta}_{t-1}\\cdot\\tilde{\\boldsymbol{u}}_t \\approx 0$ more "
            "plausible than $\\boldsymbol{\\theta}_{t-1}\\cdot\\boldsymbol{u}_t \\approx 0$: "
            "apart from the second moments, $\\tilde{\\boldsymbol{u}}_t$ is made of "
            "$\\boldsymbol{g}_t$ alone, which the weights have not seen yet, while "
            "$\\boldsymbol{u}_t$ carries the past gradients that moved them. The statement is "
            "exact for orthogonal vectors; how small the cosine must be is set by the steady "
            "state ([[tuc_balance]] below): $\\ll\\sqrt{\\eta\\lambda/2}$, not $\\ll 1$."
        ),
        limit=MOMENTUM_MEMORY,
        assumptions=(ORTHOGONAL_TUC,),
        uses=("tuc_rms_expanded",),
        checks=(
            CoordinateIdentity(
                LHS,
                RHS,
                given={of_recursion.lhs: of_recursion.rhs},
                disjoint=True,
                method="explicit coordinates with theta_{t-1} orthogonal to the contribution",
            ),
        ),
    )
    return _Recursion(recursion, expanded, orthogonal)


@dataclass(frozen=True)
class _MeanField:
    frozen_limit: Step
    second_moment: Step
    variance: Step


def _unit_rms_under_mean_field(
    recorder: StepRecorder, update: Derivation, contribution: _Contribution
) -> _MeanField:
    add = recorder.add
    mean_v = update.step("mean_v_limit").rhs
    truncated, truncated_lhs = contribution.truncated.rhs, contribution.truncated.lhs
    whole = contribution.definition.lhs  # the contribution over the whole run
    frozen_sum = truncated.xreplace({v[k]: mean_v})  # the assumption, applied to the definition
    weight_sum = factor_keeping_powers(geometric_sum(frozen_sum.function / g[t], k, t, T))
    frozen = add(
        id="tuc_frozen_v",
        title="The contribution with a frozen second moment",
        lhs=u_tilde_T[t],
        rhs=weight_sum * g[t],
        kind=Kind.APPROXIMATION,
        justification=(
            "In [[tuc_truncated_def]] replace every $\\boldsymbol{v}_k$ by its late-time mean "
            "[[update_rms.mean_v_limit]] and sum the geometric series in $k$. The simulation "
            "measures what the frozen second moment misses: a large $\\boldsymbol{g}_t$ raises "
            "its own $\\boldsymbol{v}_k$ by a share $1-\\beta_2$."
        ),
        assumptions=(FROZEN_SECOND_MOMENT, IID_IN_TIME),
        uses=("tuc_truncated_def", "update_rms.mean_v_limit"),
        checks=(
            # From step t = n to the horizon T = 2n - 1: n terms, n = 1..4 (starts and lengths).
            BruteForce(
                LHS,
                RHS,
                given={truncated_lhs: frozen_sum.xreplace({T: 2 * t - 1}), T: 2 * t - 1},
                method="brute force: the sum from step t to the horizon T = 2t - 1",
            ),
        ),
    )
    frozen_limit_rhs = limit(freeze_powers(frozen.rhs, {b1**T: w}), w, 0, "+")
    frozen_limit = add(
        id="tuc_frozen_v_limit",
        title="The whole contribution, frozen second moment",
        lhs=u_tilde[t],
        rhs=frozen_limit_rhs,
        kind=Kind.APPROXIMATION,
        justification=(
            "[[tuc_frozen_v]] as $T \\to \\infty$ ([[tuc_def]]): the weights "
            "$(1-\\beta_1)\\beta_1^{k-t}$ sum to 1, so the contribution is the gradient itself "
            "in units of the root mean square gradient. The relative error at a finite "
            "horizon is exactly $\\beta_1^{T-t+1}$."
        ),
        limit="\\beta_1^{T-t+1} \\ll 1\\ (T \\to \\infty)",
        assumptions=(FROZEN_SECOND_MOMENT, IID_IN_TIME),
        uses=("tuc_frozen_v", "tuc_def"),
        checks=(
            LimitRatio(
                LHS,
                RHS,
                ((w, 0, "+"),),
                f"{NAME}.tuc_frozen_v_limit",
                freeze={b1**T: w},
                given={whole: frozen.rhs},
            ),
            Given.of(
                SmallParameter,
                LHS,
                RHS,
                small=b1 ** (T - t + 1),
                regime={T: t - 1 + sp.log(EPSILON) / sp.log(b1)},
                key=f"{NAME}.tuc_frozen_v_limit",
                bound=EXACTLY,
                meaning={whole: frozen.rhs},
                given={g[t]: GRADIENT_POINT},
            ),
        ),
    )
    mean_g2 = {E(whole**2): gaussian_expectation(frozen_limit_rhs**2, [g[t]], mu, sigma)}
    second_rhs = sp.cancel(
        sp.expand(frozen_limit_rhs**2).xreplace(
            {g[t] ** 2: gaussian_expectation(g[t] ** 2, [g[t]], mu, sigma)}
        )
    )
    second = add(
        id="tuc_second_moment",
        title="Second moment of the contribution",
        lhs=E(u_tilde[t] ** 2),
        rhs=second_rhs,
        kind=Kind.APPROXIMATION,
        justification=(
            "Square [[tuc_frozen_v_limit]] with $\\mathbb{E}[g_t^2] = \\mu^2 + \\sigma^2$: the "
            "contribution has unit second moment for every $\\mu$, which is the paper's unit RMS."
        ),
        assumptions=(FROZEN_SECOND_MOMENT, IID_IN_TIME),
        uses=("tuc_frozen_v_limit",),
        checks=(RewriteToZero(LHS, RHS, given=mean_g2, method="exact Gaussian moments"),),
    )
    var_m = update.step("var_m").rhs
    autocov_m = add(
        id="autocov_m",
        title="Autocovariance of the first moment",
        lhs=Cov(m[t], m[t + h]),
        rhs=b1**h * var_m,
        kind=Kind.IDENTITY,
        justification=(
            "From [[update_rms.m_unrolled]], $\\boldsymbol{m}_{t+h} = \\beta_1^h\\boldsymbol{m}_t$ "
            "plus gradients after step $t$, which are independent of $\\boldsymbol{m}_t$; then "
            "[[update_rms.var_m]]."
        ),
        assumptions=(IID_IN_TIME,),
        uses=("update_rms.m_unrolled", "update_rms.var_m"),
        checks=(
            BruteForce(
                LHS,
                RHS,
                at=POINT,
                given={Cov(m[t], m[t + h]): _MomentumCovariance(t, t), h: t},
                method="brute-force Gaussian moments of the recursion (lag h = t)",
            ),
            BruteForce(
                LHS,
                RHS,
                at=POINT,
                given={Cov(m[t], m[t + h]): _MomentumCovariance(t, 0), h: 0},
                method="brute-force Gaussian moments of the recursion (lag 0)",
            ),
        ),
    )
    var_m_late = update.step("var_m_limit").rhs
    frozen_cov = {Cov(u[t], u[t + h]): autocov_m.rhs / mean_v}  # u = m / sqrt(E[v])
    autocov_u = add(
        id="autocov_u",
        title="Autocovariance of the update",
        lhs=Cov(u[t], u[t + h]),
        rhs=b1**h * var_m_late / mean_v,
        kind=Kind.APPROXIMATION,
        justification=(
            "With the second moment frozen, $\\boldsymbol{u}_k = \\boldsymbol{m}_k/"
            "\\sqrt{\\mathbb{E}[\\boldsymbol{v}]}$; [[autocov_m]] late in training "
            "([[update_rms.var_m_limit]]) over [[update_rms.mean_v_limit]]. The update's "
            "correlation decays like $\\beta_1^h$; the relative error is exactly "
            "$\\beta_1^{2t}$."
        ),
        limit="\\beta_1^{2t} \\ll 1\\ (t \\to \\infty),\\ h \\ge 0",
        assumptions=(FROZEN_SECOND_MOMENT, IID_IN_TIME),
        uses=("autocov_m", "update_rms.var_m_limit", "update_rms.mean_v_limit"),
        checks=(
            LimitRatio(
                LHS,
                RHS,
                ((z, 0, "+"),),
                f"{NAME}.autocov_u",
                freeze={b1**t: z},
                given=frozen_cov,
            ),
            Given.of(
                SmallParameter,
                LHS,
                RHS,
                small=b1 ** (2 * t),
                regime={t: sp.log(EPSILON) / (2 * sp.log(b1))},
                key=f"{NAME}.autocov_u",
                bound=EXACTLY,
                meaning=frozen_cov,
            ),
        ),
    )
    # Both directions in time: lag 0 once, the positive lags twice (the covariance is even).
    partial = autocov_u.rhs.subs(h, 0) + 2 * geometric_sum(autocov_u.rhs, h, 1, T)
    partial = factor_keeping_powers(partial)
    long_run = add(
        id="long_run_variance",
        title="Long-run variance of the update",
        lhs=sp.Sum(Cov(u[t], u[t + h]), (h, -sp.oo, sp.oo)),
        rhs=sp.factor(limit(freeze_powers(partial, {b1**T: w}), w, 0, "+")),
        kind=Kind.APPROXIMATION,
        justification=(
            "Sum [[autocov_u]] over all lags, $\\mathrm{Cov}[\\boldsymbol{u}_t, "
            "\\boldsymbol{u}_{t+h}] = \\mathrm{Cov}[\\boldsymbol{u}_{t+h}, \\boldsymbol{u}_t]$ "
            "depending on $|h|$ only: the variance "
            "$\\frac{1-\\beta_1}{1+\\beta_1}\\,\\frac{\\sigma^2}{\\mu^2+\\sigma^2}$ times "
            "$\\sum_h \\beta_1^{|h|} = \\frac{1+\\beta_1}{1-\\beta_1}$; $\\beta_1$ drops out. "
            "Steps treated as independent would keep only the first factor."
        ),
        limit="\\beta_1^{2t} \\ll 1\\ (t \\to \\infty)",
        assumptions=(FROZEN_SECOND_MOMENT, IID_IN_TIME),
        uses=("autocov_u",),
        checks=(
            NumericEqual(
                LHS,
                RHS,
                f"{NAME}.long_run_variance",
                given={autocov_u.lhs: autocov_u.rhs.xreplace({h: sp.Abs(h)})},
                method="the two-sided series of autocov_u, summed by mpmath",
            ),
        ),
    )
    mean_tuc = gaussian_expectation(frozen_limit_rhs, [g[t]], mu, sigma)
    variance = add(
        id="tuc_variance",
        title="The contribution's variance is the long-run variance",
        lhs=Var(u_tilde[t]),
        rhs=sp.factor(second_rhs - mean_tuc**2),
        kind=Kind.APPROXIMATION,
        justification=(
            "[[tuc_second_moment]] less the squared mean of [[tuc_frozen_v_limit]]. It equals "
            "[[long_run_variance]], as [[tuc_identity]] demands: the sum of $T$ updates is the "
            "sum of $T$ independent contributions. At $\\mu = 0$ the contribution's second "
            "moment is therefore the long-run variance of the update, "
            "$\\frac{1-\\beta_1}{1+\\beta_1}\\cdot\\frac{1+\\beta_1}{1-\\beta_1} = 1$, "
            "while the update's own RMS keeps the first factor only."
        ),
        assumptions=(FROZEN_SECOND_MOMENT, IID_IN_TIME),
        uses=("tuc_second_moment", "tuc_frozen_v_limit", "long_run_variance", "tuc_identity"),
        checks=(
            RewriteToZero(
                LHS,
                RHS,
                given={
                    Var(whole): gaussian_expectation(
                        (frozen_limit_rhs - mean_tuc) ** 2, [g[t]], mu, sigma
                    )
                },
                method="exact Gaussian moments",
            ),
            RewriteToZero(
                LHS,
                RHS,
                given={Var(whole): long_run.rhs},
                method="equals the long-run variance",
            ),
        ),
    )
    return _MeanField(frozen_limit, second, variance)


def _equilibrium(
    recorder: StepRecorder,
    weight: Derivation,
    contribution: _Contribution,
    recursion: _Recursion,
    mean_field: _MeanField,
) -> None:
    add = recorder.add
    definition = contribution.definition.rhs
    weight_k, share = definition.function.as_independent(g[t], v[k], as_Add=False)
    (index, lower, upper) = definition.limits[0]
    # Explicit coordinates (d = 2) in which every share g_t / sqrt(v_k) points the same way:
    # v_k = a_k^2 c coordinatewise, with a_k = (k + 1)/k; g_t and c are free.
    g_c = sp.symbols("g_tuc_1 g_tuc_2", positive=True)
    c_c = sp.symbols("c_tuc_1 c_tuc_2", positive=True)
    a_k = (k + 1) / k

    def coordinate(expr: sp.Expr, n: int) -> sp.Expr:
        return expr.xreplace({g[t]: g_c[n], v[k]: a_k**2 * c_c[n]})

    def rms_of(expr: sp.Expr) -> sp.Expr:
        return sp.sqrt((coordinate(expr, 0) ** 2 + coordinate(expr, 1) ** 2) / 2)

    norms = add(
        id="tuc_norms_add",
        title="Parallel shares: the norms add",
        lhs=RMS(u_tilde[t]),
        rhs=sp.Sum(weight_k * RMS(share), (index, lower, upper)),
        kind=Kind.APPROXIMATION,
        justification=(
            "The paper takes every $\\boldsymbol{g}_t/\\sqrt{\\boldsymbol{v}_k}$ in [[tuc_def]] "
            "to point the same way; the RMS of a sum of parallel vectors with positive weights "
            "is the weighted sum of their RMS. The source notes that this is not quite so: "
            "$\\boldsymbol{v}_k$ also contains $\\boldsymbol{g}_t$."
        ),
        assumptions=(SAME_DIRECTION,),
        uses=("tuc_def",),
        checks=(
            NumericEqual(
                LHS,
                RHS,
                f"{NAME}.tuc_norms_add",
                given={
                    RMS(contribution.definition.lhs): rms_of(definition),
                    RMS(share): rms_of(share),
                },
                method="explicit coordinates with parallel shares (mpmath series)",
            ),
        ),
    )
    unit_share = {RMS(share): 1}
    weights = add(
        id="tuc_unit_share",
        title="Unit shares: only the weights remain",
        lhs=RMS(u_tilde[t]),
        rhs=norms.rhs.xreplace(unit_share),
        kind=Kind.APPROXIMATION,
        justification=(
            "The paper also takes every $\\boldsymbol{g}_t/\\sqrt{\\boldsymbol{v}_k}$ to have "
            "unit RMS; in [[tuc_norms_add]] only the weights $(1-\\beta_1)\\beta_1^{k-t}$ remain. "
            "The source calls this assertion stiff on its own; the mean field below gives it."
        ),
        assumptions=(SAME_DIRECTION, UNIT_SHARE),
        uses=("tuc_norms_add",),
        checks=(
            RewriteToZero(
                LHS - RHS,
                (norms.lhs - norms.rhs).xreplace(unit_share),
                method="unit shares in tuc_norms_add",
            ),
        ),
    )
    weights_sum = factor_keeping_powers(geometric_sum(weights.rhs.function, k, t, T))
    unit_rhs = limit(freeze_powers(weights_sum, {b1**T: w}), w, 0, "+")
    second_moment = mean_field.second_moment.rhs
    unit = add(
        id="tuc_unit_rms",
        title="Unit RMS of the contribution",
        lhs=RMS(u_tilde[t]),
        rhs=unit_rhs,
        kind=Kind.APPROXIMATION,
        justification=(
            "Sum the weights of [[tuc_unit_share]]: "
            "$\\sum_{k \\ge t}(1-\\beta_1)\\beta_1^{k-t} = 1$. This is what the mean field "
            "gives ([[tuc_second_moment]] averaged over coordinates, or [[tuc_variance]] at "
            "$\\mu = 0$)."
        ),
        assumptions=(UNIT_RMS, SELF_AVERAGING),
        uses=("tuc_unit_share", "tuc_second_moment", "tuc_variance"),
        checks=(
            NumericEqual(
                LHS,
                RHS,
                f"{NAME}.tuc_unit_rms",
                given={weights.lhs: weights.rhs},
                method="the series of tuc_unit_share, summed by mpmath",
            ),
            RewriteToZero(
                LHS,
                RHS,
                given={weights.lhs: sp.sqrt(coordinate_average(second_moment))},
                method="the mean-field second moment (self-averaging)",
            ),
            RewriteToZero(
                LHS,
                RHS,
                given={weights.lhs: sp.sqrt(mean_field.variance.rhs.subs(mu, 0))},
                method="the long-run variance at mu = 0",
            ),
        ),
    )
    orthogonal, expanded = recursion.orthogonal, recursion.expanded
    steady = {RMS2(theta[t - 1]): RMS2(theta[t])}
    unit_sq = {RMS2(u_tilde[t]): unit.rhs**2}
    balance_rhs = (orthogonal.rhs - b3**2 * RMS2(theta[t - 1])).xreplace(unit_sq)
    # The steady state with the cross term kept: a quadratic in s = ||theta||_RMS, with
    # theta_{t-1} . u~_t / d = cos * s * ||u~||_RMS; its one positive root.
    s = sp.Symbol("s", positive=True)
    kept = expanded.rhs.xreplace(
        {
            RMS2(theta[t - 1]): s**2,
            MeanDot(theta[t - 1], u_tilde[t]): cosine * s * unit.rhs,
            **unit_sq,
        }
    )
    a, b, c = sp.Poly(s**2 - kept, s).all_coeffs()
    s_root = (-b + sp.sqrt(b**2 - 4 * a * c)) / (2 * a)
    if not is_zero(a * s_root**2 + b * s_root + c):
        raise ValueError("the steady state with the cross term is not a root of its quadratic")
    with_cross = s_root**2
    balance = add(
        id="tuc_balance",
        title="Steady state",
        lhs=(1 - b3**2) * RMS2(theta[t]),
        rhs=balance_rhs,
        kind=Kind.APPROXIMATION,
        justification=(
            "Set $\\Vert\\boldsymbol{\\theta}_t\\Vert_{\\mathrm{RMS}} = "
            "\\Vert\\boldsymbol{\\theta}_{t-1}\\Vert_{\\mathrm{RMS}}$ in [[tuc_rms]] and use "
            "[[tuc_unit_rms]]. With the cross term of [[tuc_rms_expanded]] kept, the steady "
            "state solves a quadratic; relative to what is kept, the cross term is "
            "$2\\beta_3\\cos(\\boldsymbol{\\theta}_{t-1}, \\tilde{\\boldsymbol{u}}_t)/"
            "\\sqrt{1-\\beta_3^2} \\approx \\cos\\cdot\\sqrt{2/(\\eta\\lambda)}$: the "
            "orthogonality must hold to $\\sqrt{\\eta\\lambda/2}$ ($0.007$ at "
            "$\\eta\\lambda = 10^{-4}$)."
        ),
        limit=ORTHOGONALITY_LIMIT,
        assumptions=(ORTHOGONAL_TUC, UNIT_RMS, STEADY_STATE),
        uses=("tuc_rms", "tuc_rms_expanded", "tuc_unit_rms"),
        checks=(
            RewriteToZero(
                LHS - RHS,
                (orthogonal.lhs - orthogonal.rhs).xreplace({**steady, **unit_sq}),
                method="steady state of eq:tilde-u-rms",
            ),
            Given.of(
                SmallParameter,
                LHS,
                RHS,
                small=2 * b3 * cosine / sp.sqrt(1 - b3**2),
                regime={cosine: EPSILON * sp.sqrt(1 - b3**2) / (2 * b3)},
                key=f"{NAME}.tuc_balance",
                meaning={RMS2(theta[t]): with_cross},
                method="against the steady state with the cross term (mpmath)",
            ),
        ),
    )
    # The exact mean field of AdamW with momentum (weight_rms), mu = 0, t -> oo: the weights are
    # -1/lambda times the averaged update, whose RMS^2 is Var[m_bar] / sigma^2 there.
    rho_exact = weight.step("var_m_bar_exact").rhs / (sigma**2 * lam**2)
    rho_exact = limit(
        limit(sp.cancel(freeze_powers(rho_exact, {b3**t: x, b1**t: z})), x, 0, "+"), z, 0, "+"
    )
    fixed = add(
        id="tuc_fixed_point",
        title="The fixed point",
        lhs=RMS2(theta[t]),
        rhs=balance.rhs / (1 - b3**2),
        kind=Kind.APPROXIMATION,
        justification=(
            "Solve [[tuc_balance]]; the recursion [[tuc_rms]] contracts by $\\beta_3^2 < 1$ per "
            "step, so it converges to this value from any start. Against the exact mean field "
            "of AdamW with momentum at $\\mu = 0$ ([[weight_rms.var_m_bar_exact]] as "
            "$t \\to \\infty$) the relative error is "
            "$\\frac{2\\beta_1(1-\\beta_3)}{(1+\\beta_1)(1-\\beta_1\\beta_3)}$: the price of "
            "[[tuc_recursion]]."
        ),
        limit=MOMENTUM_MEMORY,
        assumptions=(ORTHOGONAL_TUC, UNIT_RMS, STEADY_STATE),
        uses=("tuc_balance", "tuc_rms", "tuc_unit_rms", "weight_rms.var_m_bar_exact"),
        checks=(
            RewriteToZero(
                LHS,
                RHS,
                given={
                    orthogonal.lhs: orthogonal.rhs.xreplace({RMS2(theta[t - 1]): RHS, **unit_sq})
                },
                method="one step of eq:tilde-u-rms maps it to itself",
            ),
            Given.of(
                SmallParameter,
                LHS,
                RHS,
                small=memory,
                regime={b3: 1 - EPSILON * (1 - b1**2) / (2 * b1)},
                key=f"{NAME}.tuc_fixed_point",
                meaning={RMS2(theta[t]): rho_exact},
                method="against the exact mean field of weight_rms (mu = 0), mpmath",
            ),
        ),
    )
    beta3 = weight.step("beta3_def")
    simple = weight.step("theta_rms_simple")
    in_eta = sp.cancel(fixed.rhs.xreplace({b3: beta3.rhs}))
    leading = limit(in_eta / eta, eta, 0) * eta
    root = {RMS(theta[t]): sp.sqrt(in_eta)}
    add(
        id="tuc_equilibrium",
        title="The equilibrium",
        lhs=RMS(theta[t]),
        rhs=sp.sqrt(sp.factor(leading)),
        kind=Kind.APPROXIMATION,
        label="eq:tuc-equilibrium",
        justification=(
            "[[tuc_fixed_point]] with $\\beta_3 = 1 - \\eta\\lambda$ "
            "([[weight_rms.beta3_def]]) to leading order in $\\eta\\lambda$ (the relative error "
            "is $\\eta\\lambda/4$): the rotational equilibrium, the same value as the mean-field "
            "result [[weight_rms.theta_rms_simple]]. The TUC route reaches it through the quick "
            "estimate because the contribution, unlike the update, has no factor "
            "$\\sqrt{(1-\\beta_1)/(1+\\beta_1)}$."
        ),
        limit="\\eta\\lambda \\ll 1",
        assumptions=(ORTHOGONAL_TUC, UNIT_RMS, STEADY_STATE),
        uses=("tuc_fixed_point", "weight_rms.beta3_def", "weight_rms.theta_rms_simple"),
        checks=(
            LimitRatio(LHS, RHS, ((eta, 0, "+"),), f"{NAME}.tuc_equilibrium", given=root),
            Given.of(
                SmallParameter,
                LHS,
                RHS,
                small=eta * lam,
                regime={lam: EPSILON / eta},
                key=f"{NAME}.tuc_equilibrium",
                meaning=root,
            ),
            RewriteToZero(
                LHS,
                RHS,
                given={simple.lhs: simple.rhs},
                method="equals weight_rms.theta_rms_simple",
            ),
        ),
    )


def build() -> Derivation:
    update = derivation("update_rms")
    weight = derivation("weight_rms")
    recorder = StepRecorder(NAME, TUC_CLAIMS)
    with recorder.section("Total update contribution"):
        contribution = _total_update_contribution(recorder, update)
    with recorder.section("Recursion in the TUC view"):
        recursion = _recursion_in_tuc_view(recorder, weight, contribution)
    with recorder.section("Unit RMS under the mean field"):
        mean_field = _unit_rms_under_mean_field(recorder, update, contribution)
    with recorder.section("Equilibrium"):
        _equilibrium(recorder, weight, contribution, recursion, mean_field)
    return Derivation(
        name=NAME,
        title="The weight RMS of AdamW through the total update contribution",
        abstract=(
            "A step-by-step, machine-verified re-derivation of the rotational-equilibrium "
            "weight RMS $\\sqrt{\\eta/(2\\lambda)}$ of AdamW through the total update "
            "contribution of each gradient, with the assumptions it needs (orthogonality "
            "of weights and contribution, unit RMS of the contribution) recorded, the "
            "unit RMS traced to the mean field (it is the long-run variance of the update), "
            "and the real small parameter of each approximation checked in its regime."
        ),
        source=WEIGHT_RMS_SOURCE,
        sections=SECTIONS,
        steps=tuple(recorder.steps),
        results=(("tuc_equilibrium_weight_rms", "tuc_equilibrium"),),
        scope=(
            "Adam without bias correction and with $\\epsilon = 0$: "
            "$\\boldsymbol{u}_t = \\boldsymbol{m}_t/\\sqrt{\\boldsymbol{v}_t}$.",
            "Applying each contribution at once costs a relative "
            "$2\\beta_1\\eta\\lambda/(1-\\beta_1^2)$ in the squared weight RMS: "
            "$\\eta\\lambda \\ll 1-\\beta_1$.",
            "Orthogonality of weights and contribution to "
            "$|\\cos| \\ll \\sqrt{\\eta\\lambda/2}$; unit RMS of the contribution (the paper's "
            "assumption; the mean field gives it for iid Gaussian gradients with a frozen "
            "second moment, late in training).",
        ),
    )
