"""The MLP of Karpathy's lecture *Building makemore Part 4* with a hand-written backward pass: no ``loss.backward()``.

Page: [makemore / manual backprop](../makemore/backprop.md) derives every gradient here.

The network is Embedding -> Linear -> BatchNorm (unbiased batch variance, as the lecture writes
it) -> tanh -> Linear -> cross-entropy. Its backward pass uses the two fused gradients the page
derives: :func:`cross_entropy_backward` (``(softmax - onehot) / n``) and
:func:`batchnorm_backward` (the closed form of the BatchNorm gradient). Its transformer
counterpart, `zh.nn.layers.layernorm_backward`, sits beside `zh.nn.layers.LayerNorm`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from zh.models.training import autograd_grads, sgd

def cross_entropy_backward(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The gradient of ``F.cross_entropy(logits, targets)`` (mean over the batch) with respect to ``logits``.

    Args:
        logits: Shape ``(n, vocab_size)``.
        targets: Shape ``(n,)``, the correct class of each row.

    Returns:
        ``(softmax(logits) - onehot(targets)) / n``, the shape of ``logits``.
    """
    if logits.ndim != 2 or targets.shape != logits.shape[:1]:
        raise ValueError(f"expected logits (n, classes) and targets (n,), "
                         f"got shapes {tuple(logits.shape)} and {tuple(targets.shape)}")
    dlogits = F.softmax(logits, dim=1)
    dlogits[torch.arange(logits.shape[0]), targets] -= 1
    return dlogits / logits.shape[0]


def batchnorm_backward(
    dy: torch.Tensor,
    xhat: torch.Tensor,
    gamma: torch.Tensor,
    var: torch.Tensor,
    eps: float = 1e-5,
    unbiased: bool = True,
) -> torch.Tensor:
    r"""The gradient of a BatchNorm's input, in closed form, from the gradient of its output.

    For ``y = gamma * xhat + beta`` with ``xhat = (x - mean) / sqrt(var + eps)``, the statistics
    taken over the ``m`` rows of each channel (channels last; 2-D ``(m, C)`` or ``(N, L, C)``, in
    which case ``m = N * L``) and ``var`` divided by ``m - 1`` (``unbiased=True``, as in the lecture)
    or by ``m`` (``unbiased=False``, ``torch.nn.BatchNorm1d``):

    $$\frac{\partial L}{\partial x_i} = \frac{\gamma}{m\sqrt{\sigma^2+\varepsilon}}
    \Big[m\,dy_i - \sum_j dy_j - \frac{m}{d}\,\hat x_i \sum_j dy_j \hat x_j\Big],\quad d = m-1 \text{ or } m.$$

    A constant channel is fine: its ``xhat`` is 0 and its gradient is the centred ``dy`` times
    ``gamma / sqrt(eps)``. Only ``eps=0`` on a constant channel divides by zero (inf/NaN, as the
    formula itself does).

    Args:
        dy: Gradient of the loss with respect to the output ``y``.
        xhat: The normalised input saved by the forward pass (same shape as ``dy``).
        gamma: The scale, shape ``(C,)`` or broadcastable, e.g. ``(1, C)``.
        var: The batch variance the forward pass normalised with, broadcastable to ``(C,)``.
        eps: The forward pass's epsilon.
        unbiased: Whether ``var`` was divided by ``m - 1`` (True) or ``m`` (False).

    Returns:
        The gradient with respect to the input ``x``, the shape of ``dy``.
    """
    if dy.shape != xhat.shape or dy.ndim < 2:
        raise ValueError(
            f"dy and xhat must have the same shape (m, C) or (N, L, C), got {tuple(dy.shape)} and {tuple(xhat.shape)}"
        )
    dims = tuple(range(dy.ndim - 1))
    m = dy.numel() // dy.shape[-1]
    d = m - 1 if unbiased else m
    if d < 1:
        raise ValueError(
            f"the unbiased variance needs at least 2 values per channel; got m={m} (shape {tuple(dy.shape)})"
        )
    return (
        gamma
        * (var + eps) ** -0.5
        / m
        * (m * dy - dy.sum(dims, keepdim=True) - m / d * xhat * (dy * xhat).sum(dims, keepdim=True))
    )


