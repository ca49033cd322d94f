"""A scalar-valued autograd engine: micrograd, with every op's local derivative next to it.

Pages: [micrograd / the Value class](../micrograd/value.md) derives it,
[micrograd / backpropagation](../micrograd/backprop.md) explains `Value.backward`, and
[micrograd / speed](../micrograd/mlp.md#why-zh-is-faster-than-micrograd) the choices made for speed.

Each operation returns a new `Value` that remembers its inputs (``_prev``) and the
partial derivative of its output with respect to each of them (``_local``), computed during
the forward pass. Backpropagation is then one rule for every node (the chain rule):
``child.grad += local * node.grad``.
"""

from __future__ import annotations

import math
from numbers import Real


def _as_value(x, op: str) -> "Value":
    """``x`` itself if it is a Value, a new constant Value if it is a number, else a TypeError."""
    if isinstance(x, Value):
        return x
    if isinstance(x, Real):
        return Value(x)
    raise TypeError(f"Value {op} {type(x).__name__}: a Value combines only with Values, ints and floats, got {x!r}")


class Value:
    """One scalar in a computation graph: its ``data``, and ``grad``, d(output)/d(this value).

    Values combine with ``+ - * /`` (with each other or with ints and floats, on either side)
    and ``**`` (int or float exponents); ``relu``, ``tanh``, ``exp``, ``log`` and ``sigmoid``
    are methods. Anything else raises a ``TypeError`` or ``ValueError`` that names the bad value.

    NaN and infinity go through every op as in torch (``Value(nan).relu()`` is nan, and so are
    the gradients that depend on it). Where torch would quietly return ``inf`` or ``nan`` for a
    result outside the real numbers or the floats (``log(0)``, ``1 / 0``, ``(-1) ** 0.5``,
    ``exp(1000)``, ``1e200 ** 2``, ``1e200 * 1e200``, ``1e308 + 1e308``), zh raises an error that
    shows the expression instead: every op that makes an infinity out of finite numbers.

    Args:
        data: The number (an int or float; stored as a float).
        label: A name shown by `zh.viz.draw_dot`.

    Examples:
        >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
        >>> c = a * b + a
        >>> c.backward()
        >>> c.data, a.grad, b.grad
        (-4.0, -2.0, 2.0)
    """

    # no per-instance __dict__: smaller, faster nodes (a training step builds thousands)
    __slots__ = ("data", "grad", "label", "_prev", "_op", "_local")

    def __init__(self, data: float, _children: tuple = (), _op: str = "", _local: tuple = (), label: str = ""):
        if type(data) is not float:  # the ops always pass floats: check only what users pass
            if not isinstance(data, Real):
                raise TypeError(f"Value(data) needs an int or float, got {type(data).__name__} {data!r}")
            try:
                data = float(data)
            except OverflowError:  # an int beyond the floats, e.g. 10**400
                digits = len(str(abs(int(data))))
                raise OverflowError(f"Value(data): a {digits}-digit number is larger than the largest float") from None
        self.data = data
        self.grad = 0.0
        self.label = label
        self._prev = _children  # the Values this one was computed from
        self._op = _op  # the op that produced it, for draw_dot and repr
        # d(self)/d(child) for each child, in the same order; empty where no gradient passes at all
        self._local = _local

    # ---- the ops: output data, children, and the local derivative w.r.t. each child ----

    # --8<-- [start:ops]
    def __add__(self, other):
        other = _as_value(other, "+")
        out = self.data + other.data
        if out - out:  # inf or nan (x - x is 0.0 for every finite x): see _check_overflow
            _check_overflow(out, "+", self.data, other.data)
        # d(a+b)/da = 1, d(a+b)/db = 1
        return Value(out, (self, other), "+", (1.0, 1.0))

    def __mul__(self, other):
        other = _as_value(other, "*")
        out = self.data * other.data
        if out - out:
            _check_overflow(out, "*", self.data, other.data)
        # d(a*b)/da = b, d(a*b)/db = a
        return Value(out, (self, other), "*", (other.data, self.data))

    def __pow__(self, k):
        x = self.data
        _check_power(x, k)
        if k == 0:  # x**0 = 1 for every x, NaN included; like torch, pass no gradient back, not even NaN
            return Value(1.0, (self,), f"**{k}", ())
        y = _power(x, k)
        # d(x**k)/dx = k * x**(k-1)
        return Value(y, (self,), f"**{k}", (_power_derivative(x, k, y),))

    def relu(self):
        """`max(0, x)`; its derivative is 1 where `x > 0`, else 0. NaN gives NaN, as in torch."""
        if self.data > 0 or self.data != self.data:  # NaN is the one float not equal to itself
            return Value(self.data, (self,), "ReLU", (1.0,))
        # off: no local derivative at all, so that not even an infinite or NaN gradient gets through (torch's too)
        return Value(0.0, (self,), "ReLU", ())

    def tanh(self):
        """The hyperbolic tangent; its derivative is `1 - tanh(x)**2`."""
        t = math.tanh(self.data)
        return Value(t, (self,), "tanh", (1 - t * t,))

    def exp(self):
        """`e**x`; its derivative is `e**x` itself."""
        e = _exp(self.data)
        return Value(e, (self,), "exp", (e,))

    def log(self):
        """The natural logarithm, for `x > 0`; its derivative is `1/x`."""
        _check_log(self.data)
        return Value(math.log(self.data), (self,), "log", (1 / self.data,))

    def sigmoid(self):
        """`1 / (1 + e**-x)`; its derivative is `sigmoid(x) * (1 - sigmoid(x))`."""
        x = self.data
        # two forms of the same function, so that e**(-x) never overflows
        s = 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))
        return Value(s, (self,), "sigmoid", (s * (1 - s),))
    # --8<-- [end:ops]

    # ---- everything else is built from the ops above, as in micrograd ----

    def __neg__(self):  # -self
        return self * -1

    def __radd__(self, other):  # other + self
        return self + other

    def __sub__(self, other):  # self - other
        return self + (-_as_value(other, "-"))

    def __rsub__(self, other):  # other - self
        return _as_value(other, "-") + (-self)

    def __rmul__(self, other):  # other * self
        return self * other

    def __truediv__(self, other):  # self / other
        other = _as_value(other, "/")
        return _divide(self, other)

    def __rtruediv__(self, other):  # other / self
        return _divide(_as_value(other, "/"), self)

    # ---- backpropagation ----

    # --8<-- [start:backward]
    def _backward(self):
        """The chain rule at this node: pass ``self.grad`` to each child, times the local derivative."""
        grad = self.grad
        # e.g. behind a ReLU that was off: nothing to pass on (and often the case) -- unless a local
        # derivative is infinite or NaN, where 0 * local is NaN, as torch computes it
        if grad == 0.0 and math.isfinite(sum(self._local)):
            return
        for child, local in zip(self._prev, self._local):
            child.grad += local * grad

    def backward(self):
        """Set ``v.grad`` to d(self)/d(v) for every Value ``v`` this one depends on.

        Nodes are visited in reverse topological order (`topological_order`, iterative,
        so graphs of millions of nodes are fine). Like PyTorch, gradients *accumulate* in the
        leaves (Values no op produced: parameters and inputs): a second ``backward()`` adds the
        same gradients again, so leaf grads double. Call ``zero_grad()`` (or set ``p.grad = 0``)
        between steps. Intermediate nodes are reset first, so their grads are always this pass's.
        """
        topo = topological_order(self)
        for v in topo:
            if v._prev:
                v.grad = 0.0
        self.grad += 1.0  # d(self)/d(self)
        for v in reversed(topo):
            v._backward()
    # --8<-- [end:backward]

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"


