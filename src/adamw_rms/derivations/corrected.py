r"""Beyond the mean field: the update and weight RMS with beta2, bias correction and eps.

Not in the source. The mean-field formulas replace :math:`E[m/\sqrt v]`-type expectations by
ratios of expectations, which drops every effect of the fluctuations of :math:`v`: the
:math:`\beta_2` dependence, and with it the transient of an uncorrected :math:`v_t` and the role
of :math:`\epsilon`. Here the update is expanded to second order in the relative fluctuation
:math:`\delta_t = \hat v_t/E[\hat v_t] - 1`, whose variance is :math:`O(1-\beta_2)` late in
training; the Gaussian moments it needs (means, covariances and third cumulants of
:math:`\hat m` and :math:`\hat v` at two steps) are exact geometric sums at every step, with or
without bias correction; the weight's second moment is then the exact double sum of the update's
means and covariances, with no :math:`\theta\cdot u \approx 0`.

Rules compute (geometric sums, a Taylor series, the moment-cumulant expansion truncated at first
order in the fluctuation strength); checks take other routes: exact Gaussian moments at two
concrete steps, Taylor coefficients by differentiation, an exact quadrature of the stationary
update moments (a Laplace representation of :math:`v^{-1/2}`, sharing nothing with the
expansion) whose error must shrink as :math:`(1-\beta_2)^2`, brute-force iteration of the
weight recursion, and numerical summation of the lag series.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass

import sympy as sp
from sympy.utilities.iterables import multiset_partitions

from .. import symbols as S
from ..checks import (
    LHS,
    RHS,
    ApproximationOrder,
    BruteForce,
    GaussianMomentsAtLags,
    Given,
    NumericEqual,
    TaylorByDerivatives,
    stationary_update_moments,
)
from ..rules import geometric_sum
from ..steps import Assumption, Derivation, Kind, Step, StepRecorder
from ._assumptions import IID_IN_TIME
from ._source import WEIGHT_RMS_SOURCE

b1, b2, b3, t, i, k = S.beta1, S.beta2, S.beta3, S.t, S.i, S.k
mu, sigma, eps, bias = S.mu, S.sigma, S.eps, S.bias
eta, lam = S.eta, S.lam
g, m, v, u, theta = S.g, S.m, S.v, S.u, S.theta
m_hat, v_hat = S.m_hat, S.v_hat
E, Var, Cov, Kappa3 = S.Expect, S.Variance, S.Covariance, S.JointCumulant
A, delta = S.mean_v_hat, S.fluct

NAME = "corrected"
SECTIONS = (
    "Setting",
    "Moments at two steps",
    "Expansion in the fluctuation of v",
    "The stationary update",
    "The weight RMS",
    "Small and large eps",
)

SECOND_ORDER = Assumption(
    "second_order_in_v",
    "the update is expanded to second order in the relative fluctuation of $\\hat v_t$ and "
    "every moment is kept to first order in its strength: terms of order $(1-\\beta_2)^2$ "
    "(late in training) or $1/n_t^2$ with $n_t$ the number of gradients $v_t$ averages "
    "(early) are dropped",
    r"O\big(\mathbb{V}\mathrm{ar}[\hat v_t]^2/\mathbb{E}[\hat v_t]^4\big)",
)
LIMIT = "(1-\\beta_2)^2 \\ll 1"

# Exact points for the brute-force moment checks: generic, cheap rationals.
MOMENT_POINT = {b1: sp.Rational(3, 5), b2: sp.Rational(4, 5)}
LATER = t + k


def m_unrolled(step: sp.Expr) -> sp.Sum:
    return sp.Sum((1 - b1) * b1 ** (step - i) * g[i], (i, 1, step))


def _bias_divisor(beta: sp.Expr, step: sp.Expr) -> sp.Expr:
    return 1 - bias * beta**step


def _gradient_moment(power: int) -> sp.Expr:
    """E[g^power] for g ~ N(mu, sigma^2), from the moment generating function."""
    x = sp.Dummy("x")
    mgf = sp.exp(mu * x + sigma**2 * x**2 / 2)
    return sp.expand(sp.diff(mgf, x, power).subs(x, 0))


def gradient_cumulants() -> dict[str, sp.Expr]:
    """The joint cumulants of (g, g^2) that the moving averages inherit, per step."""
    e1, e2, e3, e4 = (_gradient_moment(p) for p in (1, 2, 3, 4))
    return {
        "g,g": sp.expand(e2 - e1**2),
        "g2,g2": sp.expand(e4 - e2**2),
        "g,g2": sp.expand(e3 - e1 * e2),
        # E[(g - mu)^2 (g^2 - E g^2)]
        "g,g,g2": sp.expand(e4 - 2 * mu * e3 + mu**2 * e2 - e2 * (e2 - e1**2)),
    }


def weight(kind: str, step: sp.Expr) -> sp.Expr:
    """The weight of g_i (``m``) or g_i^2 (``v``) in the raw moving average at ``step``."""
    beta = b1 if kind == "m" else b2
    return (1 - beta) * beta ** (step - i)


def lagged_sum(kinds: tuple[tuple[str, sp.Expr], ...], cumulant: sp.Expr) -> sp.Expr:
    """sum_{i=1}^{t} prod(weights) * cumulant: a joint cumulant of independent sums.

    Joint cumulants are multilinear and vanish across independent steps, so a cumulant of
    moving averages is the sum over the shared gradients i <= t (the earlier step) of the
    product of their weights times the per-step cumulant.
    """
    summand = sp.Mul(*(weight(kind, step) for kind, step in kinds)) * cumulant
    return sp.factor(geometric_sum(summand, i, 1, t))


@dataclass(frozen=True)
class Moments:
    mean_m: Step
    mean_v: Step
    cov_mm: Step
    cov_vv: Step
    cov_m_v_later: Step
    cov_m_later_v: Step
    cumulant_early: Step
    cumulant_late: Step

    def meaning(self) -> dict:
        """Each moment the expansion names, at (t, t + k), by its closed form.

        Equal-time forms are the k = 0 cases; those at the later step are the k = 0 cases
        taken at step t + k.
        """
        cov_vv, cov_mv = self.cov_vv, self.cov_m_v_later
        return {
            self.mean_m.lhs: self.mean_m.rhs,
            self.mean_v.lhs: self.mean_v.rhs,
            E(m_hat[LATER]): self.mean_m.rhs.subs(t, LATER),
            E(v_hat[LATER]): self.mean_v.rhs.subs(t, LATER),
            self.cov_mm.lhs: self.cov_mm.rhs,
            cov_vv.lhs: cov_vv.rhs,
            Cov(v_hat[t], v_hat[t]): cov_vv.rhs.subs(k, 0),
            Cov(v_hat[LATER], v_hat[LATER]): cov_vv.rhs.subs(k, 0).subs(t, LATER),
            cov_mv.lhs: cov_mv.rhs,
            Cov(m_hat[t], v_hat[t]): cov_mv.rhs.subs(k, 0),
            Cov(m_hat[LATER], v_hat[LATER]): cov_mv.rhs.subs(k, 0).subs(t, LATER),
            self.cov_m_later_v.lhs: self.cov_m_later_v.rhs,
            self.cumulant_early.lhs: self.cumulant_early.rhs,
            self.cumulant_late.lhs: self.cumulant_late.rhs,
        }


def setting(recorder: StepRecorder) -> None:
    add = recorder.add
    add(
        id="m_hat_def",
        title="Bias-corrected first moment",
        lhs=m_hat[t],
        rhs=m[t] / _bias_divisor(b1, t),
        kind=Kind.DEFINITION,
        justification=(
            "$m_t = \\beta_1 m_{t-1} + (1-\\beta_1) g_t$ from $m_0 = 0$; $b = 1$ is Adam's bias "
            "correction (PyTorch's default), $b = 0$ the raw moment."
        ),
    )
    add(
        id="v_hat_def",
        title="Bias-corrected second moment",
        lhs=v_hat[t],
        rhs=v[t] / _bias_divisor(b2, t),
        kind=Kind.DEFINITION,
        justification="$v_t = \\beta_2 v_{t-1} + (1-\\beta_2) g_t^2$ from $v_0 = 0$.",
    )
    add(
        id="adam_update",
        title="Adam's update with eps",
        lhs=u[t],
        rhs=m_hat[t] / (sp.sqrt(v_hat[t]) + eps),
        kind=Kind.DEFINITION,
        justification=(
            "PyTorch's order: $\\epsilon$ is added to $\\sqrt{\\hat v_t}$. Each coordinate's "
            "gradients are iid $\\mathcal{N}(\\mu, \\sigma^2)$."
        ),
    )
    add(
        id="weight_recursion",
        title="Decoupled weight decay",
        lhs=theta[t],
        rhs=b3 * theta[t - 1] - eta * u[t],
        kind=Kind.DEFINITION,
        justification=(
            "$\\theta_t = \\theta_{t-1} - \\eta(u_t + \\lambda\\theta_{t-1})$ with "
            "$\\beta_3 = 1 - \\eta\\lambda$; $\\theta_0$ is independent of the gradients with "
            "mean 0."
        ),
    )


SEQUENCES = {
    m[t]: b1 * m[t - 1] + (1 - b1) * g[t],
    v[t]: b2 * v[t - 1] + (1 - b2) * g[t] ** 2,
}
DEFINITIONS = {m_hat: m[t] / _bias_divisor(b1, t), v_hat: v[t] / _bias_divisor(b2, t)}


def _moment_step(recorder: StepRecorder, lhs: sp.Expr, raw: sp.Expr, divisors, **fields) -> Step:
    return recorder.add(
        lhs=lhs,
        rhs=raw / sp.Mul(*divisors),
        kind=Kind.IDENTITY,
        uses=("m_hat_def", "v_hat_def"),
        assumptions=(IID_IN_TIME,),
        checks=(GaussianMomentsAtLags(LHS, RHS, SEQUENCES, DEFINITIONS, at=MOMENT_POINT),),
        **fields,
    )


def moments(recorder: StepRecorder) -> Moments:
    c = gradient_cumulants()
    d1, d2 = _bias_divisor(b1, t), _bias_divisor(b2, t)
    d1_late, d2_late = _bias_divisor(b1, LATER), _bias_divisor(b2, LATER)
    mean_m = _moment_step(
        recorder,
        E(m_hat[t]),
        sp.factor(geometric_sum(weight("m", t) * mu, i, 1, t)),
        (d1,),
        id="mean_m_hat",
        title="Mean of the corrected first moment",
        justification="Linearity, $\\mathbb{E}[g_i] = \\mu$, a geometric sum.",
    )
    mean_v = _moment_step(
        recorder,
        E(v_hat[t]),
        sp.factor(geometric_sum(weight("v", t) * (mu**2 + sigma**2), i, 1, t)),
        (d2,),
        id="mean_v_hat",
        title="Mean of the corrected second moment",
        justification="Linearity, $\\mathbb{E}[g_i^2] = \\mu^2 + \\sigma^2$, a geometric sum.",
    )
    lemma = (
        "Joint cumulants are multilinear and vanish between independent steps, so a cumulant of "
        "moving averages sums, over the gradients $i \\le t$ both steps share, the product of "
        "their weights and the per-gradient cumulant"
    )
    cov_mm = _moment_step(
        recorder,
        Cov(m_hat[t], m_hat[LATER]),
        lagged_sum((("m", t), ("m", LATER)), c["g,g"]),
        (d1, d1_late),
        id="cov_m_hat",
        title="Covariance of the first moment at two steps",
        justification=f"{lemma}: $\\mathrm{{Cov}}[g, g] = \\sigma^2$; $k \\ge 0$.",
    )
    cov_vv = _moment_step(
        recorder,
        Cov(v_hat[t], v_hat[LATER]),
        lagged_sum((("v", t), ("v", LATER)), c["g2,g2"]),
        (d2, d2_late),
        id="cov_v_hat",
        title="Covariance of the second moment at two steps",
        justification=(
            f"{lemma}: $\\mathbb{{V}}\\mathrm{{ar}}[g^2] = 2\\sigma^4 + 4\\mu^2\\sigma^2$."
        ),
    )
    cov_m_v_later = _moment_step(
        recorder,
        Cov(m_hat[t], v_hat[LATER]),
        lagged_sum((("m", t), ("v", LATER)), c["g,g2"]),
        (d1, d2_late),
        id="cov_m_v_later",
        title="First moment now, second moment later",
        justification=f"{lemma}: $\\mathrm{{Cov}}[g, g^2] = 2\\mu\\sigma^2$.",
    )
    cov_m_later_v = _moment_step(
        recorder,
        Cov(m_hat[LATER], v_hat[t]),
        lagged_sum((("m", LATER), ("v", t)), c["g,g2"]),
        (d1_late, d2),
        id="cov_m_later_v",
        title="Second moment now, first moment later",
        justification=f"{lemma}.",
    )
    cumulant_early = _moment_step(
        recorder,
        Kappa3(m_hat[t], m_hat[LATER], v_hat[t]),
        lagged_sum((("m", t), ("m", LATER), ("v", t)), c["g,g,g2"]),
        (d1, d1_late, d2),
        id="cumulant_early",
        title="Third cumulant with the earlier second moment",
        justification=f"{lemma}: $\\kappa[g, g, g^2] = 2\\sigma^4$.",
    )
    cumulant_late = _moment_step(
        recorder,
        Kappa3(m_hat[t], m_hat[LATER], v_hat[LATER]),
        lagged_sum((("m", t), ("m", LATER), ("v", LATER)), c["g,g,g2"]),
        (d1, d1_late, d2_late),
        id="cumulant_late",
        title="Third cumulant with the later second moment",
        justification=f"{lemma}.",
    )
    return Moments(
        mean_m, mean_v, cov_mm, cov_vv, cov_m_v_later, cov_m_later_v, cumulant_early, cumulant_late
    )


# --- the expansion -------------------------------------------------------------------------------

# Book-keeping for the strength of v's fluctuation: every cumulant that involves v_hat (a
# covariance with it, its variance, a third cumulant with one v_hat) is O(tau), tau ~ 1 - beta2
# late in training or 1/n early; cumulants with two or more v_hat's beyond a pair, fourth
# cumulants and products of two O(tau) cumulants are O(tau^2), dropped.
TAU = S.fluct_order


def _order(block: tuple[str, ...]) -> int | None:
    """The tau order of a joint cumulant of the named fluctuations; None: dropped."""
    vs = sum(1 for name in block if name.startswith("v"))
    if len(block) == 2:
        return 0 if vs == 0 else 1
    if len(block) == 3 and vs == 1:
        return 1
    return None  # Gaussian m has no higher cumulants; the rest is O(tau^2)


def _cumulant_object(block: tuple[str, ...], early: sp.Expr, later: sp.Expr) -> sp.Expr:
    """The moment object a block stands for, in the form the moment steps state."""
    objects = {"m": m_hat[early], "m'": m_hat[later], "v": v_hat[early], "v'": v_hat[later]}
    rank = {"m": 0, "m'": 1, "v": 2, "v'": 3}
    ordered = sorted(block, key=rank.__getitem__)
    if len(ordered) == 2:
        first, second = ordered
        if first == "m'" and second == "v":  # the later m with the earlier v
            return Cov(objects["m'"], objects["v"])
        return Cov(objects[first], objects[second])
    return Kappa3(*(objects[name] for name in ordered))


def truncated_moment(names: tuple[str, ...], early: sp.Expr, later: sp.Expr) -> sp.Expr:
    """E[product of the centred fluctuations ``names``] to first order in tau.

    The moment-cumulant formula: a sum over the set partitions of the factors into blocks of
    two or more (centred variables have no first cumulant) of the product of the blocks'
    cumulants, each carrying its order in tau.
    """
    if not names:
        return sp.Integer(1)
    total = sp.Integer(0)
    for partition in multiset_partitions(list(range(len(names)))):
        blocks = [tuple(names[j] for j in block) for block in partition]
        if any(len(block) < 2 for block in blocks):
            continue
        orders = [_order(block) for block in blocks]
        if any(order is None for order in orders) or sum(orders) > 1:
            continue
        total += sp.Mul(
            *(
                TAU**order * _cumulant_object(block, early, later)
                for block, order in zip(blocks, orders, strict=True)
            )
        )
    return total


def taylor_coefficients() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """f_0, f_1, f_2 of 1/(sqrt(A (1 + delta)) + eps) in delta, by series expansion."""
    series = sp.series(1 / (sp.sqrt(A) * sp.sqrt(1 + delta) + eps), delta, 0, 3).removeO()
    return tuple(sp.factor(series.coeff(delta, n)) for n in range(3))


def first_order(expr: sp.Expr) -> sp.Expr:
    """Keep the terms of order tau^0 and tau^1; then tau = 1."""
    expanded = sp.expand(expr, TAU)
    return (expanded.coeff(TAU, 0) + expanded.coeff(TAU, 1)).subs(TAU, 1)


def update_moment(steps: tuple[sp.Expr, ...], coefficients) -> sp.Expr:
    """E[prod over ``steps`` of m_hat (f0 + f1 delta + f2 delta^2)], to first order in tau.

    Each factor is E[m_hat] + (m_hat - E[m_hat]) times a polynomial in delta =
    (v_hat - E[v_hat])/E[v_hat]; the product is expanded into monomials in the centred
    fluctuations and each monomial's expectation taken by :func:`truncated_moment`.
    """
    early, later = steps[0], steps[-1]
    tags = ("", "'")[: len(steps)]
    total = sp.Integer(0)
    for choice in itertools.product(range(3), (False, True), repeat=len(steps)):
        coefficient = sp.Integer(1)
        names: list[str] = []
        for position, (step, tag) in enumerate(zip(steps, tags, strict=True)):
            power, fluctuating = choice[2 * position], choice[2 * position + 1]
            mean_v = E(v_hat[step])
            coefficient *= S.TaylorCoefficient(power, mean_v) / mean_v**power
            names.extend(["v" + tag] * power)
            if fluctuating:
                names.append("m" + tag)
            else:
                coefficient *= E(m_hat[step])
        total += coefficient * truncated_moment(tuple(names), early, later)
    return total


@dataclass(frozen=True)
class Expansion:
    taylor: Step
    mean: Step
    covariance: Step


def _early_reference(point) -> tuple[float, float]:
    """Var[u_t] exactly at a finite step t (eps = 0), scaled by E[u_t^2]."""
    mean_, second = _early_moments(point)
    return second - mean_**2, second


def _early_mean(point) -> tuple[float, float]:
    """E[u_t] exactly at a finite step t (eps = 0), relative to itself."""
    mean_, _ = _early_moments(point)
    return mean_, abs(mean_)


def _early_moments(point) -> tuple[float, float]:
    return stationary_update_moments(
        float(point[b1]), float(point[b2]), float(point[mu]), 0,
        steps=int(point[t]), bias=bool(point[bias]),
    )  # fmt: skip


# Early steps: v_t averages t gradients, so the dropped order is 1/t^2 (checked at beta2 = 0.999,
# where the weights of v are nearly equal; measured |error|/E[u^2] <= 0.09/t^2).
EARLY_POINTS = tuple(
    {t: step, k: 0, b1: sp.Rational(beta1), b2: sp.Rational(999, 1000), mu: sp.Rational(mean),
     sigma: 1, eps: 0, bias: on}
    for step in (5, 10, 20, 40)
    for beta1 in ("0", "9/10")
    for mean in ("0", "1")
    for on in (0, 1)
)  # fmt: skip


def _stationary_reference(statistic: str):
    """The exact stationary moment at a point (sigma = 1, eps = 0), by quadrature, and its scale.

    A mean is measured relative to itself; a covariance relative to the second moment
    E[u_t u_{t+k}] it is part of (with a gradient mean the covariance is a small difference of
    two large terms, and what the weight accumulates is the second moment).
    """

    def reference(point) -> tuple[float, float]:
        beta1, beta2 = float(point[b1]), float(point[b2])
        lag = int(point[k])
        # 150 nodes per axis agree with 400 to 1e-14 on these points: the 2-d rule costs n^2.
        mean_, product = stationary_update_moments(
            beta1, beta2, float(point[mu]), lag, nodes=150 if lag else 400
        )
        if statistic == "mean":
            return mean_, abs(mean_)
        return product - mean_**2, product

    return reference


# Stationary points (t large enough that beta^t < 1e-40) walking 1 - beta2 towards 0.
def _late_point(beta1, beta2, mean, lag) -> dict:
    return {
        t: sp.Float(40_000),
        k: lag,
        b1: sp.Rational(beta1),
        b2: sp.Rational(beta2),
        mu: sp.Rational(mean),
        sigma: 1,
        eps: 0,
        bias: 1,
    }


MEAN_POINTS = tuple(
    _late_point(beta1, beta2, mean, 0)
    for beta1 in ("0", "9/10")
    for beta2 in ("19/20", "49/50", "99/100")
    for mean in ("3/10", "1")
)
COVARIANCE_POINTS = tuple(
    _late_point(beta1, beta2, mean, 0)
    for beta1 in ("0", "9/10")
    for beta2 in ("19/20", "49/50", "99/100")
    for mean in ("0", "1")
) + tuple(
    # At a lag the reference is a 2-d quadrature: two (beta2, lag) pairs keep it to seconds.
    _late_point("9/10", beta2, mean, lag)
    for beta2, lag in (("9/10", 1), ("19/20", 3))
    for mean in ("0", "1")
)
# Measured: |error|/scale <= 2.3 (1 - beta2)^2 on these points (largest: beta1 = 0, mu = 0).
ORDER_BOUND = 3.0


def expansion(recorder: StepRecorder, mom: Moments) -> Expansion:
    add = recorder.add
    f = taylor_coefficients()
    taylor = add(
        id="taylor_f",
        title="The update's denominator, to second order",
        lhs=1 / (sp.sqrt(A * (1 + delta)) + eps),
        rhs=f[0] + f[1] * delta + f[2] * delta**2,
        kind=Kind.APPROXIMATION,
        justification=(
            "With $\\hat v_t = A_t(1 + \\delta_t)$, $A_t = \\mathbb{E}[\\hat v_t]$, the factor "
            "$1/(\\sqrt{\\hat v_t} + \\epsilon)$ of [[adam_update]] expanded in $\\delta_t$; it "
            "drops $O(\\delta^3)$. At $\\epsilon = 0$ the coefficients are "
            "$A^{-1/2}(1, -\\tfrac12, \\tfrac38)$."
        ),
        limit="|\\delta| \\ll 1",
        uses=("adam_update",),
        checks=(TaylorByDerivatives(LHS, RHS, delta, 2),),
    )
    mean_tagged = sp.expand(update_moment((t,), f))
    mean_first = first_order(mean_tagged)
    product = sp.expand(update_moment((t, LATER), f))
    # Products of two O(tau) terms of the means drop with the rest of O(tau^2).
    covariance = first_order(product - mean_tagged * mean_tagged.subs(t, LATER))
    meaning = mom.meaning()
    for step in (t, LATER):
        for n, coefficient in enumerate(f):
            meaning[S.TaylorCoefficient(n, E(v_hat[step]))] = coefficient.subs(A, E(v_hat[step]))
    mean_step = add(
        id="update_mean",
        title="Mean of the update beyond the mean field",
        lhs=E(u[t]),
        rhs=mean_first,
        kind=Kind.APPROXIMATION,
        justification=(
            "[[adam_update]] is $\\hat m_t$ times [[taylor_f]]; the expectation by the "
            "moment-cumulant formula, keeping first order in the strength of $\\hat v_t$'s "
            "fluctuation (a covariance with $\\hat v_t$, its variance, a third cumulant with "
            "one $\\hat v_t$). The mean field keeps only the first term."
        ),
        limit=LIMIT,
        assumptions=(IID_IN_TIME, SECOND_ORDER),
        uses=("adam_update", "taylor_f"),
        checks=(
            Given.of(
                ApproximationOrder,
                LHS,
                RHS,
                quantity=E(u[t]),
                reference=_stationary_reference("mean"),
                points=MEAN_POINTS,
                small=1 - b2,
                power=2,
                bound=ORDER_BOUND,
                meaning=meaning,
            ),
            Given.of(
                ApproximationOrder,
                LHS,
                RHS,
                quantity=E(u[t]),
                reference=_early_mean,
                points=tuple(p for p in EARLY_POINTS if p[mu] != 0),
                small=1 / t,
                power=2,
                bound=0.5,
                meaning=meaning,
                method="error against an exact quadrature at steps 5..40, O(1/t^2)",
            ),
        ),
    )
    covariance_step = add(
        id="update_covariance",
        title="Covariance of the update at two steps",
        lhs=Cov(u[t], u[LATER]),
        rhs=covariance,
        kind=Kind.APPROXIMATION,
        justification=(
            "The same expansion for $\\mathbb{E}[u_t u_{t+k}]$ ($k \\ge 0$), less the product "
            "of [[update_mean]] at the two steps, to the same order. The mean field keeps "
            "only $\\mathrm{Cov}[\\hat m_t, \\hat m_{t+k}]/\\sqrt{A_t A_{t+k}}$."
        ),
        limit=LIMIT,
        assumptions=(IID_IN_TIME, SECOND_ORDER),
        uses=("update_mean",),
        checks=(
            Given.of(
                ApproximationOrder,
                LHS,
                RHS,
                quantity=Cov(u[t], u[LATER]),
                reference=_stationary_reference("covariance"),
                points=COVARIANCE_POINTS,
                small=1 - b2,
                power=2,
                bound=ORDER_BOUND,
                meaning=meaning,
            ),
            Given.of(
                ApproximationOrder,
                LHS,
                RHS,
                quantity=Cov(u[t], u[LATER]),
                reference=_early_reference,
                points=EARLY_POINTS,
                small=1 / t,
                power=2,
                bound=0.5,
                meaning=meaning,
                method="error against an exact quadrature at steps 5..40, O(1/t^2)",
            ),
        ),
    )
    return Expansion(taylor, mean_step, covariance_step)


# --- stationarity and the update RMS ---------------------------------------------------------


def late_limit(expr: sp.Expr) -> sp.Expr:
    """Every power with the step in its exponent set to 0 (0 < beta < 1, t -> oo)."""
    expanded = sp.expand_power_exp(sp.expand_power_base(expr, force=True))
    powers = {
        power: sp.Integer(0)
        for power in expanded.atoms(sp.Pow)
        if power.exp.has(t) and not power.base.has(t)
    }
    return sp.factor(expanded.xreplace(powers))


def _at_large_t(*points) -> tuple[dict, ...]:
    # A Float step: an exact (9/10)**20000 would be a 20000-digit rational.
    return tuple({**point, t: sp.Float(20_000)} for point in points)


LARGE_T_POINTS = _at_large_t(
    {
        k: 2,
        b1: sp.Rational(9, 10),
        b2: sp.Rational(19, 20),
        mu: sp.Rational(1, 2),
        sigma: sp.Rational(3, 2),
        eps: sp.Rational(1, 10),
        bias: 0,
    },
    {
        k: 0,
        b1: sp.Rational(1, 2),
        b2: sp.Rational(99, 100),
        mu: sp.Rational(-1, 3),
        sigma: 1,
        eps: 0,
        bias: 1,
    },
)


def stationary(recorder: StepRecorder, mom: Moments, ex: Expansion) -> tuple[Step, Step, Step]:
    add = recorder.add
    meaning = mom.meaning()
    late = {lhs: late_limit(rhs) for lhs, rhs in meaning.items()}
    late_mean_v = late[E(v_hat[t])]
    coefficient_meaning = {}
    for step in (t, LATER):
        for n in range(3):
            coefficient_meaning[S.TaylorCoefficient(n, E(v_hat[step]))] = S.TaylorCoefficient(
                n, late_mean_v
            )

    def in_late_moments(expr: sp.Expr) -> sp.Expr:
        return expr.xreplace(coefficient_meaning).xreplace(late)

    f = taylor_coefficients()
    explicit = {S.TaylorCoefficient(n, late_mean_v): f[n].subs(A, late_mean_v) for n in range(3)}
    finite = ex.mean.checks[0].meaning
    mean_late = in_late_moments(ex.mean.rhs)
    cov_late = in_late_moments(ex.covariance.rhs)
    late_source = ", ".join(f"[[{s.id}]]" for s in _moment_steps(mom))
    stationary_mean = add(
        id="update_mean_stationary",
        title="Mean of the update, late",
        lhs=E(u[t]),
        rhs=mean_late,
        kind=Kind.APPROXIMATION,
        justification=(
            "[[update_mean]] with the moments of " + late_source + " at $\\beta_1^t, "
            "\\beta_2^t \\to 0$ (the bias correction is then 1, and "
            "$A = \\mu^2 + \\sigma^2$)."
        ),
        limit="\\beta_1^t, \\beta_2^t \\ll 1",
        uses=("update_mean", *(s.id for s in _moment_steps(mom))),
        checks=(
            Given.of(
                NumericEqual,
                LHS,
                RHS,
                points=LARGE_T_POINTS,
                tolerance=1e-12,
                meaning={E(u[t]): ex.mean.rhs, **finite, **explicit},
                method="the finite-t form at t = 20000, in mpmath",
            ),
        ),
    )
    stationary_cov = add(
        id="update_covariance_stationary",
        title="Autocovariance of the update, late",
        lhs=Cov(u[t], u[LATER]),
        rhs=cov_late,
        kind=Kind.APPROXIMATION,
        justification=(
            "[[update_covariance]] with the late moments: a sum of geometric terms in the lag "
            "$k$, with ratios $\\beta_1$, $\\beta_2$ and $\\beta_1\\beta_2$."
        ),
        limit="\\beta_1^t, \\beta_2^t \\ll 1",
        uses=("update_covariance", *(s.id for s in _moment_steps(mom))),
        checks=(
            Given.of(
                NumericEqual,
                LHS,
                RHS,
                points=LARGE_T_POINTS,
                tolerance=1e-12,
                meaning={Cov(u[t], u[LATER]): ex.covariance.rhs, **finite, **explicit},
                method="the finite-t form at t = 20000, in mpmath",
            ),
        ),
    )
    points = tuple(
        _late_point(beta1, beta2, mean, 0)
        for beta1 in ("0", "9/10")
        for beta2 in ("19/20", "49/50", "99/100")
        for mean in ("0", "1")
    )

    def second_moment(point) -> tuple[float, float]:
        beta1, beta2 = float(point[b1]), float(point[b2])
        _, product = stationary_update_moments(beta1, beta2, float(point[mu]), 0)
        return product, product

    rms_sq = add(
        id="update_rms_sq",
        title="The update's mean square beyond the mean field",
        lhs=E(u[t] ** 2),
        rhs=stationary_mean.rhs**2 + stationary_cov.rhs.subs(k, 0),
        kind=Kind.APPROXIMATION,
        justification=(
            "$\\mathbb{E}[u^2] = \\mathbb{E}[u]^2 + \\mathbb{V}\\mathrm{ar}[u]$: "
            "[[update_mean_stationary]] squared plus [[update_covariance_stationary]] at "
            "$k = 0$. Against the exact quadrature its error is $O((1-\\beta_2)^2)$; the mean "
            "field's is $O(1-\\beta_2)$."
        ),
        limit=LIMIT + ",\\ \\beta_1^t, \\beta_2^t \\ll 1",
        assumptions=(IID_IN_TIME, SECOND_ORDER),
        uses=("update_mean_stationary", "update_covariance_stationary"),
        checks=(
            Given.of(
                ApproximationOrder,
                LHS,
                RHS,
                quantity=E(u[t] ** 2),
                reference=second_moment,
                points=points,
                small=1 - b2,
                power=2,
                bound=ORDER_BOUND,
                meaning=explicit,
            ),
        ),
    )
    return stationary_mean, stationary_cov, rms_sq


def _moment_steps(mom: Moments) -> tuple[Step, ...]:
    return tuple(getattr(mom, item.name) for item in dataclasses.fields(mom))


# --- the weight RMS ------------------------------------------------------------------------------

j = S.j


def _canonical_covariance(expr: sp.Expr) -> sp.Expr:
    """Cov[u_a, u_b] written with the earlier step first (it is symmetric)."""

    def order(e: sp.Expr) -> sp.Expr:
        x, y = e.args
        if isinstance(x, sp.Indexed) and isinstance(y, sp.Indexed) and x.base == y.base == u:
            if sp.simplify(x.indices[0] - y.indices[0]).is_positive:
                return Cov(y, x)
        return e

    return expr.replace(lambda e: isinstance(e, Cov), order)


def _keep(step: sp.Expr) -> sp.Expr:
    """The decay factor of a step of a schedule, 1 - eta_t lambda_t."""
    return 1 - S.eta_seq[step] * S.lam_seq[step]


def _expect_weights(expr: sp.Expr, n: int, scheduled: bool = False) -> sp.Expr:
    """E[theta_n^2] by iterating the weight recursion and linearity of expectation.

    theta_0 is independent of the updates with mean 0; E[u_a u_b] = E[u_a]E[u_b] + Cov[u_a, u_b].
    """
    state = theta[0]
    for step in range(1, n + 1):
        if scheduled:
            state = _keep(step) * state - S.eta_seq[step] * u[step]
        else:
            state = b3 * state - eta * u[step]
    square = sp.Poly(sp.expand(state**2), theta[0], *(u[q] for q in range(1, n + 1)))

    def expectation(powers) -> sp.Expr:
        if powers[0] == 2:
            return E(theta[0] ** 2)
        if powers[0] == 1:
            return sp.Integer(0)
        steps = [q for q, p in enumerate(powers[1:], start=1) for _ in range(p)]
        a, c = steps
        return E(u[a]) * E(u[c]) + Cov(u[a], u[c])

    value = sum(coefficient * expectation(powers) for powers, coefficient in square.terms())
    expr = expr.replace(lambda e: e == E(theta[n] ** 2), lambda e: value)
    return _canonical_covariance(sp.expand(expr))


def weight_section(recorder: StepRecorder, stationary_steps: tuple[Step, Step, Step]) -> Step:
    add = recorder.add
    mean_sum = sp.Sum(b3 ** (t - i) * E(u[i]), (i, 1, t))
    covariance_sum = sp.Sum(b3 ** (2 * t - i - j) * Cov(u[i], u[j]), (i, 1, t), (j, 1, t))
    second = add(
        id="weight_second_moment",
        title="The weight's mean square, exactly",
        lhs=E(theta[t] ** 2),
        rhs=b3 ** (2 * t) * E(theta[0] ** 2) + eta**2 * mean_sum**2 + eta**2 * covariance_sum,
        kind=Kind.IDENTITY,
        justification=(
            "Unroll [[weight_recursion]]: $\\theta_t = \\beta_3^t\\theta_0 - \\eta\\sum_{i\\le t}"
            "\\beta_3^{t-i}u_i$; square and take expectations, with $\\theta_0$ independent of "
            "the gradients and of mean 0. No $\\theta\\cdot u \\approx 0$ and no mean field: the "
            "update's means and covariances of [[update_mean]] and [[update_covariance]] enter "
            "as they are. Summed in $O(T)$ by the estimators (a recursion per geometric lag "
            "term)."
        ),
        uses=("weight_recursion",),
        checks=(
            BruteForce(
                LHS,
                RHS,
                steps=(1, 2, 3),
                evaluate=_expect_weights,
                method="brute force: the recursion iterated, linearity",
            ),
        ),
    )
    keep_after = {
        index: sp.Product(_keep(S.factor_step), (S.factor_step, index + 1, t))
        for index in (i, j, sp.Integer(0))
    }
    scheduled_mean = sp.Sum(S.eta_seq[i] * keep_after[i] * E(u[i]), (i, 1, t))
    scheduled_cov = sp.Sum(
        S.eta_seq[i] * S.eta_seq[j] * keep_after[i] * keep_after[j] * Cov(u[i], u[j]),
        (i, 1, t),
        (j, 1, t),
    )
    add(
        id="weight_second_moment_schedule",
        title="The same along a schedule",
        lhs=E(theta[t] ** 2),
        rhs=keep_after[sp.Integer(0)] ** 2 * E(theta[0] ** 2) + scheduled_mean**2 + scheduled_cov,
        kind=Kind.IDENTITY,
        justification=(
            "With per-step $\\eta_t$, $\\lambda_t$ the decay of step $t$ is "
            "$1 - \\eta_t\\lambda_t$ (PyTorch's, not $e^{-\\eta_t\\lambda_t}$) and "
            "[[weight_second_moment]] holds with products of these factors in place of powers "
            "of $\\beta_3$. The update's moments do not depend on the schedule."
        ),
        uses=("weight_second_moment",),
        checks=(
            BruteForce(
                LHS,
                RHS,
                steps=(1, 2, 3),
                evaluate=lambda expr, n: _expect_weights(expr, n, scheduled=True),
                method="brute force: the scheduled recursion iterated, linearity",
            ),
        ),
    )
    mean_late, cov_late, _ = stationary_steps
    horizon = S.T
    lag_terms = sp.expand(b3**k * cov_late.rhs)
    lag_series = geometric_sum(lag_terms, k, 1, horizon)
    lag_series = lag_series.xreplace({p: 0 for p in lag_series.atoms(sp.Pow) if p.exp.has(horizon)})
    variance = cov_late.rhs.subs(k, 0)
    stationary_rhs = eta**2 * mean_late.rhs**2 / (1 - b3) ** 2 + eta**2 * (
        variance + 2 * lag_series
    ) / (1 - b3**2)
    explicit = dict(stationary_steps[2].checks[0].meaning)

    def direct(point) -> tuple[float, float]:
        """The double sum over s, r >= 0 of beta3^(s+r) (E[u]^2 + C_|s-r|), summed directly."""
        import mpmath

        with mpmath.workdps(30):
            values = {key: sp.sympify(value) for key, value in point.items()}
            mean_value = mpmath.mpf(sp.N(mean_late.rhs.xreplace(explicit).xreplace(values), 40))
            lag = sp.lambdify(k, cov_late.rhs.xreplace(explicit).xreplace(values), "mpmath")
            beta = mpmath.mpf(sp.N(values[b3], 40))
            step_size = mpmath.mpf(sp.N(values[eta], 40))
            depth = 400
            covariances = [lag(h) for h in range(depth)]
            powers = [beta**q for q in range(depth)]
            total = mpmath.fsum(
                powers[s] * powers[r] * covariances[abs(s - r)]
                for s in range(depth)
                for r in range(depth)
            )
            total += (mean_value * mpmath.fsum(powers)) ** 2
            value = float(step_size**2 * total)
        return value, value

    points = (
        {
            eta: sp.Rational(1, 10),
            b3: sp.Rational(4, 5),
            b1: sp.Rational(1, 2),
            b2: sp.Rational(3, 5),
            mu: sp.Rational(1, 2),
            sigma: 1,
            eps: sp.Rational(1, 5),
        },
        {
            eta: sp.Rational(1, 3),
            b3: sp.Rational(7, 10),
            b1: sp.Rational(3, 5),
            b2: sp.Rational(4, 5),
            mu: 0,
            sigma: sp.Rational(3, 2),
            eps: 0,
        },
    )
    stationary_weight = add(
        id="weight_rms_sq",
        title="The weight's mean square, late",
        lhs=S.RMS2(theta[t]),
        rhs=stationary_rhs,
        kind=Kind.APPROXIMATION,
        justification=(
            "[[weight_second_moment]] as $t \\to \\infty$ with the late update moments "
            "([[update_mean_stationary]], [[update_covariance_stationary]]): the double sum "
            "over two steps is $(1-\\beta_3^2)^{-1}(C_0 + 2\\sum_{k\\ge1}\\beta_3^k C_k)$, each "
            "geometric lag term summed in closed form, and the mean adds "
            "$\\eta^2\\mathbb{E}[u]^2/(1-\\beta_3)^2$. Over many coordinates the RMS squared is "
            "this mean square."
        ),
        limit="\\beta_3^t \\ll 1",
        assumptions=(IID_IN_TIME, SECOND_ORDER),
        uses=("weight_second_moment", "update_mean_stationary", "update_covariance_stationary"),
        checks=(
            Given.of(
                ApproximationOrder,
                LHS,
                RHS,
                quantity=S.RMS2(theta[t]),
                reference=direct,
                points=points,
                small=sp.Integer(1),
                power=0,
                bound=1e-12,
                meaning=explicit,
                method="the double sum summed directly (400 x 400 terms, mpmath)",
                detail="equal to 1e-12 at 2 points",
            ),
        ),
    )
    return second, stationary_weight


# --- eps -----------------------------------------------------------------------------------------


def _evaluate(exact: sp.Expr):
    """The full formula at a point (30 digits), as the reference and its scale."""

    def reference(point) -> tuple[float, float]:
        value = float(sp.N(exact.xreplace(point), 30))
        return value, value

    return reference


def _eps_points(values: tuple[str, ...]) -> tuple[dict, ...]:
    """eps walked towards its limit at two settings (with and without a gradient mean)."""
    settings = (
        {b1: sp.Rational(9, 10), b2: sp.Rational(19, 20), mu: 0, sigma: 1},
        {b1: sp.Rational(1, 2), b2: sp.Rational(99, 100), mu: sp.Rational(1, 2), sigma: 2},
    )
    return tuple({**where, eps: sp.Rational(value)} for where in settings for value in values)


def eps_section(recorder: StepRecorder, rms_sq: Step) -> None:
    add = recorder.add
    explicit = dict(rms_sq.checks[0].meaning)
    exact = rms_sq.rhs.xreplace(explicit)
    coefficients = sorted(explicit, key=lambda f: int(f.args[0]))  # f_0, f_1, f_2 late
    # Each f_n to first order in eps on its own (a small series), f_n ~ a_n + eps b_n; the
    # mean square is a polynomial in the f_n, so its first order is sum_n b_n d/df_n at a.
    placeholders = [sp.Dummy(f"f{n}") for n in range(3)]
    in_placeholders = rms_sq.rhs.xreplace(dict(zip(coefficients, placeholders, strict=True)))
    parts = [sp.series(explicit[f], eps, 0, 2).removeO() for f in coefficients]
    at_zero = {p: part.subs(eps, 0) for p, part in zip(placeholders, parts, strict=True)}
    slope = sum(
        sp.diff(in_placeholders, p) * sp.expand(part).coeff(eps, 1)
        for p, part in zip(placeholders, parts, strict=True)
    )
    small = in_placeholders.xreplace(at_zero) + eps * slope.xreplace(at_zero)
    add(
        id="update_rms_sq_small_eps",
        title="Small eps",
        lhs=E(u[t] ** 2),
        rhs=small,
        kind=Kind.APPROXIMATION,
        justification=(
            "[[update_rms_sq]] to first order in $\\epsilon$: the correction is linear in "
            "$\\epsilon/\\sqrt{\\mu^2+\\sigma^2}$ (at $\\mu = 0$, $\\beta_2 \\to 1$: "
            "$-2\\epsilon/\\sigma$ relative), so PyTorch's $\\epsilon = 10^{-8}$ matters "
            "only for gradients below about $10^{-6}$."
        ),
        limit="\\epsilon \\ll \\sqrt{\\mu^2 + \\sigma^2}",
        uses=("update_rms_sq",),
        checks=(
            ApproximationOrder(
                LHS,
                RHS,
                quantity=E(u[t] ** 2),
                reference=_evaluate(exact),
                points=_eps_points(("1/100", "1/1000", "1/10000")),
                small=eps / sp.sqrt(mu**2 + sigma**2),
                power=2,
                bound=5.0,
                method="against update_rms_sq as eps -> 0: error O((eps/sigma)^2)",
            ),
        ),
    )
    # As eps -> oo: f_0 ~ 1/eps while f_1, f_2 = O(1/eps^2), so only f_0^2 terms survive.
    leading = {coefficients[0]: 1 / eps, coefficients[1]: 0, coefficients[2]: 0}
    large = sp.factor(rms_sq.rhs.xreplace(leading))
    add(
        id="update_rms_sq_large_eps",
        title="Large eps: Adam becomes momentum SGD",
        lhs=E(u[t] ** 2),
        rhs=large,
        kind=Kind.APPROXIMATION,
        justification=(
            "[[update_rms_sq]] as $\\epsilon \\to \\infty$: $u \\to \\hat m/\\epsilon$, "
            "so $\\mathbb{E}[u^2] \\to \\mathbb{E}[\\hat m^2]/\\epsilon^2$ and the weight "
            "RMS scales with the gradient (as with SGD) instead of being scale-free."
        ),
        limit="\\epsilon \\gg \\sqrt{\\mu^2 + \\sigma^2}",
        uses=("update_rms_sq",),
        checks=(
            ApproximationOrder(
                LHS,
                RHS,
                quantity=E(u[t] ** 2),
                reference=_evaluate(exact),
                points=_eps_points(("100", "1000", "10000")),
                small=sp.sqrt(mu**2 + sigma**2) / eps,
                power=1,
                bound=3.0,
                method="against update_rms_sq as eps -> oo: error O(sigma/eps)",
            ),
        ),
    )


def build() -> Derivation:
    recorder = StepRecorder(NAME)
    with recorder.section("Setting"):
        setting(recorder)
    with recorder.section("Moments at two steps"):
        mom = moments(recorder)
    with recorder.section("Expansion in the fluctuation of v"):
        ex = expansion(recorder, mom)
    with recorder.section("The stationary update"):
        stationary_steps = stationary(recorder, mom, ex)
    with recorder.section("The weight RMS"):
        weight_section(recorder, stationary_steps)
    with recorder.section("Small and large eps"):
        eps_section(recorder, stationary_steps[2])
    return Derivation(
        name=NAME,
        title="Beyond the mean field: Adam's update and AdamW's weight RMS with beta2, "
        "bias correction and eps",
        abstract=(
            "The mean-field estimates neglect the fluctuations of $v_t$. Expanding the update "
            "to second order in them, with exact Gaussian moments of $\\hat m$ and $\\hat v$ "
            "at any two steps (bias correction on or off, any $\\epsilon$), gives the update's "
            "mean and autocovariance to $O((1-\\beta_2)^2)$, and the weight's mean square as "
            "their exact double sum. Verified against exact Gaussian moments and an exact "
            "quadrature; measured against simulated AdamW in the accuracy study."
        ),
        source=WEIGHT_RMS_SOURCE,
        sections=SECTIONS,
        steps=tuple(recorder.steps),
        results=(
            ("update_mean", "update_mean"),
            ("update_covariance", "update_covariance"),
            ("update_rms_sq", "update_rms_sq"),
            ("weight_rms_sq", "weight_rms_sq"),
        ),
        scope=(
            "Adam with $\\epsilon$ added to $\\sqrt{\\hat v_t}$, bias correction on ($b = 1$) "
            "or off ($b = 0$), decoupled weight decay $\\beta_3 = 1 - \\eta\\lambda$",
            "gradients iid in time, $\\mathcal{N}(\\mu, \\sigma^2)$ per coordinate",
            "second order in the fluctuation of $\\hat v_t$: error $O((1-\\beta_2)^2)$ late, "
            "$O(1/t^2)$ while $v_t$ averages few gradients",
        ),
    )
