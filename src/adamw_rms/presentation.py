"""How a verified expression is printed: printer settings and print-only rewrites, checked.

The derivations compute expressions in SymPy's canonical form, which a reader stumbles over:
``-ηλ + 1``, exponents ``-i + t``, factors ``(β₁ + 1)``, ``√2√η√(1-β₁)/(2√λ√(β₁+1))``, a sum
whose summand starts with a minus sign. This module prints them as a paper would, in two layers
(in the spirit of ``sympy/codegen/rewriting.py``: rule objects, a collection as data, one
driver):

* :class:`Rewrite` rules (the collection :data:`PAPER`) change the *form* of a subexpression:
  constant factors out of a sum, powers of one base combined, one radical per square root.
  Each application is **proved** equal to the subexpression it replaces before it is kept
  (:func:`equal_exactly`, exact algebra with :func:`adamw_rms.algebra.is_zero`, or the rule's
  own structural proof); an application that cannot be proved is dropped and the subexpression
  is printed as it was (see :attr:`Presented.rejected`). Replacing subexpressions by equal ones
  leaves the whole equal.
* :class:`PaperPrinter` only chooses the *order* of the terms of a sum (``1 - ηλ``, ``t - i``,
  ``1 + β₁``): a permutation of the same terms, equal by commutativity (asserted when printed).

This module knows nothing about steps or derivations: :mod:`adamw_rms.steps` prints a statement
with :func:`statement`, and :mod:`adamw_rms.latex` builds the documents from the same functions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache

import sympy as sp
from sympy.printing.latex import LatexPrinter

from . import symbols as S
from .algebra import is_zero

__all__ = [
    "COMBINE_POWERS",
    "ONE_OVER_ROOT",
    "ONE_RADICAL",
    "PAPER",
    "PRINTER_SETTINGS",
    "RELATIONS",
    "SUM_CONSTANTS_OUT",
    "UNIT_INTERVAL",
    "PaperPrinter",
    "Presented",
    "Rewrite",
    "equal_exactly",
    "evaluated",
    "nonnegative_on_domain",
    "paper_order",
    "present",
    "statement",
    "to_latex",
]

PRINTER_SETTINGS: dict = {
    "symbol_names": S.LATEX_NAMES,
    "mul_symbol": None,
    "fold_short_frac": False,
    "long_frac_ratio": None,
    "inv_trig_style": "abbreviated",
    "ln_notation": False,
}

RELATIONS = {":=": r"\mathrel{:=}", "=": "=", "≈": r"\approx"}

# NOTE: the model's domain. beta_1, beta_2, beta_3 (and the stand-ins for their powers) lie in
# (0, 1); the other hyperparameters carry their sign as SymPy assumptions (symbols.py). Merging
# square roots needs every radicand non-negative, which is proved on this domain.
UNIT_INTERVAL: tuple[sp.Symbol, ...] = (
    S.beta1,
    S.beta2,
    S.beta3,
    S.beta1_pow_t,
    S.beta2_pow_t,
    S.beta3_pow_t,
    S.beta1_pow_T,
)

# Symbols printed first in a sum of indices: ``t - i``, ``t + k``, ``T - t + 1``.
_TIME_FIRST: tuple[sp.Symbol, ...] = (S.T, S.t)


# --- proofs ------------------------------------------------------------------------------------


def evaluated(expr: sp.Basic) -> sp.Basic:
    """``expr`` rebuilt with SymPy's evaluation (undoes ``evaluate=False``, keeps sums unsummed)."""
    if isinstance(expr, sp.UnevaluatedExpr):
        return evaluated(expr.args[0])
    if not expr.args or isinstance(expr, sp.Indexed | sp.IndexedBase):
        return expr
    return expr.func(*(evaluated(a) for a in expr.args))


def equal_exactly(original: sp.Expr, rewritten: sp.Expr) -> bool:
    """The rewritten form, evaluated, equals the original: identical, or ``is_zero`` of the gap."""
    value = evaluated(rewritten)
    if value == original:
        return True
    try:
        return is_zero(original - value)
    except (TypeError, ValueError, NotImplementedError, sp.PolynomialError):
        return False


@cache
def _unit_stand_ins() -> dict[sp.Symbol, sp.Expr]:
    # beta in (0, 1) <=> beta = 1/(1 + p) with p > 0: a bijection, so a sign proved in p holds on
    # the whole domain.
    return {b: 1 / (1 + sp.Dummy(f"p_{b.name}", positive=True)) for b in UNIT_INTERVAL}


