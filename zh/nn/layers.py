"""PyTorch-shaped layers written out by hand on torch tensors, as in makemore parts 3 and 5.

Page: [makemore / activations and BatchNorm](../makemore/activations.md) derives them and
[makemore / manual backprop](../makemore/backprop.md) differentiates ``BatchNorm1d`` by hand.

Each layer is a callable with ``parameters()``; ``out`` keeps the last output so that the
diagnostic plots can look inside a trained network. Where a name matches ``torch.nn``, so does
the meaning (``Sequential(*layers)``, ``parameters()`` listing a shared tensor once, ``train()``
and ``eval()``, ``BatchNorm1d(momentum=None)``, ``Flatten`` from dimension 1), except for these
deliberate differences:

- ``Linear.weight`` has shape ``(in_features, out_features)`` and the layer computes
  ``x @ weight + bias`` (the layout of Karpathy's makemore lectures); ``torch.nn.Linear`` stores the transpose.
- Initialisation: ``Linear.weight`` is ``randn / sqrt(in_features)`` and its bias zeros (torch:
  uniform in ``±1/sqrt(in_features)`` for both), as the lectures draw them.
- Parameters are plain tensors with ``requires_grad=False``: the caller switches gradients on
  (`zh.models.activations.build_mlp` does); torch's are ``nn.Parameter``s that require them from the start.
- ``parameters()`` returns a list, not a generator.
- ``BatchNorm1d`` takes channels *last*: ``(N, C)`` or ``(N, L, C)``, normalising over every
  dimension but the last. ``torch.nn.BatchNorm1d`` wants ``(N, C, L)`` for 3-D input. Its
  parameters are torch's ``weight`` and ``bias`` (the lectures' ``bngain`` and ``bnbias``, the
  papers' γ and β), its size is ``dim`` (torch: ``num_features``), and ``unbiased=True`` offers
  the lectures' variance; ``LayerNorm`` names its size ``dim`` too (torch: ``normalized_shape``).
- `TensorLayer`, their base, is not ``torch.nn.Module``: a layer is called directly (no ``forward``, hooks,
  ``state_dict`` or ``.to()``), and wrong input raises a ``TypeError`` or ``ValueError`` that
  names the layer and the input it expects (torch raises a ``RuntimeError`` from inside).
- `FlattenConsecutive` has no torch counterpart.

``LayerNorm`` is the transformer's normalisation, over each row's features instead of over the
batch; [attention / the transformer block](../attention/transformer_block.md) compares the two and
derives `layernorm_backward`, its gradient in closed form.
"""

from __future__ import annotations

from numbers import Integral

import torch


class TensorLayer:
    """What every layer here shares: a training flag and a list of its parameters.

    Not ``torch.nn.Module`` (and not micrograd's `zh.nn.Module`): a plain base class.
    """

    training = True

    def parameters(self) -> list[torch.Tensor]:
        """The tensors an optimiser updates (none by default)."""
        return []

    def train(self, mode: bool = True) -> "TensorLayer":
        """Switch training mode on (or off with ``mode=False``); returns ``self``."""
        self.training = mode
        return self

    def eval(self) -> "TensorLayer":
        """Switch to evaluation mode (BatchNorm then uses its running statistics)."""
        return self.train(False)


def _check_sizes(layer: str, **sizes) -> None:
    """A ValueError naming ``layer`` unless every size is a whole number of at least 1."""
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
            raise ValueError(f"{layer} needs {name} to be a whole number of at least 1, got {name}={value!r}")


def _check_eps(layer: str, eps: float) -> None:
    if not eps >= 0:  # also catches NaN
        raise ValueError(f"{layer} needs eps >= 0 (it is added to the variance), got eps={eps!r}")


def _check_tensor(layer: TensorLayer, x, expected: str, dtype: torch.dtype | None = None, convert_to=None) -> None:
    """A TypeError naming ``layer`` and the ``expected`` input unless ``x`` is a tensor (of ``dtype``).

    The message suggests ``torch.as_tensor(x, dtype=convert_to or dtype or torch.float32)``.
    """
    if not isinstance(x, torch.Tensor):
        cls = type(x)
        kind = cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__name__}"
        hint = f"torch.as_tensor(x, dtype={convert_to or dtype or torch.float32})"
        raise TypeError(f"{layer!r} expects {expected}, got a {kind}; convert it with {hint}")
    if dtype is not None and x.dtype != dtype:
        raise TypeError(f"{layer!r} has {dtype} parameters and expects {expected}, got {x.dtype}; use x.to({dtype})")


