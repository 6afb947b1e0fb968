"""The mean-field weight RMS of AdamW with time-varying learning rate and weight decay.

Source: Su Jianlin, "Asymptotic estimate of AdamW's weight RMS, part 2" (kexue.fm/archives/11404).
The per-step factor 1 - eta_t lambda_t becomes e^{-eta_t lambda_t}, the weights become an
e^{kappa_i} eta_i weighted average of the updates, and the mean-field steps of part 1 are redone
with these weights; then the series approximation, its integral and differential forms, the
single-epoch formula and the learning-rate schedules. Every right side is computed from earlier
steps; the source's printed formulas (``_source.SCHEDULES_CLAIMS``) are only compared.

Each check verifies a step by another route than the one that computed it: induction on the
defining recursion, brute-force iteration and exact Gaussian moments at t = 1..4, explicit
coordinates, a concrete family of schedules, mpmath quadrature of the defining integrals, and
each approximation against the exact expression in the regime of its small parameter (and
outside it, where it must fail). The left side enters every check through its meaning in the
earlier steps (``Given``), keyed by the left side itself.
"""

from __future__ import annotations

import mpmath
import sympy as sp
from sympy.utilities.lambdify import implemented_function

from .. import symbols as S
from ..algebra import freeze_powers, limit
from ..checks import (
    EPSILON,
    LHS,
    RHS,
    BruteForce,
    Given,
    LimitRatio,
    LimitValue,
    MeanFieldRewrite,
    Quadrature,
    RewriteToZero,
    SmallParameter,
    SolvesRecursion,
)
from ..evaluation_points import (
    BRUTE_FORCE_STEPS,
    NEAR_ONE,
    ROBBINS_MONRO_POINT,
    SHORT_BRUTE_FORCE_STEPS,
    SINGLE_EPOCH_SCHEDULE,
    WEIGHT_POINT,
)
from ..evaluation_points import LINEAR_DECAY_POINTS as _LINEAR_DECAY_POINTS
from ..evaluation_points import LINEAR_RISE_POINTS as _LINEAR_RISE_POINTS
from ..evaluation_points import REGIME_BETA1 as _BETA1
from ..evaluation_points import REGIME_BETA2 as _BETA2
from ..evaluation_points import REGIME_DECAY as _DECAY
from ..evaluation_points import REGIME_RATE as _RATE
from ..evaluation_points import SCHEDULE_POINTS as _SCHEDULE_POINTS
from ..rules import geometric_sum, mean_field, prefer_one_minus, swap_triangular_sum
from ..steps import Derivation, Kind, Step, StepRecorder, derivation
from ._assumptions import IID_IN_TIME, NO_BIAS_CORRECTION, NO_EPSILON, SELF_AVERAGING
from ._source import SCHEDULES_CLAIMS, SCHEDULES_SOURCE
from .update_rms import (
    COORDINATE_AVERAGE,
    MEAN_FIELD,
    SNR_OF_NORMS,
    coordinate_average,
    ema_recursion,
    gradients,
    in_snr,
    moment_at,
)
from .weight_rms import AVERAGED_RATIO, ORTHOGONAL_INIT, expand_rms2

b1, b2, t, i, j, k, s = S.beta1, S.beta2, S.t, S.i, S.j, S.k, S.s
eta, lam, mu, sigma, snr = S.eta, S.lam, S.mu, S.sigma, S.snr
etas, lams, kappa, z_t = S.eta_seq, S.lam_seq, S.Kappa, S.Z
theta, u, m, v, g = S.theta, S.u, S.m, S.v, S.g
u_bar, m_bar, v_bar = S.u_bar, S.m_bar, S.v_bar
E, Var, RMS2 = S.Expect, S.Variance, S.RMS2
rho0 = S.rho0

NAME = "schedules"
SECTIONS = (
    "Step 1: exponential decay",
    "Step 2: collapsing the double sums",
    "Step 3: the moments",
    "Example 1: zero-mean gradients",
    "Example 2: the series approximation",
    "Differential equation",
    "Single-epoch mean field",
    "Example 3: schedules",
    "Beyond the source: the exact integral on a linear schedule",
)

# Where the results hold: printed next to the main result.
SCOPE = (
    "AdamW without bias correction and with $\\epsilon = 0$: "
    "$\\boldsymbol{u}_t = \\boldsymbol{m}_t/\\sqrt{\\boldsymbol{v}_t}$, "
    "$\\boldsymbol{m}_0 = \\boldsymbol{v}_0 = 0$.",
    "Gradients iid in time, $\\boldsymbol{g}_j \\sim \\mathcal{N}(\\boldsymbol{\\mu}, "
    "\\boldsymbol{\\sigma}^2)$, many coordinates (the RMS is its expectation), "
    "$\\boldsymbol{\\theta}_0$ orthogonal to the averaged update.",
    "Small decay per step, $\\eta_t\\lambda_t \\ll 1$; the moments after the start-up of "
    "$\\boldsymbol{m}$ and $\\boldsymbol{v}$ (weight of the first $1/(1-\\beta_2)$ steps "
    "negligible); the series and integral forms for schedules that vary slowly over the "
    "momentum window and over one step.",
)

# Real and imaginary part of an mpmath value, left unevaluated by SymPy (a closed form with
# erfi(sqrt(c) x)/sqrt(c) at c < 0 is real, but mpmath returns it as a complex number).
_MODULUS = implemented_function("modulus", abs)  # |z| of an mpmath complex number


def _one(point) -> mpmath.mpf:
    return mpmath.mpf(1)


def _zero(point) -> mpmath.mpf:
    return mpmath.mpf(0)


# The accumulated error of e^{-eta_i lambda_i} for 1 - eta_i lambda_i (see theta_unrolled_dynamic).
_DECAY_LIMIT = "\\tfrac12\\sum_{i \\le t} (\\eta_i\\lambda_i)^2 \\ll 1"
# The condition under which the moments of step 3 hold: the start-up of m and v is forgotten.
_START_UP = "\\text{the start-up weights of } \\beta_1^{i}, \\beta_2^{i} \\text{ negligible}"


def _weight(index: sp.Symbol) -> sp.Expr:
    """The weight e^{kappa_i} eta_i of step ``index`` in the averaged update."""
    return sp.exp(kappa(index)) * etas[index]


def _pull_out(series: sp.Sum) -> sp.Expr:
    """Move the factors of a single sum's summand that do not depend on its index outside."""
    (index, lower, upper) = series.limits[0]
    outside, inside = series.function.as_independent(index, as_Add=False)
    return outside * sp.Sum(inside, (index, lower, upper))


def _meaning(step: Step) -> dict:
    """The statement of an earlier step as a substitution: its left side means its right side."""
    return {step.lhs: step.rhs}


def _average_at(n: int, values: list[sp.Expr], unfold: bool = False) -> sp.Expr:
    """The weighted average (1/z_n) sum_k e^{kappa_k} eta_k x_k of concrete ``values``.

    ``unfold``: write z_n as the sum of the weights (else it stays an opaque z_n).
    """
    weights = [_weight(sp.Integer(n_)) for n_ in range(1, n + 1)]
    normaliser = sum(weights) if unfold else z_t(n)
    return sum(w * x for w, x in zip(weights, values, strict=True)) / normaliser


def _moment_average(
    n: int, beta: sp.Expr, square: bool, power: int, unfold: bool = False
) -> sp.Expr:
    """Exact Gaussian moment of the averaged EMA (m-bar or v-bar) after ``n`` steps."""

    def statistic(gs):
        sequence = [
            ema_recursion(beta, [x**2 if square else x for x in gs[:k_]]) for k_ in range(1, n + 1)
        ]
        return _average_at(n, sequence, unfold).xreplace(WEIGHT_POINT) ** power

    return moment_at(n, statistic)


QUANTITY_TITLES = {"kappa": "Accumulated decay", "nu": "Integrated squared rate"}