def nonnegative_on_domain(expr: sp.Expr) -> bool:
    """``expr >= 0`` for every point of the model's domain, proved by SymPy's sign rules."""
    if expr.is_nonnegative:
        return True
    inside = sp.together(expr.xreplace(_unit_stand_ins()))
    if inside.is_nonnegative:
        return True
    return bool(sp.factor(inside).is_nonnegative)


# --- rewrite rules -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rewrite:
    """A print-only rewrite: where it applies, the new form, and how the new form is proved.

    ``rewrite`` returns the new form or ``None`` (nothing to do). ``proof(original, new)`` must
    return True for the new form to be printed; the default is :func:`equal_exactly`.
    ``unevaluated``: the new form is a display form (built with ``evaluate=False``) that must not
    be re-evaluated when its parent is rebuilt.
    """

    name: str
    applies: Callable[[sp.Basic], bool]
    rewrite: Callable[[sp.Basic], sp.Basic | None]
    proof: Callable[[sp.Basic, sp.Basic], bool] = equal_exactly
    unevaluated: bool = False


def _prove_sum_constants_out(original: sp.Sum, new: sp.Expr) -> bool:
    # Linearity: c * Sum(f) = Sum(c f) when c does not depend on the index. Found from the new
    # form: its one sum has the original limits, the rest is free of the index, and the rest
    # times the new summand is the original summand.
    sums = [f for f in sp.Mul.make_args(new) if isinstance(f, sp.Sum)]
    if len(sums) != 1 or sums[0].limits != original.limits:
        return False
    ((index, _, _),) = original.limits
    rest = sp.Mul(*(f for f in sp.Mul.make_args(new) if f is not sums[0]))
    if rest.has(index):
        return False
    return equal_exactly(original.function, rest * sums[0].function)


def _sum_constants_out(node: sp.Sum) -> sp.Expr | None:
    # Sum(c f(i)) -> c Sum(f(i)) for the factors c free of the index (the sign included), so that
    # no summand starts with a minus sign and constants stand in front, as a paper writes them.
    ((index, _, _),) = node.limits
    outside, inside = node.function.as_independent(index, as_Add=False)
    if outside == 1:
        return None
    return outside * sp.Sum(inside, *node.limits)


def _positive_symbol(base: sp.Expr) -> bool:
    # Only symbols declared positive (beta_1, eta, ...): a cheap, certain test.
    return isinstance(base, sp.Symbol) and bool(base.is_positive)


def _power_factors(node: sp.Mul) -> list[tuple[sp.Expr, sp.Expr]]:
    # (base, exponent) of each factor; a power of a product of positive factors is split,
    # (b c)**t = b**t c**t, which holds for positive b and c only.
    pairs = []
    for factor in node.args:
        base, exponent = factor.as_base_exp()
        if isinstance(base, sp.Mul) and all(
            _positive_symbol(b.as_base_exp()[0]) for b in base.args
        ):
            pairs.extend((b.as_base_exp()[0], b.as_base_exp()[1] * exponent) for b in base.args)
        else:
            pairs.append((base, exponent))
    return pairs


def _combine_powers(node: sp.Mul) -> sp.Expr | None:
    # b**3 * b**(2t) -> b**(2t + 3); (b c)**(-t) b**(t+1) c**(t+1) -> b c, for positive bases.
    positive: dict[sp.Expr, sp.Expr] = {}
    others: list[sp.Expr] = []
    for base, exponent in _power_factors(node):
        if _positive_symbol(base):
            positive[base] = positive.get(base, 0) + exponent
        else:
            others.append(base**exponent)
    if len(positive) + len(others) == len(node.args):
        return None
    return sp.Mul(*others, *(b ** sp.expand(e) for b, e in positive.items()))


def _has_repeated_base(node: sp.Mul) -> bool:
    bases = [b for b, _ in _power_factors(node) if _positive_symbol(b)]
    return len(bases) != len(set(bases))


def _is_root(factor: sp.Expr) -> bool:
    return isinstance(factor, sp.Pow) and factor.exp in (sp.S.Half, -sp.S.Half)


def _roots(node: sp.Mul) -> list[sp.Pow]:
    return [f for f in node.args if _is_root(f)]


def _digits(number: sp.Expr) -> int:
    # How many digits a rational prints (1 prints none); anything else counts as long.
    if not number.is_Rational:
        return 10
    return sum(len(str(abs(n))) for n in (number.p, number.q) if abs(n) != 1)


