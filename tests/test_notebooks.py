"""Execute every notebook (jupytext source -> temporary .ipynb -> nbclient) at the small size.

A failing cell fails the test; so does any warning: a first cell turns warnings into errors in
the kernel, as the suite does in this process, and any stderr output is reported.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

pytestmark = pytest.mark.notebook

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("[0-9][0-9]_*.py"))
STRICT_WARNINGS = "import warnings\nwarnings.simplefilter('error')"
# Restored before shutdown, so that the kernel's own deprecation notices on exit do not count.
RELAXED_WARNINGS = "warnings.resetwarnings()"


def test_the_four_notebooks_exist() -> None:
    assert [path.stem[:2] for path in NOTEBOOKS] == ["01", "02", "03", "04"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_executes_cleanly(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The kernel inherits this environment: the small size, and Jupyter's own paths kept out of
    # the user's home (and free of jupyter_core's platformdirs deprecation warning).
    monkeypatch.setenv("ADAMW_RMS_SIZE", os.environ.get("ADAMW_RMS_SIZE", "small"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = jupytext.read(path)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(STRICT_WARNINGS))
    notebook.cells.append(nbformat.v4.new_code_cell(RELAXED_WARNINGS))
    started = time.perf_counter()
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    elapsed = time.perf_counter() - started
    errors = []
    for number, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                errors.append(f"cell {number}: {output['text'].strip()}")
    assert not errors, "\n".join(errors)
    figures = sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )
    print(f"{path.name}: {elapsed:.1f} s, {len(notebook.cells)} cells, {figures} figures")
