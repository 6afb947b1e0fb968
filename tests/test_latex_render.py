"""Render checks for the generated derivations/ files.

- Every per-step fragment ``derivations/<name>/NN-<step>.tex`` must parse with KaTeX in display
  mode (one node process for the whole batch, see ``tests/latex_check.mjs``).
- Every standalone document ``derivations/<name>.tex`` must compile with pdflatex, twice, with no
  undefined references.

Missing tools (node + node_modules/katex, pdflatex) skip these tests locally, with the reason shown
by ``-ra``; under ``CI=true`` they fail instead, so CI can never pass them vacuously.
A missing or empty ``derivations/`` is a failure, not a skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.latex

REPO = Path(__file__).resolve().parent.parent
DERIVATIONS = REPO / "derivations"
KATEX_SCRIPT = Path(__file__).resolve().parent / "latex_check.mjs"
NO_DERIVATIONS = "no generated files in derivations/: run `adamw-rms derive` first"
PDFLATEX_TIMEOUT_S = 60
KATEX_TIMEOUT_S = 120


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _missing_tool(reason: str) -> None:
    """Skip locally, fail in CI (where the tool must have been installed by .ci/run)."""
    if _in_ci():
        pytest.fail(f"{reason} (CI=true, so this is a failure, not a skip)")
    pytest.skip(reason)


def _fragments() -> list[Path]:
    return sorted(DERIVATIONS.glob("*/*.tex")) if DERIVATIONS.is_dir() else []


def _documents() -> list[Path]:
    return sorted(DERIVATIONS.glob("*.tex")) if DERIVATIONS.is_dir() else []


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


# ---------------------------------------------------------------------------------------------
# KaTeX
# ---------------------------------------------------------------------------------------------


def test_fragments_parse_with_katex() -> None:
    fragments = _fragments()
    if not fragments:
        pytest.fail(NO_DERIVATIONS)

    node = shutil.which("node")
    if node is None:
        _missing_tool("node not found on PATH (install Node.js, then `make node-deps`)")
    if not (REPO / "node_modules" / "katex" / "package.json").is_file():
        _missing_tool("node_modules/katex missing (run `npm ci` or `make node-deps`)")

    items = [{"name": _rel(p), "tex": p.read_text(encoding="utf-8")} for p in fragments]
    proc = subprocess.run(
        [node, str(KATEX_SCRIPT)],
        input=json.dumps(items),
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=KATEX_TIMEOUT_S,
        check=False,
    )
    try:
        result = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"latex_check.mjs exited {proc.returncode} without JSON output\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    if "error" in result:
        pytest.fail(f"latex_check.mjs failed: {result['error']}\nstderr:\n{proc.stderr}")

    failures = result["failures"]
    if failures:
        lines = [f"{len(failures)}/{result['total']} fragment(s) fail KaTeX {result['katex']}:"]
        lines += [f"  {f['name']}: {f['error']}" for f in failures]
        pytest.fail("\n".join(lines))
    assert proc.returncode == 0, proc.stderr
    assert result["total"] == len(fragments)


# ---------------------------------------------------------------------------------------------
# pdflatex
# ---------------------------------------------------------------------------------------------

_DOCUMENTS = _documents()
# Computed at import time; with nothing generated yet, one sentinel case fails with a clear
# message instead of an empty parametrization (which pytest would silently skip).
_DOC_PARAMS = (
    [pytest.param(p, id=p.name) for p in _DOCUMENTS]
    if _DOCUMENTS
    else [pytest.param(None, id="no-derivations")]
)

_UNDEFINED_REF_MARKERS = ("LaTeX Warning: Reference", "There were undefined references")


def _run_pdflatex(pdflatex: str, workdir: Path, tex_name: str) -> subprocess.CompletedProcess:
    cmd = [pdflatex, "-interaction=nonstopmode", "-halt-on-error", "-file-line-error", tex_name]
    try:
        return subprocess.run(
            cmd,
            cwd=workdir,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=PDFLATEX_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"pdflatex {tex_name} timed out after {PDFLATEX_TIMEOUT_S} s")


def _log_tail(log: Path, n: int = 40) -> str:
    if not log.is_file():
        return f"(no {log.name} written)"
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(lines[-n:])


@pytest.mark.parametrize("document", _DOC_PARAMS)
def test_documents_compile_with_pdflatex(document: Path | None, tmp_path: Path) -> None:
    if document is None:
        pytest.fail(NO_DERIVATIONS)

    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        _missing_tool("pdflatex not found (apt-get install texlive-latex-base)")

    shutil.copy2(document, tmp_path / document.name)
    log = tmp_path / document.with_suffix(".log").name
    for run in (1, 2):  # second run resolves \eqref / \ref from the .aux file
        proc = _run_pdflatex(pdflatex, tmp_path, document.name)
        if proc.returncode != 0:
            pytest.fail(
                f"pdflatex run {run} on {_rel(document)} exited {proc.returncode}; "
                f"last 40 log lines:\n{_log_tail(log)}"
            )

    text = log.read_text(encoding="utf-8", errors="replace")
    bad = [ln for ln in text.splitlines() if any(m in ln for m in _UNDEFINED_REF_MARKERS)]
    if bad:
        pytest.fail(
            f"{_rel(document)} has undefined references:\n"
            + "\n".join(bad)
            + f"\nlast 40 log lines:\n{_log_tail(log)}"
        )
    assert (tmp_path / document.with_suffix(".pdf").name).is_file()
