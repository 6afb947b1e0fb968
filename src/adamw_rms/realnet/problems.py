r"""The four benchmark problems: which data, which network, which optimizer settings.

Each :class:`Problem` pairs a task of :mod:`.data` with a network of :mod:`.models` and fixes
the peak learning rate, the weight decay, the batch size and the run length of each size. The
settings are chosen so that the runs span several timescales ``1 / (lr * weight_decay)``: at
the peak rate from about 1.2 (``mlp_ln``) to 6 (``mlp``) of them, so some weight norms settle
at their equilibrium and others are still on their way when the schedule decays.

============  =====================  ==================  =======  ====  =====  =====
name          data                   network             peak lr  wd    batch  steps
============  =====================  ==================  =======  ====  =====  =====
mlp           teacher (32 -> 10)     MLP 32-128-128-128  1e-3     1.0   128    6000
mlp_ln        teacher (32 -> 10)     same, pre-LN        3e-3     0.1   128    4000
cnn           shapes 16x16, 6 cls    conv 16, conv 32    2e-3     0.5   32     4000
transformer   derivation text        2 blocks, d=48      3e-3     0.2   16x32  4000
============  =====================  ==================  =======  ====  =====  =====

Examples
--------
>>> from adamw_rms.realnet.problems import PROBLEMS
>>> problem = PROBLEMS["mlp"]
>>> problem.lr * problem.weight_decay * problem.steps["full"]
6.0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .data import CharText, ShapeImages, TeacherTask
from .models import MLP, CharTransformer, SmallCNN

__all__ = ["PROBLEMS", "SIZES", "Problem", "Task"]

#: ``--size``: ``full`` the committed study, ``small`` a seconds-long check of the pipeline.
SIZES = ("small", "full")


@dataclass(frozen=True)
class Task:
    """What :func:`.train.train_run` needs of a problem, built in the worker process."""

    model: nn.Module
    batch: Callable[[torch.Generator], tuple[torch.Tensor, torch.Tensor]]

    @staticmethod
    def loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy over every prediction (tokens included)."""
        flat = logits.reshape(-1, logits.shape[-1])
        return nn.functional.cross_entropy(flat, targets.reshape(-1))


@dataclass(frozen=True)
class Problem:
    """One benchmark problem.

    ``build(size)`` returns a :class:`Task` with freshly initialised weights: call it after
    ``torch.manual_seed(seed)``, so that the seed fixes the initialisation.
    """

    name: str
    description: str
    lr: float
    weight_decay: float
    steps: dict[str, int]
    batch_size: dict[str, int]
    #: Measured milliseconds per full-size step on one thread (orders the runs over workers).
    step_ms: float
    builder: Callable[[str, int], Task] = field(repr=False)

    def build(self, size: str) -> Task:
        """The task of ``size`` (``"small"`` or ``"full"``)."""
        if size not in SIZES:
            raise ValueError(f"size must be one of {SIZES}; got {size!r}")
        return self.builder(size, self.batch_size[size])


def _batches(data: Any, size: int) -> Callable[[torch.Generator], Any]:
    def batch(generator: torch.Generator) -> Any:
        return data.batch(size, generator)

    return batch


def _mlp(layer_norm: bool) -> Callable[[str, int], Task]:
    def build(size: str, batch_size: int) -> Task:
        data = TeacherTask(inputs=32, hidden=64, classes=10)
        hidden = 128 if size == "full" else 32
        model = MLP(32, hidden, 10, depth=4, layer_norm=layer_norm)
        return Task(model, _batches(data, batch_size))

    return build


def _cnn(size: str, batch_size: int) -> Task:
    data = ShapeImages(size=16, noise=0.8)
    channels = (16, 32) if size == "full" else (4, 8)
    model = SmallCNN(data.classes, image_size=16, channels=channels)
    return Task(model, _batches(data, batch_size))


def _transformer(size: str, batch_size: int) -> Task:
    data = CharText(context=32 if size == "full" else 16)
    width = 48 if size == "full" else 16
    model = CharTransformer(data.vocabulary, data.context, width=width, heads=4, blocks=2)
    return Task(model, _batches(data, batch_size))


#: The benchmark problems by name, in the order the study reports them.
PROBLEMS: dict[str, Problem] = {
    problem.name: problem
    for problem in (
        Problem(
            "mlp", "MLP (3 hidden layers of 128, GELU) on a teacher task",
            lr=1e-3, weight_decay=1.0, steps={"small": 150, "full": 6000},
            batch_size={"small": 32, "full": 128}, step_ms=2.0, builder=_mlp(False),
        ),
        Problem(
            "mlp_ln", "the same MLP, pre-LayerNorm before the hidden matrices",
            lr=3e-3, weight_decay=0.1, steps={"small": 150, "full": 4000},
            batch_size={"small": 32, "full": 128}, step_ms=2.4, builder=_mlp(True),
        ),
        Problem(
            "cnn", "CNN (two 3x3 convolutions, linear head) on procedural 16x16 shapes",
            lr=2e-3, weight_decay=0.5, steps={"small": 150, "full": 4000},
            batch_size={"small": 16, "full": 32}, step_ms=4.2, builder=_cnn,
        ),
        Problem(
            "transformer", "character transformer (2 blocks, d=48, 4 heads, untied head)",
            lr=3e-3, weight_decay=0.2, steps={"small": 150, "full": 4000},
            batch_size={"small": 4, "full": 16}, step_ms=6.8, builder=_transformer,
        ),
    )
}  # fmt: skip
