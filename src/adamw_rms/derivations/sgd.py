r"""The exact weight RMS of SGD with momentum (PyTorch's ``torch.optim.SGD``), transient included.

Not in the source. With iid Gaussian gradients and no normalisation, SGD with momentum is a
linear system driven by Gaussian noise: the weight and PyTorch's momentum buffer obey a 2 x 2
linear recursion, so their means and second moments obey closed linear recursions with no
approximation. The weight RMS after any number of steps is the exact solution of those
recursions, and the equilibrium their fixed point (the discrete Lyapunov equation). Coupled
decay (PyTorch's ``weight_decay``, an L2 term added to the gradient) and decoupled decay
(SGDW: the weight shrinks by ``1 - lr * weight_decay`` before the step) are one recursion with a
switch ``c``; Nesterov's step is a second switch ``nu``.

Rules compute (substitution, expectation by independence, a linear solve); checks take other
routes: PyTorch's rule run literally (its first step, where the buffer is a copy of the
gradient, included) on symbolic gradients, with exact Gaussian moments of the result at steps
1 to 4, and the fixed point against a long numerical iteration of the moment recursions.
"""

from __future__ import annotations

import sympy as sp

from .. import symbols as S
from ..algebra import limit
from ..checks import (
    LHS,
    RHS,
    ApproximationOrder,
    BruteForce,
    RewriteToZero,
    gaussian_expectation,
)
from ..steps import Assumption, Derivation, Kind, Step, StepRecorder
from ._assumptions import IID_IN_TIME
from ._source import REQ_SOURCE

t = S.t
eta, lam, mu, sigma = S.eta, S.lam, S.mu, S.sigma
beta, tau, c, nu = S.momentum, S.dampening, S.coupled, S.nesterov
theta, b, g = S.theta, S.buf, S.g
E = S.Expect
rho0 = S.rho0

NAME = "sgd"
SECTIONS = (
    "PyTorch's SGD",
    "A linear recursion",
    "Exact moments",
    "Equilibrium",
    "Small decay and REQ's prediction",
)

#: The variants: (c, nu) = (coupled?, Nesterov?). PyTorch allows Nesterov only without dampening.
VARIANTS = {
    "coupled": (1, 0),
    "coupled_nesterov": (1, 1),
    "decoupled": (0, 0),
    "decoupled_nesterov": (0, 1),
}

INDEPENDENT_INIT = Assumption(
    "independent_init",
    "the initial weights are independent of the gradients, with mean 0 and mean square $\\rho_0$",
    r"\mathbb{E}[\boldsymbol{\theta}_0] = 0,\ \mathbb{E}[\boldsymbol{\theta}_0^2] = \rho_0",
)

# Exact points for the brute-force checks, one per variant: generic rationals (no coincidences),
# dampening 0 with Nesterov as PyTorch requires.
_BASE = {eta: sp.Rational(3, 10), lam: sp.Rational(1, 2), beta: sp.Rational(3, 5)}
BRUTE_POINTS = tuple(
    {**_BASE, tau: sp.Integer(0) if n else sp.Rational(1, 4), c: sp.Integer(cc), nu: sp.Integer(n)}
    for cc, n in VARIANTS.values()
)


def pytorch_sgd(point: dict, steps: int) -> dict:
    """Weights and buffers after steps 1..``steps`` of PyTorch's rule, run literally.

    Mirrors ``torch.optim.SGD``'s single-tensor step (the buffer is a copy of the first
    gradient, no dampening then; Nesterov adds ``momentum * buf`` to the gradient), with the
    decoupled variant shrinking the weight first. Symbolic gradients ``g_1..g_steps`` and
    initial weight ``theta_0``; hyperparameters exact numbers from ``point``. Returns
    ``{theta_k: value, b_k: value}`` for k = 1..steps. Independent of the derived recursion.
    """
    lr, decay, momentum = point[eta], point[lam], point[beta]
    damp, is_coupled, is_nesterov = point[tau], point[c] == 1, point[nu] == 1
    weight, buffer, out = theta[0], None, {}
    for k in range(1, steps + 1):
        if is_coupled:
            direction = g[k] + decay * weight
        else:
            weight = weight * (1 - lr * decay)
            direction = g[k]
        buffer = direction if buffer is None else momentum * buffer + (1 - damp) * direction
        direction = direction + momentum * buffer if is_nesterov else buffer
        weight = sp.expand(weight - lr * direction)
        buffer = sp.expand(buffer)
        out[theta[k]] = weight
        out[b[k]] = buffer
    return out


