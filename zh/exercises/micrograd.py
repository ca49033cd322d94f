"""Reference answers to the exercises of the micrograd pages (see ``zh.exercises``).

Each reference gets its answer a different way from the page's solution, never by running the
solution's own code again: derivatives by forward-mode differentiation with dual numbers (the page's
`Value` works backwards), or from the PyPI ``micrograd`` package, or from algebra. Everything here
but the PyTorch page's references needs the standard library alone, so the pages' self-checks also
run in a reader's browser.
"""

import math

from zh.exercises import exercise


class _Dual:
    """``value + tangent * eps`` with ``eps**2 = 0``: carried through a function, the tangent becomes the
    derivative along the direction it started as. A dual whose parts are duals gives second derivatives."""

    __slots__ = ("value", "tangent")

    def __init__(self, value, tangent=0.0):
        self.value, self.tangent = value, tangent

    def __add__(self, other):
        other = _lift(other)
        return _Dual(self.value + other.value, self.tangent + other.tangent)

    def __mul__(self, other):  # (a + a' eps)(b + b' eps) = ab + (a b' + a' b) eps
        other = _lift(other)
        return _Dual(self.value * other.value, self.value * other.tangent + self.tangent * other.value)

    def __pow__(self, k: float):
        return _Dual(self.value**k, k * self.value ** (k - 1) * self.tangent)

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + -_lift(other)

    def __rsub__(self, other):
        return _lift(other) + -self

    def __truediv__(self, other):
        return self * _lift(other) ** -1

    def __rtruediv__(self, other):
        return _lift(other) * self**-1

    __radd__, __rmul__ = __add__, __mul__


def _lift(x) -> _Dual:
    return x if isinstance(x, _Dual) else _Dual(x)


def _real(x) -> float:
    """The plain number under any nesting of duals."""
    while isinstance(x, _Dual):
        x = x.value
    return x


# Each function maps a dual by the chain rule: f(a + a' eps) = f(a) + f'(a) a' eps.
def _sin(x):
    return _Dual(_sin(x.value), _cos(x.value) * x.tangent) if isinstance(x, _Dual) else math.sin(x)


def _cos(x):
    return _Dual(_cos(x.value), -_sin(x.value) * x.tangent) if isinstance(x, _Dual) else math.cos(x)


def _tanh(x):
    if not isinstance(x, _Dual):
        return math.tanh(x)
    t = _tanh(x.value)
    return _Dual(t, (1 - t * t) * x.tangent)


def _sigmoid(x):
    if not isinstance(x, _Dual):
        return 1 / (1 + math.exp(-x))
    s = _sigmoid(x.value)
    return _Dual(s, s * (1 - s) * x.tangent)


def _relu(x):
    return x * (1.0 if _real(x) > 0 else 0.0)  # slope 0 at 0, as in torch


def _grads(f, *point: float) -> list[float]:
    """The partial derivatives of ``f`` at ``point``: one pass per input, with that input's tangent 1."""
    grads = []
    for i in range(len(point)):
        out = f(*(_Dual(float(v), float(i == j)) for j, v in enumerate(point)))
        grads.append(out.tangent if isinstance(out, _Dual) else 0.0)  # an output that ignores its inputs
    return grads


def _slope_and_curvature(f, x: float) -> tuple[float, float]:
    """f'(x) and f''(x): ``x + eps1 + eps2`` carried through f gives f + f' eps1 + f' eps2 + f'' eps1 eps2."""
    along_eps2 = _lift(_lift(f(_Dual(_Dual(float(x), 1.0), _Dual(1.0, 0.0)))).tangent)  # f' + f'' eps1
    return _real(along_eps2), _real(along_eps2.tangent)


# ---- micrograd/derivative ----


@exercise("micrograd/derivative", "flat_x", hint="solve f'(x) = 6x - 4 = 0",
          example=dict)
def flat_x() -> float:
    """Where f(x) = 3x^2 - 4x + 5 has slope 0: Newton's method on f', both derivatives by dual numbers."""
    x = 0.0
    for _ in range(5):
        slope, curvature = _slope_and_curvature(lambda t: 3 * t**2 - 4 * t + 5, x)
        x -= slope / curvature
    return x


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
    """The partial derivatives of a*b*c + a at (a, b, c), by dual numbers."""
    return _grads(lambda a, b, c: a * b * c + a, a, b, c)


def _second_derivative(f, x: float, h: float) -> float:
    """f''(x) by dual numbers (``h`` is the step a finite difference would use)."""
    return _slope_and_curvature(f, x)[1]


