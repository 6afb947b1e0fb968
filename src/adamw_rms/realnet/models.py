r"""The benchmark's networks: small enough that a step takes a few milliseconds on one CPU thread.

* :class:`MLP`: ``inputs -> hidden -> ... -> outputs`` with GELU; with ``layer_norm=True`` a
  LayerNorm (pre-norm) sits in front of every hidden matrix, i.e. every linear layer but the
  first (which sees the raw inputs) and the last (the output head, which sees the plain
  activations), so that the benchmark has LayerNorm-preceded and plain matrices side by side;
* :class:`SmallCNN`: two 3x3 convolutions (ReLU, 2x2 max-pooling each) and a linear head;
* :class:`CharTransformer`: a GPT-style character model, pre-norm blocks of causal
  self-attention (``torch.nn.functional.scaled_dot_product_attention`` with ``is_causal=True``)
  and a GELU MLP, learned position embeddings, a final LayerNorm and an *untied* output head
  (so the embedding and the head are separate matrices with separate statistics).

Parameter names follow ``model.named_parameters()``; every 2-d (or 4-d, for convolutions)
``weight`` is a matrix in the benchmark's summaries, biases and LayerNorm gains are vectors.

Examples
--------
>>> import torch
>>> from adamw_rms.realnet.models import MLP
>>> _ = torch.manual_seed(0)
>>> model = MLP(8, 16, 3, depth=3, layer_norm=True)
>>> [name for name, p in model.named_parameters() if p.ndim == 2]
['layers.0.weight', 'layers.1.weight', 'layers.2.weight']
>>> tuple(model(torch.randn(5, 8)).shape)
(5, 3)
"""

from __future__ import annotations

import itertools

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["MLP", "CharTransformer", "SmallCNN"]


def _check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number >= 1; got {value!r}")


class MLP(nn.Module):
    """A GELU MLP with ``depth`` linear layers, optionally pre-normed.

    Parameters
    ----------
    inputs, hidden, outputs
        Layer widths, each ``>= 1``.
    depth
        Linear layers, ``>= 2`` (``depth - 2`` hidden-to-hidden matrices).
    layer_norm
        A LayerNorm in front of every linear layer except the first and the last.
    """

    def __init__(
        self, inputs: int, hidden: int, outputs: int, *, depth: int = 3, layer_norm: bool = False
    ) -> None:
        super().__init__()
        _check_sizes(inputs=inputs, hidden=hidden, outputs=outputs)
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 2:
            raise ValueError(f"depth must be a whole number >= 2; got {depth!r}")
        widths = [inputs] + [hidden] * (depth - 1) + [outputs]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(widths))
        # Norms of the hidden matrices only: indices 1 .. depth - 2.
        self.norms = nn.ModuleList(
            nn.LayerNorm(hidden) if layer_norm and 0 < i < depth - 1 else nn.Identity()
            for i in range(depth)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, outputs)`` of inputs ``(batch, inputs)``."""
        last = len(self.layers) - 1
        for i, (norm, layer) in enumerate(zip(self.norms, self.layers, strict=True)):
            x = layer(norm(x))
            if i < last:
                x = F.gelu(x)
        return x


class SmallCNN(nn.Module):
    """Two 3x3 convolutions with ReLU and 2x2 max-pooling, then a linear head.

    Parameters
    ----------
    classes
        Output classes, ``>= 1``.
    image_size
        Side of the (single-channel) input, divisible by 4.
    channels
        Channels of the two convolutions.
    """

    def __init__(
        self, classes: int, *, image_size: int = 16, channels: tuple[int, int] = (16, 32)
    ) -> None:
        super().__init__()
        _check_sizes(classes=classes, image_size=image_size, c1=channels[0], c2=channels[1])
        if image_size % 4:
            raise ValueError(f"image_size must be divisible by 4; got {image_size}")
        self.conv1 = nn.Conv2d(1, channels[0], 3, padding=1)
        self.conv2 = nn.Conv2d(channels[0], channels[1], 3, padding=1)
        self.head = nn.Linear(channels[1] * (image_size // 4) ** 2, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, classes)`` of images ``(batch, 1, side, side)``."""
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.head(x.flatten(1))


class _Block(nn.Module):
    """A pre-norm transformer block: ``x + attn(ln(x))``, then ``x + mlp(ln(x))``."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.ln2 = nn.LayerNorm(width)
        self.up = nn.Linear(width, 4 * width)
        self.down = nn.Linear(4 * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(width, dim=2)
        q, k, v = (t.view(batch, length, self.heads, -1).transpose(1, 2) for t in (q, k, v))
        attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(attended.transpose(1, 2).reshape(batch, length, width))
        return x + self.down(F.gelu(self.up(self.ln2(x))))


class CharTransformer(nn.Module):
    """A tiny GPT-style character model (untied embedding and head).

    Parameters
    ----------
    vocabulary
        Number of symbols, ``>= 1``.
    context
        Longest input, ``>= 1`` (the size of the position embedding).
    width
        ``d_model``, divisible by ``heads``.
    heads, blocks
        Attention heads per block and blocks, each ``>= 1``.
    """

    def __init__(
        self, vocabulary: int, context: int, *, width: int = 48, heads: int = 4, blocks: int = 2
    ) -> None:
        super().__init__()
        _check_sizes(vocabulary=vocabulary, context=context, width=width, heads=heads,
                     blocks=blocks)  # fmt: skip
        if width % heads:
            raise ValueError(f"width must be divisible by heads = {heads}; got {width}")
        self.context = context
        self.embed = nn.Embedding(vocabulary, width)
        self.position = nn.Embedding(context, width)
        self.blocks = nn.ModuleList(_Block(width, heads) for _ in range(blocks))
        self.ln_f = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocabulary, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, length, vocabulary)`` of tokens ``(batch, length)``."""
        length = tokens.shape[1]
        if length > self.context:
            raise ValueError(f"tokens must have at most context = {self.context} columns")
        x = self.embed(tokens) + self.position(torch.arange(length, device=tokens.device))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))