def _one_radical(node: sp.Mul) -> sp.Expr | None:
    # c sqrt(a) sqrt(b) / sqrt(d) -> c sqrt(a b / d), or sqrt(c^2 a b / d) when that prints
    # fewer digits: sqrt(2) sqrt(eta)/2 -> sqrt(eta/2), but 3 sqrt(2) sqrt(eta) -> 3 sqrt(2 eta).
    roots = _roots(node)
    if len(roots) < 2 or all(r.base.is_number for r in roots):
        return None
    numeric = sp.Integer(1)
    top: list[sp.Expr] = []
    bottom: list[sp.Expr] = []
    for root in roots:
        numerator, denominator = sp.fraction(root.base)
        if root.exp < 0:
            numerator, denominator = denominator, numerator
        for part, side in ((numerator, top), (denominator, bottom)):
            for factor in sp.Mul.make_args(part):
                if factor.is_number:
                    numeric *= factor if side is top else 1 / factor
                elif factor != 1:
                    side.append(factor)
    coefficient, _ = node.as_coeff_Mul()
    front = coefficient
    if _digits(numeric * coefficient**2) < _digits(numeric) + _digits(coefficient):
        numeric, front = numeric * coefficient**2, sp.sign(coefficient)
    p, q = sp.fraction(numeric) if numeric.is_Rational else (numeric, sp.Integer(1))
    top = ([p] if p != 1 else []) + top
    bottom = ([q] if q != 1 else []) + bottom
    above = sp.Mul(*top, evaluate=False) if len(top) > 1 else (top[0] if top else sp.Integer(1))
    radicand = above
    if bottom:
        below = sp.Mul(*bottom, evaluate=False) if len(bottom) > 1 else bottom[0]
        radicand = sp.Mul(above, sp.Pow(below, -1, evaluate=False), evaluate=False)
    root = sp.Pow(radicand, sp.S.Half, evaluate=False)
    rest = [f for f in node.args if not _is_root(f) and not f.is_Rational]
    if front != 1:
        rest.insert(0, front)
    return sp.Mul(*rest, root, evaluate=False) if rest else root


def _prove_one_radical(original: sp.Mul, new: sp.Expr) -> bool:
    # sqrt(a) sqrt(b) = sqrt(a b) needs a, b >= 0 (principal roots). Proof, from the two forms:
    # every radicand of the original is non-negative on the domain; the new form is
    # k * (the original's other factors) * sqrt(R) with k a positive rational; and
    # R = (product of the original's roots / k)^2 exactly. Then sqrt(R) and product / k are
    # non-negative numbers with equal squares, so they are equal, and new = original.
    roots = _roots(original)
    if not all(nonnegative_on_domain(r.base) for r in roots):
        return False
    new_factors = sp.Mul.make_args(new)
    radicals = [f for f in new_factors if isinstance(f, sp.Pow) and f.exp == sp.S.Half]
    if len(radicals) != 1:
        return False
    (radical,) = radicals
    new_other = evaluated(sp.Mul(*(f for f in new_factors if f is not radical)))
    old_other = sp.Mul(*(f for f in original.args if not _is_root(f)))
    k = sp.cancel(new_other / old_other)
    if not (k.is_Rational and k > 0):
        return False
    square = sp.Mul(*(r.base ** (2 * r.exp) for r in roots)) / k**2
    return is_zero(evaluated(radical.base) - square)


def _one_over_root(node: sp.Mul) -> sp.Expr | None:
    # sqrt(19)/19 -> 1/sqrt(19).
    coefficient, rest = node.as_coeff_Mul()
    if not (coefficient.is_Rational and coefficient.p == 1 and coefficient.q > 1):
        return None
    if rest != sp.sqrt(coefficient.q):
        return None
    return sp.Pow(sp.Pow(coefficient.q, sp.S.Half, evaluate=False), -1, evaluate=False)


SUM_CONSTANTS_OUT = Rewrite(
    "constant factors out of a sum",
    lambda e: isinstance(e, sp.Sum) and len(e.limits) == 1,
    _sum_constants_out,
    _prove_sum_constants_out,
)
COMBINE_POWERS = Rewrite(
    "powers of one base combined",
    lambda e: isinstance(e, sp.Mul) and _has_repeated_base(e),
    _combine_powers,
)
ONE_RADICAL = Rewrite(
    "one radical per square root",
    lambda e: isinstance(e, sp.Mul) and len(_roots(e)) >= 2,
    _one_radical,
    _prove_one_radical,
    unevaluated=True,
)
ONE_OVER_ROOT = Rewrite(
    "1/sqrt(n) for sqrt(n)/n",
    lambda e: isinstance(e, sp.Mul) and e.is_number,
    _one_over_root,
    unevaluated=True,
)

#: The paper's conventions, in the order the driver applies them (algebraic forms first, then
#: the display forms, which are built unevaluated and so must come last).
PAPER: tuple[Rewrite, ...] = (SUM_CONSTANTS_OUT, COMBINE_POWERS, ONE_RADICAL, ONE_OVER_ROOT)