def _brute_moments(point: dict):
    """``evaluate`` for :class:`BruteForce`: states from :func:`pytorch_sgd`, exact moments.

    Every ``theta_k``, ``b_k`` is replaced by its literal value (a polynomial in ``theta_0``
    and the gradients); each expectation is then taken exactly: the gradients iid
    ``N(mu, sigma^2)`` (raw Gaussian moments), ``theta_0`` independent with mean 0 and mean
    square ``rho0``.
    """

    def evaluate(expr: sp.Expr, n: int) -> sp.Expr:
        states = pytorch_sgd(point, n)
        gradients = [g[k] for k in range(1, n + 1)]

        def expect(argument: sp.Expr) -> sp.Expr:
            poly = sp.Poly(sp.expand(argument.xreplace(states)), theta[0])
            total = sp.Integer(0)
            for (power,), coefficient in poly.terms():
                weight = {0: sp.Integer(1), 1: sp.Integer(0), 2: rho0}[power]
                total += weight * gaussian_expectation(coefficient, gradients, mu, sigma)
            return total

        value = expr.replace(lambda e: isinstance(e, E), lambda e: expect(e.args[0]))
        return value.xreplace(states)

    return evaluate


def _literal_checks(steps: tuple[int, ...], method: str) -> tuple:
    return tuple(
        BruteForce(
            LHS,
            RHS,
            steps=steps,
            at=point,
            evaluate=_brute_moments(point),
            method=f"{method} (c = {point[c]}, nu = {point[nu]})",
        )
        for point in BRUTE_POINTS
    )


# --- the rule -------------------------------------------------------------------------------------

_gradient_used = g[t] + c * lam * theta[t - 1]
_buffer_rule = beta * b[t - 1] + (1 - tau) * _gradient_used


def _rule(recorder: StepRecorder) -> None:
    add = recorder.add
    add(
        id="buffer_def",
        title="PyTorch's momentum buffer",
        lhs=b[t],
        rhs=_buffer_rule,
        kind=Kind.DEFINITION,
        justification=(
            "For $t \\ge 2$; at $t = 1$ the buffer is a copy of the gradient used, "
            "$\\boldsymbol{b}_1 = \\boldsymbol{g}_1 + c\\lambda\\boldsymbol{\\theta}_0$ (no "
            "dampening then). The gradient used carries the decay when it is coupled "
            "($c = 1$, PyTorch's \\texttt{weight\\_decay}); decoupled ($c = 0$) it is the "
            "loss gradient $\\boldsymbol{g}_t \\sim \\mathcal{N}(\\mu, \\sigma^2)$ alone. With "
            "momentum $\\beta = 0$ PyTorch keeps no buffer and steps along the gradient: the "
            "case $\\beta = \\tau = 0$ here."
        ),
    )
    add(
        id="weight_def",
        title="The step",
        lhs=theta[t],
        rhs=(1 - (1 - c) * eta * lam) * theta[t - 1]
        - eta * (nu * (_gradient_used + beta * b[t]) + (1 - nu) * b[t]),
        kind=Kind.DEFINITION,
        justification=(
            "The buffer itself ($\\nu = 0$) or Nesterov's $\\boldsymbol{g}_t + c\\lambda"
            "\\boldsymbol{\\theta}_{t-1} + \\beta\\boldsymbol{b}_t$ ($\\nu = 1$, which PyTorch "
            "allows only with $\\beta > 0$ and $\\tau = 0$); decoupled decay shrinks the weight "
            "by $1 - \\eta\\lambda$ first (SGDW)."
        ),
    )


# --- the linear recursion -------------------------------------------------------------------------


