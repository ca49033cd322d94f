"""Neural-network building blocks.

- micrograd-style, on scalar :class:`zh.engine.Value` s: :class:`Module`, :class:`Neuron`,
  :class:`Layer`, :class:`MLP`, and their training loop :func:`train` (``zh/nn/micrograd.py``).
"""

from zh.nn.micrograd import MLP, Layer, Module, Neuron, svm_loss, train

__all__ = ["Module", "Neuron", "Layer", "MLP", "svm_loss", "train"]
