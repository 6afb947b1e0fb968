"""Print the derivations' final expressions as NumPy and mpmath code (``estimators/_generated.py``).

The numeric side must not import SymPy, so ``adamw-rms derive`` prints the kernels once and the
file is committed (``derive --check`` catches drift). Each kernel is the derived expression after
exact, verified reparametrisations that make it stable in floating point:

* ``x = beta3**t`` and ``r1 = (1 - beta3**t)/(eta*lambda)`` replace the powers, so that no
  ``1 - beta3**t`` is formed by subtraction and nothing is divided by ``lambda**2`` (the wrappers
  compute ``x = exp(t*log1p(-eta*lambda))`` and ``r1 = -expm1(t*log1p(-eta*lambda))/(eta*lambda)``,
  with the exact limits ``r1 = t`` at ``lambda = 0`` and ``x = 0, r1 = 1/(eta*lambda)`` at
  ``t = inf``);
* the lone ``beta3`` is ``1 - eta*lambda``;
* the weight decay for a target RMS ``r`` (step ``weight_rms.weight_decay_for_rms``) is written
  in ``lr_over_rms = lr/r``: ``(a + sqrt(a**2 + 16*SNR*(SNR + 1)))/(4*r*(SNR + 1))``. It is a
  sum of non-negative terms (no cancellation at any SNR; the root needs no rationalising), and
  ``a < sqrt(2)`` wherever the target is reachable, so no square overflows or underflows.

Each reparametrised kernel is checked equal to the derived expression before it is printed.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.pycode import MpmathPrinter

from . import symbols as S
from .algebra import freeze_powers, is_zero
from .steps import derivation

__all__ = ["KERNEL_ARGUMENTS", "Kernel", "generated_source", "kernels"]

# Argument names follow torch.optim.AdamW; these symbols stand for them in the kernels.
lr = sp.Symbol("lr", positive=True)
weight_decay = sp.Symbol("weight_decay", nonnegative=True)
beta1 = sp.Symbol("beta1", positive=True)
snr = sp.Symbol("snr", nonnegative=True)
init_rms = sp.Symbol("init_rms", nonnegative=True)
decay_power = sp.Symbol("decay_power", nonnegative=True)  # x = beta3**t
decay_sum = sp.Symbol("decay_sum", nonnegative=True)  # r1 = (1 - beta3**t)/(lr*weight_decay)
decay_per_step = sp.Symbol("decay_per_step", nonnegative=True)  # lr*weight_decay, computed once
lag = sp.Symbol("lag", integer=True, positive=True)
angle = sp.Symbol("angle", real=True)
target_rms = sp.Symbol("target_rms", positive=True)
lr_over_rms = sp.Symbol("lr_over_rms", positive=True)  # lr/target_rms, computed once
# Lion (derivation ``lion``): its second momentum rate, a step index, two standardised means.
beta2 = sp.Symbol("beta2", positive=True)
transient = sp.Symbol("transient", nonnegative=True)  # beta2**(step - 1): the start's weight
lag_power = sp.Symbol("lag_power", nonnegative=True)  # beta2**(lag - 1)
shift = sp.Symbol("shift", real=True)
shift_y = sp.Symbol("shift_y", real=True)
correlation = sp.Symbol("correlation", real=True)

TO_ARGUMENTS = {
    S.eta: lr,
    S.lam: weight_decay,
    S.beta1: beta1,
    S.snr: snr,
    S.rho0: init_rms**2,
    S.k: lag,
    S.angle: angle,
    S.target_rms: target_rms,
}

KERNEL_ARGUMENTS: dict[str, tuple[sp.Symbol, ...]] = {
    "weight_rms_sq": (lr, weight_decay, decay_power, decay_sum, snr, init_rms),
    "weight_rms_large_snr_sq": (lr, weight_decay, decay_power, decay_sum, snr, init_rms),
    "weight_rms_quick": (lr, weight_decay, beta1),
    "equilibrium_weight_rms": (lr, weight_decay),
    "equilibrium_weight_decay": (lr, target_rms, snr),
    "update_rms": (beta1, snr),
    "timescale": (lr, weight_decay),
    "sign_sgdm_source_weight_rms_sq": (
        lr,
        weight_decay,
        beta1,
        decay_power,
        decay_sum,
        snr,
        init_rms,
    ),
    "sign_update_mean": (beta1, snr),
    "sign_covariance_scale": (),
    "sign_covariance_upper": (beta1, lag),
    "sign_covariance_integrand": (beta1, snr, angle),
    "lion_filter_mean": (beta1, beta2, transient),
    "lion_filter_variance": (beta1, beta2, transient),
    "lion_filter_covariance": (beta1, beta2, transient, lag_power),
    "lion_stationary_correlation": (beta1, beta2, lag),
    "lion_stationary_shift": (beta1, beta2, snr),
    "lion_sign_mean": (shift,),
    "lion_pair_scale": (),
    "lion_pair_upper": (correlation,),
    "lion_pair_integrand": (shift, shift_y, angle),
    "lion_req_weight_rms": (lr, weight_decay, beta1, beta2),
}


@dataclass(frozen=True)
class Kernel:
    """One printed function: its name, arguments, expression and the step it comes from.

    ``temporaries`` are ``(symbol, expression in the arguments)`` pairs that ``expr`` may use,
    printed first in that order (a stable intermediate such as ``lr/target_rms``).
    """

    name: str
    arguments: tuple[sp.Symbol, ...]
    expr: sp.Expr
    source_step: str
    backends: tuple[str, ...] = ("numpy", "mpmath")
    temporaries: tuple[tuple[sp.Symbol, sp.Expr], ...] = ()
    # Merge square roots before printing (_compact); off for the long corrected expressions,
    # where cancelling the square costs a minute and saves nothing that matters.
    compact: bool = True

    def in_arguments(self) -> sp.Expr:
        """``expr`` with the temporaries substituted: a function of the arguments only."""
        expr = self.expr
        for symbol, value in reversed(self.temporaries):
            expr = expr.xreplace({symbol: value})
        return expr


class ReparametrisationError(AssertionError):
    """A stable form was not exactly equal to the derived expression."""


def _stable_weight_form(name: str, derived: sp.Expr) -> sp.Expr:
    """``derived`` (in beta3**t, rho0) with ``1 - beta3**t`` replaced by ``eta*lambda*r1``."""
    derived = freeze_powers(derived, {S.beta3**S.t: S.beta3_pow_t})
    x, q = S.beta3_pow_t, S.eta * S.lam
    from_init = sp.expand(derived).coeff(S.rho0) * S.rho0
    rest = (derived - from_init).subs(S.beta3, 1 - q)
    stable_rest = sp.factor(sp.cancel(rest.subs(x, 1 - q * decay_sum)))
    if not is_zero(stable_rest.subs(decay_sum, (1 - x) / q) - rest):
        raise ReparametrisationError(f"{name}: r1 form differs from the derivation")
    return (from_init + stable_rest).subs(x, decay_power).xreplace(TO_ARGUMENTS)


def _weight_rms_sq() -> Kernel:
    weight = derivation("weight_rms")
    expr = _stable_weight_form("weight_rms_sq", weight.result("weight_rms_sq"))
    # mpmath evaluates the whole formula; NumPy uses the two parts below (see _weight_rms_parts).
    return Kernel(
        "weight_rms_sq",
        KERNEL_ARGUMENTS["weight_rms_sq"],
        expr,
        "weight_rms.theta_rms",
        backends=("mpmath",),
    )


def _weight_rms_large_snr_sq() -> Kernel:
    step = derivation("weight_rms").step("theta_rms_large_snr")
    return Kernel(
        "weight_rms_large_snr_sq",
        KERNEL_ARGUMENTS["weight_rms_large_snr_sq"],
        _stable_weight_form("weight_rms_large_snr_sq", step.rhs),
        "weight_rms.theta_rms_large_snr",
    )


def _weight_rms_parts(full: Kernel) -> list[Kernel]:
    # theta_t^2 = (init factor * init_rms)^2 + noise: evaluated with hypot so that neither a
    # tiny init_rms**2 underflows nor a huge one overflows.
    expanded = sp.expand(full.expr)
    init_factor = sp.sqrt(expanded.coeff(init_rms**2))
    noise = sp.factor(full.expr.subs(init_rms, 0)).subs(lr * weight_decay, decay_per_step)
    recombined = init_factor**2 * init_rms**2 + noise.subs(decay_per_step, lr * weight_decay)
    if not is_zero(recombined - full.expr):
        raise ReparametrisationError("weight_rms_sq does not split into init and noise parts")
    noise_arguments = (lr, decay_per_step, decay_sum, snr)
    if noise.free_symbols - set(noise_arguments):
        raise ReparametrisationError(f"weight_rms noise depends on more than {noise_arguments}")
    return [
        Kernel("weight_rms_init_factor", (decay_power,), init_factor, full.source_step, ("numpy",)),
        Kernel("weight_rms_noise_sq", noise_arguments, noise, full.source_step, ("numpy",)),
    ]


def _equilibrium_weight_decay() -> Kernel:
    """The root of step ``weight_decay_for_rms`` in ``lr_over_rms = lr/target_rms``."""
    step = derivation("weight_rms").step("weight_decay_for_rms")
    scaled = step.rhs.subs(S.eta, lr_over_rms * S.target_rms)
    # sqrt(r**2 * X) -> r * sqrt(X) (r > 0), then the common power of r cancels.
    scaled = scaled.replace(
        lambda e: e.is_Pow and e.exp == sp.S.Half, lambda e: sp.sqrt(sp.factor(e.base))
    )
    stable = sp.factor(scaled).xreplace(TO_ARGUMENTS)
    name = "equilibrium_weight_decay"
    if not is_zero(stable.subs(lr_over_rms, lr / target_rms) - step.rhs.xreplace(TO_ARGUMENTS)):
        raise ReparametrisationError(f"{name}: lr/target_rms form differs from the derivation")
    radicands = [p.base for p in stable.atoms(sp.Pow) if p.exp == sp.S.Half]
    if any(r.has(target_rms, lr) for r in radicands) or any(
        term.could_extract_minus_sign() for r in radicands for term in sp.Add.make_args(r)
    ):
        raise ReparametrisationError(f"{name}: the root is not a sum of terms in lr/target_rms")
    return Kernel(
        name,
        KERNEL_ARGUMENTS[name],
        stable,
        "weight_rms.weight_decay_for_rms",
        temporaries=((lr_over_rms, lr / target_rms),),
    )


def _sign_sgdm_kernels() -> list[Kernel]:
    """The source's SignSGDMW formula, and the pieces of the arcsine-law series.

    The series itself is summed by :func:`adamw_rms.estimators.sign_sgdm_weight_rms`: its
    terms need a quadrature each, and the number of terms follows from a truncation bound.
    """
    sign = derivation("sign_sgdm")
    source_step = sign.step("theta_rms_sign")
    covariance = sign.step("u_autocovariance_with_mean").rhs
    (integral,) = covariance.atoms(sp.Integral)
    (variable, lower, upper) = integral.limits[0]
    scale = sp.cancel(covariance / integral)
    if lower != 0 or scale.free_symbols:
        raise ReparametrisationError("sign covariance is not c * Integral(f, (phi, 0, upper))")
    return [
        Kernel(
            "sign_sgdm_source_weight_rms_sq",
            KERNEL_ARGUMENTS["sign_sgdm_source_weight_rms_sq"],
            _stable_weight_form("sign_sgdm_source_weight_rms_sq", source_step.rhs),
            "sign_sgdm.theta_rms_sign",
        ),
        Kernel(
            "sign_update_mean",
            KERNEL_ARGUMENTS["sign_update_mean"],
            sign.step("u_mean").rhs.xreplace(TO_ARGUMENTS),
            "sign_sgdm.u_mean",
        ),
        Kernel(
            "sign_covariance_scale",
            (),
            scale,
            "sign_sgdm.u_autocovariance_with_mean",
        ),
        Kernel(
            "sign_covariance_upper",
            KERNEL_ARGUMENTS["sign_covariance_upper"],
            upper.xreplace(TO_ARGUMENTS),
            "sign_sgdm.u_autocovariance_with_mean",
        ),
        Kernel(
            "sign_covariance_integrand",
            KERNEL_ARGUMENTS["sign_covariance_integrand"],
            integral.function.xreplace({variable: S.angle}).xreplace(TO_ARGUMENTS),
            "sign_sgdm.u_autocovariance_with_mean",
        ),
    ]


def _lion_powers(expr: sp.Expr) -> sp.Expr:
    """``beta2**(a t + b k + c)`` as ``transient**a * lag_power**b * beta2**(a + b + c)``.

    With ``transient = beta2**(t-1)`` and ``lag_power = beta2**(k-1)`` the filter's moments are
    polynomials: nothing is divided by ``beta2`` (finite at ``beta2 = 0``, where
    ``0**0 = 1`` gives the first step). Checked equal to the derived expression.
    """

    def split(power: sp.Pow) -> sp.Expr:
        exponent = sp.expand(power.exp)
        a, b = exponent.coeff(S.t), exponent.coeff(S.k)
        rest = sp.expand(exponent - a * S.t - b * S.k)
        return transient**a * lag_power**b * S.beta2 ** (a + b + rest)

    stable = sp.factor(
        sp.cancel(
            expr.replace(lambda e: e.is_Pow and e.base == S.beta2 and e.exp.has(S.t, S.k), split)
        )
    )
    back = stable.xreplace({transient: S.beta2 ** (S.t - 1), lag_power: S.beta2 ** (S.k - 1)})
    if not is_zero(sp.powsimp(sp.expand(back - expr), force=True)):
        raise ReparametrisationError("lion filter moment changed by the power split")
    if any(p.base == S.beta2 and p.exp.is_negative for p in stable.atoms(sp.Pow)):
        raise ReparametrisationError("lion filter moment still divides by beta2")
    return stable


def _lion_kernels() -> list[Kernel]:
    """The pieces of Lion's exact pair sum (summed by :func:`adamw_rms.estimators.lion_weight_rms`)
    and REQ's formula: the filter's moments per unit of the gradient's mean or variance, the
    stationary correlation and shift, and the two-shift sign lemma split as
    ``erf * erf + scale * Integral(integrand, (angle, 0, upper))``."""
    lion = derivation("lion")
    rename = {**TO_ARGUMENTS, S.beta2: beta2, S.shift: shift, S.shift_y: shift_y,
              S.corr: correlation}  # fmt: skip
    lemma = lion.step("sign_pair_moment").rhs
    (integral,) = lemma.atoms(sp.Integral)
    (variable, lower, upper) = integral.limits[0]
    scale = sp.cancel((lemma - lemma.subs(integral, 0)) / integral)
    means = lemma.subs(integral, 0)
    sign_mean = sp.erf(S.shift / sp.sqrt(2))
    if (
        lower != 0
        or scale.free_symbols
        or sp.expand(means - sign_mean * sign_mean.subs(S.shift, S.shift_y)) != 0
    ):
        raise ReparametrisationError(
            "lion pair lemma is not erf*erf + c * Integral(f, (phi, 0, r))"
        )
    stationary_shift = lion.step("shift_limit").rhs
    return [
        Kernel(
            "lion_filter_mean",
            KERNEL_ARGUMENTS["lion_filter_mean"],
            _lion_powers(lion.step("c_mean").rhs / S.mu).xreplace(rename),
            "lion.c_mean",
        ),
        Kernel(
            "lion_filter_variance",
            KERNEL_ARGUMENTS["lion_filter_variance"],
            _lion_powers(lion.step("c_variance").rhs / S.sigma**2).xreplace(rename),
            "lion.c_variance",
        ),
        Kernel(
            "lion_filter_covariance",
            KERNEL_ARGUMENTS["lion_filter_covariance"],
            _lion_powers(lion.step("c_covariance").rhs / S.sigma**2).xreplace(rename),
            "lion.c_covariance",
        ),
        Kernel(
            "lion_stationary_correlation",
            KERNEL_ARGUMENTS["lion_stationary_correlation"],
            lion.step("rho_lag").rhs.xreplace(rename),
            "lion.rho_lag",
        ),
        Kernel(
            "lion_stationary_shift",
            KERNEL_ARGUMENTS["lion_stationary_shift"],
            stationary_shift.xreplace(rename),
            "lion.shift_limit",
        ),
        Kernel("lion_sign_mean", (shift,), sign_mean.xreplace(rename), "lion.sign_pair_moment"),
        Kernel("lion_pair_scale", (), scale, "lion.sign_pair_moment"),
        Kernel(
            "lion_pair_upper",
            KERNEL_ARGUMENTS["lion_pair_upper"],
            upper.xreplace(rename),
            "lion.sign_pair_moment",
        ),
        Kernel(
            "lion_pair_integrand",
            KERNEL_ARGUMENTS["lion_pair_integrand"],
            integral.function.xreplace({variable: S.angle}).xreplace(rename),
            "lion.sign_pair_moment",
        ),
        Kernel(
            "lion_req_weight_rms",
            KERNEL_ARGUMENTS["lion_req_weight_rms"],
            lion.step("req_equilibrium").rhs.xreplace(rename),
            "lion.req_equilibrium",
        ),
    ]


# Arguments of the schedule shapes' closed forms (continuous time over a run of ``steps``).
start, end, peak, final = sp.symbols("start end peak final", nonnegative=True)
run_steps = sp.Symbol("steps", positive=True)
warmup_end = sp.Symbol("warmup_end", nonnegative=True)
decay_start = sp.Symbol("decay_start", nonnegative=True)
SCHEDULE_ARGUMENTS = {
    "linear": {S.eta_a: start, S.eta_b: end},
    "cosine": {S.eta_max: peak, S.eta_min: final},
    "wsd": {S.eta_max: peak, S.t1: warmup_end, S.t2: decay_start},
}


def _schedule_kernels() -> list[Kernel]:
    """kappa_t and nu_t of the linear, cosine and WSD shapes (steps ``schedules.kappa_*``)."""
    schedules = derivation("schedules")
    out = []
    for shape, names in SCHEDULE_ARGUMENTS.items():
        rename = {**names, S.t: run_steps, S.lam: weight_decay}
        for quantity in ("kappa", "nu"):
            step = f"{quantity}_{shape}"
            expr = schedules.step(step).rhs.xreplace(rename)
            arguments = tuple(sorted(expr.free_symbols, key=lambda a: a.name))
            out.append(Kernel(f"{step}_closed_form", arguments, expr, f"schedules.{step}"))
    return out


# The corrected formulas (derivation ``corrected``): sigma = 1, mu = sqrt(snr), eps = eps/sigma.
beta2 = sp.Symbol("beta2", positive=True)
eps_ratio = sp.Symbol("eps_ratio", nonnegative=True)
bias = sp.Symbol("bias", nonnegative=True)  # 1: Adam's bias correction, 0: none
step = sp.Symbol("step", positive=True)
CORRECTED_ARGUMENTS = {
    S.beta1: beta1,
    S.beta2: beta2,
    S.eps: eps_ratio,
    S.bias: bias,
    S.t: step,
    S.sigma: sp.Integer(1),
    S.mu: sp.sqrt(snr),
}
PER_STEP = (beta1, beta2, snr, eps_ratio, bias, step)


def corrected_lag_terms() -> list[tuple[sp.Expr, sp.Expr, sp.Expr]]:
    """Step ``corrected.update_covariance`` as ``sum_i X_i(t) Y_i(t + k) rho_i**k``.

    Each term of the covariance is a product of moments at the earlier step, at the later step,
    and cross moments whose closed forms are (earlier part) (later part) ``rho**k``; collecting
    the factors by the step they depend on gives the split the estimators sum in O(T) with one
    recursion per term. The split is checked equal to the step at exact points.
    """
    corrected = derivation("corrected")
    covariance = corrected.step("update_covariance")
    meaning = dict(covariance.checks[0].meaning)  # every check carries the same meaning
    later = sp.Symbol("later", positive=True)
    terms = []
    for term in sp.Add.make_args(covariance.rhs):
        closed = term
        for _ in range(4):
            closed = closed.xreplace(meaning)
        closed = sp.powsimp(sp.expand_power_base(closed, force=True))
        closed = closed.xreplace({S.k + S.t: later})
        ratio_part, rest = sp.Integer(1), sp.Integer(1)
        for factor in sp.Mul.make_args(sp.factor(closed)):
            if factor.has(S.k):
                ratio_part *= factor
            else:
                rest *= factor
        early, late = rest.as_independent(later, as_Add=False)
        ratio = sp.simplify(ratio_part.subs(S.k, 1)) if ratio_part != 1 else sp.Integer(1)
        if ratio != 1 and not is_zero(ratio_part - ratio**S.k):
            raise ReparametrisationError(f"{term}: the lag factor is not geometric")
        terms.append((early, late.xreplace({later: S.t}), ratio))
    rebuilt = sum(x * y.subs(S.t, S.t + S.k) * r**S.k for x, y, r in terms)
    exact = covariance.rhs
    for _ in range(4):
        exact = exact.xreplace(meaning)
    point = {
        S.t: 3,
        S.k: 2,
        S.beta1: sp.Rational(3, 5),
        S.beta2: sp.Rational(4, 5),
        S.mu: sp.Rational(1, 2),
        S.sigma: sp.Rational(3, 2),
        S.eps: sp.Rational(1, 7),
        S.bias: 1,
    }
    for at in (
        point,
        {**point, S.bias: 0, S.k: 0, S.eps: 0},
        {**point, S.k: 1, S.beta1: 0},
        {**point, S.t: 40, S.k: 5, S.beta2: sp.Rational(99, 100), S.mu: 0},
    ):
        got, want = (sp.N(side.xreplace(at), 40) for side in (rebuilt, exact))
        if abs(got - want) > 1e-30 * max(1, abs(want)):
            raise ReparametrisationError("the lag split differs from update_covariance")
    return terms


def _settled(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every power of ``step`` at 0 (the run's transient over)."""
    return expr.xreplace(
        {p: sp.Integer(0) for p in expr.atoms(sp.Pow) if p.exp.has(step) and not p.base.has(step)}
    )


