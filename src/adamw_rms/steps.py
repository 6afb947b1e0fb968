"""Steps, derivations and their verification; the registry of derivations.

A :class:`Step` is a frozen record of one line of an argument: a statement ``lhs (= | ≈ | :=) rhs``,
its justification, the source's label, and the checks that prove it. A :class:`Derivation` is an
ordered, immutable tuple of steps with a report and document export (see :mod:`adamw_rms.latex`).
"""

from __future__ import annotations

import contextlib
import difflib
import enum
import importlib
import multiprocessing
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property

import sympy as sp

from .checks import LHS, RHS, CheckResult, ClaimCheck, Restated, bind, mentions
from .rules import prefer_one_minus

__all__ = [
    "DERIVATION_NAMES",
    "Assumption",
    "Claim",
    "Derivation",
    "Kind",
    "Source",
    "Step",
    "StepRecorder",
    "UnknownStepError",
    "Verification",
    "build_and_verify",
    "derivation",
    "find_step",
]

DERIVATION_NAMES: tuple[str, ...] = ("update_rms", "weight_rms", "sign_sgdm", "tuc", "schedules")


class Kind(enum.Enum):
    """What a step asserts: a definition, an exact identity or an approximation."""

    DEFINITION = ":="
    IDENTITY = "="
    APPROXIMATION = "≈"


@dataclass(frozen=True)
class Assumption:
    """A statistical assumption that algebra cannot prove; the simulation measures it."""

    key: str
    statement: str
    latex: str


@dataclass(frozen=True)
class Source:
    """A citable source: the reader is pointed to it from the document and the Markdown."""

    key: str
    author: str
    title: str
    title_en: str
    date: str
    url: str


@dataclass(frozen=True)
class Claim:
    """A formula exactly as the source prints it, typed once, to compare with the derivation.

    ``lhs`` is the printed left side, for the rare claim whose left side is itself in question
    (``None``: the step's own left side). ``erratum`` declares, with the evidence, that the
    source is wrong here: then the derived formula must *differ* from the printed one. Without
    it, any difference is an error of the derivation (``derive`` fails and writes nothing),
    never silently blamed on the source.
    """

    rhs: sp.Expr
    where: str
    given: tuple[tuple[sp.Expr, sp.Expr], ...] = ()
    lhs: sp.Expr | None = None
    erratum: str | None = None


@dataclass(frozen=True)
class Verification:
    """The outcome of verifying one step (all checks) and comparing it with the source."""

    step_id: str
    kind: Kind
    checks: tuple[CheckResult, ...]
    claim: CheckResult | None
    elapsed_ms: float
    declared_erratum: str | None = None

    @property
    def passed(self) -> bool:
        """Every check passes, and the comparison with the source is as declared."""
        return all(c.passed for c in self.checks) and self.claim_as_declared

    @property
    def claim_as_declared(self) -> bool:
        """The derived formula matches the printed one, or differs where an erratum is declared."""
        if self.claim is None:
            return True
        return self.claim.passed != (self.declared_erratum is not None)

    @property
    def claim_problem(self) -> str | None:
        """Why the comparison with the source fails, or ``None``."""
        if self.claim_as_declared:
            return None
        if self.declared_erratum is None:
            return f"differs from the formula the source prints ({self.claim.detail})"
        return "declared an erratum, but the derived formula equals the printed one"

    @property
    def erratum(self) -> bool:
        """True when the derived formula differs from the source, as declared."""
        return self.claim is not None and not self.claim.passed

    @property
    def method(self) -> str:
        if not self.checks:
            return "definition"
        return ", ".join(c.method for c in self.checks)


