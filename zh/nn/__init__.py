"""Neural-network building blocks, in two families.

- micrograd-style, on scalar `zh.engine.Value`s: `Module`, `Neuron`, `Layer`, `MLP`,
  `svm_loss` and their training loop `train` (``zh/nn/micrograd.py``, the micrograd pages).
- PyTorch-shaped layers written by hand on torch tensors: `Linear`, `BatchNorm1d`, `LayerNorm`,
  `Tanh`, `Embedding`, `Flatten`, `FlattenConsecutive`, `Sequential` (``zh/nn/layers.py``, the makemore
  pages). Their common base class is `zh.nn.layers.TensorLayer`; `zh.nn.Module` is micrograd's.

The torch layers are imported on first use, so ``from zh.nn import MLP`` needs the standard library
alone: that is how the micrograd pages run in a reader's browser (Pyodide has no torch).
"""

import contextlib
from collections.abc import Iterator
from importlib import import_module

from zh.nn.micrograd import MLP, Layer, Module, Neuron, svm_loss, train

_LAYERS = ("Linear", "BatchNorm1d", "LayerNorm", "Tanh", "Embedding", "Flatten", "FlattenConsecutive", "Sequential")

__all__ = ["Module", "Neuron", "Layer", "MLP", "svm_loss", "train", "eval_mode", *_LAYERS]


@contextlib.contextmanager
def eval_mode(model) -> Iterator[None]:
    """Put ``model`` (a ``torch.nn.Module`` or a `zh.nn.layers.TensorLayer`) in eval mode for a block,
    then back in the mode it was in, whatever happens inside."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def __getattr__(name: str):
    """``zh.nn.Linear`` and the other torch layers: imported from `zh.nn.layers` when first asked for."""
    if name in _LAYERS:
        value = getattr(import_module("zh.nn.layers"), name)
        globals()[name] = value  # found directly from now on
        return value
    raise AttributeError(f"module 'zh.nn' has no attribute {name!r}")