def _corrected_stationary_weight(corrected, mean: sp.Expr, per_step: list[Kernel]) -> Kernel:
    """Step ``corrected.weight_rms_sq`` evaluated from the settled per-step terms.

    The step's closed form, expanded, has hundreds of operations per element; built from the
    settled update mean e and lag terms X_n Y_n rho_n^k it is the same function (checked at
    exact points) with a few dozen:
    lr^2 e^2/q^2 + lr^2 sum_n X_n Y_n (1 + 2 a rho_n/(1 - a rho_n))/(1 - a^2), a = 1 - q.
    """
    keep = 1 - decay_per_step
    by_name = {kernel.name: kernel.expr for kernel in per_step}
    e = _settled(mean.xreplace(CORRECTED_ARGUMENTS))
    lag_sum = sp.Integer(0)
    for n in range(sum(1 for name in by_name if name.startswith("corrected_lag_ratio_"))):
        x = _settled(by_name[f"corrected_lag_early_{n}"])
        y = _settled(by_name[f"corrected_lag_late_{n}"])
        ratio = by_name[f"corrected_lag_ratio_{n}"]
        lag_sum += x * y * (1 + 2 * keep * ratio / (1 - keep * ratio))
    expr = lr**2 * e**2 / decay_per_step**2 + lr**2 * lag_sum / (
        decay_per_step * (2 - decay_per_step)
    )
    weight = corrected.step("weight_rms_sq")
    derived = weight.rhs.xreplace(dict(weight.checks[0].meaning))
    derived = derived.xreplace({S.beta3: 1 - decay_per_step, S.eta: lr}).xreplace(
        CORRECTED_ARGUMENTS
    )
    for point in (
        {
            lr: sp.Rational(1, 100),
            decay_per_step: sp.Rational(1, 1000),
            beta1: sp.Rational(9, 10),
            beta2: sp.Rational(19, 20),
            snr: sp.Rational(1, 3),
            eps_ratio: sp.Rational(1, 7),
        },
        {
            lr: sp.Rational(1, 3),
            decay_per_step: sp.Rational(1, 5),
            beta1: sp.Rational(1, 2),
            beta2: sp.Rational(99, 100),
            snr: 0,
            eps_ratio: 0,
        },
    ):
        a, b = sp.N(expr.xreplace(point), 40), sp.N(derived.xreplace(point), 40)
        if abs(a / b - 1) > 1e-30:
            raise ReparametrisationError("corrected_weight_rms_sq differs from weight_rms_sq")
    return Kernel(
        "corrected_weight_rms_sq",
        (lr, decay_per_step, beta1, beta2, snr, eps_ratio),
        expr,
        "corrected.weight_rms_sq",
    )


