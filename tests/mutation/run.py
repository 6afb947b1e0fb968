"""Seeded arithmetic mutants of the derivations; each must make ``adamw-rms derive`` fail.

Three groups of mutation sites, found with :mod:`ast` (never in strings, docstrings or ids):

``modules``
    the derivation modules ``src/adamw_rms/derivations/{update_rms,weight_rms,sign_sgdm,tuc,
    schedules,corrected,sgd,lion,adam_l2}.py``: a binary ``+`` swapped with ``-``, a unary
    minus removed, an integer constant changed by one (both ways); sites inside a step's left
    side belong to ``lhs``.
``claims``
    the same operators inside the source claims of ``derivations/_source.py`` (the values of the
    ``*_CLAIMS`` dicts, and the module-level expressions those dicts use).
``lhs``
    the ``lhs=`` argument of every ``add(...)``, ``Step(...)`` and ``restate(...)`` call of a
    derivation module (and the expression a bare name there was assigned): the operators above,
    plus the whole left side negated and an index ``x[t]`` shifted to ``x[t - 1]``/``x[t + 1]``.

Each mutant is one textual edit of one file in a copy of the tree's ``src/``; ``derive`` then
runs on the copy (``PYTHONPATH=<copy>/src``) with a limit on CPU time. A mutant is *killed* when
``derive`` exits non-zero and writes nothing (no documents, no kernels); the runner says by
what: verification (the failing steps and checks, parsed from ``derive``'s report), a crash
(the exception and the line of the derivation module it came from), or the timeout. A mutant
that survives is re-examined: when its documents and kernels are byte-identical to those of
the unmutated tree it is reported *equivalent* (the edit does not change the mathematics that
is derived, e.g. a precision or a loop bound that still covers the same points); otherwise the
first difference is shown.

Run ``python -m tests.mutation --help`` (or ``python tests/mutation/run.py --help``) from the
repository root; see ``tests/mutation/README.md``.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import dataclasses
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

__all__ = [
    "GROUPS",
    "MODULES",
    "Mutant",
    "Outcome",
    "apply",
    "find_mutants",
    "main",
    "run_mutants",
    "sample",
]

MODULES = (
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
GROUPS = ("modules", "claims", "lhs")
DERIVATIONS = Path("src/adamw_rms/derivations")
SOURCE_FILE = DERIVATIONS / "_source.py"
STEP_CALLS = frozenset({"add", "Step", "restate"})
# Keyword arguments that hold prose or ids, never mathematics.
PROSE = frozenset({"id", "title", "section", "justification", "label", "limit", "where"})
DEFAULT_TIMEOUT = 60.0

# Outcome kinds.
VERIFICATION, CRASH, TIMEOUT = "killed: verification", "killed: crash", "killed: timeout"
EQUIVALENT, SURVIVED = "survived: equivalent", "survived"
WROTE = "failed but wrote output"  # non-zero exit with files written: not a kill
INVALID = "invalid mutant"  # does not compile (never run; not counted)
KILLED = (VERIFICATION, CRASH, TIMEOUT)


@dataclasses.dataclass(frozen=True)
class Mutant:
    """One edit: bytes ``[start, end)`` of ``path`` (relative to the tree) become ``new``."""

    group: str
    path: str
    line: int
    start: int
    end: int
    old: str
    new: str
    operator: str  # "+->-", "-->+", "-x->x", "n->n+1", "n->n-1", "lhs->-lhs", "x[t]->x[t-1]"...
    context: str  # the enclosing function, or the claim / step id when known
    block: str = ""  # for a claim: the derivation whose claims block holds it
    col: int = 0  # 1-based character column of the edit
    excerpt: str = ""  # the edited line around the edit, mutated, for the reports

    @property
    def module(self) -> str:
        """The derivation module mutated (for a claim, the one its block belongs to)."""
        return self.block or Path(self.path).stem

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def key(self) -> str:
        return f"{self.where}@{self.start}:{self.operator}"

    def describe(self) -> str:
        shown = f" in `{self.excerpt}`" if self.excerpt else ""
        return (
            f"{self.where}:{self.col} [{self.context}] {self.operator}: "
            f"{self.old!r} -> {self.new!r}{shown}"
        )


@dataclasses.dataclass
class Outcome:
    mutant: Mutant
    kind: str
    seconds: float
    failures: list[str] = dataclasses.field(default_factory=list)  # "step: method" lines
    reason: str = ""

    @property
    def killed(self) -> bool:
        return self.kind in KILLED


# --- finding mutation sites ---------------------------------------------------------------------


class _Source:
    """A file's bytes with ast positions (line, UTF-8 column) turned into byte offsets."""

    def __init__(self, path: Path, relative: str) -> None:
        self.relative = relative
        self.data = path.read_bytes()
        self.tree = ast.parse(self.data, filename=str(path))
        self.line_starts = [0]
        for line in self.data.splitlines(keepends=True):
            self.line_starts.append(self.line_starts[-1] + len(line))

    def offset(self, line: int, col: int) -> int:
        return self.line_starts[line - 1] + col

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (
            self.offset(node.lineno, node.col_offset),
            self.offset(node.end_lineno, node.end_col_offset),
        )

    def text(self, start: int, end: int) -> str:
        return self.data[start:end].decode()


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _skipped(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Inside an f-string, an annotation, a decorator, ``__all__`` or prose: not mathematics."""
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.JoinedStr):
            return True
        if isinstance(parent, ast.arg | ast.AnnAssign) and child is parent.annotation:
            return True
        if isinstance(parent, ast.FunctionDef) and (
            child is parent.returns or child in parent.decorator_list
        ):
            return True
        if isinstance(parent, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__all__" for target in parent.targets
        ):
            return True
        if isinstance(parent, ast.keyword) and parent.arg in PROSE:
            return True
        child, parent = parent, parents.get(parent)
    return False


def _context(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> str:
    """The nearest step id (an ``id="..."`` keyword), dict key, or function around ``node``."""
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.Call):
            for keyword in parent.keywords:
                if keyword.arg == "id":
                    value = keyword.value
                    if isinstance(value, ast.Constant):
                        return f"step {value.value}"
                    return f"step {ast.unparse(value)}"
        if isinstance(parent, ast.Dict) and child in parent.values:
            key = parent.keys[parent.values.index(child)]
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                return f"claim {key.value}"
        if isinstance(parent, ast.FunctionDef):
            return f"{parent.name}()"
        if isinstance(parent, ast.Assign | ast.AnnAssign) and isinstance(
            parents.get(parent), ast.Module
        ):
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            return " = ".join(names) if names else "module level"
        child, parent = parent, parents.get(parent)
    return "module level"


def _operator_between(src: _Source, left: ast.AST, right: ast.AST, symbol: str) -> int | None:
    """Byte offset of the operator ``symbol`` between two operands (comments skipped)."""
    start, end = src.span(left)[1], src.span(right)[0]
    k = start
    while k < end:
        c = src.data[k : k + 1]
        if c == b"#":
            k = src.data.index(b"\n", k)
        elif c == symbol.encode():
            return k
        k += 1
    return None


def _site_mutants(src: _Source, node: ast.AST, group: str, context: str) -> Iterator[Mutant]:
    """Every operator / constant mutant of one node (not of its children)."""
    if not isinstance(node, ast.expr):
        return
    base = {"group": group, "path": src.relative, "line": node.lineno, "context": context}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
        old, new = ("+", "-") if isinstance(node.op, ast.Add) else ("-", "+")
        at = _operator_between(src, node.left, node.right, old)
        if at is not None:
            base["line"] = src.data.count(b"\n", 0, at) + 1
            yield Mutant(**base, start=at, end=at + 1, old=old, new=new, operator=f"{old}->{new}")
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        start = src.span(node)[0]
        end = src.span(node.operand)[0]
        text = src.text(start, end)
        if text.strip() == "-":
            yield Mutant(**base, start=start, end=end, old=text, new="", operator="-x->x")
    elif (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int)
        and not isinstance(node.value, bool)
    ):
        start, end = src.span(node)
        old = src.text(start, end)
        for delta, name in ((1, "n->n+1"), (-1, "n->n-1")):
            yield Mutant(
                **base, start=start, end=end, old=old, new=str(node.value + delta), operator=name
            )


def _subtree_mutants(
    src: _Source, root: ast.AST, group: str, parents: dict[ast.AST, ast.AST]
) -> Iterator[Mutant]:
    for node in ast.walk(root):
        if not _skipped(node, parents):
            yield from _site_mutants(src, node, group, _context(node, parents))


def _step_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    return name in STEP_CALLS


def _assignment(name: str, before: ast.AST, parents: dict[ast.AST, ast.AST]) -> ast.AST | None:
    """The last ``name = <expr>`` in the scope of ``before`` that precedes it (its value)."""
    scope = parents.get(before)
    while scope is not None and not isinstance(scope, ast.FunctionDef | ast.Module):
        scope = parents.get(scope)
    if scope is None:
        return None
    found = None
    for node in ast.walk(scope):
        if (
            isinstance(node, ast.Assign)
            and node.lineno < before.lineno
            and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
            and (found is None or node.lineno > found.lineno)
        ):
            found = node
    return found.value if found is not None else None


def _lhs_mutants(src: _Source, parents: dict[ast.AST, ast.AST]) -> tuple[list[Mutant], set]:
    """The ``lhs`` group of one derivation module; also the byte spans it claims."""
    mutants: list[Mutant] = []
    covered: set[tuple[int, int]] = set()
    for call in ast.walk(src.tree):
        if not _step_call(call):
            continue
        for keyword in call.keywords:
            if keyword.arg != "lhs":
                continue
            value = keyword.value
            context = _context(value, parents)
            base = {"group": "lhs", "path": src.relative, "line": value.lineno}
            start, end = src.span(value)
            covered.add((start, end))
            text = src.text(start, end)
            mutants.append(
                Mutant(
                    **base,
                    start=start,
                    end=end,
                    old=text,
                    new=f"-({text})",
                    operator="lhs->-lhs",
                    context=context,
                )
            )
            roots = [value]
            if isinstance(value, ast.Name):
                assigned = _assignment(value.id, call, parents)
                if assigned is not None:
                    roots.append(assigned)
                    covered.add(src.span(assigned))
            for root in roots:
                for node in ast.walk(root):
                    if _skipped(node, parents):
                        continue
                    mutants.extend(_site_mutants(src, node, "lhs", context))
                    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Name):
                        s, e = src.span(node.slice)
                        index = src.text(s, e)
                        for sign in "-+":
                            mutants.append(
                                Mutant(
                                    **{**base, "line": node.lineno},
                                    start=s,
                                    end=e,
                                    old=index,
                                    new=f"{index} {sign} 1",
                                    operator=f"x[{index}]->x[{index}{sign}1]",
                                    context=context,
                                )
                            )
    return mutants, covered


def _inside(mutant: Mutant, spans: Iterable[tuple[int, int]]) -> bool:
    return any(s <= mutant.start and mutant.end <= e for s, e in spans)


def _claims_mutants(
    src: _Source, parents: dict[ast.AST, ast.AST], modules: Sequence[str] = MODULES
) -> list[Mutant]:
    """The values of the ``*_CLAIMS`` dicts and the private module-level expressions they name.

    Only the dicts of ``modules`` (``weight_rms`` -> ``WEIGHT_RMS_CLAIMS``), unless none of
    them has one; then every dict.
    """
    assigned = {
        target.id: node.value
        for node in src.tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    wanted = {f"{m.upper()}_CLAIMS" for m in modules} & set(assigned)
    blocks = [n for n in assigned if n.endswith("_CLAIMS") and (n in wanted or not wanted)]
    mutants = []
    seen: set[str] = set()
    for block in blocks:
        # The block's dict, and the private expressions it uses (first block that uses one).
        roots, queue = [assigned[block]], [assigned[block]]
        while queue:
            for node in ast.walk(queue.pop()):
                if (
                    isinstance(node, ast.Name)
                    and node.id in assigned
                    and node.id not in seen
                    and node.id.startswith("_")
                    and not node.id.endswith("_CLAIMS")
                ):
                    seen.add(node.id)
                    roots.append(assigned[node.id])
                    queue.append(assigned[node.id])
        owner = block.removesuffix("_CLAIMS").lower()
        for root in roots:
            for mutant in _subtree_mutants(src, root, "claims", parents):
                mutants.append(dataclasses.replace(mutant, block=owner))
    return mutants


def find_mutants(tree: Path, modules: Sequence[str] = MODULES) -> dict[str, list[Mutant]]:
    """Every mutant of the three groups in the tree at ``tree``, in file order, by group."""
    groups: dict[str, list[Mutant]] = {g: [] for g in GROUPS}
    for name in modules:
        relative = str(DERIVATIONS / f"{name}.py")
        src = _Source(tree / relative, relative)
        parents = _parents(src.tree)
        lhs, covered = _lhs_mutants(src, parents)
        groups["lhs"].extend(lhs)
        for mutant in _subtree_mutants(src, src.tree, "modules", parents):
            if not _inside(mutant, covered):
                groups["modules"].append(mutant)
    src = _Source(tree / SOURCE_FILE, str(SOURCE_FILE))
    groups["claims"] = _claims_mutants(src, _parents(src.tree), modules)
    files: dict[str, bytes] = {}
    for name, mutants in groups.items():
        for k, m in enumerate(mutants):
            data = files.setdefault(m.path, (tree / m.path).read_bytes())
            mutants[k] = _located(m, data)
        unique = {m.key: m for m in mutants}
        groups[name] = sorted(unique.values(), key=lambda m: (m.path, m.start, m.operator))
    return groups


def _located(mutant: Mutant, data: bytes, width: int = 36) -> Mutant:
    """The mutant with its column and an excerpt of its mutated line (``…`` where cut)."""
    start = data.rfind(b"\n", 0, mutant.start) + 1
    end = data.find(b"\n", mutant.end)
    end = len(data) if end < 0 else end
    before = data[start : mutant.start].decode()
    after = data[mutant.end : end].decode()
    new = mutant.new
    if "\n" in mutant.old:  # an edit over several lines: show its first line only
        new = new.split("\n", 1)[0] + "…"
        after = ""
    left = before.lstrip()
    left = left if len(left) <= width else "…" + left[-width:]
    right = after if len(after) <= width else after[:width] + "…"
    return dataclasses.replace(mutant, col=len(before) + 1, excerpt=f"{left}{new}{right}")


def sample(mutants: Sequence[Mutant], size: int | None, seed: int) -> list[Mutant]:
    """``size`` mutants drawn with ``seed`` (all of them when ``size`` is ``None``)."""
    if size is None or size >= len(mutants):
        return list(mutants)
    return sorted(random.Random(seed).sample(list(mutants), size), key=lambda m: (m.path, m.start))


def apply(mutant: Mutant, data: bytes) -> bytes:
    """The file's bytes with the mutation applied (the old text is checked first)."""
    if data[mutant.start : mutant.end].decode() != mutant.old:
        raise ValueError(f"{mutant.describe()}: the file no longer has {mutant.old!r} there")
    return data[: mutant.start] + mutant.new.encode() + data[mutant.end :]


# --- running derive -----------------------------------------------------------------------------

_FAILURE = re.compile(r"^  (\S+): (.+?): ")
_TRACE_FILE = re.compile(r'File "[^"]*?/(adamw_rms/[^"]+)", line (\d+), in (\S+)')


# Run in a copy (built, not verified): every step's statement and what its checks can see.
_PROBE = """
import json, os, pickle, sympy as sp
from adamw_rms.steps import DERIVATION_NAMES, derivation
from adamw_rms.checks import LHS, RHS, mentions

def same_value(a, b):
    try:
        from adamw_rms.algebra import is_zero
        return bool(is_zero(a - b))
    except Exception:
        try:
            return sp.simplify(a - b) == 0
        except Exception:
            return False

reference = os.environ.get("MUTANTS_REFERENCE")
old = None
if reference and os.path.exists(reference):
    with open(reference, "rb") as f:
        old = pickle.load(f)
steps, sides = {}, {}
for name in DERIVATION_NAMES:
    for step in derivation(name).steps:
        qid, claim = step.qualified_id, step.claim
        sides[qid] = (step.lhs, step.rhs)
        value = [True, True]
        if old is not None and qid in old:
            value = [a == b or same_value(a, b) for a, b in zip(old[qid], sides[qid])]
        steps[qid] = [
            sp.srepr(step.lhs), sp.srepr(step.rhs), step.kind.value,
            [[c.method, mentions(c, LHS), mentions(c, RHS)] for c in step.checks],
            None if claim is None else [sp.srepr(claim.rhs), sp.srepr(claim.lhs), claim.erratum],
            value,
        ]
dump = os.environ.get("MUTANTS_DUMP")
if dump:
    with open(dump, "wb") as f:
        pickle.dump(sides, f)
print(json.dumps(steps))
"""


# Runs argv[2:] under a CPU-time limit of argv[1] seconds: a hang is caught whatever the load
# of the machine (a wall-clock limit would count other processes' time); WALL_FACTOR times the
# limit in wall time is the last resort.
_CPU_LIMIT = (
    "import os, resource, sys; n = int(sys.argv[1]); "
    "resource.setrlimit(resource.RLIMIT_CPU, (n, n + 5)); os.execv(sys.argv[2], sys.argv[2:])"
)
WALL_FACTOR = 10


def _in_kernel_printer(stderr: str) -> bool:
    """The innermost frame of the package in the traceback is the kernel printer's."""
    frames = _TRACE_FILE.findall(stderr)
    return bool(frames) and frames[-1][0].endswith("codegen.py")


def _copy_tree(tree: Path, into: Path) -> Path:
    target = into / "src"
    shutil.copytree(tree / "src", target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


def _written(work: Path) -> list[str]:
    out = work / "out"
    found = (
        [str(p.relative_to(work)) for p in out.rglob("*") if p.is_file()] if out.exists() else []
    )
    if (work / "gen.py").exists():
        found.append("gen.py")
    return found


class Runner:
    """Runs ``derive`` on copies of ``tree``; the unmutated run is the reference."""

    def __init__(
        self,
        tree: Path,
        python: str,
        timeout: float | None,
        derive_jobs: int,
        keep: Path | None = None,
        explain: bool = True,
        reuse_cache: bool = False,
    ) -> None:
        self.tree = tree.resolve()
        self.python = python
        self.timeout = timeout
        self.derive_jobs = derive_jobs
        self.scratch = Path(tempfile.mkdtemp(prefix="mutants-", dir=keep))
        self.extra: list[str] = []
        self.reference: dict[str, bytes] = {}
        self.reference_seconds = 0.0
        self.reference_steps: dict | None = None
        self.explain = explain
        # Each mutant starts from a copy of the reference run's derive cache: the cache is keyed
        # by the hashes of every source a derivation depends on, so the mutated module (and any
        # derivation that imports it) is rebuilt and verified, the others are reused.
        self.reuse_cache = reuse_cache

    def _derive(
        self, work: Path, limit: float | None = None, kernels: bool = True
    ) -> tuple[subprocess.CompletedProcess | None, float]:
        """``derive`` on the copy at ``work``, into ``work/out`` and ``work/gen.py``.

        Without ``kernels`` the kernels' folder does not exist, so ``derive`` skips the
        kernel printer (and its documents go to ``work/documents-only``).
        """
        env = {
            **os.environ,
            "PYTHONPATH": str(work / "src"),
            "PYTHONDONTWRITEBYTECODE": "1",
            "XDG_CACHE_HOME": str(work / "cache"),
            "ADAMW_RMS_CACHE_DIR": str(work / "cache" / "adamw-rms"),
        }
        env.pop("ADAMW_RMS_NO_CACHE", None)
        limit = limit or self.timeout or 10 * DEFAULT_TIMEOUT
        command = [
            self.python,
            "-c",
            _CPU_LIMIT,
            str(int(limit) + 1),
            self.python,
            "-m",
            "adamw_rms",
            "derive",
            "--out",
            str(work / ("out" if kernels else "documents-only")),
            "--code-out",
            str(work / ("gen.py" if kernels else "no-such-folder/gen.py")),
            "--jobs",
            str(self.derive_jobs),
            *self.extra,
        ]
        start = time.perf_counter()
        try:
            done = subprocess.run(
                command,
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=WALL_FACTOR * limit,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return None, time.perf_counter() - start
        if done.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
            return None, time.perf_counter() - start
        return done, time.perf_counter() - start

    def prepare(self) -> None:
        """Check the copy imports the copy, learn ``derive``'s flags, run the reference."""
        work = self.scratch / "reference"
        work.mkdir()
        src = _copy_tree(self.tree, work)
        env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}
        probe = subprocess.run(
            [self.python, "-c", "import adamw_rms; print(adamw_rms.__file__)"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        if not Path(probe.stdout.strip()).resolve().is_relative_to(src.resolve()):
            raise RuntimeError(
                f"{self.python} imports adamw_rms from {probe.stdout.strip()}, not from the "
                f"copy {src}: PYTHONPATH does not take precedence (an installed package?)"
            )
        help_text = subprocess.run(
            [self.python, "-m", "adamw_rms", "derive", "--help"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        if "--no-cache" in help_text and not self.reuse_cache:
            self.extra.append("--no-cache")
        done, seconds = self._derive(work, limit=10 * max(DEFAULT_TIMEOUT, self.timeout or 0))
        if done is None or done.returncode != 0:
            detail = "timed out" if done is None else done.stderr[-2000:]
            raise RuntimeError(f"the unmutated tree {self.tree} does not derive: {detail}")
        self.reference = self._output(work)
        self.reference_seconds = seconds
        if self.timeout is None:
            self.timeout = max(DEFAULT_TIMEOUT, 6 * seconds)
        self.reference_steps = self._probe(work, dump=True) if self.explain else None
        if not self.reference:
            raise RuntimeError(f"the unmutated tree {self.tree} derived but wrote nothing")

    def _probe(self, work: Path, dump: bool = False) -> dict | None:
        """Every step's statement and checks in the copy at ``work`` (``None`` if it fails).

        The reference run pickles its statements (``dump``); a mutant's probe compares its
        changed sides with them by value (``algebra.is_zero``).
        """
        env = {**os.environ, "PYTHONPATH": str(work / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
        pickled = self.scratch / "reference-statements.pickle"
        env["MUTANTS_DUMP" if dump else "MUTANTS_REFERENCE"] = str(pickled)
        try:
            done = subprocess.run(
                [self.python, "-c", _PROBE],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=self.timeout or DEFAULT_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return None
        if done.returncode != 0:
            return None
        try:
            return json.loads(done.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return None

    def _why(self, work: Path) -> tuple[str, bool]:
        """Which statements the mutant changed and what their checks cannot see; and whether
        every statement, claim and check method is the unmutated tree's (``True``)."""
        if self.reference_steps is None:
            return "", False
        steps = self._probe(work)
        if steps is None:
            return "", False
        reasons, rewritten = [], []
        for qid, (lhs, rhs, kind, checks, claim, value) in steps.items():
            old = self.reference_steps.get(qid)
            if old is None:
                reasons.append(f"new step {qid}")
                continue
            sides = [n for n, a, b in (("left", lhs, old[0]), ("right", rhs, old[1])) if a != b]
            if kind != old[2]:
                sides.append("kind")
            if claim != old[4]:
                sides.append("claim")
            if [c[0] for c in checks] != [c[0] for c in old[3]]:
                sides.append("checks")
            if not sides:
                continue
            same = {"left": value[0], "right": value[1]}
            if set(sides) <= set(same) and all(same[side] for side in sides):
                rewritten.append(f"{qid} ({' and '.join(sides)} side)")
                continue
            blind = []
            if "left" in sides and not any(c[1] for c in checks):
                blind.append("LHS")
            if "right" in sides and not any(c[2] for c in checks):
                blind.append("RHS")
            methods = ", ".join(sorted({c[0] for c in checks})) or "none"
            note = f"; no check uses {' or '.join(blind)}" if blind else ""
            if kind == ":=" and {"left", "right"} & set(sides):
                note = "; a definition, never verified"
            reasons.append(f"{qid} ({', '.join(sides)} changed; checks: {methods}{note})")
        missing = sorted(set(self.reference_steps) - set(steps))
        reasons += [f"step {qid} gone" for qid in missing]
        if not reasons and rewritten:
            shown = ", ".join(rewritten[:4]) + (" …" if len(rewritten) > 4 else "")
            return (
                "every statement has the unmutated tree's value (checked exactly); only the "
                f"printed form of {shown} differs",
                True,
            )
        if not reasons:
            return (
                "every statement, claim and check is the unmutated tree's; only the details of "
                "a check printed in the documents differ (its sample points or tolerances)",
                True,
            )
        shown = "; ".join(reasons[:4])
        more = f"; and {len(reasons) - 4} more" if len(reasons) > 4 else ""
        return f"changed: {shown}{more}", False

    @staticmethod
    def _output(work: Path) -> dict[str, bytes]:
        return {name: (work / name).read_bytes() for name in _written(work)}

    def _difference(self, work: Path) -> str:
        output = self._output(work)
        changed = sorted(set(output) ^ set(self.reference))
        changed += sorted(
            n for n in set(output) & set(self.reference) if output[n] != self.reference[n]
        )
        if not changed:
            return ""
        name = changed[0]
        if name in output and name in self.reference:
            new = output[name].decode(errors="replace").splitlines()
            old = self.reference[name].decode(errors="replace").splitlines()
            for k, (a, b) in enumerate(zip(old, new, strict=False)):
                if a != b:
                    return (
                        f"{len(changed)} files differ; {name}:{k + 1}: {a[:120]!r} -> {b[:120]!r}"
                    )
        return f"{len(changed)} files differ, first {name}"

    def run(self, mutant: Mutant, index: int) -> Outcome:
        work = self.scratch / f"m{index:04d}"
        work.mkdir()
        try:
            src = _copy_tree(self.tree, work)
            target = work / mutant.path
            data = apply(mutant, target.read_bytes())
            try:
                compile(data, str(target), "exec")
            except SyntaxError as error:
                return Outcome(mutant, INVALID, 0.0, reason=f"does not compile: {error}")
            target.write_bytes(data)
            assert src.exists()
            reference_cache = self.scratch / "reference" / "cache"
            if self.reuse_cache and reference_cache.exists():
                shutil.copytree(reference_cache, work / "cache")
            done, seconds = self._derive(work)
            written = _written(work)
            if done is None:
                if written:
                    return Outcome(mutant, WROTE, seconds, reason="timed out after writing")
                return Outcome(
                    mutant, TIMEOUT, seconds, reason=f"over {self.timeout:g} s of CPU time"
                )
            if done.returncode != 0:
                if written:
                    return Outcome(
                        mutant, WROTE, seconds, reason=f"exit {done.returncode}, wrote {written[0]}"
                    )
                outcome = self._killed(mutant, done, seconds)
                if outcome.kind == CRASH and _in_kernel_printer(done.stderr):
                    outcome = self._without_kernels(work, outcome)
                return outcome
            difference = self._difference(work)
            if not difference:
                return Outcome(
                    mutant,
                    EQUIVALENT,
                    seconds,
                    reason="derives documents and kernels byte-identical to the unmutated tree's",
                )
            why, same = self._why(work)
            return Outcome(
                mutant,
                EQUIVALENT if same else SURVIVED,
                seconds,
                reason=f"derive exits 0; {why + '; ' if why else ''}{difference}",
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)

    @staticmethod
    def _killed(mutant: Mutant, done: subprocess.CompletedProcess, seconds: float) -> Outcome:
        stderr = done.stderr
        if "FAILED verification" in stderr:
            failures = []
            for line in stderr.splitlines():
                match = _FAILURE.match(line)
                if match:
                    failures.append(f"{match[1]}: {match[2]}")
            return Outcome(mutant, VERIFICATION, seconds, failures=list(dict.fromkeys(failures)))
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        error = lines[-1].strip() if lines else f"exit {done.returncode}, no message"
        frames = _TRACE_FILE.findall(stderr)
        derivation_frames = [f for f in frames if "/derivations/" in f[0]]
        frame = (derivation_frames or frames or [None])[-1]
        where = f" at {frame[0]}:{frame[1]} in {frame[2]}" if frame else ""
        return Outcome(mutant, CRASH, seconds, reason=f"{error[:300]}{where}")

    def _without_kernels(self, work: Path, crash: Outcome) -> Outcome:
        """A crash in the kernel printer: does verification alone fail the mutant?"""
        done, _ = self._derive(work, kernels=False)
        if done is None:
            return crash
        if done.returncode != 0 and "FAILED verification" in done.stderr:
            verified = self._killed(crash.mutant, done, crash.seconds)
            verified.reason = "the kernel printer crashes as well"
            return verified
        if done.returncode == 0:
            crash.reason = (
                "VERIFICATION PASSES (derive without the kernel printer exits 0); only printing "
                f"the kernels fails: {crash.reason}"
            )
        return crash

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


def run_mutants(
    runner: Runner, mutants: Sequence[Mutant], jobs: int, progress: bool = True
) -> list[Outcome]:
    outcomes: list[Outcome | None] = [None] * len(mutants)
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(runner.run, m, k): k for k, m in enumerate(mutants)}
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            k = futures[future]
            outcomes[k] = outcome = future.result()
            if progress:
                print(
                    f"[{done}/{len(mutants)}] {outcome.kind:<22} {outcome.seconds:5.1f} s  "
                    f"{outcome.mutant.describe()}",
                    file=sys.stderr,
                    flush=True,
                )
    return [o for o in outcomes if o is not None]


# --- the report ---------------------------------------------------------------------------------


def _rate(outcomes: Sequence[Outcome]) -> dict[str, object]:
    counted = [o for o in outcomes if o.kind != INVALID]
    killed = sum(o.killed for o in counted)
    equivalent = sum(o.kind == EQUIVALENT for o in counted)
    relevant = len(counted) - equivalent
    counts = {kind: sum(o.kind == kind for o in counted) for kind in (*KILLED, EQUIVALENT)}
    counts[SURVIVED] = sum(o.kind == SURVIVED for o in counted)
    counts[WROTE] = sum(o.kind == WROTE for o in counted)
    return {
        "mutants": len(counted),
        "killed": killed,
        "equivalent": equivalent,
        "kill_rate": killed / relevant if relevant else 1.0,
        "kill_rate_all": killed / len(counted) if counted else 1.0,
        "counts": counts,
    }


def summary(outcomes: Sequence[Outcome]) -> dict[str, object]:
    by_group = {g: [o for o in outcomes if o.mutant.group == g] for g in GROUPS}
    modules = sorted({o.mutant.module for o in outcomes})
    return {
        "groups": {g: _rate(os_) for g, os_ in by_group.items() if os_},
        "modules": {
            (g, m): _rate([o for o in os_ if o.mutant.module == m])
            for g, os_ in by_group.items()
            for m in modules
            if any(o.mutant.module == m for o in os_)
        },
    }


def report(outcomes: Sequence[Outcome], header: str) -> str:
    """A Markdown report: kill rates by group and module, every survivor, every kill."""
    stats = summary(outcomes)
    lines = [
        header,
        "",
        "| group | module | mutants | killed | verification | crash | timeout "
        "| equivalent | survived | wrote | kill rate (non-equivalent) |",
        "|" + "---|" * 11,
    ]

    def row(group: str, module: str, rate: dict) -> str:
        c = rate["counts"]
        return (
            f"| {group} | {module} | {rate['mutants']} | {rate['killed']} | {c[VERIFICATION]} "
            f"| {c[CRASH]} | {c[TIMEOUT]} | {c[EQUIVALENT]} | {c[SURVIVED]} | {c[WROTE]} "
            f"| {rate['kill_rate']:.0%} |"
        )

    for group, rate in stats["groups"].items():
        lines.append(row(group, "**all**", rate))
        for (g, module), module_rate in stats["modules"].items():
            if g == group:
                lines.append(row(group, module, module_rate))
    survivors = [o for o in outcomes if not o.killed and o.kind != INVALID]
    lines += ["", f"Survivors ({len(survivors)}):", ""]
    lines += [f"- {o.kind}: `{o.mutant.describe()}` — {o.reason}" for o in survivors] or ["- none"]
    invalid = [o for o in outcomes if o.kind == INVALID]
    if invalid:
        lines += ["", f"Not counted ({len(invalid)} do not compile):", ""]
        lines += [f"- `{o.mutant.describe()}`: {o.reason}" for o in invalid]
    lines += ["", "Killed:", ""]
    for o in outcomes:
        if o.killed:
            how = "; ".join(o.failures[:3]) + (" …" if len(o.failures) > 3 else "")
            detail = "; ".join(x for x in (how, o.reason) if x)
            lines.append(f"- {o.kind}: `{o.mutant.describe()}` — {detail}")
    return "\n".join(lines)


def _revision(tree: Path) -> str:
    """The tree's commit, and whether its src/ has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(tree), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"commit {head}{' + uncommitted changes in src/' if dirty else ''}"


def _sizes(args: argparse.Namespace) -> dict[str, int | None]:
    sizes = {g: args.sample for g in GROUPS}
    for group in GROUPS:
        value = getattr(args, f"sample_{group}")
        if value is not None:
            sizes[group] = value
    return {g: (None if n is not None and n < 0 else n) for g, n in sizes.items()}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.mutation",
        description="Seeded arithmetic mutants of the derivations; each must make derive fail.",
    )
    here = Path(__file__).resolve().parents[2]
    parser.add_argument(
        "--tree", type=Path, default=here, help="the repository to mutate (default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    parser.add_argument(
        "--sample",
        type=int,
        default=None,
        help="mutants drawn per group (default: all; -1 also means all)",
    )
    for group in GROUPS:
        parser.add_argument(
            f"--sample-{group}", type=int, default=None, help=f"override --sample for {group}"
        )
    parser.add_argument(
        "--group", action="append", choices=GROUPS, help="only this group (repeatable)"
    )
    parser.add_argument(
        "--module",
        action="append",
        choices=MODULES,
        help="only this derivation module's mutants, left sides and claims (repeatable)",
    )
    parser.add_argument(
        "--where",
        action="append",
        help="only mutants whose description contains this text, e.g. 'weight_rms.py:351' "
        "(repeatable; applied before sampling)",
    )
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once (default: 2)")
    parser.add_argument(
        "--derive-jobs", type=int, default=1, help="derive's own --jobs per mutant (default: 1)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help=f"CPU seconds per derive (default: {DEFAULT_TIMEOUT:g}, or 6 times the unmutated "
        "tree's derive if longer; ten times as much wall time)",
    )
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="the interpreter that runs derive (default: this one)",
    )
    parser.add_argument("--list", action="store_true", help="list the sampled mutants; run none")
    parser.add_argument("--json", type=Path, help="also write the outcomes as JSON here")
    parser.add_argument("--markdown", type=Path, help="also write the report here")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument(
        "--no-explain",
        action="store_true",
        help="do not rebuild a survivor to name the statements it changed",
    )
    parser.add_argument(
        "--reuse-cache",
        action="store_true",
        help="run derive with its cache, each mutant from a copy of the unmutated run's: only "
        "the mutated derivation and those that import it are rebuilt (default: --no-cache)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    tree = args.tree.resolve()
    modules = tuple(args.module or MODULES)
    found = find_mutants(tree, modules)
    sizes = _sizes(args)
    chosen: list[Mutant] = []
    for group in args.group or GROUPS:
        pool = found[group]
        if args.where:
            pool = [m for m in pool if any(w in m.describe() for w in args.where)]
        chosen += sample(pool, sizes[group], args.seed)
    totals = ", ".join(f"{g} {len(found[g])}" for g in GROUPS)
    print(f"mutation sites in {tree}: {totals}; running {len(chosen)}", file=sys.stderr)
    if args.list:
        for mutant in chosen:
            print(f"{mutant.group:8} {mutant.describe()}")
        return 0
    runner = Runner(
        tree,
        args.python,
        args.timeout,
        args.derive_jobs,
        explain=not args.no_explain,
        reuse_cache=args.reuse_cache,
    )
    try:
        runner.prepare()
        print(
            f"reference derive: {runner.reference_seconds:.1f} s, {len(runner.reference)} files"
            f"{' (' + ' '.join(runner.extra) + ')' if runner.extra else ''}",
            file=sys.stderr,
        )
        start = time.perf_counter()
        outcomes = run_mutants(runner, chosen, args.jobs, progress=not args.quiet)
        elapsed = time.perf_counter() - start
    finally:
        runner.close()
    flags = " ".join(a for a in (argv if argv is not None else sys.argv[1:]))
    header = (
        f"## Mutation run: seed {args.seed}, {len(chosen)} mutants, {elapsed:.0f} s\n\n"
        f"`python -m tests.mutation {flags}` on `{tree}` ({_revision(tree)}); "
        f"sites found: {totals}."
    )
    text = report(outcomes, header)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    if args.json:
        stats = summary(outcomes)
        payload = {
            "tree": str(tree),
            "seed": args.seed,
            "sites": {g: len(found[g]) for g in GROUPS},
            "groups": stats["groups"],
            "modules": {f"{g}/{m}": r for (g, m), r in stats["modules"].items()},
            "outcomes": [
                {**dataclasses.asdict(o.mutant), **dataclasses.asdict(o), "mutant": o.mutant.key}
                for o in outcomes
            ],
        }
        args.json.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