def _check_last_dim(layer: str, x: torch.Tensor, size: int, name: str) -> None:
    # any leading dimensions, none included (one example), as torch's Linear and LayerNorm take
    if x.ndim < 1 or x.shape[-1] != size:
        raise ValueError(
            f"{layer} expects input of shape (..., {size}) with {name}={size}, got shape {tuple(x.shape)}"
        )


class Linear(TensorLayer):
    """``y = x @ weight + bias`` with ``weight`` of shape ``(in_features, out_features)``.

    The weight starts as ``randn / sqrt(in_features)``: unit-variance inputs give unit-variance
    outputs. Callers scale it further (for example by the tanh gain 5/3, see the page).

    Args:
        in_features: Size of the last dimension of the input.
        out_features: Size of the last dimension of the output.
        bias: Whether to add a (zero-initialised) bias; pointless right before a BatchNorm.
        generator: The ``torch.Generator`` that draws the initial weight.

    Raises:
        ValueError: a size is not a whole number of at least 1.
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, generator: torch.Generator | None = None
    ):
        _check_sizes("Linear", in_features=in_features, out_features=out_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight = torch.randn((in_features, out_features), generator=generator) / in_features**0.5
        self.bias = torch.zeros(out_features) if bias else None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        _check_tensor(self, x, f"a {self.weight.dtype} tensor of shape (..., {self.in_features})", self.weight.dtype)
        _check_last_dim("Linear", x, self.in_features, "in_features")
        self.out = x @ self.weight
        if self.bias is not None:
            self.out = self.out + self.bias
        return self.out

    def parameters(self) -> list[torch.Tensor]:
        """``[weight]`` or ``[weight, bias]``."""
        return [self.weight] + ([] if self.bias is None else [self.bias])

    def __repr__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features}, bias={self.bias is not None})"


class BatchNorm1d(TensorLayer):
    """Normalise each channel (last dimension) over the batch, then scale by ``weight`` and shift by ``bias``.

    In training mode the statistics come from the batch and update the running buffers
    ``running = (1 - momentum) * running + momentum * batch``; in eval mode the running buffers
    are used, so one example's output no longer depends on the rest of its batch. With
    ``momentum=None``, as in torch, the running buffers are the plain average of every batch so
    far (the weight of batch number ``num_batches_tracked`` is ``1 / num_batches_tracked``).

    Which variance? With the default ``unbiased=False`` this layer matches
    ``torch.nn.BatchNorm1d`` exactly: the batch is normalised with the biased variance
    (divide by ``m``) while ``running_var`` tracks the unbiased one (divide by ``m - 1``).
    ``unbiased=True`` normalises with the unbiased variance too, as the lectures' hand-written
    code does (``x.var(0)``); the manual-backprop page derives that version.

    Args:
        dim: Number of channels ``C``.
        eps: Added to the variance before the square root, so a constant channel gives 0, not NaN.
        momentum: Weight of the current batch in the running statistics, in [0, 1], or ``None`` for
            the cumulative average.
        unbiased: Normalise with the unbiased batch variance (the lectures) instead of the biased one (torch).

    Raises:
        ValueError: ``dim`` is not a whole number of at least 1, ``eps`` is negative, or
            ``momentum`` is neither ``None`` nor a number in [0, 1].
    """

    def __init__(self, dim: int, eps: float = 1e-5, momentum: float | None = 0.1, unbiased: bool = False):
        _check_sizes("BatchNorm1d", dim=dim)
        _check_eps("BatchNorm1d", eps)
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(
                f"BatchNorm1d needs momentum in [0, 1] (the weight of each new batch) or None (the average of "
                f"all batches), got momentum={momentum!r}"
            )
        self.dim, self.eps, self.momentum, self.unbiased = dim, eps, momentum, unbiased
        self.num_batches_tracked = 0  # training batches seen, for momentum=None
        self.weight = torch.ones(dim)
        self.bias = torch.zeros(dim)
        self.running_mean = torch.zeros(dim)
        self.running_var = torch.ones(dim)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        _check_tensor(self, x, f"a {self.weight.dtype} tensor of shape (N, {self.dim}) or (N, L, {self.dim})",
                      self.weight.dtype)
        if x.ndim not in (2, 3) or x.shape[-1] != self.dim:
            raise ValueError(
                f"BatchNorm1d expects input of shape (N, {self.dim}) or (N, L, {self.dim}) with the channels last, "
                f"got shape {tuple(x.shape)}"
            )
        if self.training:
            mean, var, m = self.batch_statistics(x)
            with torch.no_grad():  # the buffers are statistics, not part of the graph
                self.update_running(mean, var if self.unbiased else var * m / (m - 1))
        else:
            mean, var = self.running_mean, self.running_var
        xhat = (x - mean) / torch.sqrt(var + self.eps)
        self.out = self.weight * xhat + self.bias
        return self.out

    # --8<-- [start:batch_statistics]
    def batch_statistics(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Each channel's mean and variance over the batch (every dimension but the last), and the count ``m``.

        The variance is the one that normalises: biased, or unbiased when ``unbiased=True``.
        """
        dims = tuple(range(x.ndim - 1))
        m = x.numel() // self.dim
        if m < 2:
            raise ValueError(
                f"BatchNorm1d in training mode needs more than 1 value per channel to estimate a variance, "
                f"got input of shape {tuple(x.shape)}; use a larger batch or call .eval()"
            )
        return x.mean(dims), x.var(dims, correction=1 if self.unbiased else 0), m
    # --8<-- [end:batch_statistics]

    def update_running(self, mean: torch.Tensor, unbiased_var: torch.Tensor) -> None:
        """Move the running buffers (in place) a ``momentum`` step towards this batch's statistics.

        With ``momentum=None`` the step is ``1 / num_batches_tracked``: the average of all batches.
        """
        self.num_batches_tracked += 1
        weight = 1 / self.num_batches_tracked if self.momentum is None else self.momentum
        self.running_mean.mul_(1 - weight).add_(weight * mean)
        self.running_var.mul_(1 - weight).add_(weight * unbiased_var)

    def set_running(self, mean: torch.Tensor, unbiased_var: torch.Tensor) -> None:
        """Replace the running buffers (in place) by these statistics (`zh.train.calibrate_batchnorm`)."""
        self.running_mean.copy_(mean)
        self.running_var.copy_(unbiased_var)

    def parameters(self) -> list[torch.Tensor]:
        """``[weight, bias]`` (the running statistics are buffers, not parameters)."""
        return [self.weight, self.bias]

    def __repr__(self) -> str:
        return f"BatchNorm1d({self.dim}, eps={self.eps}, momentum={self.momentum}, unbiased={self.unbiased})"


