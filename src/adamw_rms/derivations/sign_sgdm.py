"""The weight RMS of SignSGDMW (``u = sign(m)``): the source's mean field, and the arcsine law.

Source: Su Jianlin, "Asymptotic estimate of AdamW's weight RMS, part 1" (kexue.fm/archives/11307),
section "sign version". The first sections follow the source: ``sign(m) = m/sqrt(m^2)`` turns
the sign optimizer into the AdamW derivation with the averaged second moment redefined as the
average of ``m_i^2``. The source's result is a mean-field guess, and a simulation shows it is far
off for ``beta1 >= 0.5``. The later sections find why and derive the correction (beyond the
source): for Gaussian momenta the sign keeps the autocorrelation ``(2/pi) arcsin(beta1^k)``, not
``beta1^k`` (the arcsine law), and the weight RMS follows from the autocovariances of the update
without any mean-field step. Every right side is computed from earlier steps; the lemmas from
outside the source are checked against mpmath quadrature of the Gaussian densities.
"""

from __future__ import annotations

import mpmath
import sympy as sp

from .. import symbols as S
from ..algebra import freeze_powers, limit
from ..checks import BRUTE_FORCE_POINT as POINT
from ..checks import (
    RHS,
    BruteForce,
    Induction,
    LimitRatio,
    LimitValue,
    MeanFieldRewrite,
    Quadrature,
    RewriteToZero,
    SequenceLimit,
)
from ..rules import geometric_sum, mean_field, prefer_one_minus, tidy
from ..steps import Assumption, Derivation, Kind, Step, StepRecorder, derivation
from ._source import SIGN_SGDM_CLAIMS, WEIGHT_RMS_SOURCE
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
from .weight_rms import AVERAGED_RATIO

b1, b3, t, i, j, k = S.beta1, S.beta3, S.t, S.i, S.j, S.lag
eta, lam, mu, sigma, snr = S.eta, S.lam, S.mu, S.sigma, S.snr
theta, u, m, g = S.theta, S.u, S.m, S.g
u_bar, m_bar, v_bar = S.u_bar, S.m_bar, S.v_bar
E, Var, RMS2, RMS = S.Expect, S.Variance, S.RMS2, S.RMS
Cov, Corr, C = S.Covariance, S.Correlation, S.Autocovariance
rho, a, phi, X, Y = S.rho, S.shift, S.angle, S.pair_x, S.pair_y
x, z = S.beta3_pow_t, S.beta1_pow_t

NAME = "sign_sgdm"
SECTIONS = (
    "Sign as a normalised update",
    "The source's mean field",
    "Special cases of the mean field",
    "The arcsine law",
    "Autocovariance of the sign update",
    "The corrected weight RMS",
    "Gradients with a mean",
)

STATIONARY_MOMENTUM = Assumption(
    "stationary_momentum",
    "the momentum has forgotten its zero start, so it is a stationary Gaussian process "
    "(exact for iid Gaussian gradients once the start-up transient of a few 1/(1-beta1) steps "
    "is over)",
    r"\beta_1^{t} \approx 0",
)
IDENTICAL_COORDINATES = Assumption(
    "identical_coordinates",
    "every coordinate has the same ratio of gradient mean to noise, mu/sigma = sqrt(SNR)",
    r"\mu_k^2/\sigma_k^2 = \mathrm{SNR}",
)

_FREEZE = {b3**t: x, b1**t: z}


def _frozen(expr: sp.Expr) -> sp.Expr:
    return freeze_powers(expr, _FREEZE)


def _integrals_done(expr: sp.Expr) -> sp.Expr:
    """Evaluate the integrals only (``doit`` on a whole expression would also try the sums)."""
    return expr.replace(lambda e: isinstance(e, sp.Integral), lambda e: e.doit())


# --- Gaussian references for the lemmas (mpmath quadrature, independent of the closed forms) ---


def _normal_density(value, mean):
    return mpmath.exp(-((value - mean) ** 2) / 2) / mpmath.sqrt(2 * mpmath.pi)


def _positive_probability(mean) -> mpmath.mpf:
    return mpmath.quad(lambda value: _normal_density(value, mean), [0, max(mean, 0), mpmath.inf])


def _orthant_probability(mean, correlation) -> mpmath.mpf:
    """P(X > 0, Y > 0) for unit-variance normals with equal means, by quadrature over X.

    Given ``X = x``, ``Y`` is normal with mean ``a + rho (x - a)`` and variance ``1 - rho^2``.
    """
    spread = mpmath.sqrt(1 - correlation**2)

    def integrand(value):
        conditional_mean = mean + correlation * (value - mean)
        return _normal_density(value, mean) * mpmath.ncdf(conditional_mean / spread)

    return mpmath.quad(integrand, [0, max(mean, 0), mpmath.inf])


def _sign_covariance_reference(point) -> mpmath.mpf:
    mean, correlation = mpmath.mpf(str(point[a])), mpmath.mpf(str(point[rho]))
    positive = _positive_probability(mean)
    return 4 * (_orthant_probability(mean, correlation) - positive**2)


def _sign_mean_reference(point) -> mpmath.mpf:
    mean = mpmath.mpf(str(point[a]))
    return 2 * _positive_probability(mean) - 1


_LEMMA_POINTS = tuple(
    {a: sp.Rational(mean), rho: sp.Rational(correlation)}
    for mean, correlation in (("0", "1/2"), ("0", "-3/10"), ("0", "9/10"), ("3/5", "7/10"))
)
_ARCSINE_POINTS = tuple(p for p in _LEMMA_POINTS if p[a] == 0)