def init_params(
    vocab_size: int,
    block_size: int = 3,
    n_embd: int = 10,
    n_hidden: int = 64,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> dict[str, torch.Tensor]:
    """The lecture's initialisation: Kaiming-scaled ``W1``, small random biases and BatchNorm parameters.

    Everything is drawn small but nonzero (unlike a usual init) so that a wrong gradient shows.
    """
    fan_in = n_embd * block_size

    def randn(*shape):
        return torch.randn(shape, generator=generator, dtype=dtype)

    return {
        "C": randn(vocab_size, n_embd),
        "W1": randn(fan_in, n_hidden) * (5 / 3) / fan_in**0.5,
        "b1": randn(n_hidden) * 0.1,  # useless before a BatchNorm; kept to check its gradient is 0
        "W2": randn(n_hidden, vocab_size) * 0.1,
        "b2": randn(vocab_size) * 0.1,
        "bngain": randn(1, n_hidden) * 0.1 + 1.0,
        "bnbias": randn(1, n_hidden) * 0.1,
    }


def forward(
    params: dict[str, torch.Tensor], X: torch.Tensor, Y: torch.Tensor, stats: tuple | None = None, eps: float = 1e-5
) -> tuple[torch.Tensor, dict]:
    """Loss of the MLP on ``(X, Y)`` and the intermediate tensors :func:`backward` needs.

    Args:
        params: From :func:`init_params`.
        X: Contexts ``(n, block_size)``.
        Y: Targets ``(n,)``.
        stats: ``(mean, var)`` to normalise with instead of the batch's (evaluation); see :func:`calibrate`.
        eps: BatchNorm's epsilon.
    """
    n = X.shape[0]
    emb = params["C"][X]
    embcat = emb.view(n, -1)
    hprebn = embcat @ params["W1"] + params["b1"]
    if stats is None:
        if n < 2:
            raise ValueError(f"a training batch needs at least 2 examples for the unbiased variance, got {n}")
        mean, var = hprebn.mean(0, keepdim=True), hprebn.var(0, keepdim=True, correction=1)
    else:
        mean, var = stats
    xhat = (hprebn - mean) * (var + eps) ** -0.5
    h = torch.tanh(params["bngain"] * xhat + params["bnbias"])
    logits = h @ params["W2"] + params["b2"]
    loss = F.cross_entropy(logits, Y)
    return loss, {"X": X, "Y": Y, "embcat": embcat, "var": var, "xhat": xhat, "h": h, "logits": logits, "eps": eps}


# --8<-- [start:backward]
def backward(params: dict[str, torch.Tensor], cache: dict) -> dict[str, torch.Tensor]:
    """Every parameter's gradient, by hand, from the ``cache`` of :func:`forward` (batch statistics)."""
    X, h, xhat = cache["X"], cache["h"], cache["xhat"]
    dlogits = cross_entropy_backward(cache["logits"], cache["Y"])
    dh = dlogits @ params["W2"].T
    dhpreact = (1.0 - h**2) * dh  # tanh' = 1 - tanh^2
    dhprebn = batchnorm_backward(dhpreact, xhat, params["bngain"], cache["var"], cache["eps"])
    dembcat = dhprebn @ params["W1"].T
    dC = torch.zeros_like(params["C"])
    # every occurrence of a character adds its slice of the gradient to that character's row
    dC.index_add_(0, X.flatten(), dembcat.view(-1, params["C"].shape[1]))
    return {
        "C": dC,
        "W1": cache["embcat"].T @ dhprebn,
        "b1": dhprebn.sum(0),
        "W2": h.T @ dlogits,
        "b2": dlogits.sum(0),
        "bngain": (xhat * dhpreact).sum(0, keepdim=True),
        "bnbias": dhpreact.sum(0, keepdim=True),
    }
# --8<-- [end:backward]


@torch.no_grad()
def calibrate(params: dict[str, torch.Tensor], X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """BatchNorm's mean and (unbiased) variance over a whole split, to evaluate with after training."""
    hprebn = params["C"][X].view(X.shape[0], -1) @ params["W1"] + params["b1"]
    return hprebn.mean(0, keepdim=True), hprebn.var(0, keepdim=True, correction=1)


def train(
    params: dict[str, torch.Tensor], X: torch.Tensor, Y: torch.Tensor, max_steps: int, manual: bool = True,
    **kwargs: Any,
) -> list[float]:
    """Train with the lecture's loop (`zh.models.training.sgd`); returns the minibatch losses.

    Args:
        params: From :func:`init_params`, updated in place.
        X: Training contexts.
        Y: Training targets.
        max_steps: Number of updates.
        manual: Use :func:`backward`; ``False`` uses torch autograd instead, for comparison.
        **kwargs: ``batch_size`` (at least 2), ``learning_rate``, ``decay_at`` (default 0.5: the lecture's step
            decay), ``generator``, as for ``sgd``.
    """
    if kwargs.get("batch_size", 32) < 2:
        raise ValueError(f"BatchNorm's unbiased variance needs batch_size >= 2, got {kwargs['batch_size']}")

    def grads_of(Xb, Yb):
        if manual:
            with torch.no_grad():
                loss, cache = forward(params, Xb, Yb)
                grads = backward(params, cache)
            return loss, [grads[k] for k in params]
        for p in params.values():
            p.requires_grad_(True)
        loss, _ = forward(params, Xb, Yb)
        return loss, autograd_grads(loss, list(params.values()))

    kwargs.setdefault("decay_at", 0.5)
    return sgd(list(params.values()), grads_of, X, Y, max_steps, **kwargs)


@torch.no_grad()
def split_loss(params: dict[str, torch.Tensor], X: torch.Tensor, Y: torch.Tensor, stats: tuple) -> float:
    """Mean cross-entropy on a whole split, normalising with the calibrated ``stats``."""
    return forward(params, X, Y, stats=stats)[0].item()