def _coefficients(expr: sp.Expr) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """The coefficients of theta_{t-1}, b_{t-1} and g_t in a linear expression."""
    expanded = sp.expand(expr)
    return tuple(sp.factor(expanded.coeff(x)) for x in (theta[t - 1], b[t - 1], g[t]))


def _recursion(recorder: StepRecorder, rule_buffer: Step, rule_weight: Step) -> tuple:
    add = recorder.add
    # The definitions as stated, left sides included: [[buffer_def]] is substituted where its
    # left side appears in [[weight_def]], and the two results restate their left sides.
    buffer_now = rule_buffer.rhs
    weight_now = rule_weight.rhs.xreplace({rule_buffer.lhs: buffer_now})
    a00, a01, b0 = _coefficients(weight_now)
    a10, a11, b1 = _coefficients(buffer_now)
    weight_step = add(
        id="theta_linear",
        title="The weight, linear in the previous state",
        lhs=rule_weight.lhs,
        rhs=a00 * theta[t - 1] + a01 * b[t - 1] + b0 * g[t],
        kind=Kind.IDENTITY,
        justification=(
            "[[buffer_def]] substituted into [[weight_def]], for $t \\ge 2$: "
            "$(\\boldsymbol{\\theta}_t, \\boldsymbol{b}_t)$ is a linear function of "
            "$(\\boldsymbol{\\theta}_{t-1}, \\boldsymbol{b}_{t-1})$ and the new gradient."
        ),
        uses=("buffer_def", "weight_def"),
        checks=_literal_checks((2, 3, 4), "PyTorch's rule run literally"),
    )
    buffer_step = add(
        id="buf_linear",
        title="The buffer, linear in the previous state",
        lhs=rule_buffer.lhs,
        rhs=a10 * theta[t - 1] + a11 * b[t - 1] + b1 * g[t],
        kind=Kind.IDENTITY,
        justification="[[buffer_def]] with the gradient used written out, for $t \\ge 2$.",
        uses=("buffer_def",),
        checks=_literal_checks((2, 3, 4), "PyTorch's rule run literally"),
    )
    # The first step: the buffer is the gradient used (b_0 plays no part).
    first_buffer = _gradient_used.subs(t, 1)
    first_direction = nu * (first_buffer + beta * first_buffer) + (1 - nu) * first_buffer
    first_weight = (1 - (1 - c) * eta * lam) * theta[0] - eta * first_direction
    add(
        id="weight_first",
        title="The first step",
        lhs=theta[1],
        rhs=sp.collect(sp.expand(first_weight), (theta[0], g[1]), sp.factor),
        kind=Kind.IDENTITY,
        justification="[[weight_def]] at $t = 1$ with $\\boldsymbol{b}_1$ the gradient used.",
        uses=("weight_def",),
        checks=_literal_checks((1,), "PyTorch's rule run literally"),
    )
    add(
        id="buffer_first",
        title="The first buffer",
        lhs=b[1],
        rhs=sp.collect(sp.expand(first_buffer), (theta[0], g[1]), sp.factor),
        kind=Kind.IDENTITY,
        justification="PyTorch clones the first gradient used into the buffer.",
        uses=("buffer_def",),
        checks=_literal_checks((1,), "PyTorch's rule run literally"),
    )
    return weight_step, buffer_step


# --- exact moments --------------------------------------------------------------------------------

_PREVIOUS = (theta[t - 1], b[t - 1])


def expect_linear(expr: sp.Expr, now: sp.Expr, fresh: sp.Expr) -> sp.Expr:
    """E[expr] for a polynomial in the previous state and ``fresh`` (a new gradient).

    The fresh gradient is independent of the previous state: each monomial's expectation
    factorises into a raw Gaussian moment of ``fresh`` times the expectation of the state's
    monomial, kept as an opaque ``E[...]``.
    """
    raw = {0: sp.Integer(1), 1: mu, 2: mu**2 + sigma**2}
    poly = sp.Poly(sp.expand(expr), *now, fresh)
    total = sp.Integer(0)
    for powers, coefficient in poly.terms():
        state = sp.Mul(*(x**p for x, p in zip(now, powers[:-1], strict=True)))
        total += coefficient * raw[powers[-1]] * (E(state) if state != 1 else 1)
    return total


