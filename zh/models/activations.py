"""The MLP of Karpathy's lecture *Building makemore Part 3*, built from ``zh.nn`` layers, with its diagnostics.

Page: [makemore / activations and BatchNorm](../makemore/activations.md).

``build_mlp`` stacks Embedding -> Flatten -> (Linear -> [BatchNorm1d] -> Tanh) x n_layers -> Linear,
initialised either naively (every weight ``randn``, as the lecture starts) or with Kaiming's
scale ``gain / sqrt(fan_in)``. ``train`` is the lecture's loop (minibatch SGD, step decay of the
learning rate); `zh.train.split_loss` scores it. The
``*_histograms`` and ``update_ratio_plot`` functions draw the figures that show whether a network
is healthy.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from zh.models.training import autograd_grads, sgd
from zh.nn.layers import BatchNorm1d, Embedding, Flatten, Linear, Sequential, Tanh

#: Kaiming's gain for tanh: the factor that undoes tanh's squashing of unit-variance inputs.
TANH_GAIN = 5 / 3


def build_mlp(
    vocab_size: int,
    block_size: int = 3,
    n_embd: int = 10,
    n_hidden: int = 200,
    n_layers: int = 1,
    batchnorm: bool = True,
    init: str = "kaiming",
    gain: float = TANH_GAIN,
    generator: torch.Generator | None = None,
) -> Sequential:
    """An MLP that reads ``block_size`` characters and outputs logits for the next one.

    Args:
        vocab_size: Number of characters (27 for names).
        block_size: Context length.
        n_embd: Size of each character's embedding.
        n_hidden: Width of each hidden layer.
        n_layers: Number of hidden Linear -> [BatchNorm1d] -> Tanh blocks.
        batchnorm: Put a BatchNorm1d after each hidden Linear (which then has no bias).
        init: ``"kaiming"``: hidden weights ``gain * randn / sqrt(fan_in)``, output weights
            scaled by 0.1 and zero biases, so the first loss is close to ``log(vocab_size)``.
            ``"naive"``: every weight and bias plain ``randn`` (the lecture's first attempt).
        gain: The Kaiming gain of the hidden layers (ignored by ``"naive"``).
        generator: The ``torch.Generator`` for all initial values.

    Returns:
        The model, with ``requires_grad`` set on every parameter.
    """
    if init not in ("kaiming", "naive"):
        raise ValueError(f"init must be 'kaiming' or 'naive', got {init!r}")
    if n_layers < 1:
        raise ValueError(f"an MLP needs at least 1 hidden layer, got n_layers={n_layers}")
    layers = [Embedding(vocab_size, n_embd, generator=generator), Flatten()]
    fan_in = block_size * n_embd
    for _ in range(n_layers):
        layers.append(Linear(fan_in, n_hidden, bias=not batchnorm, generator=generator))
        if batchnorm:
            layers.append(BatchNorm1d(n_hidden))
        layers.append(Tanh())
        fan_in = n_hidden
    layers.append(Linear(fan_in, vocab_size, generator=generator))
    with torch.no_grad():
        for layer in layers:
            if not isinstance(layer, Linear):
                continue
            if init == "naive":  # undo Linear's 1/sqrt(fan_in): plain randn weights and biases
                layer.weight *= layer.in_features**0.5
                if layer.bias is not None:
                    layer.bias.copy_(torch.randn(layer.bias.shape, generator=generator))
            elif layer is layers[-1]:
                layer.weight *= 0.1  # an unsure softmax at init: close to uniform over the vocabulary
            else:
                layer.weight *= gain
    model = Sequential(*layers)
    for p in model.parameters():
        p.requires_grad = True
    return model


def train(
    model: Sequential, X: torch.Tensor, Y: torch.Tensor, max_steps: int, diagnostics: bool = False, **kwargs: Any
) -> dict:
    """Train ``model`` on the cross-entropy with `zh.models.training.sgd`, gradients from autograd.

    Args:
        model: The network (trained in place).
        X: Contexts, shape ``(N, block_size)``.
        Y: Next characters, shape ``(N,)``.
        max_steps: Number of updates.
        diagnostics: Keep each layer's output gradient (for :func:`gradient_histograms`) and
            record the update-to-data ratios (for :func:`update_ratio_plot`).
        **kwargs: ``batch_size``, ``learning_rate``, ``decay_at`` (default 0.5: the lecture's step decay),
            ``generator``, ``on_step`` (replaced by the recorder when ``diagnostics``), as for
            `zh.models.training.sgd`.

    Returns:
        ``{"loss": [minibatch loss per step], "ud": [[log10(update std / data std) per parameter] per step]}``
        (``ud`` is empty unless ``diagnostics``).
    """
    params = model.parameters()
    ud = []

    def grads_of(Xb, Yb):
        loss = F.cross_entropy(model(Xb), Yb)
        if diagnostics:
            for layer in model.layers:
                layer.out.retain_grad()
        return loss, autograd_grads(loss, params)

    def record(step_lr, params, grads):
        ud.append([math.log10((step_lr * g).std() / p.std()) for p, g in zip(params, grads)])

    model.train()
    kwargs.setdefault("decay_at", 0.5)
    if diagnostics:
        kwargs["on_step"] = record
    lossi = sgd(params, grads_of, X, Y, max_steps, **kwargs)
    return {"loss": lossi, "ud": ud}


def tanh_stats(model: Sequential, saturation: float = 0.97) -> list[dict]:
    """For each Tanh layer (after a forward pass): mean, std and the fraction of outputs with ``|t| > saturation``."""
    return [
        {
            "layer": i,
            "mean": layer.out.mean().item(),
            "std": layer.out.std().item(),
            "saturated": (layer.out.abs() > saturation).float().mean().item(),
        }
        for i, layer in enumerate(model.layers)
        if isinstance(layer, Tanh)
    ]


# under 7 inches, the width of a page's column: the figure's text is read at its size (9 points and up)
_FIGSIZE = (6.8, 3.2)


def _legend_outside(ax) -> None:
    """The legend to the right of the axes, where it hides no data."""
    ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)


def _histograms(model: Sequential, values, title: str, xlabel: str, ax=None):
    import matplotlib.pyplot as plt

    if ax is None:
        ax = plt.figure(figsize=_FIGSIZE, layout="constrained").gca()
    tanhs = [layer for layer in model.layers if isinstance(layer, Tanh)]
    for n, layer in enumerate(tanhs, 1):  # counted as the text counts them: the first, second... tanh layer
        t = values(layer).detach()
        hy, hx = torch.histogram(t.float().flatten(), bins=60, density=True)
        ax.plot(hx[:-1], hy, label=f"tanh {n}: mean {t.mean():+.2f}, std {t.std():.3g}")
    _legend_outside(ax)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    return ax


def activation_histograms(model: Sequential, ax=None):
    """Histograms of each Tanh layer's last output: saturated layers pile up at -1 and +1."""
    return _histograms(model, lambda layer: layer.out, "activation distribution", "tanh output", ax)


def gradient_histograms(model: Sequential, ax=None):
    """Histograms of the loss gradient at each Tanh layer's output (needs ``train(..., diagnostics=True)``)."""
    return _histograms(
        model, lambda layer: layer.out.grad, "gradient distribution", "gradient of the loss at the tanh output", ax
    )


def update_ratio_plot(model: Sequential, ud: list[list[float]], ax=None):
    """log10(update std / data std) over training for each weight matrix; ~-3 is the healthy level."""
    import matplotlib.pyplot as plt

    if ax is None:
        ax = plt.figure(figsize=_FIGSIZE, layout="constrained").gca()
    linears = [layer for layer in model.layers if isinstance(layer, Linear)]
    named = [("embedding", layer) for layer in model.layers if isinstance(layer, Embedding)]
    named += [("output Linear" if layer is linears[-1] else f"Linear {n}", layer) for n, layer in enumerate(linears, 1)]
    # ud has one column per parameter, in model.parameters() order; the weight matrices are plotted
    index = {id(p): j for j, p in enumerate(model.parameters())}
    for name, layer in named:
        shape = "×".join(map(str, layer.weight.shape))
        ax.plot([row[index[id(layer.weight)]] for row in ud], label=f"{name} ({shape})", lw=0.8)
    ax.axhline(-3, color="k", ls="--", lw=0.8)
    ax.set_xlabel("step")
    ax.set_ylabel("log10(update / data)")
    _legend_outside(ax)
    ax.set_title("update-to-data ratio")
    return ax
