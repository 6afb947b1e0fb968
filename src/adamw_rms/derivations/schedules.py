"""The mean-field weight RMS of AdamW with time-varying learning rate and weight decay.

Source: Su Jianlin, "Asymptotic estimate of AdamW's weight RMS, part 2" (kexue.fm/archives/11404).
The per-step factor 1 - eta_t lambda_t becomes e^{-eta_t lambda_t}, the weights become an
e^{kappa_i} eta_i weighted average of the updates, and the mean-field steps of part 1 are redone
with these weights; then the series approximation, its integral and differential forms, the
single-epoch formula and the learning-rate schedules. Every right side is computed from earlier
steps; the source's printed formulas (``_source.SCHEDULES_CLAIMS``) are only compared.
"""

from __future__ import annotations

import mpmath
import sympy as sp
from sympy.utilities.lambdify import implemented_function

from .. import symbols as S
from ..algebra import freeze_powers, limit
from ..checks import (
    RHS,
    BruteForce,
    ByCoordinates,
    DropsTerm,
    LimitRatio,
    LimitValue,
    MeanFieldRewrite,
    Quadrature,
    RewriteToZero,
)
from ..rules import geometric_sum, mean_field, swap_triangular_sum
from ..steps import Derivation, Kind, StepRecorder, derivation
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
eta, lam, mu, sigma, snr, q = S.eta, S.lam, S.mu, S.sigma, S.snr, S.decay
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

# Evaluation points for the schedule quadratures: the source's simulation (cosine from 1e-3 to
# 1e-4, wd = 0.1, T = 10000) and a short warmup-heavy run.
_SCHEDULE_POINTS = (
    {
        S.eta_a: sp.Rational(1, 1000),
        S.eta_b: sp.Rational(1, 10000),
        S.eta_max: sp.Rational(1, 1000),
        S.eta_min: sp.Rational(1, 10000),
        S.t1: sp.Integer(500),
        S.t2: sp.Integer(8000),
        t: sp.Integer(10000),
        lam: sp.Rational(1, 10),
    },
    {
        S.eta_a: sp.Rational(3, 1000),
        S.eta_b: sp.Rational(7, 100),
        S.eta_max: sp.Rational(7, 100),
        S.eta_min: sp.Rational(3, 1000),
        S.t1: sp.Integer(30),
        S.t2: sp.Integer(60),
        t: sp.Integer(100),
        lam: sp.Rational(2, 5),
    },
)

# Points for the exact integral on a linear schedule (with rho_0): decaying, the source's
# simulation (1e-3 down to 1e-4) and a cooldown to nearly 0; rising, its reverse and a warmup.
_LINEAR_DECAY_POINTS = (
    {
        S.eta_a: sp.Rational(1, 1000),
        S.eta_b: sp.Rational(1, 10000),
        t: sp.Integer(10000),
        lam: sp.Rational(1, 10),
        rho0: sp.Rational(1, 100),
    },
    {
        S.eta_a: sp.Rational(1, 100),
        S.eta_b: sp.Rational(1, 100000),
        t: sp.Integer(5000),
        lam: sp.Rational(1, 20),
        rho0: sp.Rational(1, 1000),
    },
)
_LINEAR_RISE_POINTS = (
    {
        S.eta_a: sp.Rational(1, 10000),
        S.eta_b: sp.Rational(1, 1000),
        t: sp.Integer(10000),
        lam: sp.Rational(1, 10),
        rho0: sp.Rational(1, 100),
    },
    {
        S.eta_a: sp.Rational(3, 1000),
        S.eta_b: sp.Rational(7, 100),
        t: sp.Integer(100),
        lam: sp.Rational(2, 5),
        rho0: sp.Rational(1, 50),
    },
)

# Real and imaginary part of an mpmath value, left unevaluated by SymPy (a closed form with
# erfi(sqrt(c) x)/sqrt(c) at c < 0 is real, but mpmath returns it as a complex number).
_REAL_PART = implemented_function("real_part", mpmath.re)
_IMAGINARY_PART = implemented_function("imaginary_part", mpmath.im)


def _rho_linear_quadrature(point) -> mpmath.mpf:
    """rho_t of [[rho_def]] on a linear schedule by mpmath quadrature (no closed form used)."""
    ea, eb, lam_, end, start = (
        mpmath.mpf(sp.Rational(point[x]).p) / sp.Rational(point[x]).q
        for x in (S.eta_a, S.eta_b, lam, t, rho0)
    )

    def rate(time):
        return ea + (eb - ea) * time / end

    def decay(time):  # kappa_s = lambda int_0^s eta: the trapezoid rule is exact for linear eta
        return lam_ * time * (ea + rate(time)) / 2

    noise = mpmath.quad(lambda time: mpmath.exp(2 * decay(time)) * rate(time) ** 2, [0, end])
    return mpmath.exp(-2 * decay(end)) * (start + noise)


# Exact generic values for the brute-force Gaussian moments: kappa_k as a log (so e^{kappa_k} is
# rational), eta_k, beta_1, beta_2. The identities hold for any weights; numbers keep them small.
WEIGHT_POINT: dict[sp.Expr, sp.Expr] = {
    **{S.Kappa(sp.Integer(n)): sp.log(sp.Rational(10 + 3 * n, 11 - n)) for n in range(1, 5)},
    **{S.eta_seq[n]: sp.Rational(2 * n + 1, 7 * n + 3) for n in range(1, 5)},
    S.beta1: sp.Rational(9, 11),
    S.beta2: sp.Rational(19, 23),
}


def _weight(index: sp.Symbol) -> sp.Expr:
    """The weight e^{kappa_i} eta_i of step ``index`` in the averaged update."""
    return sp.exp(kappa(index)) * etas[index]


def _pull_out(series: sp.Sum) -> sp.Expr:
    """Move the factors of a single sum's summand that do not depend on its index outside."""
    (index, lower, upper) = series.limits[0]
    outside, inside = series.function.as_independent(index, as_Add=False)
    return outside * sp.Sum(inside, (index, lower, upper))


def _unfolded_z() -> sp.Expr:
    return sp.Sum(_weight(i), (i, 1, t))