def _exponential_decay(recorder: StepRecorder) -> dict:
    """Step 1: e^{-eta_t lambda_t}, kappa_t, the weighted averages, the split of the RMS."""
    add = recorder.add
    adamw = theta[t - 1] - etas[t] * (u[t] + lams[t] * theta[t - 1])
    adamw_step = add(
        id="adamw_dynamic",
        title="AdamW with scheduled hyperparameters",
        lhs=theta[t],
        rhs=adamw,
        kind=Kind.DEFINITION,
        justification=(
            "As [[weight_rms.adamw_update]], with a learning rate $\\eta_t$ and a weight decay "
            "$\\lambda_t$ that change from step to step (warmup, cosine decay, WSD)."
        ),
        assumptions=(NO_BIAS_CORRECTION, NO_EPSILON),
    )
    shrink = sp.expand(adamw).coeff(theta[t - 1])
    exp_step = sp.exp(shrink - 1) * theta[t - 1] + sp.expand(adamw - shrink * theta[t - 1])
    # One step of decay alone (theta_{t-1} = 1, no update), with eta_t, lambda_t as plain symbols.
    decay_only = {theta[t - 1]: 1, u[t]: 0, etas[t]: eta, lams[t]: lam}
    update_only = {theta[t - 1]: 0}
    decay_step = add(
        id="exp_decay",
        title="One step of decay as an exponential",
        lhs=theta[t],
        rhs=exp_step,
        kind=Kind.APPROXIMATION,
        justification=(
            "In [[adamw_dynamic]] the weights are multiplied by $1 - \\eta_t\\lambda_t$, which "
            "is $e^{-\\eta_t\\lambda_t}$ up to a relative error $(\\eta_t\\lambda_t)^2/2$; the "
            "update term is untouched."
        ),
        limit="\\tfrac12(\\eta_t\\lambda_t)^2 \\ll 1",
        uses=("adamw_dynamic",),
        checks=(
            Given.of(
                SmallParameter,
                exact=LHS,
                approx=RHS,
                small=(eta * lam) ** 2 / 2,
                regime={lam: sp.sqrt(2 * EPSILON) / eta},
                key=f"{NAME}.exp_decay",
                bound=1.1,
                meaning={**_meaning(adamw_step), **decay_only},
                method="decay factor: error <= 1.1 (eta_t lambda_t)^2/2, visible outside (mpmath)",
            ),
            Given.of(
                RewriteToZero,
                lhs=LHS,
                rhs=RHS,
                meaning={**_meaning(adamw_step), **update_only},
                method="update term unchanged (theta_{t-1} = 0)",
            ),
        ),
    )
    kappa_step = add(
        id="kappa_def",
        title="Accumulated decay",
        lhs=kappa(t),
        rhs=sp.Sum(etas[i] * lams[i], (i, 1, t)),
        kind=Kind.DEFINITION,
        justification="The sum of the per-step decays $\\eta_i\\lambda_i$ up to step $t$.",
    )
    # Multiply [[exp_decay]] by e^{kappa_t}: e^{kappa_t} theta_t - e^{kappa_{t-1}} theta_{t-1}
    # is the increment below, and the increments telescope down to theta_0.
    increment = sp.expand(sp.exp(kappa(t)) * (exp_step - sp.exp(shrink - 1) * theta[t - 1]))
    unrolled = sp.exp(-kappa(t)) * (theta[0] + _pull_out(sp.Sum(increment.subs(t, i), (i, 1, t))))
    # kappa_t and kappa_i unfolded by their definition, for the induction.
    unfold_kappa = {kappa(t): kappa_step.rhs, kappa(i): kappa_step.rhs.xreplace({i: k, t: i})}
    unrolled_step = add(
        id="theta_unrolled_dynamic",
        title="Weights as a weighted sum of updates",
        lhs=theta[t],
        rhs=unrolled,
        kind=Kind.APPROXIMATION,
        justification=(
            "Multiply [[exp_decay]] by $e^{\\kappa_t}$ ([[kappa_def]]): the products "
            "$e^{\\kappa_i}\\boldsymbol{\\theta}_i$ telescope down to $\\boldsymbol{\\theta}_0$. "
            "The unrolling of the exponential recursion is exact, but against AdamW "
            "([[adamw_dynamic]]) the errors of [[exp_decay]] accumulate: $e^{-\\kappa_t}$ stands "
            "for $\\prod_i (1 - \\eta_i\\lambda_i) = e^{-\\kappa_t - \\sum_i "
            "(\\eta_i\\lambda_i)^2/2 - \\dots}$, so the small parameter is "
            "$\\sum_i(\\eta_i\\lambda_i)^2/2$ ($\\eta\\lambda\\,\\kappa_t/2$ for constant rates), "
            "which grows with $t$."
        ),
        limit=_DECAY_LIMIT,
        uses=("exp_decay", "kappa_def"),
        checks=(
            Given.of(
                SolvesRecursion,
                LHS,
                RHS,
                decay_step.rhs,
                t,
                start=None,
                base=0,
                meaning=unfold_kappa,
                method="induction on t (base case and inductive step)",
            ),
            # Against AdamW itself at constant rates, no updates: theta_t = (1 - eta lambda)^t
            # theta_0 by [[adamw_dynamic]]; the regime sets t (eta lambda)^2 / 2 to eps.
            Given.of(
                SmallParameter,
                exact=LHS,
                approx=RHS,
                small=t * (eta * lam) ** 2 / 2,
                regime={lam: sp.sqrt(2 * EPSILON / t) / eta},
                key=f"{NAME}.theta_unrolled_dynamic",
                bound=1.1,
                meaning={
                    theta[t]: adamw.xreplace(decay_only) ** t * theta[0],
                    u[i]: 0,
                    **_constant_rates(kappa_step, t),
                    **_constant_rates(kappa_step, i),
                },
                method="against AdamW (constant rates): error <= 1.1 t (eta lambda)^2/2",
            ),
            # The same by iterating [[exp_decay]] from theta_0 (symbolic eta_i, lambda_i, u_i).
            Given.of(
                BruteForce,
                lhs_at=LHS,
                rhs_at=RHS,
                given=unfold_kappa,
                at=_iterated(decay_step),
                meaning={},
                method="brute force: the recursion iterated from theta_0, t = 1..4",
                detail="equal for t = 1..4 (symbolic eta_i, lambda_i, u_i)",
            ),
        ),
    )
    z_step = add(
        id="z_def",
        title="Normaliser of the weights",
        lhs=z_t(t),
        rhs=sp.Sum(_weight(i), (i, 1, t)),
        kind=Kind.DEFINITION,
        justification="The total weight $\\sum_i e^{\\kappa_i}\\eta_i$ of the updates.",
    )
    averages = {}
    for name, vector, bar, what in (
        ("u_bar_def", u, u_bar, "updates"),
        ("m_bar_def", m, m_bar, "first moments"),
        ("v_bar_def", v, v_bar, "second moments"),
    ):
        averages[name] = add(
            id=name,
            title=f"Weighted average of the {what}",
            lhs=bar[t],
            rhs=sp.Sum(_weight(i) * vector[i], (i, 1, t)) / z_t(t),
            kind=Kind.DEFINITION,
            justification=(
                f"The {what} averaged with the weights $e^{{\\kappa_i}}\\eta_i/z_t$ "
                "([[z_def]]), which sum to 1."
            ),
        )
    # The sum in [[theta_unrolled_dynamic]] is z_t times the averaged update: read its sign and
    # factor off the summand, relative to the summand of [[u_bar_def]].
    (unrolled_sum,) = unrolled.atoms(sp.Sum)
    factor = sp.cancel(
        unrolled_sum.function / averages["u_bar_def"].rhs.atoms(sp.Sum).pop().function
    )
    via_u_bar = unrolled.xreplace({unrolled_sum: factor * z_t(t) * u_bar[t]})
    add(
        id="theta_via_u_bar_dynamic",
        title="Weights through the averaged update",
        lhs=theta[t],
        rhs=via_u_bar,
        kind=Kind.APPROXIMATION,
        justification="[[theta_unrolled_dynamic]] written with [[u_bar_def]].",
        limit=_DECAY_LIMIT,
        uses=("theta_unrolled_dynamic", "u_bar_def"),
        checks=(
            Given.of(
                RewriteToZero,
                lhs=LHS,
                rhs=RHS,
                meaning={**_meaning(unrolled_step), **_meaning(averages["u_bar_def"])},
                method="substitute [[theta_unrolled_dynamic]] and [[u_bar_def]]",
            ),
        ),
    )
    # Exact when v_i = V over the window: v-bar is then V (the weights sum to 1) and both sides
    # are the average of m_i / sqrt(V). Adam's update without bias correction and epsilon.
    constant_v = sp.Symbol("V", positive=True)
    adam_update = {u[i]: m[i] / sp.sqrt(v[i])}
    constant_window = {
        u_bar[t]: averages["u_bar_def"].rhs.xreplace(adam_update).xreplace({v[i]: constant_v}),
        **_meaning(averages["m_bar_def"]),
        v_bar[t]: averages["v_bar_def"].rhs.xreplace({v[i]: constant_v}),
        **_meaning(z_step),
    }
    u_bar_mf_step = add(
        id="u_bar_mean_field",
        title="First mean-field step",
        lhs=u_bar[t],
        rhs=m_bar[t] / sp.sqrt(v_bar[t]),
        kind=Kind.APPROXIMATION,
        justification=(
            "With $\\boldsymbol{u}_i = \\boldsymbol{m}_i/\\sqrt{\\boldsymbol{v}_i}$, replace the "
            "average of ratios by the ratio of the averages [[m_bar_def]] and [[v_bar_def]]."
        ),
        assumptions=(AVERAGED_RATIO, NO_BIAS_CORRECTION, NO_EPSILON),
        uses=("u_bar_def", "m_bar_def", "v_bar_def"),
        checks=(
            Given.of(
                BruteForce,
                lhs_at=LHS,
                rhs_at=RHS,
                steps=SHORT_BRUTE_FORCE_STEPS,
                meaning=constant_window,
                method="exact when v_i = V over the window (t = 1..3)",
            ),
        ),
    )
    split_exact = expand_rms2(via_u_bar)
    split = split_exact.subs(S.MeanDot(theta[0], u_bar[t]), 0)
    # Explicit orthogonal coordinates in d = 2: theta_0 = (a, 0), u_bar_t = (0, b).
    a, b = sp.symbols("a b", real=True)
    first = via_u_bar.xreplace({theta[0]: a, u_bar[t]: 0})
    second = via_u_bar.xreplace({theta[0]: 0, u_bar[t]: b})
    orthogonal = {
        RMS2(theta[t]): (first**2 + second**2) / 2,
        RMS2(theta[0]): a**2 / 2,
        RMS2(u_bar[t]): b**2 / 2,
    }
    split_step = add(
        id="theta_rms_split",
        title="Initialisation and averaged update separate",
        lhs=RMS2(theta[t]),
        rhs=split,
        kind=Kind.APPROXIMATION,
        justification=(
            "Take $\\Vert\\cdot\\Vert_{\\mathrm{RMS}}^2$ of [[theta_via_u_bar_dynamic]] with the "
            "initialisation orthogonal to the averaged update."
        ),
        assumptions=(ORTHOGONAL_INIT,),
        uses=("theta_via_u_bar_dynamic",),
        checks=(
            Given.of(
                RewriteToZero,
                lhs=LHS,
                rhs=RHS,
                meaning=orthogonal,
                method="exact on orthogonal coordinates theta_0 = (a, 0), u_bar = (0, b)",
            ),
        ),
    )
    ratio_avg = u_bar_mf_step.rhs
    decoupled = mean_field(E(ratio_avg**2))
    mean_field_step = add(
        id="mean_field_u_bar",
        title="Second mean-field step",
        lhs=E(u_bar[t] ** 2),
        rhs=decoupled,
        kind=Kind.APPROXIMATION,
        justification=(
            "With iid $\\boldsymbol{g}_j \\sim \\mathcal{N}(\\boldsymbol{\\mu}, "
            "\\boldsymbol{\\sigma}^2)$, square [[u_bar_mean_field]] and take the ratio of "
            "expectations."
        ),
        assumptions=(MEAN_FIELD, IID_IN_TIME),
        uses=("u_bar_mean_field",),
        checks=(
            Given.of(
                MeanFieldRewrite,
                lhs=LHS,
                rhs=RHS,
                meaning=_meaning(u_bar_mf_step),
                method="mean-field decoupling of [[u_bar_mean_field]], read off",
            ),
        ),
    )
    return {
        "kappa": kappa_step,
        "z": z_step,
        "averages": averages,
        "split": split_step,
        "mean_field": mean_field_step,
    }


