"""Exact algebra shared by the rules that compute steps and the checks that verify them.

Symbolic powers ``b**(c + k t)`` are split into independent unknowns so that an expression with
symbolic exponents becomes a rational function, which ``cancel`` decides exactly; ``limit`` is a
fast path for limits of rational functions. Nothing here knows about steps or derivations.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

import sympy as sp

__all__ = ["freeze_powers", "is_zero", "limit", "split_powers"]


@cache
def _power_symbol(base: sp.Expr, index: sp.Symbol) -> sp.Symbol:
    # One stand-in per (base, symbolic index): base**index becomes an independent positive unknown.
    return sp.Symbol(f"P[{sp.srepr(base)}^{index}]", positive=True)


def split_powers(expr: sp.Expr) -> sp.Expr:
    """Replace every ``b**(c0 + c1*t + c2*j)`` by ``b**c0 * P_bt**c1 * P_bj**c2``.

    After this, an expression with symbolic exponents is a rational function in ordinary
    symbols, so ``cancel`` decides whether it is zero. Only integer coefficients of the
    symbolic indices are split, which is all the derivations produce.
    """
    expr = sp.expand_power_base(sp.sympify(expr))

    def visit(e: sp.Basic) -> sp.Basic:
        if isinstance(e, sp.Pow):
            base, exponent = visit(e.base), sp.expand(e.exp)
            free = exponent.free_symbols
            if not free:
                return base**exponent
            parts = exponent.as_coefficients_dict()
            out = sp.Integer(1)
            for term, coeff in parts.items():
                if term == 1:
                    out *= base**coeff
                elif isinstance(term, sp.Symbol) and sp.sympify(coeff).is_integer:
                    out *= _power_symbol(base, term) ** coeff
                else:
                    out *= base ** (coeff * term)
            return out
        if e.args and not isinstance(e, sp.Sum):
            return e.func(*(visit(a) for a in e.args))
        if isinstance(e, sp.Sum):
            return _canonical_sum(e)
        return e

    return visit(expr)


def _canonical_sum(s: sp.Sum) -> sp.Expr:
    # Pull factors that do not depend on the summation index out of the sum and split sums of
    # terms, so that equal sums written differently become the same atom.
    (index, lower, upper), *rest = s.limits
    if rest:
        return s
    body = split_powers(sp.expand(s.function))
    total = sp.Integer(0)
    for term in sp.Add.make_args(body):
        outside, inside = term.as_independent(index, as_Add=False)
        total += outside * sp.Sum(inside, (index, lower, upper))
    return total


def is_zero(expr: sp.Expr) -> bool:
    """Decide ``expr == 0`` exactly by splitting powers and cancelling a rational function."""
    return sp.cancel(sp.together(split_powers(expr))) == 0


def freeze_powers(expr: sp.Expr, freeze: Mapping) -> sp.Expr:
    """Hold ``base**index`` fixed as a symbol: ``{beta3**t: x}`` turns beta3**(t+1) into beta3*x."""
    if not freeze:
        return expr
    out = split_powers(expr)
    replacements = {}
    for power, symbol in freeze.items():
        base, exponent = power.as_base_exp()
        replacements[_power_symbol(base, exponent)] = symbol
    return out.xreplace(replacements)


def limit(expr: sp.Expr, variable: sp.Symbol, point: sp.Expr, direction: str = "+") -> sp.Expr:
    """``limit(expr, variable, point, direction)``, fast for rational functions.

    A rational function is continuous wherever its denominator, after cancelling common
    factors, does not vanish identically in the other (generic) parameters; there the limit is
    a substitution. A point at infinity is mapped to 0 by ``variable -> 1/w``. Anything else
    (a pole, a non-rational expression such as ``beta**t``) goes to SymPy's ``limit``.
    """
    point = sp.sympify(point)
    if point in (sp.oo, -sp.oo) and expr.is_rational_function(variable):
        w = sp.Dummy("w", positive=True)
        sign = 1 if point == sp.oo else -1
        return limit(expr.subs(variable, sign / w), w, 0, "+")
    if point.is_finite and expr.is_rational_function(variable):
        if _continuous_at(expr, variable, point):
            return expr.subs(variable, point)
        # Expand numerator and denominator in h = variable - point and compare lowest orders.
        h = sp.Dummy("h")
        numerator, denominator = sp.fraction(sp.together(expr.subs(variable, point + h)))
        low_num = _lowest_order(numerator, h)
        low_den = _lowest_order(denominator, h)
        if low_num is None:
            return sp.Integer(0)
        if low_den is not None and low_num[0] >= low_den[0]:
            if low_num[0] > low_den[0]:
                return sp.Integer(0)
            return sp.factor(low_num[1] / low_den[1])
    return sp.limit(expr, variable, point, direction)


def _continuous_at(expr: sp.Expr, variable: sp.Symbol, point: sp.Expr) -> bool:
    """A rational expression is continuous at ``point`` if no divisor vanishes there."""
    for power in expr.atoms(sp.Pow):
        if power.base.has(variable) and power.exp.is_negative:
            if sp.expand(power.base.subs(variable, point)) == 0:
                return False
    return True


def _lowest_order(expr: sp.Expr, h: sp.Symbol) -> tuple[int, sp.Expr] | None:
    """The lowest power of ``h`` in the polynomial ``expr`` and its (nonzero) coefficient."""
    poly = sp.Poly(sp.expand(expr), h)
    for (degree,), coefficient in reversed(poly.terms()):
        if coefficient != 0:
            return degree, coefficient
    return None