@dataclass(frozen=True)
class Step:
    """One line of a derivation.

    Parameters
    ----------
    id
        Short identifier, unique within the derivation (``"double_sum_m"``).
    title
        A few words for headings and tables.
    section
        The section of the source the step belongs to.
    lhs, rhs
        The two sides of the statement; ``rhs`` is computed from earlier steps, never retyped.
    kind
        :class:`Kind`: ``:=``, ``=`` or ``≈``.
    justification
        One or two sentences of prose; ``[[step_id]]`` refers to an earlier step.
    label
        The source's equation label (``"eq:theta-rms"``), if it has one.
    checks
        The proofs (:mod:`adamw_rms.checks`); all must pass. Empty only for definitions.
    uses
        Ids of the earlier steps whose results this step consumes.
    limit
        For approximations: the limit or small parameter that justifies it (LaTeX).
    assumptions
        Statistical assumptions the step relies on, for the simulation to measure.
    claim
        The source's printed formula for this step, compared with ``rhs``.
    """

    id: str
    title: str
    section: str
    lhs: sp.Expr
    rhs: sp.Expr
    kind: Kind
    justification: str
    label: str | None = None
    checks: tuple = ()
    uses: tuple[str, ...] = ()
    limit: str | None = None
    assumptions: tuple[Assumption, ...] = ()
    claim: Claim | None = None
    derivation: str = ""

    def __post_init__(self) -> None:
        if self.kind is not Kind.DEFINITION and not self.checks:
            raise ValueError(f"step {self.id!r} asserts {self.kind.value} but has no check")
        if self.kind is Kind.APPROXIMATION and not (self.limit or self.assumptions):
            raise ValueError(f"approximation {self.id!r} names neither a limit nor an assumption")

    @property
    def qualified_id(self) -> str:
        return f"{self.derivation}.{self.id}" if self.derivation else self.id

    def verify(self) -> Verification:
        """Run every check of the step and compare it with the source's printed claim."""
        start = time.perf_counter()
        results = tuple(_run_check(c, self.lhs, self.rhs) for c in self.checks)
        claim = None
        if self.claim is not None:
            claim = ClaimCheck(
                self.rhs,
                self.claim.rhs,
                self.qualified_id,
                given=dict(self.claim.given),
                derived_lhs=self.lhs,
                printed_lhs=self.claim.lhs,
            ).run()
        elapsed = (time.perf_counter() - start) * 1000
        declared = self.claim.erratum if self.claim is not None else None
        return Verification(self.id, self.kind, results, claim, elapsed, declared)

    def latex(self) -> str:
        """The statement as a LaTeX math body (no delimiters, no label)."""
        return self._latex

    @cached_property
    def _latex(self) -> str:
        # Printed once: the document, the Markdown and the fragment all reuse it.
        from .latex import statement

        return statement(self)

    def _repr_latex_(self) -> str:
        return f"$$\\displaystyle {self.latex()}$$"


class StepRecorder:
    """Collects a derivation's steps in order, as its sections state them.

    ``add(**fields)`` makes the :class:`Step` (same fields), with the derivation's name, the
    current :meth:`section`, the source's printed claim for that id (if any) and the right side
    in the source's sign convention (:func:`~adamw_rms.rules.prefer_one_minus`, which leaves the
    value unchanged). ``restate(step)`` repeats an earlier step (of this or another derivation)
    under this one's name. With ``strict`` (the default), every check of a step must be written
    with both placeholders :data:`~adamw_rms.checks.LHS` and :data:`~adamw_rms.checks.RHS`, so
    that both sides of every statement are verified.
    """

    def __init__(
        self, derivation: str, claims: Mapping[str, Claim] | None = None, *, strict: bool = True
    ) -> None:
        self.derivation = derivation
        self.claims = dict(claims or {})
        self.steps: list[Step] = []
        self.strict = strict
        self._section: str | None = None

    @contextlib.contextmanager
    def section(self, title: str) -> Iterator[StepRecorder]:
        """Steps added inside the ``with`` block belong to the section ``title``."""
        previous, self._section = self._section, title
        try:
            yield self
        finally:
            self._section = previous

    def add(self, **fields: object) -> Step:
        fields["rhs"] = prefer_one_minus(fields["rhs"])
        if "section" not in fields:
            if self._section is None:
                raise ValueError(f"step {fields.get('id')!r} added outside a section")
            fields["section"] = self._section
        step = Step(derivation=self.derivation, claim=self.claims.get(fields["id"]), **fields)
        if self.strict and step.kind is not Kind.DEFINITION:
            for check in step.checks:
                missing = [n for n, p in (("LHS", LHS), ("RHS", RHS)) if not mentions(check, p)]
                if missing:
                    raise ValueError(
                        f"step {step.qualified_id!r}: check {check.method!r} does not use "
                        f"{' and '.join(missing)}, so it cannot see that side of the statement"
                    )
        self.steps.append(step)
        return step

    def restate(self, earlier: Step, **fields: object) -> Step:
        """Repeat ``earlier`` here (its statement, kind and label unless overridden).

        Verified by :class:`~adamw_rms.checks.Restated`: the statement must be the earlier one,
        and the earlier step must verify.
        """
        where = earlier.qualified_id
        defaults = {
            "id": earlier.id,
            "title": earlier.title,
            "lhs": earlier.lhs,
            "rhs": earlier.rhs,
            "kind": earlier.kind,
            "label": earlier.label,
            "limit": earlier.limit,
            "assumptions": earlier.assumptions,
            "justification": f"As in [[{where}]].",
            "uses": (where,),
        }
        defaults.update(fields)
        if defaults["kind"] is not Kind.DEFINITION:
            defaults["checks"] = (Restated(LHS, RHS, earlier),)
        return self.add(**defaults)