def _corrected_kernels() -> list[Kernel]:
    corrected = derivation("corrected")
    out = []
    mean_step = corrected.step("update_mean")
    mean = mean_step.rhs
    for _ in range(4):
        mean = mean.xreplace(dict(mean_step.checks[0].meaning))
    out.append(
        Kernel(
            "corrected_update_mean",
            PER_STEP,
            mean.xreplace(CORRECTED_ARGUMENTS),
            "corrected.update_mean",
        )
    )
    for n, (early, late, ratio) in enumerate(corrected_lag_terms()):
        source = "corrected.update_covariance"
        out += [
            Kernel(
                f"corrected_lag_early_{n}",
                PER_STEP,
                early.xreplace(CORRECTED_ARGUMENTS),
                source,
                compact=False,
            ),
            Kernel(
                f"corrected_lag_late_{n}",
                PER_STEP,
                late.xreplace(CORRECTED_ARGUMENTS),
                source,
                compact=False,
            ),
            Kernel(
                f"corrected_lag_ratio_{n}",
                (beta1, beta2),
                ratio.xreplace(CORRECTED_ARGUMENTS),
                source,
            ),
        ]
    rms_sq = corrected.step("update_rms_sq")
    explicit = dict(rms_sq.checks[0].meaning)
    out.append(
        Kernel(
            "corrected_update_rms_sq",
            (beta1, beta2, snr, eps_ratio),
            rms_sq.rhs.xreplace(explicit).xreplace(CORRECTED_ARGUMENTS),
            "corrected.update_rms_sq",
        )
    )
    out.append(_corrected_stationary_weight(corrected, mean, out))
    return out