def _iterated(step: Step, steps: int = max(BRUTE_FORCE_STEPS)) -> dict:
    """theta_n for n = 1..steps by iterating the recursion ``step`` from theta_0."""
    values, state = {}, theta[0]
    previous = step.lhs.subs(t, t - 1)
    for n in range(1, steps + 1):
        state = step.rhs.subs(t, n).xreplace({previous.subs(t, n): state})
        values[theta[n]] = state
    return values


def _double_sums(recorder: StepRecorder, found: dict) -> dict:
    """Step 2: m-bar and v-bar as single sums of the gradients with collapsed weights."""
    add = recorder.add
    coefficients, definitions = {}, {}
    for moment, beta, increment_j, bar, bar_fn, vector in (
        ("m", b1, g[j], m_bar, S.Beta1Bar, m),
        ("v", b2, g[j] ** 2, v_bar, S.Beta2Bar, v),
    ):
        # (1/z) sum_i w_i x_i with x_i unrolled: a triangular double sum over j <= i <= t.
        inner = _weight(i) / z_t(t) * (1 - beta) * beta ** (i - j) * increment_j
        swapped = swap_triangular_sum(sp.Sum(inner, (j, 1, i), (i, 1, t)))
        outside, inside = (swapped.function / increment_j).as_independent(i, as_Add=False)
        coefficient = outside * sp.Sum(inside, swapped.limits[0])
        coefficients[moment] = coefficient
        # The moment x_n itself, by iterating its EMA from x_0 = 0 with symbolic gradients.
        iterated = {
            vector[n]: ema_recursion(beta, [x**2 if moment == "v" else x for x in gradients(n)])
            for n in BRUTE_FORCE_STEPS
        }
        add(
            id=f"double_sum_{moment}_dynamic",
            title=f"Collapsing the double sum of {moment}",
            lhs=bar[t],
            rhs=sp.Sum(increment_j * coefficient, (j, 1, t)),
            kind=Kind.IDENTITY,
            justification=(
                f"Insert the unrolled EMA [[weight_rms.{moment}_unrolled]] into "
                f"[[{moment}_bar_def]] and swap the triangular double sum "
                "($\\sum_{i=1}^t\\sum_{j=1}^i = \\sum_{j=1}^t\\sum_{i=j}^t$)."
            ),
            uses=(f"{moment}_bar_def", f"weight_rms.{moment}_unrolled"),
            checks=(
                Given.of(
                    BruteForce,
                    lhs_at=LHS,
                    rhs_at=RHS,
                    given=_meaning(found["averages"][f"{moment}_bar_def"]),
                    at=iterated,
                    meaning={},
                    method=f"brute force: {moment}_i iterated, averaged (symbolic weights, g_j)",
                    detail="equal for t = 1..4 (symbolic weights and gradients)",
                ),
            ),
        )
        definitions[moment] = add(
            id=f"beta{1 if moment == 'm' else 2}_bar_def",
            title=f"Collapsed weight of {'g' if moment == 'm' else 'g^2'}",
            lhs=bar_fn(j, t),
            rhs=coefficient,
            kind=Kind.DEFINITION,
            justification=(
                f"The coefficient of the gradient term in [[double_sum_{moment}_dynamic]]."
            ),
        )
    return {"coefficients": coefficients, "bar_defs": definitions}


def _constant_rates(kappa_step: Step, index: sp.Symbol) -> dict:
    """Constant eta, lambda: eta_index = eta, lambda_index = lambda, and kappa_index from its
    definition [[kappa_def]] (summed: eta lambda index)."""
    summed = kappa_step.rhs.xreplace({etas[i]: eta, lams[i]: lam}).doit()
    return {kappa(index): summed.subs(t, index), etas[index]: eta, lams[index]: lam}


def _start_up_regime(beta: sp.Expr) -> tuple[sp.Expr, dict]:
    """The weight of the start-up steps for constant rates, and the horizon t that sets it to eps.

    With r = e^{eta lambda}, (1/z_t) sum_i r^i beta^i = eps (1 - (r beta)^t) for
    eps = beta (r - 1) / ((1 - r beta)(r^t - 1)); t = log(1 + c/eps)/(eta lambda) reaches a given
    eps (c = beta (r - 1)/(1 - r beta)).
    """
    r = sp.exp(eta * lam)
    c = beta * (r - 1) / (1 - r * beta)
    return c / (r**t - 1), {t: sp.log(1 + c / EPSILON) / (eta * lam)}


def _moments(recorder: StepRecorder, found: dict) -> dict:
    """Step 3: the moments of m-bar and v-bar, and the weight RMS under a schedule."""
    add = recorder.add
    coefficients = found["coefficients"]
    z_step = found["z"]

    def weight_sum(moment: str, beta: sp.Expr) -> sp.Expr:
        """sum_j bar_beta(j, t) = 1 - (1/z) sum_i w_i beta^i (swap back, sum over j)."""
        (outside, series) = coefficients[moment].as_independent(j, as_Add=False)
        # Back to sum_i sum_{j<=i}: the inner sum over j is geometric.
        inside = sp.expand(outside * series.function)
        per_i = sp.expand(geometric_sum(inside, j, 1, i))
        tail = sp.factor(per_i.coeff(beta**i)) * beta**i
        return 1 + _pull_out(sp.Sum(sp.cancel(tail * z_t(t)), (i, 1, t))) / z_t(t)

    unfold = {
        S.Beta2Bar(j, t): coefficients["v"],
        **_meaning(z_step),
    }
    sum_b2_step = add(
        id="sum_beta2_bar",
        title="The collapsed weights nearly sum to 1",
        lhs=sp.Sum(S.Beta2Bar(j, t), (j, 1, t)),
        rhs=weight_sum("v", b2),
        kind=Kind.IDENTITY,
        justification=(
            "Swap the sums of [[beta2_bar_def]] back, sum the geometric series in $j$ and use "
            "[[z_def]]: the weights miss 1 only by the start-up terms $\\beta_2^i$."
        ),
        uses=("beta2_bar_def", "z_def"),
        checks=(
            Given.of(
                BruteForce,
                lhs_at=LHS,
                rhs_at=RHS,
                at=WEIGHT_POINT,
                meaning=unfold,
                method="brute force at t = 1..4 (exact weights)",
                detail="equal for t = 1..4 at exact generic weights",
            ),
        ),
    )
    means = {}
    for moment, beta, bar, first_moment, sum_step, approx_id in (
        ("v", b2, v_bar, mu**2 + sigma**2, sum_b2_step, "mean_v_bar"),
        ("m", b1, m_bar, mu, None, "mean_m_bar_dynamic"),
    ):
        total = sum_step.rhs if sum_step is not None else weight_sum("m", b1)
        exact_id = f"mean_{moment}_bar_exact_dynamic"
        brute = {
            E(bar[n]): _moment_average(n, beta, moment == "v", 1, unfold=True)
            for n in SHORT_BRUTE_FORCE_STEPS
        }
        exact_step = add(
            id=exact_id,
            title=f"Mean of the averaged {'second' if moment == 'v' else 'first'} moment, exact",
            lhs=E(bar[t]),
            rhs=first_moment * total,
            kind=Kind.IDENTITY,
            justification=(
                f"The expectation of [[double_sum_{moment}_dynamic]] with "
                f"$\\mathbb{{E}}[g_j{'^2' if moment == 'v' else ''}] = {sp.latex(first_moment)}$"
                + (
                    " and [[sum_beta2_bar]]."
                    if moment == "v"
                    else ": the weights of [[beta1_bar_def]] summed as in [[sum_beta2_bar]]."
                )
            ),
            assumptions=(IID_IN_TIME,),
            uses=(f"double_sum_{moment}_dynamic", "sum_beta2_bar")
            if moment == "v"
            else ("double_sum_m_dynamic", "beta1_bar_def", "z_def"),
            checks=(
                Given.of(
                    BruteForce,
                    lhs_at=LHS,
                    rhs_at=RHS,
                    steps=SHORT_BRUTE_FORCE_STEPS,
                    given=_meaning(z_step),
                    at={**WEIGHT_POINT, **brute},
                    meaning={},
                    method="exact Gaussian moments of the iterated EMAs, t = 1..3",
                    detail="equal for t = 1..3 at exact generic weights",
                ),
            ),
        )
        # Constant rates: the start-up weight eps in closed form, and the exact mean there.
        small, regime = _start_up_regime(beta)
        constant = {**_constant_rates(found["kappa"], i), **_constant_rates(found["kappa"], t)}
        exact_constant = exact_step.rhs.xreplace(_meaning(z_step)).xreplace(constant)
        exact_constant = exact_constant.replace(
            lambda e: isinstance(e, sp.Sum), lambda e: geometric_sum(e.function, *e.limits[0])
        )
        means[moment] = add(
            id=approx_id,
            title=f"Mean of the averaged {'second' if moment == 'v' else 'first'} moment",
            lhs=E(bar[t]),
            rhs=first_moment,
            kind=Kind.APPROXIMATION,
            justification=(
                f"Drop the start-up terms of [[{exact_id}]]: the share of the total weight "
                f"$z_t$ carried by the first $\\sim 1/(1-\\beta_{1 if moment == 'm' else 2})$ "
                "steps, which is the relative error. For constant $\\eta, \\lambda$ it is "
                f"$\\beta(e^{{\\eta\\lambda}}-1)/((1-\\beta e^{{\\eta\\lambda}})"
                "(e^{\\eta\\lambda t}-1)) \\approx \\frac{\\beta}{1-\\beta}\\,"
                "\\frac{\\eta\\lambda}{e^{\\eta\\lambda t}-1}$, about "
                "$\\beta/((1-\\beta)t)$ while $\\eta\\lambda t \\lesssim 1$: small only "
                "well after the start-up window, $t \\gg 1/(1-\\beta)$."
            ),
            limit=(
                "\\frac{1}{z_t}\\sum_i e^{\\kappa_i}\\eta_i"
                f"\\beta_{1 if moment == 'm' else 2}^{{i}} \\ll 1"
            ),
            uses=(exact_id,),
            checks=(
                Given.of(
                    SmallParameter,
                    exact=LHS,
                    approx=RHS,
                    small=small,
                    regime=regime,
                    key=f"{NAME}.{approx_id}",
                    bound=1.01,  # the error is eps (1 - (r beta)^t) <= eps
                    given={b1: _BETA1, b2: _BETA2, eta: _RATE, lam: _DECAY},
                    samples=1,  # the relative error does not depend on mu, sigma
                    meaning={E(bar[t]): exact_constant},
                    method="start-up weight (constant rates): error <= 1.01 eps, visible outside",
                ),
            ),
        )
    var_brute = {
        Var(m_bar[n]): _moment_average(n, b1, False, 2) - _moment_average(n, b1, False, 1) ** 2
        for n in SHORT_BRUTE_FORCE_STEPS
    }
    var_step = add(
        id="var_m_bar",
        title="Variance of the averaged first moment",
        lhs=Var(m_bar[t]),
        rhs=sigma**2 * sp.Sum(S.Beta1Bar(j, t) ** 2, (j, 1, t)),
        kind=Kind.IDENTITY,
        justification=(
            "[[update_rms.variance_of_sum]] applied to [[double_sum_m_dynamic]]: the $g_j$ are "
            "independent with variance $\\sigma^2$."
        ),
        assumptions=(IID_IN_TIME,),
        uses=("double_sum_m_dynamic", "update_rms.variance_of_sum"),
        checks=(
            Given.of(
                BruteForce,
                lhs_at=LHS,
                rhs_at=RHS,
                steps=SHORT_BRUTE_FORCE_STEPS,
                given=_meaning(found["bar_defs"]["m"]),
                at={**WEIGHT_POINT, **var_brute},
                meaning={},
                method="exact Gaussian moments of the iterated EMA, t = 1..3",
                detail="equal for t = 1..3 at exact generic weights",
            ),
        ),
    )
    mean_field_step = found["mean_field"]
    second_moment = {E(m_bar[t] ** 2): E(m_bar[t]) ** 2 + Var(m_bar[t])}
    moments = {
        **_meaning(means["m"]),
        **_meaning(var_step),
        **_meaning(means["v"]),
    }
    u_bar_sq = mean_field_step.rhs.xreplace(second_moment).xreplace(moments)
    u_bar_sq_step = add(
        id="u_bar_sq",
        title="Mean-field averaged update",
        lhs=E(u_bar[t] ** 2),
        rhs=u_bar_sq,
        kind=Kind.APPROXIMATION,
        justification=(
            "$\\mathbb{E}[\\bar m^2] = \\mathbb{E}[\\bar m]^2 + \\mathbb{V}\\mathrm{ar}[\\bar m]$ "
            "with [[mean_m_bar_dynamic]] and [[var_m_bar]], over [[mean_v_bar]], in "
            "[[mean_field_u_bar]]."
        ),
        limit=_START_UP,
        assumptions=(MEAN_FIELD, IID_IN_TIME),
        uses=("mean_field_u_bar", "mean_m_bar_dynamic", "var_m_bar", "mean_v_bar"),
        checks=(
            Given.of(
                RewriteToZero,
                lhs=LHS,
                rhs=RHS,
                meaning={**_meaning(mean_field_step), **second_moment, **moments},
                method="substitute the moments into [[mean_field_u_bar]]",
            ),
        ),
    )
    averaged = coordinate_average(u_bar_sq_step.rhs)
    u_bar_rms_step = add(
        id="u_bar_rms",
        title="RMS of the averaged update",
        lhs=RMS2(u_bar[t]),
        rhs=in_snr(averaged),
        kind=Kind.APPROXIMATION,
        justification=(
            "Average numerator and denominator of [[u_bar_sq]] over coordinates and divide by "
            "$\\Vert\\boldsymbol{\\sigma}\\Vert^2$."
        ),
        assumptions=(COORDINATE_AVERAGE, SELF_AVERAGING),
        uses=("u_bar_sq",),
        checks=(
            Given.of(
                RewriteToZero,
                lhs=LHS,
                rhs=RHS,
                meaning={RMS2(u_bar[t]): averaged, **SNR_OF_NORMS},
                method="coordinate average of [[u_bar_sq]], in the SNR",
            ),
        ),
    )
    split_step = found["split"]
    theta_rms_step = add(
        id="theta_rms_dynamic",
        title="The weight RMS under a schedule",
        lhs=RMS2(theta[t]),
        rhs=split_step.rhs.xreplace(_meaning(u_bar_rms_step)),
        kind=Kind.APPROXIMATION,
        justification="[[u_bar_rms]] in [[theta_rms_split]].",
        limit=f"{_DECAY_LIMIT},\\ {_START_UP}",
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
            Given.of(
                RewriteToZero,
                lhs=LHS,
                rhs=RHS,
                meaning={**_meaning(split_step), **_meaning(u_bar_rms_step)},
                method="substitute [[u_bar_rms]] into [[theta_rms_split]]",
            ),
        ),
    )
    return {"theta_rms": theta_rms_step}