# --8<-- [start:layernorm]
class LayerNorm(TensorLayer):
    """Normalise each row over its last dimension (its features), then scale by ``weight`` and shift by ``bias``.

    Where BatchNorm takes the mean and variance of one feature over the batch, LayerNorm takes
    them over the features of one example (one position of one sequence). No example depends on
    another, so there are no running statistics, and training and eval mode compute the same
    thing. Matches ``torch.nn.LayerNorm(dim, eps)``: the biased variance (divide by ``dim``).

    Args:
        dim: Size of the last dimension, the one normalised over.
        eps: Added to the variance before the square root, so a constant row gives 0, not NaN.

    Raises:
        ValueError: ``dim`` is not a whole number of at least 1, or ``eps`` is negative.
    """

    def __init__(self, dim: int, eps: float = 1e-5):
        _check_sizes("LayerNorm", dim=dim)
        _check_eps("LayerNorm", eps)
        self.dim, self.eps = dim, eps
        self.weight = torch.ones(dim)
        self.bias = torch.zeros(dim)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        _check_tensor(self, x, f"a {self.weight.dtype} tensor of shape (..., {self.dim})", self.weight.dtype)
        _check_last_dim("LayerNorm", x, self.dim, "dim")
        mean = x.mean(-1, keepdim=True)  # one mean per row: over the features, not the batch
        var = x.var(-1, keepdim=True, correction=0)
        xhat = (x - mean) / torch.sqrt(var + self.eps)
        self.out = self.weight * xhat + self.bias
        return self.out
    # --8<-- [end:layernorm]

    def parameters(self) -> list[torch.Tensor]:
        """``[weight, bias]``."""
        return [self.weight, self.bias]

    def __repr__(self) -> str:
        return f"LayerNorm({self.dim}, eps={self.eps})"