def _check_power(x: float, k) -> None:
    """Raise unless ``x ** k`` is a real number with ``k`` a plain finite int or float."""
    if isinstance(k, Value) or not isinstance(k, Real):
        raise TypeError(
            f"Value ** {type(k).__name__}: the exponent must be a plain int or float "
            f"(for a Value exponent y, write (y * x.log()).exp())"
        )
    if not math.isfinite(k):
        raise ValueError(f"Value ** {k}: the exponent must be a finite number")
    if x < 0 and k != int(k):
        raise ValueError(f"{x} ** {k}: a negative number to a fractional power is not a real number")
    if x == 0 and k < 0:
        raise ZeroDivisionError(f"{x} ** {k}: zero to a negative power (division by zero)")


def _power(x: float, k: float) -> float:
    """``x ** k``, or an OverflowError that shows it: Python's float ``**`` raises where torch gives inf."""
    try:
        return x**k
    except OverflowError:
        raise OverflowError(f"{x} ** {k} is larger than the largest float (about 1.8e308)") from None


def _power_derivative(x: float, k: float, y: float) -> float:
    """``k * x**(k-1)``, the local derivative of ``y = x**k``, where Python's floats cannot compute it directly."""
    if x == 0 and k < 1:  # infinite at x = 0 for 0 < k < 1 (Python would divide by zero)
        return math.inf
    try:
        return k * x ** (k - 1)
    except OverflowError:  # x**(k-1) beyond the floats while x**k is not: / gives inf, as in torch
        return k * (y / x)


def _exp(x: float) -> float:
    """``e ** x``, or an OverflowError that shows it: ``math.exp`` raises where torch gives inf."""
    try:
        return math.exp(x)
    except OverflowError:
        raise OverflowError(f"exp({x}) is larger than the largest float (about 1.8e308)") from None


