"""Neurons and layers: PyTorch-shaped layers on torch tensors (``zh.nn.layers``)."""

from zh.nn.layers import BatchNorm1d, Embedding, Flatten, FlattenConsecutive, Linear, Module, Sequential, Tanh

__all__ = ["BatchNorm1d", "Embedding", "Flatten", "FlattenConsecutive", "Linear", "Module", "Sequential", "Tanh"]
