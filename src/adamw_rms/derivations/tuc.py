"""The total update contribution (TUC): the equilibrium weight RMS as Kosson et al. reach it.

Source: Su Jianlin, "Asymptotic estimate of AdamW's weight RMS, part 1" (kexue.fm/archives/11307),
the section that re-reads the "rotational equilibrium" paper of Kosson et al. Through the
momentum, a gradient ``g_t`` reaches every later update; its *total update contribution*
collects all of them. The steps below show that the updates of a run are exactly the sum of
these contributions, write the weight recursion with them, and solve it under two recorded
assumptions (orthogonality to the weights, unit RMS). The mean-field section shows why the
unit RMS holds once the second moment is frozen at its mean: at zero mean the squared RMS of
one contribution is the long-run variance of the update, ``((1-b1)/(1+b1)) * ((1+b1)/(1-b1))``,
i.e. 1.
Both assumptions are measured by :func:`adamw_rms.simulation.tuc.measure_tuc`.
"""

from __future__ import annotations

import sympy as sp

from .. import symbols as S
from ..algebra import freeze_powers, limit
from ..checks import BRUTE_FORCE_POINT as POINT
from ..checks import (
    LHS,
    RHS,
    BruteForce,
    ByCoordinates,
    DropsTerm,
    Induction,
    LimitRatio,
    LimitValue,
    RewriteToZero,
    gaussian_expectation,
)
from ..rules import geometric_sum, prefer_one_minus, swap_triangular_sum
from ..steps import Assumption, Derivation, Kind, StepRecorder, derivation
from ._source import TUC_CLAIMS, WEIGHT_RMS_SOURCE
from .update_rms import coordinate_average, ema_recursion, gradients, moment_at
from .weight_rms import STEADY_STATE, expand_rms2

b1, b3, t, i, j, k, T, h = S.beta1, S.beta3, S.t, S.i, S.j, S.k, S.T, S.h
eta, lam, mu, sigma = S.eta, S.lam, S.mu, S.sigma
theta, u, m, v, g = S.theta, S.u, S.m, S.v, S.g
u_tilde, u_tilde_T = S.u_tilde, S.u_tilde_T
E, Var, Cov, RMS2, RMS, MeanDot = S.Expect, S.Variance, S.Covariance, S.RMS2, S.RMS, S.MeanDot
w, z = S.beta1_pow_T, S.beta1_pow_t

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
UNIT_RMS = Assumption(
    "unit_rms_u_tilde",
    "the total update contribution has unit RMS (the paper takes every "
    "$\\boldsymbol{g}_t/\\sqrt{\\boldsymbol{v}_k}$ to point the same way with unit RMS)",
    r"\Vert\tilde{\boldsymbol{u}}_t\Vert_{\mathrm{RMS}} = 1",
)
FROZEN_SECOND_MOMENT = Assumption(
    "frozen_second_moment",
    "over the momentum's memory the second moment is frozen at its late-time mean (the "
    "mean-field reading of the paper's assumption)",
    r"\boldsymbol{v}_k \approx \mathbb{E}[\boldsymbol{v}] = \boldsymbol{\mu}^2 + "
    r"\boldsymbol{\sigma}^2",
)
MOMENTUM_MEMORY = "\\eta\\lambda \\ll 1 - \\beta_1"


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


def _brute_sum_of_updates(n: int) -> sp.Expr:
    """``sum_{k<=n} m_k / sqrt(v_k)`` with ``m_k`` from its recursion (the independent side)."""
    return sum(ema_recursion(b1, gradients(s)) / sp.sqrt(v[s]) for s in range(1, n + 1))


def _brute_autocovariance(lag: int):
    """``n -> Cov[m_n, m_{n+lag}]`` by exact Gaussian moments of the recursion (at POINT)."""

    def at(n: int) -> sp.Expr:
        def moment(statistic) -> sp.Expr:
            return moment_at(n + lag, statistic)

        def earlier(gs):
            return ema_recursion(POINT[b1], gs[:n])

        def later(gs):
            return ema_recursion(POINT[b1], gs)

        return moment(lambda gs: earlier(gs) * later(gs)) - moment(earlier) * moment(later)

    return at