@dataclass(frozen=True)
class Presented:
    """An expression in its printed form, with the rules applied and those rejected."""

    original: sp.Expr
    form: sp.Expr
    applied: tuple[str, ...] = ()
    rejected: tuple[str, ...] = field(default=())


def _apply(expr: sp.Basic, rule: Rewrite, applied: list, rejected: list) -> sp.Basic:
    """One rule bottom-up over ``expr``; each application is kept only if its proof holds."""
    if not expr.args or isinstance(expr, sp.Indexed | sp.IndexedBase):
        return expr
    args = tuple(_apply(a, rule, applied, rejected) for a in expr.args)
    node = expr if args == expr.args else _rebuild(expr, args, rule.unevaluated)
    if not rule.applies(node):
        return node
    try:
        new = rule.rewrite(node)
        if new is None or new == node:
            return node
        proved = bool(rule.proof(node, new))
    except (TypeError, ValueError, ArithmeticError, NotImplementedError, sp.PolynomialError):
        proved = False  # a rule that fails on this node is not applied, never half-applied
    if proved:
        applied.append(rule.name)
        return new
    rejected.append(rule.name)
    return node


def _rebuild(expr: sp.Basic, args: tuple, unevaluated: bool) -> sp.Basic:
    # A parent of a display form is rebuilt without evaluation, so that SymPy does not undo it.
    if unevaluated:
        try:
            return expr.func(*args, evaluate=False)
        except TypeError:  # Sum, Integral, ...: no evaluate flag, and they do not evaluate
            pass
    return expr.func(*args)


def present(expr: sp.Expr, rules: Sequence[Rewrite] = PAPER) -> Presented:
    """``expr`` in the paper's form: each rule in turn, each application proved (see module)."""
    applied: list[str] = []
    rejected: list[str] = []
    form = sp.sympify(expr)
    for rule in rules:
        form = _apply(form, rule, applied, rejected)
    return Presented(expr, form, tuple(applied), tuple(rejected))


# --- the printer -------------------------------------------------------------------------------


def _negative(term: sp.Expr) -> bool:
    return term.could_extract_minus_sign()


def _is_index_sum(expr: sp.Add) -> bool:
    # A polynomial in integer symbols: an exponent such as t - i + 1, a subscript such as t + k.
    symbols = expr.free_symbols
    return bool(symbols) and all(s.is_integer for s in symbols) and expr.is_polynomial(*symbols)


def paper_order(expr: sp.Add, terms: Sequence[sp.Expr]) -> list[sp.Expr]:
    """The order of a sum's terms on paper; ``terms`` is SymPy's order (kept within groups).

    A sum of indices (an exponent, a subscript) puts the time first, the positive terms before
    the negative ones and the constant last (``t - j + 1``, ``2t - i - j``); any other sum puts
    a positive constant first, then the positive terms, then the negative ones (``1 - ηλ``,
    ``1 + β₁``, ``β₃ - β₁``).
    """
    if _is_index_sum(expr):
        constants = [x for x in terms if x.is_number]
        others = [x for x in terms if not x.is_number]
        timed = [x for s in _TIME_FIRST for x in others if x.has(s) and not _negative(x)]
        timed = list(dict.fromkeys(timed))
        positive = [x for x in others if not _negative(x) and x not in timed]
        negative = [x for x in others if _negative(x)]
        return timed + positive + negative + constants
    head = [x for x in terms if x.is_number and not _negative(x)]
    positive = [x for x in terms if not x.is_number and not _negative(x)]
    negative = [x for x in terms if not x.is_number and _negative(x)]
    tail = [x for x in terms if x.is_number and _negative(x)]
    return head + positive + negative + tail


class PaperPrinter(LatexPrinter):
    """SymPy's LaTeX printer with the package's settings and the paper's order of terms."""

    def __init__(self, settings: dict | None = None) -> None:
        super().__init__({**PRINTER_SETTINGS, **(settings or {})})

    def _as_ordered_terms(self, expr, order=None):
        terms = super()._as_ordered_terms(expr, order=order)
        if not isinstance(expr, sp.Add):
            return terms
        ordered = paper_order(expr, terms)
        # Commutativity is the whole proof: the same terms, each once.
        assert Counter(ordered) == Counter(terms)
        return ordered


def to_latex(expr: sp.Expr) -> str:
    """LaTeX of one expression in the paper's form (checked rewrites, paper order)."""
    return PaperPrinter().doprint(present(expr).form)


def statement(lhs: sp.Expr, relation: str, rhs: sp.Expr) -> str:
    """``lhs rel rhs`` as a math body (no delimiters, no label); ``relation`` is ``:=, =, ≈``."""
    return f"{to_latex(lhs)} {RELATIONS[relation]} {to_latex(rhs)}"
