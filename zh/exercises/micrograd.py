"""Reference answers to the exercises of the micrograd pages (see ``zh.exercises``).

Each reference gets its answer a different way from the page's solution: from PyTorch's autograd
in double precision (or from the PyPI ``micrograd`` package, or from algebra), never by running
the solution's own code again.
"""

from zh.exercises import exercise


def _torch():
    import torch

    return torch


def _leaves(*values):
    """Float64 tensors that need a gradient, one per number."""
    torch = _torch()
    return [torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for v in values]


def _grads(output, leaves) -> list[float]:
    """d(output)/d(leaf) for each leaf, by torch's autograd (None, a leaf not used, counts as 0)."""
    grads = _torch().autograd.grad(output, leaves, allow_unused=True)
    return [0.0 if g is None else g.item() for g in grads]


# ---- micrograd/derivative ----


@exercise("micrograd/derivative", "flat_x", hint="solve f'(x) = 6x - 4 = 0",
          example=dict)
def flat_x() -> float:
    """Where f(x) = 3x^2 - 4x + 5 has slope 0: Newton's method on f', both derivatives by autograd."""
    torch = _torch()
    x = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    for _ in range(5):
        (slope,) = torch.autograd.grad(3 * x**2 - 4 * x + 5, x, create_graph=True)
        (curvature,) = torch.autograd.grad(slope, x)
        x = (x - slope / curvature).detach().requires_grad_()
    return x.item()


@exercise("micrograd/derivative", "central_error", rtol=1e-4,  # rounding in (x+h)^3 - (x-h)^3 is ~1e-12
          hint="expand (x+h)^3 - (x-h)^3: the error of the central difference grows like h^2, not h",
          example=lambda: {"h": 1e-3})
def central_error(h: float) -> float:
    """The central difference of x^3 at x = 2 minus its slope 12: ((x+h)^3 - (x-h)^3) / 2h - 3x^2 = h^2."""
    return h * h


@exercise("micrograd/derivative", "partials", atol=1e-4,  # a forward difference with h = 1e-6 is off by ~h
          hint="nudge one input at a time by h = 1e-6 and divide the change of the output by h",
          example=lambda: {"a": 2.0, "b": -3.0, "c": 10.0})
def partials(a: float, b: float, c: float) -> list[float]:
    """The partial derivatives of a*b*c + a at (a, b, c), by autograd."""
    ta, tb, tc = _leaves(a, b, c)
    return _grads(ta * tb * tc + ta, [ta, tb, tc])


def _second_derivative(f, x: float, h: float) -> float:
    """f''(x) by differentiating twice with autograd (``h`` is the step a finite difference would use)."""
    torch = _torch()
    (tx,) = _leaves(x)
    (slope,) = torch.autograd.grad(f(tx), tx, create_graph=True)
    (curvature,) = torch.autograd.grad(slope, tx)
    return curvature.item()


exercise("micrograd/derivative", "second", rtol=1e-4,  # a finite difference with h = 1e-4 rounds at ~1e-7
         hint="(f(x+h) - 2 f(x) + f(x-h)) / h**2 with h near 1e-4: a smaller h loses the digits to rounding",
         probes=lambda: [(lambda t: 3 * t**2 - 4 * t + 5, 3.0, 1e-4), (lambda t: t**3, 2.0, 1e-4),
                         (lambda t: 1 / (1 + t * t), 0.5, 1e-4)])(_second_derivative)


# ---- micrograd/value ----


@exercise("micrograd/value", "grads",
          hint="M = u * v with u = a + b, v = a - c: dM/da gets a part through u and one through v",
          example=lambda: {"a": 2.0, "b": -3.0, "c": 10.0})
def value_grads(a: float, b: float, c: float) -> list[float]:
    """dM/da, dM/db, dM/dc of M = (a + b) * (a - c), by autograd."""
    ta, tb, tc = _leaves(a, b, c)
    return _grads((ta + tb) * (ta - tc), [ta, tb, tc])


@exercise("micrograd/value", "nudged_L", rtol=1e-9, hint="L changes by (the nudge) times dL/da; here L is linear in a",
          example=lambda: {"step": 0.01})
def nudged_L(step: float) -> float:
    """L = (a*b + c) * f recomputed at a = 2 + step (b = -3, c = 10, f = -2)."""
    return ((2.0 + step) * -3.0 + 10.0) * -2.0


@exercise("micrograd/value", "sin_grad", hint="the local derivative of sin is cos; y = x * sin(x) uses x twice",
          example=lambda: {"x": 0.5})
def sin_grad(x: float) -> float:
    """dy/dx of y = x * sin(x), by autograd."""
    torch = _torch()
    (tx,) = _leaves(x)
    return _grads(tx * torch.sin(tx), [tx])[0]


