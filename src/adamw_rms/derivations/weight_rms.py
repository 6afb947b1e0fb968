"""The mean-field weight RMS of AdamW with constant learning rate and weight decay.

Source: Su Jianlin, "Asymptotic estimate of AdamW's weight RMS, part 1" (kexue.fm/archives/11307),
sections "sliding view" to "analysis of the result". Every right side below is computed from the
earlier steps (substitution, summation, limits); the source's printed formulas are only compared.
"""

from __future__ import annotations

import sympy as sp

from .. import symbols as S
from ..algebra import freeze_powers, limit
from ..checks import BRUTE_FORCE_POINT as POINT
from ..checks import (
    RHS,
    BruteForce,
    ByCoordinates,
    DropsTerm,
    Induction,
    LimitRatio,
    LimitValue,
    MeanFieldRewrite,
    RewriteToZero,
    SpotCheck,
    UniquePositiveRoot,
)
from ..rules import geometric_sum, mean_field, swap_triangular_sum, tidy
from ..steps import Assumption, Derivation, Kind, StepRecorder, derivation
from ._source import WEIGHT_RMS_CLAIMS, WEIGHT_RMS_SOURCE
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


def build() -> Derivation:
    prerequisite = derivation("update_rms")
    recorder = StepRecorder(NAME, WEIGHT_RMS_CLAIMS, strict=False)
    add = recorder.add

    # --- sliding view ------------------------------------------------------------------------
    adamw = theta[t - 1] - eta * (u[t] + lam * theta[t - 1])
    add(
        id="adamw_update",
        title="AdamW with constant hyperparameters",
        section="Sliding view",
        lhs=theta[t],
        rhs=adamw,
        kind=Kind.DEFINITION,
        justification=(
            "Decoupled weight decay as in PyTorch and the source, with $\\boldsymbol{u}_t = "
            "\\boldsymbol{m}_t/\\sqrt{\\boldsymbol{v}_t}$ late in training "
            "([[update_rms.adam_update]])."
        ),
    )
    add(
        id="beta3_def",
        title="The decay factor",
        section="Sliding view",
        lhs=b3,
        rhs=1 - eta * lam,
        kind=Kind.DEFINITION,
        justification="One step of weight decay multiplies the weights by $1 - \\eta\\lambda$.",
    )
    shrink = sp.expand(adamw).coeff(theta[t - 1]).subs(eta * lam, 1 - b3)
    ema = shrink * theta[t - 1] + sp.factor(
        sp.expand(adamw - sp.expand(adamw).coeff(theta[t - 1]) * theta[t - 1]).subs(
            eta, (1 - b3) / lam
        )
    )
    add(
        id="ema_wd",
        title="Weight decay is an EMA of -u/lambda",
        section="Sliding view",
        lhs=theta[t],
        rhs=ema,
        kind=Kind.IDENTITY,
        label="eq:ema-wd",
        justification=(
            "Substitute $\\eta = (1-\\beta_3)/\\lambda$ from [[beta3_def]] into "
            "[[adamw_update]]: the weights are an exponential moving average of "
            "$-\\boldsymbol{u}/\\lambda$."
        ),
        uses=("adamw_update", "beta3_def"),
        checks=(RewriteToZero(adamw, RHS, given={b3: 1 - eta * lam}),),
    )

    # --- weighted average --------------------------------------------------------------------
    theta_sum = b3**t * theta[0] + (1 - b3) * sp.Sum(b3 ** (t - i) * (-u[i] / lam), (i, 1, t))

    def iterate_theta(n: int) -> sp.Expr:
        state = theta[0]
        for k in range(1, n + 1):
            state = ema.xreplace(POINT).subs({theta[t - 1]: state, u[t]: u[k]})
        return state

    add(
        id="theta_unrolled",
        title="Weights as a weighted average",
        section="Weighted average",
        lhs=theta[t],
        rhs=theta_sum,
        kind=Kind.IDENTITY,
        label="eq:theta-t",
        justification=(
            "Unroll [[ema_wd]] down to $\\boldsymbol{\\theta}_0$, which is kept: $\\beta_3$ is "
            "close to 1, so $\\beta_3^t$ need not be small over a whole run."
        ),
        uses=("ema_wd",),
        checks=(BruteForce(iterate_theta, RHS, at=POINT),),
    )
    for moment, prerequisite_id, label in (
        ("m", "m_unrolled", "eq:mv-roll"),
        ("v", "v_unrolled", "eq:mv-roll-v"),
    ):
        source_step = prerequisite.step(prerequisite_id)
        add(
            id=prerequisite_id,
            title=f"{'First' if moment == 'm' else 'Second'} moment unrolled",
            section="Weighted average",
            lhs=source_step.lhs,
            rhs=source_step.rhs,
            kind=Kind.IDENTITY,
            label=label,
            justification=(
                f"As in [[update_rms.{prerequisite_id}]]; the start "
                f"${moment}_0 = 0$ is dropped since $\\beta_{1 if moment == 'm' else 2}^t$ "
                "vanishes quickly."
            ),
            uses=(f"update_rms.{prerequisite_id}",),
            checks=source_step.checks,
        )

    # --- quick estimate -----------------------------------------------------------------------
    recursion = expand_rms2(ema)
    add(
        id="rms_recursion",
        title="Squared RMS of the EMA step",
        section="Quick estimate",
        lhs=RMS2(theta[t]),
        rhs=recursion,
        kind=Kind.IDENTITY,
        justification="Take $\\Vert\\cdot\\Vert_{\\mathrm{RMS}}^2$ of both sides of [[ema_wd]].",
        uses=("ema_wd",),
        checks=(ByCoordinates(ema, RHS),),
    )
    cross = recursion - recursion.subs(MeanDot(theta[t - 1], u[t]), 0)
    update_sq = prerequisite.step("update_rms_mu0").rhs ** 2
    balance_exact = (recursion - b3**2 * RMS2(theta[t - 1])).xreplace({RMS2(u[t]): update_sq})
    balance = balance_exact - cross.xreplace({RMS2(u[t]): update_sq})
    steady = RMS2(theta[t])
    add(
        id="quick_balance",
        title="Orthogonality and steady state",
        section="Quick estimate",
        lhs=(1 - b3**2) * steady,
        rhs=balance,
        kind=Kind.APPROXIMATION,
        justification=(
            "In [[rms_recursion]] drop the cross term, set $\\Vert\\boldsymbol{\\theta}_t"
            "\\Vert_{\\mathrm{RMS}} = \\Vert\\boldsymbol{\\theta}_{t-1}\\Vert_{\\mathrm{RMS}}$ "
            "and use the update RMS of [[update_rms.update_rms_mu0]]."
        ),
        assumptions=(ORTHOGONAL_UPDATE, STEADY_STATE),
        uses=("rms_recursion", "update_rms.update_rms_mu0"),
        checks=(
            DropsTerm(balance_exact, RHS, cross, ORTHOGONAL_UPDATE.latex),
            RewriteToZero(
                RHS,
                (1 - b3) ** 2 * update_sq / lam**2,
                method="update RMS substituted",
            ),
        ),
    )
    rho_quick = sp.cancel((balance / (1 - b3**2)).subs(b3, 1 - eta * lam))
    rho_quick_leading = limit(rho_quick / eta, eta, 0) * eta
    quick = sp.sqrt(sp.factor(rho_quick_leading))
    add(
        id="quick_estimate",
        title="The quick estimate",
        section="Quick estimate",
        lhs=RMS(theta[t]),
        rhs=quick,
        kind=Kind.APPROXIMATION,
        justification=(
            "Solve [[quick_balance]] for the squared RMS and keep the leading order in "
            "$\\eta\\lambda$. The source warns that the orthogonality it assumed does not really "
            "hold, although the scaling $\\sqrt{\\eta/\\lambda}$ is right; compare the "
            "$\\beta_1$-free result [[theta_rms_simple]] below."
        ),
        limit="\\beta_3 = 1 - \\eta\\lambda \\to 1",
        assumptions=(ORTHOGONAL_UPDATE, STEADY_STATE),
        uses=("quick_balance",),
        checks=(LimitRatio(rho_quick, RHS**2, ((eta, 0, "+"),), f"{NAME}.quick_estimate"),),
    )

    # --- mean field, step 1 --------------------------------------------------------------------
    weight = (1 - b3) / (1 - b3**t)
    u_bar_sum = weight * sp.Sum(b3 ** (t - i) * u[i], (i, 1, t))
    m_bar_sum = weight * sp.Sum(b3 ** (t - i) * m[i], (i, 1, t))
    v_bar_sum = weight * sp.Sum(b3 ** (t - i) * v[i], (i, 1, t))
    for name, lhs, rhs, what in (
        ("u_bar_def", u_bar[t], u_bar_sum, "updates"),
        ("m_bar_def", m_bar[t], m_bar_sum, "first moments"),
        ("v_bar_def", v_bar[t], v_bar_sum, "second moments"),
    ):
        add(
            id=name,
            title=f"Weighted average of the {what}",
            section="Mean field, step 1: the averaged update",
            lhs=lhs,
            rhs=rhs,
            kind=Kind.DEFINITION,
            justification=(
                f"The $\\beta_3$-weighted average of the {what}; the weights "
                "$(1-\\beta_3)\\beta_3^{t-i}/(1-\\beta_3^t)$ sum to 1."
            ),
        )
    theta_bar = b3**t * theta[0] - (1 - b3**t) * u_bar[t] / lam
    add(
        id="theta_via_u_bar",
        title="Weights through the averaged update",
        section="Mean field, step 1: the averaged update",
        lhs=theta[t],
        rhs=theta_bar,
        kind=Kind.IDENTITY,
        justification="[[theta_unrolled]] written with [[u_bar_def]].",
        uses=("theta_unrolled", "u_bar_def"),
        checks=(
            RewriteToZero(theta_sum, RHS, given={u_bar[t]: u_bar_sum}),
            BruteForce(
                lambda n: theta_sum.subs(t, n).doit(),
                lambda n: theta_bar.xreplace({u_bar[t]: u_bar_sum}).subs(t, n).doit(),
            ),
        ),
    )
    ratio_avg = m_bar[t] / sp.sqrt(v_bar[t])
    constant_v = sp.Symbol("V", positive=True)

    # The approximation is exact when v_i = V over the whole window: both sides are then
    # averages of m_i / sqrt(V), because the weights sum to 1.
    average_of_ratios = weight * sp.Sum(b3 ** (t - i) * m[i] / sp.sqrt(constant_v), (i, 1, t))
    constant_window = {m_bar[t]: m_bar_sum, v_bar[t]: v_bar_sum.xreplace({v[i]: constant_v})}

    add(
        id="u_bar_mean_field",
        title="First mean-field step",
        section="Mean field, step 1: the averaged update",
        lhs=u_bar[t],
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
                average_of_ratios,
                RHS,
                steps=(1, 2, 3, 4),
                at=POINT,
                given=constant_window,
                method="exact for constant v",
            ),
        ),
    )
    split_exact = expand_rms2(theta_bar)
    dropped = split_exact - split_exact.subs(MeanDot(theta[0], u_bar[t]), 0)
    split = split_exact - dropped
    add(
        id="theta_rms_split",
        title="Initialisation and averaged update separate",
        section="Mean field, step 1: the averaged update",
        lhs=RMS2(theta[t]),
        rhs=split,
        kind=Kind.APPROXIMATION,
        justification=(
            "Take $\\Vert\\cdot\\Vert_{\\mathrm{RMS}}^2$ of [[theta_via_u_bar]]; the random "
            "initialisation is taken orthogonal to the averaged update."
        ),
        assumptions=(ORTHOGONAL_INIT,),
        uses=("theta_via_u_bar",),
        checks=(
            ByCoordinates(theta_bar, split_exact),
            DropsTerm(split_exact, RHS, dropped, ORTHOGONAL_INIT.latex),
        ),
    )
    decoupled = mean_field(E(ratio_avg**2))
    add(
        id="mean_field_u_bar",
        title="Second mean-field step",
        section="Mean field, step 1: the averaged update",
        lhs=E(u_bar[t] ** 2),
        rhs=decoupled,
        kind=Kind.APPROXIMATION,
        justification=(
            "With iid $\\boldsymbol{g}_j \\sim \\mathcal{N}(\\boldsymbol{\\mu}, "
            "\\boldsymbol{\\sigma}^2)$, square [[u_bar_mean_field]] and replace the expectation "
            "of the ratio by the ratio of expectations."
        ),
        assumptions=(MEAN_FIELD,),
        uses=("u_bar_mean_field",),
        checks=(MeanFieldRewrite(E(ratio_avg**2), RHS),),
    )

    # --- step 2: double sums ----------------------------------------------------------------------
    collapsed = {}
    for moment, beta, increment in (("m", b1, g[j]), ("v", b2, g[j] ** 2)):
        vector = m if moment == "m" else v
        # b3^{t-i} m_i with m_i unrolled: the weight moves inside the inner sum over j <= i.
        inner = sp.Sum(b3 ** (t - i) * (1 - beta) * beta ** (i - j) * increment, (j, 1, i))
        swapped = swap_triangular_sum(sp.Sum(inner, (i, 1, t)))
        coefficient = geometric_sum(swapped.function / ((1 - beta) * increment), i, j, t)
        rhs = (1 - beta) * sp.Sum(coefficient * increment, (j, 1, t))
        collapsed[moment] = (coefficient, rhs)
        lhs = sp.Sum(b3 ** (t - i) * vector[i], (i, 1, t))

        def brute(n: int, beta=beta, moment=moment) -> sp.Expr:
            beta_value, b3_value = POINT[beta], POINT[b3]
            sequence = [
                ema_recursion(beta_value, [gk if moment == "m" else gk**2 for gk in gradients(k)])
                for k in range(1, n + 1)
            ]
            return sum(b3_value ** (n - k) * s for k, s in enumerate(sequence, 1))

        add(
            id=f"double_sum_{moment}",
            title=f"Collapsing the double sum of {moment}",
            section="Step 2: collapsing the double sums",
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
                Induction(
                    coefficient,
                    beta ** (t - j),
                    t,
                    factor=b3,
                    base=j,
                    method="induction on t (coefficient)",
                ),
                BruteForce(brute, RHS, at=POINT),
            ),
        )

    # --- step 3: denominator -----------------------------------------------------------------
    mean_v_seq = prerequisite.step("mean_v").rhs
    coefficient_v = collapsed["v"][0]
    mean_v_bar = weight * (1 - b2) * (mu**2 + sigma**2) * geometric_sum(coefficient_v, j, 1, t)

    def moment_of_average(n: int, beta: sp.Expr, square_g: bool, power: int) -> sp.Expr:
        # Exact Gaussian moments of the weighted average, built from the recursions at POINT.
        beta_value, b3_value = POINT[beta], POINT[b3]

        def statistic(gs):
            sequence = [
                ema_recursion(beta_value, [gk**2 if square_g else gk for gk in gs[:k]])
                for k in range(1, n + 1)
            ]
            avg = sum(b3_value ** (n - k) * s for k, s in enumerate(sequence, 1))
            return (avg * weight.subs({t: n, b3: b3_value})) ** power

        return moment_at(n, statistic)

    add(
        id="mean_v_bar_exact",
        title="Mean of the averaged second moment, exact",
        section="Step 3: the denominator",
        lhs=E(v_bar[t]),
        rhs=mean_v_bar,
        kind=Kind.IDENTITY,
        justification=(
            "Expectation of [[v_bar_def]] through [[double_sum_v]] with "
            "$\\mathbb{E}[g_j^2] = \\mu^2 + \\sigma^2$, then a geometric sum in $j$."
        ),
        uses=("v_bar_def", "double_sum_v"),
        checks=(
            Induction(RHS / weight, mean_v_seq, t, factor=b3, method="induction on t (via E[v_t])"),
            BruteForce(
                lambda n: moment_of_average(n, b2, True, 1),
                RHS,
                steps=(1, 2, 3, 4),
                at=POINT,
                method="brute-force Gaussian moments",
            ),
        ),
    )
    late3 = ((y, 0, "+"), (b3, 1, "-"))
    mean_v_bar_approx = sp.factor(limit(limit(_frozen(mean_v_bar), y, 0), b3, 1, "-"))
    add(
        id="mean_v_bar_approx",
        title="Mean of the averaged second moment, approximated",
        section="Step 3: the denominator",
        lhs=E(v_bar[t]),
        rhs=mean_v_bar_approx,
        kind=Kind.APPROXIMATION,
        justification=(
            "In [[mean_v_bar_exact]] let $\\beta_2^{t+1} \\to 0$, then send the lone $\\beta_3$ "
            "to 1 while $\\beta_3^t$ (which need not be small) is held fixed."
        ),
        limit="\\beta_2^{t} \\to 0,\\ \\beta_3 \\to 1^- \\text{ with } \\beta_3^t \\text{ fixed}",
        uses=("mean_v_bar_exact",),
        checks=(LimitRatio(mean_v_bar, RHS, late3, f"{NAME}.mean_v_bar_approx", freeze=_FREEZE),),
    )
    mean_m_seq = prerequisite.step("mean_m").rhs
    mean_m_bar = weight * mu * geometric_sum(collapsed["m"][0] * (1 - b1), j, 1, t)
    mean_m_bar_approx = sp.factor(limit(limit(_frozen(mean_m_bar), z, 0), b3, 1, "-"))
    add(
        id="mean_m_bar",
        title="Mean of the averaged first moment",
        section="Step 3: the denominator",
        lhs=E(m_bar[t]),
        rhs=mean_m_bar_approx,
        kind=Kind.APPROXIMATION,
        justification=(
            "The same computation through [[double_sum_m]] with $\\mathbb{E}[g_j] = \\mu$ gives "
            "an exact closed form of the same shape, which tends to $\\mu$."
        ),
        limit="\\beta_1^{t} \\to 0,\\ \\beta_3 \\to 1^- \\text{ with } \\beta_3^t \\text{ fixed}",
        uses=("m_bar_def", "double_sum_m"),
        checks=(
            Induction(
                mean_m_bar / weight,
                mean_m_seq,
                t,
                factor=b3,
                method="induction on t (exact form, via E[m_t])",
            ),
            LimitRatio(
                mean_m_bar, RHS, ((z, 0, "+"), (b3, 1, "-")), f"{NAME}.mean_m_bar", freeze=_FREEZE
            ),
        ),
    )

    # --- step 4: numerator ---------------------------------------------------------------------
    coefficient_m = collapsed["m"][0]
    var_m_bar = weight**2 * (1 - b1) ** 2 * sigma**2 * geometric_sum(coefficient_m**2, j, 1, t)
    add(
        id="var_m_bar_exact",
        title="Variance of the averaged first moment, exact",
        section="Step 4: the numerator",
        lhs=Var(m_bar[t]),
        rhs=var_m_bar,
        kind=Kind.IDENTITY,
        justification=(
            "[[update_rms.variance_of_sum]] applied to [[double_sum_m]]: square each coefficient, "
            "expand, and sum the three geometric series in $j$."
        ),
        uses=("double_sum_m", "update_rms.variance_of_sum"),
        checks=(
            Induction(
                RHS / weight**2,
                ((1 - b1) * coefficient_m).subs(j, 1) ** 2 * sigma**2,
                t,
                method="induction on t (sum of squared coefficients)",
            ),
            BruteForce(
                lambda n: (
                    moment_of_average(n, b1, False, 2) - moment_of_average(n, b1, False, 1) ** 2
                ),
                RHS,
                steps=(1, 2, 3, 4),
                at=POINT,
                method="brute-force Gaussian moments",
            ),
        ),
    )
    leading = limit(limit(_frozen(var_m_bar), z, 0) / (1 - b3), b3, 1, "-")
    var_m_bar_approx = (1 - b3) * sp.factor(leading).xreplace({x: b3**t})
    add(
        id="var_m_bar_approx",
        title="Variance of the averaged first moment, approximated",
        section="Step 4: the numerator",
        lhs=Var(m_bar[t]),
        rhs=var_m_bar_approx,
        kind=Kind.APPROXIMATION,
        justification=(
            "Leading order of [[var_m_bar_exact]] in $1-\\beta_3$ with $\\beta_3^t$ held fixed "
            "and $\\beta_1^{t} \\to 0$; $\\beta_1$ drops out."
        ),
        limit="\\beta_1^{t} \\to 0,\\ \\beta_3 \\to 1^- \\text{ with } \\beta_3^t \\text{ fixed}",
        uses=("var_m_bar_exact",),
        checks=(
            LimitRatio(
                var_m_bar,
                RHS,
                ((z, 0, "+"), (b3, 1, "-")),
                f"{NAME}.var_m_bar_approx",
                freeze=_FREEZE,
            ),
        ),
    )
    second_approx = mean_m_bar_approx**2 + var_m_bar_approx
    u_bar_sq = decoupled.xreplace({E(m_bar[t] ** 2): second_approx, E(v_bar[t]): mean_v_bar_approx})
    add(
        id="u_bar_sq",
        title="Mean-field averaged update",
        section="Step 4: the numerator",
        lhs=E(u_bar[t] ** 2),
        rhs=u_bar_sq,
        kind=Kind.APPROXIMATION,
        justification=(
            "$\\mathbb{E}[\\bar m^2] = \\mathbb{E}[\\bar m]^2 + \\mathbb{V}\\mathrm{ar}[\\bar m]$ "
            "with [[mean_m_bar]] and [[var_m_bar_approx]], over [[mean_v_bar_approx]], in "
            "[[mean_field_u_bar]]."
        ),
        limit="\\beta_1^t, \\beta_2^t \\to 0,\\ \\beta_3 \\to 1^- \\text{ with } \\beta_3^t "
        "\\text{ fixed}",
        assumptions=(MEAN_FIELD,),
        uses=("mean_field_u_bar", "mean_m_bar", "var_m_bar_approx", "mean_v_bar_approx"),
        checks=(
            RewriteToZero(
                decoupled,
                RHS,
                given={E(m_bar[t] ** 2): second_approx, E(v_bar[t]): mean_v_bar_approx},
                method="substitution",
            ),
        ),
    )

    # --- step 5: result ------------------------------------------------------------------------
    averaged = coordinate_average(u_bar_sq)
    u_bar_rms = in_snr(averaged)
    add(
        id="u_bar_rms",
        title="RMS of the averaged update",
        section="Step 5: the result",
        lhs=RMS2(u_bar[t]),
        rhs=u_bar_rms,
        kind=Kind.APPROXIMATION,
        justification=(
            "Average numerator and denominator of [[u_bar_sq]] over coordinates and divide by "
            "$\\Vert\\boldsymbol{\\sigma}\\Vert^2$, as in [[update_rms.update_rms_sq]]."
        ),
        assumptions=(COORDINATE_AVERAGE,),
        uses=("u_bar_sq",),
        checks=(RewriteToZero(averaged, RHS, given=SNR_OF_NORMS),),
    )
    theta_rms = split.xreplace({RMS2(u_bar[t]): u_bar_rms})
    add(
        id="theta_rms",
        title="The weight RMS",
        section="Step 5: the result",
        lhs=RMS2(theta[t]),
        rhs=theta_rms,
        kind=Kind.APPROXIMATION,
        label="eq:theta-rms",
        justification="[[u_bar_rms]] in [[theta_rms_split]].",
        limit="\\beta_1^t, \\beta_2^t \\to 0,\\ \\eta\\lambda \\ll 1",
        assumptions=(ORTHOGONAL_INIT, MEAN_FIELD, COORDINATE_AVERAGE),
        uses=("theta_rms_split", "u_bar_rms"),
        checks=(
            RewriteToZero(split, RHS, given={RMS2(u_bar[t]): u_bar_rms}, method="substitution"),
        ),
    )

    # --- special cases ---------------------------------------------------------------------------
    beta3_value = {b3: 1 - eta * lam}
    at_mu0 = theta_rms.subs(snr, 0)
    mu0_frozen = sp.expand(sp.cancel(_frozen(at_mu0).subs(beta3_value)))
    from_init = mu0_frozen.coeff(S.rho0) * S.rho0
    mu0 = _unfreeze(from_init + tidy((mu0_frozen - from_init).subs(x**2, x2), t).subs(x2, x**2))
    add(
        id="theta_rms_mu0",
        title="Zero-mean gradients",
        section="Special cases",
        lhs=RMS2(theta[t]),
        rhs=mu0,
        kind=Kind.APPROXIMATION,
        label="eq:theta-rms-mu0",
        justification=(
            "[[theta_rms]] at $\\boldsymbol{\\mu} = 0$, using $1 - \\beta_3 = \\eta\\lambda$ "
            "outside the powers."
        ),
        limit="\\boldsymbol{\\mu} = 0 \\text{ (an exact substitution)}",
        uses=("theta_rms", "beta3_def"),
        checks=(RewriteToZero(at_mu0, RHS, given=beta3_value, method="substitution SNR = 0"),),
    )
    equilibrium_sq = limit(_frozen(mu0), x, 0, "+")
    simple = sp.sqrt(equilibrium_sq)
    add(
        id="theta_rms_simple",
        title="The equilibrium",
        section="Special cases",
        lhs=RMS(theta[t]),
        rhs=simple,
        kind=Kind.APPROXIMATION,
        label="eq:theta-rms-simple",
        justification=(
            "[[theta_rms_mu0]] as $t \\to \\infty$ ($\\beta_3^t \\to 0$), or exactly for every $t$ "
            "when $\\Vert\\boldsymbol{\\theta}_0\\Vert_{\\mathrm{RMS}}^2 = \\eta/(2\\lambda)$: the "
            "rotational-equilibrium value, with no $\\beta_1$ and no $\\beta_2$. Unlike "
            "[[quick_estimate]], there is no factor $\\sqrt{(1-\\beta_1)/(1+\\beta_1)}$."
        ),
        limit="t \\to \\infty",
        uses=("theta_rms_mu0",),
        checks=(
            LimitValue(mu0, RHS**2, x, 0, f"{NAME}.theta_rms_simple", freeze={b3**t: x}),
            RewriteToZero(mu0.subs(S.rho0, RHS**2), RHS**2, method="exact at equilibrium start"),
        ),
    )
    in_eta = mu0.subs(beta3_value)
    no_decay = sp.expand(limit(in_eta, lam, 0, "+"))
    add(
        id="theta_rms_no_decay",
        title="No weight decay",
        section="Special cases",
        lhs=RMS2(theta[t]),
        rhs=no_decay,
        kind=Kind.APPROXIMATION,
        justification=(
            "[[theta_rms_mu0]] with $\\beta_3 = 1 - \\eta\\lambda$ as $\\lambda \\to 0$: the "
            "weight RMS grows like $\\eta\\sqrt{t}$."
        ),
        limit="\\lambda \\to 0^+",
        uses=("theta_rms_mu0",),
        checks=(LimitValue(in_eta, RHS, lam, 0, f"{NAME}.theta_rms_no_decay"),),
    )
    numerator, denominator = sp.fraction(sp.together(u_bar_rms))
    dominant = sp.Poly(numerator, snr).LT()
    dominant = dominant[1] * snr ** dominant[0][0]
    large_snr = split.xreplace({RMS2(u_bar[t]): sp.factor(dominant / denominator)})
    add(
        id="theta_rms_large_snr",
        title="Signal-dominated gradients",
        section="Special cases",
        lhs=RMS2(theta[t]),
        rhs=large_snr,
        kind=Kind.APPROXIMATION,
        justification=(
            "[[theta_rms]] when the signal-to-noise ratio dominates the numerator (large batches)."
        ),
        limit="\\mathrm{SNR} \\gg (1-\\beta_3)(1+\\beta_3^t)/(2(1-\\beta_3^t))",
        uses=("theta_rms",),
        checks=(LimitRatio(theta_rms, RHS, ((snr, sp.oo, "-"),), f"{NAME}.theta_rms_large_snr"),),
    )
    # --- beyond the source: the weight decay for a target RMS -----------------------------------
    frozen_in_eta = _frozen(theta_rms).subs(beta3_value)
    equilibrium = sp.factor(limit(frozen_in_eta, x, 0, "+"))
    add(
        id="theta_rms_equilibrium",
        title="The equilibrium with a gradient mean",
        section=TARGET_SECTION,
        lhs=RMS2(theta[t]),
        rhs=equilibrium,
        kind=Kind.APPROXIMATION,
        justification=(
            "[[theta_rms]] as $t \\to \\infty$ for any signal-to-noise ratio, with "
            "$1 - \\beta_3 = \\eta\\lambda$ from [[beta3_def]]: $\\beta_3^t \\to 0$ erases the "
            "initialisation. Without a gradient mean it is the square of [[theta_rms_simple]]; "
            "a strong mean pushes it towards $1/\\lambda^2$, where a constant update of RMS 1 "
            "balances the decay."
        ),
        limit="t \\to \\infty",
        uses=("theta_rms", "beta3_def", "theta_rms_simple"),
        checks=(
            LimitValue(frozen_in_eta, RHS, x, 0, f"{NAME}.theta_rms_equilibrium"),
            RewriteToZero(
                RHS, simple**2, given={snr: 0}, method="at SNR = 0: eq:theta-rms-simple squared"
            ),
        ),
    )
    target = S.target_rms
    # Both sides of ||theta||_RMS = r are positive: it has the roots of the squared equation,
    # which SymPy solves as a rational equation (2.4x faster than with the square root).
    roots = sp.solve(sp.Eq(equilibrium, target**2), lam)
    positive = [root for root in roots if root.is_positive]
    if len(positive) != 1:
        raise ValueError(f"expected one provably positive root of the equilibrium, got {roots}")
    (decay_root,) = positive
    quadratic = sp.fraction(sp.together(equilibrium - target**2))[0]
    (no_mean_root,) = sp.solve(sp.Eq(simple**2, target**2), lam)
    reaches_target = equilibrium.xreplace({lam: RHS})
    add(
        id="weight_decay_for_rms",
        title="Weight decay for a target RMS",
        section=TARGET_SECTION,
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
            RewriteToZero(reaches_target, target**2, method="substituted back"),
            SpotCheck(sp.sqrt(reaches_target), target, f"{NAME}.weight_decay_for_rms"),
            UniquePositiveRoot(quadratic, lam, RHS),
            RewriteToZero(
                RHS,
                no_mean_root,
                given={snr: 0},
                method="at SNR = 0: eq:theta-rms-simple solved for lambda",
            ),
        ),
    )
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
    )


_FREEZE = {b3**t: x, b2**t: y, b1**t: z}
x2 = sp.Symbol("x2", positive=True)  # beta3^(2t), kept whole in the printed special case


def _frozen(expr: sp.Expr) -> sp.Expr:
    """Hold beta3^t, beta2^t, beta1^t fixed as x, y, z (so limits in the lone betas apply)."""
    return freeze_powers(expr, _FREEZE)


def _unfreeze(expr: sp.Expr) -> sp.Expr:
    return expr.xreplace({x: b3**t, y: b2**t, z: b1**t})