def _unfolded_kappa(index: sp.Symbol) -> sp.Expr:
    return sp.Sum(etas[k] * lams[k], (k, 1, index))


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


def _constant(index: sp.Symbol) -> dict:
    """Constant eta, lambda: kappa_index = eta lambda index and eta_index = eta."""
    return {kappa(index): eta * lam * index, etas[index]: eta, lams[index]: lam}


QUANTITY_TITLES = {"kappa": "Accumulated decay", "nu": "Integrated squared rate"}


def build() -> Derivation:
    recorder = StepRecorder(NAME, SCHEDULES_CLAIMS, strict=False)
    add = recorder.add

    # --- step 1: exponential decay ----------------------------------------------------------------
    adamw = theta[t - 1] - etas[t] * (u[t] + lams[t] * theta[t - 1])
    add(
        id="adamw_dynamic",
        title="AdamW with scheduled hyperparameters",
        section="Step 1: exponential decay",
        lhs=theta[t],
        rhs=adamw,
        kind=Kind.DEFINITION,
        justification=(
            "As [[weight_rms.adamw_update]], with a learning rate $\\eta_t$ and a weight decay "
            "$\\lambda_t$ that change from step to step (warmup, cosine decay, WSD)."
        ),
    )
    shrink = sp.expand(adamw).coeff(theta[t - 1])
    exp_step = sp.exp(shrink - 1) * theta[t - 1] + sp.expand(adamw - shrink * theta[t - 1])
    one_step = {theta[t - 1]: 1, u[t]: 0, etas[t]: q / lams[t]}
    add(
        id="exp_decay",
        title="One step of decay as an exponential",
        section="Step 1: exponential decay",
        lhs=theta[t],
        rhs=exp_step,
        kind=Kind.APPROXIMATION,
        justification=(
            "In [[adamw_dynamic]] the weights are multiplied by $1 - \\eta_t\\lambda_t$, which "
            "is $e^{-\\eta_t\\lambda_t}$ to first order in $\\eta_t\\lambda_t \\ll 1$; the update "
            "term is untouched."
        ),
        limit="\\eta_t\\lambda_t \\to 0",
        uses=("adamw_dynamic",),
        checks=(
            LimitRatio(
                theta[t - 1] - adamw,
                theta[t - 1] - RHS,
                ((q, 0, "+"),),
                f"{NAME}.exp_decay",
                given=one_step,
                method="decay per step, limit of ratio = 1",
            ),
            RewriteToZero(adamw, RHS, given={theta[t - 1]: 0}, method="update term unchanged"),
        ),
    )
    add(
        id="kappa_def",
        title="Accumulated decay",
        section="Step 1: exponential decay",
        lhs=kappa(t),
        rhs=_unfolded_kappa(t).xreplace({k: i}),
        kind=Kind.DEFINITION,
        justification="The sum of the per-step decays $\\eta_i\\lambda_i$ up to step $t$.",
    )
    # Multiply [[exp_decay]] by e^{kappa_t}: e^{kappa_t} theta_t - e^{kappa_{t-1}} theta_{t-1}
    # is the increment below, and the increments telescope down to theta_0.
    increment = sp.expand(sp.exp(kappa(t)) * (exp_step - sp.exp(shrink - 1) * theta[t - 1]))
    unrolled = sp.exp(-kappa(t)) * (theta[0] + _pull_out(sp.Sum(increment.subs(t, i), (i, 1, t))))

    def iterate(n: int) -> sp.Expr:
        state = theta[0]
        for n_ in range(1, n + 1):
            state = exp_step.subs(t, n_).subs(theta[n_ - 1], state)
        return state

    add(
        id="theta_unrolled_dynamic",
        title="Weights as a weighted sum of updates",
        section="Step 1: exponential decay",
        lhs=theta[t],
        rhs=unrolled,
        kind=Kind.APPROXIMATION,
        justification=(
            "Multiply [[exp_decay]] by $e^{\\kappa_t}$ ([[kappa_def]]): the products "
            "$e^{\\kappa_i}\\boldsymbol{\\theta}_i$ telescope down to $\\boldsymbol{\\theta}_0$. "
            "The unrolling of the exponential recursion is exact."
        ),
        limit="\\eta_i\\lambda_i \\to 0",
        uses=("exp_decay", "kappa_def"),
        checks=(
            BruteForce(
                iterate,
                RHS,
                given={kappa(t): _unfolded_kappa(t), kappa(i): _unfolded_kappa(i)},
                method="brute force (symbolic eta_i, lambda_i, u_i)",
            ),
        ),
    )

    # --- the averaged update --------------------------------------------------------------------
    add(
        id="z_def",
        title="Normaliser of the weights",
        section="Step 1: exponential decay",
        lhs=z_t(t),
        rhs=_unfolded_z(),
        kind=Kind.DEFINITION,
        justification="The total weight $\\sum_i e^{\\kappa_i}\\eta_i$ of the updates.",
    )
    averages = {}
    for name, vector, bar, what in (
        ("u_bar_def", u, u_bar, "updates"),
        ("m_bar_def", m, m_bar, "first moments"),
        ("v_bar_def", v, v_bar, "second moments"),
    ):
        averages[name] = sp.Sum(_weight(i) * vector[i], (i, 1, t)) / z_t(t)
        add(
            id=name,
            title=f"Weighted average of the {what}",
            section="Step 1: exponential decay",
            lhs=bar[t],
            rhs=averages[name],
            kind=Kind.DEFINITION,
            justification=(
                f"The {what} averaged with the weights $e^{{\\kappa_i}}\\eta_i/z_t$ "
                "([[z_def]]), which sum to 1."
            ),
        )
    sign = sp.cancel(increment / (sp.exp(kappa(t)) * etas[t] * u[t]))
    theta_bar = sp.exp(-kappa(t)) * (theta[0] + sign * z_t(t) * u_bar[t])
    add(
        id="theta_via_u_bar_dynamic",
        title="Weights through the averaged update",
        section="Step 1: exponential decay",
        lhs=theta[t],
        rhs=theta_bar,
        kind=Kind.APPROXIMATION,
        justification="[[theta_unrolled_dynamic]] written with [[u_bar_def]].",
        limit="\\eta_i\\lambda_i \\to 0",
        uses=("theta_unrolled_dynamic", "u_bar_def"),
        checks=(RewriteToZero(unrolled, RHS, given={u_bar[t]: averages["u_bar_def"]}),),
    )
    constant_v = sp.Symbol("V", positive=True)
    # Exact when v_i = V over the window: v-bar is then V (the weights sum to 1) and both sides
    # are the average of m_i / sqrt(V).
    average_of_ratios = sp.Sum(_weight(i) * m[i] / sp.sqrt(constant_v), (i, 1, t)) / z_t(t)
    add(
        id="u_bar_mean_field",
        title="First mean-field step",
        section="Step 1: exponential decay",
        lhs=u_bar[t],
        rhs=m_bar[t] / sp.sqrt(v_bar[t]),
        kind=Kind.APPROXIMATION,
        justification=(
            "With $\\boldsymbol{u}_i = \\boldsymbol{m}_i/\\sqrt{\\boldsymbol{v}_i}$, replace the "
            "average of ratios by the ratio of the averages [[m_bar_def]] and [[v_bar_def]]."
        ),
        assumptions=(AVERAGED_RATIO,),
        uses=("u_bar_def", "m_bar_def", "v_bar_def"),
        checks=(
            BruteForce(
                average_of_ratios,
                RHS,
                given={m_bar[t]: averages["m_bar_def"], v_bar[t]: constant_v},
                method="exact for constant v",
            ),
        ),
    )
    split_exact = expand_rms2(theta_bar)
    dropped = split_exact - split_exact.subs(S.MeanDot(theta[0], u_bar[t]), 0)
    split = split_exact - dropped
    add(
        id="theta_rms_split",
        title="Initialisation and averaged update separate",
        section="Step 1: exponential decay",
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
            ByCoordinates(theta_bar, split_exact),
            DropsTerm(split_exact, RHS, dropped, ORTHOGONAL_INIT.latex),
        ),
    )
    ratio_avg = m_bar[t] / sp.sqrt(v_bar[t])
    decoupled = mean_field(E(ratio_avg**2))
    add(
        id="mean_field_u_bar",
        title="Second mean-field step",
        section="Step 1: exponential decay",
        lhs=E(u_bar[t] ** 2),
        rhs=decoupled,
        kind=Kind.APPROXIMATION,
        justification=(
            "With iid $\\boldsymbol{g}_j \\sim \\mathcal{N}(\\boldsymbol{\\mu}, "
            "\\boldsymbol{\\sigma}^2)$, square [[u_bar_mean_field]] and take the ratio of "
            "expectations."
        ),
        assumptions=(MEAN_FIELD,),
        uses=("u_bar_mean_field",),
        checks=(MeanFieldRewrite(E(ratio_avg**2), RHS),),
    )

    # --- step 2: double sums --------------------------------------------------------------------
    coefficients = {}
    for moment, beta, increment_j, bar, bar_fn in (
        ("m", b1, g[j], m_bar, S.Beta1Bar),
        ("v", b2, g[j] ** 2, v_bar, S.Beta2Bar),
    ):
        # (1/z) sum_i w_i x_i with x_i unrolled: a triangular double sum over j <= i <= t.
        inner = _weight(i) / z_t(t) * (1 - beta) * beta ** (i - j) * increment_j
        swapped = swap_triangular_sum(sp.Sum(inner, (j, 1, i), (i, 1, t)))
        outside, inside = (swapped.function / increment_j).as_independent(i, as_Add=False)
        coefficient = outside * sp.Sum(inside, swapped.limits[0])
        coefficients[moment] = coefficient
        collapsed = sp.Sum(increment_j * coefficient, (j, 1, t))

        def brute(n: int, beta=beta, square=moment == "v") -> sp.Expr:
            gs = [x**2 if square else x for x in gradients(n)]
            sequence = [ema_recursion(beta, gs[:k_]) for k_ in range(1, n + 1)]
            return _average_at(n, sequence)

        add(
            id=f"double_sum_{moment}_dynamic",
            title=f"Collapsing the double sum of {moment}",
            section="Step 2: collapsing the double sums",
            lhs=bar[t],
            rhs=collapsed,
            kind=Kind.IDENTITY,
            justification=(
                f"Insert the unrolled EMA [[weight_rms.{moment}_unrolled]] into "
                f"[[{moment}_bar_def]] and swap the triangular double sum "
                "($\\sum_{i=1}^t\\sum_{j=1}^i = \\sum_{j=1}^t\\sum_{i=j}^t$)."
            ),
            uses=(f"{moment}_bar_def", f"weight_rms.{moment}_unrolled"),
            checks=(
                BruteForce(brute, RHS, method="brute force (symbolic eta_i, kappa_i, g_j, beta)"),
            ),
        )
        add(
            id=f"beta{1 if moment == 'm' else 2}_bar_def",
            title=f"Collapsed weight of {'g' if moment == 'm' else 'g^2'}",
            section="Step 2: collapsing the double sums",
            lhs=bar_fn(j, t),
            rhs=coefficient,
            kind=Kind.DEFINITION,
            justification=(
                f"The coefficient of the gradient term in [[double_sum_{moment}_dynamic]]."
            ),
        )

    # --- step 3: moments ------------------------------------------------------------------------
    def weight_sum(beta: sp.Expr, bar_fn) -> tuple[sp.Expr, sp.Expr]:
        """sum_j bar_beta(j, t) = 1 - (1/z) sum_i w_i beta^i, and the dropped tail sum."""
        body = coefficients["m" if beta == b1 else "v"]
        (outside, series) = body.as_independent(j, as_Add=False)
        # Back to sum_i sum_{j<=i}: the inner sum over j is geometric.
        inside = sp.expand(outside * series.function)
        per_i = sp.expand(geometric_sum(inside, j, 1, i))
        tail = sp.factor(per_i.coeff(beta**i)) * beta**i
        full = per_i - tail
        assert sp.cancel(full - _weight(i) / z_t(t)) == 0  # the weights of [[z_def]]
        dropped_sum = _pull_out(sp.Sum(sp.cancel(tail * z_t(t)), (i, 1, t))) / z_t(t)
        return 1 + dropped_sum, dropped_sum

    sum_b2, tail_b2 = weight_sum(b2, S.Beta2Bar)
    unfold_b2 = {
        S.Beta2Bar(j, t): coefficients["v"].xreplace({z_t(t): _unfolded_z()}),
        z_t(t): _unfolded_z(),
    }
    add(
        id="sum_beta2_bar",
        title="The collapsed weights nearly sum to 1",
        section="Step 3: the moments",
        lhs=sp.Sum(S.Beta2Bar(j, t), (j, 1, t)),
        rhs=sum_b2,
        kind=Kind.IDENTITY,
        justification=(
            "Swap the sums of [[beta2_bar_def]] back, sum the geometric series in $j$ and use "
            "[[z_def]]: the weights miss 1 only by the start-up terms $\\beta_2^i$."
        ),
        uses=("beta2_bar_def", "z_def"),
        checks=(
            BruteForce(sp.Sum(S.Beta2Bar(j, t), (j, 1, t)), RHS, given=unfold_b2, at=WEIGHT_POINT),
        ),
    )
    mean_v_exact = (mu**2 + sigma**2) * sum_b2
    dropped_v = (mu**2 + sigma**2) * tail_b2
    mean_v_bar = sp.factor(mean_v_exact - dropped_v)
    add(
        id="mean_v_bar",
        title="Mean of the averaged second moment",
        section="Step 3: the moments",
        lhs=E(v_bar[t]),
        rhs=mean_v_bar,
        kind=Kind.APPROXIMATION,
        justification=(
            "Take the expectation of [[double_sum_v_dynamic]] with $\\mathbb{E}[g_j^2] = \\mu^2 + "
            "\\sigma^2$ and [[sum_beta2_bar]], then drop the start-up terms."
        ),
        limit="\\beta_2^{i} \\to 0 \\text{ (the weights of the first steps are negligible)}",
        uses=("double_sum_v_dynamic", "sum_beta2_bar"),
        checks=(
            DropsTerm(mean_v_exact, RHS, dropped_v, "\\beta_2^i \\approx 0"),
            BruteForce(
                lambda n: _moment_average(n, b2, True, 1, unfold=True),
                mean_v_exact,
                steps=(1, 2, 3),
                given={z_t(t): _unfolded_z()},
                at=WEIGHT_POINT,
                method="brute-force Gaussian moments (exact form)",
            ),
        ),
    )
    sum_b1, tail_b1 = weight_sum(b1, S.Beta1Bar)
    mean_m_exact = mu * sum_b1
    dropped_m = mu * tail_b1
    mean_m_bar = sp.factor(mean_m_exact - dropped_m)
    add(
        id="mean_m_bar_dynamic",
        title="Mean of the averaged first moment",
        section="Step 3: the moments",
        lhs=E(m_bar[t]),
        rhs=mean_m_bar,
        kind=Kind.APPROXIMATION,
        justification=(
            "The same with [[double_sum_m_dynamic]] and $\\mathbb{E}[g_j] = \\mu$: the weights "
            "$\\bar\\beta_1(j, t)$ sum to $1$ up to the start-up terms $\\beta_1^i$."
        ),
        limit="\\beta_1^{i} \\to 0 \\text{ (the weights of the first steps are negligible)}",
        uses=("double_sum_m_dynamic", "beta1_bar_def", "z_def"),
        checks=(
            DropsTerm(mean_m_exact, RHS, dropped_m, "\\beta_1^i \\approx 0"),
            BruteForce(
                lambda n: _moment_average(n, b1, False, 1, unfold=True),
                mean_m_exact,
                steps=(1, 2, 3),
                given={z_t(t): _unfolded_z()},
                at=WEIGHT_POINT,
                method="brute-force Gaussian moments (exact form)",
            ),
        ),
    )
    var_m_bar = sigma**2 * sp.Sum(S.Beta1Bar(j, t) ** 2, (j, 1, t))
    add(
        id="var_m_bar",
        title="Variance of the averaged first moment",
        section="Step 3: the moments",
        lhs=Var(m_bar[t]),
        rhs=var_m_bar,
        kind=Kind.IDENTITY,
        justification=(
            "[[update_rms.variance_of_sum]] applied to [[double_sum_m_dynamic]]: the $g_j$ are "
            "independent with variance $\\sigma^2$."
        ),
        uses=("double_sum_m_dynamic", "update_rms.variance_of_sum"),
        checks=(
            BruteForce(
                lambda n: _moment_average(n, b1, False, 2) - _moment_average(n, b1, False, 1) ** 2,
                RHS,
                steps=(1, 2, 3),
                given={S.Beta1Bar(j, t): coefficients["m"]},
                at=WEIGHT_POINT,
                method="brute-force Gaussian moments",
            ),
        ),
    )
    moments = {E(m_bar[t] ** 2): mean_m_bar**2 + var_m_bar, E(v_bar[t]): mean_v_bar}
    u_bar_sq = decoupled.xreplace(moments)
    add(
        id="u_bar_sq",
        title="Mean-field averaged update",
        section="Step 3: the moments",
        lhs=E(u_bar[t] ** 2),
        rhs=u_bar_sq,
        kind=Kind.APPROXIMATION,
        justification=(
            "$\\mathbb{E}[\\bar m^2] = \\mathbb{E}[\\bar m]^2 + \\mathbb{V}\\mathrm{ar}[\\bar m]$ "
            "with [[mean_m_bar_dynamic]] and [[var_m_bar]], over [[mean_v_bar]], in "
            "[[mean_field_u_bar]]."
        ),
        limit="\\beta_1^{i}, \\beta_2^{i} \\to 0",
        assumptions=(MEAN_FIELD,),
        uses=("mean_field_u_bar", "mean_m_bar_dynamic", "var_m_bar", "mean_v_bar"),
        checks=(RewriteToZero(decoupled, RHS, given=moments, method="substitution"),),
    )
    averaged = coordinate_average(u_bar_sq)
    u_bar_rms = in_snr(averaged)
    add(
        id="u_bar_rms",
        title="RMS of the averaged update",
        section="Step 3: the moments",
        lhs=RMS2(u_bar[t]),
        rhs=u_bar_rms,
        kind=Kind.APPROXIMATION,
        justification=(
            "Average numerator and denominator of [[u_bar_sq]] over coordinates and divide by "
            "$\\Vert\\boldsymbol{\\sigma}\\Vert^2$."
        ),
        assumptions=(COORDINATE_AVERAGE,),
        uses=("u_bar_sq",),
        checks=(RewriteToZero(averaged, RHS, given=SNR_OF_NORMS),),
    )
    theta_rms = split.xreplace({RMS2(u_bar[t]): u_bar_rms})
    add(
        id="theta_rms_dynamic",
        title="The weight RMS under a schedule",
        section="Step 3: the moments",
        lhs=RMS2(theta[t]),
        rhs=theta_rms,
        kind=Kind.APPROXIMATION,
        justification="[[u_bar_rms]] in [[theta_rms_split]].",
        limit="\\beta_1^i, \\beta_2^i \\to 0,\\ \\eta_i\\lambda_i \\ll 1",
        assumptions=(ORTHOGONAL_INIT, MEAN_FIELD, COORDINATE_AVERAGE),
        uses=("theta_rms_split", "u_bar_rms"),
        checks=(
            RewriteToZero(split, RHS, given={RMS2(u_bar[t]): u_bar_rms}, method="substitution"),
        ),
    )

    # --- example 1: mu = 0 ----------------------------------------------------------------------
    outside_b1, inner_b1 = coefficients["m"].as_independent(j, as_Add=False)
    # sum_j bar_beta_1(j, t)^2 with the j-free factor (1 - beta_1)/z_t of the definition outside.
    expanded_squares = outside_b1**2 * sp.Sum(inner_b1**2, (j, 1, t))
    mu0 = theta_rms.subs(snr, 0).xreplace(
        {sp.Sum(S.Beta1Bar(j, t) ** 2, (j, 1, t)): expanded_squares}
    )
    add(
        id="theta_rms_mu0_dynamic",
        title="Zero-mean gradients",
        section="Example 1: zero-mean gradients",
        lhs=RMS2(theta[t]),
        rhs=sp.expand(mu0, mul=True, multinomial=False, power_exp=False, power_base=False),
        kind=Kind.APPROXIMATION,
        label="eq:w-rms-mu0",
        justification=(
            "[[theta_rms_dynamic]] at $\\boldsymbol{\\mu} = 0$ with [[beta1_bar_def]] written out: "
            "$z_t$ cancels."
        ),
        limit="\\boldsymbol{\\mu} = 0 \\text{ (an exact substitution)}",
        uses=("theta_rms_dynamic", "beta1_bar_def"),
        checks=(
            RewriteToZero(
                theta_rms.subs(snr, 0),
                RHS,
                given={S.Beta1Bar(j, t): coefficients["m"]},
                method="substitution SNR = 0",
            ),
        ),
    )
    mu0 = recorder.steps[-1].rhs
    no_decay_map = {kappa(t): 0, kappa(i): 0}
    no_decay = mu0.xreplace(no_decay_map)
    add(
        id="theta_rms_no_decay_dynamic",
        title="No weight decay",
        section="Example 1: zero-mean gradients",
        lhs=RMS2(theta[t]),
        rhs=no_decay,
        kind=Kind.APPROXIMATION,
        justification=(
            "[[theta_rms_mu0_dynamic]] with $\\lambda_i = 0$, so every $\\kappa_i = 0$ "
            "([[kappa_def]]): the weight RMS stays bounded only if the learning rates are "
            "square-summable (the Robbins--Monro condition)."
        ),
        limit="\\lambda_i = 0 \\text{ (an exact substitution)}",
        uses=("theta_rms_mu0_dynamic", "kappa_def"),
        checks=(RewriteToZero(mu0, RHS, given=no_decay_map, method="substitution kappa = 0"),),
    )

    # --- the Robbins-Monro bound: both sides of sum_j (sum_{i>=j} b1^{i-j} eta_i)^2 ---------------
    # Each bound is stated as an exact identity for its gap, with every term of the gap a square
    # (or a product of nonnegative factors) times nonnegative powers of beta_1 and 1/(1 - beta_1).
    (momentum_sq,) = [a for a in no_decay.atoms(sp.Sum) if a.limits[0][0] == j]
    momentum = momentum_sq.function.base  # sum_{i=j}^t beta_1^{i-j} eta_i
    lag_weight = momentum.function / etas[i]  # beta_1^{i-j}
    total_weight = 1 / (1 - b1)  # sum_{i>=j} beta_1^{i-j} over an infinite horizon
    squares = sp.Sum(etas[j] ** 2, (j, 1, t))
    upper_gap_lhs = total_weight**2 * squares - momentum_sq
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
    upper_gap = start_up + truncation + lagrange

    def momentum_squares(n: int) -> sp.Expr:
        """sum_j (sum_{i=j}^n beta_1^{i-j} eta_i)^2 for a concrete horizon, term by term."""
        return sum(
            sum(b1 ** (i_ - j_) * etas[i_] for i_ in range(j_, n + 1)) ** 2
            for j_ in range(1, n + 1)
        )

    def rate_squares(n: int) -> sp.Expr:
        return sum(etas[j_] ** 2 for j_ in range(1, n + 1))

    robbins_monro_beta = {b1: sp.Rational(9, 11)}
    add(
        id="no_decay_upper_gap",
        title="Square-summable rates bound the momentum sums",
        section="Example 1: zero-mean gradients",
        lhs=upper_gap_lhs,
        rhs=upper_gap,
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
            BruteForce(
                lambda n: total_weight**2 * rate_squares(n) - momentum_squares(n),
                RHS,
                at=robbins_monro_beta,
                method="brute force (symbolic eta_i)",
            ),
        ),
    )
    # The lower bound: the i = j term of each momentum sum is eta_j itself; the rest, r_j, is a sum
    # of nonnegative terms when the rates are.
    rest = sp.Sum(momentum.function, (i, j + 1, t))
    lower_gap_lhs = momentum_sq - squares
    lower_gap = sp.Sum(rest * (2 * etas[j] + rest), (j, 1, t))
    add(
        id="no_decay_lower_gap",
        title="Without weight decay: bounded iff the rates are square-summable",
        section="Example 1: zero-mean gradients",
        lhs=lower_gap_lhs,
        rhs=lower_gap,
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
            BruteForce(
                lambda n: momentum_squares(n) - rate_squares(n),
                RHS,
                at=robbins_monro_beta,
                method="brute force (symbolic eta_i)",
            ),
        ),
    )

    # --- example 2: the series approximation ------------------------------------------------------
    (inner_sum,) = [a for a in mu0.atoms(sp.Sum) if a.limits[0][0] == i]
    frozen_inner = inner_sum.function.xreplace({kappa(i): kappa(j), etas[i]: etas[j]})
    outside_i, beta_part = frozen_inner.as_independent(i, as_Add=False)
    beta1_t = S.beta1_pow_t
    tail_sum = freeze_powers(geometric_sum(beta_part, i, j, t), {b1**t: beta1_t})
    slow = outside_i * limit(tail_sum, beta1_t, 0, "+")
    constant_inner = geometric_sum(inner_sum.function.xreplace(_constant(i)), i, j, t)
    add(
        id="inner_sum_slow",
        title="Slowly varying weights inside the momentum sum",
        section="Example 2: the series approximation",
        lhs=inner_sum,
        rhs=slow,
        kind=Kind.APPROXIMATION,
        justification=(
            "In [[theta_rms_mu0_dynamic]] the factor $e^{\\kappa_i}\\eta_i$ varies slowly next "
            "to the decay $\\beta_1^{i-j}$: freeze it at $i = j$ and sum the geometric series to "
            "infinity."
        ),
        limit=(
            "\\eta_i\\lambda_i \\to 0,\\ \\eta_i \\text{ slowly varying},\\ \\beta_1^{t-j} \\to 0"
        ),
        uses=("theta_rms_mu0_dynamic",),
        checks=(
            LimitRatio(
                constant_inner,
                RHS,
                ((beta1_t, 0, "+"), (eta, 0, "+")),
                f"{NAME}.inner_sum_slow",
                freeze={b1**t: beta1_t},
                given=_constant(j),
                method="limit of ratio = 1 (constant eta, lambda)",
            ),
        ),
    )
    series = mu0.xreplace({inner_sum: slow})
    series = series.replace(
        lambda e: isinstance(e, sp.Sum) and e.limits[0][0] == j,
        lambda e: _pull_out(sp.Sum(sp.powsimp(sp.expand_power_base(e.function)), *e.limits)),
    )
    add(
        id="theta_rms_series",
        title="The series approximation",
        section="Example 2: the series approximation",
        lhs=RMS2(theta[t]),
        rhs=series,
        kind=Kind.APPROXIMATION,
        label="eq:w-rms-simp",
        justification=(
            "[[inner_sum_slow]] in [[theta_rms_mu0_dynamic]]: the factor $(1-\\beta_1)^2$ cancels."
        ),
        limit="\\eta_i\\lambda_i \\to 0,\\ \\eta_i \\text{ slowly varying}",
        uses=("theta_rms_mu0_dynamic", "inner_sum_slow"),
        checks=(RewriteToZero(mu0, RHS, given={inner_sum: slow}, method="substitution"),),
    )
    ratio_base = sp.Symbol("r", positive=True)  # e^{2 eta lambda}, so that sums are geometric
    constant_map = {**_constant(t), **_constant(j)}
    series_constant_terms = series.xreplace(constant_map)
    (series_sum,) = series_constant_terms.atoms(sp.Sum)
    closed = geometric_sum(series_sum.function, j, 1, t)
    series_constant = series_constant_terms.xreplace({series_sum: closed})
    # The source's grouping: e^{2 eta lam} (1 - e^{-2 eta lam t}) eta^2 / (e^{2 eta lam} - 1).
    initial = series_constant.coeff(rho0) * rho0
    ratio = sp.exp(2 * eta * lam)
    spread = sp.expand(sp.powsimp(sp.cancel((series_constant - initial) * (ratio - 1) / ratio)))
    series_constant = initial + ratio * sp.factor_terms(spread) / (ratio - 1)
    as_powers = {
        a: ratio_base ** sp.cancel(a.args[0] / (2 * eta * lam))
        for a in (series_constant.atoms(sp.exp) | series_constant_terms.atoms(sp.exp))
    }
    add(
        id="theta_rms_series_constant",
        title="Constant hyperparameters: the exact geometric sum",
        section="Example 2: the series approximation",
        lhs=RMS2(theta[t]),
        rhs=series_constant,
        kind=Kind.APPROXIMATION,
        justification=(
            "[[theta_rms_series]] with constant $\\eta, \\lambda$, so $\\kappa_j = \\lambda\\eta "
            "j$ ([[kappa_def]]); the sum is geometric."
        ),
        limit="\\eta_j\\lambda_j \\to 0 \\text{ as before; the sum itself is exact}",
        uses=("theta_rms_series", "kappa_def"),
        checks=(
            BruteForce(
                series_constant_terms.xreplace(as_powers),
                RHS,
                given=as_powers,
                method="brute force in r = e^{2 eta lambda}",
            ),
        ),
    )
    # The geometric prefactor e^{2 eta lambda} eta^2 / (e^{2 eta lambda} - 1), to leading order.
    free_part = sp.expand(series_constant - series_constant.coeff(rho0) * rho0)
    growth = sp.factor(free_part)
    leading = sp.limit(growth / eta / (1 - sp.exp(-2 * eta * lam * t)), eta, 0) * eta
    reduced = series_constant.coeff(rho0) * rho0 + (1 - sp.exp(-2 * eta * lam * t)) * leading
    part1 = derivation("weight_rms").step("theta_rms_mu0").rhs.subs(S.beta3, 1 - eta * lam)
    add(
        id="series_reduces_to_part1",
        title="Back to constant hyperparameters (part 1)",
        section="Example 2: the series approximation",
        lhs=RMS2(theta[t]),
        rhs=reduced,
        kind=Kind.APPROXIMATION,
        justification=(
            "Leading order of [[theta_rms_series_constant]] in $\\eta\\lambda$: part 1's "
            "[[weight_rms.theta_rms_mu0]] with $\\beta_3 = 1 - \\eta\\lambda \\approx "
            "e^{-\\eta\\lambda}$."
        ),
        limit="\\eta\\lambda \\to 0",
        uses=("theta_rms_series_constant", "weight_rms.theta_rms_mu0"),
        checks=(
            LimitRatio(
                series_constant,
                RHS,
                ((eta, 0, "+"),),
                f"{NAME}.series_reduces_to_part1.noise",
                given={rho0: 0},
                method="limit of ratio = 1 (noise part)",
            ),
            LimitRatio(
                part1,
                RHS,
                ((eta, 0, "+"),),
                f"{NAME}.series_reduces_to_part1.part1",
                given={rho0: 0},
                method="limit of ratio = 1 against part 1 (noise part)",
            ),
            LimitRatio(
                part1,
                RHS,
                ((eta, 0, "+"),),
                f"{NAME}.series_reduces_to_part1.full",
                method="limit of ratio = 1 against part 1",
            ),
        ),
    )

    # --- the differential equation ---------------------------------------------------------------
    kappa_continuous = sp.Integral(lams[s] * etas[s], (s, 0, t))
    add(
        id="kappa_integral",
        title="Accumulated decay in continuous time",
        section="Differential equation",
        lhs=kappa(t),
        rhs=kappa_continuous,
        kind=Kind.DEFINITION,
        justification="[[kappa_def]] with the sum over steps replaced by an integral over time.",
    )
    (series_sum,) = [a for a in series.atoms(sp.Sum)]
    integral = sp.Integral(series_sum.function.subs(j, s), (s, 0, t))
    integral_form = series.xreplace({series_sum: integral})
    integral_constant = sp.integrate(integral.function.xreplace(_constant(s)), (s, 0, t))
    add(
        id="theta_rms_integral",
        title="The integral form",
        section="Differential equation",
        lhs=RMS2(theta[t]),
        rhs=integral_form,
        kind=Kind.APPROXIMATION,
        label="eq:w-rms-int",
        justification=(
            "Replace the sum over steps in [[theta_rms_series]] by an integral, with "
            "[[kappa_integral]]."
        ),
        limit="\\eta_s, \\lambda_s \\text{ vary little over one step}",
        uses=("theta_rms_series", "kappa_integral"),
        checks=(
            LimitRatio(
                series_constant,
                RHS,
                ((eta, 0, "+"),),
                f"{NAME}.theta_rms_integral",
                given={integral: integral_constant, kappa(t): eta * lam * t, rho0: 0},
                method="limit of ratio = 1 (constant eta, lambda; noise part)",
            ),
        ),
    )
    add(
        id="rho_def",
        title="The squared RMS as a function of time",
        section="Differential equation",
        lhs=S.Rho(t),
        rhs=integral_form,
        kind=Kind.DEFINITION,
        justification="The right side of [[theta_rms_integral]].",
    )
    derivative = sp.diff(integral_form, t).subs(sp.Derivative(kappa(t), t), lams[t] * etas[t])
    slope = sp.cancel(sp.expand(derivative).coeff(rho0) / sp.expand(integral_form).coeff(rho0))
    source_term = sp.expand(derivative - slope * integral_form)
    ode = slope * S.Rho(t) + source_term
    add(
        id="rho_ode",
        title="The differential equation",
        section="Differential equation",
        lhs=sp.Derivative(S.Rho(t), t),
        rhs=ode,
        kind=Kind.IDENTITY,
        justification=(
            "Differentiate [[rho_def]] in $t$ with $d\\kappa_t/dt = \\lambda_t\\eta_t$ "
            "([[kappa_integral]]); the result is linear in $\\rho_t$."
        ),
        uses=("rho_def", "kappa_integral"),
        checks=(
            RewriteToZero(
                sp.diff(integral_form, t).subs(sp.Derivative(kappa(t), t), lams[t] * etas[t]),
                RHS,
                given={S.Rho(t): integral_form},
                method="differentiate the integral form",
            ),
        ),
    )
    ode_constant = ode.xreplace(_constant(t))
    (fixed_point,) = sp.solve(ode_constant, S.Rho(t))
    rho_constant = integral_form.xreplace({integral: integral_constant, **_constant(t)})
    add(
        id="rho_limit",
        title="Where the weight RMS settles",
        section="Differential equation",
        lhs=S.Rho(t),
        rhs=fixed_point,
        kind=Kind.APPROXIMATION,
        justification=(
            "If $\\rho_t$ converges, $d\\rho_t/dt \\to 0$ in [[rho_ode]]: "
            "$\\rho_\\infty = \\lim \\eta_t/(2\\lambda_t)$; so a learning rate decayed to 0 "
            "lets the weights collapse unless $\\lambda_t \\propto \\eta_t$. Shown here for "
            "constant $\\eta, \\lambda$."
        ),
        limit="t \\to \\infty",
        uses=("rho_ode",),
        checks=(
            RewriteToZero(
                ode_constant.xreplace({S.Rho(t): RHS}), 0, method="fixed point of the ODE"
            ),
            LimitValue(rho_constant, RHS, t, sp.oo, f"{NAME}.rho_limit"),
        ),
    )

    # --- single-epoch mean field ---------------------------------------------------------------
    add(
        id="nu_def",
        title="Integrated squared learning rate",
        section="Single-epoch mean field",
        lhs=S.Nu(t),
        rhs=sp.Integral(etas[s] ** 2, (s, 0, t)),
        kind=Kind.DEFINITION,
        justification="The total of $\\eta_s^2$ over the run.",
    )
    kappa_end = sp.Dummy("kappa_t", positive=True)
    mean_field_integrand = integral.function.xreplace(
        {etas[s] ** 2: S.Nu(t) / t, kappa(s): kappa_end * s / t}
    )
    mean_field_integral = sp.integrate(mean_field_integrand, (s, 0, t)).xreplace(
        {kappa_end: kappa(t)}
    )
    single = sp.expand(integral_form.xreplace({integral: mean_field_integral}))
    # The source's grouping: (1 - e^{-2 kappa_t}) nu_t / (2 kappa_t).
    scale = S.Nu(t) / (2 * kappa(t))
    spread = sp.expand(sp.cancel((single - single.coeff(rho0) * rho0) / scale))
    single_epoch = single.coeff(rho0) * rho0 + spread * scale
    add(
        id="single_epoch",
        title="Single-epoch mean field",
        section="Single-epoch mean field",
        lhs=RMS2(theta[t]),
        rhs=single_epoch,
        kind=Kind.APPROXIMATION,
        justification=(
            "In [[theta_rms_integral]] replace $\\eta_s^2$ by its mean $\\nu_t/t$ "
            "([[nu_def]]) and $\\kappa_s$ by the straight line $\\kappa_t s/t$, then integrate; "
            "meant for single-epoch runs where $\\kappa_t = \\Theta(1)$."
        ),
        limit="\\kappa_t = \\Theta(1),\\ \\eta_s^2 \\approx \\nu_t/t,\\ \\kappa_s \\approx "
        "\\kappa_t s/t",
        uses=("theta_rms_integral", "nu_def"),
        checks=(
            RewriteToZero(
                rho_constant,
                RHS,
                given={kappa(t): eta * lam * t, S.Nu(t): eta**2 * t},
                method="exact for constant eta, lambda",
            ),
        ),
    )

    # --- example 3: schedules ------------------------------------------------------------------
    ea, eb, emin, emax, ta, tb = S.eta_a, S.eta_b, S.eta_min, S.eta_max, S.t1, S.t2
    schedules = {
        "linear": ([(ea + (eb - ea) * s / t, 0, t)], "a linear ramp from $\\eta_a$ to $\\eta_b$"),
        "cosine": (
            [(emin + (emax - emin) * (sp.Rational(1, 2) + sp.cos(s * sp.pi / t) / 2), 0, t)],
            "cosine decay from $\\eta_{\\max}$ to $\\eta_{\\min}$",
        ),
        "wsd": (
            [(s / ta * emax, 0, ta), (emax, ta, tb), ((t - s) / (t - tb) * emax, tb, t)],
            "WSD: linear warmup to $t_1$, stable to $t_2$, linear decay to 0 at $t$",
        ),
    }
    for name, (pieces, description) in schedules.items():
        for quantity, lhs, power, factor, uses in (
            ("kappa", kappa(t), 1, lam, "kappa_integral"),
            ("nu", S.Nu(t), 2, sp.Integer(1), "nu_def"),
        ):
            value = sp.factor(
                sum(sp.integrate(sp.expand(factor * p**power), (s, a, b)) for p, a, b in pieces)
            )

            def reference(point, pieces=pieces, power=power, factor=factor) -> mpmath.mpf:
                total = mpmath.mpf(0)
                for p, a, b in pieces:
                    f = sp.lambdify(s, (factor * p**power).xreplace(point), "mpmath")
                    total += mpmath.quad(f, [a.xreplace(point) if a != 0 else 0, b.xreplace(point)])
                return total

            add(
                id=f"{quantity}_{name}",
                title=f"{QUANTITY_TITLES[quantity]}, {'WSD' if name == 'wsd' else name} schedule",
                section="Example 3: schedules",
                lhs=lhs,
                rhs=value,
                kind=Kind.IDENTITY,
                justification=(
                    f"[[{uses}]] for {description}, with constant $\\lambda$, integrated piece "
                    "by piece."
                ),
                uses=(uses,),
                checks=(Quadrature(RHS, reference, _SCHEDULE_POINTS),),
            )

    # --- beyond the source: the exact integral on a linear schedule ------------------------------
    # With eta_s linear and lambda constant, kappa_s is quadratic in s and [[rho_def]]'s integral
    # is Gaussian. SymPy does not finish the integral in s (not in 5 min); in y = sqrt(c) eta_s with
    # c = lambda t / (eta_b - eta_a) it is e^{-c eta_a^2} / (lambda sqrt(c)) int y^2 e^{y^2} dy.
    beyond = "Beyond the source: the exact integral on a linear schedule"
    ((eta_linear, _, _),) = schedules["linear"][0]
    rate = sp.Dummy("c", positive=True)  # positive for a rising schedule; see the justification
    y, end = sp.Dummy("y", positive=True), sp.Dummy("s_end", positive=True)
    to_rate = {t: rate * (eb - ea) / lam}
    kappa_s = sp.integrate(
        sp.expand(kappa_continuous.function.xreplace({lams[s]: lam, etas[s]: eta_linear})),
        (s, 0, end),
    )
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
    # At eta_b = eta_a the formula is undefined (c = oo); SymPy's limit eta_b -> eta_a takes ~2.5 s,
    # so it is checked numerically just above eta_a (just below, erf cancels catastrophically).
    rho_rate_a = rho_constant.xreplace({eta: ea})
    near_points = tuple(
        {ea: p[ea], lam: p[lam], t: p[t], rho0: p[rho0]}
        for p in (*_LINEAR_DECAY_POINTS[:1], *_LINEAR_RISE_POINTS)
    )

    def constant_rate(point, value=rho_rate_a) -> mpmath.mpf:
        return mpmath.mpf(sp.N(value.xreplace(point), 30))

    add(
        id="rho_linear_exact",
        title="Exact integral form, linear schedule",
        section=beyond,
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
            Quadrature(
                RHS,
                _rho_linear_quadrature,
                _LINEAR_RISE_POINTS,
                method="mpmath quadrature (rising schedules)",
            ),
            # Decaying: sqrt(c) is imaginary, so mpmath computes in complex numbers; the value
            # must be real (imaginary part 0) and its real part must match the quadrature.
            Quadrature(
                _REAL_PART(RHS),
                _rho_linear_quadrature,
                _LINEAR_DECAY_POINTS,
                method="mpmath quadrature (decaying schedules, real part)",
            ),
            Quadrature(
                _IMAGINARY_PART(RHS),
                lambda point: mpmath.mpf(0),
                _LINEAR_DECAY_POINTS,
                method="imaginary part 0 (decaying schedules, mpmath)",
            ),
            Quadrature(
                RHS,
                constant_rate,
                tuple({**p, eb: p[ea] * (1 + sp.Rational(1, 10**15))} for p in near_points),
                method="eta_b = eta_a (1 + 1e-15): the constant-eta rho_t (mpmath)",
            ),
        ),
    )

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
    )
