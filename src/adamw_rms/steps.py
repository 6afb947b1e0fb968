"""Steps, derivations and their verification; the registry of derivations.

A :class:`Step` is a frozen record of one line of an argument: a statement ``lhs (= | ≈ | :=) rhs``,
its justification, the source's label, and the checks that prove it. A :class:`Derivation` is an
ordered, immutable tuple of steps with a report and document export (see :mod:`adamw_rms.latex`).
"""

from __future__ import annotations

import contextlib
import difflib
import enum
import gc
import importlib
import multiprocessing
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property

import sympy as sp

from . import latex as documents
from .checks import LHS, RHS, CheckResult, ClaimCheck, Restated, bind, mentions
from .presentation import statement
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
    "run_check",
]

DERIVATION_NAMES: tuple[str, ...] = (
    "update_rms",
    "weight_rms",
    "sign_sgdm",
    "tuc",
    "schedules",
    "corrected",
    "sgd",
    "lion",
    "adam_l2",
)


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
        """The statement as a LaTeX math body (no delimiters, no label), in a paper's form.

        Printed by :func:`adamw_rms.presentation.statement`: every print-only rewrite is proved
        equal to ``lhs``/``rhs`` first, so the value printed is the value verified.
        """
        return self._latex

    @cached_property
    def _latex(self) -> str:
        # Printed once: the document, the Markdown and the fragment all reuse it.
        return statement(self.lhs, self.kind.value, self.rhs)

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
        cached = _CHECK_RESULTS[key] = (check, run_check(bind(check, lhs, rhs)))
    return cached[1]


def run_check(check) -> CheckResult:
    """Run a (bound) check as ``derive`` does: an error inside it is its failure, named.

    A statement a check cannot even evaluate (a wrong left side leaves a vector entry in an
    mpmath expression) fails that check instead of crashing the whole build; this is the one
    place that turns an error into a verdict.
    """
    try:
        return check.run()
    except Exception as error:  # any error of a check is its failure
        return CheckResult(check.method, False, f"could not evaluate: {error!r:.120}")


class UnknownStepError(KeyError):
    """A step id that is not in the derivation; carries the closest ids."""

    def __init__(self, step_id: str, suggestions: list[str], *, ambiguous: bool = False) -> None:
        self.step_id = step_id
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        what = "ambiguous step" if ambiguous else "unknown step"
        super().__init__(f"{what} {step_id!r}{hint}")

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
        """The standalone LaTeX document (:func:`adamw_rms.latex.document`)."""
        return documents.document(self)

    def markdown(self) -> str:
        """The derivation as Markdown with ``$$`` math (:func:`adamw_rms.latex.markdown`)."""
        return documents.markdown(self)

    def _repr_latex_(self) -> str:
        body = r" \\ ".join(
            f"&\\text{{({n})}}\\quad {s.latex()}" for n, s in enumerate(self.steps, 1)
        )
        return f"$$\\begin{{aligned}}{body}\\end{{aligned}}$$"


# --- building and verifying many derivations ---------------------------------------------------

_BUILT: dict[str, Derivation] = {}


def _adopt(d: Derivation, results: Sequence[Verification], latex: Sequence[str] = ()) -> bool:
    """Give ``d`` the verification computed elsewhere (a worker, or derive's cache).

    The results also answer later :class:`~adamw_rms.checks.Restated` checks of ``d``'s steps
    without running their checks again. Results that do not fit the steps one to one (same ids,
    as many results as checks) are not used.
    """
    fits = len(results) == len(d.steps) and all(
        r.step_id == s.id and len(r.checks) == len(s.checks)
        for r, s in zip(results, d.steps, strict=True)
    )
    if not fits:
        return False
    for step, result in zip(d.steps, results, strict=True):
        for check, outcome in zip(step.checks, result.checks, strict=True):
            _CHECK_RESULTS[(id(check), step.lhs, step.rhs)] = (check, outcome)
    for step, text in zip(d.steps, latex, strict=False):
        vars(step)["_latex"] = text
    vars(d)["_verification"] = tuple(results)
    return True


_CLAIM = "ClaimCheck (comparison with the source)"
_PRINT = "print statements (LaTeX; workers, CPU s)"


def _verify_step(step: Step, profile: dict[str, float] | None) -> Verification:
    """``step.verify()``; with ``profile``, add the seconds spent per check class to it.

    Times are exclusive: a check that runs other checks (``Restated``) is charged only its own
    time. What the step spends outside its checks is the comparison with the source.
    """
    global _run_check
    if profile is None:
        return step.verify()
    original, nested = _run_check, [0.0]

    def timed(check, lhs, rhs):
        nested.append(0.0)
        begin = time.process_time()
        try:
            return original(check, lhs, rhs)
        finally:
            spent = time.process_time() - begin
            inner = nested.pop()
            name = type(check).__name__
            profile[name] = profile.get(name, 0.0) + spent - inner
            nested[-1] += spent

    _run_check = timed
    try:
        begin = time.process_time()
        result = step.verify()
        outside = time.process_time() - begin - nested[0]
        profile[_CLAIM] = profile.get(_CLAIM, 0.0) + outside
        return result
    finally:
        _run_check = original