_CHECK_RESULTS: dict[tuple[int, sp.Expr, sp.Expr], tuple[object, CheckResult]] = {}


def _run_check(check, lhs: sp.Expr, rhs: sp.Expr) -> CheckResult:
    # A step restated in a later derivation (eq:mv-roll) shares its check objects: run once.
    # The cache holds the check itself, so its id() cannot be reused by another object.
    key = (id(check), lhs, rhs)
    cached = _CHECK_RESULTS.get(key)
    if cached is None or cached[0] is not check:
        cached = _CHECK_RESULTS[key] = (check, _run_bound(bind(check, lhs, rhs)))
    return cached[1]


def _run_bound(check) -> CheckResult:
    # A statement a check cannot even evaluate (a wrong left side leaves a vector entry in an
    # mpmath expression) fails that check, naming it, instead of crashing the whole build.
    try:
        return check.run()
    except Exception as error:  # any error of a check is its failure
        return CheckResult(check.method, False, f"cannot be evaluated: {type(error).__name__}")


class UnknownStepError(KeyError):
    """A step id that is not in the derivation; carries the closest ids."""

    def __init__(self, step_id: str, suggestions: list[str]) -> None:
        self.step_id = step_id
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown step {step_id!r}{hint}")

    def __str__(self) -> str:
        return self.args[0]


@dataclass(frozen=True)
class Derivation:
    """An ordered, immutable sequence of verified steps, with its source and sections.

    ``scope`` holds sentences (LaTeX allowed) that say where the results hold, e.g. "no bias
    correction, epsilon = 0, iid gradients"; the documents print them next to the main result.
    """

    name: str
    title: str
    abstract: str
    source: Source
    sections: tuple[str, ...]
    steps: tuple[Step, ...]
    results: tuple[tuple[str, str], ...] = field(default=())
    scope: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate step ids in {self.name}")
        for position, step in enumerate(self.steps):
            earlier = set(ids[:position])
            missing = [u for u in step.uses if u not in earlier and "." not in u]
            if missing:
                raise ValueError(f"step {step.id!r} uses {missing}, not earlier steps")
            if step.section not in self.sections:
                raise ValueError(f"step {step.id!r} is in unknown section {step.section!r}")

    def step(self, step_id: str) -> Step:
        """The step with this id (``"double_sum_m"`` or ``"weight_rms.double_sum_m"``)."""
        local = step_id.removeprefix(f"{self.name}.")
        for step in self.steps:
            if step.id == local:
                return step
        raise UnknownStepError(step_id, difflib.get_close_matches(local, self.ids, n=3))

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.steps]

    def result(self, name: str) -> sp.Expr:
        """A final expression by name (``"weight_rms_sq"``), as its step states it."""
        for key, step_id in self.results:
            if key == name:
                return self.step(step_id).rhs
        raise KeyError(f"no result {name!r}; known: {[k for k, _ in self.results]}")

    def assumptions(self) -> dict[str, tuple[Assumption, tuple[str, ...]]]:
        """Each statistical assumption, with the ids of the steps that rely on it.

        These are what algebra cannot prove; the simulation measures them.
        """
        found: dict[str, tuple[Assumption, tuple[str, ...]]] = {}
        for step in self.steps:
            for assumption in step.assumptions:
                known, users = found.get(assumption.key, (assumption, ()))
                found[assumption.key] = (known, (*users, step.id))
        return found

    def verify(self) -> tuple[Verification, ...]:
        """Verify every step, in order (computed once per derivation object)."""
        return self._verification

    @cached_property
    def _verification(self) -> tuple[Verification, ...]:
        return tuple(step.verify() for step in self.steps)

    def latex(self) -> str:
        """The standalone LaTeX document."""
        from .latex import document

        return document(self)

    def markdown(self) -> str:
        """The derivation as Markdown with ``$$`` math (renders on GitHub)."""
        from .latex import markdown

        return markdown(self)

    def _repr_latex_(self) -> str:
        body = r" \\ ".join(
            f"&\\text{{({n})}}\\quad {s.latex()}" for n, s in enumerate(self.steps, 1)
        )
        return f"$$\\begin{{aligned}}{body}\\end{{aligned}}$$"


