"""``adamw-rms accuracy``: the small size end to end, executors, resume, and where it writes.

Every run here is ``--size small`` into a temporary folder (seconds); the bytes of its files
are the check: the same tasks give the same CSVs whatever runs them.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from adamw_rms.accuracy import cli, eps, grid, muon, schedules, sign, tasks
from adamw_rms.accuracy.precision import next_n, until_precise
from adamw_rms.data import FILES
from adamw_rms.data import grids as accuracy_settings

pytest.importorskip("numba")

ROOT = Path(__file__).resolve().parent.parent
# Without PyTorch the pipeline skips Muon's study (tests/test_accuracy_muon.py checks the skip).
OUTPUTS = (
    *(name for study, name in FILES.items() if study != "muon" or muon.missing() is None),
    "accuracy.md",
)


def _run(*argv: str) -> int:
    return cli.main(["--size", "small", *argv])


def _files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in OUTPUTS}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The small size, every study, in this process."""
    out = tmp_path_factory.mktemp("small-1")
    assert _run("--out", str(out), "--workers", "1") == 0
    return _files(out)


def test_small_size_writes_every_file(small):
    assert all(small[name] for name in OUTPUTS)
    assert small["accuracy.md"].startswith(b"# Measured accuracy of the formulas")
    assert b"--size small" in small["accuracy.md"]


def test_a_second_run_with_two_workers_writes_the_same_bytes(small, tmp_path):
    assert _run("--out", str(tmp_path), "--workers", "2") == 0
    assert _files(tmp_path) == small


def test_a_dask_cluster_writes_the_same_bytes(small, tmp_path):
    distributed = pytest.importorskip(
        "distributed", reason="dask.distributed not installed (extra 'distributed')"
    )
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        assert _run("--out", str(tmp_path), "--scheduler", cluster.scheduler_address) == 0
    assert _files(tmp_path) == small


def test_resume_runs_only_the_tasks_not_finished(small, tmp_path, monkeypatch, capsys):
    calls = []
    real = grid.run

    def interrupted(task):
        calls.append(task.index)
        if task.index == 5:
            raise RuntimeError("interrupted")  # the run stops after five tasks
        return real(task)

    monkeypatch.setattr(grid, "run", interrupted)
    with pytest.raises(RuntimeError, match="interrupted"):
        _run("--part", "grid", "--out", str(tmp_path), "--workers", "1")
    assert calls == [0, 1, 2, 3, 4, 5]
    monkeypatch.setattr(grid, "run", lambda task: calls.append(task.index) or real(task))
    capsys.readouterr()
    assert _run("--part", "grid", "--out", str(tmp_path), "--workers", "1") == 0
    assert calls[6:] == [5, 6, 7]
    assert "5 of 8 tasks already finished" in capsys.readouterr().err
    assert (tmp_path / FILES["grid"]).read_bytes() == small[FILES["grid"]]
    # One task's file gone: only that task runs again; --fresh runs them all.
    (stored,) = (tmp_path / cli.STORE).glob("grid-0003-*.json")
    stored.unlink()
    assert _run("--part", "grid", "--out", str(tmp_path), "--workers", "1") == 0
    assert calls[9:] == [3]
    assert _run("--part", "grid", "--out", str(tmp_path), "--workers", "1", "--fresh") == 0
    assert calls[10:] == list(range(8))
    assert (tmp_path / FILES["grid"]).read_bytes() == small[FILES["grid"]]


def test_part_report_rewrites_only_the_report(small, tmp_path):
    for name in OUTPUTS[:-1]:
        (tmp_path / name).write_bytes(small[name])
    assert _run("--part", "report", "--out", str(tmp_path)) == 0
    assert _files(tmp_path) == small
    assert not (tmp_path / cli.STORE).exists()


def test_part_report_reproduces_the_committed_report(tmp_path):
    data = ROOT / "src/adamw_rms/data"
    for name in FILES.values():
        (tmp_path / name).write_bytes((data / name).read_bytes())
    assert cli.main(["--part", "report", "--out", str(tmp_path)]) == 0
    committed = (ROOT / "docs/accuracy.md").read_bytes()
    assert (tmp_path / "accuracy.md").read_bytes() == committed


