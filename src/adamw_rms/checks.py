"""How a step is proved: exact algebra, induction, brute force, coordinates, limits, numerics.

Each check is a small frozen record following the :class:`Check` protocol: a ``method`` name and
a ``run()`` that returns a :class:`CheckResult`. A step carries a tuple of them; every one must
pass. Checks are written with the placeholders :data:`LHS` and :data:`RHS`; one that needs the
left side's meaning from earlier steps is wrapped in :class:`Given`, the one mechanism for that.
The module is ordered by kind of proof: exact algebra, induction, brute force and Gaussian
moments, explicit coordinates, limits and small parameters, numerics, claims and restatements.
It never imports :mod:`adamw_rms.rules`, the rules that *compute* a step: a step is derived one
way and verified another way.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import mpmath
import sympy as sp

from . import symbols as S
from .algebra import freeze_powers, is_zero, limit, split_powers

__all__ = [
    "BRUTE_FORCE_POINT",
    "EPSILON",
    "LHS",
    "RHS",
    "ApproximationOrder",
    "BruteForce",
    "Check",
    "CheckResult",
    "ClaimCheck",
    "CoordinateAverage",
    "CoordinateIdentity",
    "GaussianMoments",
    "GaussianMomentsAtLags",
    "Given",
    "IteratesRecursion",
    "LimitRatio",
    "LimitValue",
    "MeanFieldRewrite",
    "NumericEqual",
    "Quadrature",
    "Recurrence",
    "Restated",
    "RewriteToZero",
    "RoundsTo",
    "SequenceLimit",
    "SignQuadrature",
    "SmallParameter",
    "SolvesEquation",
    "SolvesRecursion",
    "SpotCheck",
    "SumInduction",
    "TaylorByDerivatives",
    "UniquePositiveRoot",
    "bind",
    "freeze_powers",
    "gaussian_expectation",
    "is_zero",
    "limit",
    "mentions",
    "resolve",
    "sample_point",
    "split_powers",
    "stationary_update_moments",
]


# Placeholders for the two sides of the step a check belongs to: a check written with ``RHS``
# verifies whatever the step states, so a mutated statement fails its own checks.
LHS = sp.Symbol("__step_lhs__")
RHS = sp.Symbol("__step_rhs__")


def _substitute(value: object, sides: Mapping) -> object:
    # Into expressions, and into the mappings and tuples a check holds (``given``, ``limits``);
    # the same object back when nothing in it changes.
    if isinstance(value, sp.Basic):
        return value.xreplace(sides) if value.has(*sides) else value
    if isinstance(value, Mapping):
        items = [(_substitute(k, sides), _substitute(v, sides)) for k, v in value.items()]
        changed = any(
            a is not k or b is not v for (a, b), (k, v) in zip(items, value.items(), strict=True)
        )
        return dict(items) if changed else value
    if isinstance(value, tuple):
        items = tuple(_substitute(v, sides) for v in value)
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    return value


def mentions(check: object, placeholder: sp.Symbol) -> bool:
    """True when some expression the check holds (directly, or in a mapping/tuple) has it."""

    def visit(value: object) -> bool:
        if isinstance(value, sp.Basic):
            return value.has(placeholder)
        if isinstance(value, Mapping):
            return any(visit(k) or visit(v) for k, v in value.items())
        if isinstance(value, tuple):
            return any(visit(v) for v in value)
        return False

    return any(visit(v) for v in vars(check).values())


def bind(check, lhs: sp.Expr, rhs: sp.Expr):
    """The check with ``LHS``/``RHS`` replaced by the sides of a concrete statement."""
    sides = {LHS: lhs, RHS: rhs}
    changes = {
        name: _substitute(value, sides)
        for name, value in vars(check).items()
        if isinstance(value, sp.Basic | Mapping | tuple)
    }
    changes = {name: value for name, value in changes.items() if value is not vars(check)[name]}
    return dataclasses.replace(check, **changes) if changes else check


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check: a short method name for the table and a sentence of detail."""

    method: str
    passed: bool
    detail: str


@runtime_checkable
class Check(Protocol):
    """What every check is: a short ``method`` name and a ``run()`` that decides it.

    A check of a step is written with the placeholders :data:`LHS` and :data:`RHS`, which
    :func:`bind` replaces by the step's two sides before ``run()``; so editing either side of a
    statement makes its own checks fail.
    """

    method: str

    def run(self) -> CheckResult: ...


# Hyperparameters at which brute-force expansions run: exact, generic (no coincidences such as
# beta1 = beta3), and cheap. Symbolic identities are proved separately for all values.
BRUTE_FORCE_POINT: dict[sp.Symbol, sp.Rational] = {
    S.beta1: sp.Rational(9, 11),
    S.beta2: sp.Rational(19, 23),
    S.beta3: sp.Rational(29, 31),
    S.eta: sp.Rational(3, 100),
    S.lam: sp.Rational(7, 10),
}


def _show(point: Mapping) -> str:
    return ", ".join(f"{k} = {v}" for k, v in point.items())


# --- random exact spot points ---------------------------------------------------------------------


def _rng(key: str) -> random.Random:
    return random.Random(zlib.crc32(key.encode()))


def _rational(rng: random.Random, low: float, high: float) -> sp.Rational:
    return sp.Rational(round(low * 1000 + rng.random() * (high - low) * 1000), 1000)


def sample_point(expr: sp.Expr, rng: random.Random, given: Mapping | None = None) -> dict:
    """A random exact point for every free symbol of ``expr`` within its valid domain."""
    point: dict[sp.Basic, sp.Expr] = {}
    free = set(expr.free_symbols)
    if S.t in free or any(isinstance(a, sp.Sum) for a in expr.atoms(sp.Sum)):
        point[S.t] = sp.Integer(rng.randint(1, 7))
    for index in (S.j, S.i, S.k):
        if index in free:
            point[index] = sp.Integer(rng.randint(1, int(point.get(S.t, 7))))
    ranges = {
        S.beta1: (0.05, 0.99),
        S.beta2: (0.05, 0.99),
        S.beta3: (0.5, 0.999),
        S.eta: (0.001, 0.5),
        S.lam: (0.01, 1.5),
        S.mu: (-2.0, 2.0),
        S.sigma: (0.2, 2.0),
        S.snr: (0.0, 5.0),
        S.mu_norm: (0.0, 2.0),
        S.sigma_norm: (0.2, 2.0),
        S.corr: (-0.9, 0.9),
        S.shift: (-2.0, 2.0),
        S.beta3_pow_t: (0.01, 0.99),
        S.beta2_pow_t: (0.01, 0.99),
        S.beta1_pow_t: (0.01, 0.99),
    }
    for symbol in sorted(free, key=str):
        if symbol in point or not isinstance(symbol, sp.Symbol):
            continue
        low, high = ranges.get(symbol, (0.1, 2.0))
        point[symbol] = _rational(rng, low, high)
    # Norms and entries of vectors are opaque positive numbers at a spot point.
    for atom in sorted(expr.atoms(S.RMS2, S.MeanDot, sp.Indexed), key=sp.default_sort_key):
        if not atom.free_symbols & {S.t, S.i, S.j}:
            point[atom] = _rational(rng, 0.1, 2.0)
    if given:
        point = {k: sp.sympify(v).xreplace(point) for k, v in {**point, **given}.items()}
    return point


def _evaluate_exact(expr: sp.Expr, point: Mapping, rng: random.Random) -> sp.Expr:
    value = expr.xreplace(dict(point)).doit()
    # Vector entries (g_1, u_3, theta_0, ...) and norms become random exact numbers too.
    opaque = sorted(
        value.atoms(sp.Indexed, S.RMS2, S.Expect, S.Variance, S.MeanDot), key=sp.default_sort_key
    )
    value = value.xreplace({a: _rational(rng, -2.0, 2.0) for a in opaque})
    return sp.nsimplify(value) if value.has(sp.Float) else value


# --- the left side's meaning: one wrapper for every check -----------------------------------------