#: The state's moments at step t, in the order of the estimator's transition matrix.
MOMENTS = (
    E(theta[t] ** 2),
    E(theta[t] * b[t]),
    E(b[t] ** 2),
    E(theta[t]),
    E(b[t]),
)


def _collected(expr: sp.Expr) -> sp.Expr:
    previous = [m.subs(t, t - 1) for m in MOMENTS]
    return sp.collect(sp.expand(expr), previous, sp.factor)


def _moments(recorder: StepRecorder, weight_step: Step, buffer_step: Step) -> tuple[Step, ...]:
    add = recorder.add
    state = {theta[t]: weight_step.rhs, b[t]: buffer_step.rhs}
    titles = (
        "Mean square of the weight",
        "Weight times buffer",
        "Mean square of the buffer",
        "Mean of the weight",
        "Mean of the buffer",
    )
    ids = ("theta_sq_recursion", "theta_buf_recursion", "buf_sq_recursion")
    ids += ("theta_mean_recursion", "buf_mean_recursion")
    steps = []
    for moment, title, step_id in zip(MOMENTS, titles, ids, strict=True):
        inside = moment.args[0].xreplace(state)
        steps.append(
            add(
                id=step_id,
                title=title,
                lhs=moment,
                rhs=_collected(expect_linear(inside, _PREVIOUS, g[t])),
                kind=Kind.IDENTITY,
                justification=(
                    "[[theta_linear]] and [[buf_linear]] substituted; $\\boldsymbol{g}"
                    "_t$ is independent of the state at $t - 1$, so each term factorises into a "
                    "Gaussian moment of $\\boldsymbol{g}_t$ and a moment of the state ($t \\ge 2$)."
                ),
                assumptions=(IID_IN_TIME,),
                uses=("theta_linear", "buf_linear"),
                checks=_literal_checks((2, 3, 4), "exact Gaussian moments of the literal rule"),
            )
        )
    return tuple(steps)


def _first_moments(recorder: StepRecorder) -> tuple[Step, ...]:
    add = recorder.add
    first = {s.id: s for s in recorder.steps if s.id in ("weight_first", "buffer_first")}
    state = {theta[1]: first["weight_first"].rhs, b[1]: first["buffer_first"].rhs}
    steps = []
    names = ("theta_sq_first", "theta_buf_first", "buf_sq_first", "theta_mean_first")
    titles = ("weight, mean square", "weight times buffer", "buffer, mean square")
    titles += ("weight, mean", "buffer, mean")
    for moment, step_id, what in zip(MOMENTS, (*names, "buf_mean_first"), titles, strict=True):
        inside = moment.args[0].subs(t, 1).xreplace(state)
        # theta_0 is independent of g_1, with mean 0 and mean square rho0.
        by_init = expect_linear(inside, (theta[0],), g[1])
        value = by_init.xreplace({E(theta[0] ** 2): rho0, E(theta[0]): 0})
        steps.append(
            add(
                id=step_id,
                title=f"After one step: {what}",
                lhs=moment.subs(t, 1),
                rhs=sp.collect(sp.expand(value), (rho0, mu, sigma), sp.factor),
                kind=Kind.IDENTITY,
                justification=(
                    "[[weight_first]] and [[buffer_first]]: $\\boldsymbol{\\theta}_0$ is "
                    "independent of $\\boldsymbol{g}_1$, with mean 0 and mean square $\\rho_0$."
                ),
                assumptions=(IID_IN_TIME, INDEPENDENT_INIT),
                uses=("weight_first", "buffer_first"),
                checks=_literal_checks((1,), "exact Gaussian moments of the literal rule"),
            )
        )
    return tuple(steps)


# --- equilibrium ----------------------------------------------------------------------------------


def variant_point(name: str) -> dict:
    """The switches of a variant (and tau = 0 with Nesterov, as PyTorch requires)."""
    coupled_value, nesterov_value = VARIANTS[name]
    fixed = {c: sp.Integer(coupled_value), nu: sp.Integer(nesterov_value)}
    if nesterov_value:
        fixed[tau] = sp.Integer(0)
    return fixed


