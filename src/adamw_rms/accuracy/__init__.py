"""Measure every formula's accuracy against simulation (``adamw-rms accuracy``).

Six studies, one module each -- :mod:`.grid` (AdamW on ``GRID``), :mod:`.eps`,
:mod:`.sign` (SignSGDMW), :mod:`.schedules`, :mod:`.optimizers` (Lion, SGD with momentum,
Adam with L2) and :mod:`.muon` (the real ``torch.optim.Muon``; skipped without PyTorch) --
with the same three functions:

* ``tasks(size)``: independent, picklable :class:`~.tasks.Task` objects (seeded per task);
* ``run(task)``: the task's rows, a pure function of the task; which formulas a point measures
  is the registry's answer (:mod:`adamw_rms.formulas`);
* ``report(rows, size)``: the study's section of ``accuracy.md``.

:func:`.tasks.run_tasks` runs tasks in this process, in local processes or on a dask cluster,
with the same bits and resumable; :func:`.precision.until_precise` raises the number of
coordinates until every point's standard error meets the target; :func:`.report.document`
assembles ``accuracy.md`` from the CSVs. The grids and the CSV format live with the data
(:mod:`adamw_rms.data`).

Examples
--------
>>> from adamw_rms.accuracy import grid
>>> [len(grid.tasks(size)) for size in ("full", "small")]
[48, 8]
>>> task = grid.tasks("small")[0]
>>> task.seed, task["beta1"], task["beta2"], task["snr"], task.n_start
(1000, 0.0, 0.95, 0.0, 2048)
"""

from __future__ import annotations

from dataclasses import replace
from importlib import import_module
from pathlib import Path
from typing import Any

from ..data import (
    COLUMNS,
    EPS_COLUMNS,
    EPS_STUDY,
    GRID,
    NO_DECAY_LR,
    SCHEDULE_COLUMNS,
    SCHEDULE_RECORD,
    SCHEDULE_RUNS,
    SCHEDULE_STEPS,
    SIGN_GRID,
    TARGET_REL_SE,
    WEIGHT_DECAY,
    read_csv,
    read_schedule_csv,
    write_csv,
)
from .cli import main
from .precision import until_precise
from .report import document
from .sign import SIGN_FORMULAS
from .tasks import STUDIES, Task, run_tasks

__all__ = [
    "COLUMNS",
    "EPS_COLUMNS",
    "EPS_STUDY",
    "GRID",
    "NO_DECAY_LR",
    "SCHEDULE_COLUMNS",
    "SCHEDULE_RECORD",
    "SCHEDULE_RUNS",
    "SCHEDULE_STEPS",
    "SIGN_FORMULAS",
    "SIGN_GRID",
    "STUDIES",
    "TARGET_REL_SE",
    "WEIGHT_DECAY",
    "Task",
    "document",
    "main",
    "measure",
    "read_csv",
    "read_schedule_csv",
    "run_tasks",
    "until_precise",
    "write_csv",
]


def measure(
    study: str = "grid",
    *,
    size: str = "full",
    estimator: str = "controlled",
    workers: int | None = None,
    scheduler: str | None = None,
    resume_dir: Path | None = None,
    fresh: bool = False,
    progress: bool | None = None,
) -> list[dict[str, Any]]:
    """Every row of one study, in task order (what ``adamw-rms accuracy`` writes to its CSV).

    Parameters
    ----------
    study
        One of :data:`STUDIES`: ``"grid"``, ``"eps"``, ``"sign"``, ``"schedules"``,
        ``"optimizers"`` or ``"muon"`` (needs PyTorch).
    size
        ``"full"`` (the committed grids) or ``"small"`` (the reduced pipeline check).
    estimator
        ``"controlled"`` (the sweep's control variate, the default) or ``"plain"`` (the plain
        mean over coordinates: the same expectation, more coordinates for the same SE).
    workers, scheduler, resume_dir, fresh, progress
        Where and how the tasks run: see :func:`.tasks.run_tasks`.

    Returns
    -------
    list of dict
        The rows, with the columns of the study's ``COLUMNS``.
    """
    if study not in STUDIES:
        raise ValueError(f"study must be one of {STUDIES}; got {study!r}")
    module = import_module(f"{__name__}.{study}")
    per_task = run_tasks(
        [replace(task, estimator=estimator) for task in module.tasks(size)],
        workers=workers,
        scheduler=scheduler,
        resume_dir=resume_dir,
        fresh=fresh,
        progress=progress,
    )
    return [row for rows in per_task for row in rows]
