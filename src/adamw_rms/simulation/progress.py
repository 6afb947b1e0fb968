"""Optional progress bars (tqdm) for long simulations; silent when tqdm is missing."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.util import find_spec
from typing import Any

__all__ = ["LONG_RUN_ELEMENT_STEPS", "progress_bar", "shows_progress"]

#: Runs with more coordinate-steps than this show a bar by default (a few seconds of work).
LONG_RUN_ELEMENT_STEPS = 2e9


class _Silent:
    def update(self, amount: int = 1) -> None:
        pass


def shows_progress(config: Any, enabled: bool | None) -> bool:
    """Whether :func:`progress_bar` draws a bar: ``enabled``, or for ``None`` a long run
    (more than :data:`LONG_RUN_ELEMENT_STEPS`) written to a terminal, with tqdm installed."""
    if enabled is None:
        enabled = config.n * config.steps > LONG_RUN_ELEMENT_STEPS and sys.stderr.isatty()
    return bool(enabled) and find_spec("tqdm") is not None


@contextmanager
def progress_bar(
    config: Any, enabled: bool | None, description: str, *, total: int | None = None
) -> Iterator[Any]:
    """A tqdm bar over ``total`` units (default: the steps), or a silent stand-in.

    ``enabled=None`` shows a bar only for long runs written to a terminal.
    """
    if not shows_progress(config, enabled):
        yield _Silent()
        return
    from tqdm.auto import tqdm

    with tqdm(total=total or config.steps, desc=description, leave=False) as bar:
        yield bar
