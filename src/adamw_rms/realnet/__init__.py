r"""Real training runs for the weight-RMS monitor: ``make realnet`` (extra ``torch``).

Four small networks on data that needs no download -- an MLP with and without LayerNorm on a
teacher task, a CNN on procedurally drawn images, a character-level transformer on a text
shipped with the package -- each trained with ``torch.optim.AdamW`` under a constant, a cosine
and a warmup-stable-decay schedule, with a :class:`adamw_rms.torch.WeightRMSMonitor` attached.
``python -m adamw_rms.realnet --size full --out docs`` writes ``docs/real-networks.md``,
``docs/realnet.csv`` (per tensor), ``docs/realnet-curves.csv`` (what the figures draw) and
``docs/figures/realnet-<problem>-<schedule>.png``.

Modules: :mod:`.data` (tasks), :mod:`.models` (networks), :mod:`.schedules` (``LambdaLR``
multipliers), :mod:`.problems` (which network on which data with which settings),
:mod:`.train` (one run), :mod:`.study` (all runs, rows, files), :mod:`.curves` (the
figures' data), :mod:`.report` (the Markdown), :mod:`.plots` (the figures), :mod:`.cli`
(the command).
"""

from .problems import PROBLEMS
from .schedules import SCHEDULE_KINDS, Schedule, make_schedule
from .study import run_study
from .train import train_run

__all__ = ["PROBLEMS", "SCHEDULE_KINDS", "Schedule", "make_schedule", "run_study", "train_run"]