def build() -> Derivation:
    prerequisite = derivation("update_rms")
    weight_rms = derivation("weight_rms")
    recorder = StepRecorder(NAME, TUC_CLAIMS, strict=False)
    add = recorder.add

    # --- the total update contribution ----------------------------------------------------------
    # g_t enters m_k with the weight of the unrolled EMA, and u_k = m_k / sqrt(v_k).
    m_roll = prerequisite.step("m_unrolled").rhs
    share = m_roll.function.xreplace({i: t, t: k}) / sp.sqrt(v[k])
    tuc = sp.Sum(share, (k, t, sp.oo))
    add(
        id="tuc_def",
        title="Total update contribution of one gradient",
        section="Total update contribution",
        lhs=u_tilde[t],
        rhs=tuc,
        kind=Kind.DEFINITION,
        justification=(
            "By [[update_rms.m_unrolled]] the gradient $\\boldsymbol{g}_t$ enters every later "
            "$\\boldsymbol{m}_k$, $k \\ge t$, with weight $(1-\\beta_1)\\beta_1^{k-t}$, and "
            "[[update_rms.adam_update]] divides it by $\\sqrt{\\boldsymbol{v}_k}$; summing over "
            "$k$ collects its whole effect on the run."
        ),
    )
    truncated = sp.Sum(share, (k, t, T))
    add(
        id="tuc_truncated_def",
        title="The contribution up to a horizon",
        section="Total update contribution",
        lhs=u_tilde_T[t],
        rhs=truncated,
        kind=Kind.DEFINITION,
        justification=(
            "The same sum stopped at the last step $T$ of a run; it tends to [[tuc_def]] as "
            "$T \\to \\infty$ (the tail is at most $\\beta_1^{T-t+1}$ times the largest "
            "$|\\boldsymbol{g}_t|/\\sqrt{\\boldsymbol{v}_k}$)."
        ),
    )
    summand = m_roll.function.xreplace({i: j, t: k}) / sp.sqrt(v[k])
    swapped = swap_triangular_sum(sp.Sum(summand, (j, 1, k), (k, 1, T)))
    identity = recognise_inner_sum(swapped, truncated, u_tilde_T)
    add(
        id="tuc_identity",
        title="The updates are the sum of the contributions",
        section="Total update contribution",
        lhs=sp.Sum(u[k], (k, 1, T)),
        rhs=identity,
        kind=Kind.IDENTITY,
        label="eq:tuc-sum",
        justification=(
            "Insert [[update_rms.m_unrolled]] into every $\\boldsymbol{u}_k$, swap the "
            "triangular double sum ($\\sum_{k=1}^T\\sum_{j=1}^k = \\sum_{j=1}^T\\sum_{k=j}^T$) "
            "and recognise the inner sum as [[tuc_truncated_def]]: the updates of a run, "
            "regrouped by the gradient they come from."
        ),
        uses=("update_rms.adam_update", "update_rms.m_unrolled", "tuc_truncated_def"),
        checks=(
            BruteForce(
                _brute_sum_of_updates,
                RHS,
                given={
                    u_tilde_T[t]: sp.UnevaluatedExpr(truncated.xreplace({t: j, T: t})),
                    t: j,
                    T: t,
                },
                at=POINT,
                method="brute force (symbolic g_j, v_k)",
            ),
        ),
    )

    # --- recursion ------------------------------------------------------------------------------
    ema = weight_rms.step("ema_wd").rhs
    recursion = ema.xreplace({u[t]: u_tilde[t]})
    adamw = weight_rms.step("adamw_update").rhs
    no_decay_tuc = recursion.subs(b3, 1 - eta * lam).subs(lam, 0)

    def adamw_without_decay(n: int) -> sp.Expr:
        state = theta[0]
        for s in range(1, n + 1):
            update = ema_recursion(b1, gradients(s)) / sp.sqrt(v[s])
            state = adamw.subs(lam, 0).xreplace({theta[t - 1]: state, u[t]: update})
        return state

    def tuc_without_decay(n: int) -> sp.Expr:
        state = theta[0]
        for s in range(1, n + 1):
            contribution = truncated.xreplace({t: s, T: n}).doit()
            state = no_decay_tuc.xreplace({theta[t - 1]: state, u_tilde[t]: contribution})
        return state

    add(
        id="tuc_recursion",
        title="Weight decay driven by the contributions",
        section="Recursion in the TUC view",
        lhs=theta[t],
        rhs=recursion,
        kind=Kind.APPROXIMATION,
        justification=(
            "In [[weight_rms.ema_wd]] replace the update by the total contribution of the step's "
            "gradient ([[tuc_def]]). By [[tuc_identity]] this is exact without weight decay; "
            "with it, a contribution is applied at once instead of spread over the next "
            "$\\sim 1/(1-\\beta_1)$ steps, during which the weights decay by a factor close to 1."
        ),
        limit=MOMENTUM_MEMORY,
        uses=("weight_rms.ema_wd", "tuc_def", "tuc_identity"),
        checks=(
            RewriteToZero(
                ema.xreplace({u[t]: u_tilde[t]}), RHS, method="eq:ema-wd with u_t -> ũ_t"
            ),
            BruteForce(
                adamw_without_decay,
                tuc_without_decay,
                method="exact for lambda = 0 over a horizon (brute force)",
            ),
        ),
    )
    expanded = expand_rms2(recursion)
    add(
        id="tuc_rms_expanded",
        title="Squared RMS of the recursion",
        section="Recursion in the TUC view",
        lhs=RMS2(theta[t]),
        rhs=expanded,
        kind=Kind.APPROXIMATION,
        justification=(
            "Take $\\Vert\\cdot\\Vert_{\\mathrm{RMS}}^2$ of both sides of [[tuc_recursion]]."
        ),
        limit=MOMENTUM_MEMORY,
        uses=("tuc_recursion",),
        checks=(ByCoordinates(recursion, RHS),),
    )
    cross = expanded - expanded.subs(MeanDot(theta[t - 1], u_tilde[t]), 0)
    tuc_rms = expanded - cross
    add(
        id="tuc_rms",
        title="Orthogonality of weights and contribution",
        section="Recursion in the TUC view",
        lhs=RMS2(theta[t]),
        rhs=tuc_rms,
        kind=Kind.APPROXIMATION,
        label="eq:tilde-u-rms",
        justification=(
            "Drop the cross term of [[tuc_rms_expanded]]. The source finds "
            "$\\boldsymbol{\\theta}_{t-1}\\cdot\\tilde{\\boldsymbol{u}}_t \\approx 0$ more "
            "plausible than $\\boldsymbol{\\theta}_{t-1}\\cdot\\boldsymbol{u}_t \\approx 0$: "
            "apart from the second moments, $\\tilde{\\boldsymbol{u}}_t$ is made of "
            "$\\boldsymbol{g}_t$ alone, which the weights have not seen yet, while "
            "$\\boldsymbol{u}_t$ carries the past gradients that moved them."
        ),
        limit=MOMENTUM_MEMORY,
        assumptions=(ORTHOGONAL_TUC,),
        uses=("tuc_rms_expanded",),
        checks=(
            DropsTerm(expanded, RHS, cross, ORTHOGONAL_TUC.latex),
            ByCoordinates(recursion, RHS + cross, method="explicit coordinates (with the term)"),
        ),
    )

    # --- unit RMS under the mean field --------------------------------------------------------
    mean_v = prerequisite.step("mean_v_limit").rhs
    frozen = truncated.xreplace({v[k]: mean_v})
    weight_sum = factor_keeping_powers(geometric_sum(frozen.function / g[t], k, t, T))
    frozen_closed = weight_sum * g[t]
    unit_share = g[t] / sp.sqrt(mean_v)  # the gradient in units of its root mean square
    add(
        id="tuc_frozen_v",
        title="The contribution with a frozen second moment",
        section="Unit RMS under the mean field",
        lhs=u_tilde_T[t],
        rhs=frozen_closed,
        kind=Kind.APPROXIMATION,
        justification=(
            "In [[tuc_truncated_def]] replace every $\\boldsymbol{v}_k$ by its late-time mean "
            "[[update_rms.mean_v_limit]] and sum the geometric series in $k$."
        ),
        assumptions=(FROZEN_SECOND_MOMENT,),
        uses=("tuc_truncated_def", "update_rms.mean_v_limit"),
        checks=(
            Induction(
                RHS / unit_share,
                frozen.function.xreplace({k: T}) / unit_share,
                T,
                base=t,
                method="induction on T",
            ),
        ),
    )
    frozen_limit = limit(freeze_powers(frozen_closed, {b1**T: w}), w, 0, "+")
    add(
        id="tuc_frozen_v_limit",
        title="The whole contribution, frozen second moment",
        section="Unit RMS under the mean field",
        lhs=u_tilde[t],
        rhs=frozen_limit,
        kind=Kind.APPROXIMATION,
        justification=(
            "[[tuc_frozen_v]] as $T \\to \\infty$ ([[tuc_def]]): the weights "
            "$(1-\\beta_1)\\beta_1^{k-t}$ sum to 1, so the contribution is the gradient itself "
            "in units of the root mean square gradient."
        ),
        limit="T \\to \\infty:\\ \\beta_1^{T} \\to 0",
        assumptions=(FROZEN_SECOND_MOMENT,),
        uses=("tuc_frozen_v", "tuc_def"),
        checks=(
            LimitValue(
                frozen_closed / g[t],
                RHS / g[t],
                w,
                0,
                f"{NAME}.tuc_frozen_v_limit",
                freeze={b1**T: w},
            ),
        ),
    )
    second_g = gaussian_expectation(g[t] ** 2, [g[t]], mu, sigma)
    second = sp.cancel(sp.expand(frozen_limit**2).xreplace({g[t] ** 2: second_g}))
    add(
        id="tuc_second_moment",
        title="Second moment of the contribution",
        section="Unit RMS under the mean field",
        lhs=E(u_tilde[t] ** 2),
        rhs=second,
        kind=Kind.APPROXIMATION,
        justification=(
            "Square [[tuc_frozen_v_limit]] with $\\mathbb{E}[g_t^2] = \\mu^2 + \\sigma^2$: the "
            "contribution has unit second moment for every $\\mu$, which is the paper's unit RMS."
        ),
        assumptions=(FROZEN_SECOND_MOMENT,),
        uses=("tuc_frozen_v_limit",),
        checks=(
            RewriteToZero(
                gaussian_expectation(frozen_limit**2, [g[t]], mu, sigma),
                RHS,
                method="Gaussian moments",
            ),
        ),
    )
    var_m = prerequisite.step("var_m").rhs
    autocov_m = b1**h * var_m

    add(
        id="autocov_m",
        title="Autocovariance of the first moment",
        section="Unit RMS under the mean field",
        lhs=Cov(m[t], m[t + h]),
        rhs=autocov_m,
        kind=Kind.IDENTITY,
        justification=(
            "From [[update_rms.m_unrolled]], $\\boldsymbol{m}_{t+h} = \\beta_1^h\\boldsymbol{m}_t$ "
            "plus gradients after step $t$, which are independent of $\\boldsymbol{m}_t$; then "
            "[[update_rms.var_m]]."
        ),
        uses=("update_rms.m_unrolled", "update_rms.var_m"),
        checks=tuple(
            BruteForce(
                _brute_autocovariance(lag),
                RHS,
                steps=(1, 2, 3),
                at=POINT,
                given={h: lag},
                method=f"brute-force Gaussian moments (h = {lag})",
            )
            for lag in (1, 2)
        ),
    )
    var_m_late = prerequisite.step("var_m_limit").rhs
    autocov_u = b1**h * var_m_late / mean_v
    add(
        id="autocov_u",
        title="Autocovariance of the update",
        section="Unit RMS under the mean field",
        lhs=Cov(u[t], u[t + h]),
        rhs=autocov_u,
        kind=Kind.APPROXIMATION,
        justification=(
            "With the second moment frozen, $\\boldsymbol{u}_k = \\boldsymbol{m}_k/"
            "\\sqrt{\\mathbb{E}[\\boldsymbol{v}]}$; [[autocov_m]] late in training "
            "([[update_rms.var_m_limit]]) over [[update_rms.mean_v_limit]]. The update's "
            "correlation decays like $\\beta_1^h$."
        ),
        limit="t \\to \\infty:\\ \\beta_1^t \\to 0,\\ h \\ge 0",
        assumptions=(FROZEN_SECOND_MOMENT,),
        uses=("autocov_m", "update_rms.var_m_limit", "update_rms.mean_v_limit"),
        checks=(
            LimitRatio(
                autocov_m / mean_v,
                RHS,
                ((z, 0, "+"),),
                f"{NAME}.autocov_u",
                freeze={b1**t: z},
            ),
        ),
    )
    # Both directions in time: lag 0 once, the positive lags twice (the covariance is even).
    partial = autocov_u.subs(h, 0) + 2 * geometric_sum(autocov_u, h, 1, T)
    partial = factor_keeping_powers(partial)
    long_run = sp.factor(limit(freeze_powers(partial, {b1**T: w}), w, 0, "+"))
    add(
        id="long_run_variance",
        title="Long-run variance of the update",
        section="Unit RMS under the mean field",
        lhs=sp.Sum(Cov(u[t], u[t + h]), (h, -sp.oo, sp.oo)),
        rhs=long_run,
        kind=Kind.APPROXIMATION,
        justification=(
            "Sum [[autocov_u]] over all lags: the variance "
            "$\\frac{1-\\beta_1}{1+\\beta_1}\\,\\frac{\\sigma^2}{\\mu^2+\\sigma^2}$ times "
            "$\\sum_h \\beta_1^{|h|} = \\frac{1+\\beta_1}{1-\\beta_1}$; $\\beta_1$ drops out. "
            "Steps treated as independent would keep only the first factor."
        ),
        limit="t \\to \\infty",
        assumptions=(FROZEN_SECOND_MOMENT,),
        uses=("autocov_u",),
        checks=(
            Induction(
                partial - autocov_u.subs(h, 0),
                2 * autocov_u.subs(h, T),
                T,
                method="induction on the number of lags (partial sum)",
            ),
            LimitValue(partial, RHS, w, 0, f"{NAME}.long_run_variance", freeze={b1**T: w}),
        ),
    )
    mean_tuc = gaussian_expectation(frozen_limit, [g[t]], mu, sigma)
    variance = sp.factor(second - mean_tuc**2)
    add(
        id="tuc_variance",
        title="The contribution's variance is the long-run variance",
        section="Unit RMS under the mean field",
        lhs=Var(u_tilde[t]),
        rhs=variance,
        kind=Kind.APPROXIMATION,
        justification=(
            "[[tuc_second_moment]] less the squared mean of [[tuc_frozen_v_limit]]. It equals "
            "[[long_run_variance]], as [[tuc_identity]] demands: the sum of $T$ updates is the "
            "sum of $T$ independent contributions. At $\\mu = 0$ the contribution's second "
            "moment is therefore the long-run variance of the update, "
            "$\\frac{1-\\beta_1}{1+\\beta_1}\\cdot\\frac{1+\\beta_1}{1-\\beta_1} = 1$, "
            "while the update's own RMS keeps the first factor only."
        ),
        assumptions=(FROZEN_SECOND_MOMENT,),
        uses=("tuc_second_moment", "tuc_frozen_v_limit", "long_run_variance", "tuc_identity"),
        checks=(
            RewriteToZero(
                gaussian_expectation((frozen_limit - mean_tuc) ** 2, [g[t]], mu, sigma),
                RHS,
                method="Gaussian moments",
            ),
            RewriteToZero(long_run, RHS, method="equals the long-run variance"),
        ),
    )

    # --- equilibrium ----------------------------------------------------------------------------
    weights_sum = factor_keeping_powers(geometric_sum((1 - b1) * b1 ** (k - t), k, t, T))
    unit = limit(freeze_powers(weights_sum, {b1**T: w}), w, 0, "+")
    add(
        id="tuc_unit_rms",
        title="Unit RMS of the contribution",
        section="Equilibrium",
        lhs=RMS(u_tilde[t]),
        rhs=unit,
        kind=Kind.APPROXIMATION,
        justification=(
            "With every $\\boldsymbol{g}_t/\\sqrt{\\boldsymbol{v}_k}$ of unit RMS and the same "
            "direction, the norms in [[tuc_def]] add: "
            "$\\sum_{k \\ge t}(1-\\beta_1)\\beta_1^{k-t} = 1$. This is what the mean field "
            "gives ([[tuc_second_moment]], [[tuc_variance]] at $\\mu = 0$)."
        ),
        assumptions=(UNIT_RMS,),
        uses=("tuc_def", "tuc_second_moment", "tuc_variance"),
        checks=(
            LimitValue(weights_sum, RHS, w, 0, f"{NAME}.tuc_unit_rms", freeze={b1**T: w}),
            RewriteToZero(
                RHS**2, coordinate_average(second), method="the mean-field second moment"
            ),
            RewriteToZero(RHS**2, variance.subs(mu, 0), method="the long-run variance at mu = 0"),
        ),
    )
    unit_sq = {RMS2(u_tilde[t]): unit**2}
    balance = (tuc_rms - b3**2 * RMS2(theta[t - 1])).xreplace(unit_sq)
    steady = {RMS2(theta[t - 1]): RMS2(theta[t])}
    add(
        id="tuc_balance",
        title="Steady state",
        section="Equilibrium",
        lhs=(1 - b3**2) * RMS2(theta[t]),
        rhs=balance,
        kind=Kind.APPROXIMATION,
        justification=(
            "Set $\\Vert\\boldsymbol{\\theta}_t\\Vert_{\\mathrm{RMS}} = "
            "\\Vert\\boldsymbol{\\theta}_{t-1}\\Vert_{\\mathrm{RMS}}$ in [[tuc_rms]] and use "
            "[[tuc_unit_rms]]."
        ),
        assumptions=(ORTHOGONAL_TUC, UNIT_RMS, STEADY_STATE),
        uses=("tuc_rms", "tuc_unit_rms"),
        checks=(
            RewriteToZero(
                LHS - RHS,
                (RMS2(theta[t]) - tuc_rms).xreplace({**steady, **unit_sq}),
                method="steady state of eq:tilde-u-rms",
            ),
        ),
    )
    fixed = balance / (1 - b3**2)
    add(
        id="tuc_fixed_point",
        title="The fixed point",
        section="Equilibrium",
        lhs=RMS2(theta[t]),
        rhs=fixed,
        kind=Kind.APPROXIMATION,
        justification=(
            "Solve [[tuc_balance]]; the recursion [[tuc_rms]] contracts by $\\beta_3^2 < 1$ per "
            "step, so it converges to this value from any start."
        ),
        assumptions=(ORTHOGONAL_TUC, UNIT_RMS, STEADY_STATE),
        uses=("tuc_balance",),
        checks=(
            RewriteToZero((1 - b3**2) * RHS, balance, method="solves the balance"),
            RewriteToZero(
                tuc_rms.xreplace({RMS2(theta[t - 1]): RHS, **unit_sq}),
                RHS,
                method="fixed point of eq:tilde-u-rms",
            ),
        ),
    )
    in_eta = sp.cancel(fixed.subs(b3, 1 - eta * lam))
    leading = limit(in_eta / eta, eta, 0) * eta
    equilibrium = sp.sqrt(sp.factor(leading))
    add(
        id="tuc_equilibrium",
        title="The equilibrium",
        section="Equilibrium",
        lhs=RMS(theta[t]),
        rhs=equilibrium,
        kind=Kind.APPROXIMATION,
        label="eq:tuc-equilibrium",
        justification=(
            "[[tuc_fixed_point]] with $\\beta_3 = 1 - \\eta\\lambda$ "
            "([[weight_rms.beta3_def]]) to leading order in $\\eta\\lambda$: the rotational "
            "equilibrium, the same value as the mean-field result "
            "[[weight_rms.theta_rms_simple]]. The TUC route reaches it through the quick "
            "estimate because the contribution, unlike the update, has no factor "
            "$\\sqrt{(1-\\beta_1)/(1+\\beta_1)}$."
        ),
        limit="\\beta_3 = 1 - \\eta\\lambda \\to 1",
        assumptions=(ORTHOGONAL_TUC, UNIT_RMS, STEADY_STATE),
        uses=("tuc_fixed_point", "weight_rms.beta3_def"),
        checks=(
            LimitRatio(in_eta, RHS**2, ((eta, 0, "+"),), f"{NAME}.tuc_equilibrium"),
            RewriteToZero(
                RHS,
                weight_rms.step("theta_rms_simple").rhs,
                method="equals weight_rms.theta_rms_simple",
            ),
        ),
    )
    return Derivation(
        name=NAME,
        title="The weight RMS of AdamW through the total update contribution",
        abstract=(
            "A step-by-step, machine-verified re-derivation of the rotational-equilibrium "
            "weight RMS $\\sqrt{\\eta/(2\\lambda)}$ of AdamW through the total update "
            "contribution of each gradient, with the two assumptions it needs (orthogonality "
            "of weights and contribution, unit RMS of the contribution) recorded, and the "
            "unit RMS traced to the mean field: it is the long-run variance of the update."
        ),
        source=WEIGHT_RMS_SOURCE,
        sections=SECTIONS,
        steps=tuple(recorder.steps),
        results=(("tuc_equilibrium_weight_rms", "tuc_equilibrium"),),
    )