def _zero_mean(recorder: StepRecorder, found: dict) -> dict:
    """Example 1: mu = 0; without weight decay, the Robbins-Monro condition."""
    add = recorder.add
    beta1_def = found["bar_defs"]["m"]
    theta_rms_step = found["theta_rms"]
    outside_b1, inner_b1 = beta1_def.rhs.as_independent(j, as_Add=False)
    # sum_j bar_beta_1(j, t)^2 with the j-free factor (1 - beta_1)/z_t of the definition outside.
    expanded_squares = outside_b1**2 * sp.Sum(inner_b1**2, (j, 1, t))
    mu0 = theta_rms_step.rhs.subs(snr, 0).xreplace(
        {sp.Sum(S.Beta1Bar(j, t) ** 2, (j, 1, t)): expanded_squares}
    )
    mu0_step = add(
        id="theta_rms_mu0_dynamic",
        title="Zero-mean gradients",
        lhs=RMS2(theta[t]),
        rhs=sp.expand(mu0, mul=True, multinomial=False, power_exp=False, power_base=False),
        kind=Kind.APPROXIMATION,
        label="eq:w-rms-mu0",
        justification=(
            "[[theta_rms_dynamic]] at $\\boldsymbol{\\mu} = 0$ (so $\\mathrm{SNR} = 0$) with "
            "[[beta1_bar_def]] written out: $z_t$ cancels."
        ),
        limit=f"\\boldsymbol{{\\mu}} = 0;\\ {theta_rms_step.limit}",
        uses=("theta_rms_dynamic", "beta1_bar_def"),
        checks=(
            Given.of(
                RewriteToZero,
                lhs=LHS,
                rhs=RHS,
                meaning={
                    RMS2(theta[t]): theta_rms_step.rhs.xreplace({snr: 0}),
                    **_meaning(beta1_def),
                },
                method="[[theta_rms_dynamic]] at SNR = 0, [[beta1_bar_def]] substituted",
            ),
        ),
    )
    # lambda_i = 0: every kappa_i vanishes by its definition [[kappa_def]].
    kappa_zero = found["kappa"].rhs.xreplace({lams[i]: 0}).doit()
    no_decay_map = {kappa(t): kappa_zero, kappa(i): kappa_zero.subs(t, i)}
    no_decay = mu0_step.rhs.xreplace(no_decay_map)
    no_decay_step = add(
        id="theta_rms_no_decay_dynamic",
        title="No weight decay",
        lhs=RMS2(theta[t]),
        rhs=no_decay,
        kind=Kind.APPROXIMATION,
        justification=(
            "[[theta_rms_mu0_dynamic]] with $\\lambda_i = 0$, so every $\\kappa_i = 0$ "
            "([[kappa_def]]): the weight RMS stays bounded only if the learning rates are "
            "square-summable (the Robbins--Monro condition)."
        ),
        limit=f"\\lambda_i = 0,\\ \\boldsymbol{{\\mu}} = 0;\\ {_START_UP}",
        uses=("theta_rms_mu0_dynamic", "kappa_def"),
        checks=(
            # kappa_t, kappa_i unfolded by [[kappa_def]] as sums of eta_k lambda_k, at lambda = 0.
            Given.of(
                RewriteToZero,
                lhs=LHS,
                rhs=RHS,
                meaning={
                    **_meaning(mu0_step),
                    kappa(t): found["kappa"].rhs,
                    kappa(i): found["kappa"].rhs.xreplace({i: k, t: i}),
                    lams[i]: 0,
                    lams[k]: 0,
                },
                method="[[theta_rms_mu0_dynamic]] with [[kappa_def]] at lambda_i = 0",
            ),
        ),
    )
    # beta_1 = 0: of each momentum sum only its first term (i = j, weight beta_1^0 = 1) remains.
    no_momentum = no_decay.replace(
        lambda e: isinstance(e, sp.Sum) and e.limits[0][0] == i,
        lambda e: e.function.subs(i, e.limits[0][1]),
    ).xreplace({b1: 0})
    add(
        id="theta_rms_no_decay_no_momentum",
        title="No weight decay, no momentum",
        lhs=RMS2(theta[t]),
        rhs=no_momentum,
        kind=Kind.APPROXIMATION,
        justification=(
            "[[theta_rms_no_decay_dynamic]] at $\\beta_1 = 0$: only the term $i = j$ of each "
            "momentum sum survives, and the squared weights add up the squared learning rates."
        ),
        limit=f"\\beta_1 = 0,\\ \\lambda_i = 0,\\ \\boldsymbol{{\\mu}} = 0;\\ {_START_UP}",
        uses=("theta_rms_no_decay_dynamic",),
        checks=(
            Given.of(
                BruteForce,
                lhs_at=LHS,
                rhs_at=RHS,
                at={b1: 0},
                meaning=_meaning(no_decay_step),
                method="[[theta_rms_no_decay_dynamic]] at beta_1 = 0, t = 1..4",
            ),
        ),
    )
    _robbins_monro(recorder, no_decay)
    return {"mu0": mu0_step}


