"""The extras install what their tools need; notebook prose quotes no measured numbers."""

from __future__ import annotations

import importlib.util
import inspect
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
EXTRAS = PYPROJECT["project"]["optional-dependencies"]
# A requirement's distribution name: what comes before any version specifier or extra.
NAME = re.compile(r"^\s*([A-Za-z0-9._-]+)")


def _names(extra: str) -> set[str]:
    return {NAME.match(requirement).group(1).lower() for requirement in EXTRAS[extra]}


def test_notebooks_extra_covers_jupytext_execute():
    # `jupytext --execute` imports nbconvert's ExecutePreprocessor and starts an ipykernel;
    # the notebooks themselves import matplotlib.
    assert {"jupytext", "nbconvert", "nbclient", "ipykernel", "matplotlib"} <= _names("notebooks")


@pytest.mark.skipif(importlib.util.find_spec("jupytext") is None, reason="jupytext not installed")
def test_jupytext_execute_still_runs_through_nbconvert():
    # The reason nbconvert is in the extra: if jupytext ever executes another way, revisit it.
    import jupytext.cli

    assert "from nbconvert.preprocessors import ExecutePreprocessor" in inspect.getsource(
        jupytext.cli
    )


def test_torch_extra_is_a_range_and_the_makefile_pins_its_wheel_first():
    (torch,) = [r for r in EXTRAS["torch"] if r.startswith("torch")]
    assert "==" not in torch and ">=" in torch
    # The monitor's compiled CPU pass comes with the extra.
    assert "numba" in EXTRAS["torch"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    pin = re.search(r"^TORCH_PIN \?= torch==(\S+)$", makefile, re.M)
    assert pin is not None
    recipe = makefile[makefile.index("$(VENV_STAMP): pyproject.toml") :]
    # The pinned wheel is installed before the extras, so their range is already satisfied.
    assert recipe.index("'$(TORCH_PIN)'") < recipe.index("-e '.[$(EXTRAS)]'")
    specifiers = pytest.importorskip("packaging.specifiers")
    assert pin.group(1) in specifiers.SpecifierSet(torch.removeprefix("torch"))


NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))


def _markdown(path: Path) -> str:
    """The markdown cells of a jupytext percent notebook, comment markers removed."""
    text, inside = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# %%"):
            inside = line.startswith("# %% [markdown]")
        elif inside:
            text.append(line.removeprefix("#").strip())
    return "\n".join(text)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_prose_types_no_percentages(path):
    # Measured errors change with the notebook's size and with the data: the code cells print
    # them from the computed values, and the prose points there.
    assert not re.findall(r"\d\s*%", _markdown(path))
