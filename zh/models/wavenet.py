"""WaveNet (van den Oord et al., 2016) as Karpathy's *Building makemore Part 5* builds it: fuse the context pairwise.

Page: [makemore / WaveNet](../makemore/wavenet.md).

The flat MLP squashes its whole context into one hidden layer at once. This model fuses
``n_consecutive`` neighbouring positions per level (``FlattenConsecutive``), so a context of 8
characters passes through 3 levels of pairs (8 -> 4 -> 2 -> 1): a binary tree. Built from
``zh.nn.layers``:

    Embedding -> levels x [FlattenConsecutive(n), Linear(bias=False), BatchNorm1d, Tanh] -> Linear

The same tree, slid along a word, is a stack of dilated causal convolutions (kernel ``n``,
dilations 1, n, n**2, ...) with the same weights; ``WaveNet.convolve`` computes it that way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
import torch.nn as nn
import torch.nn.functional as F

from zh.nn.layers import BatchNorm1d, Embedding, FlattenConsecutive, Linear, Sequential, Tanh

if TYPE_CHECKING:  # drawn only on request: graphviz is imported inside draw_tree
    import graphviz


@dataclass
class WaveNetConfig:
    """The shape of a ``WaveNet``; the defaults are the lecture's final model (76,579 parameters).

    ``n_consecutive == block_size`` gives the flat MLP of part 3 (one level that reads everything).
    """

    vocab_size: int = field(default=27, metadata={"help": "Number of characters, the boundary token included."})
    block_size: int = field(default=8, metadata={"help": "How many previous characters the model reads."})
    n_embd: int = field(default=24, metadata={"help": "Size of each character's embedding vector."})
    n_hidden: int = field(default=128, metadata={"help": "Width of each level's hidden layer."})
    n_consecutive: int = field(default=2, metadata={
        "help": "Positions fused per level; the block size must be a power of it (equal to it: one flat level)."})

    @property
    def levels(self) -> int:
        """How many fusing levels: ``block_size == n_consecutive ** levels``."""
        levels, size = 0, 1
        while size < self.block_size and self.n_consecutive > 1:
            size *= self.n_consecutive
            levels += 1
        if size != self.block_size or levels == 0:
            raise ValueError(
                f"block_size {self.block_size} must be a power (1 or more) of n_consecutive {self.n_consecutive}: "
                f"each level fuses n_consecutive positions until one is left"
            )
        return levels


# --8<-- [start:positionwise]
class PositionwiseBatchNorm1d(BatchNorm1d):
    """The lecture's first BatchNorm on 3-D input, bug included: statistics over dimension 0 only.

    Written for 2-D input, ``x.mean(0, keepdim=True)`` of a ``(B, T, C)`` batch is one mean per
    *(position, channel)*, shape ``(1, T, C)``: each position is normalised on its own, with a
    quarter (or half...) of the data per estimate, and the running buffers silently become
    ``(1, T, C)``. Nothing fails; the model is a little worse.
    """

    def batch_statistics(self, x):
        """Mean and variance over dimension 0 alone (``keepdim``, as the lecture wrote it)."""
        return x.mean(0, keepdim=True), x.var(0, keepdim=True, correction=1 if self.unbiased else 0), x.shape[0]

    def update_running(self, mean, unbiased_var):
        """Out of place, as the lecture wrote it: the buffers broadcast to the statistics' shape."""
        self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mean
        self.running_var = (1 - self.momentum) * self.running_var + self.momentum * unbiased_var

    def set_running(self, mean, unbiased_var):
        """Replace the buffers by these statistics (`zh.train.calibrate_batchnorm`), taking their shape."""
        self.running_mean, self.running_var = mean, unbiased_var
# --8<-- [end:positionwise]


# --8<-- [start:layers]
def wavenet_layers(config: WaveNetConfig, batchnorm: type[BatchNorm1d] = BatchNorm1d,
                   generator: torch.Generator | None = None) -> Sequential:
    """The tree as a ``zh.nn.layers.Sequential``, initialised as in the lecture.

    Args:
        config: The shape.
        batchnorm: The BatchNorm class of every level (``PositionwiseBatchNorm1d`` for the bug).
        generator: Draws the initial values, in the lecture's order (embedding, then each Linear).
    """
    c, n = config, config.n_consecutive
    layers, width = [Embedding(c.vocab_size, c.n_embd, generator=generator)], c.n_embd
    for _ in range(c.levels):
        layers += [FlattenConsecutive(n), Linear(width * n, c.n_hidden, bias=False, generator=generator),
                   batchnorm(c.n_hidden, unbiased=True), Tanh()]
        width = c.n_hidden
    layers.append(Linear(width, c.vocab_size, generator=generator))
    with torch.no_grad():
        layers[-1].weight *= 0.1  # an unsure softmax at init: close to uniform over the vocabulary
    return Sequential(*layers)