exercise("micrograd/derivative", "second", rtol=1e-4,  # a finite difference with h = 1e-4 rounds at ~1e-7
         hint="(f(x+h) - 2 f(x) + f(x-h)) / h**2 with h near 1e-4: a smaller h loses the digits to rounding",
         probes=lambda: [(lambda t: 3 * t**2 - 4 * t + 5, 3.0, 1e-4), (lambda t: t**3, 2.0, 1e-4),
                         (lambda t: 1 / (1 + t * t), 0.5, 1e-4)])(_second_derivative)


# ---- micrograd/value ----


@exercise("micrograd/value", "grads",
          hint="M = u * v with u = a + b, v = a - c: dM/da gets a part through u and one through v",
          example=lambda: {"a": 2.0, "b": -3.0, "c": 10.0})
def value_grads(a: float, b: float, c: float) -> list[float]:
    """dM/da, dM/db, dM/dc of M = (a + b) * (a - c), by dual numbers."""
    return _grads(lambda a, b, c: (a + b) * (a - c), a, b, c)


@exercise("micrograd/value", "nudged_L", rtol=1e-9, hint="L changes by (the nudge) times dL/da; here L is linear in a",
          example=lambda: {"step": 0.01})
def nudged_L(step: float) -> float:
    """L = (a*b + c) * f recomputed at a = 2 + step (b = -3, c = 10, f = -2)."""
    return ((2.0 + step) * -3.0 + 10.0) * -2.0


@exercise("micrograd/value", "sin_grad", hint="the local derivative of sin is cos; y = x * sin(x) uses x twice",
          example=lambda: {"x": 0.5})
def sin_grad(x: float) -> float:
    """dy/dx of y = x * sin(x), by dual numbers."""
    return _grads(lambda x: x * _sin(x), x)[0]


@exercise("micrograd/value", "div_grads", hint="d(a/b)/da = 1/b and d(a/b)/db = -a/b**2; q = (a/b)*a + b uses a twice",
          example=lambda: {"a": 3.0, "b": -2.0})
def div_grads(a: float, b: float) -> list[float]:
    """dq/da, dq/db of q = (a / b) * a + b, by dual numbers."""
    return _grads(lambda a, b: a / b * a + b, a, b)


# ---- micrograd/backprop ----


@exercise("micrograd/backprop", "grad_a", hint="L = a*a + a uses a three times: 2a from the product, 1 from the sum",
          example=lambda: {"a": 3.0})
def backprop_grad_a(a: float) -> float:
    """dL/da of L = a*a + a, by dual numbers."""
    return _grads(lambda a: a * a + a, a)[0]


@exercise("micrograd/backprop", "after_three", hint="each backward() adds dL/da = 8 to the leaf a once more",
          example=dict)
def after_three() -> float:
    """a.grad after three backward() calls on L = 2a + 3(2a) at a = 3 without zeroing: each adds dL/da once."""
    return 3 * _grads(lambda a: 2 * a + 3 * (2 * a), 3.0)[0]


@exercise("micrograd/backprop", "diamond", hint="a and c are each used twice: add the contribution of each use",
          example=lambda: {"a": 2.0, "b": -1.0, "c": 3.0})
def diamond(a: float, b: float, c: float) -> list[float]:
    """dL/da, dL/db, dL/dc of L = (a*b + b*c) * (a + c), by dual numbers."""
    return _grads(lambda a, b, c: (a * b + b * c) * (a + c), a, b, c)


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


def _neuron(activation):
    """o = activation(x1 w1 + x2 w2 + b) as a function of all five numbers."""
    return lambda x1, x2, w1, w2, b: activation(x1 * w1 + x2 * w2 + b)


@exercise("micrograd/neuron", "w2_grad", hint="do/dw2 = (1 - o**2) * x2, and o itself changed with x2",
          example=lambda: {"x1": 2.0, "x2": 1.0, "w1": -3.0, "w2": 1.0, "b": 6.8813735870195432})
def neuron_w2_grad(x1: float, x2: float, w1: float, w2: float, b: float) -> float:
    """do/dw2 of o = tanh(x1 w1 + x2 w2 + b), by dual numbers."""
    return _grads(_neuron(_tanh), x1, x2, w1, w2, b)[3]


@exercise("micrograd/neuron", "sigmoid_grads", hint="the sigmoid's local derivative is s * (1 - s), not 1 - s**2",
          example=lambda: {"x1": 2.0, "x2": 0.0, "w1": -3.0, "w2": 1.0, "b": 6.8813735870195432})
def neuron_sigmoid_grads(x1: float, x2: float, w1: float, w2: float, b: float) -> list[float]:
    """do/dw1, do/dw2, do/db of o = sigmoid(x1 w1 + x2 w2 + b), by dual numbers."""
    return _grads(_neuron(_sigmoid), x1, x2, w1, w2, b)[2:]