def _robbins_monro(recorder: StepRecorder, no_decay: sp.Expr) -> None:
    """Both sides of sum_j (sum_{i>=j} b1^{i-j} eta_i)^2 against sum_j eta_j^2 (example 1).

    Each bound is stated as an exact identity for its gap, with every term of the gap a square
    (or a product of nonnegative factors) times nonnegative powers of beta_1 and 1/(1 - beta_1).
    """
    add = recorder.add
    (momentum_sq,) = [a for a in no_decay.atoms(sp.Sum) if a.limits[0][0] == j]
    momentum = momentum_sq.function.base  # sum_{i=j}^t beta_1^{i-j} eta_i
    lag_weight = momentum.function / etas[i]  # beta_1^{i-j}
    total_weight = 1 / (1 - b1)  # sum_{i>=j} beta_1^{i-j} over an infinite horizon
    squares = sp.Sum(etas[j] ** 2, (j, 1, t))
    # Cauchy-Schwarz with the weights beta_1^{i-j}, as Lagrange's identity: the gap of step j is
    # (1/2) sum_{i,k >= j} beta_1^{i-j} beta_1^{k-j} (eta_i - eta_k)^2. Summed over j with the sum
    # over j innermost: j runs up to min(i, k).
    pair_weight = sp.powsimp(lag_weight * lag_weight.subs(i, k))
    lagrange = (
        sp.Sum(
            sp.Sum((etas[i] - etas[k]) ** 2 * sp.Sum(pair_weight, (j, 1, sp.Min(i, k))), (k, 1, t)),
            (i, 1, t),
        )
        / 2
    )
    # sum_{i=j}^t beta_1^{i-j} falls short of 1/(1 - beta_1) by the tail beyond t, which multiplies
    # the weighted squares of step j; again with the sum over j innermost.
    tail_beyond_t = sp.factor(total_weight - geometric_sum(lag_weight, i, j, t))
    truncation = sp.Sum(
        etas[i] ** 2 * sp.Sum(sp.powsimp(tail_beyond_t * lag_weight), (j, 1, i)), (i, 1, t)
    )
    # Swapping the sums, eta_i^2 carries sum_{j=1}^i beta_1^{i-j}, short of 1/(1 - beta_1) by the
    # tail before step 1.
    tail_before_1 = sp.factor(total_weight - geometric_sum(lag_weight, j, 1, i))
    start_up = _pull_out(sp.Sum(total_weight * tail_before_1 * etas[i] ** 2, (i, 1, t)))
    robbins_monro_beta = ROBBINS_MONRO_POINT
    add(
        id="no_decay_upper_gap",
        title="Square-summable rates bound the momentum sums",
        lhs=total_weight**2 * squares - momentum_sq,
        rhs=start_up + truncation + lagrange,
        kind=Kind.IDENTITY,
        justification=(
            "The sum in [[theta_rms_no_decay_dynamic]] against $(1-\\beta_1)^{-2}\\sum_j "
            "\\eta_j^2$. By Lagrange's identity (Cauchy--Schwarz with the weights "
            "$\\beta_1^{i-j}$), $(\\sum_{i\\ge j}\\beta_1^{i-j}\\eta_i)^2$ is "
            "$\\sum_{i\\ge j}\\beta_1^{i-j}$ times $\\sum_{i\\ge j}\\beta_1^{i-j}\\eta_i^2$ less "
            "half the sum over pairs $i, k \\ge j$ of $\\beta_1^{i-j}\\beta_1^{k-j}"
            "(\\eta_i-\\eta_k)^2$; replacing each finite geometric sum, once at fixed $j$ and "
            "once more after swapping the sums, by $1/(1-\\beta_1)$ adds back its tail. For "
            "$0 \\le \\beta_1 < 1$ every term of the right side is $\\ge 0$ (squares times "
            "nonnegative powers of $\\beta_1$ and of $1/(1-\\beta_1)$: the exponents are $\\ge 0$ "
            "since $j \\le i \\le t$, and $j \\le \\min(i, k)$ in the sum over pairs), for any "
            "real $\\eta_i$: $\\sum_j(\\sum_{i\\ge j}\\beta_1^{i-j}"
            "\\eta_i)^2 \\le (1-\\beta_1)^{-2}\\sum_j\\eta_j^2$."
        ),
        uses=("theta_rms_no_decay_dynamic",),
        checks=(
            Given.of(
                BruteForce,
                lhs_at=LHS,
                rhs_at=RHS,
                at=robbins_monro_beta,
                meaning={},
                method="both sides summed out, t = 1..4",
                detail="equal for t = 1..4 (symbolic eta_i, a generic beta_1)",
            ),
        ),
    )
    # The lower bound: the i = j term of each momentum sum is eta_j itself; the rest, r_j, is a sum
    # of nonnegative terms when the rates are.
    rest = sp.Sum(momentum.function, (i, j + 1, t))
    add(
        id="no_decay_lower_gap",
        title="Without weight decay: bounded iff the rates are square-summable",
        lhs=momentum_sq - squares,
        rhs=sp.Sum(rest * (2 * etas[j] + rest), (j, 1, t)),
        kind=Kind.IDENTITY,
        justification=(
            "Split the term $i = j$, which is $\\eta_j$, off each momentum sum of "
            "[[theta_rms_no_decay_dynamic]] and expand the square. With $\\eta_i \\ge 0$ the "
            "right side is $\\ge 0$, so with [[no_decay_upper_gap]] $(1-\\beta_1)^2\\sum_j"
            "\\eta_j^2 \\le (1-\\beta_1)^2\\sum_j(\\sum_{i\\ge j}\\beta_1^{i-j}\\eta_i)^2 \\le "
            "\\sum_j\\eta_j^2$ for every $t$ and every $0 \\le \\beta_1 < 1$: without weight "
            "decay, the weight RMS stays bounded as $t \\to \\infty$ if and only if "
            "$\\sum_j\\eta_j^2 < \\infty$ (the Robbins--Monro condition)."
        ),
        uses=("theta_rms_no_decay_dynamic", "no_decay_upper_gap"),
        checks=(
            Given.of(
                BruteForce,
                lhs_at=LHS,
                rhs_at=RHS,
                at=robbins_monro_beta,
                meaning={},
                method="both sides summed out, t = 1..4",
                detail="equal for t = 1..4 (symbolic eta_i, a generic beta_1)",
            ),
        ),
    )