# Arguments of the SGD kernels (torch.optim.SGD's names; the switches are 0.0 or 1.0).
momentum = sp.Symbol("momentum", nonnegative=True)
dampening = sp.Symbol("dampening", nonnegative=True)
coupled = sp.Symbol("coupled", nonnegative=True)
nesterov = sp.Symbol("nesterov", nonnegative=True)
grad_mean = sp.Symbol("grad_mean", real=True)
grad_std = sp.Symbol("grad_std", positive=True)
SGD_MOMENT_NAMES = ("theta_sq", "theta_buf", "buf_sq", "theta_mean", "buf_mean")
previous_moments = sp.symbols(" ".join(f"prev_{n}" for n in SGD_MOMENT_NAMES), real=True)
SGD_TO_ARGUMENTS = {
    S.eta: lr,
    S.lam: weight_decay,
    S.momentum: momentum,
    S.dampening: dampening,
    S.coupled: coupled,
    S.nesterov: nesterov,
    S.mu: grad_mean,
    S.sigma: grad_std,
    S.rho0: init_rms**2,
}
SGD_SETTING = (lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std)


def _sgd_kernels() -> list[Kernel]:
    """The SGD moment recursions (one kernel per moment), the first step, the equilibria, REQ.

    :func:`adamw_rms.estimators.sgd_weight_rms` builds the recursion's matrix minus the identity
    from the ``sgd_change_*`` kernels and raises the matrix to the power ``t - 1``.
    """
    from .derivations.sgd import MOMENTS, VARIANTS

    sgd = derivation("sgd")
    previous = {m.subs(S.t, S.t - 1): p for m, p in zip(MOMENTS, previous_moments, strict=True)}
    out = []
    for row, name in enumerate(SGD_MOMENT_NAMES):
        # The change s_t - s_{t-1} of this moment, affine in the previous moments: its
        # coefficients (the matrix T - I, the 1 cancelled symbolically so that a small decay
        # keeps its digits) and its constant, one kernel each.
        rhs = sgd.step(f"{name}_recursion").rhs.xreplace(previous).xreplace(SGD_TO_ARGUMENTS)
        change = sp.expand(rhs - previous_moments[row])
        constant = change.subs({p: 0 for p in previous_moments})
        parts = [sp.factor(change.coeff(p)) for p in previous_moments]
        rebuilt = constant + sum(c * p for c, p in zip(parts, previous_moments, strict=True))
        if not is_zero(rebuilt - change) or any(c.has(*previous_moments) for c in parts):
            raise ReparametrisationError(f"sgd {name}: the change is not affine in the moments")
        columns = (*SGD_MOMENT_NAMES, "const")
        for column, part in zip(columns, (*parts, sp.factor(constant)), strict=True):
            out.append(
                Kernel(
                    f"sgd_change_{name}_{column}",
                    SGD_SETTING,
                    part,
                    f"sgd.{name}_recursion",
                )
            )
        first = sgd.step(f"{name}_first")
        out.append(
            Kernel(
                f"sgd_first_{name}",
                (*SGD_SETTING, init_rms),
                first.rhs.xreplace(SGD_TO_ARGUMENTS),
                f"sgd.{name}_first",
            )
        )
    for variant in VARIANTS:
        step = sgd.step(f"equilibrium_{variant}")
        out.append(
            Kernel(
                f"sgd_equilibrium_{variant}",
                (lr, weight_decay, momentum, dampening, grad_mean, grad_std),
                step.rhs.xreplace(SGD_TO_ARGUMENTS),
                f"sgd.equilibrium_{variant}",
                compact=False,
            )
        )
    out.append(
        Kernel(
            "sgd_req",
            (lr, weight_decay, momentum, grad_std),
            sgd.step("req_prediction").rhs.xreplace(SGD_TO_ARGUMENTS),
            "sgd.req_prediction",
        )
    )
    return out


