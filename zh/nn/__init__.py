"""Neural-network building blocks, in two families.

- micrograd-style, on scalar `zh.engine.Value`s: `Module`, `Neuron`, `Layer`, `MLP`,
  `svm_loss` and their training loop `train` (``zh/nn/micrograd.py``, the micrograd pages).
- PyTorch-shaped layers written by hand on torch tensors: `Linear`, `BatchNorm1d`, `LayerNorm`,
  `Tanh`, `Embedding`, `Flatten`, `FlattenConsecutive`, `Sequential` (``zh/nn/layers.py``, the makemore
  pages). Their common base class is `zh.nn.layers.Module`; `zh.nn.Module` is micrograd's.
"""

from zh.nn.layers import BatchNorm1d, Embedding, Flatten, FlattenConsecutive, LayerNorm, Linear, Sequential, Tanh
from zh.nn.micrograd import MLP, Layer, Module, Neuron, svm_loss, train

__all__ = [
    "Module", "Neuron", "Layer", "MLP", "svm_loss", "train",
    "Linear", "BatchNorm1d", "LayerNorm", "Tanh", "Embedding", "Flatten", "FlattenConsecutive", "Sequential",
]