@exercise("micrograd/value", "div_grads", hint="d(a/b)/da = 1/b and d(a/b)/db = -a/b**2; q = (a/b)*a + b uses a twice",
          example=lambda: {"a": 3.0, "b": -2.0})
def div_grads(a: float, b: float) -> list[float]:
    """dq/da, dq/db of q = (a / b) * a + b, by autograd."""
    ta, tb = _leaves(a, b)
    return _grads(ta / tb * ta + tb, [ta, tb])


# ---- micrograd/backprop ----


@exercise("micrograd/backprop", "grad_a", hint="L = a*a + a uses a three times: 2a from the product, 1 from the sum",
          example=lambda: {"a": 3.0})
def backprop_grad_a(a: float) -> float:
    """dL/da of L = a*a + a, by autograd."""
    (ta,) = _leaves(a)
    return _grads(ta * ta + ta, [ta])[0]


@exercise("micrograd/backprop", "after_three", hint="each backward() adds dL/da = 8 to the leaf a once more",
          example=dict)
def after_three() -> float:
    """a.grad after three backward() calls on L = 2a + 3(2a) without zeroing, by torch (which accumulates too)."""
    (ta,) = _leaves(3.0)
    b = ta * 2
    loss = b + b * 3
    for _ in range(3):
        loss.backward(retain_graph=True)
    return ta.grad.item()


@exercise("micrograd/backprop", "diamond", hint="a and c are each used twice: add the contribution of each use",
          example=lambda: {"a": 2.0, "b": -1.0, "c": 3.0})
def diamond(a: float, b: float, c: float) -> list[float]:
    """dL/da, dL/db, dL/dc of L = (a*b + b*c) * (a + c), by autograd."""
    ta, tb, tc = _leaves(a, b, c)
    return _grads((ta * tb + tb * tc) * (ta + tc), [ta, tb, tc])


@exercise("micrograd/backprop", "micrograd_twice",
          hint="without a reset, b still holds 4 from the first pass when the second adds to it",
          example=dict)
def micrograd_twice() -> float:
    """a.grad after two backward() calls on b = 2a, L = b + 3b in the PyPI micrograd package."""
    from micrograd.engine import Value as MicrogradValue

    a = MicrogradValue(3.0)
    b = a * 2
    loss = b + b * 3
    loss.backward()
    loss.backward()
    return float(a.grad)


# ---- micrograd/neuron ----


def _neuron(x1, x2, w1, w2, b, activation):
    leaves = _leaves(x1, x2, w1, w2, b)
    tx1, tx2, tw1, tw2, tb = leaves
    return activation(tx1 * tw1 + tx2 * tw2 + tb), leaves


@exercise("micrograd/neuron", "w2_grad", hint="do/dw2 = (1 - o**2) * x2, and o itself changed with x2",
          example=lambda: {"x1": 2.0, "x2": 1.0, "w1": -3.0, "w2": 1.0, "b": 6.8813735870195432})
def neuron_w2_grad(x1: float, x2: float, w1: float, w2: float, b: float) -> float:
    """do/dw2 of o = tanh(x1 w1 + x2 w2 + b), by autograd."""
    o, leaves = _neuron(x1, x2, w1, w2, b, _torch().tanh)
    return _grads(o, leaves)[3]


@exercise("micrograd/neuron", "sigmoid_grads", hint="the sigmoid's local derivative is s * (1 - s), not 1 - s**2",
          example=lambda: {"x1": 2.0, "x2": 0.0, "w1": -3.0, "w2": 1.0, "b": 6.8813735870195432})
def neuron_sigmoid_grads(x1: float, x2: float, w1: float, w2: float, b: float) -> list[float]:
    """do/dw1, do/dw2, do/db of o = sigmoid(x1 w1 + x2 w2 + b), by autograd."""
    o, leaves = _neuron(x1, x2, w1, w2, b, _torch().sigmoid)
    return [g for g, name in zip(_grads(o, leaves), "xxwwb") if name != "x"]


@exercise("micrograd/neuron", "chain_w1", hint="two tanh steps: multiply (1 - p**2) * v * (1 - o**2) * x1",
          example=lambda: {"v": 2.0, "c": -1.0})
def neuron_chain_w1(v: float, c: float) -> float:
    """dp/dw1 of p = tanh(v * o + c), o the page's neuron tanh(2 * -3 + 0 * 1 + 6.88137...), by autograd."""
    torch = _torch()
    o, leaves = _neuron(2.0, 0.0, -3.0, 1.0, 6.8813735870195432, torch.tanh)
    return _grads(torch.tanh(v * o + c), leaves)[2]


@exercise("micrograd/neuron", "final_loss",
          hint="each step: zero the grads, compute (o - target)**2, backward, w -= lr * grad",
          example=lambda: {"target": 0.9, "lr": 0.5, "steps": 3})
