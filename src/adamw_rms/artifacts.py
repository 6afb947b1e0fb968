"""The generated tree ``derivations/``: render it, compare it, and replace it atomically."""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # comparing and writing need no SymPy (derive's cache reuses rendered files)
    from .steps import Derivation

__all__ = [
    "ArtifactError",
    "differences",
    "file_differences",
    "render",
    "render_one",
    "replace_file_atomically",
    "write_atomically",
    "write_file_atomically",
]


class ArtifactError(RuntimeError):
    """The output folder cannot be (re)written safely."""


def render(derivations: Iterable[Derivation]) -> dict[str, str]:
    """Every generated file, ``{relative path: text}``: document, Markdown and fragments."""
    tree: dict[str, str] = {}
    for d in derivations:
        tree.update(render_one(d))
    return tree


def render_one(d: Derivation) -> dict[str, str]:
    """The files of one derivation; they depend on no other (``derive`` caches them apart)."""
    from .latex import fragments

    tree = {f"{d.name}.tex": d.latex(), f"{d.name}.md": d.markdown()}
    for filename, text in fragments(d).items():
        tree[f"{d.name}/{filename}"] = text
    return tree


def _existing(out: Path) -> dict[str, str]:
    if not out.is_dir():
        return {}
    return {
        path.relative_to(out).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(out.rglob("*"))
        if path.is_file()
    }


def differences(tree: Mapping[str, str], out: Path, context: int = 2) -> list[str]:
    """A summary of how ``out`` differs from ``tree``: missing, extra and changed files."""
    existing = _existing(out)
    lines: list[str] = []
    for path in sorted(set(tree) - set(existing)):
        lines.append(f"missing: {path}")
    for path in sorted(set(existing) - set(tree)):
        lines.append(f"not generated (stale): {path}")
    for path in sorted(set(tree) & set(existing)):
        if tree[path] != existing[path]:
            lines.append(f"differs: {path}")
            diff = difflib.unified_diff(
                existing[path].splitlines(),
                tree[path].splitlines(),
                f"committed/{path}",
                f"derived/{path}",
                n=context,
                lineterm="",
            )
            lines.extend("    " + line for line in list(diff)[:12])
    return lines


def _check_owned(out: Path, tree: Mapping[str, str]) -> None:
    # The folder is replaced whole; refuse to delete anything this package did not write.
    if not out.exists():
        return
    if not out.is_dir():
        raise ArtifactError(f"{out} exists and is not a folder")
    owned_tops = {path.split("/")[0] for path in tree}
    strangers = sorted(p.name for p in out.iterdir() if p.name not in owned_tops)
    if strangers:
        raise ArtifactError(
            f"refusing to replace {out}: it holds files derive did not write: "
            f"{', '.join(strangers)}"
        )


def replace_file_atomically(path: Path, write: Callable[[str], object]) -> None:
    """Replace one file by what ``write(temporary)`` writes to the temporary path it is given
    (in the same folder), then ``os.replace``; nothing is left behind if ``write`` fails."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    os.close(handle)
    try:
        write(temporary)
        # mkstemp creates the file 0600; give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_file_atomically(text: str, path: Path) -> None:
    """Replace one file by ``text`` (:func:`replace_file_atomically`)."""

    def write(temporary: str) -> None:
        with open(temporary, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)

    replace_file_atomically(path, write)


def file_differences(text: str, path: Path) -> list[str]:
    """How the file at ``path`` differs from ``text`` (empty when identical)."""
    if not path.is_file():
        return [f"missing: {path}"]
    existing = path.read_text(encoding="utf-8")
    if existing == text:
        return []
    diff = difflib.unified_diff(
        existing.splitlines(),
        text.splitlines(),
        f"committed/{path.name}",
        f"derived/{path.name}",
        n=2,
        lineterm="",
    )
    return [f"differs: {path}", *("    " + line for line in list(diff)[:12])]


def write_atomically(tree: Mapping[str, str], out: Path) -> None:
    """Replace ``out`` by ``tree`` in one step: on any failure the old folder stays intact.

    Everything is written into a temporary sibling folder first, which is then swapped in by
    two renames on the same file system.
    """
    out = out.resolve()
    _check_owned(out, tree)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-new-", dir=out.parent))
    backup = out.with_name(f".{out.name}-old-{os.getpid()}")
    try:
        for relative, text in tree.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
        if out.exists():
            os.rename(out, backup)
        try:
            os.rename(staging, out)
        except OSError:
            if backup.exists():
                os.rename(backup, out)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(backup, ignore_errors=True)