def _series(recorder: StepRecorder, found: dict) -> dict:
    """Example 2: the slowly varying weights, the series, constant hyperparameters, part 1."""
    add = recorder.add
    mu0_step = found["mu0"]
    kappa_step = found["kappa"]
    # Constant weight decay: kappa_t = lambda sum_i eta_i, by [[kappa_def]].
    add(
        id="kappa_constant_decay",
        title="Accumulated decay with a constant weight decay",
        lhs=kappa(t),
        rhs=lam * _pull_out(kappa_step.rhs.xreplace({lams[i]: 1})),
        kind=Kind.IDENTITY,
        justification=(
            "[[kappa_def]] with $\\lambda_i = \\lambda$: forgetting $\\boldsymbol{\\theta}_0$ "
            "($\\kappa_t \\to \\infty$) then needs $\\sum_i \\eta_i = \\infty$, the other "
            "Robbins--Monro condition."
        ),
        uses=("kappa_def",),
        checks=(
            Given.of(
                RewriteToZero,
                lhs=LHS,
                rhs=RHS,
                meaning={**_meaning(kappa_step), lams[i]: lam},
                method="[[kappa_def]] at lambda_i = lambda",
            ),
        ),
    )
    (inner_sum,) = [a for a in mu0_step.rhs.atoms(sp.Sum) if a.limits[0][0] == i]
    frozen_inner = inner_sum.function.xreplace({kappa(i): kappa(j), etas[i]: etas[j]})
    outside_i, beta_part = frozen_inner.as_independent(i, as_Add=False)
    beta1_t = S.beta1_pow_t
    tail_sum = freeze_powers(geometric_sum(beta_part, i, j, t), {b1**t: beta1_t})
    slow = outside_i * limit(tail_sum, beta1_t, 0, "+")
    # Constant rates, r = e^{eta lambda}: the momentum sum over the window is exactly
    # eta r^j (1 - (r beta_1)^{t-j+1})/(1 - r beta_1) against eta r^j/(1 - beta_1): relative error
    # beta_1 (r - 1)/(1 - r beta_1) (growth of the weights over the window) less the truncation
    # (r beta_1)^{t-j+1}. The regime sets the first to eps and t - j so that beta_1^{t-j} <= eps.
    growth = b1 * (sp.exp(eta * lam) - 1) / (1 - b1 * sp.exp(eta * lam))
    growth_regime = {
        lam: sp.log((EPSILON + b1) / (b1 * (1 + EPSILON))) / eta,
        t: j + sp.ceiling(sp.log(EPSILON) / sp.log(b1)),
    }
    constant_ij = {**_constant_rates(kappa_step, i), **_constant_rates(kappa_step, j)}
    slow_step = add(
        id="inner_sum_slow",
        title="Slowly varying weights inside the momentum sum",
        lhs=inner_sum,
        rhs=slow,
        kind=Kind.APPROXIMATION,
        justification=(
            "In [[theta_rms_mu0_dynamic]] the factor $e^{\\kappa_i}\\eta_i$ varies slowly next "
            "to the decay $\\beta_1^{i-j}$: freeze it at $i = j$ and sum the geometric series to "
            "infinity. For constant $\\eta, \\lambda$ the relative error is "
            "$\\beta_1(e^{\\eta\\lambda}-1)/(1-\\beta_1 e^{\\eta\\lambda}) \\approx "
            "\\frac{\\beta_1}{1-\\beta_1}\\eta\\lambda$ (the growth of the weights over the "
            "momentum window), less the truncated tail $(\\beta_1 e^{\\eta\\lambda})^{t-j+1}$."
        ),
        limit=(
            "\\frac{\\beta_1}{1-\\beta_1}\\eta_i\\lambda_i \\ll 1,\\ \\eta_i \\text{ nearly "
            "constant over } 1/(1-\\beta_1) \\text{ steps},\\ \\beta_1^{t-j} \\ll 1"
        ),
        uses=("theta_rms_mu0_dynamic",),
        checks=(
            Given.of(
                SmallParameter,
                exact=LHS,
                approx=RHS,
                small=growth,
                regime=growth_regime,
                key=f"{NAME}.inner_sum_slow",
                bound=1.1,
                given={b1: _BETA1},
                meaning=constant_ij,
                method="window growth (constant rates): error <= 1.1 eps, visible outside",
            ),
        ),
    )
    series = mu0_step.rhs.xreplace({inner_sum: slow})
    series = series.replace(
        lambda e: isinstance(e, sp.Sum) and e.limits[0][0] == j,
        lambda e: _pull_out(sp.Sum(sp.powsimp(sp.expand_power_base(e.function)), *e.limits)),
    )
    series_step = add(
        id="theta_rms_series",
        title="The series approximation",
        lhs=RMS2(theta[t]),
        rhs=series,
        kind=Kind.APPROXIMATION,
        label="eq:w-rms-simp",
        justification=(
            "[[inner_sum_slow]] in [[theta_rms_mu0_dynamic]]: the factor $(1-\\beta_1)^2$ cancels."
        ),
        limit=slow_step.limit,
        uses=("theta_rms_mu0_dynamic", "inner_sum_slow"),
        checks=(
            Given.of(
                RewriteToZero,
                lhs=LHS,
                rhs=RHS,
                meaning={**_meaning(mu0_step), **_meaning(slow_step)},
                method="substitute [[inner_sum_slow]] into [[theta_rms_mu0_dynamic]]",
            ),
        ),
    )
    constant_map = {**_constant_rates(kappa_step, t), **_constant_rates(kappa_step, j)}
    series_constant_terms = series.xreplace(constant_map)
    (series_sum,) = series_constant_terms.atoms(sp.Sum)
    closed = geometric_sum(series_sum.function, j, 1, t)
    series_constant = series_constant_terms.xreplace({series_sum: closed})
    # The source's grouping: e^{2 eta lam} (1 - e^{-2 eta lam t}) eta^2 / (e^{2 eta lam} - 1).
    initial = series_constant.coeff(rho0) * rho0
    ratio = sp.exp(2 * eta * lam)
    spread = sp.expand(sp.powsimp(sp.cancel((series_constant - initial) * (ratio - 1) / ratio)))
    series_constant = initial + ratio * sp.factor_terms(spread) / (ratio - 1)
    # Exact check in r = e^{2 eta lambda}: every exponential becomes a power of r.
    ratio_base = sp.Symbol("r", positive=True)
    as_powers = {
        a: ratio_base ** sp.cancel(a.args[0] / (2 * eta * lam))
        for form in (series_constant, prefer_one_minus(series_constant), series_constant_terms)
        for a in form.atoms(sp.exp)
    }
    constant_step = add(
        id="theta_rms_series_constant",
        title="Constant hyperparameters: the exact geometric sum",
        lhs=RMS2(theta[t]),
        rhs=series_constant,
        kind=Kind.APPROXIMATION,
        justification=(
            "[[theta_rms_series]] with constant $\\eta, \\lambda$, so $\\kappa_j = \\lambda\\eta "
            "j$ ([[kappa_def]]); the sum is geometric."
        ),
        limit=f"{slow_step.limit}\\ \\text{{(the sum itself is exact)}}",
        uses=("theta_rms_series", "kappa_def"),
        checks=(
            Given.of(
                BruteForce,
                lhs_at=LHS,
                rhs_at=RHS,
                meaning={
                    RMS2(theta[t]): series_step.rhs.xreplace(constant_map).xreplace(as_powers),
                    **as_powers,
                },
                method="both sides summed out in r = e^{2 eta lambda}, t = 1..4",
            ),
        ),
    )
    # The geometric prefactor e^{2 eta lambda} eta^2 / (e^{2 eta lambda} - 1), to leading order.
    free_part = sp.expand(series_constant - series_constant.coeff(rho0) * rho0)
    leading = sp.limit(sp.factor(free_part) / eta / (1 - sp.exp(-2 * eta * lam * t)), eta, 0) * eta
    reduced = series_constant.coeff(rho0) * rho0 + (1 - sp.exp(-2 * eta * lam * t)) * leading
    part1_step = derivation("weight_rms").step("theta_rms_mu0")
    # Part 1's decay factor is beta_3 = 1 - eta lambda (its definition in weight_rms).
    part1 = part1_step.rhs.subs(S.beta3, 1 - eta * lam)
    per_step = dict(small=eta * lam, regime={lam: EPSILON / eta}, given={rho0: 0})
    add(
        id="series_reduces_to_part1",
        title="Back to constant hyperparameters (part 1)",
        lhs=RMS2(theta[t]),
        rhs=reduced,
        kind=Kind.APPROXIMATION,
        justification=(
            "Leading order of [[theta_rms_series_constant]] in $\\eta\\lambda$: the factor "
            "$2\\eta\\lambda e^{2\\eta\\lambda}/(e^{2\\eta\\lambda}-1) = 1 + \\eta\\lambda + "
            "O((\\eta\\lambda)^2)$ is dropped; this is part 1's [[weight_rms.theta_rms_mu0]] "
            "with $\\beta_3 = 1 - \\eta\\lambda \\approx e^{-\\eta\\lambda}$, to the same order."
        ),
        limit="\\eta\\lambda \\ll 1",
        uses=("theta_rms_series_constant", "weight_rms.theta_rms_mu0"),
        checks=(
            Given.of(
                SmallParameter,
                exact=LHS,
                approx=RHS,
                key=f"{NAME}.series_reduces_to_part1",
                bound=1.1,
                **per_step,
                meaning=_meaning(constant_step),
                method="against [[theta_rms_series_constant]]: error <= 1.1 eta lambda (mpmath)",
            ),
            # Part 1 is another approximation of the same quantity: agreement to leading order.
            LimitRatio(
                LHS,
                RHS,
                ((eta, 0, "+"),),
                f"{NAME}.series_reduces_to_part1.part1",
                given={RMS2(theta[t]): part1},
                method="ratio to part 1 (beta_3 = 1 - eta lambda) -> 1 as eta lambda -> 0",
            ),
        ),
    )
    return {"series": series_step}


def _differential_equation(recorder: StepRecorder, found: dict) -> dict:
    """The integral form, rho_t and its ODE, the limit of rho_t."""
    add = recorder.add
    series_step, kappa_step = found["series"], found["kappa"]
    kappa_integral_step = add(
        id="kappa_integral",
        title="Accumulated decay in continuous time",
        lhs=kappa(t),
        rhs=sp.Integral(lams[s] * etas[s], (s, 0, t)),
        kind=Kind.DEFINITION,
        justification="[[kappa_def]] with the sum over steps replaced by an integral over time.",
    )
    (series_sum,) = series_step.rhs.atoms(sp.Sum)
    integral = sp.Integral(series_sum.function.subs(j, s), (s, 0, t))
    integral_form = series_step.rhs.xreplace({series_sum: integral})
    # Constant rates: the series is summed exactly (mpmath, finite t), the integral by quadrature.
    constant_series = {
        **_constant_rates(kappa_step, t),
        **_constant_rates(kappa_step, j),
        **_constant_rates(kappa_step, s),
    }
    integral_step = add(
        id="theta_rms_integral",
        title="The integral form",
        lhs=RMS2(theta[t]),
        rhs=integral_form,
        kind=Kind.APPROXIMATION,
        label="eq:w-rms-int",
        justification=(
            "Replace the sum over steps in [[theta_rms_series]] by an integral, with "
            "[[kappa_integral]]. The summand $e^{2\\kappa_j}\\eta_j^2$ changes by a factor "
            "$e^{2\\eta_j\\lambda_j}$ per step: for constant $\\eta, \\lambda$ the sum is "
            "$2\\eta\\lambda e^{2\\eta\\lambda}/(e^{2\\eta\\lambda}-1) = 1 + \\eta\\lambda + "
            "\\dots$ times the integral, so the small parameter is one step relative to the "
            "time scale $1/(\\eta\\lambda)$ of the decay (and of the schedule)."
        ),
        limit=(
            "\\eta_s\\lambda_s \\ll 1,\\ \\eta_s, \\lambda_s \\text{ nearly constant over one step}"
        ),
        uses=("theta_rms_series", "kappa_integral"),
        checks=(
            Given.of(
                SmallParameter,
                exact=LHS,
                approx=RHS,
                small=eta * lam,
                regime={lam: EPSILON / eta},
                key=f"{NAME}.theta_rms_integral",
                bound=1.1,
                given={rho0: 0},
                meaning={**_meaning(series_step), **constant_series},
                method="step / time scale (constant rates): error <= 1.1 eta lambda (mpmath)",
            ),
        ),
    )
    rho_def_step = add(
        id="rho_def",
        title="The squared RMS as a function of time",
        lhs=S.Rho(t),
        rhs=integral_form,
        kind=Kind.DEFINITION,
        justification="The right side of [[theta_rms_integral]].",
    )
    derivative = sp.diff(integral_form, t).subs(sp.Derivative(kappa(t), t), lams[t] * etas[t])
    slope = sp.cancel(sp.expand(derivative).coeff(rho0) / sp.expand(integral_form).coeff(rho0))
    source_term = sp.expand(derivative - slope * integral_form)
    ode = slope * S.Rho(t) + source_term
    # A concrete family where everything integrates: eta_s = a (1 + s), lambda_s eta_s =
    # 1/(2 (1 + s)), so kappa_s = log(1 + s)/2 by [[kappa_integral]] and e^{2 kappa_s} = 1 + s.
    a = sp.Symbol("a", positive=True)
    family = {etas[s]: a * (1 + s), lams[s]: 1 / (2 * a * (1 + s) ** 2)}
    kappa_family = kappa_integral_step.rhs.xreplace(family).doit()
    family_t = {etas[t]: family[etas[s]].subs(s, t), lams[t]: family[lams[s]].subs(s, t)}
    rho_family = rho_def_step.rhs.xreplace(
        {kappa(t): kappa_family, kappa(s): kappa_family.subs(t, s), **family}
    )
    add(
        id="rho_ode",
        title="The differential equation",
        lhs=sp.Derivative(S.Rho(t), t),
        rhs=ode,
        kind=Kind.IDENTITY,
        justification=(
            "Differentiate [[rho_def]] in $t$ with $d\\kappa_t/dt = \\lambda_t\\eta_t$ "
            "([[kappa_integral]]); the result is linear in $\\rho_t$."
        ),
        uses=("rho_def", "kappa_integral"),
        checks=(
            Given.of(
                RewriteToZero,
                lhs=LHS,
                rhs=RHS,
                meaning={S.Rho(t): rho_family, **family_t},
                doit=True,
                method="on eta_s = a(1+s), lambda_s eta_s = 1/(2(1+s)): rho_t integrated, "
                "differentiated",
            ),
        ),
    )
    integral_constant = sp.integrate(integral.function.xreplace(constant_series), (s, 0, t))
    rho_constant = integral_form.xreplace({integral: integral_constant, **constant_series})
    add(
        id="rho_limit",
        title="Where the weight RMS settles",
        lhs=S.Rho(t),
        rhs=sp.solve(ode.xreplace(constant_series), S.Rho(t))[0],
        kind=Kind.APPROXIMATION,
        justification=(
            "If $\\rho_t$ converges, $d\\rho_t/dt \\to 0$ in [[rho_ode]]: "
            "$\\rho_\\infty = \\lim \\eta_t/(2\\lambda_t)$; so a learning rate decayed to 0 "
            "lets the weights collapse unless $\\lambda_t \\propto \\eta_t$. Checked here for "
            "constant $\\eta, \\lambda$, against [[rho_def]] integrated exactly."
        ),
        limit="t \\to \\infty\\ (\\kappa_t \\to \\infty)",
        uses=("rho_ode",),
        checks=(
            Given.of(
                LimitValue,
                expr=LHS,
                value=RHS,
                variable=t,
                point=sp.oo,
                key=f"{NAME}.rho_limit",
                meaning={S.Rho(t): rho_constant},
                method="limit t -> oo of [[rho_def]] at constant eta, lambda",
            ),
        ),
    )
    return {
        "family": {
            kappa(t): kappa_family,
            kappa(s): kappa_family.subs(t, s),
            **family,
        },
        "integral": integral_step,
        "kappa_integral": kappa_integral_step,
        "rho_def": rho_def_step,
        "rho_constant": rho_constant,
        "constant_series": constant_series,
    }