def kernels() -> list[Kernel]:
    """Every kernel, built from the derivations (SymPy work: only ``derive`` calls this)."""
    weight, update = derivation("weight_rms"), derivation("update_rms")
    timescale = 1 / (1 - weight.step("beta3_def").rhs)
    full = _weight_rms_sq()
    return [
        full,
        *_weight_rms_parts(full),
        _weight_rms_large_snr_sq(),
        Kernel(
            "weight_rms_quick",
            KERNEL_ARGUMENTS["weight_rms_quick"],
            weight.result("weight_rms_quick").xreplace(TO_ARGUMENTS),
            "weight_rms.quick_estimate",
        ),
        Kernel(
            "equilibrium_weight_rms",
            KERNEL_ARGUMENTS["equilibrium_weight_rms"],
            weight.result("equilibrium_weight_rms").xreplace(TO_ARGUMENTS),
            "weight_rms.theta_rms_simple",
        ),
        _equilibrium_weight_decay(),
        Kernel(
            "update_rms",
            KERNEL_ARGUMENTS["update_rms"],
            sp.sqrt(update.result("update_rms_sq")).xreplace(TO_ARGUMENTS),
            "update_rms.update_rms_sq",
        ),
        Kernel(
            "timescale",
            KERNEL_ARGUMENTS["timescale"],
            sp.cancel(timescale).xreplace(TO_ARGUMENTS),
            "weight_rms.beta3_def",
        ),
        *_sign_sgdm_kernels(),
        *_schedule_kernels(),
        *_corrected_kernels(),
        *_sgd_kernels(),
        *_lion_kernels(),
        *_adam_l2_kernels(),
    ]