@dataclass
class _Job:
    """The steps of one built derivation, handed out to workers by a shared counter."""

    name: str
    steps: tuple[Step, ...]
    order: list[int]  # positions, most expensive first
    counter: object  # multiprocessing.Value: the next index into ``order``

    def unclaimed(self) -> bool:
        return self.counter.value < len(self.order)


def _verify_share(jobs: Sequence[_Job], connection, profiling: bool) -> None:
    # In a forked worker: take the next step of the first job from its shared counter until
    # none is left, then help with the next job; send every (name, position, verification,
    # LaTeX) at the end, or the traceback of a crash.
    import traceback

    done, profile = [], {} if profiling else None
    try:
        for job in jobs:
            while True:
                with job.counter.get_lock():
                    k = job.counter.value
                    job.counter.value += 1
                if k >= len(job.order):
                    break
                step = job.steps[job.order[k]]
                verification = _verify_step(step, profile)
                begin = time.process_time()
                text = step.latex()
                if profile is not None:
                    spent = time.process_time() - begin
                    profile[_PRINT] = profile.get(_PRINT, 0.0) + spent
                done.append((job.name, job.order[k], verification, text))
        connection.send(("ok", (done, profile or {})))
    except BaseException:
        connection.send(("error", traceback.format_exc()))
    finally:
        connection.close()


class _Workers:
    """Forked verification workers, at most ``limit`` at a time, over every built derivation.

    A worker is forked when a slot is free and some built derivation has steps nobody has
    taken yet; it shares the built objects (whose checks hold closures that cannot be pickled)
    and whatever results the parent has adopted so far. It takes steps of the derivation with
    the most work left, then helps with the others it knows. Steps are handed out most
    expensive first (``estimates``: milliseconds per step id from an earlier run), so the last
    ones to finish are short.
    """

    def __init__(self, profile: dict[str, float] | None) -> None:
        self.context = multiprocessing.get_context("fork")
        self.profile = profile
        self.jobs: list[_Job] = []  # each job's counter must live as long as its workers
        self.open: dict[object, object] = {}  # connection -> process
        self.results: dict[str, dict[int, tuple[Verification, str]]] = {}

    def add(self, d: Derivation, estimates: Mapping[str, float]) -> None:
        known = [estimates[s.id] for s in d.steps if s.id in estimates]
        default = max(known, default=0.0)
        order = sorted(range(len(d.steps)), key=lambda n: -estimates.get(d.steps[n].id, default))
        self.jobs.append(_Job(d.name, d.steps, order, self.context.Value("i", 0)))
        self.results[d.name] = {}

    def fill(self, limit: int) -> None:
        """Fork workers until ``limit`` run or no step is left to take."""
        while len(self.open) < limit:
            waiting = [job for job in self.jobs if job.unclaimed()]
            if not waiting:
                return
            waiting.sort(key=lambda job: job.counter.value - len(job.order))
            receive, send = self.context.Pipe(duplex=False)
            process = self.context.Process(
                target=_verify_share,
                args=(waiting, send, self.profile is not None),
                daemon=True,
            )
            process.start()
            send.close()
            self.open[receive] = process

    def collect(self, timeout: float | None) -> list[str]:
        """Read the workers that have finished; the names of the derivations now complete."""
        from multiprocessing.connection import wait

        complete = []
        for connection in wait(list(self.open), timeout):
            process = self.open.pop(connection)
            try:
                status, payload = connection.recv()
            except EOFError:
                status, payload = "error", f"a verification worker died ({process})"
            connection.close()
            process.join()
            if status != "ok":
                raise RuntimeError(f"verification raised in a worker:\n{payload}")
            done, profile = payload
            for name, position, verification, text in done:
                self.results[name][position] = (verification, text)
            if self.profile is not None:
                for key, seconds in profile.items():
                    self.profile[key] = self.profile.get(key, 0.0) + seconds
        for job in list(self.jobs):
            if len(self.results[job.name]) == len(job.order):
                complete.append(job.name)
                self.jobs.remove(job)
        return complete

    def take(self, name: str) -> tuple[list[Verification], list[str]]:
        done = self.results.pop(name)
        ordered = [done[n] for n in range(len(done))]
        return [v for v, _ in ordered], [text for _, text in ordered]

    def busy(self) -> bool:
        return bool(self.open or self.jobs)

    def close(self) -> None:
        for connection, process in self.open.items():
            process.terminate()
            process.join()
            connection.close()
        self.open.clear()


