"""``make figures``: seeded and byte-stable, all-or-nothing, loud on failure; the plot style."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from adamw_rms import figures
from adamw_rms.plot import accuracy_grid, read_accuracy_rows


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("figures")
    assert figures.main(["--size", "small", "--out", str(out)]) == 0
    return out


def test_every_figure_is_written(small_run: Path) -> None:
    written = sorted(path.name for path in small_run.iterdir())
    assert written == sorted(f"{name}.png" for name in figures.FIGURES)
    for path in small_run.iterdir():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 10_000


def test_figures_are_byte_stable(small_run: Path, tmp_path: Path) -> None:
    assert figures.main(["--size", "small", "--out", str(tmp_path)]) == 0
    for name in figures.FIGURES:
        first = (small_run / f"{name}.png").read_bytes()
        assert (tmp_path / f"{name}.png").read_bytes() == first, name


def test_a_failing_figure_fails_loudly_and_keeps_the_old_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    previous = tmp_path / "trajectory.png"
    previous.write_bytes(b"previous")

    def broken(size: str) -> None:
        raise RuntimeError("no data")

    monkeypatch.setitem(figures.FIGURES, "accuracy_map", broken)
    assert figures.main(["--size", "small", "--out", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert "figure 'accuracy_map' could not be produced: no data" in error
    assert previous.read_bytes() == b"previous"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["trajectory.png"]


def test_unknown_figure_and_bad_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        figures.main(["nonsense", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "unknown figure(s) nonsense" in capsys.readouterr().err
    monkeypatch.setenv("ADAMW_RMS_SIZE", "huge")
    assert figures.main(["trajectory", "--out", str(tmp_path)]) == 1
    assert "ADAMW_RMS_SIZE must be one of ('small', 'full'); got 'huge'" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_accuracy_grid_is_the_csv() -> None:
    rows = read_accuracy_rows()
    matrix, row_labels, column_labels = accuracy_grid(rows, bias_correction=False)
    assert matrix.shape == (len(row_labels), len(column_labels)) == (12, 20)
    assert not any(math.isnan(value) for value in matrix.flat)
    expected = next(
        r["rel_error"]
        for r in rows
        if r["formula"] == "theta_rms" and r["beta1"] == 0.9 and r["beta2"] == 0.999
        and r["snr"] == 1.0 and r["t_decay"] == 3.0 and r["bias_correction"] == 0.0
        and r["decay"] == 1e-3 and r["init_rms"] == 0.0
    )  # fmt: skip
    assert matrix[2 * 3 + 2, 2 * 5 + 3] == expected  # t_decay = 3 is the 4th of 5 per SNR
    with pytest.raises(ValueError, match="no accuracy points for formula='nope'"):
        accuracy_grid(rows, formula="nope")


def test_readme_shows_committed_figures() -> None:
    import re

    root = Path(__file__).parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme)
    assert len(images) >= 3
    for image in images:
        assert (root / image).is_file(), image
        assert Path(image).stem in figures.FIGURES