_PENDING: list[Step] = []


def _verify_pending(position: int) -> tuple[Verification, str]:
    step = _PENDING[position]
    return step.verify(), step.latex()


def build_and_verify(
    names: Sequence[str], jobs: int = 1, meanwhile: Callable[[], object] | None = None
) -> tuple[list[Derivation], object]:
    """Build the named derivations in order and verify every step, with ``jobs`` workers.

    Steps are independent once built, so they are spread over forked worker processes (fork
    shares the built objects, whose checks hold closures that cannot be pickled). Each
    derivation's steps start verifying as soon as it is built, while the next one is being
    built. The workers also print each statement's LaTeX. The results are stored on each
    derivation exactly as :meth:`Derivation.verify` would compute them, in step order.
    ``meanwhile`` (if given) runs in this process while the workers verify; its result is
    returned with the derivations.
    """
    global _PENDING
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        derivations = [derivation(name) for name in names]
        for d in derivations:
            d.verify()
        return derivations, meanwhile() if meanwhile else None
    context = multiprocessing.get_context("fork")
    derivations, running = [], []
    try:
        for name in names:
            d = derivation(name)
            derivations.append(d)
            if "_verification" in vars(d):
                continue
            _PENDING = list(d.steps)
            pool = context.Pool(jobs)
            running.append((d, pool, pool.map_async(_verify_pending, range(len(d.steps)), 1)))
        extra = meanwhile() if meanwhile else None
        for d, _, outcome in running:
            outcomes = outcome.get()
            for step, (_, latex) in zip(d.steps, outcomes, strict=True):
                vars(step)["_latex"] = latex
            vars(d)["_verification"] = tuple(verification for verification, _ in outcomes)
    finally:
        _PENDING = []
        for _, pool, _ in running:
            pool.close()
            pool.join()
    return derivations, extra


@cache
def derivation(name: str) -> Derivation:
    """Build (once) the named derivation: ``"update_rms"`` or ``"weight_rms"``.

    Examples
    --------
    >>> from adamw_rms import derivation
    >>> derivation("weight_rms").step("double_sum_m").label is None
    True
    """
    if name not in DERIVATION_NAMES:
        close = difflib.get_close_matches(name, DERIVATION_NAMES, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown derivation {name!r}{hint} (known: {', '.join(DERIVATION_NAMES)})")
    module = importlib.import_module(f"adamw_rms.derivations.{name}")
    return module.build()


def find_step(step_id: str) -> Step:
    """Find a step by ``name.step`` or by a bare id that is unique across derivations."""
    if "." in step_id:
        name, _, local = step_id.partition(".")
        if name in DERIVATION_NAMES:
            return derivation(name).step(local)
    matches = [d.step(step_id) for d in map(derivation, DERIVATION_NAMES) if step_id in d.ids]
    if len(matches) == 1:
        return matches[0]
    every = [f"{n}.{i}" for n in DERIVATION_NAMES for i in derivation(n).ids]
    if matches:
        raise UnknownStepError(step_id, [m.qualified_id for m in matches])
    local = step_id.rpartition(".")[2]
    suggestions = difflib.get_close_matches(step_id, every, n=3) or [
        f"{n}.{m}"
        for n in DERIVATION_NAMES
        for m in difflib.get_close_matches(local, derivation(n).ids, n=2)
    ]
    raise UnknownStepError(step_id, suggestions[:3])