def test_refuses_to_write_into_an_installed_package(tmp_path, monkeypatch, capsys):
    installed = tmp_path / "lib/python3.11/site-packages/adamw_rms"
    (installed / "data").mkdir(parents=True)
    monkeypatch.setattr(cli, "PACKAGE_DIR", installed)
    assert cli.main(["--part", "report"]) == 2
    assert "installed package" in capsys.readouterr().err
    assert list((installed / "data").iterdir()) == []


def test_checkout_root():
    assert cli.checkout_root() == ROOT
    assert cli.checkout_root(Path("/usr/lib/python3/dist-packages/adamw_rms")) is None


def test_checkout_root_needs_a_pyproject(tmp_path):
    package = tmp_path / "src/adamw_rms"
    package.mkdir(parents=True)
    assert cli.checkout_root(package) is None
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    assert cli.checkout_root(package) == tmp_path


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--size", "small"], "must not replace the committed data"),
        (["--workers", "0", "--out", "x"], "--workers must be at least 1"),
        (["--workers", "2", "--scheduler", "tcp://h:1", "--out", "x"], "not both"),
    ],
)
def test_refusals_exit_2_and_write_nothing(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    before = {p: p.stat().st_mtime_ns for p in (ROOT / "src/adamw_rms/data").glob("*.csv")}
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err
    assert {p: p.stat().st_mtime_ns for p in before} == before
    assert list(tmp_path.iterdir()) == []


def test_both_entry_points_show_the_same_options():
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    outputs = [
        subprocess.run(
            [sys.executable, *argv, "--help"], capture_output=True, text=True, env=env, check=True
        ).stdout
        for argv in (["-m", "adamw_rms.accuracy"], ["-m", "adamw_rms", "accuracy"])
    ]
    for text in outputs:
        for option in ("--size", "--part", "--out", "--workers", "--scheduler", "--fresh"):
            assert option in text


def test_plot_does_not_import_the_measurement():
    code = (
        "import sys\n"
        "from adamw_rms.plot import accuracy_grid, read_accuracy_rows\n"
        "accuracy_grid(read_accuracy_rows())\n"
        "assert 'adamw_rms.accuracy' not in sys.modules, sorted(sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


# ---- tasks ---------------------------------------------------------------------------------------


def test_tasks_are_picklable_and_seeded_by_study_and_index():
    for module in (grid, sign, schedules, muon):
        for task in module.tasks("small"):
            assert pickle.loads(pickle.dumps(task)) == task
    assert [t.seed for t in grid.tasks("full")] == [1000 + k for k in range(48)]
    # A sign task carries four runs (two lr·wd, two init_rms) on one sweep: one seed a task.
    assert [t.seed for t in sign.tasks("full")] == [9000 + k for k in range(16)]
    # The eps study: one task per gradient std, all on the same draws (one seed).
    assert [t["grad_std"] for t in eps.tasks("full")] == list(
        accuracy_settings.EPS_STUDY["grad_std"]
    )
    assert {t.seed for t in eps.tasks("full")} == {eps.SEED}


def test_the_sweep_at_a_tiny_gradient_std_is_the_rescaled_sweep():
    # The eps study simulates sigma down to 1e-9 with eps = 1e-8 (v ~ 1e-18): on the same
    # draws this is the sweep at sigma = 1 with eps = 10 (only eps / sigma enters), to rounding.
    from adamw_rms.simulation.sweep import Variant, sweep

    def run(grad_std: float, eps_value: float):
        variants = [Variant(1e-2, 0.1, bias, 0.0, eps=eps_value) for bias in (False, True)]
        return sweep(variants, beta1=0.9, beta2=0.99, steps=600, n=512, grad_std=grad_std,
                     record_steps=(60, 600), seed=5)  # fmt: skip

    for sigma in (1e-9, 1e-6):
        tiny, unit = run(sigma, 1e-8), run(1.0, 1e-8 / sigma)
        for name in ("weight_rms", "precise_weight_rms", "precise_weight_rms_se"):
            # (the SE is a difference of near-equal sums: 1e-11 relative rounding there)
            assert getattr(tiny, name) == pytest.approx(getattr(unit, name), rel=1e-9, abs=0)
        for (bias, _), (rms, se) in tiny.update_rms.items():
            assert (rms, se) == pytest.approx(unit.update_rms[(bias, 1e-8 / sigma)], rel=1e-9)


def test_a_task_key_changes_with_the_task_and_the_study_version(monkeypatch):
    first, second = grid.tasks("small")[:2]
    assert first.key() == grid.tasks("small")[0].key() != second.key()
    before = first.key()
    monkeypatch.setattr(grid, "VERSION", grid.VERSION + 1)
    assert first.key() != before


def test_a_damaged_stored_task_is_run_again(tmp_path):
    task = schedules.tasks("small")[0]
    store = tasks.TaskStore(tmp_path)
    store.save(task, [{"x": 1.5, "y": float("nan")}])
    rows = store.load(task)
    assert rows[0]["x"] == 1.5 and rows[0]["y"] != rows[0]["y"]
    store.path(task).write_text("{not json", encoding="utf-8")
    assert store.load(task) is None


def test_run_tasks_rejects_bad_workers():
    with pytest.raises(ValueError, match="workers must be in"):
        tasks.run_tasks([], workers=0)


def test_a_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"adamw-rms\[distributed\]"):
        tasks.run_tasks(grid.tasks("small")[:1], scheduler="tcp://127.0.0.1:1")


# ---- the precision loop --------------------------------------------------------------------------


class _Counts:
    """A fake measurement: coordinates counted, SE 1/sqrt(n); records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[int, int]] = []

    def measure(self, first: int, last: int) -> int:
        self.asked.append((first, last))
        return last - first


def test_until_precise_measures_only_the_new_coordinates():
    fake = _Counts()
    result, n = until_precise(
        fake.measure, n_start=512, target_rel_se=0.01, worst=lambda count: count**-0.5,
        combine=lambda a, b: a + b,
    )  # fmt: skip
    assert fake.asked == [(0, 512), (512, next_n(512, 512**-0.5, 0.01))]
    assert result == n == 10752 and n**-0.5 <= 0.01


def test_until_precise_stops_at_once_when_precise():
    fake = _Counts()
    assert until_precise(
        fake.measure, n_start=2**17, target_rel_se=0.01, worst=lambda c: c**-0.5,
        combine=lambda a, b: a + b,
    ) == (2**17, 2**17)  # fmt: skip
    assert fake.asked == [(0, 2**17)]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_start": 1, "target_rel_se": 0.01}, "n_start must be an integer in"),
        ({"n_start": 512, "target_rel_se": 0.0}, "target_rel_se must be in"),
        ({"n_start": 512, "target_rel_se": float("nan")}, "target_rel_se must be in"),
    ],
)
def test_until_precise_validates(options, message):
    with pytest.raises(ValueError, match=message):
        until_precise(lambda a, b: b - a, worst=lambda c: 1.0, combine=max, **options)


def test_until_precise_refuses_a_standard_error_that_is_not_finite():
    with pytest.raises(ValueError, match="is nan"):
        until_precise(
            lambda a, b: b - a, n_start=512, target_rel_se=0.01, worst=lambda c: float("nan"),
            combine=max,
        )  # fmt: skip


def test_the_controlled_sweep_refuses_a_tiny_start():
    from adamw_rms.accuracy.precision import precise_sweep
    from adamw_rms.simulation.sweep import Variant

    with pytest.raises(ValueError, match="n_start must be at least 512"):
        precise_sweep([Variant(1e-2, 0.1)], n_start=2, target_rel_se=0.01, beta1=0.9, steps=10,
                      record_steps=(10,))  # fmt: skip
