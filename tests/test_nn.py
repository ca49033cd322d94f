"""zh.nn (micrograd-style) and zh.data.make_moons: micrograd compatibility, torch agreement, training."""

import random

import numpy as np
import pytest
import torch
from micrograd import nn as mg

from zh.data import make_moons
from zh.engine import Value
from zh.nn import MLP, Layer, Neuron, svm_loss, train


def copied_model(nin, nouts, seed=0):
    """A micrograd MLP and a zh MLP with the same weights."""
    random.seed(seed)
    theirs = mg.MLP(nin, nouts)
    ours = MLP(nin, nouts)
    for p, q in zip(theirs.parameters(), ours.parameters(), strict=True):
        q.data = p.data
    return theirs, ours


def test_same_api_and_reprs_as_micrograd():
    theirs, ours = copied_model(3, [4, 4, 1])
    assert repr(ours) == repr(theirs)
    assert repr(Neuron(2, nonlin=False)) == "LinearNeuron(2)"
    assert len(Layer(3, 5).parameters()) == 20 and len(ours.parameters()) == 41
    out = ours([1.0, -2.0, 0.5])
    out.backward()
    assert any(p.grad != 0 for p in ours.parameters())
    ours.zero_grad()
    assert all(p.grad == 0 for p in ours.parameters())


def test_losses_identical_to_micrograd_and_grads_to_torch():
    X, y = make_moons(20, noise=0.1, random_state=0)
    X, y = X.tolist(), (2 * y - 1).tolist()
    theirs, ours = copied_model(2, [8, 8, 1])
    ours_history, theirs_history = train(ours, X, y, max_steps=3), train(theirs, X, y, max_steps=3)
    assert ours_history[0] == theirs_history[0]  # same weights, same arithmetic: bit for bit
    for (a, _), (b, _) in zip(ours_history, theirs_history):
        assert abs(a - b) < 1e-12  # afterwards gradients are summed in another order
    # the gradient of one loss, against torch
    loss, _ = svm_loss(ours, X, y)
    ours.zero_grad()
    loss.backward()
    layers = [[torch.tensor([[p.data for p in n.w] for n in layer.neurons], dtype=torch.float64, requires_grad=True),
               torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64, requires_grad=True)]
              for layer in ours.layers]
    h = torch.tensor(X, dtype=torch.float64)
    for i, (W, b) in enumerate(layers):
        h = h @ W.T + b
        h = h.relu() if i < len(layers) - 1 else h
    t_loss = (1 - torch.tensor(y, dtype=torch.float64) * h[:, 0]).relu().mean()
    t_loss = t_loss + 1e-4 * sum((t**2).sum() for layer in layers for t in layer)
    t_loss.backward()
    assert abs(loss.data - t_loss.item()) < 1e-12
    for layer, (W, b) in zip(ours.layers, layers):
        for j, n in enumerate(layer.neurons):
            assert np.allclose([p.grad for p in n.w], W.grad[j].numpy(), rtol=1e-9, atol=1e-12)
            assert abs(n.b.grad - b.grad[j].item()) < 1e-12


def test_bad_inputs_are_explained():
    model = MLP(2, [4, 1])
    with pytest.raises(ValueError, match="takes 2 inputs, got 3"):
        model([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="-1 or \\+1"):
        svm_loss(model, [[0.0, 1.0]], [0])
    with pytest.raises(ValueError, match="1 inputs but 2 labels"):
        svm_loss(model, [[0.0, 1.0]], [1, -1])
    with pytest.raises(ValueError, match="nin=0"):
        Neuron(0)


@pytest.mark.parametrize("build, message", [
    (lambda: MLP(2, []), r"needs nouts, the list of its layer sizes \(e.g. \[16, 16, 1\]\); got \[\]"),
    (lambda: MLP(2, 16), r"list of its layer sizes .*got 16"),
    (lambda: MLP(2, [16, 0, 1]), "whole number of neurons, at least one; got nout=0"),
    (lambda: MLP(0, [1]), "got nin=0"),
    (lambda: Layer(2, 0), "got nout=0"),
    (lambda: Layer(2, 2.5), "got nout=2.5"),
    (lambda: Neuron(2.0), "got nin=2.0"),
])
def test_degenerate_sizes_are_rejected_at_construction(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_sizes_and_inputs_may_be_numpy():
    model = MLP(np.int64(2), (3, np.int64(1)))
    assert len(model.parameters()) == 13 and isinstance(model(np.array([1.0, 2.0])), Value)
    assert len(MLP(2, np.array([4, 1])).parameters()) == 17
    with pytest.raises(TypeError, match="takes a list of 2 inputs, got float 3.0"):
        model(3.0)


def test_svm_loss_says_what_it_needs():
    with pytest.raises(ValueError, match="at least one example"):
        svm_loss(MLP(2, [4, 1]), [], [])
    with pytest.raises(ValueError, match=r"one output, a single Value .* returned a list of 3 Values"):
        svm_loss(MLP(2, [4, 3]), [[0.0, 1.0]], [1])
    with pytest.raises(ValueError, match="returned float"):
        svm_loss(lambda x: 0.5, [[0.0, 1.0]], [1])


def test_make_moons_shape_balance_noise_and_seed():
    X, y = make_moons(101, noise=0.0, random_state=3)
    assert X.shape == (101, 2) and y.tolist().count(0) == 50 and y.tolist().count(1) == 51
    upper, lower = X[y == 0], X[y == 1]
    assert np.allclose(np.hypot(*upper.T), 1) and np.allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1)
    assert (upper[:, 1] >= -1e-12).all() and (lower[:, 1] <= 0.5 + 1e-12).all()
    a, b = make_moons(50, noise=0.2, random_state=7), make_moons(50, noise=0.2, random_state=7)
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a[0], make_moons(50, noise=0.2, random_state=8)[0])
    with pytest.raises(ValueError, match="negative"):
        make_moons(10, noise=-1)


def test_docstring_examples():
    import doctest

    import zh.nn.micrograd

    result = doctest.testmod(zh.nn.micrograd)
    assert result.attempted > 0 and result.failed == 0