# --8<-- [start:layernorm_backward]
def layernorm_backward(
    dy: torch.Tensor, xhat: torch.Tensor, gamma: torch.Tensor, var: torch.Tensor, eps: float = 1e-5
) -> torch.Tensor:
    r"""The gradient of a LayerNorm's input, in closed form, from the gradient of its output.

    For ``y = gamma * xhat + beta`` with ``xhat = (x - mean) / sqrt(var + eps)``, the mean and the
    (biased, divide by ``n``) variance taken over the last dimension of each row, as
    ``torch.nn.LayerNorm(n)`` does, and ``g = gamma * dy`` the gradient at ``xhat``:

    $$\frac{\partial L}{\partial x_i} = \frac{1}{n\sqrt{\sigma^2+\varepsilon}}
    \Big[n\,g_i - \sum_j g_j - \hat x_i \sum_j g_j \hat x_j\Big],$$

    the sums running over the ``n`` features of the row. Unlike BatchNorm, ``gamma`` differs from
    feature to feature *inside* the normalised group, so it stays inside the sums. The
    parameters' gradients are ``(dy * xhat)`` and ``dy`` summed over every dimension but the last.

    Args:
        dy: Gradient of the loss with respect to the output ``y``, shape ``(..., n)``.
        xhat: The normalised input saved by the forward pass, the shape of ``dy``.
        gamma: The scale (`LayerNorm`'s ``weight``), shape ``(n,)``.
        var: The variance of each row, shape ``(..., 1)`` (as ``keepdim=True`` gives) or ``(...)``.
        eps: The forward pass's epsilon.

    Returns:
        The gradient with respect to the input ``x``, the shape of ``dy``.
    """
    if dy.shape != xhat.shape or dy.ndim < 1:
        raise ValueError(
            f"dy and xhat must have the same shape (..., n), got {tuple(dy.shape)} and {tuple(xhat.shape)}"
        )
    if var.shape == dy.shape[:-1]:
        var = var.unsqueeze(-1)
    elif var.shape != dy.shape[:-1] + (1,):
        raise ValueError(
            f"var must hold one variance per row: shape {tuple(dy.shape[:-1]) + (1,)} or {tuple(dy.shape[:-1])} "
            f"for dy of shape {tuple(dy.shape)}, got {tuple(var.shape)}"
        )
    n = dy.shape[-1]
    g = gamma * dy  # the gradient at xhat
    return (var + eps) ** -0.5 / n * (n * g - g.sum(-1, keepdim=True) - xhat * (g * xhat).sum(-1, keepdim=True))
# --8<-- [end:layernorm_backward]


class Tanh(TensorLayer):
    """The elementwise ``tanh`` squashing, ``(-1, 1)``; its local gradient is ``1 - tanh(x)**2``."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        _check_tensor(self, x, "a tensor")
        self.out = torch.tanh(x)
        return self.out

    def __repr__(self) -> str:
        return "Tanh()"


class Embedding(TensorLayer):
    """A lookup table: row ``i`` of ``weight`` (shape ``(num_embeddings, embedding_dim)``) for each index ``i``.

    Args:
        num_embeddings: How many distinct indices (the vocabulary size).
        embedding_dim: Length of each vector.
        generator: The ``torch.Generator`` that draws the initial ``randn`` table.

    Raises:
        ValueError: a size is not a whole number of at least 1.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, generator: torch.Generator | None = None):
        _check_sizes("Embedding", num_embeddings=num_embeddings, embedding_dim=embedding_dim)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = torch.randn((num_embeddings, embedding_dim), generator=generator)

    def __call__(self, idx: torch.Tensor) -> torch.Tensor:
        _check_tensor(self, idx, "a tensor of integer indices", convert_to=torch.long)
        if idx.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"Embedding expects integer indices, got a tensor of dtype {idx.dtype}")
        if idx.numel() and (idx.min() < 0 or idx.max() >= self.num_embeddings):
            bad = idx[(idx < 0) | (idx >= self.num_embeddings)][0].item()
            raise IndexError(f"Embedding index {bad} is out of range: the table has rows 0..{self.num_embeddings - 1}")
        self.out = self.weight[idx]
        return self.out

    def parameters(self) -> list[torch.Tensor]:
        """``[weight]``."""
        return [self.weight]

    def __repr__(self) -> str:
        return f"Embedding({self.num_embeddings}, {self.embedding_dim})"


