"""A cache of ``adamw-rms derive``'s outputs, keyed by every source that produces them.

What is stored is *outputs*, never SymPy objects (checks hold closures): per derivation, its
verification results (one row per step and check), its step listing and its rendered files
(``<name>.tex``, ``<name>.md``, ``<name>/NN-step.tex``); and the printed estimator kernels.

The key of a derivation is a SHA-256 over the Python, SymPy and mpmath versions and the text of
every module of the package it depends on: its own module, every package module it imports
(transitively, function-level imports included: the checks, rules, algebra, steps, symbols,
LaTeX/presentation modules, ``_source``, ``_assumptions``...), the modules of the derivations it
uses (``from .update_rms import ...``, or ``derivation("update_rms")``: any string constant
naming a derivation), and the renderer (:mod:`adamw_rms.artifacts` and what it imports). The
dependency graph is read from the sources with :mod:`ast`, so editing one derivation changes
only its key and the keys of the derivations that use it. The kernels' key covers
:mod:`adamw_rms.codegen`'s modules and the derivations it names.

Location: ``$ADAMW_RMS_CACHE_DIR``, else ``$XDG_CACHE_HOME/adamw-rms``, else
``~/.cache/adamw-rms`` (outside the source tree). ``ADAMW_RMS_NO_CACHE=1`` or ``derive
--no-cache`` turns it off (nothing read, nothing written). Entries are JSON files written
atomically (temporary file, then ``os.replace``) with a digest of their contents; an entry that
does not parse, whose digest, format, name or key does not match, is ignored (and later
overwritten), never trusted. Only derivations whose every step verified are stored.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "CACHE_FORMAT",
    "Cache",
    "CodeEntry",
    "DerivationEntry",
    "Keys",
    "cache_dir",
    "cache_disabled",
    "registered_names",
    "source_keys",
]

CACHE_FORMAT = 1
PACKAGE = "adamw_rms"
DERIVATIONS = f"{PACKAGE}.derivations"
RENDERER = f"{PACKAGE}.artifacts"
CODEGEN = f"{PACKAGE}.codegen"
# Entries kept per derivation (other worktrees or branches may share the folder).
KEEP_PER_NAME = 6


def cache_dir() -> Path:
    """Where entries live: ``$ADAMW_RMS_CACHE_DIR`` or ``$XDG_CACHE_HOME/adamw-rms``."""
    explicit = os.environ.get("ADAMW_RMS_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "adamw-rms"


def cache_disabled() -> bool:
    """True when ``ADAMW_RMS_NO_CACHE`` is set to anything but ``""``/``0``."""
    return os.environ.get("ADAMW_RMS_NO_CACHE", "") not in ("", "0")


# --- keys: the package's import graph, read from the sources -------------------------------------


_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*\Z")


def _imports_and_literals(data: bytes, is_package: bool) -> dict:
    """The import statements (``[level, module, [names]]``) and identifier-like string literals
    of one source file. A package's ``__init__`` counts only with what it imports when it runs
    (its lazy ``__getattr__`` imports run on demand); a module, with every import it may run."""
    try:
        tree = ast.parse(data)
    except SyntaxError:
        return {"imports": [], "literals": []}
    imports, literals = [], set()
    for node in tree.body if is_package else ast.walk(tree):
        if isinstance(node, ast.Import):
            imports += [[0, alias.name, []] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            imports.append([node.level, node.module or "", [a.name for a in node.names]])
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and _IDENTIFIER.match(node.value)
        ):
            literals.add(node.value)
    return {"imports": imports, "literals": sorted(literals)}


class _Modules:
    """The package's modules on disk: source text, hash and dependencies (read once each)."""

    def __init__(
        self, names: Sequence[str], root: Path | None = None, memo: dict | None = None
    ) -> None:
        # What each source file imports, by its hash (parsing is most of the keys' cost).
        self.memo = memo if memo is not None else {}
        self.memo_changed = False
        self.used: set[str] = set()
        if root is None:
            spec = importlib.util.find_spec(PACKAGE)
            if spec is None or not spec.submodule_search_locations:
                raise RuntimeError(f"cannot locate the {PACKAGE} package")
            root = Path(next(iter(spec.submodule_search_locations)))
        self.root = Path(root)
        self.names = tuple(names)
        self._info: dict[str, tuple[str, tuple[str, ...]]] = {}

    def path(self, module: str) -> Path | None:
        parts = module.split(".")
        if parts[0] != PACKAGE:
            return None
        base = self.root.joinpath(*parts[1:])
        for candidate in (base / "__init__.py", base.with_suffix(".py")):
            if candidate.is_file():
                return candidate
        return None

    def derivation_module(self, name: str) -> str:
        return f"{DERIVATIONS}.{name}"

    def info(self, module: str) -> tuple[str, tuple[str, ...]]:
        """``(sha256 of the source, modules it depends on)``; ``("", ())`` if not a file."""
        if module not in self._info:
            self._info[module] = self._read(module)
        return self._info[module]

    def _read(self, module: str) -> tuple[str, tuple[str, ...]]:
        path = self.path(module)
        if path is None:
            return "", ()
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        is_package = path.name == "__init__.py"
        package = module if is_package else module.rpartition(".")[0]
        found: set[str] = set()
        # The packages above a module run when it is imported.
        parts = module.split(".")
        found.update(".".join(parts[:k]) for k in range(1, len(parts)))
        memo_key = f"{digest}:{int(is_package)}"
        self.used.add(memo_key)
        raw = self.memo.get(memo_key)
        if raw is None:
            raw = self.memo[memo_key] = _imports_and_literals(data, is_package)
            self.memo_changed = True
        for level, name, aliases in raw["imports"]:
            if level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (level - 1)]
                base = ".".join(anchor + ([name] if name else []))
            else:
                base = name
            if base.split(".")[0] != PACKAGE:
                continue
            found.add(base)
            for alias in aliases:
                if self.path(f"{base}.{alias}") is not None:
                    found.add(f"{base}.{alias}")
        if module.startswith(f"{DERIVATIONS}.") or module == CODEGEN:
            # ``derivation("update_rms")`` (or any literal naming a derivation it uses).
            found.update(self.derivation_module(n) for n in raw["literals"] if n in self.names)
        found.discard(module)
        return digest, tuple(sorted(m for m in found if self.path(m) is not None))

    def closure(self, roots: Iterable[str]) -> dict[str, str]:
        """``{module: sha256}`` for the roots and everything they depend on."""
        seen: dict[str, str] = {}
        stack = list(roots)
        while stack:
            module = stack.pop()
            if module in seen:
                continue
            digest, depends = self.info(module)
            seen[module] = digest
            stack.extend(d for d in depends if d not in seen)
        return seen


