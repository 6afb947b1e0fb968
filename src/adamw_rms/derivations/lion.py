"""The weight RMS of Lion: an exact second moment through the arcsine law (beyond the sources).

Lion (Chen et al., "Symbolic Discovery of Optimization Algorithms", 2023, arXiv:2302.06675)
updates with the sign of an interpolation ``c_t = beta1 m_{t-1} + (1 - beta1) g_t`` between the
momentum and the fresh gradient, then moves the momentum on with a second rate ``beta2``; the
weight decay is decoupled and applied first. With ``beta1 = beta2`` it is SignSGDMW, and the
machinery of :mod:`adamw_rms.derivations.sign_sgdm` (the arcsine law, Plackett's identity, the
lag sums) carries over.

Two differences make the result exact rather than stationary: ``c_t`` is a fixed linear filter
of iid Gaussian gradients, so its mean, variance and lag covariance are exact at every step
(time-dependent only through the zero start of the momentum), and the sign of a Gaussian pair
with *different* means has an exact covariance (Plackett's identity with two shifts). The
weights are a fixed linear functional of the signs, so their second moment is the double sum of
the pair moments: no mean-field step and no stationarity assumption. The equilibrium is its
limit. Kosson et al.'s REQ formula (Rotational Equilibrium, ICML 2024) is derived last as the
same random walk with the sign replaced by a linear map, to leading order in the decay.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .. import symbols as S
from ..algebra import freeze_powers, limit
from ..checks import (
    EPSILON,
    LHS,
    RHS,
    BruteForce,
    Given,
    NumericEqual,
    RewriteToZero,
    SequenceLimit,
    SignQuadrature,
    SmallParameter,
    gaussian_expectation,
    resolve,
)
from ..evaluation_points import (
    LION_FILTER_LIMIT_POINT,
    LION_LAGS,
    LION_LIMIT_POINT,
    LION_LIMIT_SNR,
    LION_LIMIT_VALUES,
    LION_PAIR_POINTS,
    LION_POINT,
    LION_REQ_GIVEN,
    LION_SHIFT_LIMIT_VALUES,
    LION_SUM_POINTS,
    SHORT_BRUTE_FORCE_STEPS,
)
from ..rules import geometric_sum, prefer_one_minus, tidy
from ..steps import Assumption, Derivation, Kind, Source, Step, StepRecorder, derivation
from ._assumptions import IID_IN_TIME, SELF_AVERAGING
from .update_rms import ema_recursion, gradients

b1, b2, b3, t, i, j, k = S.beta1, S.beta2, S.beta3, S.t, S.i, S.j, S.k
eta, lam, mu, sigma, snr = S.eta, S.lam, S.mu, S.sigma, S.snr
theta, u, m, g, cf, u_req = S.theta, S.u, S.m, S.g, S.c, S.u_req
E, Var, RMS2, RMS = S.Expect, S.Variance, S.RMS2, S.RMS
Cov, Corr = S.Covariance, S.Correlation
corr, a, a_y, phi, X, Y = S.corr, S.shift, S.shift_y, S.angle, S.pair_x, S.pair_y
y = S.beta2_pow_t

NAME = "lion"
SECTIONS = (
    "The Lion update",
    "The interpolated momentum, a linear filter",
    "The sign of a Gaussian pair",
    "The exact weight RMS",
    "The equilibrium",
    "REQ's linearised formula",
)

LION_SOURCE = Source(
    key="chen2023lion",
    author="Xiangning Chen, Chen Liang, Da Huang, Esteban Real, et al.",
    title="Symbolic Discovery of Optimization Algorithms",
    title_en="the Lion optimizer",
    date="2023-02-13",
    url="https://arxiv.org/abs/2302.06675",
)

SIGN_LINEARISED = Assumption(
    "sign_linearised",
    "REQ's model: the sign is replaced by the linear map $\\sqrt{2/\\pi}\\,c/\\mathrm{sd}(c)$, "
    "which has the sign's covariance with $c$ but variance $2/\\pi$ instead of 1 and "
    "correlations $(2/\\pi)\\rho_k$ instead of $(2/\\pi)\\arcsin\\rho_k$",
    r"\mathrm{sign}(c) \approx \sqrt{2/\pi}\,c/\mathrm{sd}(c)",
)

SCOPE = (
    "Gradients iid in time, $\\mathcal{N}(\\mu, \\sigma^2)$ per coordinate with the same "
    "$\\mathrm{SNR} = \\mu^2/\\sigma^2$ in every coordinate, independent of the weights; "
    "$\\boldsymbol{m}_0 = 0$; the initial weights have mean 0 and are independent of the "
    "gradients.",
    "The weight RMS is its expectation (self-averaging over coordinates); nothing else is "
    "approximated: [[theta_rms_lion]] holds at every step, and its limit "
    "[[theta_rms_lion_limit]] is the equilibrium.",
    "Since $|u| = 1$ and $\\beta_3 = 1 - \\eta\\lambda \\in (0, 1]$, every coordinate obeys "
    "$|\\theta_t| \\le \\beta_3^t|\\theta_0| + (1-\\beta_3^t)/\\lambda \\le "
    "\\max(|\\theta_0|, 1/\\lambda)$, and so does the RMS.",
    "REQ's formula [[req_equilibrium]] linearises the sign: it misses the lag-0 term "
    "$1 - 2/\\pi$ and the curvature of the arcsine.",
)


def _filters(expr: sp.Expr, n: int) -> sp.Expr:
    """Each ``c_q``, ``m_q`` by its definition from gradients ``g_1..g_q``, then exact Gaussian
    moments (``Expect``, ``Variance``, ``Covariance`` by expansion)."""

    def interpolation(q: int) -> sp.Expr:
        return b1 * ema_recursion(b2, gradients(q - 1)) + (1 - b1) * g[q]

    explicit = expr.replace(
        lambda e: isinstance(e, sp.Indexed) and e.base == cf and e.indices[0].is_Integer,
        lambda e: interpolation(int(e.indices[0])),
    ).replace(
        lambda e: isinstance(e, sp.Indexed) and e.base == m and e.indices[0].is_Integer,
        lambda e: ema_recursion(b2, gradients(int(e.indices[0]))),
    )
    return _gaussian_moments(explicit, n)


def _as_defined(momentum: Step, interpolation: Step):
    """``evaluate`` for :class:`BruteForce`: each ``c_q``, ``m_q`` from the two definition steps
    *as stated* (their right sides at ``t = q``, from ``m_0 = 0``), then exact Gaussian moments.

    :func:`_filters` types Lion's rule independently; this reads the steps, so that a statement
    of the rule that is not what the filter derives from fails."""

    def evaluate(expr: sp.Expr, n: int) -> sp.Expr:
        # Each state is stored under the step's own left side at t = q, so a wrong left side
        # leaves the wrong state (or none) where the statement asks for one.
        states = {m[0]: sp.Integer(0)}
        for q in range(1, n + 1):
            at_q = {t: q}
            states[interpolation.lhs.xreplace(at_q)] = interpolation.rhs.xreplace(at_q).xreplace(
                states
            )
            states[momentum.lhs.xreplace(at_q)] = momentum.rhs.xreplace(at_q).xreplace(states)
        return _gaussian_moments(expr.xreplace(states), n)

    return evaluate


def _gaussian_moments(explicit: sp.Expr, n: int) -> sp.Expr:
    """``Expect``, ``Variance``, ``Covariance`` of an expression in ``g_1..`` by expansion."""
    used = [int(e.indices[0]) for e in explicit.atoms(sp.Indexed) if e.base == g]
    grads = gradients(max(used, default=n))

    def expect(argument: sp.Expr) -> sp.Expr:
        return gaussian_expectation(argument, grads, mu, sigma)

    return (
        explicit.replace(
            lambda e: isinstance(e, Cov),
            lambda e: expect(e.args[0] * e.args[1]) - expect(e.args[0]) * expect(e.args[1]),
        )
        .replace(
            lambda e: isinstance(e, Var), lambda e: expect(e.args[0] ** 2) - expect(e.args[0]) ** 2
        )
        .replace(lambda e: isinstance(e, E), lambda e: expect(e.args[0]))
    )


def _meaning(pairs: dict) -> dict:
    """Each key resolved to a fixed point through all the pairs (earlier steps' statements)."""
    return {key: resolve(pairs, key) for key in pairs}


def _written_out(expr: sp.Expr) -> sp.Expr:
    """Every sum with numeric limits written term by term (the outermost limit first)."""

    def expand(s: sp.Sum) -> sp.Expr:
        *inner, (index, low, high) = s.limits
        if not (low.is_Integer and high.is_Integer):
            return s
        terms = []
        for n in range(int(low), int(high) + 1):
            body = s.function.subs(index, n)
            terms.append(
                _written_out(sp.Sum(body, *[lim.subs(index, n) for lim in inner]))
                if inner
                else body
            )
        return sp.Add(*terms)

    return expr.replace(lambda e: isinstance(e, sp.Sum), expand)


def _unit_squares(expr: sp.Expr, n: int) -> sp.Expr:
    """The sums written out, and ``E[u_q^2] = 1``: a sign squared is 1."""
    return _written_out(expr).replace(
        lambda e: isinstance(e, E) and e.args[0].is_Pow and e.args[0].exp == 2,
        lambda e: sp.Integer(1),
    )


@dataclass
class _Context:
    recorder: StepRecorder
    weight_rms: Derivation
    sign_sgdm: Derivation

    def add(self, **fields) -> Step:
        return self.recorder.add(**fields)

    def step(self, step_id: str) -> Step:
        for step in self.recorder.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


# --- the update -----------------------------------------------------------------------------------


def _update(c: _Context) -> None:
    with c.recorder.section(SECTIONS[0]):
        c.add(
            id="lion_momentum",
            title="Momentum",
            lhs=m[t],
            rhs=b2 * m[t - 1] + (1 - b2) * g[t],
            kind=Kind.DEFINITION,
            justification="Lion's momentum, an EMA of the gradients at rate $\\beta_2$, from "
            "$\\boldsymbol{m}_0 = 0$.",
        )
        c.add(
            id="interpolation",
            title="Interpolated momentum",
            lhs=cf[t],
            rhs=b1 * m[t - 1] + (1 - b1) * g[t],
            kind=Kind.DEFINITION,
            justification=(
                "The update direction interpolates the previous momentum and the fresh gradient "
                "at rate $\\beta_1$; the momentum [[lion_momentum]] is moved on after it."
            ),
        )
        c.add(
            id="lion_update",
            title="The sign update",
            lhs=u[t],
            rhs=sp.sign(cf[t]),
            kind=Kind.DEFINITION,
            justification="Lion's update is the sign of [[interpolation]], so $|u_t| = 1$.",
        )
        c.recorder.restate(
            c.weight_rms.step("adamw_update"),
            title="Decoupled weight decay",
            assumptions=(),  # AdamW's (no bias correction, no epsilon) do not concern a sign
            justification=(
                "As [[weight_rms.adamw_update]] with the sign update: the paper's decay first, "
                "$\\boldsymbol{\\theta}_t = (1-\\eta\\lambda)\\boldsymbol{\\theta}_{t-1} - "
                "\\eta\\boldsymbol{u}_t$, is the same statement. With $|u_t| = 1$ it bounds "
                "every coordinate: $|\\theta_t| \\le \\beta_3|\\theta_{t-1}| + \\eta$, so "
                "$|\\theta_t| \\le \\max(|\\theta_0|, 1/\\lambda)$."
            ),
        )


# --- the filter -----------------------------------------------------------------------------------


def _filter(c: _Context) -> None:
    with c.recorder.section(SECTIONS[1]):
        history = b1 * (1 - b2) * b2 ** (t - 1 - j)
        unrolled = c.add(
            id="c_unrolled",
            title="The interpolation as a filter of the gradients",
            lhs=cf[t],
            rhs=(1 - b1) * g[t] + sp.Sum(history * g[j], (j, 1, t - 1)),
            kind=Kind.IDENTITY,
            justification=(
                "Unroll [[lion_momentum]] from $\\boldsymbol{m}_0 = 0$ in [[interpolation]]: the "
                "fresh gradient has weight $1 - \\beta_1$, the gradient of step $j < t$ the "
                "weight $\\beta_1(1-\\beta_2)\\beta_2^{t-1-j}$."
            ),
            uses=("lion_momentum", "interpolation"),
            checks=(
                BruteForce(
                    LHS,
                    RHS,
                    at=LION_POINT,
                    evaluate=_filters,
                    method="brute force: the two recursions iterated",
                ),
                BruteForce(
                    LHS,
                    RHS,
                    at=LION_POINT,
                    evaluate=_as_defined(c.step("lion_momentum"), c.step("interpolation")),
                    method="the definitions as stated, iterated",
                ),
            ),
        )
        fresh = unrolled.rhs.coeff(g[t])
        mean = c.add(
            id="c_mean",
            title="Mean of the interpolation",
            lhs=E(cf[t]),
            rhs=mu * tidy(fresh + geometric_sum(history, j, 1, t - 1), t),
            kind=Kind.IDENTITY,
            justification=(
                "The weights of [[c_unrolled]] summed (a geometric series), times $\\mu$."
            ),
            assumptions=(IID_IN_TIME,),
            uses=("c_unrolled",),
            checks=(
                BruteForce(
                    LHS, RHS, at=LION_POINT, evaluate=_filters, method="exact Gaussian moments"
                ),
            ),
        )
        variance = c.add(
            id="c_variance",
            title="Variance of the interpolation",
            lhs=Var(cf[t]),
            rhs=sigma**2 * tidy(fresh**2 + geometric_sum(history**2, j, 1, t - 1), t),
            kind=Kind.IDENTITY,
            justification=(
                "The squared weights of [[c_unrolled]] summed, times $\\sigma^2$ (independent "
                "gradients). The zero start of the momentum is the only time dependence."
            ),
            assumptions=(IID_IN_TIME,),
            uses=("c_unrolled",),
            checks=(
                BruteForce(
                    LHS, RHS, at=LION_POINT, evaluate=_filters, method="exact Gaussian moments"
                ),
            ),
        )
        # g_t is the fresh gradient of c_t and an old one of c_{t+k}; g_j, j < t, is old in both.
        carried = history.subs(t, t + k).subs(j, t)
        shared = history * history.subs(t, t + k)
        covariance = c.add(
            id="c_covariance",
            title="Covariance of the interpolation at lag k",
            lhs=Cov(cf[t], cf[t + k]),
            rhs=sigma**2 * tidy(fresh * carried + geometric_sum(shared, j, 1, t - 1), t),
            kind=Kind.IDENTITY,
            justification=(
                "For $k \\ge 1$ the two filters [[c_unrolled]] share the gradients $g_1..g_t$: "
                "$g_t$ with weights $1-\\beta_1$ and $\\beta_1(1-\\beta_2)\\beta_2^{k-1}$, "
                "$g_j$ ($j < t$) with the products of their history weights."
            ),
            assumptions=(IID_IN_TIME,),
            uses=("c_unrolled",),
            checks=tuple(
                BruteForce(
                    LHS,
                    RHS,
                    steps=SHORT_BRUTE_FORCE_STEPS,
                    at={**LION_POINT, k: lag},
                    evaluate=_filters,
                    method=f"exact Gaussian moments at lag {lag}",
                )
                for lag in LION_LAGS
            ),
        )
        c.add(
            id="c_correlation",
            title="Correlation of the interpolation at lag k",
            lhs=Corr(cf[t], cf[t + k]),
            rhs=covariance.rhs / sp.sqrt(variance.rhs * variance.rhs.subs(t, t + k)),
            kind=Kind.IDENTITY,
            justification="[[c_covariance]] over the standard deviations [[c_variance]].",
            uses=("c_covariance", "c_variance"),
            checks=(
                RewriteToZero(
                    LHS,
                    RHS,
                    given=_meaning(
                        {
                            Corr(cf[t], cf[t + k]): Cov(cf[t], cf[t + k])
                            / sp.sqrt(Var(cf[t]) * Var(cf[t + k])),
                            covariance.lhs: covariance.rhs,
                            variance.lhs: variance.rhs,
                            Var(cf[t + k]): variance.rhs.subs(t, t + k),
                        }
                    ),
                    method="the earlier steps substituted",
                ),
            ),
        )
        shift_sq = sp.factor((mean.rhs**2 / variance.rhs).subs(mu, sp.sqrt(snr) * sigma))
        c.add(
            id="c_shift",
            title="Mean of the interpolation in units of its spread",
            lhs=E(cf[t]) / sp.sqrt(Var(cf[t])),
            rhs=sp.sqrt(prefer_one_minus(shift_sq), evaluate=False),
            kind=Kind.IDENTITY,
            justification=(
                "[[c_mean]] over the root of [[c_variance]] for a coordinate with $\\mu \\ge 0$ "
                "(the sign is symmetric) and $\\mu^2 = \\mathrm{SNR}\\,\\sigma^2$."
            ),
            assumptions=(IID_IN_TIME,),
            uses=("c_mean", "c_variance"),
            checks=(
                RewriteToZero(
                    LHS**2,
                    RHS**2,
                    given=_meaning(
                        {mean.lhs: mean.rhs, variance.lhs: variance.rhs, mu: sp.sqrt(snr) * sigma}
                    ),
                    method="squares of the earlier steps' ratio",
                ),
            ),
        )


# --- the sign of a pair ---------------------------------------------------------------------------


def _pair(c: _Context) -> None:
    sign = c.sign_sgdm
    with c.recorder.section(SECTIONS[2]):
        exponent = (a**2 + a_y**2 - 2 * a * a_y * sp.sin(phi)) / (2 * sp.cos(phi) ** 2)
        product = E(sp.sign(X) * sp.sign(Y))
        lemma = c.add(
            id="sign_pair_moment",
            title="Product of two signs with different means",
            lhs=product,
            rhs=sp.erf(a / sp.sqrt(2)) * sp.erf(a_y / sp.sqrt(2))
            + (2 / sp.pi) * sp.Integral(sp.exp(-exponent), (phi, 0, sp.asin(corr))),
            kind=Kind.IDENTITY,
            justification=(
                "For $X, Y$ jointly normal with unit variances, means $a, a_Y$ and correlation "
                "$r$: the means of the signs are $\\mathrm{erf}(a/\\sqrt2)$, "
                "$\\mathrm{erf}(a_Y/\\sqrt2)$ ([[sign_sgdm.sign_mean]]), and their covariance "
                "is $4(P(X>0,Y>0) - P(X>0)P(Y>0))$, which Plackett's identity "
                "$\\partial_r P = \\varphi_2(a, a_Y; r)$ integrates from $r = 0$ with "
                "$r = \\sin\\phi$. At $a_Y = a$ the integrand is "
                "[[sign_sgdm.sign_covariance]]'s $e^{-a^2/(1+\\sin\\phi)}$."
            ),
            uses=("sign_sgdm.sign_mean", "sign_sgdm.sign_covariance"),
            checks=(
                SignQuadrature(LHS, RHS, LION_PAIR_POINTS, shift_y=a_y),
                Given.of(
                    NumericEqual,
                    LHS,
                    RHS,
                    given={a_y: a},
                    points=tuple({**p, a_y: p[a]} for p in LION_PAIR_POINTS[-1:]),
                    tolerance=1e-15,
                    dps=20,
                    meaning={
                        product: sign.step("sign_covariance").rhs + sign.step("sign_mean").rhs ** 2
                    },
                    method="at a_Y = a it is sign_sgdm's covariance plus the squared mean",
                ),
            ),
        )
        shift = c.step("c_shift")
        pair_correlation = c.step("c_correlation")
        c.add(
            id="u_mean",
            title="Mean of the Lion update",
            lhs=E(u[t]),
            rhs=sp.erf(shift.rhs / sp.sqrt(2)),
            kind=Kind.IDENTITY,
            justification=(
                "$c_t$ is Gaussian ([[c_unrolled]]); the mean of its sign is "
                "[[sign_sgdm.sign_mean]] at the shift [[c_shift]]."
            ),
            assumptions=(IID_IN_TIME,),
            uses=("c_shift", "sign_sgdm.sign_mean"),
            checks=(
                RewriteToZero(
                    LHS,
                    RHS,
                    given=_meaning({E(u[t]): sign.step("sign_mean").rhs, a: shift.rhs}),
                    method="the earlier steps substituted",
                ),
            ),
        )
        pair = lemma.rhs.xreplace(
            {a: shift.rhs, a_y: shift.rhs.subs(t, t + k), corr: pair_correlation.rhs}
        )
        c.add(
            id="u_pair",
            title="Product of two Lion updates",
            lhs=E(u[t] * u[t + k]),
            rhs=pair,
            kind=Kind.IDENTITY,
            justification=(
                "$c_t, c_{t+k}$ are jointly Gaussian (both filter the same Gaussian gradients); "
                "apply [[sign_pair_moment]] with their shifts [[c_shift]] (the means "
                "[[u_mean]]) and correlation [[c_correlation]]. Exact at every step: the zero "
                "start of the momentum only makes the shifts differ."
            ),
            assumptions=(IID_IN_TIME,),
            uses=("sign_pair_moment", "c_shift", "c_correlation", "u_mean"),
            checks=(
                RewriteToZero(
                    LHS,
                    RHS,
                    given=_meaning(
                        {
                            E(u[t] * u[t + k]): lemma.rhs.xreplace(
                                {
                                    a: shift.rhs,
                                    a_y: shift.rhs.subs(t, t + k),
                                    corr: Corr(cf[t], cf[t + k]),
                                }
                            ),
                            pair_correlation.lhs: pair_correlation.rhs,
                        }
                    ),
                    method="the earlier steps substituted",
                ),
            ),
        )


# --- the weights ----------------------------------------------------------------------------------


def _weights(c: _Context) -> None:
    with c.recorder.section(SECTIONS[3]):
        second = c.recorder.restate(
            c.sign_sgdm.step("weights_second_moment"),
            justification=(
                "As [[sign_sgdm.weights_second_moment]]: the weights are a fixed linear "
                "functional of the updates, whatever the update is."
            ),
        )
        scale = ((1 - b3) / lam) ** 2
        by_lag = b3 ** (2 * t) * S.rho0 + scale * (
            sp.Sum(b3 ** (2 * (t - i)), (i, 1, t))
            + 2
            * sp.Sum(
                sp.Sum(b3 ** (2 * t - 2 * i - k) * E(u[i] * u[i + k]), (k, 1, t - i)), (i, 1, t - 1)
            )
        )
        pairs = c.add(
            id="pairs_by_lag",
            title="The double sum by lags",
            lhs=RMS2(theta[t]),
            rhs=by_lag,
            kind=Kind.IDENTITY,
            justification=(
                "[[weights_second_moment]] averaged over coordinates, the diagonal with "
                "$\\mathbb{E}[u_i^2] = 1$ ($|u| = 1$), each pair $i < j = i + k$ counted twice."
            ),
            assumptions=(SELF_AVERAGING,),
            uses=("weights_second_moment", "lion_update", "adamw_update"),
            checks=(
                BruteForce(
                    LHS,
                    RHS,
                    at=LION_POINT,
                    given={
                        RMS2(theta[t]): second.rhs.xreplace({E(theta[0] ** 2): S.rho0}),
                    },
                    evaluate=_unit_squares,
                    method="brute force (the pairs listed)",
                ),
            ),
        )
        pair = c.step("u_pair")
        moment = pair.rhs.subs(t, i)
        c.add(
            id="theta_rms_lion",
            title="The weight RMS of Lion, exact",
            lhs=RMS2(theta[t]),
            rhs=by_lag.replace(lambda e: isinstance(e, E) and e.args[0].has(u), lambda e: moment),
            kind=Kind.IDENTITY,
            label="eq:theta-rms-lion",
            justification=(
                "[[pairs_by_lag]] with the pair moments [[u_pair]]. No mean-field step and no "
                "stationarity: exact at every $t$ for iid Gaussian gradients, up to the "
                "self-averaging over coordinates."
            ),
            assumptions=(IID_IN_TIME, SELF_AVERAGING),
            uses=("pairs_by_lag", "u_pair"),
            checks=(
                RewriteToZero(
                    LHS,
                    RHS,
                    given=_meaning({pairs.lhs: pairs.rhs, pair.lhs.subs(t, i): moment}),
                    method="the earlier steps substituted",
                ),
            ),
        )


# --- equilibrium ----------------------------------------------------------------------------------


def _stationary(expr: sp.Expr) -> sp.Expr:
    """``t -> oo`` in a filter statistic: ``beta2^t`` (held as ``y``) to 0."""
    frozen = freeze_powers(sp.expand(expr), {b2**t: y})
    return sp.factor(limit(frozen, y, 0, "+"))


def _equilibrium(c: _Context) -> None:
    sign = c.sign_sgdm
    with c.recorder.section(SECTIONS[4]):
        variance = c.step("c_variance")
        covariance = c.step("c_covariance")
        correlation = c.step("c_correlation")
        spread_sq = _stationary(variance.rhs / sigma**2)
        first = _stationary(covariance.rhs / sigma**2 / b2 ** (k - 1))
        rho = c.add(
            id="rho_lag",
            title="Stationary correlation of the interpolation",
            lhs=Corr(cf[t], cf[t + k]),
            rhs=b2 ** (k - 1) * first / spread_sq,
            kind=Kind.APPROXIMATION,
            justification=(
                "[[c_correlation]] once the zero start is forgotten ($\\beta_2^{t} \\to 0$): "
                "geometric in $\\beta_2$, but with its own first coefficient. At "
                "$\\beta_1 = \\beta_2$ it is the momentum's $\\beta_1^k$ of SignSGDMW "
                "([[sign_sgdm.m_autocorrelation]])."
            ),
            limit="t \\to \\infty",
            assumptions=(IID_IN_TIME,),
            uses=("c_correlation", "sign_sgdm.m_autocorrelation"),
            checks=(
                Given.of(
                    SequenceLimit,
                    LHS,
                    RHS,
                    t,
                    LION_FILTER_LIMIT_POINT,
                    meaning={correlation.lhs: correlation.rhs},
                ),
                RewriteToZero(
                    LHS,
                    RHS,
                    given={
                        LHS: sign.step("m_autocorrelation").rhs,
                        b2: b1,
                    },
                    method="at beta2 = beta1: sign_sgdm's beta1^k",
                ),
            ),
        )
        shift = c.step("c_shift")
        stationary_shift = c.add(
            id="shift_limit",
            title="Stationary shift",
            lhs=shift.lhs,
            rhs=sp.sqrt(snr / spread_sq),
            kind=Kind.APPROXIMATION,
            justification=(
                "[[c_shift]] as $t \\to \\infty$: mean $\\mu$, variance as in [[rho_lag]]."
            ),
            limit="t \\to \\infty",
            assumptions=(IID_IN_TIME,),
            uses=("c_shift", "rho_lag"),
            checks=(
                Given.of(
                    SequenceLimit,
                    LHS,
                    RHS,
                    t,
                    LION_FILTER_LIMIT_POINT,
                    # The mean's start-up falls like beta2^t, not beta2^(2t): later terms.
                    values=LION_SHIFT_LIMIT_VALUES,
                    meaning={shift.lhs: shift.rhs},
                ),
            ),
        )
        c.add(
            id="lag_sum",
            title="The summed correlations",
            lhs=1 + 2 * sp.Sum(rho.rhs, (k, 1, sp.oo)),
            rhs=sp.factor(1 / spread_sq),
            kind=Kind.IDENTITY,
            justification=(
                "The correlations of a linear filter sum to $(\\sum_j h_j)^2/\\sum_j h_j^2$; "
                "here the weights of [[c_unrolled]] add up to 1, so the two-sided sum of "
                "[[rho_lag]] is the reciprocal of the stationary variance (in units of "
                "$\\sigma^2$)."
            ),
            uses=("rho_lag", "c_unrolled"),
            checks=(
                NumericEqual(LHS, RHS, points=LION_SUM_POINTS, method="the series summed (mpmath)"),
            ),
        )
        mean_sq = sp.erf(stationary_shift.rhs / sp.sqrt(2)) ** 2
        lemma = c.step("sign_pair_moment")
        lag_covariance = (
            lemma.rhs.xreplace({a: stationary_shift.rhs, a_y: stationary_shift.rhs, corr: rho.rhs})
            - mean_sq
        )
        scale = ((1 - b3) / lam) ** 2
        equilibrium = mean_sq / lam**2 + scale / (1 - b3**2) * (
            1 - mean_sq + 2 * sp.Sum(b3**k * lag_covariance, (k, 1, sp.oo))
        )
        exact = c.step("theta_rms_lion")
        sign_limit = sign.step("theta_rms_arcsine_general_limit")
        c.add(
            id="theta_rms_lion_limit",
            title="The equilibrium weight RMS of Lion",
            lhs=RMS2(theta[t]),
            rhs=equilibrium,
            kind=Kind.APPROXIMATION,
            label="eq:theta-rms-lion-equilibrium",
            justification=(
                "[[theta_rms_lion]] as $t \\to \\infty$: the pairs near the start carry the "
                "weight $\\beta_3^{2t}$ and vanish, the others have the stationary shift "
                "[[shift_limit]] and correlation [[rho_lag]]; the mean $M = "
                "\\mathrm{erf}(a/\\sqrt2)$ sums to $M/\\lambda$, and each lag $k$ appears "
                "$\\beta_3^k/(1-\\beta_3^2)$ times. At $\\beta_2 = \\beta_1$ it is SignSGDMW's "
                "[[sign_sgdm.theta_rms_arcsine_general_limit]]."
            ),
            limit="t \\to \\infty",
            assumptions=(IID_IN_TIME, SELF_AVERAGING),
            uses=(
                "theta_rms_lion",
                "shift_limit",
                "rho_lag",
                "sign_sgdm.theta_rms_arcsine_general_limit",
            ),
            checks=(
                *(
                    Given.of(
                        SequenceLimit,
                        LHS,
                        RHS,
                        t,
                        {**LION_LIMIT_POINT, snr: value},
                        values=LION_LIMIT_VALUES,
                        dps=20,
                        meaning={exact.lhs: exact.rhs},
                        method=f"limit of the exact sequence at SNR = {value} (mpmath)",
                    )
                    for value in LION_LIMIT_SNR
                ),
                Given.of(
                    NumericEqual,
                    LHS,
                    RHS,
                    points=tuple(
                        {**LION_LIMIT_POINT, b2: LION_LIMIT_POINT[b1], snr: value}
                        for value in LION_LIMIT_SNR[:1]
                    ),
                    tolerance=1e-15,
                    dps=20,
                    meaning={exact.lhs: sign_limit.rhs},
                    method="at beta2 = beta1 it is sign_sgdm's equilibrium (mpmath)",
                ),
            ),
        )


# --- REQ ------------------------------------------------------------------------------------------


def _req(c: _Context) -> None:
    with c.recorder.section(SECTIONS[5]):
        variance = c.step("c_variance")
        rho = c.step("rho_lag")
        spread_sq = _stationary(variance.rhs / sigma**2)
        c.add(
            id="req_update",
            title="REQ's linearised update",
            lhs=u_req[t],
            rhs=sp.sqrt(2 / sp.pi) * cf[t] / sp.sqrt(Var(cf[t])),
            kind=Kind.DEFINITION,
            justification=(
                "Kosson et al. (Rotational Equilibrium, ICML 2024) treat the sign as "
                "$\\sqrt{2/\\pi}$ times the standardised $c_t$ at $\\mu = 0$: the linear map with "
                "the sign's covariance with $c_t$. Its correlations are $(2/\\pi)\\rho_k$ "
                "([[rho_lag]]) where the sign's are $(2/\\pi)\\arcsin\\rho_k$, and its variance "
                "$2/\\pi$ where the sign's is 1."
            ),
        )
        beta3_def = c.weight_rms.step("beta3_def")
        # The linearised updates' lag sum at equilibrium: the geometric series of rho_lag up to
        # T, whose (beta2 beta3)^T vanishes as T -> oo.
        lags = sp.factor(
            geometric_sum(b3**k * rho.rhs, k, 1, S.T).replace(
                lambda e: e.is_Pow and e.exp == S.T, lambda e: sp.Integer(0)
            )
        )
        linear = ((1 - b3) / lam) ** 2 / (1 - b3**2) * (2 / sp.pi) * (1 + 2 * lags)
        req = sp.sqrt(eta / (2 * lam)) * sp.sqrt(2 / sp.pi) / sp.sqrt(spread_sq)
        c.add(
            id="req_equilibrium",
            title="REQ's equilibrium weight RMS",
            lhs=RMS(theta[t]),
            rhs=req,
            kind=Kind.APPROXIMATION,
            justification=(
                "The equilibrium of [[theta_rms_lion_limit]] at $\\mathrm{SNR} = 0$ with the "
                "updates [[req_update]]: $\\frac{\\eta}{\\lambda(2-\\eta\\lambda)}\\frac{2}{\\pi}"
                "(1 + 2\\sum_k\\beta_3^k\\rho_k)$; to leading order in "
                "$\\eta\\lambda/(1-\\beta_2)$ the lag sum is [[lag_sum]]. This is REQ's "
                "$\\eta/\\hat\\eta_r$ with their angular update $\\hat\\eta_r = "
                "\\sqrt{\\pi/2}\\sqrt{2\\eta\\lambda}\\sqrt{(1-\\beta_1)^2 + "
                "\\beta_1^2(1-\\beta_2)/(1+\\beta_2)}$."
            ),
            limit="\\mathrm{SNR} = 0,\\ \\eta\\lambda \\ll 1-\\beta_2,\\ t \\to \\infty",
            assumptions=(SIGN_LINEARISED, IID_IN_TIME, SELF_AVERAGING),
            uses=("req_update", "theta_rms_lion_limit", "lag_sum", "weight_rms.beta3_def"),
            checks=(
                Given.of(
                    SmallParameter,
                    LHS,
                    RHS,
                    eta * lam / (1 - b2),
                    {eta: EPSILON * (1 - b2) / lam},
                    f"{NAME}.req_equilibrium",
                    bound=3.0,
                    given=LION_REQ_GIVEN,
                    meaning={
                        RMS(theta[t]): sp.sqrt(linear),
                        beta3_def.lhs: beta3_def.rhs,
                    },
                    method="the linearised lag sum, to leading order in eta lambda/(1 - beta2)",
                ),
                RewriteToZero(
                    eta / LHS,
                    eta / RHS,
                    given={
                        # REQ's printed Lion row: the angular update eta_r = eta / RMS.
                        LHS: eta
                        / (
                            sp.sqrt(sp.pi / 2)
                            * sp.sqrt(2 * eta * lam)
                            * sp.sqrt((1 - b1) ** 2 + b1**2 * (1 - b2) / (1 + b2))
                        )
                    },
                    method="REQ's printed angular update (their Lion row), inverted",
                ),
            ),
        )


def build() -> Derivation:
    context = _Context(StepRecorder(NAME), derivation("weight_rms"), derivation("sign_sgdm"))
    _update(context)
    _filter(context)
    _pair(context)
    _weights(context)
    _equilibrium(context)
    _req(context)
    return Derivation(
        name=NAME,
        title="The weight RMS of Lion: exact through the arcsine law",
        abstract=(
            "Lion updates with the sign of a linear filter of the gradients. For iid Gaussian "
            "gradients the filter's mean, variance and lag covariance are exact at every step, "
            "the sign of a Gaussian pair with different means has an exact moment (Plackett's "
            "identity), and the weights are a fixed linear functional of the signs: their "
            "second moment is exact, transient included, with no mean-field step. The "
            "equilibrium is its limit and reduces to SignSGDMW's at $\\beta_1 = \\beta_2$. "
            "REQ's published formula is the same random walk with the sign linearised."
        ),
        source=LION_SOURCE,
        sections=SECTIONS,
        steps=tuple(context.recorder.steps),
        results=(
            ("lion_weight_rms_sq", "theta_rms_lion"),
            ("lion_equilibrium_sq", "theta_rms_lion_limit"),
            ("lion_req_weight_rms", "req_equilibrium"),
        ),
        scope=SCOPE,
    )