# --8<-- [end:layers]


class WaveNet(nn.Module):
    """Characters ``(B, block_size)`` -> logits of the next character ``(B, vocab_size)``, by the tree.

    A ``torch.nn.Module`` around ``wavenet_layers``: the layers' tensors are registered as its
    parameters and buffers, so that optimisers, ``state_dict`` and ``train()``/``eval()`` reach them.

    Example:
        >>> model = WaveNet(WaveNetConfig(), generator=torch.Generator().manual_seed(42))
        >>> sum(p.numel() for p in model.parameters())
        76579
        >>> logits, loss = model(torch.zeros(4, 8, dtype=torch.long), torch.tensor([5, 13, 13, 1]))
        >>> logits.shape
        torch.Size([4, 27])
    """

    def __init__(self, config: WaveNetConfig, generator: torch.Generator | None = None,
                 batchnorm: type[BatchNorm1d] = BatchNorm1d):
        super().__init__()
        self.config = config
        self.layers = wavenet_layers(config, batchnorm, generator)
        for i, layer in enumerate(self.layers):
            for name in ("weight", "bias"):
                if getattr(layer, name, None) is not None:
                    setattr(layer, name, nn.Parameter(getattr(layer, name)))
                    self.register_parameter(f"{i}_{name}", getattr(layer, name))
            for name in ("running_mean", "running_var"):
                if hasattr(layer, name):  # updated in place by the layer, so the buffer stays the layer's
                    self.register_buffer(f"{i}_{name}", getattr(layer, name))

    def train(self, mode: bool = True) -> "WaveNet":
        """Training mode on or off, for this module and for every layer of the tree."""
        self.layers.train(mode)
        return super().train(mode)

    def forward(self, idx: torch.Tensor,
                targets: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits for the character after each context, and their cross-entropy with ``targets``.

        Args:
            idx: Contexts, ``(B, block_size)`` character ids.
            targets: The characters that followed, ``(B,)``; optional.

        Returns:
            ``(logits, loss)``: logits ``(B, vocab_size)``; ``loss`` is ``None`` without targets.
        """
        logits = self.layers(idx)
        return logits, None if targets is None else F.cross_entropy(logits, targets)

    # --8<-- [start:convolve]
    def convolve(self, idx: torch.Tensor, via: str = "conv1d") -> torch.Tensor:
        """Logits at every position of ``idx`` ``(B, T)`` at once: ``(B, T, vocab_size)``.

        Position ``t`` reads ``idx[:, t - block_size + 1 : t + 1]``, with boundary tokens (id 0)
        before the start: exactly the context the tree reads. Each ``FlattenConsecutive(n)`` +
        ``Linear`` pair becomes a causal convolution with kernel ``n`` and the Linear's weights;
        its dilation is how far apart the positions it fuses lie (1, then n, n**2...).

        Args:
            idx: ``(B, T)`` character ids.
            via: ``"conv1d"``: ``torch.nn.functional.conv1d``. ``"matmul"``: the same
                convolution as the Linear applied to ``n`` shifted copies of the sequence, side
                by side (faster on a CPU for these small channel counts).
        """
        if via not in ("conv1d", "matmul"):
            raise ValueError(f"via must be 'conv1d' or 'matmul', got {via!r}")
        x = F.pad(idx, (self.config.block_size - 1, 0))  # (B, T + block_size - 1); id 0 = boundary
        dilation, fuse = 1, None
        for layer in self.layers:
            if isinstance(layer, FlattenConsecutive):
                fuse = layer.n  # fused by the Linear that follows, as a convolution
            elif fuse is not None:
                length = x.shape[1] - (fuse - 1) * dilation  # outputs of a convolution without padding
                if via == "conv1d":
                    # weight (n * C_in, C_out): row block k multiplies the k-th oldest fused position
                    kernel = layer.weight.view(fuse, -1, layer.out_features).permute(2, 1, 0)  # (C_out, C_in, n)
                    x = F.conv1d(x.transpose(1, 2), kernel, layer.bias, dilation=dilation).transpose(1, 2)
                else:
                    x = layer(torch.cat([x[:, k * dilation : k * dilation + length] for k in range(fuse)], dim=-1))
                dilation, fuse = dilation * fuse, None
            else:
                x = layer(x)  # Embedding, BatchNorm1d, Tanh, Linear act on the last dimension
        return x
    # --8<-- [end:convolve]


#: The lecture's performance log (makemore part 5), one stage per row: (label, config, BatchNorm, its train/val).
STAGES = {
    "context3": ("context 3, 200 hidden (12K params)",
                 WaveNetConfig(block_size=3, n_embd=10, n_hidden=200, n_consecutive=3), BatchNorm1d, (2.058, 2.105)),
    "context8": ("context 3 → 8 (22K)",
                 WaveNetConfig(block_size=8, n_embd=10, n_hidden=200, n_consecutive=8), BatchNorm1d, (1.918, 2.027)),
    "hierarchical": ("flat → hierarchical (22K)",
                     WaveNetConfig(n_embd=10, n_hidden=68), PositionwiseBatchNorm1d, (1.941, 2.029)),
    "bnfix": ("BatchNorm bug fixed", WaveNetConfig(n_embd=10, n_hidden=68), BatchNorm1d, (1.912, 2.022)),
    "wide": ("n_embd 24, n_hidden 128 (76,579)", WaveNetConfig(), BatchNorm1d, (1.769, 1.993)),
}


def receptive_fields(block_size: int, n_consecutive: int = 2) -> list[list[list[int]]]:
    """Which context positions each unit of each level sees: ``fields[level][unit]`` (level 0 is the input).

    Found by running the model's own ``FlattenConsecutive`` on a context whose only feature at
    position ``i`` is ``i``: after each level, a unit's features are the positions it has read.

    Raises:
        ValueError: ``block_size`` is not a power of ``n_consecutive`` (as for `WaveNetConfig`).
    """
    levels = WaveNetConfig(block_size=block_size, n_consecutive=n_consecutive).levels
    x = torch.arange(float(block_size)).view(1, block_size, 1)
    fields = [[[i] for i in range(block_size)]]
    for _ in range(levels):
        x = FlattenConsecutive(n_consecutive)(x)
        units = x[0] if x.dim() == 3 else x  # the last level's single unit comes out squeezed
        fields.append([[int(i) for i in unit] for unit in units.tolist()])
    return fields


def draw_tree(context: str, n_consecutive: int = 2) -> "graphviz.Digraph":
    """The WaveNet tree over one context, as a Graphviz graph: which characters each hidden unit sees.

    The characters of ``context`` are the leaves at the bottom; each level's units are boxes labelled
    with the characters they read (from `receptive_fields`), joined to the units they fuse; the top
    unit feeds the output layer. A column on the left names the levels.

    Args:
        context: The ``block_size`` characters the model reads (e.g. ``"isabella"``).
        n_consecutive: Units fused per level.

    Returns:
        A ``graphviz.Digraph`` (``.pipe()`` renders it).
    """
    import graphviz

    fields = receptive_fields(len(context), n_consecutive)
    dot = graphviz.Digraph(
        graph_attr={"rankdir": "BT", "nodesep": "0.15", "ranksep": "0.35"},
        node_attr={"fontname": "Helvetica", "fontsize": "13", "height": "0.3", "margin": "0.06,0.03"},
        edge_attr={"arrowsize": "0.5", "color": "#555555"},
    )
    for level, units in enumerate(fields):
        with dot.subgraph() as rank:
            rank.attr(rank="same")
            name = f"input\n{len(units)} characters" if level == 0 else (
                f"level {level}\n{len(units)} × {len(units[0])} characters")
            rank.node(f"name{level}", name, shape="plaintext", fontcolor="#555555")
            for u, seen in enumerate(units):
                text = "".join(context[i] for i in seen)
                span = f"{seen[0] + 1}" if len(seen) == 1 else f"{seen[0] + 1}–{seen[-1] + 1}"
                fill = "#dbe9f6" if level == 0 else "#fde9c9"
                rank.node(f"{level}.{u}", f"{text}\n{span}", shape="box", style="rounded,filled", fillcolor=fill)
        if level:
            for u, seen in enumerate(units):
                for c in range(n_consecutive):  # the units of the level below that this one fuses
                    dot.edge(f"{level - 1}.{u * n_consecutive + c}", f"{level}.{u}")
            dot.edge(f"name{level - 1}", f"name{level}", style="invis")  # keeps the names in a column
    top = len(fields) - 1
    dot.node("out", "logits of the next character", shape="box", style="rounded")
    dot.edge(f"{top}.0", "out")
    return dot
