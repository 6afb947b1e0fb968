"""The mean-field weight RMS of AdamW with constant learning rate and weight decay.

Source: Su Jianlin, "Asymptotic estimate of AdamW's weight RMS, part 1" (kexue.fm/archives/11307),
sections "sliding view" to "analysis of the result". Every right side below is computed from the
earlier steps (substitution, summation, limits); the source's printed formulas are only compared.
Each check verifies a statement by another route: induction on the recursion that defines its
left side, brute-force Gaussian moments, explicit coordinates, and for every approximation its
named small parameter against the exact expression (and, for eq:theta-rms, against the mean field
computed by iterating the recursions).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import mpmath
import sympy as sp
from sympy.utilities.lambdify import implemented_function

from .. import symbols as S
from ..algebra import freeze_powers, limit
from ..checks import BRUTE_FORCE_POINT as POINT
from ..checks import (
    EPSILON,
    LHS,
    RHS,
    BruteForce,
    CoordinateIdentity,
    Given,
    MeanFieldRewrite,
    Recurrence,
    RewriteToZero,
    SmallParameter,
    SolvesRecursion,
    SpotCheck,
    UniquePositiveRoot,
)
from ..evaluation_points import BRUTE_FORCE_STEPS, LONG_WINDOW_POINT
from ..rules import geometric_sum, mean_field, swap_triangular_sum, tidy
from ..steps import Assumption, Derivation, Kind, Step, StepRecorder, derivation
from ._assumptions import IID_IN_TIME, NO_BIAS_CORRECTION, NO_EPSILON, SELF_AVERAGING
from ._source import WEIGHT_RMS_CLAIMS, WEIGHT_RMS_SOURCE
from .update_rms import (
    COORDINATE_AVERAGE,
    MEAN_FIELD,
    coordinate_average,
    ema_recursion,
    gradients,
    in_snr,
    moment_at,
)

b1, b2, b3, t, i, j = S.beta1, S.beta2, S.beta3, S.t, S.i, S.j
eta, lam, mu, sigma, snr = S.eta, S.lam, S.mu, S.sigma, S.snr
theta, u, m, v, g = S.theta, S.u, S.m, S.v, S.g
u_bar, m_bar, v_bar = S.u_bar, S.m_bar, S.v_bar
E, Var, RMS2, RMS, MeanDot = S.Expect, S.Variance, S.RMS2, S.RMS, S.MeanDot
x, y, z = S.beta3_pow_t, S.beta2_pow_t, S.beta1_pow_t

NAME = "weight_rms"
TARGET_SECTION = "Beyond the source: the weight decay for a target RMS"
SECTIONS = (
    "Sliding view",
    "Weighted average",
    "Quick estimate",
    "Mean field, step 1: the averaged update",
    "Step 2: collapsing the double sums",
    "Step 3: the denominator",
    "Step 4: the numerator",
    "Step 5: the result",
    "Special cases",
    TARGET_SECTION,
)

ORTHOGONAL_UPDATE = Assumption(
    "theta_perp_u",
    "the weights and the current update are orthogonal (the source itself warns that this does "
    "not really hold: momentum correlates the weights with the update)",
    r"\boldsymbol{\theta}_{t-1}\cdot\boldsymbol{u}_t \approx 0",
)
STEADY_STATE = Assumption(
    "steady_state",
    "the weight RMS has reached its steady state",
    r"\Vert\boldsymbol{\theta}_t\Vert_{\mathrm{RMS}} = "
    r"\Vert\boldsymbol{\theta}_{t-1}\Vert_{\mathrm{RMS}}",
)
ORTHOGONAL_INIT = Assumption(
    "theta0_perp_u_bar",
    "the random initialisation is orthogonal to the averaged update",
    r"\boldsymbol{\theta}_0\cdot\bar{\boldsymbol{u}}_t \approx 0",
)
AVERAGED_RATIO = Assumption(
    "average_of_ratio",
    "the weighted average of the ratios is the ratio of the weighted averages (exact when the "
    "second moment does not vary over the averaging window)",
    r"\overline{\boldsymbol{m}/\sqrt{\boldsymbol{v}}} \approx "
    r"\bar{\boldsymbol{m}}/\sqrt{\bar{\boldsymbol{v}}}",
)

# The real small parameters of the approximations (each the ratio of what is dropped to what is
# kept, read off the exact expressions; see the steps). The window of the beta3 average is
# (1 - beta3^t)/(1 - beta3) steps long; the EMAs m and v remember 1/(1 - beta1), 1/(1 - beta2).
WINDOW = (1 - b3**t) / (1 - b3)
SMALL_MEAN_M = b3**t / ((1 - b1) * WINDOW)  # warm-up of m, seen at the window's start
SMALL_MEAN_V = b3**t / ((1 - b2) * WINDOW)  # warm-up of v, seen at the window's start
SMALL_VAR_M = (1 - b3) / ((1 - b1) * (1 - b3 ** (2 * t)))  # memory of m over the squared window
SMALL_MEAN_FIELD = (1 / (1 - b1) + b3**t / (1 - b2)) / WINDOW  # all of them at once
COMBINED = (
    "\\varepsilon = \\frac{\\eta\\lambda}{1-\\beta_3^t}\\Big(\\frac{1}{1-\\beta_1} + "
    "\\frac{\\beta_3^t}{1-\\beta_2}\\Big) \\ll 1"
)
_MID_RUN = sp.Rational(1, 2)  # beta3^t held at 1/2 while beta3 -> 1: the source's regime
_AT_MID_RUN = sp.log(_MID_RUN) / sp.log(b3)  # the t at which beta3^t = 1/2
SCOPE = (
    "AdamW without bias correction ($\\boldsymbol{u}_t = \\boldsymbol{m}_t/\\sqrt{"
    "\\boldsymbol{v}_t}$) and with $\\epsilon = 0$, constant $\\eta$ and $\\lambda$.",
    "Gradients iid in time, $\\boldsymbol{g}_j \\sim \\mathcal{N}(\\boldsymbol{\\mu}, "
    "\\boldsymbol{\\sigma}^2)$ per coordinate, independent of the weights.",
    "Mean field: expectations of ratios replaced by ratios of expectations, and the RMS over "
    "many coordinates by its expectation (self-averaging).",
    "Accurate when the $\\beta_3$-window $(1-\\beta_3^t)/(1-\\beta_3)$ is long next to the "
    "memories $1/(1-\\beta_1)$ of $\\boldsymbol{m}$ and $\\beta_3^t/(1-\\beta_2)$ of "
    "$\\boldsymbol{v}$ (the parameter of eq:theta-rms); early in training, with "
    "$\\eta\\lambda\\,\\beta_3^t/(1-\\beta_3^t) \\gtrsim 1-\\beta_2$, the warm-up of "
    "$\\boldsymbol{v}$ makes it visibly wrong.",
)


def expand_rms2(combination: sp.Expr) -> sp.Expr:
    """Bilinearity of the squared RMS: ``RMS2(sum c_a a) = sum c_a c_b <a, b>/d``."""
    vectors = sorted(combination.atoms(sp.Indexed), key=sp.default_sort_key)
    expanded = sp.expand(combination)
    coefficients = [sp.factor(expanded.coeff(a)) for a in vectors]
    if not is_linear(expanded, vectors, coefficients):
        raise ValueError(f"{combination} is not linear in its vectors")
    total = sp.Integer(0)
    for p, (a, ca) in enumerate(zip(vectors, coefficients, strict=True)):
        total += ca**2 * RMS2(a)
        for b, cb in list(zip(vectors, coefficients, strict=True))[p + 1 :]:
            total += 2 * ca * cb * MeanDot(a, b)
    return total


def is_linear(expr: sp.Expr, vectors: list, coefficients: list) -> bool:
    rebuilt = sum(c * a for c, a in zip(coefficients, vectors, strict=True))
    return sp.expand(expr - rebuilt) == 0 and not any(c.has(*vectors) for c in coefficients)


def shift_sum(rolled: sp.Expr, at: sp.Expr, dummy: sp.Symbol) -> sp.Expr:
    """An unrolled EMA ``sum_{i=1}^{t} f(i, t)`` at time ``at``, summed over ``dummy``."""
    (index, lower, upper), body = rolled.limits[0], rolled.function
    return sp.Sum(body.subs(index, dummy).subs(upper, at), (dummy, lower, at))


@functools.lru_cache(maxsize=64)
def _iterate_mean_field(beta1: float, beta2: float, beta3: float, steps: int) -> tuple:
    """E[m̄_t]/μ, Var[m̄_t]/σ², E[v̄_t]/(μ² + σ²) by running the recursions (floats).

    Independent of every closed form: the means of m_i, v_i and of the beta3 sums iterate their
    EMAs, and the variance iterates the covariance of the linear state (m_i, sum_k beta3^(i-k)
    m_k), which is driven by one fresh unit-variance gradient per step.
    """
    mean_m = mean_v = sum_m = sum_v = 0.0
    var_m = cov = var_sum = 0.0
    for _ in range(steps):
        mean_m = beta1 * mean_m + (1 - beta1)
        mean_v = beta2 * mean_v + (1 - beta2)
        sum_m, sum_v = beta3 * sum_m + mean_m, beta3 * sum_v + mean_v
        # m_i = b1 m + (1 - b1) g;  M_i = b3 M + m_i = b3 M + b1 m + (1 - b1) g
        fresh = (1 - beta1) ** 2
        var_m, cov, var_sum = (
            beta1**2 * var_m + fresh,
            beta1 * (beta3 * cov + beta1 * var_m) + fresh,
            beta3**2 * var_sum + 2 * beta3 * beta1 * cov + beta1**2 * var_m + fresh,
        )
    weight = (1 - beta3) / (1 - beta3**steps)
    return weight * sum_m, weight**2 * var_sum, weight * sum_v


def _mean_field_reference(beta1, beta2, beta3, steps, signal_to_noise) -> mpmath.mpf:
    # The coordinate-averaged E[m̄²]/E[v̄] with mu^2 = SNR, sigma^2 = 1, from the iteration.
    mean, variance, second = _iterate_mean_field(
        float(beta1), float(beta2), float(beta3), int(steps)
    )
    signal = mpmath.mpf(signal_to_noise)
    return (signal * mean**2 + variance) / ((signal + 1) * second)


ITERATED_MEAN_FIELD = implemented_function("IteratedMeanField", _mean_field_reference)


@dataclass(frozen=True)
class _Sliding:
    adamw: Step
    beta3: Step
    ema: Step


def _sliding_view(recorder: StepRecorder) -> _Sliding:
    add = recorder.add
    with recorder.section("Sliding view"):
        adamw = add(
            id="adamw_update",
            title="AdamW with constant hyperparameters",
            lhs=theta[t],
            rhs=theta[t - 1] - eta * (u[t] + lam * theta[t - 1]),
            kind=Kind.DEFINITION,
            justification=(
                "Decoupled weight decay as in PyTorch and the source, with $\\boldsymbol{u}_t = "
                "\\boldsymbol{m}_t/\\sqrt{\\boldsymbol{v}_t}$ late in training "
                "([[update_rms.adam_update]]): no bias correction and $\\epsilon = 0$."
            ),
            assumptions=(NO_BIAS_CORRECTION, NO_EPSILON),
        )
        beta3 = add(
            id="beta3_def",
            title="The decay factor",
            lhs=b3,
            rhs=1 - eta * lam,
            kind=Kind.DEFINITION,
            justification="One step of weight decay multiplies the weights by $1 - \\eta\\lambda$.",
        )
        expanded = sp.expand(adamw.rhs)
        decay = expanded.coeff(theta[t - 1])
        # beta3 = 1 - eta lambda is linear in eta: solve it for eta.
        slope = sp.diff(beta3.rhs, eta)
        solved_eta = (beta3.lhs - beta3.rhs.subs(eta, 0)) / slope
        rest = sp.factor((expanded - decay * theta[t - 1]).subs(eta, solved_eta))
        ema = add(
            id="ema_wd",
            title="Weight decay is an EMA of -u/lambda",
            lhs=theta[t],
            rhs=decay.subs(eta * lam, 1 - b3) * theta[t - 1] + rest,
            kind=Kind.IDENTITY,
            label="eq:ema-wd",
            justification=(
                "Substitute $\\eta = (1-\\beta_3)/\\lambda$ from [[beta3_def]] into "
                "[[adamw_update]]: the weights are an exponential moving average of "
                "$-\\boldsymbol{u}/\\lambda$."
            ),
            uses=("adamw_update", "beta3_def"),
            checks=(
                RewriteToZero(
                    LHS,
                    RHS,
                    given={adamw.lhs: adamw.rhs, beta3.lhs: beta3.rhs},
                    method="both sides in eta, lambda",
                ),
            ),
        )
    return _Sliding(adamw, beta3, ema)


@dataclass(frozen=True)
class _Weighted:
    theta_sum: Step
    m_roll: Step
    v_roll: Step


def _weighted_average(recorder: StepRecorder, sliding: _Sliding, prerequisite) -> _Weighted:
    ema = sliding.ema
    # Unroll: theta_t = beta3^t theta_0 + sum_i beta3^(t-i) * (the increment of eq:ema-wd at i).
    factor = sp.diff(ema.rhs, theta[t - 1])
    coefficient, update = ema.rhs.subs(theta[t - 1], 0).as_independent(u[t], as_Add=False)
    theta_sum = factor**t * theta[0] + coefficient * sp.Sum(
        factor ** (t - i) * update.subs(t, i), (i, 1, t)
    )
    with recorder.section("Weighted average"):
        unrolled = recorder.add(
            id="theta_unrolled",
            title="Weights as a weighted average",
            lhs=theta[t],
            rhs=theta_sum,
            kind=Kind.IDENTITY,
            label="eq:theta-t",
            justification=(
                "Unroll [[ema_wd]] down to $\\boldsymbol{\\theta}_0$, which is kept: $\\beta_3$ "
                "is close to 1, so $\\beta_3^t$ need not be small over a whole run."
            ),
            uses=("ema_wd",),
            checks=(
                SolvesRecursion(
                    LHS,
                    RHS,
                    ema.rhs,
                    t,
                    start=None,
                    base=0,
                    method="induction on t (through eq:ema-wd)",
                ),
            ),
        )
        rolled = {}
        for moment, label in (("m", "eq:mv-roll"), ("v", "eq:mv-roll-v")):
            beta = "1" if moment == "m" else "2"
            rolled[moment] = recorder.restate(
                prerequisite.step(f"{moment}_unrolled"),
                title=f"{'First' if moment == 'm' else 'Second'} moment unrolled",
                label=label,
                justification=(
                    f"As in [[update_rms.{moment}_unrolled]]; the start ${moment}_0 = 0$ is "
                    f"dropped since $\\beta_{beta}^t$ vanishes quickly."
                ),
            )
    return _Weighted(unrolled, rolled["m"], rolled["v"])


def _quick_estimate(recorder: StepRecorder, sliding: _Sliding, prerequisite) -> None:
    add = recorder.add
    ema = sliding.ema
    update_rms = prerequisite.step("update_rms_mu0")
    with recorder.section("Quick estimate"):
        recursion = add(
            id="rms_recursion",
            title="Squared RMS of the EMA step",
            lhs=RMS2(ema.lhs),
            rhs=expand_rms2(ema.rhs),
            kind=Kind.IDENTITY,
            justification=(
                "Take $\\Vert\\cdot\\Vert_{\\mathrm{RMS}}^2$ of both sides of [[ema_wd]]."
            ),
            uses=("ema_wd",),
            checks=(CoordinateIdentity(LHS, RHS, given={ema.lhs: ema.rhs}),),
        )
        # Orthogonality, steady state and the update RMS turn the recursion into one equation
        # for the squared RMS; collect it on the left.
        steady = recursion.lhs
        assumed = {
            MeanDot(theta[t - 1], u[t]): 0,
            RMS2(theta[t - 1]): steady,
            RMS2(u[t]): update_rms.rhs**2,
        }
        residual = sp.expand(recursion.lhs - recursion.rhs.xreplace(assumed))
        divisor = sp.expand(residual.coeff(steady))
        balance = add(
            id="quick_balance",
            title="Orthogonality and steady state",
            lhs=divisor * steady,
            rhs=sp.factor(divisor * steady - residual),
            kind=Kind.APPROXIMATION,
            justification=(
                "In [[rms_recursion]] drop the cross term, set $\\Vert\\boldsymbol{\\theta}_t"
                "\\Vert_{\\mathrm{RMS}} = \\Vert\\boldsymbol{\\theta}_{t-1}\\Vert_{\\mathrm{RMS}}$"
                " and use the update RMS of [[update_rms.update_rms_mu0]]."
            ),
            assumptions=(ORTHOGONAL_UPDATE, STEADY_STATE),
            uses=("rms_recursion", "update_rms.update_rms_mu0"),
            checks=(
                RewriteToZero(
                    LHS - RHS,
                    recursion.lhs - recursion.rhs,
                    given={
                        MeanDot(theta[t - 1], u[t]): 0,
                        RMS2(theta[t - 1]): RMS2(theta[t]),
                        RMS2(u[t]): update_rms.rhs**2,
                    },
                    method="eq. of rms_recursion under the assumptions",
                ),
            ),
        )
        # Divide by the left side's factor, taken from quick_balance itself.
        factor = sp.factor(balance.lhs / steady)
        beta3_value = {sliding.beta3.lhs: sliding.beta3.rhs}
        rho_quick = sp.cancel((balance.rhs / factor).subs(beta3_value))
        quick = sp.sqrt(sp.factor(limit(rho_quick / eta, eta, 0) * eta))
        add(
            id="quick_estimate",
            title="The quick estimate",
            lhs=RMS(theta[t]),
            rhs=quick,
            kind=Kind.APPROXIMATION,
            justification=(
                "Solve [[quick_balance]] for the squared RMS and keep the leading order in "
                "$\\eta\\lambda$ ($1 + \\beta_3 \\approx 2$). The source warns that the "
                "orthogonality it assumed does not really hold, although the scaling "
                "$\\sqrt{\\eta/\\lambda}$ is right; compare the $\\beta_1$-free result "
                "[[theta_rms_simple]] below."
            ),
            limit="\\eta\\lambda \\ll 1 \\text{ (relative error } \\eta\\lambda/4)",
            assumptions=(ORTHOGONAL_UPDATE, STEADY_STATE),
            uses=("quick_balance",),
            checks=(
                Given.of(
                    SmallParameter,
                    LHS,
                    RHS,
                    eta * lam,
                    {eta: EPSILON / lam},
                    f"{NAME}.quick_estimate",
                    meaning={
                        RMS(theta[t]): sp.sqrt(
                            (balance.rhs * steady / balance.lhs).subs(beta3_value)
                        )
                    },
                    bound=0.5,
                ),
            ),
        )


@dataclass(frozen=True)
class _Averaged:
    u_bar_def: Step
    m_bar_def: Step
    v_bar_def: Step
    split: Step
    decoupled: Step


def _averaged_update(recorder: StepRecorder, weighted: _Weighted, prerequisite) -> _Averaged:
    add = recorder.add
    weight = (1 - b3) / (1 - b3**t)
    with recorder.section("Mean field, step 1: the averaged update"):
        defined = {}
        for name, vector, averaged, what in (
            ("u_bar_def", u, u_bar, "updates"),
            ("m_bar_def", m, m_bar, "first moments"),
            ("v_bar_def", v, v_bar, "second moments"),
        ):
            defined[name] = add(
                id=name,
                title=f"Weighted average of the {what}",
                lhs=averaged[t],
                rhs=weight * sp.Sum(b3 ** (t - i) * vector[i], (i, 1, t)),
                kind=Kind.DEFINITION,
                justification=(
                    f"The $\\beta_3$-weighted average of the {what}; the weights "
                    "$(1-\\beta_3)\\beta_3^{t-i}/(1-\\beta_3^t)$ sum to 1."
                ),
            )
        u_def, m_def, v_def = defined["u_bar_def"], defined["m_bar_def"], defined["v_bar_def"]
        # theta_unrolled's sum is a multiple of the sum in u_bar_def: replace it by u_bar.
        plain = u_def.rhs / weight
        theta_sum = weighted.theta_sum.rhs
        (inner,) = theta_sum.atoms(sp.Sum)
        ratio = sp.cancel(inner.function / plain.function)
        if ratio.has(i):
            raise ValueError("the sum of theta_unrolled is not a multiple of u_bar's")
        theta_bar = sp.expand(
            theta_sum.xreplace({inner: ratio * u_def.lhs / weight}), mul=True, power_exp=False
        )
        theta_bar = sp.collect(theta_bar, u_def.lhs, sp.factor)
        via = add(
            id="theta_via_u_bar",
            title="Weights through the averaged update",
            lhs=theta[t],
            rhs=theta_bar,
            kind=Kind.IDENTITY,
            justification="[[theta_unrolled]] written with [[u_bar_def]].",
            uses=("theta_unrolled", "u_bar_def"),
            checks=(
                RewriteToZero(
                    LHS,
                    RHS,
                    given={weighted.theta_sum.lhs: theta_sum, u_def.lhs: u_def.rhs},
                    method="both sides as sums over the updates",
                ),
            ),
        )
        # Exact when v_i = V over the window: then both sides are averages of m_i / sqrt(V).
        adam = prerequisite.step("adam_update")
        constant_v = sp.Symbol("V", positive=True)
        per_step = {adam.lhs.subs(t, i): adam.rhs.subs(t, i)}
        constant_window = {
            u_def.lhs: u_def.rhs.xreplace(per_step).xreplace({v[i]: constant_v}),
            m_def.lhs: m_def.rhs,
            v_def.lhs: v_def.rhs.xreplace({v[i]: constant_v}),
        }
        ratio_avg = m_def.lhs / sp.sqrt(v_def.lhs)
        ratio_step = add(
            id="u_bar_mean_field",
            title="First mean-field step",
            lhs=u_def.lhs,
            rhs=ratio_avg,
            kind=Kind.APPROXIMATION,
            label="eq:u-bar",
            justification=(
                "With [[m_bar_def]] and [[v_bar_def]], replace the average of ratios "
                "$\\boldsymbol{m}_i/\\sqrt{\\boldsymbol{v}_i}$ by the ratio of averages."
            ),
            assumptions=(AVERAGED_RATIO,),
            uses=("u_bar_def", "m_bar_def", "v_bar_def"),
            checks=(
                BruteForce(
                    LHS,
                    RHS,
                    at=POINT,
                    given=constant_window,
                    method="exact for constant v",
                ),
            ),
        )
        split_exact = expand_rms2(via.rhs)
        split = add(
            id="theta_rms_split",
            title="Initialisation and averaged update separate",
            lhs=RMS2(via.lhs),
            rhs=split_exact.subs(MeanDot(theta[0], u_bar[t]), 0),
            kind=Kind.APPROXIMATION,
            justification=(
                "Take $\\Vert\\cdot\\Vert_{\\mathrm{RMS}}^2$ of [[theta_via_u_bar]]; the random "
                "initialisation is taken orthogonal to the averaged update."
            ),
            assumptions=(ORTHOGONAL_INIT,),
            uses=("theta_via_u_bar",),
            checks=(
                CoordinateIdentity(
                    LHS,
                    RHS,
                    given={via.lhs: via.rhs},
                    orthogonal=((theta[0], u_bar[t]),),
                    method="explicit coordinates, theta_0 ⟂ u_bar",
                ),
            ),
        )
        squared = E(ratio_step.lhs**2)
        decoupled = add(
            id="mean_field_u_bar",
            title="Second mean-field step",
            lhs=squared,
            rhs=mean_field(squared.xreplace({ratio_step.lhs: ratio_step.rhs})),
            kind=Kind.APPROXIMATION,
            justification=(
                "With iid $\\boldsymbol{g}_j \\sim \\mathcal{N}(\\boldsymbol{\\mu}, "
                "\\boldsymbol{\\sigma}^2)$, square [[u_bar_mean_field]] and replace the "
                "expectation of the ratio by the ratio of expectations."
            ),
            assumptions=(MEAN_FIELD, IID_IN_TIME),
            uses=("u_bar_mean_field",),
            checks=(
                Given.of(MeanFieldRewrite, LHS, RHS, meaning={ratio_step.lhs: ratio_step.rhs}),
            ),
        )
    return _Averaged(u_def, m_def, v_def, split, decoupled)


def _double_sums(recorder: StepRecorder, weighted: _Weighted) -> dict:
    collapsed = {}
    with recorder.section("Step 2: collapsing the double sums"):
        for moment, rolled in (("m", weighted.m_roll), ("v", weighted.v_roll)):
            vector = m if moment == "m" else v
            # b3^{t-i} m_i with m_i from eq:mv-roll: the weight moves inside the sum over j <= i.
            at_i = shift_sum(rolled.rhs, i, j)
            double = sp.Sum(b3 ** (t - i) * at_i.function, at_i.limits[0], (i, 1, t))
            swapped = swap_triangular_sum(double)
            increment = g[j] if moment == "m" else g[j] ** 2
            front = sp.factor(rolled.rhs.function.subs(i, t) / increment.subs(j, t))
            coefficient = geometric_sum(swapped.function / (front * increment), i, j, t)
            rhs = front * sp.Sum(coefficient * increment, (j, 1, t))
            lhs = sp.Sum(b3 ** (t - i) * vector[i], (i, 1, t))
            step = recorder.add(
                id=f"double_sum_{moment}",
                title=f"Collapsing the double sum of {moment}",
                lhs=lhs,
                rhs=rhs,
                kind=Kind.IDENTITY,
                justification=(
                    f"Insert [[{moment}_unrolled]], swap the triangular double sum "
                    "($\\sum_{i=1}^t\\sum_{j=1}^i = \\sum_{j=1}^t\\sum_{i=j}^t$) and sum the "
                    "inner geometric series in $i$."
                ),
                uses=(f"{moment}_unrolled",),
                checks=(
                    Recurrence(
                        LHS,
                        RHS,
                        meaning={vector[i]: shift_sum(rolled.rhs, i, j)},
                        factor=b3,
                        method=f"induction on t (through eq:mv-roll of {moment})",
                    ),
                    BruteForce(
                        LHS,
                        RHS,
                        at={**POINT, **_iterated_ema(moment)},
                        method="brute force (iterated EMA)",
                    ),
                ),
            )
            collapsed[moment] = (coefficient, step)
    return collapsed


def _iterated_ema(moment: str, steps: int = 4) -> dict:
    # m_1..m_4 (or v_1..v_4) by running the recursion at the brute-force point.
    beta = POINT[b1 if moment == "m" else b2]
    vector = m if moment == "m" else v
    return {
        vector[n]: ema_recursion(beta, [gk if moment == "m" else gk**2 for gk in gradients(n)])
        for n in range(1, steps + 1)
    }


def _moment_of_average(n: int, beta: sp.Expr, square_g: bool, power: int) -> sp.Expr:
    """Exact Gaussian moment of the beta3 average of m (or v) at t = n, from the recursions."""
    beta_value, b3_value = POINT[beta], POINT[b3]
    weight = (1 - b3_value) / (1 - b3_value**n)

    def statistic(gs):
        sequence = [
            ema_recursion(beta_value, [gk**2 if square_g else gk for gk in gs[:k]])
            for k in range(1, n + 1)
        ]
        return (weight * sum(b3_value ** (n - k) * s for k, s in enumerate(sequence, 1))) ** power

    return moment_at(n, statistic)


def _brute_moments(lhs_of: callable, beta, square_g: bool, power: int, centred=False) -> dict:
    # {E(v_bar[n]): its exact Gaussian moment}, n = 1..4, for BruteForce's ``at``.
    values = {}
    for n in BRUTE_FORCE_STEPS:
        value = _moment_of_average(n, beta, square_g, power)
        if centred:
            value -= _moment_of_average(n, beta, square_g, 1) ** 2
        values[lhs_of(n)] = value
    return values


@dataclass(frozen=True)
class _Moments:
    mean_v_exact: Step
    mean_v: Step
    mean_m_exact: Step
    mean_m: Step
    var_m_exact: Step
    var_m: Step


def _mean_of_average(lhs: sp.Expr, definition: Step, sequence: Step) -> dict:
    """E[x̄_t] := w_t sum_i beta3^(t-i) E[x_i], with E[x_i] from update_rms (at t, t-1)."""
    weight = definition.rhs / definition.rhs.atoms(sp.Sum).pop()
    total = sp.Sum(b3 ** (t - i) * sequence.rhs.subs(t, i), (i, 1, t))
    return {lhs: weight * total}


def _denominator(recorder, averaged: _Averaged, collapsed: dict, prerequisite) -> tuple:
    weight = (1 - b3) / (1 - b3**t)
    mean_v_seq = prerequisite.step("mean_v")
    coefficient_v, _ = collapsed["v"]
    with recorder.section("Step 3: the denominator"):
        second_moment = mu**2 + sigma**2  # E[g_j^2] for g_j ~ N(mu, sigma^2)
        mean_v_bar = weight * (1 - b2) * second_moment * geometric_sum(coefficient_v, j, 1, t)
        lhs = E(averaged.v_bar_def.lhs)
        exact = recorder.add(
            id="mean_v_bar_exact",
            title="Mean of the averaged second moment, exact",
            lhs=lhs,
            rhs=mean_v_bar,
            kind=Kind.IDENTITY,
            justification=(
                "Expectation of [[v_bar_def]] through [[double_sum_v]] with "
                "$\\mathbb{E}[g_j^2] = \\mu^2 + \\sigma^2$, then a geometric sum in $j$."
            ),
            assumptions=(IID_IN_TIME,),
            uses=("v_bar_def", "double_sum_v"),
            checks=(
                Recurrence(
                    LHS,
                    RHS,
                    meaning=_mean_of_average(lhs, averaged.v_bar_def, mean_v_seq),
                    factor=b3,
                    base=1,
                    scale=weight,
                    method="induction on t (via E[v_t] of update_rms)",
                ),
                BruteForce(
                    LHS,
                    RHS,
                    at={**POINT, **_brute_moments(lambda n: E(v_bar[n]), b2, True, 1)},
                    method="brute-force Gaussian moments",
                ),
            ),
        )
        approx = sp.factor(limit(limit(_frozen(mean_v_bar), y, 0), b3, 1, "-"))
        approximate = recorder.add(
            id="mean_v_bar_approx",
            title="Mean of the averaged second moment, approximated",
            lhs=lhs,
            rhs=approx,
            kind=Kind.APPROXIMATION,
            justification=(
                "In [[mean_v_bar_exact]] drop $\\beta_2^{t}$ and send the lone $\\beta_3$ to 1 "
                "with $\\beta_3^t$ held fixed. The relative error is exactly "
                "$\\beta_2(1-\\beta_3)(\\beta_3^t-\\beta_2^t)/((1-\\beta_3^t)(\\beta_3-\\beta_2))"
                "$: the warm-up of $\\boldsymbol{v}$ (it starts at 0 and needs "
                "$\\sim 1/(1-\\beta_2)$ steps) weighted by $\\beta_3^t$ inside the window. It is "
                "small only when the window is long next to that warm-up, not merely when "
                "$\\beta_2^t \\to 0$: at $\\beta_2 = 0.999$, $\\eta\\lambda = 10^{-4}$, "
                "$t = 2000$ the exact mean is 42% below $\\mu^2 + \\sigma^2$ (the approximation is "
                "72% too high)."
            ),
            limit=(
                "\\varepsilon_v = \\frac{\\eta\\lambda\\,\\beta_3^t}{(1-\\beta_3^t)(1-\\beta_2)}"
                " \\ll 1"
            ),
            assumptions=(IID_IN_TIME,),
            uses=("mean_v_bar_exact",),
            checks=(
                Given.of(
                    SmallParameter,
                    LHS,
                    RHS,
                    SMALL_MEAN_V,
                    {b3: 1 - EPSILON * (1 - b2), t: _AT_MID_RUN},
                    f"{NAME}.mean_v_bar_approx",
                    meaning={exact.lhs: exact.rhs},
                ),
            ),
        )
    return exact, approximate


K = sp.Symbol("k", integer=True, positive=True)  # a lag: k = t - j + 1


def _numerator(recorder, averaged: _Averaged, collapsed: dict, prerequisite, mean_v) -> _Moments:
    weight = (1 - b3) / (1 - b3**t)
    mean_m_seq = prerequisite.step("mean_m")
    coefficient_m, double_m = collapsed["m"]
    front = sp.factor(double_m.rhs / double_m.rhs.atoms(sp.Sum).pop())
    lhs_mean, lhs_var = E(averaged.m_bar_def.lhs), Var(averaged.m_bar_def.lhs)
    with recorder.section("Step 4: the numerator"):
        mean_m_bar = weight * front * mu * geometric_sum(coefficient_m, j, 1, t)
        mean_exact = recorder.add(
            id="mean_m_bar_exact",
            title="Mean of the averaged first moment, exact",
            lhs=lhs_mean,
            rhs=mean_m_bar,
            kind=Kind.IDENTITY,
            justification=(
                "Expectation of [[m_bar_def]] through [[double_sum_m]] with "
                "$\\mathbb{E}[g_j] = \\mu$, then a geometric sum in $j$."
            ),
            assumptions=(IID_IN_TIME,),
            uses=("m_bar_def", "double_sum_m"),
            checks=(
                Recurrence(
                    LHS,
                    RHS,
                    meaning=_mean_of_average(lhs_mean, averaged.m_bar_def, mean_m_seq),
                    factor=b3,
                    base=1,
                    scale=weight,
                    method="induction on t (via E[m_t] of update_rms)",
                ),
                BruteForce(
                    LHS,
                    RHS,
                    at={**POINT, **_brute_moments(lambda n: E(m_bar[n]), b1, False, 1)},
                    method="brute-force Gaussian moments",
                ),
            ),
        )
        mean_approx = recorder.add(
            id="mean_m_bar",
            title="Mean of the averaged first moment",
            lhs=lhs_mean,
            rhs=sp.factor(limit(limit(_frozen(mean_m_bar), z, 0), b3, 1, "-")),
            kind=Kind.APPROXIMATION,
            justification=(
                "[[mean_m_bar_exact]] tends to $\\mu$. Its relative error is exactly "
                "$\\beta_1(1-\\beta_3)(\\beta_3^t-\\beta_1^t)/((1-\\beta_3^t)(\\beta_3-\\beta_1))"
                "$, below $\\varepsilon_m$: the warm-up of $\\boldsymbol{m}$, weighted by "
                "$\\beta_3^t$, over the window. $\\beta_1^t \\to 0$ is not needed."
            ),
            limit=(
                "\\varepsilon_m = \\frac{\\eta\\lambda\\,\\beta_3^t}{(1-\\beta_3^t)(1-\\beta_1)}"
                " \\ll 1"
            ),
            assumptions=(IID_IN_TIME,),
            uses=("mean_m_bar_exact",),
            checks=(
                Given.of(
                    SmallParameter,
                    LHS,
                    RHS,
                    SMALL_MEAN_M,
                    {b3: 1 - EPSILON * (1 - b1), t: _AT_MID_RUN},
                    f"{NAME}.mean_m_bar",
                    meaning={mean_exact.lhs: mean_exact.rhs},
                ),
            ),
        )
        var_m_bar = weight**2 * front**2 * sigma**2 * geometric_sum(coefficient_m**2, j, 1, t)
        by_lag = sp.Sum((front * coefficient_m.subs(j, t - K + 1)) ** 2, (K, 1, t))
        var_exact = recorder.add(
            id="var_m_bar_exact",
            title="Variance of the averaged first moment, exact",
            lhs=lhs_var,
            rhs=var_m_bar,
            kind=Kind.IDENTITY,
            justification=(
                "[[update_rms.variance_of_sum]] applied to [[double_sum_m]]: square each "
                "coefficient, expand, and sum the three geometric series in $j$."
            ),
            assumptions=(IID_IN_TIME,),
            uses=("double_sum_m", "update_rms.variance_of_sum"),
            checks=(
                Recurrence(
                    LHS,
                    RHS,
                    meaning={lhs_var: weight**2 * sigma**2 * by_lag},
                    base=1,
                    scale=weight**2,
                    method="induction on t (sum of squared coefficients, by lag)",
                ),
                BruteForce(
                    LHS,
                    RHS,
                    at={
                        **POINT,
                        **_brute_moments(lambda n: Var(m_bar[n]), b1, False, 2, centred=True),
                    },
                    method="brute-force Gaussian moments",
                ),
            ),
        )
        leading = limit(limit(_frozen(var_m_bar), z, 0) / (1 - b3), b3, 1, "-")
        var_approx = recorder.add(
            id="var_m_bar_approx",
            title="Variance of the averaged first moment, approximated",
            lhs=lhs_var,
            rhs=(1 - b3) * sp.factor(leading).xreplace({x: b3**t}),
            kind=Kind.APPROXIMATION,
            justification=(
                "Leading order of [[var_m_bar_exact]] in $1-\\beta_3$ with $\\beta_3^t$ held "
                "fixed; $\\beta_1$ drops out. What is dropped is the correlation time of "
                "$\\boldsymbol{m}$, about $1/(1-\\beta_1)$ steps, against the window of the "
                "squared weights, $(1-\\beta_3^{2t})/(1-\\beta_3)$ steps (the relative error "
                "is below $3\\varepsilon$); $\\beta_1^t \\to 0$ is not needed."
            ),
            limit=("\\varepsilon = \\frac{\\eta\\lambda}{(1-\\beta_3^{2t})(1-\\beta_1)} \\ll 1"),
            assumptions=(IID_IN_TIME,),
            uses=("var_m_bar_exact",),
            checks=(
                Given.of(
                    SmallParameter,
                    LHS,
                    RHS,
                    SMALL_VAR_M,
                    {b3: 1 - EPSILON * (1 - b1) * (1 - _MID_RUN**2), t: _AT_MID_RUN},
                    f"{NAME}.var_m_bar_approx",
                    meaning={var_exact.lhs: var_exact.rhs},
                    bound=3.0,
                ),
            ),
        )
    return _Moments(*mean_v, mean_exact, mean_approx, var_exact, var_approx)


def _exact_mean_field(averaged: _Averaged, moments: _Moments) -> sp.Expr:
    """E[m̄²]/E[v̄] with the exact moments (E[X²] = E[X]² + Var[X])."""
    second = {E(m_bar[t] ** 2): E(m_bar[t]) ** 2 + Var(m_bar[t])}
    exact = {
        moments.mean_m_exact.lhs: moments.mean_m_exact.rhs,
        moments.var_m_exact.lhs: moments.var_m_exact.rhs,
        moments.mean_v_exact.lhs: moments.mean_v_exact.rhs,
    }
    return averaged.decoupled.rhs.xreplace(second).xreplace(exact)


def _result(recorder, averaged: _Averaged, moments: _Moments) -> tuple[Step, Step]:
    decoupled, split = averaged.decoupled, averaged.split
    mean_m, var_m, mean_v = moments.mean_m, moments.var_m, moments.mean_v
    # Each term at its own leading order: E[m̄]^2 -> mu^2 and Var[m̄] -> its leading term, so
    # the relative error is bounded for every SNR (see the justification).
    second_approx = mean_m.rhs**2 + var_m.rhs
    u_bar_sq = decoupled.rhs.xreplace({E(m_bar[t] ** 2): second_approx, E(v_bar[t]): mean_v.rhs})
    exact_mean_field = _exact_mean_field(averaged, moments)
    per_noise = {mu: sp.sqrt(snr), sigma: 1}  # both sides are homogeneous of degree 0
    window_regime = {b3: 1 - EPSILON / (2 / (1 - b1) + 1 / (1 - b2)), t: _AT_MID_RUN}
    combined = COMBINED
    with recorder.section("Step 4: the numerator"):
        step_sq = recorder.add(
            id="u_bar_sq",
            title="Mean-field averaged update",
            lhs=decoupled.lhs,
            rhs=u_bar_sq,
            kind=Kind.APPROXIMATION,
            justification=(
                "$\\mathbb{E}[\\bar m^2] = \\mathbb{E}[\\bar m]^2 + \\mathbb{V}\\mathrm{ar}"
                "[\\bar m]$ with [[mean_m_bar]] and [[var_m_bar_approx]], over "
                "[[mean_v_bar_approx]], in [[mean_field_u_bar]]. Each of $\\mathbb{E}[\\bar m]^2$"
                " and $\\mathbb{V}\\mathrm{ar}[\\bar m]$ is kept to its own leading order: the "
                "variance term is $O(\\eta\\lambda)$, as small as the error of the mean term, "
                "but the relative error of the sum stays $O(\\varepsilon)$ for every SNR, and "
                "at $\\boldsymbol{\\mu} = 0$ the variance term is the whole answer."
            ),
            limit=combined,
            assumptions=(MEAN_FIELD, IID_IN_TIME),
            uses=("mean_field_u_bar", "mean_m_bar", "var_m_bar_approx", "mean_v_bar_approx"),
            checks=(
                RewriteToZero(
                    LHS,
                    RHS,
                    given={
                        decoupled.lhs: decoupled.rhs.xreplace(
                            {E(m_bar[t] ** 2): E(m_bar[t]) ** 2 + Var(m_bar[t])}
                        ).xreplace(
                            {
                                mean_m.lhs: mean_m.rhs,
                                var_m.lhs: var_m.rhs,
                                mean_v.lhs: mean_v.rhs,
                            }
                        )
                    },
                    method="E[X²] = E[X]² + Var[X] and the three moments substituted",
                ),
                Given.of(
                    SmallParameter,
                    LHS,
                    RHS,
                    SMALL_MEAN_FIELD,
                    window_regime,
                    f"{NAME}.u_bar_sq",
                    meaning={decoupled.lhs: exact_mean_field},
                    bound=3.0,
                ),
            ),
        )
    with recorder.section("Step 5: the result"):
        averaged_sq = coordinate_average(step_sq.rhs)
        step_rms = recorder.add(
            id="u_bar_rms",
            title="RMS of the averaged update",
            lhs=RMS2(u_bar[t]),
            rhs=in_snr(averaged_sq),
            kind=Kind.APPROXIMATION,
            justification=(
                "Average numerator and denominator of [[u_bar_sq]] over coordinates and divide "
                "by $\\Vert\\boldsymbol{\\sigma}\\Vert^2$, as in [[update_rms.update_rms_sq]]; the "
                "realised RMS over many coordinates is its expectation."
            ),
            limit=combined,
            assumptions=(COORDINATE_AVERAGE, SELF_AVERAGING),
            uses=("u_bar_sq",),
            checks=(
                RewriteToZero(
                    LHS,
                    RHS,
                    given={RMS2(u_bar[t]): step_sq.rhs.xreplace(per_noise)},
                    method="coordinate average (mu^2 = SNR sigma^2, degree 0)",
                ),
            ),
        )
        exact_split = split.rhs.xreplace({step_rms.lhs: exact_mean_field.xreplace(per_noise)})
        iterated = split.rhs.xreplace({step_rms.lhs: ITERATED_MEAN_FIELD(b1, b2, b3, t, snr)})
        # beta3^t ≈ 1/2 (a Float: the exact power of a Rational would have 27000 digits)
        long_window = LONG_WINDOW_POINT
        headline = recorder.add(
            id="theta_rms",
            title="The weight RMS",
            lhs=split.lhs,
            rhs=split.rhs.xreplace({step_rms.lhs: step_rms.rhs}),
            kind=Kind.APPROXIMATION,
            label="eq:theta-rms",
            justification=(
                "[[u_bar_rms]] in [[theta_rms_split]]. Checked against the exact mean field "
                "(the exact moments, and independently the recursions iterated for 6931 steps): "
                "its relative error is at most $3\\varepsilon$, with $\\varepsilon$ the ratio of "
                "the memories of $\\boldsymbol{m}$ and $\\boldsymbol{v}$ to the $\\beta_3$-window."
            ),
            limit=combined,
            assumptions=(
                ORTHOGONAL_INIT,
                MEAN_FIELD,
                COORDINATE_AVERAGE,
                IID_IN_TIME,
                SELF_AVERAGING,
                NO_BIAS_CORRECTION,
                NO_EPSILON,
            ),
            uses=("theta_rms_split", "u_bar_rms"),
            checks=(
                RewriteToZero(
                    LHS,
                    RHS,
                    given={split.lhs: split.rhs.xreplace({step_rms.lhs: step_rms.rhs})},
                    method="substitution of u_bar_rms",
                ),
                Given.of(
                    SmallParameter,
                    LHS,
                    RHS,
                    SMALL_MEAN_FIELD,
                    window_regime,
                    f"{NAME}.theta_rms",
                    meaning={split.lhs: exact_split},
                    bound=3.0,
                    method="error bounded by its small parameter (exact moments)",
                ),
                Given.of(
                    SmallParameter,
                    LHS,
                    RHS,
                    SMALL_MEAN_FIELD,
                    {
                        b1: 1 - 2 / (EPSILON * WINDOW),
                        b2: 1 - 2 * b3**t / (EPSILON * WINDOW),
                    },
                    f"{NAME}.theta_rms.iterated",
                    meaning={split.lhs: iterated},
                    given=long_window,
                    inside=(sp.Rational(1, 100), sp.Rational(1, 1000)),
                    bound=3.0,
                    method="error bounded by its small parameter (iterated recursions)",
                ),
            ),
        )
    return step_rms, headline


_FREEZE = {b3**t: x, b2**t: y, b1**t: z}
x2 = sp.Symbol("x2", positive=True)  # beta3^(2t), kept whole in the printed special case


def _frozen(expr: sp.Expr) -> sp.Expr:
    """Hold beta3^t, beta2^t, beta1^t fixed as x, y, z (so limits in the lone betas apply)."""
    return freeze_powers(expr, _FREEZE)


def _unfreeze(expr: sp.Expr) -> sp.Expr:
    return expr.xreplace({x: b3**t, y: b2**t, z: b1**t})


def _special_cases(recorder, sliding: _Sliding, result: tuple) -> tuple[Step, Step]:
    step_rms, headline = result
    theta_rms = headline.rhs
    beta3_value = {sliding.beta3.lhs: sliding.beta3.rhs}
    add = recorder.add
    with recorder.section("Special cases"):
        at_mu0 = theta_rms.subs(snr, 0)
        mu0_frozen = sp.expand(sp.cancel(_frozen(at_mu0).subs(beta3_value)))
        from_init = mu0_frozen.coeff(S.rho0) * S.rho0
        mu0 = _unfreeze(from_init + tidy((mu0_frozen - from_init).subs(x**2, x2), t).subs(x2, x**2))
        mu0_step = add(
            id="theta_rms_mu0",
            title="Zero-mean gradients",
            lhs=headline.lhs,
            rhs=mu0,
            kind=Kind.APPROXIMATION,
            label="eq:theta-rms-mu0",
            justification=(
                "[[theta_rms]] at $\\boldsymbol{\\mu} = 0$, using $1 - \\beta_3 = \\eta\\lambda$ "
                "outside the powers. Both are exact substitutions into [[theta_rms]], so this "
                "is as accurate as [[theta_rms]] at SNR = 0."
            ),
            limit="\\mathrm{SNR} = 0 \\text{ in eq:theta-rms, with its condition: } " + COMBINED,
            uses=("theta_rms", "beta3_def"),
            checks=(
                RewriteToZero(
                    LHS,
                    RHS,
                    given={headline.lhs: at_mu0.subs(beta3_value), **beta3_value},
                    method="substitution SNR = 0, beta3 = 1 - eta lambda",
                ),
            ),
        )
        equilibrium_sq = limit(_frozen(mu0), x, 0, "+")
        ratio = 2 * lam * S.rho0 / eta
        simple = add(
            id="theta_rms_simple",
            title="The equilibrium",
            lhs=RMS(theta[t]),
            rhs=sp.sqrt(equilibrium_sq),
            kind=Kind.APPROXIMATION,
            label="eq:theta-rms-simple",
            justification=(
                "[[theta_rms_mu0]] as $t \\to \\infty$ ($\\beta_3^t \\to 0$), or exactly for every "
                "$t$ when $\\Vert\\boldsymbol{\\theta}_0\\Vert_{\\mathrm{RMS}}^2 = "
                "\\eta/(2\\lambda)$: the rotational-equilibrium value, with no $\\beta_1$ "
                "and no $\\beta_2$. Unlike "
                "[[quick_estimate]], there is no factor $\\sqrt{(1-\\beta_1)/(1+\\beta_1)}$."
            ),
            limit=(
                "\\beta_3^{2t}\\,\\big|2\\lambda\\Vert\\boldsymbol{\\theta}_0\\Vert_{\\mathrm{RMS}}^2"
                "/\\eta - 1\\big| \\ll 1"
            ),
            uses=("theta_rms_mu0",),
            checks=(
                Given.of(
                    SmallParameter,
                    LHS,
                    RHS,
                    b3 ** (2 * t) * sp.Abs(ratio - 1),
                    {t: sp.log(EPSILON / sp.Abs(ratio - 1)) / (2 * sp.log(b3))},
                    f"{NAME}.theta_rms_simple",
                    meaning={RMS(theta[t]): sp.sqrt(mu0_step.rhs)},
                ),
                RewriteToZero(
                    LHS**2,
                    RHS**2,
                    given={RMS(theta[t]): sp.sqrt(mu0_step.rhs.subs(S.rho0, RHS**2))},
                    method="exact at equilibrium start",
                ),
            ),
        )
        in_eta = mu0_step.rhs.subs(beta3_value)
        add(
            id="theta_rms_no_decay",
            title="No weight decay",
            lhs=headline.lhs,
            rhs=sp.expand(limit(in_eta, lam, 0, "+")),
            kind=Kind.APPROXIMATION,
            justification=(
                "[[theta_rms_mu0]] with $\\beta_3 = 1 - \\eta\\lambda$ as $\\lambda \\to 0$: the "
                "weight RMS grows like $\\eta\\sqrt{t}$ while the decay has not acted, "
                "$\\eta\\lambda t \\ll 1$."
            ),
            limit="\\eta\\lambda t \\ll 1",
            uses=("theta_rms_mu0",),
            checks=(
                Given.of(
                    SmallParameter,
                    LHS,
                    RHS,
                    eta * lam * t,
                    {lam: EPSILON / (eta * t)},
                    f"{NAME}.theta_rms_no_decay",
                    meaning={headline.lhs: in_eta},
                    bound=2.0,
                ),
            ),
        )
        numerator, denominator = sp.fraction(sp.together(step_rms.rhs))
        dominant = sp.Poly(numerator, snr).LT()
        dominant = dominant[1] * snr ** dominant[0][0]
        noise_term = sp.factor((numerator - dominant) / (denominator / (snr + 1)))
        add(
            id="theta_rms_large_snr",
            title="Signal-dominated gradients",
            lhs=headline.lhs,
            rhs=averaged_split(recorder, step_rms, sp.factor(dominant / denominator)),
            kind=Kind.APPROXIMATION,
            justification=(
                "[[theta_rms]] when the signal-to-noise ratio dominates the numerator (large "
                "batches): the dropped term is $c/\\mathrm{SNR}$ of the kept one, with "
                "$c = (1-\\beta_3)(1+\\beta_3^t)/(2(1-\\beta_3^t))$."
            ),
            limit=(
                "c/\\mathrm{SNR} \\ll 1,\\ c = \\frac{(1-\\beta_3)(1+\\beta_3^t)}{2(1-\\beta_3^t)}"
            ),
            uses=("theta_rms",),
            checks=(
                Given.of(
                    SmallParameter,
                    LHS,
                    RHS,
                    noise_term / snr,
                    {snr: noise_term / EPSILON},
                    f"{NAME}.theta_rms_large_snr",
                    meaning={headline.lhs: theta_rms},
                    given={S.rho0: 0},
                    bound=1.01,  # the error is exactly c/SNR = epsilon at rho0 = 0
                ),
            ),
        )
    return mu0_step, simple


def averaged_split(recorder, step_rms: Step, value: sp.Expr) -> sp.Expr:
    split = next(s for s in recorder.steps if s.id == "theta_rms_split")
    return split.rhs.xreplace({step_rms.lhs: value})


def _target(recorder, sliding: _Sliding, headline: Step, simple: Step) -> None:
    beta3_value = {sliding.beta3.lhs: sliding.beta3.rhs}
    frozen_in_eta = _frozen(headline.rhs).subs(beta3_value)
    equilibrium = sp.factor(limit(frozen_in_eta, x, 0, "+"))
    in_eta = headline.rhs.subs(beta3_value)
    with recorder.section(TARGET_SECTION):
        eq_step = recorder.add(
            id="theta_rms_equilibrium",
            title="The equilibrium with a gradient mean",
            lhs=headline.lhs,
            rhs=equilibrium,
            kind=Kind.APPROXIMATION,
            justification=(
                "[[theta_rms]] as $t \\to \\infty$ for any signal-to-noise ratio, with "
                "$1 - \\beta_3 = \\eta\\lambda$ from [[beta3_def]]: $\\beta_3^t \\to 0$ erases the "
                "initialisation. Without a gradient mean it is the square of [[theta_rms_simple]];"
                " a strong mean pushes it towards $1/\\lambda^2$, where a constant update of RMS 1"
                " balances the decay."
            ),
            limit="\\beta_3^t \\ll 1 \\ (t \\gg 1/(\\eta\\lambda))",
            uses=("theta_rms", "beta3_def", "theta_rms_simple"),
            checks=(
                Given.of(
                    SmallParameter,
                    LHS,
                    RHS,
                    (1 - eta * lam) ** t,
                    {t: sp.log(EPSILON) / sp.log(1 - eta * lam)},
                    f"{NAME}.theta_rms_equilibrium",
                    meaning={headline.lhs: in_eta},
                    given={S.rho0: 0},
                    bound=2.0,
                ),
                RewriteToZero(
                    LHS,
                    RHS,
                    given={snr: 0, headline.lhs: simple.rhs**2},
                    method="at SNR = 0: eq:theta-rms-simple squared",
                ),
            ),
        )
        target = S.target_rms
        # Both sides of ||theta||_RMS = r are positive: it has the roots of the squared
        # equation, which SymPy solves as a rational equation (faster than with the root).
        roots = sp.solve(sp.Eq(equilibrium, target**2), lam)
        positive = [root for root in roots if root.is_positive]
        if len(positive) != 1:
            raise ValueError(f"expected one provably positive root of the equilibrium, got {roots}")
        (decay_root,) = positive
        quadratic = sp.fraction(sp.together(eq_step.rhs - target**2))[0]
        recorder.add(
            id="weight_decay_for_rms",
            title="Weight decay for a target RMS",
            lhs=lam,
            rhs=decay_root,
            kind=Kind.APPROXIMATION,
            justification=(
                "The weight decay at which the equilibrium [[theta_rms_equilibrium]] is a chosen "
                "target $r$: with the denominator cleared, $\\Vert\\boldsymbol{\\theta}\\Vert"
                "_{\\mathrm{RMS}} = r$ is a quadratic in $\\lambda$ whose roots multiply to a "
                "number $\\le 0$ and add to a positive one, so exactly one root is positive: this "
                "one. It needs no subtraction, so it is accurate for every SNR, and at "
                "$\\mathrm{SNR} = 0$ it is [[theta_rms_simple]] solved for $\\lambda$."
            ),
            limit="t \\to \\infty",
            uses=("theta_rms_equilibrium", "theta_rms_simple"),
            checks=(
                RewriteToZero(eq_step.rhs, target**2, given={LHS: RHS}, method="substituted back"),
                SpotCheck(
                    sp.sqrt(eq_step.rhs), target, f"{NAME}.weight_decay_for_rms", given={LHS: RHS}
                ),
                UniquePositiveRoot(quadratic, LHS, RHS),
            ),
        )


def build() -> Derivation:
    prerequisite = derivation("update_rms")
    recorder = StepRecorder(NAME, WEIGHT_RMS_CLAIMS)
    sliding = _sliding_view(recorder)
    weighted = _weighted_average(recorder, sliding, prerequisite)
    _quick_estimate(recorder, sliding, prerequisite)
    averaged = _averaged_update(recorder, weighted, prerequisite)
    collapsed = _double_sums(recorder, weighted)
    mean_v = _denominator(recorder, averaged, collapsed, prerequisite)
    moments = _numerator(recorder, averaged, collapsed, prerequisite, mean_v)
    result = _result(recorder, averaged, moments)
    _, simple = _special_cases(recorder, sliding, result)
    _target(recorder, sliding, result[1], simple)
    return Derivation(
        name=NAME,
        title="The weight RMS of AdamW: a mean-field estimate",
        abstract=(
            "A step-by-step, machine-verified re-derivation of the mean-field estimate of the "
            "RMS of the weights trained by AdamW with constant learning rate $\\eta$ and weight "
            "decay $\\lambda$ under iid Gaussian gradients, from the sliding-average view of "
            "weight decay to the closed form and its special cases, including the equilibrium "
            "$\\sqrt{\\eta/(2\\lambda)}$."
        ),
        source=WEIGHT_RMS_SOURCE,
        sections=SECTIONS,
        steps=tuple(recorder.steps),
        results=(
            ("weight_rms_sq", "theta_rms"),
            ("weight_rms_sq_mu0", "theta_rms_mu0"),
            ("equilibrium_weight_rms", "theta_rms_simple"),
            ("weight_rms_sq_no_decay", "theta_rms_no_decay"),
            ("weight_rms_quick", "quick_estimate"),
            ("equilibrium_weight_rms_sq", "theta_rms_equilibrium"),
            ("equilibrium_weight_decay", "weight_decay_for_rms"),
        ),
        scope=SCOPE,
    )
