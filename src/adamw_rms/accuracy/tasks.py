"""Studies as independent tasks, run where the compute is, resumed after an interruption.

A :class:`Task` is everything one piece of a study needs (its parameters, its seed, the
starting ``n`` and the target SE), so ``run(task)`` is a pure function of it: the rows do not
depend on which executor runs the task, in which process, or in which order. :func:`run_tasks`
runs a list of tasks

* in this process (``workers=1``),
* in local processes (``concurrent.futures.ProcessPoolExecutor``, ``workers=N``), or
* on a ``dask.distributed`` cluster (``scheduler="tcp://host:8786"``; extra ``distributed``),

and returns their rows in task order. With ``resume_dir``, each finished task's rows are
written there at once (atomically, as JSON, under a hash of the task, its study's
``VERSION`` and the package's source), and a rerun skips the tasks already stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Any

__all__ = [
    "ESTIMATORS",
    "STUDIES",
    "Task",
    "TaskStore",
    "default_workers",
    "freeze",
    "run_task",
    "run_tasks",
]

#: The studies, in the order ``adamw-rms accuracy`` runs them; each is a module of this package.
STUDIES = ("grid", "eps", "sign", "schedules", "optimizers", "muon")
#: How a task estimates the weight RMS: the sweep's control variate (default), or the plain
#: mean over coordinates (the check that the control variate changes nothing but the noise).
ESTIMATORS = ("controlled", "plain")

Rows = list[dict[str, Any]]


def freeze(value: Any) -> Any:
    """``value`` with every dict turned into a tuple of ``(key, value)`` pairs and every list
    into a tuple, recursively: hashable, picklable, and stable in JSON."""
    if isinstance(value, dict):
        return tuple((key, freeze(item)) for key, item in value.items())
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    return value


@dataclass(frozen=True)
class Task:
    """One independent piece of a study.

    ``parameters`` is a tuple of ``(name, value)`` pairs (values frozen by :func:`freeze`);
    ``seed`` is fixed by the study and the task's index, never by the executor;
    ``estimator`` is one of :data:`ESTIMATORS`.
    """

    study: str
    index: int
    parameters: tuple[tuple[str, Any], ...]
    seed: int
    n_start: int
    target_rel_se: float
    estimator: str = "controlled"

    def __post_init__(self) -> None:
        if self.study not in STUDIES:
            raise ValueError(f"study must be one of {STUDIES}; got {self.study!r}")
        if self.estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {ESTIMATORS}; got {self.estimator!r}")
        if self.n_start < 2:
            raise ValueError(f"n_start must be in [2, inf); got {self.n_start}")
        if not 0 < self.target_rel_se < 1:
            raise ValueError(f"target_rel_se must be in (0, 1); got {self.target_rel_se}")

    def __getitem__(self, name: str) -> Any:
        for key, value in self.parameters:
            if key == name:
                return value
        raise KeyError(f"task {self.study}[{self.index}] has no parameter {name!r}")

    def key(self) -> str:
        """The task's identity in a :class:`TaskStore`: a SHA-256 of the task, its study's
        ``VERSION`` and the package's source (a code change reruns every task)."""
        record = {
            "task": asdict(self),
            "version": _study(self.study).VERSION,
            "source": _source_digest(),
        }
        text = json.dumps(record, sort_keys=True, allow_nan=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _study(name: str) -> Any:
    return import_module(f"{__package__}.{name}")


@cache
def _source_digest() -> str:
    """A hash of every Python source file of the package (the code a task's rows come from)."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def run_task(task: Task) -> Rows:
    """The rows of ``task``: its study's ``run(task)`` (what every executor calls)."""
    return _study(task.study).run(task)


class TaskStore:
    """Finished tasks' rows as JSON files in ``directory`` (created on the first save)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path(self, task: Task) -> Path:
        """Where ``task``'s rows are stored."""
        return self.directory / f"{task.study}-{task.index:04d}-{task.key()[:20]}.json"

    def load(self, task: Task) -> Rows | None:
        """The stored rows of ``task``, or None (never stored, unreadable, or another key)."""
        try:
            record = json.loads(self.path(task).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("key") != task.key():
            return None
        rows = record.get("rows")
        return rows if isinstance(rows, list) else None

    def save(self, task: Task, rows: Rows) -> None:
        """Store ``rows`` of ``task`` atomically."""
        from ..artifacts import write_file_atomically

        self.directory.mkdir(parents=True, exist_ok=True)
        record = {"key": task.key(), "task": asdict(task), "rows": rows}
        write_file_atomically(json.dumps(record, allow_nan=True) + "\n", self.path(task))


def default_workers() -> int:
    """The CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run_tasks(
    tasks: Sequence[Task],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume_dir: Path | None = None,
    fresh: bool = False,
    progress: bool | None = None,
) -> list[Rows]:
    """Run ``tasks``; return each task's rows, in task order.

    Parameters
    ----------
    tasks
        The tasks (any studies).
    workers
        Local worker processes, at least 1 (default: the CPUs available); 1 runs every task
        in this process. Ignored with ``scheduler``.
    scheduler
        The address of a ``dask.distributed`` scheduler (``"tcp://host:8786"``); the tasks
        run on its workers (which need this package installed).
    resume_dir
        A :class:`TaskStore` folder: tasks stored there are not run again, and each task is
        stored as soon as it finishes. None: nothing is stored.
    fresh
        Run every task, ignoring what ``resume_dir`` holds (and overwrite it).
    progress
        A progress bar (tqdm) over the tasks on stderr; None shows it when stderr is a
        terminal.

    Returns
    -------
    list
        ``rows[k]`` are the rows of ``tasks[k]``: bit for bit the same whatever the executor
        and the number of workers.
    """
    tasks = list(tasks)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)):
        raise ValueError(f"workers must be an integer in [1, inf); got {workers!r}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be in [1, inf); got {workers}")
    store = TaskStore(resume_dir) if resume_dir is not None else None
    results: list[Rows | None] = [None] * len(tasks)
    todo = []
    for position, task in enumerate(tasks):
        stored = None if store is None or fresh else store.load(task)
        if stored is None:
            todo.append(position)
        else:
            results[position] = stored
    if store is not None and len(todo) < len(tasks):
        print(
            f"{len(tasks) - len(todo)} of {len(tasks)} tasks already finished in "
            f"{store.directory}; running {len(todo)}",
            file=sys.stderr,
        )
    bar = _progress_bar(len(tasks), len(tasks) - len(todo), progress, _label(tasks))

    def finished(position: int, rows: Rows) -> None:
        results[position] = rows
        if store is not None:
            store.save(tasks[position], rows)
        bar.update(1)

    try:
        if todo and scheduler is not None:
            _run_on_dask(scheduler, tasks, todo, finished)
        elif todo:
            count = min(workers or default_workers(), len(todo))
            if count == 1:
                for position in todo:
                    finished(position, run_task(tasks[position]))
            else:
                _run_in_processes(count, tasks, todo, finished)
    finally:
        bar.close()
    done: list[Rows] = []
    for task, rows in zip(tasks, results, strict=True):
        if rows is None:  # an executor returned without running it: never drop rows silently
            raise RuntimeError(f"task {task.study}[{task.index}] did not run")
        done.append(rows)
    return done


def _label(tasks: Sequence[Task]) -> str:
    return ", ".join(dict.fromkeys(task.study for task in tasks)) or "tasks"


def _limit_threads(threads: int) -> None:
    """Worker initializer: share the CPUs among the workers instead of each taking all."""
    try:
        import numba
    except ImportError:
        return
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))


def _run_in_processes(
    count: int, tasks: Sequence[Task], todo: Iterable[int], finished: Callable[[int, Rows], None]
) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn, not fork: a fork of a process whose numba thread pool is running can hang.
    with ProcessPoolExecutor(
        max_workers=count,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_limit_threads,
        initargs=(max(1, default_workers() // count),),
    ) as pool:
        futures = {pool.submit(run_task, tasks[position]): position for position in todo}
        try:
            for future in as_completed(futures):
                finished(futures[future], future.result())
        except BaseException:
            # What finished is stored already; drop what has not started.
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _run_on_dask(
    scheduler: str,
    tasks: Sequence[Task],
    todo: Iterable[int],
    finished: Callable[[int, Rows], None],
) -> None:
    try:
        from distributed import Client, as_completed
    except ImportError as error:
        raise ImportError(
            "--scheduler needs dask.distributed: pip install 'adamw-rms[distributed]'"
        ) from error
    with Client(scheduler) as client:
        futures = {
            client.submit(run_task, tasks[position], pure=False): position for position in todo
        }
        try:
            for future in as_completed(futures):
                finished(futures[future], future.result())
        finally:
            client.cancel(list(futures))


class _NoBar:
    def update(self, count: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, done: int, enabled: bool | None, label: str) -> Any:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:  # the bar is a convenience (extra sim); run without it
        return _NoBar()
    return tqdm(total=total, initial=done, desc=label, unit="task", file=sys.stderr)