# Adam with L2: the kernels take the effective decay and the ratios to grad_std (all >= 0).
kappa_arg = sp.Symbol("kappa", positive=True)
eps_ratio_arg = sp.Symbol("eps_ratio", nonnegative=True)
grad_std_arg = sp.Symbol("grad_std", positive=True)
KERNEL_ARGUMENTS.update(
    {
        "adam_l2_weight_share": (kappa_arg, beta1),
        "adam_l2_stationary_var_m": (kappa_arg, beta1),
        "adam_l2_lr_decay_ratio": (kappa_arg, beta1, eps_ratio_arg),
        "adam_l2_req_weight_rms_sq": (lr, weight_decay, grad_std_arg),
    }
)


def _in_grad_std_units(expr: sp.Expr, power: int) -> sp.Expr:
    """``expr / sigma**power`` with ``eps = eps_ratio * sigma``: must be free of ``sigma``."""
    scaled = sp.cancel(
        sp.powsimp(expr.xreplace({S.eps: eps_ratio_arg * S.sigma}) / S.sigma**power, force=True)
    )
    scaled = sp.simplify(scaled)
    if S.sigma in scaled.free_symbols:
        raise ReparametrisationError(f"{expr} is not homogeneous of degree {power} in sigma")
    return scaled


def _adam_l2_kernels() -> list[Kernel]:
    """The stationary pieces of derivation ``adam_l2`` in ``kappa`` and units of ``grad_std``.

    The root of the self-consistency and the finite-step recursion are evaluated by
    :func:`adamw_rms.estimators.adam_l2_weight_rms`.
    """
    d = derivation("adam_l2")
    to_kappa = {S.step_size: S.effective_decay / S.lam}
    names = {S.effective_decay: kappa_arg, S.beta1: beta1}
    share = _in_grad_std_units(d.step("weight_share").rhs, 2).xreplace(names)
    var_m = d.step("stationary_var_m").rhs.xreplace(to_kappa)
    req = d.step("theta_rms_small_decay").rhs.xreplace(
        {S.eta: lr, S.lam: weight_decay, S.sigma: grad_std_arg}
    )
    return [
        Kernel(
            "adam_l2_weight_share",
            KERNEL_ARGUMENTS["adam_l2_weight_share"],
            share,
            "adam_l2.weight_share",
        ),
        Kernel(
            "adam_l2_stationary_var_m",
            KERNEL_ARGUMENTS["adam_l2_stationary_var_m"],
            _in_grad_std_units(var_m, 2).xreplace(names),
            "adam_l2.stationary_var_m",
        ),
        Kernel(
            "adam_l2_lr_decay_ratio",
            KERNEL_ARGUMENTS["adam_l2_lr_decay_ratio"],
            _in_grad_std_units(d.step("self_consistency").rhs, 1).xreplace(names),
            "adam_l2.self_consistency",
        ),
        Kernel(
            "adam_l2_req_weight_rms_sq",
            KERNEL_ARGUMENTS["adam_l2_req_weight_rms_sq"],
            req,
            "adam_l2.theta_rms_small_decay",
        ),
    ]