def stationary_moments(recursions: tuple[Step, ...], name: str) -> dict:
    """The fixed point of the five moment recursions of one variant (a linear solve)."""
    unknowns = sp.symbols("s0:5")
    fixed = variant_point(name)
    previous = {m.subs(t, t - 1): s for m, s in zip(MOMENTS, unknowns, strict=True)}
    equations = [
        s - step.rhs.xreplace(fixed).xreplace(previous)
        for s, step in zip(unknowns, recursions, strict=True)
    ]
    (solution,) = sp.solve(equations, unknowns, dict=True)
    return {m: sp.factor(solution[s]) for m, s in zip(MOMENTS, unknowns, strict=True)}


def iterated_moments(recursions: tuple[Step, ...], name: str, point: dict, steps: int) -> list:
    """The five moments after ``steps`` iterations of the recursions from 0, in floats."""
    fixed = variant_point(name)
    previous = [m.subs(t, t - 1) for m in MOMENTS]
    dummies = sp.symbols("p0:5")
    functions = [
        sp.lambdify(
            dummies,
            step.rhs.xreplace(fixed)
            .xreplace(point)
            .xreplace(dict(zip(previous, dummies, strict=True))),
        )
        for step in recursions
    ]
    state = [0.0] * 5
    for _ in range(steps):
        state = [f(*state) for f in functions]
    return state


# Points for the fixed point: a gradient mean and dampening, then mu = 0 with strong momentum.
_FIXED_POINT_POINTS = (
    {
        eta: sp.Rational(1, 5),
        lam: sp.Rational(1, 2),
        beta: sp.Rational(1, 2),
        mu: sp.Rational(1, 3),
        sigma: sp.Integer(1),
        tau: sp.Rational(1, 10),
    },
    {
        eta: sp.Rational(1, 2),
        lam: sp.Rational(1, 5),
        beta: sp.Rational(9, 10),
        mu: sp.Integer(0),
        sigma: sp.Rational(3, 2),
        tau: sp.Integer(0),
    },
)
_ITERATIONS = 4000


def _long_iteration(recursions: tuple[Step, ...], name: str):
    def reference(point) -> tuple[float, float]:
        value = iterated_moments(recursions, name, point, _ITERATIONS)[0]
        return value, value

    return reference


def _torch_rule(name: str):
    """E[theta^2] after ``_ITERATIONS`` steps of PyTorch's rule, the moments propagated in floats.

    A second reference for the equilibria, independent of :data:`VARIANTS`, of
    :func:`variant_point` and of the derived recursions: the variant is read from its name
    (``decoupled...`` shrinks the weight first, ``...nesterov`` takes Nesterov's step, which
    PyTorch allows only with dampening 0, so a point's dampening is ignored then), one step of
    the rule is applied to the unit states to get its linear map, and the mean and covariance
    of (theta, buffer) are pushed through it from zero, the first buffer a copy of the gradient.
    """
    coupled, nesterov = not name.startswith("decoupled"), name.endswith("nesterov")

    def reference(point) -> tuple[float, float]:
        lr, decay, momentum = (float(point[x]) for x in (eta, lam, beta))
        damp = 0.0 if nesterov else float(point[tau])

        def step(weight: float, buffer: float, grad: float, first: bool) -> tuple[float, float]:
            if coupled:
                direction = grad + decay * weight
            else:
                weight, direction = weight * (1 - lr * decay), grad
            buffer = direction if first else momentum * buffer + (1 - damp) * direction
            direction = direction + momentum * buffer if nesterov else buffer
            return weight - lr * direction, buffer

        mean, cov = [0.0, 0.0], [[0.0, 0.0], [0.0, 0.0]]
        noise = float(point[sigma]) ** 2
        for k in range(_ITERATIONS):
            columns = [step(1.0, 0.0, 0.0, k == 0), step(0.0, 1.0, 0.0, k == 0)]
            a = [[columns[0][i], columns[1][i]] for i in range(2)]
            b = step(0.0, 0.0, 1.0, k == 0)
            mean = [a[i][0] * mean[0] + a[i][1] * mean[1] + b[i] * float(point[mu]) for i in (0, 1)]
            cov = [
                [
                    sum(a[i][p] * cov[p][q] * a[j][q] for p in (0, 1) for q in (0, 1))
                    + noise * b[i] * b[j]
                    for j in (0, 1)
                ]
                for i in (0, 1)
            ]
        value = mean[0] ** 2 + cov[0][0]
        return value, value

    return reference