def _linear_rate(end: sp.Expr = t) -> sp.Expr:
    """A linear ramp from eta_a at s = 0 to eta_b at s = ``end``."""
    return S.eta_a + (S.eta_b - S.eta_a) * s / end


def _single_epoch(recorder: StepRecorder, found: dict) -> dict:
    """The mean-field single-epoch formula: eta_s^2 by its mean, kappa_s by a straight line."""
    add = recorder.add
    integral_step, kappa_integral_step = found["integral"], found["kappa_integral"]
    nu_step = add(
        id="nu_def",
        title="Integrated squared learning rate",
        lhs=S.Nu(t),
        rhs=sp.Integral(etas[s] ** 2, (s, 0, t)),
        kind=Kind.DEFINITION,
        justification="The total of $\\eta_s^2$ over the run.",
    )
    (integral,) = integral_step.rhs.atoms(sp.Integral)
    _bounds(recorder, integral_step, nu_step, found["family"])
    kappa_end = sp.Dummy("kappa_t", positive=True)
    mean_field_integrand = integral.function.xreplace(
        {etas[s] ** 2: S.Nu(t) / t, kappa(s): kappa_end * s / t}
    )
    mean_field_integral = sp.integrate(mean_field_integrand, (s, 0, t)).xreplace(
        {kappa_end: kappa(t)}
    )
    single = sp.expand(integral_step.rhs.xreplace({integral: mean_field_integral}))
    # The source's grouping: (1 - e^{-2 kappa_t}) nu_t / (2 kappa_t).
    scale = S.Nu(t) / (2 * kappa(t))
    spread = sp.expand(sp.cancel((single - single.coeff(rho0) * rho0) / scale))
    single_epoch = single.coeff(rho0) * rho0 + spread * scale
    # Constant rates: kappa_t and nu_t from their definitions, rho_t integrated exactly.
    constant = {lams[s]: lam, etas[s]: eta}
    at_constant = {
        RMS2(theta[t]): found["rho_constant"],
        kappa(t): kappa_integral_step.rhs.xreplace(constant).doit(),
        S.Nu(t): nu_step.rhs.xreplace(constant).doit(),
    }
    # A linear ramp (decaying tenfold): kappa_s, kappa_t and nu_t from their definitions; the
    # integral of [[theta_rms_integral]] stays an integral (mpmath quadrature).
    x = sp.Dummy("x", positive=True)
    ramp = {lams[s]: lam, etas[s]: _linear_rate()}
    kappa_ramp = sp.integrate(kappa_integral_step.rhs.function.xreplace(ramp), (s, 0, x))
    on_ramp = {
        RMS2(theta[t]): integral_step.rhs.xreplace(
            {kappa(t): kappa_ramp.subs(x, t), kappa(s): kappa_ramp.subs(x, s), **ramp}
        ),
        kappa(t): kappa_ramp.subs(x, t),
        S.Nu(t): nu_step.rhs.xreplace(ramp).doit(),
    }
    add(
        id="single_epoch",
        title="Single-epoch mean field",
        lhs=RMS2(theta[t]),
        rhs=single_epoch,
        kind=Kind.APPROXIMATION,
        justification=(
            "In [[theta_rms_integral]] replace $\\eta_s^2$ by its mean $\\nu_t/t$ "
            "([[nu_def]]) and $\\kappa_s$ by the straight line $\\kappa_t s/t$, then integrate. "
            "Exact for constant $\\eta, \\lambda$; otherwise it drops the correlation of "
            "$\\eta_s^2$ with $e^{2\\kappa_s}$ and the curvature of $\\kappa_s$, an error of "
            "order $\\kappa_t$ times the spread of the schedule: small for $\\kappa_t \\ll 1$ "
            "or a nearly constant schedule, of order one for $\\kappa_t = \\Theta(1)$ and a "
            "decaying schedule (the single-epoch regime the source has in mind)."
        ),
        limit="\\kappa_t \\times \\text{(relative spread of } \\eta_s^2) \\ll 1",
        uses=("theta_rms_integral", "nu_def"),
        checks=(
            Given.of(
                RewriteToZero,
                lhs=LHS,
                rhs=RHS,
                meaning=at_constant,
                method="exact for constant eta, lambda ([[rho_def]] integrated)",
            ),
            Given.of(
                SmallParameter,
                exact=LHS,
                approx=RHS,
                small=lam * (S.eta_a + S.eta_b) * t / 2,
                regime={lam: 2 * EPSILON / ((S.eta_a + S.eta_b) * t)},
                key=f"{NAME}.single_epoch",
                bound=0.25,  # about 0.19 for this schedule
                outside=sp.Integer(2),
                samples=1,  # the error depends on the shape and kappa_t only
                given={
                    rho0: 0,
                    **SINGLE_EPOCH_SCHEDULE,
                },
                meaning=on_ramp,
                method="linear decay 1e-3 -> 1e-4: error <= 0.25 kappa_t, visible at kappa_t = 2",
            ),
        ),
    )
    return {"nu_def": nu_step}


def _bounds(recorder: StepRecorder, integral_step: Step, nu_step: Step, family: dict) -> None:
    """e^{-2 kappa_t} nu_t <= the noise part of [[theta_rms_integral]] <= nu_t, as identities for
    the two gaps, each the integral of a nonnegative function when 0 <= kappa_s <= kappa_t."""
    (integral,) = integral_step.rhs.atoms(sp.Integral)
    decay_t = integral_step.rhs.coeff(rho0)
    noise = sp.expand(integral_step.rhs - decay_t * rho0)
    (squared_rate,) = nu_step.rhs.atoms(sp.Integral)
    (variable, lower, upper) = integral.limits[0]
    # Linearity of the integral over the same interval: one integrand for each gap.
    for name, title, lhs, integrand, reason in (
        (
            "noise_lower_gap",
            "Lower bound on the noise integral",
            noise - decay_t * nu_step.lhs,
            decay_t * (integral.function - squared_rate.function),
            "$e^{2\\kappa_s} \\ge 1$",
        ),
        (
            "noise_upper_gap",
            "Upper bound on the noise integral",
            nu_step.lhs - noise,
            sp.expand(squared_rate.function - decay_t * integral.function),
            "$e^{-2(\\kappa_t - \\kappa_s)} \\le 1$",
        ),
    ):
        recorder.add(
            id=name,
            title=title,
            lhs=lhs,
            rhs=sp.Integral(sp.factor_terms(sp.powsimp(integrand)), (variable, lower, upper)),
            kind=Kind.IDENTITY,
            justification=(
                "The source bounds the integral of [[theta_rms_integral]] by "
                "$e^{-2\\kappa_t}\\nu_t \\le e^{-2\\kappa_t}\\int_0^t e^{2\\kappa_s}"
                "\\eta_s^2\\,ds \\le \\nu_t$ ([[nu_def]]). The gap is one integral, whose "
                f"integrand is $\\ge 0$ since {reason} for $0 \\le \\kappa_s \\le \\kappa_t$ "
                "($\\eta_s\\lambda_s \\ge 0$)."
            ),
            uses=("theta_rms_integral", "nu_def"),
            checks=(
                Given.of(
                    RewriteToZero,
                    lhs=LHS,
                    rhs=RHS,
                    meaning={**family, **_meaning(nu_step)},
                    doit=True,
                    method="on eta_s = a(1+s), lambda_s eta_s = 1/(2(1+s)): integrated",
                ),
            ),
        )