def _compact(expr: sp.Expr) -> sp.Expr:
    # sqrt(a)*sqrt(b)/sqrt(c) -> sqrt(a*b/c): one root instead of three (all arguments >= 0).
    # The square is rebuilt on assumption-free symbols so SymPy does not split the root again.
    has_root = any(not p.exp.is_integer for p in expr.atoms(sp.Pow))
    if not has_root or not (expr.is_Pow or expr.is_Mul):
        return expr
    square = sp.cancel(sp.powsimp(expr**2, force=True))
    if any(not p.exp.is_integer for p in square.atoms(sp.Pow)):
        return expr
    plain = {a: sp.Symbol(a.name) for a in square.free_symbols}
    return sp.sqrt(square.xreplace(plain))


def _split_for_arrays(expr: sp.Expr, variable: sp.Symbol) -> tuple[list, sp.Expr]:
    """``c * p(v)`` as two temporaries: the factor free of ``v``, and ``p`` in Horner form.

    With arrays, each printed operation is a full pass over memory; grouping the factor that
    does not involve the per-element ``v`` and nesting the polynomial keeps the passes few.
    """
    factor, rest = expr.as_independent(variable, as_Add=False)
    numerator, denominator = sp.fraction(sp.together(rest))
    if denominator.has(variable) or not numerator.is_polynomial(variable):
        return [], expr
    factor = factor / denominator
    if factor.could_extract_minus_sign():
        factor, numerator = -factor, -numerator
    nested = sp.horner(sp.expand(numerator), variable)
    scale, polynomial = sp.Symbol("_scale"), sp.Symbol("_poly")
    return [(scale, factor), (polynomial, nested)], scale * polynomial