_TITLES = {
    "coupled": "Equilibrium, coupled decay (PyTorch's SGD)",
    "coupled_nesterov": "Equilibrium, coupled decay, Nesterov",
    "decoupled": "Equilibrium, decoupled decay (SGDW)",
    "decoupled_nesterov": "Equilibrium, decoupled decay, Nesterov",
}


def _equilibrium(recorder: StepRecorder, recursions: tuple[Step, ...]) -> dict[str, Step]:
    add = recorder.add
    out = {}
    for name in VARIANTS:
        solution = stationary_moments(recursions, name)
        mean = solution[E(theta[t])]
        variance = sp.factor(solution[E(theta[t] ** 2)] - mean**2)
        fixed = variant_point(name)
        points = tuple(
            {**p, **{k: v for k, v in fixed.items() if k in (tau,)}} for p in _FIXED_POINT_POINTS
        )
        out[name] = add(
            id=f"equilibrium_{name}",
            title=_TITLES[name],
            lhs=sp.Limit(E(theta[t] ** 2), t, sp.oo),
            rhs=mean**2 + variance,
            kind=Kind.IDENTITY,
            justification=(
                f"The fixed point of the five moment recursions at $c = {fixed[c]}$, "
                f"$\\nu = {fixed[nu]}$: a linear solve (for the covariance, the discrete "
                "Lyapunov equation $P = APA^\\top + \\sigma^2 BB^\\top$ of [[theta_linear]] "
                "and [[buf_linear]]), written as the squared mean plus the variance. The "
                "recursions converge to it whenever the spectral radius of $A$ is below 1; the "
                "start $\\rho_0$ is forgotten."
            ),
            uses=_ids(recursions),
            checks=(
                ApproximationOrder(
                    LHS,
                    RHS,
                    quantity=sp.Limit(E(theta[t] ** 2), t, sp.oo),
                    reference=_long_iteration(recursions, name),
                    points=points,
                    small=sp.Integer(1),
                    power=0,
                    bound=1e-11,
                    method=f"the moment recursions iterated {_ITERATIONS} times (floats)",
                ),
                ApproximationOrder(
                    LHS,
                    RHS,
                    quantity=sp.Limit(E(theta[t] ** 2), t, sp.oo),
                    reference=_torch_rule(name),
                    points=points,
                    small=sp.Integer(1),
                    power=0,
                    bound=1e-11,
                    method=f"PyTorch's rule, {_ITERATIONS} steps of its moments (floats)",
                ),
            ),
        )
    return out


def _ids(steps: tuple[Step, ...]) -> tuple[str, ...]:
    return tuple(s.id for s in steps)


# --- small decay, and REQ -------------------------------------------------------------------------

REQ_SQ = sp.Symbol(r"\theta_{\mathrm{REQ}}^2", positive=True)


def _exact_value(expr: sp.Expr):
    def reference(point) -> tuple[float, float]:
        value = float(sp.N(expr.xreplace(point), 30))
        return value, value

    return reference