@exercise("micrograd/neuron", "chain_w1", hint="two tanh steps: multiply (1 - p**2) * v * (1 - o**2) * x1",
          example=lambda: {"v": 2.0, "c": -1.0})
def neuron_chain_w1(v: float, c: float) -> float:
    """dp/dw1 of p = tanh(v * o + c), o the page's neuron tanh(2 * -3 + 0 * 1 + 6.88137...), by dual numbers."""
    o = _neuron(_tanh)
    return _grads(lambda w1: _tanh(v * o(2.0, 0.0, w1, 1.0, 6.8813735870195432) + c), -3.0)[0]


@exercise("micrograd/neuron", "final_loss",
          hint="each step: zero the grads, compute (o - target)**2, backward, w -= lr * grad",
          example=lambda: {"target": 0.9, "lr": 0.5, "steps": 3})
def neuron_final_loss(target: float, lr: float, steps: int) -> float:
    """(o - target)^2 after ``steps`` gradient steps on w1, w2, b of the page's neuron (x1 = 2, x2 = 0)."""
    def loss(w1, w2, b):
        return (_tanh(2.0 * w1 + 0.0 * w2 + b) - target) ** 2

    weights = [-3.0, 1.0, 6.8813735870195432]
    for _ in range(steps):
        weights = [w - lr * g for w, g in zip(weights, _grads(loss, *weights))]
    return loss(*weights)


# ---- micrograd/worked_example ----


def _squared_difference(x1, w1, x2, w2):
    return (x1 * w1 - x2 * w2) ** 2


@exercise("micrograd/worked_example", "grads",
          hint="d = x1*w1 - x2*w2; every gradient is 2d times the other factor, with a sign",
          example=lambda: {"x1": 2.0, "w1": 1.0, "x2": -1.0, "w2": 3.0})
def worked_grads(x1: float, w1: float, x2: float, w2: float) -> list[float]:
    """The gradients of (x1 w1 - x2 w2)^2 with respect to x1, w1, x2, w2, by dual numbers."""
    return _grads(_squared_difference, x1, w1, x2, w2)


def _loss_after_step(lr, x1=1.0, w1=-4.0, x2=3.75, w2=2.0):
    """The page's loss after one step of size ``lr`` on w1 and w2 along their negative gradient."""
    _, g1, _, g2 = _grads(_squared_difference, x1, w1, x2, w2)
    return _squared_difference(x1, w1 - lr * g1, x2, w2 - lr * g2)


@exercise("micrograd/worked_example", "after_step",
          hint="move w1 and w2 (only) by -lr times their gradients, then recompute the loss",
          example=lambda: {"lr": 0.01})
def worked_after_step(lr: float) -> float:
    """The loss after one gradient step of size lr on w1 and w2 from the page's point."""
    return _loss_after_step(lr)


@exercise("micrograd/worked_example", "best_lr", rtol=1e-6,
          hint="after a step of size lr the loss is (d - lr*k)**2 for a number k: it is zero at lr = d / k",
          example=dict)
def worked_best_lr() -> float:
    """The step size that brings the loss to its minimum along -grad(w1, w2): bisection on d(loss)/d(lr)."""
    low, high = 0.0, 1.0
    for _ in range(60):
        lr = (low + high) / 2
        low, high = (lr, high) if _grads(_loss_after_step, lr)[0] < 0 else (low, lr)
    return (low + high) / 2


# the central difference of a quadratic is exact up to rounding
@exercise("micrograd/worked_example", "central", rtol=1e-8,
          hint="(f(v + h) - f(v - h)) / (2h) for each input in turn, the others at the point",
          example=lambda: {"point": [1.0, -4.0, 3.75, 2.0]})
def worked_central(point: list[float]) -> list[float]:
    """The gradient of (x1 w1 - x2 w2)^2 at ``point``, by dual numbers."""
    return _grads(_squared_difference, *point)


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
    """The parameters after one gradient step on svm_loss, by dual numbers (per neuron: its weights, then its bias)."""
    def loss(*flat):
        h, at = list(zip(*X)), 0  # h[i]: input i of every example
        for layer, (n, m) in enumerate(zip(sizes, sizes[1:])):
            out = []
            for _ in range(m):
                w, b = flat[at:at + n], flat[at + n]
                at += n + 1
                z = [sum((wi * xi for wi, xi in zip(w, x)), b) for x in zip(*h)]  # one per example
                out.append(z if layer == len(sizes) - 2 else [_relu(v) for v in z])
            h = out
        hinge = sum(_relu(1 - yi * score) for yi, score in zip(y, h[0])) / len(y)
        return hinge + 1e-4 * sum(p * p for p in flat)

    return [p - lr * g for p, g in zip(before, _grads(loss, *before))]


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
    return [loss for loss, _ in train(model, np.asarray(X).tolist(), list(y), max_steps=steps)]