def neuron_final_loss(target: float, lr: float, steps: int) -> float:
    """(o - target)^2 after ``steps`` gradient steps on w1, w2, b of the page's neuron (x1 = 2, x2 = 0), in torch."""
    torch = _torch()
    w1, w2, b = _leaves(-3.0, 1.0, 6.8813735870195432)
    for _ in range(steps):
        loss = (torch.tanh(2.0 * w1 + 0.0 * w2 + b) - target) ** 2
        grads = torch.autograd.grad(loss, [w1, w2, b])
        with torch.no_grad():
            for p, g in zip((w1, w2, b), grads):
                p -= lr * g
    return ((torch.tanh(2.0 * w1 + 0.0 * w2 + b) - target) ** 2).item()


# ---- micrograd/worked_example ----


def _squared_difference(x1, w1, x2, w2):
    leaves = _leaves(x1, w1, x2, w2)
    tx1, tw1, tx2, tw2 = leaves
    return (tx1 * tw1 - tx2 * tw2) ** 2, leaves


@exercise("micrograd/worked_example", "grads",
          hint="d = x1*w1 - x2*w2; every gradient is 2d times the other factor, with a sign",
          example=lambda: {"x1": 2.0, "w1": 1.0, "x2": -1.0, "w2": 3.0})
def worked_grads(x1: float, w1: float, x2: float, w2: float) -> list[float]:
    """The gradients of (x1 w1 - x2 w2)^2 with respect to x1, w1, x2, w2, by autograd."""
    loss, leaves = _squared_difference(x1, w1, x2, w2)
    return _grads(loss, leaves)


@exercise("micrograd/worked_example", "after_step",
          hint="move w1 and w2 (only) by -lr times their gradients, then recompute the loss",
          example=lambda: {"lr": 0.01})
def worked_after_step(lr: float) -> float:
    """The loss after one gradient step of size lr on w1 and w2 from the page's point, in torch."""
    torch = _torch()
    loss, (tx1, tw1, tx2, tw2) = _squared_difference(1.0, -4.0, 3.75, 2.0)
    g1, g2 = torch.autograd.grad(loss, [tw1, tw2])
    return ((tx1 * (tw1 - lr * g1) - tx2 * (tw2 - lr * g2)) ** 2).item()


@exercise("micrograd/worked_example", "best_lr", rtol=1e-6,
          hint="after a step of size lr the loss is (d - lr*k)**2 for a number k: it is zero at lr = d / k",
          example=dict)
def worked_best_lr() -> float:
    """The step size that brings the loss to its minimum along -grad(w1, w2): bisection on d(loss)/d(lr) by autograd."""
    torch = _torch()
    low, high = 0.0, 1.0
    for _ in range(60):
        (lr,) = _leaves((low + high) / 2)
        loss, (tx1, tw1, tx2, tw2) = _squared_difference(1.0, -4.0, 3.75, 2.0)
        g1, g2 = torch.autograd.grad(loss, [tw1, tw2])
        after = (tx1 * (tw1 - lr * g1.detach()) - tx2 * (tw2 - lr * g2.detach())) ** 2
        (slope,) = torch.autograd.grad(after, lr)
        low, high = (lr.item(), high) if slope.item() < 0 else (low, lr.item())
    return (low + high) / 2


# the central difference of a quadratic is exact up to rounding
@exercise("micrograd/worked_example", "central", rtol=1e-8,
          hint="(f(v + h) - f(v - h)) / (2h) for each input in turn, the others at the point",
          example=lambda: {"point": [1.0, -4.0, 3.75, 2.0]})
def worked_central(point: list[float]) -> list[float]:
    """The gradient of (x1 w1 - x2 w2)^2 at ``point``, by autograd."""
    loss, leaves = _squared_difference(*point)
    return _grads(loss, leaves)


# ---- micrograd/mlp ----


@exercise("micrograd/mlp", "n_params", hint="a layer of m neurons with n inputs each has m * (n + 1) parameters",
          example=lambda: {"nin": 3, "nouts": [4, 4, 1]})
def mlp_n_params(nin: int, nouts: list[int]) -> int:
    """The number of parameters of MLP(nin, nouts), counted on a built model."""
    from zh.nn import MLP

    return len(MLP(nin, nouts).parameters())


@exercise("micrograd/mlp", "xor_predictions",
          hint="train longer, or a wider hidden layer; the sign of the score is the class",
          example=lambda: {"X": [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]})
def xor_predictions(X: list[list[float]]) -> list[int]:
    """The XOR class of each point, +1 where exactly one coordinate is above 0.5, else -1."""
    return [1 if (u > 0.5) != (v > 0.5) else -1 for u, v in X]


