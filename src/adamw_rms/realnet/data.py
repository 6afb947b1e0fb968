r"""The benchmark's data: nothing to download, every batch drawn from a seeded generator.

Three tasks, each with ``batch(size, generator) -> (inputs, targets)`` (fresh samples every call,
so a run never cycles through a small fixed set) and a cross-entropy target:

* :class:`TeacherTask`: Gaussian inputs labelled by a fixed random teacher MLP (the argmax of
  its logits), the classic student-teacher setting;
* :class:`ShapeImages`: single-channel ``size x size`` images of six procedurally drawn classes
  (horizontal stripes, vertical stripes, a blob, a ring, a square, a cross) at random
  positions, scales, phases and contrasts, in Gaussian pixel noise;
* :class:`CharText`: random windows of a fixed text for next-character prediction, by default
  :data:`CORPUS_FILE`, shipped with the package.

Why a shipped text rather than reading ``derivations/*.md`` at run time: the derivations are
regenerated whenever a derivation changes, and the benchmark's numbers must not move with them;
an installed package also has no ``derivations/`` folder. :func:`build_corpus` is how the file
was made (three of the generated documents, reduced to printable ASCII), kept so that it can be
rebuilt on purpose.

Examples
--------
>>> import torch
>>> from adamw_rms.realnet.data import ShapeImages
>>> images, labels = ShapeImages().batch(4, torch.Generator().manual_seed(0))
>>> tuple(images.shape), labels.dtype
((4, 1, 16, 16), torch.int64)
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import torch

__all__ = [
    "CORPUS_DOCUMENTS",
    "CORPUS_FILE",
    "VOCABULARY",
    "CharText",
    "ShapeImages",
    "TeacherTask",
    "build_corpus",
    "read_corpus",
]

#: The text of :class:`CharText`'s default corpus, in the package's data folder.
CORPUS_FILE = "realnet_corpus.txt"
#: The generated documents (``derivations/<name>.md``) the corpus was built from, in order.
CORPUS_DOCUMENTS = ("weight_rms", "update_rms", "schedules")
#: Newline and printable ASCII: a fixed vocabulary, whatever text is loaded.
VOCABULARY = "\n" + "".join(chr(code) for code in range(32, 127))


def _whole(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be a whole number >= {low}; got {value!r}")
    return value


class TeacherTask:
    """Gaussian inputs labelled by a fixed random teacher MLP.

    The teacher is ``inputs -> hidden -> classes`` with a tanh; its weights are drawn once from
    ``seed`` (independent of the student's seed, so every run learns the same function). The
    label is the argmax of its logits; the inputs are standard normal.

    Parameters
    ----------
    inputs, hidden, classes
        Sizes, each ``>= 1`` (``classes >= 2``).
    seed
        The teacher's seed.
    """

    def __init__(
        self, *, inputs: int = 32, hidden: int = 64, classes: int = 10, seed: int = 1234
    ) -> None:
        self.inputs = _whole("inputs", inputs, 1)
        self.hidden = _whole("hidden", hidden, 1)
        self.classes = _whole("classes", classes, 2)
        generator = torch.Generator().manual_seed(seed)
        self._w1 = torch.randn(inputs, hidden, generator=generator) / math.sqrt(inputs)
        self._w2 = torch.randn(hidden, classes, generator=generator) / math.sqrt(hidden)

    def batch(self, size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``size`` fresh inputs ``(size, inputs)`` and their labels ``(size,)``."""
        x = torch.randn(_whole("size", size, 1), self.inputs, generator=generator)
        return x, (torch.tanh(x @ self._w1) @ self._w2).argmax(dim=1)


class ShapeImages:
    """Procedural single-channel images of six shape classes (labels 0..5).

    0 horizontal and 1 vertical stripes (orientation within ±0.3 rad, random frequency and
    phase), 2 a Gaussian blob, 3 a ring, 4 a filled square, 5 a cross; centres, scales and
    contrasts are random, and pixel noise of standard deviation ``noise`` is added, so the
    classes overlap a little and the loss does not go to zero.

    Parameters
    ----------
    size
        Side of the image in pixels, ``>= 8``.
    noise
        Pixel noise standard deviation, ``>= 0``.
    """

    classes = 6

    def __init__(self, *, size: int = 16, noise: float = 0.5) -> None:
        self.size = _whole("size", size, 8)
        if not noise >= 0:
            raise ValueError(f"noise must be >= 0; got {noise!r}")
        self.noise = float(noise)
        axis = torch.linspace(-1.0, 1.0, size)
        self._y, self._x = torch.meshgrid(axis, axis, indexing="ij")

    def batch(self, size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``size`` fresh images ``(size, 1, side, side)`` and their labels ``(size,)``."""
        n = _whole("size", size, 1)

        def uniform(low: float, high: float) -> torch.Tensor:
            return (low + (high - low) * torch.rand(n, 1, 1, generator=generator)).expand(
                n, self.size, self.size
            )

        labels = torch.randint(0, self.classes, (n,), generator=generator)
        cx, cy = uniform(-0.4, 0.4), uniform(-0.4, 0.4)
        scale, width = uniform(0.3, 0.7), uniform(0.08, 0.2)
        angle, frequency, phase = uniform(-0.3, 0.3), uniform(1.5, 3.5), uniform(0, 2 * math.pi)
        contrast = uniform(0.6, 1.4)
        dx, dy = self._x - cx, self._y - cy
        distance = torch.sqrt(dx**2 + dy**2)
        along = dx * torch.sin(angle) + dy * torch.cos(angle)  # 0 rad: across horizontal bands
        across = dx * torch.cos(angle) - dy * torch.sin(angle)
        shapes = torch.stack(
            [
                torch.sin(math.pi * frequency * along + phase),
                torch.sin(math.pi * frequency * across + phase),
                torch.exp(-(distance**2) / scale**2),
                torch.exp(-((distance - scale) ** 2) / width**2),
                ((dx.abs() < scale) & (dy.abs() < scale)).float(),
                (((dx.abs() < width) | (dy.abs() < width)) & (distance < scale + width)).float(),
            ]
        )
        picked = shapes[labels, torch.arange(n)]
        noise = torch.randn(n, self.size, self.size, generator=generator)
        images = contrast * (picked - picked.mean(dim=(1, 2), keepdim=True)) + self.noise * noise
        return images.unsqueeze(1), labels


def build_corpus(derivations: str | Path, names: tuple[str, ...] = CORPUS_DOCUMENTS) -> str:
    """The corpus text from the generated documents ``derivations/<name>.md``.

    Documents are joined in the order of ``names``; every character outside
    :data:`VOCABULARY` (Greek letters, typographic quotes, CJK in the source's title) becomes
    ``?``, so that the vocabulary stays fixed at 96 symbols.
    """
    folder = Path(derivations)
    text = "\n".join((folder / f"{name}.md").read_text(encoding="utf-8") for name in names)
    allowed = set(VOCABULARY)
    return "".join(character if character in allowed else "?" for character in text)


def read_corpus() -> str:
    """The shipped corpus :data:`CORPUS_FILE`."""
    path = resources.files("adamw_rms.data").joinpath(CORPUS_FILE)
    return path.read_text(encoding="utf-8")


class CharText:
    """Next-character prediction on random windows of a fixed text.

    Parameters
    ----------
    context
        Characters per window, ``>= 2``; inputs are ``text[i : i + context]``, targets
        ``text[i + 1 : i + context + 1]``.
    text
        The text (default: :func:`read_corpus`); every character must be in
        :data:`VOCABULARY`, and it must be longer than ``context``.
    """

    def __init__(self, *, context: int = 32, text: str | None = None) -> None:
        self.context = _whole("context", context, 2)
        text = read_corpus() if text is None else text
        if len(text) <= context:
            raise ValueError(f"text must be longer than context = {context}; got {len(text)}")
        index = {character: i for i, character in enumerate(VOCABULARY)}
        unknown = sorted(set(text) - set(index))
        if unknown:
            raise ValueError(f"text has characters outside VOCABULARY: {unknown[:5]!r}")
        self.vocabulary = len(VOCABULARY)
        self.tokens = torch.tensor([index[character] for character in text], dtype=torch.long)

    def batch(self, size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``size`` windows ``(size, context)`` and the next characters ``(size, context)``."""
        starts = torch.randint(
            0, len(self.tokens) - self.context, (_whole("size", size, 1),), generator=generator
        )
        windows = starts[:, None] + torch.arange(self.context + 1)
        chunk = self.tokens[windows]
        return chunk[:, :-1], chunk[:, 1:]