def _check_log(x: float) -> None:
    """Raise unless ``log(x)`` is a real number."""
    if x <= 0:
        raise ValueError(f"log({x}): the logarithm is defined only for positive numbers")


def _check_overflow(out: float, op: str, a: float, b: float) -> None:
    """Raise if ``a op b`` is infinite though ``a`` and ``b`` are finite: the result left the floats."""
    if math.isinf(out) and math.isfinite(a) and math.isfinite(b):
        raise OverflowError(f"{a} {op} {b} is larger than the largest float (about 1.8e308)")


def _divide(a: Value, b: Value) -> Value:
    """``a * b**-1``, with errors that show the division as written."""
    try:
        return a * _reciprocal(a, b)
    except OverflowError as exc:
        if " / " in str(exc):  # _reciprocal's own message
            raise
        raise OverflowError(f"{a.data} / {b.data} is larger than the largest float (about 1.8e308)") from None


def _reciprocal(a: Value, b: Value) -> Value:
    """``b ** -1``, the second factor of ``a / b``, with errors that show the division as written."""
    if b.data == 0:
        raise ZeroDivisionError(f"{a.data} / {b.data}: division by zero")
    try:
        return b**-1
    except OverflowError:  # only for b of magnitude below 1/1.8e308
        raise OverflowError(
            f"{a.data} / {b.data}: zh divides as {a.data} * (1 / {b.data}), and 1 / {b.data} is larger than the "
            f"largest float (about 1.8e308)"
        ) from None


# --8<-- [start:dot]
def dot(w: list[Value], x: list, b: Value) -> Value:
    """One node for ``b + w[0]*x[0] + w[1]*x[1] + ...``: a neuron's weighted sum.

    The same number as micrograd's ``sum((wi*xi for wi, xi in zip(w, x)), b)``, added in the
    same order, but one node instead of ``2 * len(w)``. ``x`` may hold plain numbers (inputs
    that need no gradient); they are not made into Values.

    The local derivatives: d/dw_i = x_i, d/dx_i = w_i, d/db = 1.

    Raises:
        ValueError: ``w`` and ``x`` have different lengths.
        TypeError: an input is neither a Value nor a number.
    """
    if len(w) != len(x):
        raise ValueError(f"dot: {len(w)} weights but {len(x)} inputs; they must match")
    wd = [wi.data for wi in w]
    vd = [xi.data for xi in x if isinstance(xi, Value)]  # the inputs that get gradients
    if len(vd) == len(x):  # Values only, e.g. a hidden layer's inputs
        xd = vd
        children, local = (*w, b, *x), (*xd, 1.0, *wd)
    elif not vd:  # numbers only, e.g. the network's inputs: constants, not children
        xd = x
        children, local = (*w, b), (*x, 1.0)
    else:  # a mix: the numbers are constants, the Values are children
        xd = [xi.data if isinstance(xi, Value) else xi for xi in x]
        pairs = [(xi, wi) for xi, wi in zip(x, wd) if isinstance(xi, Value)]
        children = (*w, b, *[xi for xi, _ in pairs])
        local = (*xd, 1.0, *[wi for _, wi in pairs])
    out = b.data
    try:
        for wi, xi in zip(wd, xd):
            out += wi * xi
    except TypeError:  # look for the culprit only now: checking every input first costs more than the sum
        bad = [xi for xi in x if not isinstance(xi, (Value, Real))]
        if not bad:
            raise
        raise TypeError(f"dot: the inputs must be Values or numbers, got {type(bad[0]).__name__} {bad[0]!r}") from None
    if out - out and math.isinf(out) and all(map(math.isfinite, (*wd, *xd, b.data))):
        raise OverflowError(f"dot: b + w[0]*x[0] + ... over {len(wd)} inputs is larger than the largest float "
                            f"(about 1.8e308)")
    return Value(out, children, "dot", local)
# --8<-- [end:dot]


# --8<-- [start:topo]
def topological_order(root: Value) -> list[Value]:
    """Every Value ``root`` depends on, each listed after all the Values it was computed from.

    Iterative depth-first search (a recursive one overflows Python's stack on deep graphs).
    """
    topo, visited = [], {root}
    stack = [(root, iter(root._prev))]  # the path from root, each node with its unseen children
    while stack:
        v, children = stack[-1]
        for child in children:
            if child not in visited:
                visited.add(child)
                stack.append((child, iter(child._prev)))
                break  # go deeper first; v's remaining children wait in its iterator
        else:
            stack.pop()
            topo.append(v)  # all of v's children are already in topo
    return topo
# --8<-- [end:topo]