def build() -> Derivation:
    weight_rms = derivation("weight_rms")
    update_rms = derivation("update_rms")
    recorder = StepRecorder(NAME, SIGN_SGDM_CLAIMS, strict=False)
    add = recorder.add

    def restate(step_id: str, section: str, justification: str) -> Step:
        # A step of the AdamW derivation that holds word for word for any update u.
        original = weight_rms.step(step_id)
        return add(
            id=step_id,
            title=original.title,
            section=section,
            lhs=original.lhs,
            rhs=original.rhs,
            kind=original.kind,
            justification=justification,
            limit=original.limit,
            assumptions=original.assumptions,
            uses=(f"weight_rms.{step_id}",),
            checks=original.checks,
        )

    # --- sign as a normalised update --------------------------------------------------------------
    section = "Sign as a normalised update"
    add(
        id="sign_update",
        title="SignSGD with momentum and decoupled weight decay",
        section=section,
        lhs=u[t],
        rhs=m[t] / sp.sqrt(m[t] ** 2),
        kind=Kind.DEFINITION,
        justification=(
            "The update is the sign of the momentum $\\boldsymbol{m}_t$ "
            "([[update_rms.m_unrolled]]), written as "
            "$\\boldsymbol{m}_t/\\sqrt{\\boldsymbol{m}_t^2}$: "
            "Adam's update with $\\boldsymbol{v}_t$ replaced by $\\boldsymbol{m}_t^2$. The weights "
            "follow [[weight_rms.adamw_update]] with this $\\boldsymbol{u}_t$."
        ),
    )
    weight = (1 - b3) / (1 - b3**t)
    v_bar_sum = weight * sp.Sum(b3 ** (t - i) * m[i] ** 2, (i, 1, t))
    add(
        id="v_bar_def",
        title="The averaged second moment, redefined",
        section=section,
        lhs=v_bar[t],
        rhs=v_bar_sum,
        kind=Kind.DEFINITION,
        justification=(
            "The $\\beta_3$-weighted average of $\\boldsymbol{m}_i^2$, the sign optimizer's "
            "stand-in for $\\boldsymbol{v}_i$; $\\bar{\\boldsymbol{u}}_t$ and "
            "$\\bar{\\boldsymbol{m}}_t$ are as in [[weight_rms.u_bar_def]] and "
            "[[weight_rms.m_bar_def]]."
        ),
    )
    restate(
        "theta_rms_split",
        section,
        "[[weight_rms.theta_rms_split]] holds for any update: the weights are the same "
        "weighted average of $-\\boldsymbol{u}/\\lambda$.",
    )

    # --- the source's mean field ------------------------------------------------------------------
    section = "The source's mean field"
    ratio_avg = m_bar[t] / sp.sqrt(v_bar[t])
    constant_square = sp.Symbol("M2", positive=True)
    m_bar_sum = weight * sp.Sum(b3 ** (t - i) * m[i], (i, 1, t))
    add(
        id="u_bar_mean_field",
        title="First mean-field step",
        section=section,
        lhs=u_bar[t],
        rhs=ratio_avg,
        kind=Kind.APPROXIMATION,
        justification=(
            "As in [[weight_rms.u_bar_mean_field]]: the average of the ratios "
            "$\\boldsymbol{m}_i/\\sqrt{\\boldsymbol{m}_i^2}$ is replaced by the ratio of the "
            "averages [[v_bar_def]]. Exact only if $|\\boldsymbol{m}_i|$ is constant over the "
            "window, which a sign never sees."
        ),
        assumptions=(AVERAGED_RATIO,),
        uses=("sign_update", "v_bar_def"),
        checks=(
            BruteForce(
                weight * sp.Sum(b3 ** (t - i) * m[i] / sp.sqrt(constant_square), (i, 1, t)),
                RHS,
                steps=(1, 2, 3, 4),
                at=POINT,
                given={
                    m_bar[t]: m_bar_sum,
                    v_bar[t]: v_bar_sum.xreplace({m[i] ** 2: constant_square}),
                },
                method="exact for constant m^2",
            ),
        ),
    )
    decoupled = mean_field(E(ratio_avg**2))
    add(
        id="mean_field_u_bar",
        title="Second mean-field step",
        section=section,
        lhs=E(u_bar[t] ** 2),
        rhs=decoupled,
        kind=Kind.APPROXIMATION,
        justification="Square [[u_bar_mean_field]]; the expectation of the ratio becomes the "
        "ratio of expectations.",
        assumptions=(MEAN_FIELD,),
        uses=("u_bar_mean_field",),
        checks=(MeanFieldRewrite(E(ratio_avg**2), RHS),),
    )
    second_m = update_rms.step("second_moment_m").rhs
    inner = geometric_sum(b3 ** (t - i) * second_m.subs(t, i), i, 1, t)
    # Grouped by mu^2 and sigma^2 (factoring the whole sum is ten times slower and no clearer).
    by_moment = sp.collect(sp.expand(inner), [mu**2, sigma**2], evaluate=False)
    mean_v_bar = weight * sp.Add(*(tidy(c, t) * power for power, c in by_moment.items()))

    def brute_mean_v_bar(n: int) -> sp.Expr:
        beta1_value, beta3_value = POINT[b1], POINT[b3]

        def statistic(gs):
            momenta = [ema_recursion(beta1_value, gs[:q]) for q in range(1, n + 1)]
            total = sum(beta3_value ** (n - q) * mq**2 for q, mq in enumerate(momenta, 1))
            return total * weight.subs({t: n, b3: beta3_value})

        return moment_at(n, statistic)

    add(
        id="mean_v_bar_exact",
        title="Mean of the averaged squared momentum, exact",
        section=section,
        lhs=E(v_bar[t]),
        rhs=mean_v_bar,
        kind=Kind.IDENTITY,
        justification=(
            "Expectation of [[v_bar_def]] with $\\mathbb{E}[m_i^2]$ from "
            "[[update_rms.second_moment_m]], summed as geometric series in $i$."
        ),
        uses=("v_bar_def", "update_rms.second_moment_m"),
        checks=(
            Induction(RHS / weight, second_m, t, factor=b3, method="induction on t (via E[m_t^2])"),
            BruteForce(
                brute_mean_v_bar,
                RHS,
                steps=(1, 2, 3),
                at=POINT,
                method="brute-force Gaussian moments",
            ),
        ),
    )
    late = ((z, 0, "+"), (b3, 1, "-"))
    limit_value = sp.expand(limit(limit(_frozen(mean_v_bar), z, 0), b3, 1, "-"))
    # Grouped by mu^2 and sigma^2, as the source writes it.
    mean_v_bar_approx = sp.Add(
        *(
            prefer_one_minus(sp.factor(coefficient)) * power
            for power, coefficient in sp.collect(
                limit_value, [mu**2, sigma**2], evaluate=False
            ).items()
        )
    )
    add(
        id="mean_v_bar_approx",
        title="Mean of the averaged squared momentum, approximated",
        section=section,
        lhs=E(v_bar[t]),
        rhs=mean_v_bar_approx,
        kind=Kind.APPROXIMATION,
        justification=(
            "In [[mean_v_bar_exact]] let $\\beta_1^t \\to 0$, then $\\beta_3 \\to 1$ with "
            "$\\beta_3^t$ held fixed: the stationary $\\mathbb{E}[m^2]$ of "
            "[[update_rms.var_m_limit]]."
        ),
        limit="\\beta_1^{t} \\to 0,\\ \\beta_3 \\to 1^- \\text{ with } \\beta_3^t \\text{ fixed}",
        uses=("mean_v_bar_exact",),
        checks=(LimitRatio(mean_v_bar, RHS, late, f"{NAME}.mean_v_bar_approx", freeze=_FREEZE),),
    )
    mean_m_bar = weight_rms.step("mean_m_bar").rhs
    var_m_bar = weight_rms.step("var_m_bar_approx").rhs
    second_m_bar = mean_m_bar**2 + var_m_bar
    u_bar_sq = decoupled.xreplace({E(m_bar[t] ** 2): second_m_bar, E(v_bar[t]): mean_v_bar_approx})
    add(
        id="u_bar_sq",
        title="Mean-field averaged update",
        section=section,
        lhs=E(u_bar[t] ** 2),
        rhs=u_bar_sq,
        kind=Kind.APPROXIMATION,
        justification=(
            "The numerator is AdamW's, [[weight_rms.mean_m_bar]] and "
            "[[weight_rms.var_m_bar_approx]]; the denominator is [[mean_v_bar_approx]]."
        ),
        limit="\\beta_1^t \\to 0,\\ \\beta_3 \\to 1^- \\text{ with } \\beta_3^t \\text{ fixed}",
        assumptions=(MEAN_FIELD,),
        uses=(
            "mean_field_u_bar",
            "weight_rms.mean_m_bar",
            "weight_rms.var_m_bar_approx",
            "mean_v_bar_approx",
        ),
        checks=(
            RewriteToZero(
                decoupled,
                RHS,
                given={E(m_bar[t] ** 2): second_m_bar, E(v_bar[t]): mean_v_bar_approx},
                method="substitution",
            ),
        ),
    )
    averaged = coordinate_average(u_bar_sq)
    u_bar_rms = in_snr(averaged)
    add(
        id="u_bar_rms",
        title="RMS of the averaged update",
        section=section,
        lhs=RMS2(u_bar[t]),
        rhs=u_bar_rms,
        kind=Kind.APPROXIMATION,
        justification="Average numerator and denominator of [[u_bar_sq]] over coordinates.",
        assumptions=(COORDINATE_AVERAGE,),
        uses=("u_bar_sq",),
        checks=(RewriteToZero(averaged, RHS, given=SNR_OF_NORMS),),
    )
    split = weight_rms.step("theta_rms_split").rhs
    theta_rms = split.xreplace({RMS2(u_bar[t]): u_bar_rms})
    add(
        id="theta_rms_sign",
        title="The source's weight RMS of SignSGDMW",
        section=section,
        lhs=RMS2(theta[t]),
        rhs=theta_rms,
        kind=Kind.APPROXIMATION,
        justification=(
            "[[u_bar_rms]] in [[theta_rms_split]]. It differs from AdamW's "
            "[[weight_rms.theta_rms]] only in the denominator: $(1-\\beta_1)/(1+\\beta_1)$ where "
            "AdamW has 1."
        ),
        limit="\\beta_1^t \\to 0,\\ \\eta\\lambda \\ll 1",
        assumptions=(MEAN_FIELD, COORDINATE_AVERAGE),
        uses=("theta_rms_split", "u_bar_rms"),
        checks=(
            RewriteToZero(split, RHS, given={RMS2(u_bar[t]): u_bar_rms}, method="substitution"),
        ),
    )

    # --- special cases of the mean field --------------------------------------------------------
    section = "Special cases of the mean field"
    beta3_value = {b3: 1 - eta * lam}
    at_mu0 = theta_rms.subs(snr, 0)
    equilibrium_sq = sp.factor(limit(_frozen(at_mu0).subs(beta3_value), x, 0, "+"))
    simple = sp.sqrt(prefer_one_minus(equilibrium_sq), evaluate=False)
    add(
        id="theta_rms_sign_simple",
        title="The source's equilibrium",
        section=section,
        lhs=RMS(theta[t]),
        rhs=simple,
        kind=Kind.APPROXIMATION,
        justification=(
            "[[theta_rms_sign]] at $\\boldsymbol{\\mu} = 0$ as $t \\to \\infty$, with "
            "$1 - \\beta_3 = \\eta\\lambda$. The source prints the squared RMS on the left of "
            "this square root: a typo, since the right side is an RMS (see the errata)."
        ),
        limit="\\boldsymbol{\\mu} = 0,\\ t \\to \\infty",
        assumptions=(MEAN_FIELD,),
        uses=("theta_rms_sign", "weight_rms.beta3_def"),
        checks=(
            LimitValue(
                _frozen(at_mu0).subs(beta3_value), RHS**2, x, 0, f"{NAME}.theta_rms_sign_simple"
            ),
        ),
    )
    adamw_equilibrium = weight_rms.result("equilibrium_weight_rms")
    ratio_sq = sp.factor(equilibrium_sq / adamw_equilibrium**2)
    ratio = sp.sqrt(prefer_one_minus(ratio_sq), evaluate=False)
    add(
        id="ratio_to_adamw",
        title="The source's ratio to AdamW",
        section=section,
        lhs=RMS(theta[t]) / sp.Symbol(r"\Vert\theta_t^{\mathrm{AdamW}}\Vert_{\mathrm{RMS}}"),
        rhs=ratio,
        kind=Kind.APPROXIMATION,
        justification=(
            "[[theta_rms_sign_simple]] over [[weight_rms.theta_rms_simple]]: the source's "
            "reading is that the sign update's RMS, 1, is $\\sqrt{(1+\\beta_1)/(1-\\beta_1)}$ "
            "times AdamW's [[update_rms.update_rms_mu0]], and the weight RMS scales with it."
        ),
        limit="\\boldsymbol{\\mu} = 0,\\ t \\to \\infty",
        assumptions=(MEAN_FIELD,),
        uses=("theta_rms_sign_simple", "weight_rms.theta_rms_simple"),
        checks=(
            RewriteToZero(
                (simple / adamw_equilibrium) ** 2,
                RHS**2,
                method="squares of the ratio of the equilibria (both sides positive)",
            ),
            RewriteToZero(
                (RHS * update_rms.step("update_rms_mu0").rhs) ** 2,
                sp.Integer(1),
                method="square of RHS times AdamW's update RMS is 1",
            ),
        ),
    )

    # --- the arcsine law ------------------------------------------------------------------------
    section = "The arcsine law"
    plackett = (2 / sp.pi) * sp.Integral(
        sp.exp(-(a**2) / (1 + sp.sin(phi))), (phi, 0, sp.asin(rho))
    )
    add(
        id="sign_covariance",
        title="Covariance of two signs",
        section=section,
        lhs=Cov(sp.sign(X), sp.sign(Y)),
        rhs=plackett,
        kind=Kind.IDENTITY,
        justification=(
            "For $X, Y$ jointly normal with means $a$, unit variances and correlation $\\rho$: "
            "$\\mathrm{sign} = 2\\cdot\\mathbf{1}_{>0} - 1$, so the covariance is "
            "$4(P(X>0, Y>0) - P(X>0)^2)$; Plackett's identity "
            "$\\partial_\\rho P = \\varphi_2(a, a; \\rho)$ integrated from $\\rho = 0$ "
            "(independence) with $\\rho = \\sin\\phi$ gives the integral. Checked against a "
            "two-dimensional quadrature of the bivariate normal density over the quadrant."
        ),
        checks=(
            Quadrature(
                RHS,
                _sign_covariance_reference,
                _LEMMA_POINTS,
                method="mpmath quadrature of the orthant probability",
            ),
        ),
    )
    arcsine = plackett.subs(a, 0).doit()
    add(
        id="arcsine_law",
        title="The arcsine law",
        section=section,
        lhs=E(sp.sign(X) * sp.sign(Y)),
        rhs=arcsine,
        kind=Kind.IDENTITY,
        justification=(
            "[[sign_covariance]] at $a = 0$, where the integrand is 1 and the signs have mean "
            "0: the correlation of the signs is $(2/\\pi)\\arcsin\\rho$, strictly below $\\rho$ "
            "for $0 < \\rho < 1$ (it is convex in $\\rho$ and equal to $\\rho$ at 0 and 1)."
        ),
        uses=("sign_covariance",),
        checks=(
            RewriteToZero(plackett.subs(a, 0).doit(), RHS, method="integral at a = 0"),
            Quadrature(
                RHS,
                _sign_covariance_reference,
                _ARCSINE_POINTS,
                method="mpmath quadrature of the orthant probability",
            ),
        ),
    )
    # P(X > 0) for X ~ N(a, 1) is the standard normal's mass above -a.
    standard = sp.Dummy("z", real=True)
    above = sp.integrate(sp.exp(-(standard**2) / 2) / sp.sqrt(2 * sp.pi), (standard, -a, sp.oo))
    sign_mean = sp.expand(2 * above - 1).rewrite(sp.erf)
    add(
        id="sign_mean",
        title="Mean of a sign",
        section=section,
        lhs=E(sp.sign(X)),
        rhs=sign_mean,
        kind=Kind.IDENTITY,
        justification="$2P(X > 0) - 1$ for $X \\sim \\mathcal{N}(a, 1)$.",
        checks=(
            Quadrature(
                RHS,
                _sign_mean_reference,
                tuple({a: sp.Rational(v)} for v in ("0", "1/3", "-6/5", "5/2")),
                method="mpmath quadrature of the density",
            ),
        ),
    )

    # --- autocovariance of the sign update ------------------------------------------------------
    section = "Autocovariance of the sign update"
    m_roll = update_rms.step("m_unrolled").rhs
    lagged = b1**k * m[t] + sp.Sum((1 - b1) * b1 ** (t + k - j) * g[j], (j, t + 1, t + k))
    add(
        id="m_lagged",
        title="Momentum k steps later",
        section=section,
        lhs=m[t + k],
        rhs=lagged,
        kind=Kind.IDENTITY,
        justification=(
            "Run the recursion of [[update_rms.m_unrolled]] $k$ steps on from "
            "$\\boldsymbol{m}_t$: what is added is independent of $\\boldsymbol{m}_t$."
        ),
        uses=("update_rms.m_unrolled",),
        checks=tuple(
            BruteForce(
                lambda n, lag=lag: ema_recursion(POINT[b1], gradients(n + lag)),
                RHS,
                steps=(1, 2, 3),
                at=POINT,
                given={k: lag, m[t]: m_roll},
                method=f"brute force, k = {lag}",
            )
            for lag in (1, 2)
        ),
    )
    var_m = update_rms.step("var_m").rhs
    # Cov = beta1^k Var[m_t] by m_lagged, so Corr = beta1^k sqrt(Var[m_t] / Var[m_{t+k}]).
    correlation_exact = b1**k * sp.sqrt(sp.cancel(var_m / var_m.subs(t, t + k)))
    # subs (not freeze_powers) so that beta1^k stays a power of beta1.
    correlation = limit(correlation_exact.subs(b1**t, z), z, 0)
    add(
        id="m_autocorrelation",
        title="Autocorrelation of the momentum",
        section=section,
        lhs=Corr(m[t], m[t + k]),
        rhs=correlation,
        kind=Kind.APPROXIMATION,
        justification=(
            "By [[m_lagged]], $\\mathrm{Cov}[m_t, m_{t+k}] = \\beta_1^k\\,\\mathbb{V}\\mathrm{ar}"
            "[m_t]$ exactly; with [[update_rms.var_m]] the correlation tends to $\\beta_1^k$ once "
            "$\\beta_1^t$ is negligible. The momentum is Gaussian (a linear function of Gaussian "
            "gradients), so this correlation is all the arcsine law needs."
        ),
        limit="\\beta_1^{t} \\to 0",
        assumptions=(STATIONARY_MOMENTUM,),
        uses=("m_lagged", "update_rms.var_m"),
        checks=(
            LimitRatio(
                correlation_exact.subs(b1**t, z), RHS, ((z, 0, "+"),), f"{NAME}.m_autocorrelation"
            ),
        ),
    )
    autocovariance = arcsine.subs(rho, correlation)
    add(
        id="u_autocovariance",
        title="Autocovariance of the sign update",
        section=section,
        lhs=E(u[t] * u[t + k]),
        rhs=autocovariance,
        kind=Kind.APPROXIMATION,
        justification=(
            "At $\\boldsymbol{\\mu} = 0$ the momenta $m_t, m_{t+k}$ are a centred Gaussian "
            "pair with correlation [[m_autocorrelation]]; apply [[arcsine_law]]. The source's "
            "mean field instead keeps $\\beta_1^k$, the momentum's own autocorrelation, as if "
            "the sign were a fixed rescaling of $m$. Since $(2/\\pi)\\arcsin\\rho < \\rho$, "
            "it over-counts every lag."
        ),
        limit="\\boldsymbol{\\mu} = 0,\\ \\beta_1^{t} \\to 0",
        assumptions=(STATIONARY_MOMENTUM,),
        uses=("m_autocorrelation", "arcsine_law"),
        checks=(RewriteToZero(arcsine, RHS, given={rho: correlation}, method="substitution"),),
    )

    # --- the corrected weight RMS -----------------------------------------------------------------
    section = "The corrected weight RMS"
    theta_sum = weight_rms.step("theta_unrolled").rhs
    double = b3 ** (2 * t) * E(theta[0] ** 2) + ((1 - b3) / lam) ** 2 * sp.Sum(
        b3 ** (2 * t - i - j) * E(u[i] * u[j]), (i, 1, t), (j, 1, t)
    )

    def expected_square(n: int) -> sp.Expr:
        # E[theta_n^2] from the unrolled weights: theta_0 is independent of the zero-mean
        # initialisation's partner terms, products of updates stay as E[u_i u_j].
        square = sp.expand(theta_sum.subs(t, n).doit() ** 2)
        out = sp.Integer(0)
        for term in sp.Add.make_args(square):
            vectors = [f for f in sp.Mul.make_args(term) if f.has(u[1].base, theta[0].base)]
            rest = sp.Mul(*[f for f in sp.Mul.make_args(term) if f not in vectors])
            product = sp.Mul(*vectors)
            if product.has(theta[0]) and product.has(u[1].base):
                continue  # E[theta_0 u_i] = E[theta_0] E[u_i] = 0
            out += rest * E(product)
        return out

    add(
        id="weights_second_moment",
        title="Second moment of the weights",
        section=section,
        lhs=E(theta[t] ** 2),
        rhs=double,
        kind=Kind.IDENTITY,
        justification=(
            "Square [[weight_rms.theta_unrolled]] and take expectations: the initialisation is "
            "independent of the gradients and has mean 0, so no cross term survives. No "
            "decoupling is needed."
        ),
        uses=("weight_rms.theta_unrolled",),
        checks=(
            BruteForce(
                expected_square,
                RHS,
                steps=(1, 2, 3),
                at=POINT,
                method="brute force (expanded square)",
            ),
        ),
    )
    diagonal = geometric_sum(b3 ** (2 * (t - i)), i, 1, t)
    lag_coefficient = geometric_sum(b3 ** (2 * (t - i) + k), i, k + 1, t)
    # Written over the common denominator 1 - beta3^2, as beta3^k - beta3^(2t-k).
    lag_numerator = sp.powsimp(sp.expand(sp.cancel(lag_coefficient * (1 - b3**2))))
    stationary = diagonal * C(0) + 2 * sp.Sum(lag_numerator * C(k), (k, 1, t - 1)) / (1 - b3**2)

    def stationary_brute(n: int) -> sp.Expr:
        beta3_value = POINT[b3]
        return sum(
            beta3_value ** (2 * n - p - q) * C(abs(p - q))
            for p in range(1, n + 1)
            for q in range(1, n + 1)
        )

    add(
        id="stationary_double_sum",
        title="The double sum by lags",
        section=section,
        lhs=sp.Sum(b3 ** (2 * t - i - j) * C(sp.Abs(i - j)), (i, 1, t), (j, 1, t)),
        rhs=stationary,
        kind=Kind.IDENTITY,
        justification=(
            "With a stationary process $\\mathbb{E}[u_i u_j] = C_{|i-j|}$, group the pairs by "
            "lag $k = |i - j|$: lag 0 is the diagonal, each lag $k \\ge 1$ appears twice with "
            "weights $\\beta_3^{2t-2i+k}$ for $i = k+1, \\dots, t$ (geometric sums)."
        ),
        checks=(BruteForce(stationary_brute, RHS, steps=(1, 2, 3, 4, 5), at=POINT),),
    )
    prefactor = ((1 - b3) / lam) ** 2
    theta_arcsine = b3 ** (2 * t) * S.rho0 + prefactor * stationary.xreplace(
        {C(0): sp.Integer(1)}
    ).replace(C, lambda lag: autocovariance.subs(k, lag))
    add(
        id="theta_rms_arcsine",
        title="The corrected weight RMS",
        section=section,
        lhs=RMS2(theta[t]),
        rhs=theta_arcsine,
        kind=Kind.APPROXIMATION,
        label="eq:theta-rms-sign-arcsine",
        justification=(
            "[[weights_second_moment]] averaged over coordinates, with [[stationary_double_sum]], "
            "$C_0 = \\mathbb{E}[u^2] = 1$ and $C_k$ from [[u_autocovariance]]. No mean-field step: "
            "only the stationarity of the momentum."
        ),
        limit="\\boldsymbol{\\mu} = 0,\\ \\beta_1^{t} \\to 0",
        assumptions=(STATIONARY_MOMENTUM,),
        uses=("weights_second_moment", "stationary_double_sum", "u_autocovariance"),
        checks=(
            RewriteToZero(
                b3 ** (2 * t) * S.rho0 + prefactor * stationary,
                RHS,
                given={C(0): sp.Integer(1), C(k): autocovariance},
                method="substitution",
            ),
        ),
    )
    scale = prefer_one_minus(sp.factor(prefactor / (1 - b3**2)))
    infinite = scale * (1 + 2 * sp.Sum(b3**k * autocovariance, (k, 1, sp.oo)))
    limit_point = {b1: sp.Rational(9, 10), b3: sp.Rational(1, 2), lam: sp.Rational(3, 10)}
    add(
        id="theta_rms_arcsine_limit",
        title="The corrected equilibrium",
        section=section,
        lhs=RMS2(theta[t]),
        rhs=infinite,
        kind=Kind.APPROXIMATION,
        label="eq:theta-rms-sign-equilibrium",
        justification=(
            "[[theta_rms_arcsine]] as $t \\to \\infty$: $\\beta_3^{2t}$ and $\\beta_3^{2t-k}$ "
            "vanish and the lags run to infinity (the terms fall like $(\\beta_1\\beta_3)^k$). "
            "To leading order in $\\eta\\lambda$ this is $\\frac{\\eta}{2\\lambda}\\bigl(1 + "
            "\\frac{4}{\\pi}\\sum_{k\\ge1}\\arcsin\\beta_1^k\\bigr)$."
        ),
        limit="t \\to \\infty",
        assumptions=(STATIONARY_MOMENTUM,),
        uses=("theta_rms_arcsine",),
        checks=(SequenceLimit(theta_arcsine, RHS, t, {**limit_point, S.rho0: sp.Rational(1, 7)}),),
    )
    # The same lag sum with the momentum's own autocorrelation beta1^k: a geometric series.
    lag_sum = freeze_powers(geometric_sum(b3**k * correlation, k, 1, t), _FREEZE)
    mean_field_lags = sp.factor(limit(limit(lag_sum, z, 0, "+"), x, 0, "+"))
    with_mean_field = prefer_one_minus(sp.factor(scale * (1 + 2 * mean_field_lags)))
    add(
        id="mean_field_as_autocovariance",
        title="The source's equilibrium as a lag sum",
        section=section,
        lhs=RMS2(theta[t]),
        rhs=with_mean_field,
        kind=Kind.APPROXIMATION,
        justification=(
            "The lag sum of [[theta_rms_arcsine_limit]] with $C_k = \\beta_1^k$ in place of "
            "$(2/\\pi)\\arcsin\\beta_1^k$ is geometric; to leading order in $\\eta\\lambda$ it "
            "is exactly the square of the source's [[theta_rms_sign_simple]]. So, at "
            "$\\boldsymbol{\\mu} = 0$, the source's error is the autocorrelation of the sign and "
            "nothing else, and since $(2/\\pi)\\arcsin\\rho < \\rho$ the source over-predicts."
        ),
        limit="t \\to \\infty",
        assumptions=(MEAN_FIELD,),
        uses=("theta_rms_arcsine_limit", "theta_rms_sign_simple", "m_autocorrelation"),
        checks=(
            SequenceLimit(
                scale * (1 + 2 * sp.Sum(b3**k * correlation, (k, 1, t))), RHS, t, limit_point
            ),
            LimitRatio(
                RHS,
                equilibrium_sq,
                ((eta, 0, "+"),),
                f"{NAME}.mean_field_as_autocovariance",
                given=beta3_value,
            ),
        ),
    )

    # --- gradients with a mean (beyond the source) -----------------------------------------------
    section = "Gradients with a mean"
    momentum_sd_sq = update_rms.step("var_m_limit").rhs
    momentum_mean = update_rms.step("mean_m_limit").rhs
    shift_sq = sp.factor((momentum_mean**2 / momentum_sd_sq).subs(mu, sp.sqrt(snr) * sigma))
    shift_value = sp.sqrt(prefer_one_minus(shift_sq), evaluate=False)
    add(
        id="momentum_shift",
        title="Mean of the momentum in units of its spread",
        section=section,
        lhs=a,
        rhs=shift_value,
        kind=Kind.APPROXIMATION,
        justification=(
            "Late in training $m_t$ has mean $\\mu$ ([[update_rms.mean_m_limit]]) and variance "
            "[[update_rms.var_m_limit]]; for a coordinate with $\\mu \\ge 0$ (the sign is "
            "symmetric) and $\\mu^2 = \\mathrm{SNR}\\,\\sigma^2$ their ratio is $a$."
        ),
        limit="\\beta_1^{t} \\to 0",
        assumptions=(STATIONARY_MOMENTUM, IDENTICAL_COORDINATES),
        uses=("update_rms.mean_m_limit", "update_rms.var_m_limit"),
        checks=(
            RewriteToZero(
                (momentum_mean**2 / momentum_sd_sq).subs(mu, sp.sqrt(snr) * sigma),
                RHS**2,
                method="square of the ratio (both sides nonnegative)",
            ),
        ),
    )
    update_mean = sign_mean.subs(a, shift_value)
    add(
        id="u_mean",
        title="Mean of the sign update",
        section=section,
        lhs=E(u[t]),
        rhs=update_mean,
        kind=Kind.APPROXIMATION,
        justification="[[sign_mean]] at the shift [[momentum_shift]] of the Gaussian momentum.",
        limit="\\beta_1^{t} \\to 0",
        assumptions=(STATIONARY_MOMENTUM, IDENTICAL_COORDINATES),
        uses=("sign_mean", "momentum_shift"),
        checks=(RewriteToZero(sign_mean, RHS, given={a: shift_value}, method="substitution"),),
    )
    covariance = plackett.subs({rho: correlation, a: shift_value})
    add(
        id="u_autocovariance_with_mean",
        title="Autocovariance of the sign update with a mean",
        section=section,
        lhs=Cov(u[t], u[t + k]),
        rhs=covariance,
        kind=Kind.APPROXIMATION,
        justification=(
            "[[sign_covariance]] for the pair $m_t, m_{t+k}$: shift [[momentum_shift]], "
            "correlation [[m_autocorrelation]]. At $\\mathrm{SNR} = 0$ it is "
            "[[u_autocovariance]]."
        ),
        limit="\\beta_1^{t} \\to 0",
        assumptions=(STATIONARY_MOMENTUM, IDENTICAL_COORDINATES),
        uses=("sign_covariance", "momentum_shift", "m_autocorrelation"),
        checks=(
            RewriteToZero(
                plackett, RHS, given={rho: correlation, a: shift_value}, method="substitution"
            ),
            RewriteToZero(
                _integrals_done(covariance.subs(snr, 0)),
                autocovariance,
                method="the derived covariance equals u_autocovariance at SNR = 0",
            ),
        ),
    )
    mean_symbol = sp.Symbol("M", real=True)
    mean_weights = geometric_sum(b3 ** (t - i), i, 1, t)
    with_mean = b3 ** (2 * t) * S.rho0 + prefactor * (mean_weights**2 * mean_symbol**2 + stationary)

    def with_mean_brute(n: int) -> sp.Expr:
        # E[u_i u_j] = M^2 + C_|i-j|, with C_0 = 1 - M^2 (u^2 = 1), summed pair by pair.
        beta3_value, decay = POINT[b3], POINT[lam]
        pairs = sum(
            beta3_value ** (2 * n - p - q) * (mean_symbol**2 + C(abs(p - q)))
            for p in range(1, n + 1)
            for q in range(1, n + 1)
        )
        return beta3_value ** (2 * n) * S.rho0 + ((1 - beta3_value) / decay) ** 2 * pairs

    add(
        id="theta_rms_with_mean",
        title="Weights of a stationary update with a mean",
        section=section,
        lhs=RMS2(theta[t]),
        rhs=with_mean,
        kind=Kind.IDENTITY,
        justification=(
            "[[weights_second_moment]] with $\\mathbb{E}[u_i u_j] = M^2 + C_{|i-j|}$, "
            "$M = \\mathbb{E}[u]$, $C_0 = 1 - M^2$: the mean contributes the square of a "
            "geometric sum, the fluctuations [[stationary_double_sum]]."
        ),
        uses=("weights_second_moment", "stationary_double_sum"),
        checks=(BruteForce(with_mean_brute, RHS, steps=(1, 2, 3, 4), at=POINT),),
    )
    general = (
        with_mean.xreplace({C(0): 1 - mean_symbol**2})
        .replace(C, lambda lag: covariance.subs(k, lag))
        .xreplace({mean_symbol: update_mean})
    )
    add(
        id="theta_rms_arcsine_general",
        title="The corrected weight RMS with a gradient mean",
        section=section,
        lhs=RMS2(theta[t]),
        rhs=general,
        kind=Kind.APPROXIMATION,
        label="eq:theta-rms-sign-arcsine-snr",
        justification=(
            "[[theta_rms_with_mean]] with $M$ from [[u_mean]] and $C_k$ from "
            "[[u_autocovariance_with_mean]]; at $\\mathrm{SNR} = 0$ it is [[theta_rms_arcsine]]."
        ),
        limit="\\beta_1^{t} \\to 0",
        assumptions=(STATIONARY_MOMENTUM, IDENTICAL_COORDINATES),
        uses=("theta_rms_with_mean", "u_mean", "u_autocovariance_with_mean"),
        checks=(
            RewriteToZero(
                with_mean.xreplace({C(0): 1 - mean_symbol**2}).replace(
                    C, lambda lag: covariance.subs(k, lag)
                ),
                RHS,
                given={mean_symbol: update_mean},
                method="substitution",
            ),
            RewriteToZero(
                _integrals_done(general.subs(snr, 0)),
                theta_arcsine,
                method="the derived formula equals theta_rms_arcsine at SNR = 0",
            ),
        ),
    )
    general_limit = update_mean**2 / lam**2 + scale * (
        1 - update_mean**2 + 2 * sp.Sum(b3**k * covariance, (k, 1, sp.oo))
    )
    add(
        id="theta_rms_arcsine_general_limit",
        title="The corrected equilibrium with a gradient mean",
        section=section,
        lhs=RMS2(theta[t]),
        rhs=general_limit,
        kind=Kind.APPROXIMATION,
        justification="[[theta_rms_arcsine_general]] as $t \\to \\infty$.",
        limit="t \\to \\infty",
        assumptions=(STATIONARY_MOMENTUM, IDENTICAL_COORDINATES),
        uses=("theta_rms_arcsine_general",),
        checks=(
            SequenceLimit(
                general,
                RHS,
                t,
                # beta3 = 1/4: the finite-t terms fall off fast, so few quadratures are needed.
                {
                    **limit_point,
                    b3: sp.Rational(1, 4),
                    snr: sp.Rational(1, 20),
                    S.rho0: sp.Rational(1, 7),
                },
                values=(6, 12, 24),
                dps=20,
            ),
        ),
    )

    return Derivation(
        name=NAME,
        title="The weight RMS of SignSGDMW: the source's mean field and the arcsine law",
        abstract=(
            "A machine-verified re-derivation of the source's mean-field estimate of the weight "
            "RMS of SignSGD with momentum and decoupled weight decay, its equilibrium (with the "
            "typo in the printed formula), and a correction beyond the source: the sign of a "
            "Gaussian momentum has autocorrelation $(2/\\pi)\\arcsin\\beta_1^k$, not "
            "$\\beta_1^k$, and the weight RMS follows from the autocovariances without a "
            "mean-field step."
        ),
        source=WEIGHT_RMS_SOURCE,
        sections=SECTIONS,
        steps=tuple(recorder.steps),
        results=(
            ("sign_sgdm_weight_rms_sq_source", "theta_rms_sign"),
            ("sign_sgdm_equilibrium_source", "theta_rms_sign_simple"),
            ("sign_sgdm_weight_rms_sq_arcsine_mu0", "theta_rms_arcsine"),
            ("sign_sgdm_equilibrium_sq_arcsine_mu0", "theta_rms_arcsine_limit"),
            ("sign_sgdm_weight_rms_sq_arcsine", "theta_rms_arcsine_general"),
            ("sign_sgdm_equilibrium_sq_arcsine", "theta_rms_arcsine_general_limit"),
        ),
    )