def build_and_verify(
    names: Sequence[str],
    jobs: int = 1,
    meanwhile: Callable[[], object] | None = None,
    *,
    known: Mapping[str, Sequence[Verification]] | None = None,
    estimates: Mapping[str, Mapping[str, float]] | None = None,
    verified: Callable[[Derivation], object] | None = None,
    profile: dict[str, float] | None = None,
) -> tuple[list[Derivation], object]:
    """Build the named derivations in order and verify every step, with ``jobs`` workers.

    Steps are independent once built, so they are spread over forked worker processes (fork
    shares the built objects, whose checks hold closures that cannot be pickled): each
    derivation's steps start verifying as soon as it is built, while the next one is being
    built. The workers also print each statement's LaTeX. The results are stored on each
    derivation exactly as :meth:`Derivation.verify` would compute them, in step order.

    ``known`` holds verifications computed before (derive's cache) of derivations that are not
    in ``names`` but get built as dependencies: their results are adopted instead of being
    recomputed when a step restates one of their steps. ``estimates`` (ms per step id, per
    derivation) order each derivation's steps most expensive first. ``verified(d)`` runs in
    this process as soon as ``d`` is verified (e.g. to render it while others still verify);
    ``meanwhile`` (if given) runs in this process once everything is built; its result is
    returned with the derivations. ``profile`` (a dict) receives the seconds spent building
    each derivation (in this process) and, summed over the workers, per check class.
    """
    known = dict(known or {})
    estimates = estimates or {}

    def adopt_known() -> None:
        for name in [n for n in known if n in _BUILT]:
            _adopt(_BUILT[name], known.pop(name))

    def build(name: str) -> Derivation:
        begin = time.process_time()
        d = derivation(name)
        if profile is not None:
            profile[f"build {name} (and what it uses)"] = time.process_time() - begin
        adopt_known()
        # What is built stays: the collector need not walk it again (nor, in the forked
        # workers, touch its pages, which would copy them).
        gc.freeze()
        return d

    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], 50_000), *thresholds[1:])
    try:
        return _build_and_verify(names, jobs, meanwhile, build, verified, profile, estimates)
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def _build_and_verify(names, jobs, meanwhile, build, verified, profile, estimates):
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        derivations = []
        for name in names:
            d = build(name)
            if "_verification" not in vars(d):
                _adopt(d, [_verify_step(step, profile) for step in d.steps])
            derivations.append(d)
            if verified is not None:
                verified(d)
        return derivations, meanwhile() if meanwhile else None
    workers = _Workers(profile)
    derivations: list[Derivation] = []
    # While this process builds (or prints the kernels) it keeps a CPU busy: one worker less.
    busy_here = max(1, jobs - 1)

    def finish(names_done: list[str]) -> None:
        for name in names_done:
            d = _BUILT[name]
            results, latex = workers.take(name)
            if not _adopt(d, results, latex):
                raise RuntimeError(f"the workers' results do not fit the steps of {name}")
            if verified is not None:
                verified(d)

    try:
        for name in names:
            d = build(name)
            derivations.append(d)
            if "_verification" in vars(d):
                if verified is not None:
                    verified(d)
                continue
            workers.add(d, estimates.get(name, {}))
            finish(workers.collect(0))
            workers.fill(busy_here)
        extra = meanwhile() if meanwhile else None
        while workers.busy():
            workers.fill(jobs)
            finish(workers.collect(None if workers.open else 0))
            if workers.jobs and not workers.open and not any(j.unclaimed() for j in workers.jobs):
                raise RuntimeError("steps handed out but never verified")
    finally:
        workers.close()
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
    built = _BUILT[name] = module.build()
    return built


def find_step(step_id: str) -> Step:
    """Find a step by ``name.step`` or by a bare id that is unique across derivations.

    An unknown or ambiguous id raises :class:`UnknownStepError` whose suggestions are always
    full ids (``weight_rms.m_unrolled``): a bare id may itself be ambiguous.
    """
    if "." in step_id:
        name, _, local = step_id.partition(".")
        if name in DERIVATION_NAMES:
            d = derivation(name)
            if local in d.ids:
                return d.step(local)
            # Closest ids of the named derivation first, then of the others.
            near = [f"{name}.{m}" for m in difflib.get_close_matches(local, d.ids, n=3)]
            raise UnknownStepError(step_id, (near or _close_qualified(local))[:3])
    matches = [d.step(step_id) for d in map(derivation, DERIVATION_NAMES) if step_id in d.ids]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UnknownStepError(step_id, [m.qualified_id for m in matches], ambiguous=True)
    if "." not in step_id:
        raise UnknownStepError(step_id, _close_qualified(step_id))
    every = [f"{n}.{i}" for n in DERIVATION_NAMES for i in derivation(n).ids]
    suggestions = difflib.get_close_matches(step_id, every, n=3)
    raise UnknownStepError(step_id, suggestions or _close_qualified(step_id.rpartition(".")[2]))


def _close_qualified(local: str) -> list[str]:
    """Full ids whose local part is close to ``local``, over every derivation (at most 3)."""
    scored = [
        (difflib.SequenceMatcher(None, local, i).ratio(), f"{n}.{i}")
        for n in DERIVATION_NAMES
        for i in difflib.get_close_matches(local, derivation(n).ids, n=3)
    ]
    return [q for _, q in sorted(scored, key=lambda pair: -pair[0])][:3]