def resolve(meaning: Mapping, value: object, passes: int = 8) -> object:
    """``value`` with each key of ``meaning`` replaced by its value, repeatedly, until stable.

    A key is an opaque quantity (the left side, an expectation, a norm) and its value what an
    earlier step states it to be; values may contain further keys (``E[u^2] -> M^2 + C_0``,
    ``C_0 -> 1``), so the substitution runs to a fixed point. Reaches into the values of
    mappings and the items of tuples (a check's ``regime``, ``given``, points).
    """
    if isinstance(value, sp.Basic):
        for _ in range(passes):
            replaced = value.xreplace(dict(meaning))
            if replaced == value:
                break
            value = replaced
        return value
    if isinstance(value, Mapping):
        return {k: resolve(meaning, v, passes) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(resolve(meaning, v, passes) for v in value)
    return value


@dataclass(frozen=True)
class Given:
    """The check ``kind(*positional, **arguments)``, run after ``meaning`` is substituted.

    The one way a check gives the left side (or any opaque quantity of the statement) its
    meaning from earlier steps: the left side ``theta_t`` its defining recursion, ``E[v_bar_t]``
    its exact form, ``u_bar`` the ratio ``m_bar/sqrt(v_bar)``. ``meaning`` is keyed by those
    concrete objects, never by the placeholders, and substituted into every argument to a fixed
    point (:func:`resolve`); ``doit`` then evaluates derivatives and integrals. The check fails
    when a non-empty ``meaning`` changes none of the arguments (a changed left side is no longer
    replaced) and when an argument cannot be evaluated afterwards (an opaque quantity is left).
    An empty ``meaning`` only renames the check and words its detail. ``detail``, if given, is
    reported when the check passes (a sentence that does not quote the arbitrary points it ran
    at); ``method``, if given, replaces the wrapped check's name. Written as the plain check's
    own call with ``meaning=`` added: ``Given.of(SmallParameter, LHS, RHS, ..., meaning=...)``.
    """

    kind: type
    arguments: Mapping
    meaning: Mapping
    doit: bool = False
    method: str = ""
    detail: str = ""  # reported when the check passes, instead of values at arbitrary points
    positional: tuple = ()

    def __post_init__(self) -> None:
        if not self.method:
            default = getattr(self.kind, "__dataclass_fields__", {}).get("method")
            object.__setattr__(self, "method", default.default if default else self.kind.__name__)

    @classmethod
    def of(
        cls,
        kind: type,
        *positional: object,
        meaning: Mapping,
        doit: bool = False,
        method: str = "",
        detail: str = "",
        **arguments: object,
    ) -> Given:
        """``kind``'s own call, positional and keyword arguments, with ``meaning=`` added."""
        return cls(kind, arguments, meaning, doit, method, detail, tuple(positional))

    def inner(self) -> Check:
        """The wrapped check, its arguments as written (before ``meaning``): for reading it."""
        return self.kind(*self.positional, **self.arguments)

    def run(self) -> CheckResult:
        meaning = dict(self.meaning)
        changed = False

        def prepare(value: object) -> object:
            nonlocal changed
            resolved = resolve(meaning, value)
            changed = changed or resolved != value
            if self.doit and isinstance(resolved, sp.Basic):
                return resolved.doit()
            return resolved

        positional = tuple(prepare(v) for v in self.positional)
        arguments = {k: prepare(v) for k, v in self.arguments.items()}
        if meaning and not changed:
            return CheckResult(self.method, False, "the meaning applies to nothing in the check")
        result = self.kind(*positional, **arguments).run()
        detail = self.detail if self.detail and result.passed else result.detail
        if len(detail) > 160:  # e.g. brute force quoting the iterated values it was given
            detail = detail[:150].rsplit(" ", 1)[0] + " …"
        return CheckResult(self.method, result.passed, detail)


# --- exact algebra --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RewriteToZero:
    """``lhs - rhs`` reduces to 0 by splitting powers and ``cancel``: an exact proof."""

    lhs: sp.Expr
    rhs: sp.Expr
    given: Mapping = field(default_factory=dict)
    method: str = "rewrite to 0"

    def run(self) -> CheckResult:
        difference = (self.lhs - self.rhs).xreplace(dict(self.given))
        ok = is_zero(difference)
        return CheckResult(self.method, ok, "cancel(lhs - rhs) = 0" if ok else "lhs - rhs ≠ 0")


@dataclass(frozen=True)
class SpotCheck:
    """``lhs == rhs`` at random exact Rational points (integer indices, valid hyperparameters)."""

    lhs: sp.Expr
    rhs: sp.Expr
    key: str
    points: int = 4
    given: Mapping = field(default_factory=dict)
    method: str = "Rational spot checks"

    def run(self) -> CheckResult:
        rng = _rng(self.key)
        difference = self.lhs - self.rhs
        for _ in range(self.points):
            point = sample_point(difference, rng, self.given)
            value = _evaluate_exact(difference, point, _rng(self.key + str(point)))
            if value != 0 and not value.is_Rational:
                # Exact but transcendental (exp of rationals): SymPy need not cancel it to 0.
                numeric = sp.N(value, 60)
                if numeric.is_Number and abs(numeric) < 1e-45:
                    value = sp.Integer(0)
            if value != 0:
                shown = {str(k): str(v) for k, v in point.items()}
                return CheckResult(self.method, False, f"lhs - rhs = {value} at {shown}")
        return CheckResult(self.method, True, f"exact equality at {self.points} random points")


@dataclass(frozen=True)
class MeanFieldRewrite:
    """The right side is ``E[X]/E[Y]`` where the left side is ``E[X/Y]``: the decoupling, read off.

    Decided from the shapes of the two sides (it does not call the rule that produced the right
    side): the left side must be one expectation of a ratio, the right side a quotient of two
    expectations whose arguments divide to the left side's argument, with a denominator that
    is not a constant (else nothing was decoupled).
    """

    lhs: sp.Expr
    rhs: sp.Expr
    method: str = "mean-field decoupling, read off"

    def run(self) -> CheckResult:
        if not isinstance(self.lhs, S.Expect):
            return CheckResult(self.method, False, "the left side is not one expectation")
        numerator, denominator = sp.fraction(sp.together(self.rhs))
        if not (isinstance(numerator, S.Expect) and isinstance(denominator, S.Expect)):
            return CheckResult(self.method, False, "the right side is not E[X]/E[Y]")
        top, bottom = numerator.args[0], denominator.args[0]
        if not bottom.free_symbols and not bottom.atoms(sp.Indexed):
            return CheckResult(self.method, False, "the denominator E[Y] is a constant")
        if not is_zero(self.lhs.args[0] - top / bottom):
            return CheckResult(self.method, False, "X/Y is not the argument of the left side")
        return CheckResult(self.method, True, "left side E[X/Y], right side E[X]/E[Y]")


@dataclass(frozen=True)
class UniquePositiveRoot:
    """``root`` is the one positive root of the quadratic ``polynomial`` in ``variable``.

    By Vieta the two roots multiply to ``c/a`` and add to ``-b/a``. When SymPy decides from the
    symbols' assumptions that ``c/a < 0``, or that ``c/a <= 0`` and ``-b/a > 0``, both roots
    are real, one is positive and the other is ``<= 0`` (negative, or 0 when ``c = 0``):
    exactly one root is positive. ``root`` must then be a root (exact substitution) and
    positive (assumptions).
    """

    polynomial: sp.Expr
    variable: sp.Symbol
    root: sp.Expr
    method: str = "the unique positive root (Vieta)"

    def run(self) -> CheckResult:
        poly = sp.Poly(self.polynomial, self.variable)
        if poly.degree() != 2:
            return CheckResult(self.method, False, f"degree {poly.degree()}, not a quadratic")
        a, b, c = poly.all_coeffs()
        product, total = sp.factor(c / a), sp.factor(-b / a)
        if product.is_negative:
            signs = f"the roots multiply to {product} < 0"
        elif product.is_nonpositive and total.is_positive:
            signs = f"the roots multiply to {product} <= 0 and add to {total} > 0"
        else:
            detail = f"signs undecided: roots multiply to {product} and add to {total}"
            return CheckResult(self.method, False, detail)
        if not is_zero(poly.as_expr().subs(self.variable, self.root)):
            return CheckResult(self.method, False, "not a root of the quadratic")
        if not self.root.is_positive:
            return CheckResult(self.method, False, "the root is not provably positive")
        detail = f"{signs}: exactly one is positive, and it is this one"
        return CheckResult(self.method, True, detail)


@dataclass(frozen=True)
class SolvesEquation:
    """``lhs`` (a symbol) equals ``rhs`` as the one solution of ``equation = 0``.

    The equation must be of degree 1 in ``lhs`` once denominators are cleared (so the
    solution is unique), and ``rhs`` must make it vanish.
    """

    lhs: sp.Expr
    rhs: sp.Expr
    equation: sp.Expr
    method: str = "the unique solution (substituted back)"

    def run(self) -> CheckResult:
        if not isinstance(self.lhs, sp.Symbol) or not self.equation.has(self.lhs):
            return CheckResult(self.method, False, f"the equation does not involve {self.lhs}")
        numerator, _ = sp.fraction(sp.together(self.equation))
        try:
            linear = sp.Poly(numerator, self.lhs).degree() == 1
        except sp.PolynomialError:
            linear = False
        if not linear:
            return CheckResult(self.method, False, "not linear in the unknown: not unique")
        if not is_zero(self.equation.xreplace({self.lhs: self.rhs})):
            return CheckResult(self.method, False, "the right side does not solve the equation")
        return CheckResult(self.method, True, "linear in the unknown; the right side solves it")


# --- induction ------------------------------------------------------------------------------------


def _peel(expr: sp.Expr, index: sp.Symbol) -> sp.Expr:
    """Split the last term off every sum that runs to ``index``: sum to index - 1, plus a term."""
    for _ in range(8):  # nested sums: the peeled term may hold a sum that runs to index
        sums = [s for s in expr.atoms(sp.Sum) if len(s.limits) == 1 and s.limits[0][2] == index]
        if not sums:
            return expr
        peeled = {}
        for s in sums:
            (k, low, _), body = s.limits[0], s.function
            peeled[s] = sp.Sum(body, (k, low, index - 1)) + body.subs(k, index)
        expr = expr.xreplace(peeled)
    return expr


def _expand_finite_sums(expr: sp.Expr) -> sp.Expr:
    """Write out every sum with numeric limits term by term (outer sums first), no ``doit``."""
    if isinstance(expr, sp.Sum) and len(expr.limits) == 1:
        (k, low, high), body = expr.limits[0], expr.function
        if low.is_Integer and high.is_Integer:
            return sp.Add(*(_expand_finite_sums(body.subs(k, n)) for n in range(low, high + 1)))
    if expr.args and not isinstance(expr, sp.Sum):
        return expr.func(*(_expand_finite_sums(a) for a in expr.args))
    return expr


def _canonical_indices(expr: sp.Expr) -> sp.Expr:
    """Rename the index of every single sum after its limits, so that equal sums are equal."""

    def rename(e: sp.Sum) -> sp.Sum:
        (variable, lower, upper) = e.limits[0]
        name = sp.Symbol(f"_index[{sp.srepr(lower)},{sp.srepr(upper)}]", integer=True)
        return sp.Sum(e.function.xreplace({variable: name}), (name, lower, upper))

    return expr.replace(lambda e: isinstance(e, sp.Sum) and len(e.limits) == 1, rename)


@dataclass(frozen=True)
class SolvesRecursion:
    """``rhs`` solves the recursion that defines ``lhs``, by induction on ``index``.

    ``recursion`` gives the left side at ``index`` in terms of the left side at ``index - 1``
    (it must contain ``lhs`` with ``index - 1``: that is how the left side enters the check).
    Base case: with ``start`` (the left side at ``base - 1``, default 0), ``rhs`` at ``base``
    equals one step of the recursion from ``start``; with ``start=None`` the initial value
    stays symbolic and ``rhs`` at ``base`` must equal ``lhs`` at ``base`` (``theta_0``).
    Inductive step: ``rhs`` minus the recursion applied to ``rhs`` at ``index - 1`` is 0, after
    the last term is split off every sum that runs up to ``index`` (nested sums too) and the
    summation indices are named after their limits. A plain sum ``S(n) = f S(n-1) + a(n)`` is
    the recursion of an undefined function ``S``. Other quantities of the recursion (an
    earlier moment, ``kappa_t`` defined by a sum) get their meaning from :class:`Given`.
    """

    lhs: sp.Expr
    rhs: sp.Expr
    recursion: sp.Expr
    index: sp.Symbol
    start: sp.Expr | None = sp.S.Zero
    base: int = 1
    method: str = "induction on the defining recursion"

    def run(self) -> CheckResult:
        n = self.index
        previous = self.lhs.subs(n, n - 1)
        if not self.recursion.has(previous):
            detail = f"the recursion does not define {self.lhs} from {previous}"
            return CheckResult(self.method, False, detail)
        if self.start is None:
            first = self.lhs.subs(n, self.base)
        else:
            before = {self.lhs.subs(n, self.base - 1): self.start}
            first = self.recursion.subs(n, self.base).xreplace(before)
        base_ok = is_zero((self.rhs.subs(n, self.base) - first).doit())
        stepped = self.recursion.xreplace({previous: self.rhs.subs(n, n - 1)})
        step = _canonical_indices(_peel(self.rhs, n) - _peel(stepped, n))
        step_ok = is_zero(step) or is_zero(sp.expand(step))
        if base_ok and step_ok:
            return CheckResult(self.method, True, "base case and inductive step reduce to 0")
        failed = "base case" if not base_ok else "inductive step"
        return CheckResult(self.method, False, f"{failed} does not reduce to 0")


@dataclass(frozen=True)
class Recurrence:
    """``lhs = rhs`` for every ``index >= base``, where ``meaning`` defines ``lhs`` by a sum.

    Distinct from :class:`SolvesRecursion`: there the left side is known by its recursion; here
    by a definition (a weighted sum, possibly of sums: ``E[v_bar_t] := w_t sum_i beta3^(t-i)
    E[v_i]``, ``sum_i beta3^(t-i) m_i`` with ``m_i`` itself a sum), so there is no recursion to
    substitute. With ``D(n) = (lhs - rhs)(n)/scale(n)``, the meaning applied at ``n``, ``n - 1``
    and ``base``, the check proves ``D(base) = 0`` and ``D(n) = factor · D(n-1)``, after
    splitting the last term off every sum that runs to ``n``. A left side that ``meaning`` does
    not define fails.
    """

    lhs: sp.Expr
    rhs: sp.Expr
    meaning: Mapping
    factor: sp.Expr = sp.S.One
    index: sp.Symbol = S.t
    base: sp.Expr = sp.S.Zero
    scale: sp.Expr = sp.S.One
    method: str = "induction on t"

    def _meaning_at(self, at: sp.Expr) -> dict:
        return {k.subs(self.index, at): v.subs(self.index, at) for k, v in self.meaning.items()}

    def run(self) -> CheckResult:
        n = self.index
        difference = self.lhs - self.rhs
        now = difference.xreplace(dict(self.meaning))
        if now == difference:
            return CheckResult(self.method, False, "the left side has no meaning here")
        before = difference.subs(n, n - 1).xreplace(self._meaning_at(n - 1))
        start = difference.subs(n, self.base).xreplace(self._meaning_at(self.base))
        base_ok = is_zero(_expand_finite_sums(start))
        step = _peel(now / self.scale, n) - self.factor * before / self.scale.subs(n, n - 1)
        # Distribute the outer products only: equal sums to n - 1 then cancel as terms, and
        # ``is_zero`` decides what is left without them.
        step_ok = is_zero(sp.expand_mul(step, deep=False))
        if base_ok and step_ok:
            return CheckResult(
                self.method, True, f"base case {n} = {self.base} and inductive step reduce to 0"
            )
        failed = "base case" if not base_ok else "inductive step"
        return CheckResult(self.method, False, f"{failed} does not reduce to 0")


_SEQUENCE = sp.Function("S_seq")  # a sequence known only by its recursion


@dataclass(frozen=True)
class SumInduction:
    """``lhs = rhs`` for every ``t >= 1``, where ``lhs`` means ``c(t) * Sum(f(t, i), (i, 1, t))``.

    ``meaning`` turns the left side into that sum (from earlier steps, to a fixed point). With
    ``r = f(t, i) / f(t - 1, i)`` free of ``i``, the sum ``S_t`` obeys ``S_t = r S_{t-1} + f(t,
    t)``, ``S_0 = 0``; the check finds ``c`` and ``r`` itself and proves by
    :class:`SolvesRecursion` that ``rhs / c`` solves this recursion. Distinct from
    :class:`Recurrence` (which is told ``factor`` and ``scale`` and handles sums of sums): here
    the one sum's shape is checked and the recursion is read off it.
    """

    lhs: sp.Expr
    rhs: sp.Expr
    index: sp.Symbol
    meaning: Mapping = field(default_factory=dict)
    method: str = "induction on t (the left side's sum)"

    def run(self) -> CheckResult:
        t, i = S.t, self.index
        left = resolve(self.meaning, self.lhs)
        sums = [term for term in sp.Mul.make_args(left) if isinstance(term, sp.Sum)]
        if len(sums) != 1 or sums[0].limits != ((i, 1, t),):
            return CheckResult(self.method, False, "the left side is not c(t) * sum_{i=1}^t f")
        (total,) = sums
        outside = sp.Mul(*[term for term in sp.Mul.make_args(left) if term is not total])
        summand = total.function
        ratio = sp.simplify(sp.powsimp(summand / summand.subs(t, t - 1), force=True))
        if ratio.has(i):
            return CheckResult(self.method, False, "f(t, i) / f(t - 1, i) depends on i")
        closed = resolve(self.meaning, self.rhs) / outside
        # The sum's own recursion, S_t = r S_{t-1} + f(t, t) from S_0 = 0: the same induction.
        recursion = ratio * _SEQUENCE(t - 1) + summand.subs(i, t)
        proof = SolvesRecursion(_SEQUENCE(t), closed, recursion, t, method=self.method)
        return proof.run()


# --- brute force and exact Gaussian moments -------------------------------------------------------


@dataclass(frozen=True)
class BruteForce:
    """Both sides expanded term by term for concrete ``t`` (symbolic vector entries).

    A side is a function of ``t`` or an expression in ``t``: substituted (``given``), taken at
    ``t = n`` and expanded (``doit``). Then ``evaluate(expr, n)``, if given, computes what is
    left opaque, e.g. expectations by exact Gaussian moments of the iterated recursion, or by
    linearity. Hyperparameters at ``at``.
    """

    lhs_at: Callable[[int], sp.Expr] | sp.Expr
    rhs_at: Callable[[int], sp.Expr] | sp.Expr
    steps: Sequence[int] = (1, 2, 3, 4)
    method: str = "brute force"
    at: Mapping = field(default_factory=dict)
    given: Mapping = field(default_factory=dict)
    evaluate: Callable[[sp.Expr, int], sp.Expr] | None = None

    def _side(self, side, n: int) -> sp.Expr:
        if callable(side):
            value = side(n).xreplace(dict(self.at))
        else:
            side = side.xreplace(dict(self.given)).xreplace(dict(self.at))
            value = side.subs(S.t, n).doit().xreplace(dict(self.at))
        if self.evaluate is not None:
            value = self.evaluate(value, n).xreplace(dict(self.at))
        return value

    def run(self) -> CheckResult:
        for n in self.steps:
            difference = sp.expand(self._side(self.lhs_at, n) - self._side(self.rhs_at, n))
            # A polynomial difference that expands to 0 is 0; otherwise decide exactly.
            if difference != 0 and not is_zero(difference):
                return CheckResult(self.method, False, f"sides differ at t = {n}")
        where = f" at {_show(self.at)}" if self.at else ""
        return CheckResult(
            self.method, True, f"equal for t = {min(self.steps)}..{max(self.steps)}{where}"
        )


def _iterate(recursion: sp.Expr, lhs: sp.Expr, index: sp.Symbol, start: sp.Expr, n: int):
    # The defining recursion run from ``start`` up to ``index = n``.
    state = start
    for k in range(1, n + 1):
        state = recursion.subs(index, k).xreplace({lhs.subs(index, k - 1): state})
    return state


@dataclass(frozen=True)
class IteratesRecursion:
    """Brute force: the recursion that defines ``lhs``, run from ``start``, equals ``rhs``.

    Expanded term by term at ``index = 1..4`` (symbolic vector entries; hyperparameters at
    ``at``), the left side's previous value replaced by the iterate at each step. Distinct from
    :class:`BruteForce`, which is handed each side as an expression or function of ``t``: here
    the left side is computed from the recursion quoted from its defining step, which must
    define it (a wrong left side fails), and :class:`SolvesRecursion` proves the same for all t.
    """

    lhs: sp.Expr
    rhs: sp.Expr
    recursion: sp.Expr
    index: sp.Symbol
    start: sp.Expr = sp.S.Zero
    steps: Sequence[int] = (1, 2, 3, 4)
    at: Mapping = field(default_factory=dict)
    method: str = "brute-force iteration of the recursion"

    def run(self) -> CheckResult:
        if not self.recursion.has(self.lhs.subs(self.index, self.index - 1)):
            return CheckResult(self.method, False, f"the recursion does not define {self.lhs}")
        for n in self.steps:
            iterate = _iterate(self.recursion, self.lhs, self.index, self.start, n)
            closed = self.rhs.subs(self.index, n).doit()
            difference = sp.expand((iterate - closed).xreplace(dict(self.at)))
            if difference != 0 and not is_zero(difference):
                return CheckResult(self.method, False, f"sides differ at {self.index} = {n}")
        where = f" at {_show(self.at)}" if self.at else ""
        steps = f"{min(self.steps)}..{max(self.steps)}"
        return CheckResult(self.method, True, f"equal for {self.index} = {steps}{where}")


_GAUSSIAN_RAW_MOMENTS = {
    0: lambda mu, sigma: sp.Integer(1),
    1: lambda mu, sigma: mu,
    2: lambda mu, sigma: mu**2 + sigma**2,
    3: lambda mu, sigma: mu**3 + 3 * mu * sigma**2,
    4: lambda mu, sigma: mu**4 + 6 * mu**2 * sigma**2 + 3 * sigma**4,
}


def gaussian_expectation(
    expr: sp.Expr, variables: Sequence[sp.Expr], mu: sp.Expr, sigma: sp.Expr
) -> sp.Expr:
    """E[expr] for a polynomial in iid N(mu, sigma^2) ``variables``, by expanding monomials.

    Independent of every closed form in the derivations: it only uses the raw Gaussian moments
    up to order 4 and independence (the expectation of a monomial factorises).
    """
    poly = sp.Poly(sp.expand(expr), *variables)
    total = sp.Integer(0)
    for powers, coeff in poly.terms():
        term = coeff
        for power in powers:
            if power not in _GAUSSIAN_RAW_MOMENTS:
                raise ValueError(f"moment of order {power} is not tabulated")
            term *= _GAUSSIAN_RAW_MOMENTS[power](mu, sigma)
        total += term
    return sp.expand(total)


@dataclass(frozen=True)
class GaussianMoments:
    """Exact Gaussian moments by expansion: both sides at ``t = 1..4``, iid ``N(mu, sigma^2)``.

    The left side is an expression in :class:`~adamw_rms.symbols.Expect` and
    :class:`~adamw_rms.symbols.Variance` of the sequences in ``sequences`` (each mapped to its
    defining recursion in ``t``, started from 0) and of sums over the gradients. ``given``
    first rewrites the left side (e.g. a mean-field decoupling quoted from an earlier step).
    At each ``t = n`` the sequences are iterated, every expectation is expanded into raw
    Gaussian moments (:func:`gaussian_expectation`), ``Var[X] = E[X^2] - E[X]^2``, and the
    result must equal the right side at ``t = n``. A :class:`BruteForce` whose evaluation of
    ``Expect``/``Variance`` is fixed and named; a left side with an expectation left over fails.
    """

    lhs: sp.Expr
    rhs: sp.Expr
    sequences: Mapping = field(default_factory=dict)
    given: Mapping = field(default_factory=dict)
    steps: Sequence[int] = (1, 2, 3, 4)
    at: Mapping = field(default_factory=dict)
    method: str = "exact Gaussian moments by expansion"

    def _value(self, n: int) -> sp.Expr:
        gradients = [S.g[k] for k in range(1, n + 1)]
        states = {
            sequence.subs(S.t, n): _iterate(recursion, sequence, S.t, sp.S.Zero, n)
            for sequence, recursion in self.sequences.items()
        }
        side = self.lhs.xreplace(dict(self.given)).subs(S.t, n).doit()

        def expect(argument: sp.Expr) -> sp.Expr:
            argument = argument.xreplace(states).xreplace(dict(self.at))
            return gaussian_expectation(argument, gradients, S.mu, S.sigma)

        side = side.replace(
            lambda e: isinstance(e, S.Variance),
            lambda e: expect(e.args[0] ** 2) - expect(e.args[0]) ** 2,
        )
        return side.replace(lambda e: isinstance(e, S.Expect), lambda e: expect(e.args[0]))

    def run(self) -> CheckResult:
        for n in self.steps:
            left = self._value(n).xreplace(dict(self.at))
            if left.atoms(S.Expect, S.Variance):
                return CheckResult(self.method, False, "the left side is not a Gaussian moment")
            right = self.rhs.xreplace(dict(self.at)).subs(S.t, n).doit()
            difference = sp.expand(left - right)
            if difference != 0 and not is_zero(difference):
                return CheckResult(self.method, False, f"sides differ at t = {n}")
        where = f" at {_show(self.at)}" if self.at else ""
        return CheckResult(
            self.method, True, f"equal for t = {min(self.steps)}..{max(self.steps)}{where}"
        )


# --- explicit coordinates -------------------------------------------------------------------------


def _in_coordinates(expr: sp.Expr, coordinates: Mapping, size: int) -> sp.Expr:
    # RMS2, RMS and MeanDot of linear combinations of vectors, as coordinate means.
    def mean(x: sp.Expr, y: sp.Expr) -> sp.Expr:
        return sum(x.xreplace(c) * y.xreplace(c) for c in coordinates) / size

    def evaluate(e: sp.Expr) -> sp.Expr:
        if isinstance(e, S.MeanDot):
            return mean(*e.args)
        if isinstance(e, S.RMS2):
            return mean(e.args[0], e.args[0])
        return sp.sqrt(mean(e.args[0], e.args[0]))

    return expr.replace(lambda e: isinstance(e, S.RMS2 | S.RMS | S.MeanDot), evaluate)


@dataclass(frozen=True)
class CoordinateIdentity:
    """``lhs == rhs`` for squared RMS and mean products, on explicit coordinates (d = 1..3).

    ``given`` is applied first (e.g. a vector replaced by the linear combination an earlier step
    states it is); a non-empty ``given`` that changes neither side fails (the left side is not
    the vector it describes). Each vector (an ``Indexed``) then gets ``d`` symbolic coordinates,
    and every ``RMS2(x)``, ``RMS(x)``, ``MeanDot(x, y)`` becomes the mean over the coordinates.
    Orthogonality assumptions are realised exactly, so a right side that drops a mean product
    is exact on these coordinates and nowhere else: with ``disjoint`` each vector lives on its
    own block of ``d`` coordinates (all distinct vectors orthogonal); each pair ``(a, b)`` in
    ``orthogonal`` has ``a`` zero on the even coordinates and ``b`` zero on the odd ones.
    """

    lhs: sp.Expr
    rhs: sp.Expr
    given: Mapping = field(default_factory=dict)
    dimensions: Sequence[int] = (1, 2, 3)
    disjoint: bool = False
    orthogonal: tuple = ()
    method: str = "explicit coordinates"

    def _coordinate(self, vector: sp.Expr, n: int, k: int, d: int) -> sp.Expr:
        zero = (
            (self.disjoint and k // d != n)
            or (k % 2 == 0 and any(vector == a for a, _ in self.orthogonal))
            or (k % 2 == 1 and any(vector == b for _, b in self.orthogonal))
        )
        return sp.Integer(0) if zero else sp.Symbol(f"c{n}_{k}")

    def run(self) -> CheckResult:
        lhs = sp.sympify(self.lhs).xreplace(dict(self.given))
        rhs = sp.sympify(self.rhs).xreplace(dict(self.given))
        if self.given and lhs == self.lhs and rhs == self.rhs:
            return CheckResult(self.method, False, "the given applies to neither side")
        vectors = sorted((lhs - rhs).atoms(sp.Indexed), key=sp.default_sort_key)
        for d in self.dimensions:
            size = d * len(vectors) if self.disjoint else d
            coordinates = [
                {a: self._coordinate(a, n, k, d) for n, a in enumerate(vectors)}
                for k in range(size)
            ]
            left = _in_coordinates(lhs, coordinates, size)
            right = _in_coordinates(rhs, coordinates, size)
            if not is_zero(left - right):
                return CheckResult(self.method, False, f"the two sides differ for d = {d}")
        where = " (each vector on its own coordinates)" if self.disjoint else ""
        if self.orthogonal:
            where += " (with " + ", ".join(f"{a} ⟂ {b}" for a, b in self.orthogonal) + ")"
        return CheckResult(
            self.method,
            True,
            f"exact for d = {min(self.dimensions)}..{max(self.dimensions)}{where}",
        )


@dataclass(frozen=True)
class CoordinateAverage:
    """The per-coordinate result averaged over explicit coordinates, for d = 1..3.

    ``per_coordinate`` is an earlier statement ``E[x^2] ≈ N/D`` in ``mu``, ``sigma``. The
    left side must be ``RMS2(x)`` (or ``RMS(x)``, then the right side is squared and must be
    positive). Its mean-field value is ``sum_k N_k / sum_k D_k`` over coordinates with their
    own ``mu_k``, ``sigma_k``; the right side, with ``SNR = sum mu_k^2 / sum sigma_k^2``, must
    equal it exactly. ``given`` fixes symbols (``{mu: 0}``) in both.
    """

    lhs: sp.Expr
    rhs: sp.Expr
    per_coordinate: tuple
    given: Mapping = field(default_factory=dict)
    dimensions: Sequence[int] = (1, 2, 3)
    method: str = "coordinate average on explicit coordinates"

    def run(self) -> CheckResult:
        statement_lhs, statement_rhs = self.per_coordinate
        if not (isinstance(statement_lhs, S.Expect) and statement_lhs.args[0].is_Pow):
            return CheckResult(self.method, False, "the per-coordinate statement is not E[x^2]")
        vector = statement_lhs.args[0].base
        rhs = self.rhs
        if self.lhs == S.RMS(vector):
            # Positive factors and principal square roots: the right side is the positive root.
            roots = (sp.S.Half, -sp.S.Half)
            if not all(
                f.is_positive or (f.is_Pow and f.exp in roots) for f in sp.Mul.make_args(rhs)
            ):
                return CheckResult(self.method, False, "the right side is not a positive root")
            rhs = rhs**2
        elif self.lhs != S.RMS2(vector):
            return CheckResult(self.method, False, f"the left side is not the RMS of {vector}")
        extra = rhs.free_symbols - statement_rhs.free_symbols - {S.snr}
        if extra:
            # The coordinates enter only through SNR: anything else is not an average of them.
            names = ", ".join(sorted(map(str, extra)))
            return CheckResult(self.method, False, f"the right side depends on {names}")
        numerator, denominator = sp.fraction(sp.together(statement_rhs))
        for d in self.dimensions:
            coords = [
                {S.mu: sp.Symbol(f"mu_{k}", real=True), S.sigma: sp.Symbol(f"s_{k}", positive=True)}
                for k in range(d)
            ]
            coords = [{**c, **dict(self.given)} for c in coords]
            top = sum(numerator.xreplace(c) for c in coords)
            bottom = sum(denominator.xreplace(c) for c in coords)
            snr = sum(c[S.mu] ** 2 for c in coords) / sum(c[S.sigma] ** 2 for c in coords)
            claimed = rhs.xreplace(dict(self.given)).xreplace({S.snr: snr})
            if not is_zero(claimed - top / bottom):
                return CheckResult(self.method, False, f"not the coordinate average for d = {d}")
        dims = f"{min(self.dimensions)}..{max(self.dimensions)}"
        return CheckResult(self.method, True, f"sum N_k / sum D_k exactly, d = {dims}")


# --- limits and small parameters ------------------------------------------------------------------


def _numeric(expr: sp.Expr, point: Mapping, dps: int = 60) -> mpmath.mpf:
    with mpmath.workdps(dps):
        value = expr.xreplace({k: sp.Float(v, dps) for k, v in point.items()})
        return mpmath.mpf(str(sp.N(value, dps)))


def _numeric_series(expr: sp.Expr, point: Mapping, dps: int = 30) -> mpmath.mpf:
    """``expr`` at ``point``, all in mpmath: infinite sums by ``nsum``, integrals by ``quad``.

    Nothing is evaluated symbolically (SymPy's ``doit`` would try to integrate in closed form).
    """
    value = expr.xreplace(dict(point))  # exact points stay exact until mpmath
    with mpmath.workdps(dps):
        series_values = {}
        for series in value.atoms(sp.Sum):
            (index, lower, upper), *rest = series.limits
            if rest or not lower.is_number or not (upper.is_number or upper == sp.oo):
                continue
            term = sp.lambdify(index, series.function, "mpmath")
            if upper == sp.oo:
                # Terms of these series fall off geometrically: plain partial sums converge.
                total = mpmath.nsum(term, [int(lower), mpmath.inf], method="direct")
            else:
                total = mpmath.fsum(term(n) for n in range(int(lower), int(upper) + 1))
            series_values[sp.Dummy("series")] = (series, total)
        value = value.xreplace({series: d for d, (series, _) in series_values.items()})
        evaluate = sp.lambdify(tuple(series_values), value, "mpmath")
        return mpmath.mpf(evaluate(*(number for _, number in series_values.values())))


@dataclass(frozen=True)
class LimitRatio:
    """``exact/approx -> 1`` under the named limits (SymPy ``limit``), cross-checked with mpmath.

    ``limits`` are applied in order; ``freeze`` names powers held fixed (``beta3**t -> x``). The
    numeric cross-check moves every limit variable towards its limit at 60 digits, the earlier
    limits faster, and requires the ratio's distance from 1 to shrink below ``1e-6``.
    """

    exact: sp.Expr
    approx: sp.Expr
    limits: tuple[tuple[sp.Symbol, sp.Expr, str], ...]
    key: str
    freeze: Mapping = field(default_factory=dict)
    given: Mapping = field(default_factory=dict)
    method: str = "limit of ratio = 1"

    def _ratio(self) -> sp.Expr:
        ratio = (self.exact / self.approx).xreplace(dict(self.given))
        return freeze_powers(ratio, self.freeze)

    def run(self) -> CheckResult:
        ratio = self._ratio()
        value = ratio
        for variable, point, direction in self.limits:
            value = limit(value, variable, point, direction)
        symbolic_ok = value == 1 or is_zero(value - 1)
        names = ", ".join(f"{v} -> {p}{d if p != sp.oo else ''}" for v, p, d in self.limits)
        if not symbolic_ok:
            return CheckResult(self.method, False, f"limit ({names}) of exact/approx = {value}")
        distances = self._numeric_distances(ratio)
        numeric_ok = distances[-1] < 1e-6 and all(
            b <= a * 1.001 for a, b in itertools.pairwise(distances)
        )
        shown = ", ".join(mpmath.nstr(d, 2) for d in distances)
        detail = f"limit ({names}) = 1; mpmath |ratio - 1| = {shown}"
        return CheckResult(self.method + " (+mpmath)", numeric_ok, detail)

    def _numeric_distances(self, ratio: sp.Expr) -> list:
        limit_vars = {v for v, _, _ in self.limits}
        rng = _rng(self.key)
        fixed = {k: v for k, v in sample_point(ratio, rng).items() if k not in limit_vars}
        distances = []
        count = len(self.limits)
        for delta in (sp.Rational(1, 10**6), sp.Rational(1, 10**12)):
            point = dict(fixed)
            for order, (variable, target, direction) in enumerate(self.limits):
                step = delta ** (count - order)
                if target == sp.oo:
                    point[variable] = 1 / step
                else:
                    point[variable] = target - step if direction == "-" else target + step
            distances.append(abs(_numeric(ratio, point) - 1))
        return distances


@dataclass(frozen=True)
class LimitValue:
    """``limit(expr) == value`` (SymPy), cross-checked by mpmath near the limit."""

    expr: sp.Expr
    value: sp.Expr
    variable: sp.Symbol
    point: sp.Expr
    key: str
    direction: str = "+"
    freeze: Mapping = field(default_factory=dict)
    method: str = "limit value"

    def run(self) -> CheckResult:
        expr = freeze_powers(self.expr, self.freeze)
        found = limit(expr, self.variable, self.point, self.direction)
        if not is_zero(found - self.value):
            return CheckResult(self.method, False, f"limit is {found}, not {self.value}")
        rng = _rng(self.key)
        fixed = {
            k: v for k, v in sample_point(expr - self.value, rng).items() if k != self.variable
        }
        distances = []
        for delta in (sp.Rational(1, 10**5), sp.Rational(1, 10**10)):
            if self.point == sp.oo:
                at = 1 / delta
            else:
                at = self.point + (delta if self.direction == "+" else -delta)
            point = {**fixed, self.variable: at}
            target = _numeric(self.value, point)
            distances.append(abs(_numeric(expr, point) - target) / max(abs(target), 1e-300))
        ok = distances[-1] < 1e-6 and distances[-1] <= distances[0]
        shown = ", ".join(mpmath.nstr(d, 2) for d in distances)
        return CheckResult(
            self.method + " (+mpmath)", ok, f"limit = {self.value}; mpmath rel. distance {shown}"
        )


@dataclass(frozen=True)
class SequenceLimit:
    """``expr`` at ``index = n`` tends to ``value``: distances shrink and end below ``tolerance``.

    Evaluated with mpmath at a fixed exact ``point`` (infinite sums by ``mpmath.nsum``).
    """

    expr: sp.Expr
    value: sp.Expr
    index: sp.Symbol
    point: Mapping
    values: tuple[int, ...] = (10, 20, 40)
    tolerance: float = 1e-10
    dps: int = 30
    method: str = "limit of the sequence (mpmath)"

    def run(self) -> CheckResult:
        target = _numeric_series(self.value, self.point, self.dps)
        distances = [
            abs(
                _numeric_series(self.expr, {**self.point, self.index: sp.Integer(n)}, self.dps)
                - target
            )
            / max(abs(target), mpmath.mpf(10) ** -30)
            for n in self.values
        ]
        ok = distances[-1] < self.tolerance and all(b < a for a, b in itertools.pairwise(distances))
        shown = ", ".join(mpmath.nstr(d, 2) for d in distances)
        where = ", ".join(str(n) for n in self.values)
        return CheckResult(self.method, ok, f"relative distance {shown} at {self.index} = {where}")


_MILLI, _MICRO, _HALF = sp.Rational(1, 10**3), sp.Rational(1, 10**6), sp.Rational(1, 2)


# The small parameter of an approximation, as a placeholder inside ``SmallParameter.regime``.
EPSILON = sp.Symbol("__epsilon__", positive=True)


@dataclass(frozen=True)
class SmallParameter:
    """The approximation's relative error is bounded by its named small parameter, and only there.

    ``small`` is the parameter ε that bounds what the approximation drops, written in the
    model's symbols. ``regime`` says how to reach a given ε: it maps some symbols to
    expressions in :data:`EPSILON` and the others (which are drawn at random in their valid
    domain, except those ``given`` fixes to numbers; a left side gets its meaning from
    :class:`Given`, not here). At ε = ``inside`` values the check requires

    .. math:: \\left|\\frac{\\text{exact}}{\\text{approx}} - 1\\right| \\le K\\,\\varepsilon,

    (``K = bound``), and ``small`` evaluated at the point must equal ε (so the regime really is
    the named one). At ε = ``outside`` it requires the relative error to exceed ``visible``: the
    approximation fails outside its regime, so ε is the parameter that matters. Evaluated with
    mpmath at 50 digits (finite and infinite sums by direct summation).
    """

    exact: sp.Expr
    approx: sp.Expr
    small: sp.Expr
    regime: Mapping
    key: str
    bound: float = 1.0
    inside: tuple = (_MILLI, _MICRO)
    outside: sp.Expr = _HALF
    visible: float = 0.01
    given: Mapping = field(default_factory=dict)
    samples: int = 3
    method: str = "error bounded by its small parameter (mpmath)"

    def _point(self, rng: random.Random, epsilon: sp.Expr) -> dict:
        # A tuple, not a sum: terms common to both sides must not cancel out of the sample.
        given = {k: sp.sympify(v) for k, v in self.given.items()}
        probe = sp.Tuple(
            self.exact, self.approx, self.small, *self.regime.values(), *given.values()
        )
        point = sample_point(probe.xreplace({EPSILON: 1}), rng, None)
        point = {k: v for k, v in point.items() if k not in self.regime}
        point.update(given)
        for symbol, value in self.regime.items():
            point[symbol] = sp.sympify(value).xreplace({EPSILON: epsilon}).xreplace(point)
        # Irrational coordinates (t = log 2 / log(1/beta3)) as 60-digit Floats: the sides then
        # evaluate as numbers instead of being printed and sorted symbolically by lambdify.
        return {
            k: sp.Float(v.evalf(60), 60) if v.is_number and not v.is_Rational else v
            for k, v in point.items()
        }

    def run(self) -> CheckResult:
        if not all(sp.sympify(v).is_number for v in self.given.values()):
            detail = "given fixes parameters to numbers; a meaning goes in Given"
            return CheckResult(self.method, False, detail)
        rng = _rng(self.key)
        worst_inside, least_outside = mpmath.mpf(0), mpmath.inf
        for _ in range(self.samples):
            seed = rng.random()
            for epsilon in (*self.inside, self.outside):
                point = self._point(random.Random(seed), sp.sympify(epsilon))
                named = _numeric_series(self.small, point, 50)
                if abs(named - mpmath.mpf(_numeric_series(sp.sympify(epsilon), {}, 50))) > (
                    mpmath.mpf(10) ** -30 + 1e-9 * abs(named)
                ):
                    return CheckResult(
                        self.method, False, f"the regime does not set the parameter to {epsilon}"
                    )
                exact = _numeric_series(self.exact, point, 50)
                approx = _numeric_series(self.approx, point, 50)
                if approx == 0:
                    return CheckResult(self.method, False, "the approximation is 0 at a point")
                error = abs(exact / approx - 1)
                if epsilon in self.inside:
                    worst_inside = _worse(worst_inside, error / named)
                else:
                    least_outside = min(least_outside, error)
        inside_ok = worst_inside <= self.bound
        outside_ok = least_outside >= self.visible
        detail = (
            f"|exact/approx - 1| <= {mpmath.nstr(worst_inside, 3)}·ε for ε = "
            f"{', '.join(str(e) for e in self.inside)} (bound {self.bound:g}); at ε = "
            f"{self.outside} the error is {mpmath.nstr(least_outside, 3)}"
        )
        if not inside_ok:
            detail = "too large inside the regime: " + detail
        elif not outside_ok:
            detail = f"not visible outside the regime (< {self.visible:g}): " + detail
        return CheckResult(self.method, inside_ok and outside_ok, detail)


# --- numerics -------------------------------------------------------------------------------------


def _one_sided(expr: sp.Expr) -> sp.Expr:
    # sum_{h=-oo}^{oo} f(h) = f(0) + sum_{h>=1} (f(h) + f(-h)), for the absolutely convergent
    # series of the derivations: mpmath then sums from a finite lower limit.
    def rewrite(s: sp.Sum) -> sp.Expr:
        (index, lower, upper), *rest = s.limits
        if rest or lower != -sp.oo or upper != sp.oo:
            return s
        f = s.function
        return f.subs(index, 0) + sp.Sum(f + f.subs(index, -index), (index, 1, sp.oo))

    return expr.replace(lambda e: isinstance(e, sp.Sum), rewrite)


@dataclass(frozen=True)
class NumericEqual:
    """``lhs == rhs`` in mpmath (``given`` applied first), to ``tolerance``, at several points.

    ``points`` is a count of random exact points (drawn from ``key``) or a tuple of exact
    points. Finite and infinite sums are summed numerically (a two-sided one as ``f(0) +
    sum_{h>=1}(f(h) + f(-h))``), integrals by quadrature: an independent numerical route for an
    identity whose closed form was found symbolically. A side with an opaque quantity left in
    it is not a number, and fails.
    """

    lhs: sp.Expr
    rhs: sp.Expr
    key: str = ""
    given: Mapping = field(default_factory=dict)
    points: int | tuple[Mapping, ...] = 3
    tolerance: float = 1e-20
    dps: int = 30
    method: str = "mpmath at random points"

    def run(self) -> CheckResult:
        lhs = _one_sided(sp.sympify(self.lhs).xreplace(dict(self.given)))
        rhs = _one_sided(sp.sympify(self.rhs).xreplace(dict(self.given)))
        if isinstance(self.points, int):
            rng = _rng(self.key)
            points = [sample_point(sp.Tuple(lhs, rhs), rng) for _ in range(self.points)]
            where = f"{self.points} random points"
        else:
            points, where = list(self.points), f"{len(self.points)} exact points"
        worst = mpmath.mpf(0)
        for point in points:
            left = _numeric_series(lhs, point, self.dps)
            right = _numeric_series(rhs, point, self.dps)
            worst = _worse(worst, abs(left - right) / max(1, abs(right)))
        # The detail names the tolerance, not the residual: the document does not change with
        # the last digits of a numerical sum.
        if worst < self.tolerance:
            return CheckResult(self.method, True, f"equal to {self.tolerance:g} at {where}")
        return CheckResult(self.method, False, f"relative difference {mpmath.nstr(worst, 2)}")


@dataclass(frozen=True)
class RoundsTo:
    """Both sides evaluate (mpmath) to the printed decimal ``value`` (``digits`` significant).

    ``given`` gives the left side its value from an earlier statement.
    """

    lhs: sp.Expr
    rhs: sp.Expr
    value: str
    digits: int
    given: Mapping = field(default_factory=dict)
    method: str = "mpmath value"

    def run(self) -> CheckResult:
        left = self.lhs.xreplace(dict(self.given))
        for name, side in (("left", left), ("right", self.rhs)):
            if side.free_symbols or side.atoms(S.Expect, S.Variance, S.RMS, S.RMS2):
                return CheckResult(self.method, False, f"the {name} side has no numeric value")
        shown = [mpmath.nstr(_numeric(side, {}), self.digits) for side in (left, self.rhs)]
        ok = shown == [self.value, self.value]
        return CheckResult(self.method, ok, f"{' and '.join(shown)} ≈ {self.value}")


def _worse(worst: Any, error: Any) -> Any:
    """``max(worst, error)``, but a NaN error is the worst of all (``max`` would drop it)."""
    if error != error:  # NaN, as float or mpf
        return mpmath.inf
    return max(worst, error)


def _agreement(method: str, worst: mpmath.mpf, points: int, tolerance: float) -> CheckResult:
    """The verdict of a numerical comparison: the worst relative difference against a tolerance."""
    detail = f"agrees at {points} points to {mpmath.nstr(worst, 2)} (tolerance {tolerance:g})"
    return CheckResult(method, worst < tolerance, detail)


@dataclass(frozen=True)
class Quadrature:
    """``expr`` equals an independent mpmath quadrature, ``reference(point)``, at each point.

    ``reference`` integrates a density directly (e.g. the bivariate normal over an orthant), so
    the check shares nothing with how the closed form was obtained.
    """

    expr: sp.Expr
    reference: Callable[[Mapping], mpmath.mpf]
    points: tuple[Mapping, ...]
    tolerance: float = 1e-12
    method: str = "mpmath quadrature"

    def run(self) -> CheckResult:
        worst = mpmath.mpf(0)
        for point in self.points:
            with mpmath.workdps(20):  # 20 digits resolve the 1e-12 tolerance with room
                expected = self.reference(point)
                got = _numeric_series(self.expr, point, 20)
                worst = _worse(worst, abs(got - expected) / max(1, abs(expected)))
        return _agreement(self.method, worst, len(self.points), self.tolerance)


def _normal_mass_above_zero(mean: mpmath.mpf) -> mpmath.mpf:
    """P(X > 0) for X ~ N(mean, 1), by quadrature of the density."""

    def density(value):
        return mpmath.exp(-((value - mean) ** 2) / 2) / mpmath.sqrt(2 * mpmath.pi)

    return mpmath.quad(density, [0, mean, mpmath.inf] if mean > 0 else [0, mpmath.inf])


def _positive_orthant(
    mean: mpmath.mpf, correlation: mpmath.mpf, mean_y: mpmath.mpf | None = None
) -> mpmath.mpf:
    """P(X > 0, Y > 0) for unit-variance normals with means ``mean`` (Y: ``mean_y``, default the
    same) and correlation.

    By quadrature over X of the normal density times the conditional probability that Y > 0
    (given X = x, Y is normal with mean ``a_Y + r (x - a)`` and variance ``1 - r^2``).
    """
    spread = mpmath.sqrt(1 - correlation**2)
    mean_y = mean if mean_y is None else mean_y

    def integrand(value):
        density = mpmath.exp(-((value - mean) ** 2) / 2) / mpmath.sqrt(2 * mpmath.pi)
        return density * mpmath.ncdf((mean_y + correlation * (value - mean)) / spread)

    return mpmath.quad(integrand, [0, mean, mpmath.inf] if mean > 0 else [0, mpmath.inf])


@dataclass(frozen=True)
class SignQuadrature:
    """A statement about ``sign(X)``, ``sign(Y)`` checked by quadrature of the normal density.

    ``X``, ``Y`` (``S.pair_x``, ``S.pair_y``) are jointly normal with means ``a`` (``S.shift``),
    unit variances and correlation ``r``; with ``shift_y`` set (``S.shift_y``), Y's mean is that
    symbol's value instead of ``a``. Each side is read as a polynomial in the two signs
    under ``Expect``, ``Covariance`` (``E[AB] - E[A]E[B]``) and ``Variance``; an expectation is the
    sum over the four quadrants of its value there times the quadrant's probability, an
    mpmath quadrature of the density. Nothing is shared with a closed form.
    """

    lhs: sp.Expr
    rhs: sp.Expr
    points: tuple[Mapping, ...]
    tolerance: float = 1e-12
    method: str = "mpmath quadrature of the bivariate normal"
    shift_y: sp.Symbol | None = None

    def _value(self, expr: sp.Expr, point: Mapping) -> mpmath.mpf:
        mean, correlation = (mpmath.mpf(sp.Rational(point[s])) for s in (S.shift, S.corr))
        mean_y = mean if self.shift_y is None else mpmath.mpf(sp.Rational(point[self.shift_y]))
        found: dict = {}

        def quadrants() -> dict:
            # The four quadrants from P(X>0), P(Y>0) and P(X>0, Y>0).
            if not found:
                above = _normal_mass_above_zero(mean)
                above_y = _normal_mass_above_zero(mean_y)
                both = _positive_orthant(mean, correlation, mean_y)
                found.update(
                    {(1, 1): both, (1, -1): above - both, (-1, 1): above_y - both,
                     (-1, -1): 1 - above - above_y + both}
                )  # fmt: skip
            return found

        def expect(argument: sp.Expr) -> sp.Expr:
            total = mpmath.mpf(0)
            if argument.has(sp.sign(S.pair_y)):
                weights = quadrants()
            else:  # sign(X) alone: its marginal is enough
                above = _normal_mass_above_zero(mean)
                weights = {(1, 1): above, (-1, 1): 1 - above}
            for (p, q), probability in weights.items():
                signs = {sp.sign(S.pair_x): sp.Integer(p), sp.sign(S.pair_y): sp.Integer(q)}
                value = sp.sympify(argument.xreplace(signs)).xreplace(dict(point))
                if value.free_symbols:
                    raise ValueError(f"not a function of the signs: {argument}")
                total += mpmath.mpf(sp.Float(value, 30)) * probability
            return sp.Float(str(total), 30)

        def covariance(first: sp.Expr, second: sp.Expr) -> sp.Expr:
            return expect(first * second) - expect(first) * expect(second)

        reduced = expr.replace(
            lambda e: isinstance(e, S.Covariance), lambda e: covariance(*e.args)
        ).replace(lambda e: isinstance(e, S.Variance), lambda e: covariance(e.args[0], e.args[0]))
        reduced = reduced.replace(lambda e: isinstance(e, S.Expect), lambda e: expect(e.args[0]))
        return _numeric_series(reduced, point, 20)

    def run(self) -> CheckResult:
        worst = mpmath.mpf(0)
        with mpmath.workdps(20):
            for point in self.points:
                left, right = self._value(self.lhs, point), self._value(self.rhs, point)
                worst = _worse(worst, abs(left - right) / max(1, abs(right)))
        return _agreement(self.method, worst, len(self.points), self.tolerance)


# --- claims and restatements ----------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimCheck:
    """The derived right side equals the formula the source prints (typed once, separately)."""

    derived: sp.Expr
    printed: sp.Expr
    key: str
    given: Mapping = field(default_factory=dict)
    derived_lhs: sp.Expr | None = None
    printed_lhs: sp.Expr | None = None
    method: str = "matches source"

    def run(self) -> CheckResult:
        if self.printed_lhs is not None and self.printed_lhs != self.derived_lhs:
            return CheckResult(
                self.method,
                False,
                f"left side: the source prints {self.printed_lhs}, the derivation has "
                f"{self.derived_lhs}",
            )
        exact = RewriteToZero(self.derived, self.printed, self.given).run()
        spot = SpotCheck(self.derived, self.printed, self.key, given=self.given).run()
        ok = exact.passed and spot.passed
        return CheckResult(self.method, ok, "identical" if ok else f"{exact.detail}; {spot.detail}")


@dataclass(frozen=True)
class Restated:
    """The statement repeats an earlier, verified step word for word (both sides).

    ``earlier`` is that step; its own checks must pass. A later step that quotes an earlier
    result takes it from there, so the two cannot drift apart.
    """

    lhs: sp.Expr
    rhs: sp.Expr
    earlier: object
    method: str = "restates a verified step"

    def run(self) -> CheckResult:
        name = getattr(self.earlier, "qualified_id", "the earlier step")
        if self.lhs != self.earlier.lhs or self.rhs != self.earlier.rhs:
            return CheckResult(self.method, False, f"the statement differs from {name}")
        if not self.earlier.verify().passed:
            return CheckResult(self.method, False, f"{name} does not verify")
        return CheckResult(self.method, True, f"the statement of {name}, which verifies")


# --- beyond the mean field: exact moments at two steps, exact stationary references ---------


def _two_step_expectation(argument: sp.Expr, gradients: Sequence[sp.Expr]) -> sp.Expr:
    return gaussian_expectation(argument, gradients, S.mu, S.sigma)


@dataclass(frozen=True)
class GaussianMomentsAtLags:
    """Exact Gaussian moments of quantities at two steps ``t`` and ``t + k``, by expansion.

    For ``t = 1..3`` and ``k = 0..2`` the sequences (each mapped to its defining recursion, from
    0) are iterated up to step ``t + k``; ``definitions`` (keyed by a base such as
    :data:`~adamw_rms.symbols.m_hat`, valued by its expression at step ``t``) are applied at each
    step index; every :class:`~adamw_rms.symbols.Expect`, ``Variance``, ``Covariance`` and
    :class:`~adamw_rms.symbols.JointCumulant` is expanded into raw Gaussian moments of the iid
    gradients (``Cov[X, Y] = E[XY] - E[X]E[Y]``; the third cumulant is the centred third
    moment). The right side at the same ``t, k`` must be equal, exactly.
    """

    lhs: sp.Expr
    rhs: sp.Expr
    sequences: Mapping
    definitions: Mapping = field(default_factory=dict)
    steps: Sequence[int] = (1, 2, 3)
    lags: Sequence[int] = (0, 1, 2)
    at: Mapping = field(default_factory=dict)
    method: str = "exact Gaussian moments at two steps"

    def _value(self, n: int, lag: int) -> sp.Expr:
        last = n + lag
        gradients = [S.g[q] for q in range(1, last + 1)]
        side = self.lhs.subs({S.t: n, S.k: lag})

        def defined(indexed: sp.Indexed) -> sp.Expr:
            return self.definitions[indexed.base].subs(S.t, indexed.indices[0])

        side = side.replace(
            lambda e: isinstance(e, sp.Indexed) and e.base in self.definitions, defined
        )
        states = {}
        for sequence, recursion in self.sequences.items():
            for q in range(0, last + 1):
                states[sequence.subs(S.t, q)] = _iterate(recursion, sequence, S.t, sp.S.Zero, q)

        def expect(argument: sp.Expr) -> sp.Expr:
            argument = argument.xreplace(states).xreplace(dict(self.at))
            return _two_step_expectation(argument, gradients)

        def covariance(x: sp.Expr, y: sp.Expr) -> sp.Expr:
            return expect(x * y) - expect(x) * expect(y)

        def cumulant(x: sp.Expr, y: sp.Expr, z: sp.Expr) -> sp.Expr:
            ex, ey, ez = expect(x), expect(y), expect(z)
            return (
                expect(x * y * z)
                - ex * expect(y * z)
                - ey * expect(x * z)
                - ez * expect(x * y)
                + 2 * ex * ey * ez
            )

        side = side.replace(lambda e: isinstance(e, S.JointCumulant), lambda e: cumulant(*e.args))
        side = side.replace(lambda e: isinstance(e, S.Covariance), lambda e: covariance(*e.args))
        side = side.replace(
            lambda e: isinstance(e, S.Variance), lambda e: covariance(e.args[0], e.args[0])
        )
        return side.replace(lambda e: isinstance(e, S.Expect), lambda e: expect(e.args[0]))

    def run(self) -> CheckResult:
        for n in self.steps:
            for lag in self.lags:
                left = self._value(n, lag).xreplace(dict(self.at))
                if left.atoms(S.Expect, S.Variance, S.Covariance, S.JointCumulant):
                    return CheckResult(self.method, False, "the left side is not a moment")
                right = self.rhs.subs({S.t: n, S.k: lag}).xreplace(dict(self.at))
                if not is_zero(sp.expand(left - right)):
                    return CheckResult(self.method, False, f"sides differ at t = {n}, k = {lag}")
        return CheckResult(
            self.method,
            True,
            f"equal for t = {min(self.steps)}..{max(self.steps)}, "
            f"k = {min(self.lags)}..{max(self.lags)}",
        )


@dataclass(frozen=True)
class TaylorByDerivatives:
    """``approx`` is the Taylor polynomial of ``exact`` in ``variable`` at 0 to ``order``.

    Its coefficients are recomputed as derivatives, :math:`f^{(n)}(0)/n!` (SymPy ``diff``,
    not a series expansion), and compared exactly; the approximation then drops
    :math:`O(\\text{variable}^{\\text{order}+1})`.
    """

    exact: sp.Expr
    approx: sp.Expr
    variable: sp.Symbol
    order: int
    method: str = "Taylor coefficients by differentiation"

    def run(self) -> CheckResult:
        polynomial = sum(
            sp.diff(self.exact, self.variable, n).subs(self.variable, 0)
            * self.variable**n
            / sp.factorial(n)
            for n in range(self.order + 1)
        )
        ok = is_zero(sp.expand(self.approx - polynomial))
        return CheckResult(
            self.method, ok, f"coefficients of the powers 0..{self.order} agree" if ok else "differ"
        )


def _gauss_legendre_half_line(nodes: int):
    """Nodes and weights for integrals over [0, oo) (p = r/(1 - r) on Gauss-Legendre in r)."""
    import numpy as np

    r, w = np.polynomial.legendre.leggauss(nodes)
    r, w = (r + 1) / 2, w / 2
    return r / (1 - r), w / (1 - r) ** 2


def stationary_update_moments(
    beta1: float,
    beta2: float,
    mu: float,
    lag: int,
    nodes: int = 400,
    steps: int | None = None,
    bias: bool = True,
) -> tuple[float, float]:
    """``(E[u], E[u_t u_{t+lag}])`` of ``u = m/sqrt(v)`` at stationarity, exactly (eps = 0).

    With ``steps`` (and ``lag = 0``) the same at step ``t = steps`` of a run from
    :math:`m_0 = v_0 = 0`, bias-corrected (``u = \\hat m/\\sqrt{\\hat v}``) if ``bias``.

    An independent route to the moments of the update, sharing nothing with the expansion: with
    :math:`v^{-1/2} = \\pi^{-1/2}\\int_0^\\infty x^{-1/2}e^{-xv}\\,dx` the expectation becomes
    an integral over Gaussian expectations tilted by :math:`e^{-x w_j g_j^2}`, which are
    closed-form per gradient: with :math:`c_j` the tilt of :math:`g_j`, it is
    :math:`N(\\mu/(1+2c_j), 1/(1+2c_j))` up to the factor
    :math:`(1+2c_j)^{-1/2}e^{-c_j\\mu^2/(1+2c_j)}`. Gradients have :math:`\\sigma = 1`; the
    past is cut where :math:`\\beta^j < 10^{-18}`; Gauss-Legendre over ``x = p^2`` (1-d for the
    mean, 2-d for a product at two steps; the lag-0 product is the 1-d
    :math:`\\int_0^\\infty E[m^2 e^{-xv}]dx`).
    """
    import math

    import numpy as np

    if steps is not None and lag:
        raise ValueError("a finite step is supported at lag 0 only")
    depth = lag + math.ceil(math.log(1e-18) / math.log(max(beta1, beta2, 1e-3)))
    if steps is not None:
        depth = steps  # the gradients g_1..g_t, the latest first
    j = np.arange(depth)
    later_m = (1 - beta1) * beta1**j
    later_v = (1 - beta2) * beta2**j
    shift = np.clip(j - lag, 0, None)
    earlier_m = np.where(j >= lag, (1 - beta1) * beta1**shift, 0.0)
    earlier_v = np.where(j >= lag, (1 - beta2) * beta2**shift, 0.0)
    p, w = _gauss_legendre_half_line(nodes)

    def tilted(tilt):  # tilt: (..., depth)
        scale = 1 + 2 * tilt
        log_mass = (-0.5 * np.log(scale) - tilt * mu**2 / scale).sum(-1)
        return np.exp(log_mass), mu / scale, 1 / scale

    # E[u] = (2/sqrt(pi)) int_0^oo E[m e^{-p^2 v}] dp
    mass, means, _ = tilted(p[:, None] ** 2 * later_v)
    mean = 2 / math.sqrt(math.pi) * float((w * mass * (means * later_m).sum(-1)).sum())
    if lag == 0:
        x, wx = _gauss_legendre_half_line(nodes)
        mass, means, variances = tilted(x[:, None] * later_v)
        inner = (means * later_m).sum(-1) ** 2 + (variances * later_m**2).sum(-1)
        second = float((wx * mass * inner).sum())
        if steps is not None and bias:  # u_hat = u * sqrt(1 - beta2^t) / (1 - beta1^t)
            scale = math.sqrt(1 - beta2**steps) / (1 - beta1**steps)
            mean, second = mean * scale, second * scale**2
        return mean, second
    total = 0.0
    for pi, wi in zip(p, w, strict=True):
        tilt = pi**2 * earlier_v + p[:, None] ** 2 * later_v
        mass, means, variances = tilted(tilt)
        inner = (means * earlier_m).sum(-1) * (means * later_m).sum(-1) + (
            variances * earlier_m * later_m
        ).sum(-1)
        total += wi * float((w * mass * inner).sum())
    return mean, 4 / math.pi * total


@dataclass(frozen=True)
class ApproximationOrder:
    """An approximation against an exact numerical reference: its error is O(small^power).

    At each point (exact numbers for every symbol of ``rhs``) ``reference(point)`` returns the
    exact value by an independent route (such as :func:`stationary_update_moments`) and the
    scale to measure the error in (the value itself, or the second moment a covariance is part
    of); ``|rhs - exact| / scale`` must be at most ``bound * small**power``. Points that walk
    ``small`` towards 0 show the order: a wrong term of lower order breaks the bound at the
    smallest ``small``. ``lhs`` must be ``quantity`` (the reference computes that quantity).
    """

    lhs: sp.Expr
    rhs: sp.Expr
    quantity: sp.Expr
    reference: Callable[[Mapping], tuple[float, float]]
    points: tuple[Mapping, ...]
    small: sp.Expr
    power: int
    bound: float
    method: str = "error against an exact quadrature, O(small parameter^n)"

    def run(self) -> CheckResult:
        if self.lhs != self.quantity:
            return CheckResult(self.method, False, "the left side is not the computed quantity")
        worst = 0.0
        for point in self.points:
            exact, scale = self.reference(point)
            approx = float(_numeric(self.rhs, point, 30))
            size = float(_numeric(self.small, point, 30)) ** self.power
            finite = all(math.isfinite(x) for x in (exact, scale, approx)) and scale > 0
            ratio = abs(approx - exact) / scale / size if finite else math.nan
            if not (finite and math.isfinite(ratio)):
                # max() would keep the previous worst over a NaN: a diverging reference or a
                # formula that evaluates to NaN must fail, not pass silently.
                return CheckResult(
                    self.method,
                    False,
                    f"not finite at {dict(point)}: exact {exact!r}, scale {scale!r}, "
                    f"approximation {approx!r}",
                )
            worst = max(worst, ratio)
        ok = worst <= self.bound
        detail = (
            f"|error|/scale <= {worst:.2g}·({sp.latex(self.small)})^{self.power} at "
            f"{len(self.points)} points (bound {self.bound:g})"
        )
        return CheckResult(self.method, ok, detail)