def _small_decay(recorder: StepRecorder, equilibrium: dict[str, Step]) -> None:
    add = recorder.add
    for name in ("coupled", "decoupled"):
        exact = equilibrium[name].rhs.subs(mu, 0)
        leading = sp.factor(limit(exact * lam / eta, eta, 0) * eta / lam)
        walk = ("1/100", "1/1000", "1/10000")
        points = tuple(
            {
                lam: sp.Rational(q) / sp.Rational(1, 10),
                eta: sp.Rational(1, 10),
                beta: beta_v,
                tau: tau_v,
                sigma: sp.Integer(1),
                mu: sp.Integer(0),
            }
            for q in walk
            for beta_v, tau_v in (
                (sp.Rational(9, 10), sp.Integer(0)),
                (sp.Rational(1, 2), sp.Rational(1, 5)),
            )
        )
        add(
            id=f"small_decay_{name}",
            title=f"Small decay per step, {name}",
            lhs=sp.Limit(E(theta[t] ** 2), t, sp.oo),
            rhs=leading,
            kind=Kind.APPROXIMATION,
            justification=(
                f"[[equilibrium_{name}]] at $\\mu = 0$ to first order in $\\eta\\lambda$. "
                + (
                    "The decay passes through the momentum like the gradient, so both see the "
                    "effective step $\\eta(1-\\tau)/(1-\\beta)$."
                    if name == "coupled"
                    else "The decay bypasses the momentum: one more factor $(1-\\tau)/(1-\\beta)$ "
                    "than with coupled decay."
                )
            ),
            limit="\\eta\\lambda \\ll 1 - \\beta",
            uses=(f"equilibrium_{name}",),
            checks=(
                ApproximationOrder(
                    LHS,
                    RHS,
                    quantity=sp.Limit(E(theta[t] ** 2), t, sp.oo),
                    reference=_exact_value(exact),
                    points=points,
                    small=eta * lam / (1 - beta),
                    power=1,
                    bound=2.0,
                    method=f"against equilibrium_{name} as eta lambda -> 0: "
                    "error O(eta lambda / (1 - beta))",
                ),
            ),
        )
    small_coupled = next(s for s in recorder.steps if s.id == "small_decay_coupled")
    _gradient_to_weight(recorder, equilibrium["coupled"], small_coupled)
    # REQ (Kosson et al. 2024): eta_r = sqrt(2 eta lambda / (1 + beta)) per step; in this
    # model the update is eta b_t with E[b^2] = sigma^2/(1 - beta^2) (zero-mean random walk).
    eta_r_sq = 2 * eta * lam / (1 + beta)
    buffer_sq = sigma**2 / (1 - beta**2)
    req = add(
        id="req_prediction",
        title="REQ's equilibrium in this model",
        lhs=REQ_SQ,
        rhs=sp.factor(eta**2 * buffer_sq / eta_r_sq),
        kind=Kind.DEFINITION,
        justification=(
            "REQ's angular update of SGDM, $\\eta_r = \\sqrt{2\\eta\\lambda/(1+\\beta)}$ (no "
            "dampening, coupled decay), balances the update's norm $\\eta\\Vert\\boldsymbol{b}"
            "\\Vert$ against the weight's: $\\theta^2 = \\eta^2\\mathbb{E}[\\boldsymbol{b}^2]/"
            "\\eta_r^2$, with the buffer of zero-mean iid gradients, $\\mathbb{E}[\\boldsymbol{b}"
            "^2] = \\sigma^2/(1-\\beta^2)$."
        ),
    )
    add(
        id="req_is_small_decay",
        title="REQ's prediction is the coupled small-decay limit",
        lhs=REQ_SQ,
        rhs=small_coupled.rhs.subs(tau, 0),
        kind=Kind.IDENTITY,
        justification=(
            "[[small_decay_coupled]] without dampening equals [[req_prediction]]: REQ's "
            "formula is exact to first order in $\\eta\\lambda$ for PyTorch's SGD with "
            "$\\mu = 0$; it misses the $O(\\eta\\lambda)$ correction, the gradient mean, the "
            "dampening, and decoupled decay's extra factor $1/(1-\\beta)$."
        ),
        uses=("small_decay_coupled", "req_prediction"),
        checks=(RewriteToZero(LHS, RHS, given={REQ_SQ: req.rhs}),),
    )


