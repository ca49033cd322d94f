"""Neurons, layers and multi-layer perceptrons of scalar Values: micrograd's ``nn``.

Page: [micrograd / a neural net](../micrograd/mlp.md).

Same constructors, ``parameters()``, ``zero_grad()`` and reprs as micrograd's, so a model can
be swapped between the two; a neuron's weighted sum is one `zh.engine.dot` node.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from numbers import Integral

from zh.engine import Value, dot


class Module:
    """Base class: something with parameters whose gradients can be reset."""

    def zero_grad(self):
        """Set the gradient of every parameter to zero (gradients accumulate otherwise)."""
        for p in self.parameters():
            p.grad = 0.0

    def parameters(self) -> list[Value]:
        """All trainable Values, in a fixed order."""
        return []


class Neuron(Module):
    """``relu(w . x + b)`` (or just ``w . x + b`` with ``nonlin=False``).

    Args:
        nin: Number of inputs.
        nonlin: Apply a ReLU to the weighted sum.

    Weights start uniform in [-1, 1] (from Python's global ``random``), the bias at 0.

    Raises:
        ValueError: ``nin`` is not a whole number of at least 1.
    """

    def __init__(self, nin: int, nonlin: bool = True):
        if not isinstance(nin, Integral) or nin < 1:
            raise ValueError(f"a neuron needs a whole number of inputs, at least one; got nin={nin!r}")
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin

    def __call__(self, x) -> Value:
        act = dot(self.w, x, self.b)
        return act.relu() if self.nonlin else act

    def parameters(self) -> list[Value]:
        """The weights, then the bias."""
        return self.w + [self.b]

    def __repr__(self):
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons that all see the same ``nin`` inputs.

    Calling it on a list of ``nin`` inputs returns a list of ``nout`` Values (a single Value
    when ``nout == 1``, as in micrograd).

    Raises:
        ValueError: ``nin`` or ``nout`` is not a whole number of at least 1.
    """

    def __init__(self, nin: int, nout: int, **kwargs):
        if not isinstance(nout, Integral) or nout < 1:
            raise ValueError(f"a layer needs a whole number of neurons, at least one; got nout={nout!r}")
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x):
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        """Each neuron's parameters, neuron by neuron."""
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self):
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """Layers of sizes ``nouts`` after ``nin`` inputs; ReLU on all but the last layer.

    Raises:
        ValueError: ``nouts`` is not a non-empty list of sizes, or a size is not a whole number of at least 1.

    Examples:
        >>> model = MLP(2, [16, 16, 1])
        >>> len(model.parameters())
        337
    """

    def __init__(self, nin: int, nouts: list[int]):
        if isinstance(nouts, (str, bytes)) or not hasattr(nouts, "__len__") or len(nouts) == 0:
            raise ValueError(f"an MLP needs nouts, the list of its layer sizes (e.g. [16, 16, 1]); got {nouts!r}")
        sz = [nin] + list(nouts)
        self.layers = [Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))]

    def __call__(self, x):
        nin = len(self.layers[0].neurons[0].w)
        if not hasattr(x, "__len__"):  # a list, a tuple, a 1-D array: anything with a length
            raise TypeError(f"this MLP takes a list of {nin} inputs, got {type(x).__name__} {x!r}")
        if len(x) != nin:
            raise ValueError(f"this MLP takes {nin} inputs, got {len(x)}")
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[Value]:
        """Each layer's parameters, layer by layer."""
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self):
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"


def svm_loss(model: Module, X: Sequence[Sequence[float]], y: Sequence[int], alpha: float = 1e-4) -> tuple[Value, float]:
    """Max-margin (hinge) loss of ``model`` on the whole batch, plus L2 regularization.

    ``mean_i relu(1 - y_i * score_i) + alpha * sum_p p**2``, as in micrograd's demo. Only
    Value arithmetic is used, so the same function trains a micrograd ``MLP`` too.

    Args:
        model: Maps a list of input numbers to one score (a Value).
        X: The inputs, one list of numbers per example.
        y: The labels, -1 or +1.
        alpha: Strength of the L2 penalty.

    Returns:
        The loss (a Value, ready for ``backward()``) and the accuracy, a float in [0, 1].

    Raises:
        ValueError: no examples, not as many labels as inputs, a label other than -1 and +1, or
            a model whose output is not one Value (a last layer of several neurons).
    """
    if len(X) != len(y):
        raise ValueError(f"{len(X)} inputs but {len(y)} labels; they must match")
    if len(X) == 0:
        raise ValueError("svm_loss needs at least one example; X and y are empty")
    if any(yi not in (-1, 1) for yi in y):
        raise ValueError(f"labels must be -1 or +1 for the hinge loss, got {sorted(set(y))}")
    scores = [model(x) for x in X]
    first = scores[0]
    if isinstance(first, (list, tuple)) or not hasattr(first, "data"):  # a zh or a micrograd Value is fine
        got = f"a list of {len(first)} Values" if isinstance(first, (list, tuple)) else type(first).__name__
        raise ValueError(
            f"svm_loss needs a model with one output, a single Value per example (e.g. MLP(2, [16, 16, 1])); "
            f"this model returned {got}"
        )
    losses = [(1 + -yi * score).relu() for yi, score in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = alpha * sum(p * p for p in model.parameters())
    accuracy = sum((yi > 0) == (score.data > 0) for yi, score in zip(y, scores)) / len(y)
    return data_loss + reg_loss, accuracy


# --8<-- [start:train]
def train(
    model: Module, X: Sequence[Sequence[float]], y: Sequence[int], max_steps: int = 100, alpha: float = 1e-4
) -> list[tuple[float, float]]:
    """Full-batch gradient descent on `svm_loss`, the learning rate decaying from 1.0 to 0.1.

    Returns:
        ``(loss, accuracy)`` before each step's update.
    """
    history = []
    for k in range(max_steps):
        loss, accuracy = svm_loss(model, X, y, alpha)
        model.zero_grad()
        loss.backward()
        learning_rate = 1.0 - 0.9 * k / max_steps
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        history.append((loss.data, accuracy))
    return history
# --8<-- [end:train]
