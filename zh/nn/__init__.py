"""Neural-network building blocks.

- micrograd-style, on scalar `zh.engine.Value`s: `Module`, `Neuron`,
  `Layer`, `MLP`, and their training loop `train` (``zh/nn/micrograd.py``).
"""

from zh.nn.micrograd import MLP, Layer, Module, Neuron, svm_loss, train

__all__ = ["Module", "Neuron", "Layer", "MLP", "svm_loss", "train"]