@exercise("micrograd/mlp", "step_by_hand",
          hint="zero the grads before backward(), then p.data -= lr * p.grad for every p",
          example=lambda: {"before": [0.5, -0.3, 0.0, 0.2, 0.8, -0.1, 0.7, -0.6, 0.0], "sizes": [2, 2, 1],
                           "X": [[1.0, 0.5], [-0.5, 1.0], [0.3, -1.2]], "y": [1, -1, 1], "lr": 0.5})
def mlp_step_by_hand(before: list[float], sizes: list[int], X: list[list[float]], y: list[int],
                     lr: float) -> list[float]:
    """The parameters after one gradient step on svm_loss, by torch (per layer: (W | b) rows, as zh lists them)."""
    torch = _torch()
    flat = torch.tensor(before, dtype=torch.float64)
    layers, at = [], 0
    for n, m in zip(sizes, sizes[1:]):  # neuron by neuron: n weights, then the bias
        rows = flat[at:at + m * (n + 1)].reshape(m, n + 1).clone().requires_grad_()
        layers.append(rows)
        at += m * (n + 1)
    h = torch.tensor(X, dtype=torch.float64)
    for i, rows in enumerate(layers):
        h = h @ rows[:, :-1].T + rows[:, -1]
        if i < len(layers) - 1:
            h = torch.relu(h)
    hinge = torch.relu(1 - torch.tensor(y, dtype=torch.float64) * h[:, 0]).mean()
    loss = hinge + 1e-4 * sum((rows**2).sum() for rows in layers)
    grads = torch.autograd.grad(loss, layers)
    return torch.cat([(rows - lr * g).flatten() for rows, g in zip(layers, grads)]).tolist()


# ---- micrograd/pytorch ----


@exercise("micrograd/pytorch", "L_grads",
          hint="L = (a*b + c) * f: dL/da = b*f, dL/db = a*f, dL/dc = f, dL/df = a*b + c",
          example=lambda: {"a": 2.0, "b": -3.0, "c": 10.0, "f": -2.0})
def pytorch_L_grads(a: float, b: float, c: float, f: float) -> list[float]:
    """dL/da, dL/db, dL/dc, dL/df of L = (a*b + c) * f, by zh's Value (the other autograd)."""
    from zh.engine import Value

    leaves = [Value(v) for v in (a, b, c, f)]
    va, vb, vc, vf = leaves
    ((va * vb + vc) * vf).backward()
    return [v.grad for v in leaves]


@exercise("micrograd/pytorch", "n_grad",
          hint="call n.retain_grad() before backward(): torch keeps only the leaves' .grad otherwise",
          example=lambda: {"x1": 2.0, "x2": 0.0, "w1": -3.0, "w2": 1.0, "b": 6.8813735870195432})
def pytorch_n_grad(x1: float, x2: float, w1: float, w2: float, b: float) -> float:
    """do/dn of o = tanh(n), n = x1 w1 + x2 w2 + b, by zh's Value."""
    from zh.engine import Value

    n = Value(x1) * Value(w1) + Value(x2) * Value(w2) + Value(b)
    n.tanh().backward()
    return n.grad


@exercise("micrograd/pytorch", "first_layer", rtol=1e-9,
          hint="H = X @ W.T + b, then relu; row j of W is neuron j's weights",
          example=lambda: {"model_seed": 0, "X": [[0.5, -1.0], [2.0, 0.25]]})
def pytorch_first_layer(model_seed: int, X):
    """The first layer's outputs (after its ReLU) for each row of X, by zh's own MLP(2, [16, 16, 1]) from the seed."""
    import random

    import numpy as np

    from zh.nn import MLP

    random.seed(model_seed)
    layer = MLP(2, [16, 16, 1]).layers[0]
    return np.array([[o.data for o in layer([float(u) for u in x])] for x in np.asarray(X).tolist()])


@exercise("micrograd/pytorch", "losses", rtol=1e-9,  # sums in another order: equal to ~1e-15, not to the last bit
          hint="the learning rate of step k is 1 - 0.9 k / steps; call net.zero_grad() before every backward()",
          example=lambda: {"model_seed": 0, "X": [[0.5, -1.0], [2.0, 0.25], [-1.0, 0.0]], "y": [1, -1, 1], "steps": 3})
def pytorch_losses(model_seed: int, X, y: list[int], steps: int) -> list[float]:
    """The loss before each of ``steps`` steps of zh's own ``train`` on MLP(2, [16, 16, 1]) built from the seed."""
    import random

    import numpy as np

    from zh.nn import MLP, train

    random.seed(model_seed)
    model = MLP(2, [16, 16, 1])
    return [loss for loss, _ in train(model, np.asarray(X).tolist(), list(y), steps=steps)]