def _versions() -> dict[str, str]:
    from importlib import metadata

    found = {"format": str(CACHE_FORMAT), "python": sys.version}
    for dist in ("sympy", "mpmath"):
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            version = "unknown"
        spec = importlib.util.find_spec(dist)
        found[dist] = f"{version} at {spec.origin if spec else None}"
    return found


def _digest(parts: Mapping[str, str]) -> str:
    text = json.dumps(dict(sorted(parts.items())), separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Keys:
    """The cache keys of one tree: per derivation, and for the kernels.

    ``uses[name]`` are the other derivations whose modules ``name`` depends on (its build
    order); ``modules[name]`` the package modules its key covers.
    """

    derivations: dict[str, str]
    code: str
    uses: dict[str, tuple[str, ...]]
    modules: dict[str, tuple[str, ...]] = field(repr=False)
    code_uses: tuple[str, ...] = ()
    sizes: dict[str, int] = field(default_factory=dict)  # bytes of each derivation's module


def source_keys(names: Sequence[str], root: Path | None = None, cache: Cache | None = None) -> Keys:
    """The keys of the derivations ``names`` and of the kernels, from the sources on disk.

    ``root`` is the package folder (default: where ``adamw_rms`` is imported from). With a
    ``cache``, what each file imports is remembered there by the file's hash.
    """
    graph = _Modules(names, root, cache.load_imports() if cache is not None else None)
    versions = _versions()
    renderer = graph.closure([RENDERER])
    keys, uses, modules = {}, {}, {}
    for name in names:
        closure = graph.closure([graph.derivation_module(name)]) | renderer
        keys[name] = _digest({**versions, "kind": "derivation", "name": name, **closure})
        uses[name] = tuple(n for n in names if n != name and graph.derivation_module(n) in closure)
        modules[name] = tuple(sorted(closure))
    code_closure = graph.closure([CODEGEN])
    code_uses = tuple(n for n in names if graph.derivation_module(n) in code_closure)
    if not code_uses:
        # The kernels name no derivation we can see: depend on all of them.
        code_closure |= graph.closure(graph.derivation_module(n) for n in names)
        code_uses = tuple(names)
    code = _digest({**versions, "kind": "code", **code_closure})
    sizes = {}
    for name in names:
        path = graph.path(graph.derivation_module(name))
        sizes[name] = path.stat().st_size if path is not None else 0
    if cache is not None and graph.memo_changed:
        cache.store_imports({k: v for k, v in graph.memo.items() if k in graph.used})
    return Keys(keys, code, uses, modules, code_uses, sizes)


# --- entries -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DerivationEntry:
    """What ``derive`` needs of a verified derivation, without building it."""

    name: str
    key: str
    verifications: tuple  # of steps.Verification (CachedVerification when loaded)
    listing: tuple[tuple[str, str, str, str], ...]  # (id, kind, title, label) per step
    tree: dict[str, str]
    verify_ms: float = 0.0


@dataclass(frozen=True)
class CodeEntry:
    key: str
    source: str


def registered_names() -> tuple[str, ...]:
    """``steps.DERIVATION_NAMES``, read from the source (importing steps imports SymPy)."""
    graph = _Modules(())
    path = graph.path(f"{PACKAGE}.steps")
    try:
        tree = ast.parse(path.read_bytes())
        for node in tree.body:
            target = getattr(node, "target", None) or (getattr(node, "targets", None) or [None])[0]
            if isinstance(target, ast.Name) and target.id == "DERIVATION_NAMES":
                names = ast.literal_eval(node.value)
                if isinstance(names, tuple) and all(isinstance(n, str) for n in names):
                    return names
    except (OSError, SyntaxError, ValueError, AttributeError):
        pass
    from .steps import DERIVATION_NAMES

    return DERIVATION_NAMES


def _verification_to_json(v) -> dict:
    def check(c) -> list | None:
        return None if c is None else [c.method, bool(c.passed), c.detail]

    return {
        "step_id": v.step_id,
        "kind": v.kind.value,
        "checks": [check(c) for c in v.checks],
        "claim": check(v.claim),
        "elapsed_ms": float(v.elapsed_ms),
        "declared_erratum": v.declared_erratum,
    }


@dataclass(frozen=True)
class CachedVerification:
    """A stored :class:`~adamw_rms.steps.Verification`: what the report prints, without SymPy.

    Only fully verified derivations are stored, so ``passed`` is always true. :meth:`real`
    rebuilds the :class:`~adamw_rms.steps.Verification` (importing SymPy).
    """

    step_id: str
    kind_value: str
    method: str
    erratum: bool
    elapsed_ms: float
    data: Mapping = field(repr=False, compare=False)
    passed: bool = True
    claim_problem: None = None

    @property
    def checks(self) -> tuple:
        return ()  # all passed: the report lists only failing checks

    def real(self):
        return _verification_from_json(self.data)


def _cached_verification(data: Mapping) -> CachedVerification:
    checks, claim, erratum = data["checks"], data["claim"], data["declared_erratum"]
    if not isinstance(data["step_id"], str) or not (erratum is None or isinstance(erratum, str)):
        raise ValueError("malformed verification")
    # Stored only when verified: every check passed, and the comparison with the source is as
    # declared (the printed formula differs exactly where an erratum is declared).
    expected = [True] * len(checks) + ([erratum is None] if claim is not None else [])
    claims = [claim] if claim is not None else []
    for raw, passed in zip((*checks, *claims), expected, strict=True):
        method, outcome, detail = raw
        if not (isinstance(method, str) and outcome is passed and isinstance(detail, str)):
            raise ValueError("malformed or failing check result")
    if data["kind"] not in (":=", "=", "≈"):
        raise ValueError("unknown kind")
    differs = claim is not None and erratum is not None  # Verification.erratum, when verified
    method = ", ".join(c[0] for c in checks) if checks else "definition"
    return CachedVerification(
        data["step_id"], data["kind"], method, differs, float(data["elapsed_ms"]), data
    )


def _verification_from_json(data: Mapping):
    from .checks import CheckResult
    from .steps import Kind, Verification

    def check(raw) -> CheckResult | None:
        return None if raw is None else CheckResult(raw[0], raw[1], raw[2])

    return Verification(
        data["step_id"],
        Kind(data["kind"]),
        tuple(check(c) for c in data["checks"]),
        check(data["claim"]),
        float(data["elapsed_ms"]),
        data["declared_erratum"],
    )


class Cache:
    """The entries under one folder (:func:`cache_dir` by default). Best effort: a folder that
    cannot be read or written only means nothing is reused or stored."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = (directory or cache_dir()) / f"v{CACHE_FORMAT}"
        self.problems: list[str] = []

    # file names: the key is in the name; the same key is checked again inside the file.
    def _path(self, kind: str, key: str) -> Path:
        return self.directory / f"{kind}-{key}.json"

    def _load(self, kind: str, key: str) -> dict | None:
        path = self._path(kind, key)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, UnicodeDecodeError):
            self.problems.append(f"ignored unreadable cache entry {path.name}")
            return None
        if (
            not isinstance(raw, dict)
            or raw.get("format") != CACHE_FORMAT
            or raw.get("key") != key
            or raw.get("kind") != kind.split("-")[0]
            or not isinstance(raw.get("payload"), dict)
            or raw.get("digest") != _payload_digest(raw["payload"])
        ):
            self.problems.append(f"ignored corrupt or foreign cache entry {path.name}")
            return None
        return raw["payload"]

    def _store(self, kind: str, key: str, payload: dict, prune: str) -> None:
        record = {
            "format": CACHE_FORMAT,
            "kind": kind.split("-")[0],
            "key": key,
            "digest": _payload_digest(payload),
            "payload": payload,
        }
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=".entry-", dir=self.directory)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    json.dump(record, stream, ensure_ascii=False, separators=(",", ":"))
                os.replace(temporary, self._path(kind, key))
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
            self._prune(prune)
        except OSError as error:
            self.problems.append(f"cache not written ({error})")

    def _prune(self, pattern: str) -> None:
        entries = sorted(
            self.directory.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True
        )
        for old in entries[KEEP_PER_NAME:]:
            old.unlink(missing_ok=True)

    def load_derivation(self, name: str, key: str) -> DerivationEntry | None:
        payload = self._load(f"derivation-{name}", key)
        if payload is None:
            return None
        try:
            if payload["name"] != name:
                raise ValueError("entry of another derivation")
            tree = payload["tree"]
            if not all(isinstance(k, str) and isinstance(v, str) for k, v in tree.items()):
                raise ValueError("malformed tree")
            listing = tuple(tuple(str(x) for x in row) for row in payload["listing"])
            if any(len(row) != 4 for row in listing):
                raise ValueError("malformed listing")
            verifications = tuple(_cached_verification(v) for v in payload["verifications"])
            if len(verifications) != len(listing):
                raise ValueError("one verification per step")
            verify_ms = float(payload.get("verify_ms", 0.0))
        except (KeyError, TypeError, ValueError, AttributeError):
            self.problems.append(f"ignored malformed cache entry for {name}")
            return None
        return DerivationEntry(name, key, verifications, listing, dict(tree), verify_ms)

    def store_derivation(self, entry: DerivationEntry) -> None:
        if not all(v.passed for v in entry.verifications):
            raise ValueError(f"refusing to cache {entry.name}: not every step verifies")
        payload = {
            "name": entry.name,
            "verifications": [
                v.data if isinstance(v, CachedVerification) else _verification_to_json(v)
                for v in entry.verifications
            ],
            "listing": [list(row) for row in entry.listing],
            "tree": entry.tree,
            "verify_ms": entry.verify_ms,
        }
        self._store(f"derivation-{entry.name}", entry.key, payload, f"derivation-{entry.name}-*")

    def load_listing(self, name: str, key: str) -> tuple[tuple[str, ...], ...] | None:
        """The ``(id, kind, title, label)`` rows ``steps`` printed for this key, if stored."""
        payload = self._load(f"listing-{name}", key)
        if payload is None:
            return None
        try:
            listing = tuple(tuple(str(x) for x in row) for row in payload["listing"])
            if payload["name"] != name or any(len(row) != 4 for row in listing):
                raise ValueError("malformed listing")
        except (KeyError, TypeError, ValueError):
            self.problems.append(f"ignored malformed listing entry for {name}")
            return None
        return listing

    def store_listing(self, name: str, key: str, listing: Sequence[Sequence[str]]) -> None:
        """Remember a derivation's step listing (``steps`` needs no build next time)."""
        payload = {"name": name, "listing": [list(row) for row in listing]}
        self._store(f"listing-{name}", key, payload, f"listing-{name}-*")

    def load_imports(self) -> dict:
        """The memo of what each source file imports (by its hash); empty if unusable."""
        payload = self._load("imports", "by-file-hash")
        if payload is None:
            return {}
        for raw in payload.values():
            if not (
                isinstance(raw, dict)
                and isinstance(raw.get("imports"), list)
                and isinstance(raw.get("literals"), list)
            ):
                return {}
        return dict(payload)

    def store_imports(self, memo: dict) -> None:
        self._store("imports", "by-file-hash", memo, "imports-*")

    def load_code(self, key: str) -> CodeEntry | None:
        payload = self._load("code", key)
        if payload is None:
            return None
        if not isinstance(payload.get("source"), str):
            self.problems.append("ignored malformed cache entry for the kernels")
            return None
        return CodeEntry(key, payload["source"])

    def store_code(self, entry: CodeEntry) -> None:
        self._store("code", entry.key, {"source": entry.source}, "code-*")

    def estimates(self, name: str) -> dict[str, float]:
        """Milliseconds per step id from the newest entry of ``name`` (any key): a cost guess
        for scheduling, never a result."""
        try:
            newest = max(
                self.directory.glob(f"derivation-{name}-*.json"), key=lambda p: p.stat().st_mtime
            )
            rows = json.loads(newest.read_text(encoding="utf-8"))["payload"]["verifications"]
            return {str(r["step_id"]): float(r["elapsed_ms"]) for r in rows}
        except (ValueError, OSError, KeyError, TypeError):
            return {}


def _payload_digest(payload: Mapping) -> str:
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