def _schedules(recorder: StepRecorder, found: dict) -> dict:
    """Example 3: kappa_t and nu_t of the linear, cosine and WSD schedules."""
    emin, emax, ta, tb = S.eta_min, S.eta_max, S.t1, S.t2
    schedules = {
        "linear": ([(_linear_rate(), 0, t)], "a linear ramp from $\\eta_a$ to $\\eta_b$"),
        "cosine": (
            [(emin + (emax - emin) * (sp.Rational(1, 2) + sp.cos(s * sp.pi / t) / 2), 0, t)],
            "cosine decay from $\\eta_{\\max}$ to $\\eta_{\\min}$",
        ),
        "wsd": (
            [(s / ta * emax, 0, ta), (emax, ta, tb), ((t - s) / (t - tb) * emax, tb, t)],
            "WSD: linear warmup to $t_1$, stable to $t_2$, linear decay to 0 at $t$",
        ),
    }
    definitions = {"kappa": found["kappa_integral"], "nu": found["nu_def"]}
    for name, (pieces, description) in schedules.items():
        for quantity, uses in (("kappa", "kappa_integral"), ("nu", "nu_def")):
            definition = definitions[quantity]
            # The definition's integrand on each piece of the schedule (constant lambda).
            integrands = [
                (definition.rhs.function.xreplace({lams[s]: lam, etas[s]: p}), a, b_)
                for p, a, b_ in pieces
            ]
            value = sp.factor(
                sum(sp.integrate(sp.expand(f), (s, a, b_)) for f, a, b_ in integrands)
            )
            by_pieces = sum(sp.Integral(f, (s, a, b_)) for f, a, b_ in integrands)
            recorder.add(
                id=f"{quantity}_{name}",
                title=f"{QUANTITY_TITLES[quantity]}, {'WSD' if name == 'wsd' else name} schedule",
                lhs=definition.lhs,
                rhs=value,
                kind=Kind.IDENTITY,
                justification=(
                    f"[[{uses}]] for {description}, with constant $\\lambda$, integrated piece "
                    "by piece."
                ),
                uses=(uses,),
                checks=(
                    Given.of(
                        Quadrature,
                        expr=LHS / RHS,
                        reference=_one,
                        points=_SCHEDULE_POINTS,
                        meaning={definition.lhs: by_pieces},
                        method=f"[[{uses}]] by mpmath quadrature, piece by piece",
                        detail="agrees to 1e-12 at the source's run and a short warmup-heavy one",
                    ),
                ),
            )
    return {"linear": schedules["linear"][0][0][0]}


def _linear_exact(recorder: StepRecorder, found: dict) -> None:
    """Beyond the source: [[rho_def]] in closed form (erfi) on a linear schedule."""
    # With eta_s linear and lambda constant, kappa_s is quadratic in s and [[rho_def]]'s integral
    # is Gaussian. SymPy does not finish the integral in s (not in 5 min); in y = sqrt(c) eta_s
    # with c = lambda t / (eta_b - eta_a) it is e^{-c eta_a^2} / (lambda sqrt(c)) int y^2 e^{y^2}.
    ea, eb = S.eta_a, S.eta_b
    rho_def_step, kappa_integral_step = found["rho_def"], found["kappa_integral"]
    (integral,) = rho_def_step.rhs.atoms(sp.Integral)
    eta_linear = found["linear"]
    rate = sp.Dummy("c", positive=True)  # positive for a rising schedule; see the justification
    y, end = sp.Dummy("y", positive=True), sp.Dummy("s_end", positive=True)
    to_rate = {t: rate * (eb - ea) / lam}
    ramp = {lams[s]: lam, etas[s]: eta_linear}
    kappa_s = sp.integrate(sp.expand(kappa_integral_step.rhs.function.xreplace(ramp)), (s, 0, end))
    (s_of_y,) = sp.solve(sp.sqrt(rate) * eta_linear.xreplace(to_rate) - y, s)
    in_y = integral.function.xreplace({kappa(s): kappa_s.subs(end, s), etas[s]: eta_linear})
    in_y = in_y.xreplace(to_rate).subs(s, s_of_y) * sp.diff(s_of_y, y)

    def tidy_exponents(expr: sp.Expr, collect_in: sp.Symbol | None = None) -> sp.Expr:
        return sp.powsimp(sp.expand(expr)).replace(
            lambda e: isinstance(e, sp.exp),
            lambda e: sp.exp(
                sp.collect(sp.expand(e.args[0]), collect_in, sp.factor)
                if collect_in is not None
                else sp.factor(e.args[0])
            ),
        )

    outside, gaussian = sp.expand_power_exp(tidy_exponents(in_y, y)).as_independent(y, as_Add=False)
    # The manual integrator is the fastest here; its erfc(i y) + constant is y e^{y^2}/2 -
    # sqrt(pi) erfi(y)/4 up to a constant, which cancels between the limits.
    primitive = sp.expand(sp.integrate(gaussian, y, manual=True).rewrite(sp.erfi))
    lower, upper = (sp.sqrt(rate) * eta_linear.subs(s, x) for x in (0, t))
    decay_t = sp.exp(-2 * kappa_s.subs(end, t)).xreplace(to_rate)
    noise = decay_t * outside * (primitive.subs(y, upper) - primitive.subs(y, lower))
    noise = tidy_exponents(tidy_exponents(noise).xreplace({rate: lam * t / (eb - ea)}))
    initial = sp.exp(sp.factor(-2 * kappa_s.subs(end, t))) * rho0
    # Grouped as initial + (eta_b - eta_a e^{-2 kappa_t} + erfi part) / (2 lambda).
    spread = sp.expand(2 * lam * noise)
    erfi_part = sp.Add(*(term for term in spread.args if term.has(sp.erfi)))
    spread = sp.powsimp(spread - erfi_part) + sp.factor_terms(erfi_part)
    linear_exact = initial + spread / (2 * lam)
    # The left side: [[rho_def]] on the ramp, its integral left to mpmath quadrature.
    on_ramp = {
        S.Rho(t): rho_def_step.rhs.xreplace(
            {kappa(t): kappa_s.subs(end, t), kappa(s): kappa_s.subs(end, s), **ramp}
        )
    }
    # At eta_b = eta_a the formula is undefined (c = oo); SymPy's limit eta_b -> eta_a takes
    # ~2.5 s, so it is checked numerically just above eta_a (just below, erf cancels
    # catastrophically), against the exact rho_t of constant rates.
    near_points = tuple(
        {ea: p[ea], eb: p[ea] * NEAR_ONE, lam: p[lam], t: p[t], rho0: p[rho0]}
        for p in (*_LINEAR_DECAY_POINTS[:1], *_LINEAR_RISE_POINTS)
    )
    recorder.add(
        id="rho_linear_exact",
        title="Exact integral form, linear schedule",
        lhs=S.Rho(t),
        rhs=linear_exact,
        kind=Kind.IDENTITY,
        justification=(
            "[[rho_def]] for a linear ramp from $\\eta_a$ to $\\eta_b$ with constant $\\lambda$ "
            "(not in the source): by [[kappa_integral]] $\\kappa_s$ is quadratic in $s$, and with "
            "$y = \\sqrt{c}\\,\\eta_s$, $c = \\lambda t/(\\eta_b - \\eta_a)$, the integral is "
            "$\\int y^2 e^{y^2} dy$, a Gaussian integral (imaginary error function "
            "$\\operatorname{erfi}$). Derived for a rising schedule ($c > 0$); as "
            "$\\operatorname{erfi}(\\sqrt{c}\\,x)/\\sqrt{c}$ is an entire function of $c$, the "
            "same formula holds for a decaying one, where it reads "
            "$\\operatorname{erf}(\\sqrt{-c}\\,x)/\\sqrt{-c}$."
        ),
        uses=("rho_def", "kappa_integral"),
        checks=(
            Given.of(
                Quadrature,
                expr=LHS / RHS,
                reference=_one,
                points=_LINEAR_RISE_POINTS,
                meaning=on_ramp,
                method="[[rho_def]] by mpmath quadrature (rising schedules)",
                detail="agrees to 1e-12 at two rising schedules",
            ),
            # Decaying: sqrt(c) is imaginary, so mpmath computes in complex numbers. The complex
            # distance |formula/quadrature - 1| must vanish: the real part must match and the
            # imaginary part must be 0, each on its own (one quadrature per point for both).
            Given.of(
                Quadrature,
                expr=_MODULUS(RHS / LHS - 1),
                reference=_zero,
                points=_LINEAR_DECAY_POINTS,
                meaning=on_ramp,
                method="[[rho_def]] by mpmath quadrature (decaying: real part, imaginary part 0)",
                detail="agrees to 1e-12 at two decaying schedules",
            ),
            Given.of(
                Quadrature,
                expr=LHS / RHS,
                reference=_one,
                points=near_points,
                meaning={S.Rho(t): found["rho_constant"].xreplace({eta: ea})},
                method="eta_b = eta_a (1 + 1e-15): the exact constant-rate rho_t (mpmath)",
                detail="agrees to 1e-12 at three points",
            ),
        ),
    )


def build() -> Derivation:
    recorder = StepRecorder(NAME, SCHEDULES_CLAIMS)
    found: dict = {}
    for title, section in (
        ("Step 1: exponential decay", lambda: _exponential_decay(recorder)),
        ("Step 2: collapsing the double sums", lambda: _double_sums(recorder, found)),
        ("Step 3: the moments", lambda: _moments(recorder, found)),
        ("Example 1: zero-mean gradients", lambda: _zero_mean(recorder, found)),
        ("Example 2: the series approximation", lambda: _series(recorder, found)),
        ("Differential equation", lambda: _differential_equation(recorder, found)),
        ("Single-epoch mean field", lambda: _single_epoch(recorder, found)),
        ("Example 3: schedules", lambda: _schedules(recorder, found)),
        (
            "Beyond the source: the exact integral on a linear schedule",
            lambda: _linear_exact(recorder, found),
        ),
    ):
        with recorder.section(title):
            found.update(section() or {})
    return Derivation(
        name=NAME,
        title="The weight RMS of AdamW under learning-rate schedules",
        abstract=(
            "A step-by-step, machine-verified re-derivation of the mean-field estimate of the "
            "weight RMS of AdamW when the learning rate $\\eta_t$ and the weight decay "
            "$\\lambda_t$ vary during training: the weighted-average form with "
            "$\\kappa_t = \\sum_i \\eta_i\\lambda_i$, the general mean-field formula, the series "
            "approximation, its integral and differential forms, the single-epoch formula and "
            "$\\kappa_t$, $\\nu_t$ for linear, cosine and WSD schedules."
        ),
        source=SCHEDULES_SOURCE,
        sections=SECTIONS,
        steps=tuple(recorder.steps),
        results=(
            ("weight_rms_sq", "theta_rms_dynamic"),
            ("weight_rms_sq_mu0", "theta_rms_mu0_dynamic"),
            ("weight_rms_sq_series", "theta_rms_series"),
            ("weight_rms_sq_integral", "theta_rms_integral"),
            ("weight_rms_sq_single_epoch", "single_epoch"),
            ("rho_ode", "rho_ode"),
        ),
        scope=SCOPE,
    )