def _gradient_to_weight(recorder: StepRecorder, exact: Step, small: Step) -> None:
    """Defazio's balance sigma^2/||theta||^2 = 2 lambda/eta, and where it holds."""
    ratio = sigma**2 / sp.Limit(E(theta[t] ** 2), t, sp.oo)
    exact_ratio = sigma**2 / exact.rhs.subs(mu, 0)
    points = tuple(
        {
            lam: sp.Rational(q) * 10,
            eta: sp.Rational(1, 10),
            beta: beta_v,
            tau: tau_v,
            sigma: sp.Rational(3, 2),
            mu: sp.Integer(0),
        }
        for q in ("1/100", "1/1000", "1/10000")
        for beta_v, tau_v in (
            (sp.Rational(9, 10), sp.Integer(0)),
            (sp.Integer(0), sp.Integer(0)),
            (sp.Rational(1, 2), sp.Rational(1, 5)),
        )
    )
    recorder.add(
        id="gradient_to_weight",
        title="Gradient noise to weight, at equilibrium",
        lhs=ratio,
        rhs=sp.factor(sigma**2 / small.rhs),
        kind=Kind.APPROXIMATION,
        justification=(
            "[[small_decay_coupled]] inverted: the squared ratio of the gradient noise to the "
            "weight RMS is scale-free, $2\\lambda(1-\\beta)/(\\eta(1-\\tau))$. It is Defazio's "
            "$2\\lambda/\\eta$ only with $\\beta = \\tau = 0$, and then only to first order: "
            "[[equilibrium_coupled]] gives exactly $\\lambda(2-\\eta\\lambda)/\\eta$ there. A "
            "gradient mean adds $\\mu^2/\\lambda^2$ to the weight's mean square and breaks it."
        ),
        limit="\\eta\\lambda \\ll 1 - \\beta",
        uses=("small_decay_coupled", "equilibrium_coupled"),
        checks=(
            ApproximationOrder(
                LHS,
                RHS,
                quantity=ratio,
                reference=_exact_value(exact_ratio),
                points=points,
                small=eta * lam / (1 - beta),
                power=1,
                bound=2.0,
                method="against equilibrium_coupled as eta lambda -> 0: "
                "error O(eta lambda / (1 - beta))",
            ),
        ),
    )


SCOPE = (
    "PyTorch's \\texttt{torch.optim.SGD} (momentum $\\beta$, dampening $\\tau$, Nesterov "
    "$\\nu$, coupled decay $c = 1$) and its decoupled variant SGDW ($c = 0$), constant "
    "$\\eta$ and $\\lambda$",
    "gradients iid in time, $\\mathcal{N}(\\mu, \\sigma^2)$ per coordinate, independent of "
    "the weights; $\\boldsymbol{\\theta}_0$ independent, mean 0, mean square $\\rho_0$",
    "exact: no mean field and no large-$t$ step; the equilibrium exists when the spectral "
    "radius of the recursion's matrix is below 1",
)


def build() -> Derivation:
    recorder = StepRecorder(NAME)
    with recorder.section(SECTIONS[0]):
        _rule(recorder)
    rule_buffer, rule_weight = recorder.steps
    with recorder.section(SECTIONS[1]):
        weight_step, buffer_step = _recursion(recorder, rule_buffer, rule_weight)
    with recorder.section(SECTIONS[2]):
        recursions = _moments(recorder, weight_step, buffer_step)
        _first_moments(recorder)
    with recorder.section(SECTIONS[3]):
        equilibrium = _equilibrium(recorder, recursions)
    with recorder.section(SECTIONS[4]):
        _small_decay(recorder, equilibrium)
    return Derivation(
        name=NAME,
        title="The exact weight RMS of SGD with momentum, coupled and decoupled decay",
        abstract=(
            "With iid Gaussian gradients, PyTorch's SGD with momentum is a linear system: the "
            "weight and the momentum buffer obey a 2 x 2 linear recursion, so their means and "
            "second moments obey closed linear recursions, verified against the optimizer's "
            "rule run literally with exact Gaussian moments. Their fixed point (the discrete "
            "Lyapunov equation) is the exact equilibrium for coupled and decoupled decay, with "
            "or without Nesterov. To first order in the decay per step the coupled result "
            "is REQ's prediction; decoupled decay gives an extra factor $1/(1-\\beta)$."
        ),
        source=REQ_SOURCE,
        sections=SECTIONS,
        steps=tuple(recorder.steps),
        results=(
            *((f"sgd_equilibrium_{n}", f"equilibrium_{n}") for n in VARIANTS),
            ("sgd_req", "req_prediction"),
        ),
        scope=SCOPE,
    )
