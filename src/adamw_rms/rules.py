"""The rules that compute right sides: summation, exchange of sums, decoupling, tidying.

A derivation computes each step's right side with these; :mod:`adamw_rms.checks` verifies it by
another route. No check imports this module, so that a mistake in a rule cannot be repeated by
the check that is meant to catch it.
"""

from __future__ import annotations

import sympy as sp

from . import symbols as S

__all__ = [
    "NotGeometricError",
    "geometric_sum",
    "mean_field",
    "prefer_one_minus",
    "swap_triangular_sum",
    "tidy",
]


class NotGeometricError(ValueError):
    """The summand is not a finite sum of geometric terms in the summation index."""


def geometric_sum(summand: sp.Expr, index: sp.Symbol, lower: sp.Expr, upper: sp.Expr) -> sp.Expr:
    """Sum a finite combination of geometric terms in ``index`` in closed form.

    Each term is written as ``c * P**index / Q**index`` (``P``, ``Q`` products of positive
    symbols) and summed with the two-base form

    .. math:: \\sum_{k=a}^{b} P^{k-a} Q^{b-k} = \\frac{Q^{n} - P^{n}}{Q - P}, \\quad n = b - a + 1,

    which is how the source writes its sums; ``P = Q`` (ratio 1) is decided structurally and
    gives ``n`` equal terms, never a Piecewise.
    """
    # Shield negative powers of sums, e.g. 1/(beta3 - beta1)**2, so expand leaves them alone.
    shields = {
        power: sp.Dummy("shield")
        for power in summand.atoms(sp.Pow)
        if isinstance(power.base, sp.Add) and not power.base.has(index) and power.exp.is_negative
    }
    body = sp.expand(sp.expand_power_exp(sp.expand_power_base(summand.xreplace(shields))))
    count = upper - lower + 1
    total = sp.Integer(0)
    for term in sp.Add.make_args(body):
        outside, inside = term.as_independent(index, as_Add=False)
        rising, falling = sp.Integer(1), sp.Integer(1)
        for factor in sp.Mul.make_args(inside):
            if factor == 1:  # a term constant in the index: ratio 1
                continue
            base, exponent = factor.as_base_exp()
            slope = sp.expand(exponent).coeff(index)
            offset = sp.expand(exponent - slope * index)
            if base.has(index) or offset.has(index) or slope == 0:
                raise NotGeometricError(f"{factor} is not geometric in {index}")
            outside *= base**offset
            if slope > 0:
                rising *= base**slope
            else:
                falling *= base ** (-slope)
        if rising == falling:
            total += outside * rising**index * count / falling**index
            continue
        scale = outside * rising**lower / falling**upper
        total += scale * (falling**count - rising**count) / (falling - rising)
    total = total.subs(index, 0) if total.has(index) else total
    return sp.powsimp(total.xreplace({d: p for p, d in shields.items()}), combine="exp")


def swap_triangular_sum(double_sum: sp.Sum) -> sp.Sum:
    """Exchange the order of a triangular double sum.

    :math:`\\sum_{o=a}^{b}\\sum_{n=a}^{o} f(o, n) = \\sum_{n=a}^{b}\\sum_{o=n}^{b} f(o, n)`.
    SymPy stores the nested sum as one ``Sum`` with limits ``((n, a, o), (o, a, b))``.
    """
    if len(double_sum.limits) != 2:
        raise ValueError("expected a double sum")
    (inner_index, inner_lower, inner_upper), (outer_index, lower, upper) = double_sum.limits
    if inner_lower != lower or inner_upper != outer_index:
        raise ValueError("the inner sum must run from the outer lower limit to the outer index")
    return sp.Sum(
        double_sum.function, (outer_index, inner_index, upper), (inner_index, lower, upper)
    )


def prefer_one_minus(expr: sp.Expr) -> sp.Expr:
    """Write integer powers of ``c (b - 1)`` as powers of ``c (1 - b)``, the source's convention.

    SymPy's canonical form of ``1/(2(1 - beta**t))`` is ``-1/(2 beta**t - 2)``; the value is
    unchanged, only the sign moves out so that the printed formula reads like the source.
    """

    def split(base: sp.Expr) -> tuple[sp.Expr, sp.Expr] | None:
        if not isinstance(base, sp.Add):
            return None
        content, primitive = base.as_content_primitive()
        if not isinstance(primitive, sp.Add) or -1 not in primitive.args:
            return None
        if not all(arg.is_positive for arg in primitive.args if arg != -1):
            return None
        return content, primitive

    def needs_rule(e: sp.Expr) -> bool:
        return isinstance(e, sp.Pow) and bool(e.exp.is_integer) and split(e.base) is not None

    def rule(power: sp.Pow) -> sp.Expr:
        content, primitive = split(power.base)
        return content**power.exp * (-1) ** power.exp * (-primitive) ** power.exp

    def flip_factors(product: sp.Mul) -> sp.Expr:
        # Bare factors (b - 1) of a product: flip them all and keep the overall sign.
        flipped = [(-a if split(a) is not None and split(a)[0] == 1 else a) for a in product.args]
        count = sum(1 for a, f in zip(product.args, flipped, strict=True) if a is not f)
        return sp.Mul(*flipped) * (-1) ** count

    def has_bare_factor(e: sp.Expr) -> bool:
        return isinstance(e, sp.Mul) and any(
            split(a) is not None and split(a)[0] == 1 for a in e.args
        )

    return expr.replace(needs_rule, rule).replace(has_bare_factor, flip_factors)


def tidy(expr: sp.Expr, index: sp.Symbol) -> sp.Expr:
    """``factor`` with ``b**(k*index)`` kept whole, then the source's ``(1 - b)`` signs."""
    powers = {
        p: sp.Dummy("power", positive=True)
        for p in expr.atoms(sp.Pow)
        if p.exp.has(index) and sp.expand(p.exp).coeff(index) not in (0, 1)
    }
    factored = sp.factor(expr.xreplace(powers))
    return prefer_one_minus(factored).xreplace({d: p for p, d in powers.items()})


def mean_field(expr: sp.Expr) -> sp.Expr:
    """Apply the mean-field decoupling :math:`E[X/Y] \\approx E[X]/E[Y]` everywhere."""

    def rule(e: sp.Expr) -> sp.Expr:
        if isinstance(e, S.Expect):
            numerator, denominator = sp.fraction(e.args[0])
            if denominator != 1:
                return S.Expect(numerator) / S.Expect(denominator)
        return e

    return expr.replace(lambda e: isinstance(e, S.Expect), rule)