class Flatten(TensorLayer):
    """``(N, d1, d2, ...) -> (N, d1 * d2 * ...)``: concatenate the embeddings of a context.

    As ``torch.nn.Flatten()``: an empty batch gives shape ``(0, d1 * d2 * ...)``.
    """

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        _check_tensor(self, x, "a tensor of shape (N, d1, ...)")
        if x.ndim < 2:
            raise ValueError(f"Flatten expects a batch of shape (N, d1, ...), got shape {tuple(x.shape)}")
        self.out = x.flatten(1)  # not reshape(N, -1), which cannot tell the -1 when N is 0
        return self.out

    def __repr__(self) -> str:
        return "Flatten()"


class FlattenConsecutive(TensorLayer):
    """``(B, T, C) -> (B, T // n, C * n)``: concatenate each run of ``n`` consecutive positions.

    The WaveNet page stacks these to fuse a context pairwise. A time dimension of 1 is
    squeezed away, giving ``(B, C * n)``.

    Args:
        n: How many consecutive positions to concatenate; must divide ``T``.
    """

    def __init__(self, n: int):
        _check_sizes("FlattenConsecutive", n=n)
        self.n = n

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        _check_tensor(self, x, "a tensor of shape (B, T, C)")
        if x.ndim != 3 or x.shape[1] % self.n:
            raise ValueError(
                f"FlattenConsecutive({self.n}) expects input of shape (B, T, C) with T divisible by {self.n}, "
                f"got shape {tuple(x.shape)}"
            )
        B, T, C = x.shape
        x = x.reshape(B, T // self.n, C * self.n)
        self.out = x.squeeze(1) if x.shape[1] == 1 else x
        return self.out

    def __repr__(self) -> str:
        return f"FlattenConsecutive({self.n})"


class Sequential(TensorLayer):
    """Apply ``layers`` in order; its parameters are theirs, and ``train()``/``eval()`` reach all of them.

    As ``torch.nn.Sequential``, the layers are the arguments: ``Sequential(Linear(2, 3), Tanh())``;
    one list of layers is accepted too.

    Args:
        *layers: The layers, first applied first.

    Raises:
        TypeError: something that is not a layer (a class instead of an instance, for example).
    """

    def __init__(self, *layers: TensorLayer):
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if isinstance(layer, type) or not callable(layer):
                hint = f" (the class itself: did you mean {layer.__name__}()?)" if isinstance(layer, type) else ""
                raise TypeError(f"Sequential takes layers, got {layer!r} at position {i}{hint}")
        self.layers = list(layers)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        self.out = x
        return self.out

    def __getitem__(self, i):
        """Layer ``i``; a slice gives a `Sequential` of those layers, as in torch."""
        return Sequential(self.layers[i]) if isinstance(i, slice) else self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def parameters(self) -> list[torch.Tensor]:
        """The parameters of every layer, in order, each tensor once (a layer used twice is updated once)."""
        return list({id(p): p for layer in self.layers for p in layer.parameters()}.values())

    def train(self, mode: bool = True) -> "Sequential":
        """Set training mode on this container and on every layer in it."""
        self.training = mode
        for layer in self.layers:
            layer.train(mode)
        return self

    def __repr__(self) -> str:
        inner = "".join(f"\n  {layer!r}," for layer in self.layers)
        return f"Sequential({inner}\n)"