def _function(kernel: Kernel, printer, suffix: str) -> list[str]:
    names = ", ".join(str(a) for a in kernel.arguments)
    if decay_sum in kernel.arguments:
        temporaries, result = _split_for_arrays(kernel.expr, decay_sum)
    else:
        expr = _compact(kernel.expr) if kernel.compact else kernel.expr
        temporaries, (result,) = sp.cse(
            expr, symbols=sp.numbered_symbols("_t"), optimizations="basic"
        )
    temporaries = [*kernel.temporaries, *temporaries]
    where = "".join(f", {sp.sstr(a)} = {sp.sstr(b)}" for a, b in kernel.temporaries)
    lines = [
        f"def {kernel.name}_{suffix}({names}):",
        f'    """{kernel.name} from step {kernel.source_step}: {sp.sstr(kernel.expr)}{where}."""',
    ]
    if suffix == "mpmath":
        lines.append("    import mpmath  # only the arbitrary-precision backend needs it")
    lines += [f"    {symbol} = {printer.doprint(value)}" for symbol, value in temporaries]
    lines.append(f"    return {printer.doprint(result)}")
    return lines


class _ArrayPrinter(NumPyPrinter):
    """NumPy code; ``erf`` (absent from NumPy) as the module's vectorised ``math.erf``."""

    def _print_erf(self, expr: sp.Expr) -> str:
        return f"_erf({self._print(expr.args[0])})"


def generated_source() -> str:
    """The text of ``estimators/_generated.py``."""
    numpy_printer = _ArrayPrinter({"fully_qualified_modules": True})
    mpmath_printer = MpmathPrinter({"fully_qualified_modules": True})
    lines = [
        '"""Kernels printed by ``adamw-rms derive`` from the derivations. Do not edit by hand.',
        "",
        "Each function is one derived expression after the stable reparametrisation described",
        "in :mod:`adamw_rms.codegen`; ``*_numpy`` takes float64 arrays, ``*_mpmath`` mpmath",
        "numbers. Validation and special cases live in :mod:`adamw_rms.estimators`.",
        '"""',
        "",
        "# ruff: noqa",
        "import math",
        "",
        "import numpy",
        "",
        "# NumPy has no erf; the standard library's, elementwise (exact to float64 rounding).",
        "_erf = numpy.vectorize(math.erf, otypes=[float])",
        "",
    ]
    printed = kernels()
    lag_terms = sum(1 for kernel in printed if kernel.name.startswith("corrected_lag_ratio_"))
    lines += [
        "# The separable lag terms of step corrected.update_covariance (corrected_lag_*_n).",
        f"CORRECTED_LAG_TERMS = {lag_terms}",
        "",
    ]
    for kernel in printed:
        for printer, suffix in ((numpy_printer, "numpy"), (mpmath_printer, "mpmath")):
            if suffix in kernel.backends:
                lines += ["", *_function(kernel, printer, suffix), ""]
    return "\n".join(lines).rstrip() + "\n"
