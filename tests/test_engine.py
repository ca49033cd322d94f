"""zh.engine: values and gradients of random graphs against torch, errors, deep graphs, accumulation."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from zh.engine import Value, dot

# Each op acts on a (zh Value, torch tensor) pair in lockstep. `ok` says whether the op is
# defined (and well conditioned) at the current value, so both graphs always stay identical.
UNARY = {
    "neg": (lambda v: -v, lambda x: True),
    "relu": (lambda v: v.relu(), lambda x: abs(x) > 1e-9),  # no kink exactly at 0
    "tanh": (lambda v: v.tanh(), lambda x: True),
    "exp": (lambda v: v.exp(), lambda x: x < 5),
    "log": (lambda v: v.log(), lambda x: x > 1e-2),
    "sigmoid": (lambda v: v.sigmoid(), lambda x: True),
    "pow2": (lambda v: v**2, lambda x: True),
    "pow3": (lambda v: v**3, lambda x: True),
    "pow-1": (lambda v: v**-1, lambda x: abs(x) > 1e-2),
    "pow0.5": (lambda v: v**0.5, lambda x: x > 1e-2),
    "pow-1.5": (lambda v: v**-1.5, lambda x: x > 1e-2),
}
BINARY = {
    "add": (lambda a, b: a + b, lambda x, y: True),
    "sub": (lambda a, b: a - b, lambda x, y: True),
    "mul": (lambda a, b: a * b, lambda x, y: True),
    "div": (lambda a, b: a / b, lambda x, y: abs(y) > 1e-2),
}
# a number on the left exercises the reflected ops (__radd__, __rsub__, __rmul__, __rtruediv__)
WITH_CONSTANT = {
    "radd": (lambda c, a: c + a, lambda c, x: True),
    "rsub": (lambda c, a: c - a, lambda c, x: True),
    "rmul": (lambda c, a: c * a, lambda c, x: True),
    "rdiv": (lambda c, a: c / a, lambda c, x: abs(x) > 1e-2),
    "addc": (lambda c, a: a + c, lambda c, x: True),
    "divc": (lambda c, a: a / c, lambda c, x: abs(c) > 1e-2),
}

numbers = st.floats(-3, 3, allow_nan=False, allow_infinity=False)
step = st.tuples(
    st.sampled_from(sorted(UNARY) + sorted(BINARY) + sorted(WITH_CONSTANT) + ["dot"]),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    numbers,
)


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)


@settings(max_examples=150, deadline=None)
@given(leaves=st.lists(numbers, min_size=1, max_size=4), steps=st.lists(step, min_size=1, max_size=25))
def test_random_graphs_match_torch(leaves, steps):
    zs = [Value(x) for x in leaves]
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in leaves]
    nodes = list(zip(zs, ts))
    for name, i, j, c in steps:
        (za, ta), (zb, tb) = nodes[i % len(nodes)], nodes[j % len(nodes)]  # nodes get re-used
        if name in UNARY:
            f, ok = UNARY[name]
            if ok(za.data):
                nodes.append((f(za), f(ta)))
        elif name in BINARY:
            f, ok = BINARY[name]
            if ok(za.data, zb.data):
                nodes.append((f(za, zb), f(ta, tb)))
        elif name in WITH_CONSTANT:
            f, ok = WITH_CONSTANT[name]
            if ok(c, za.data):
                nodes.append((f(c, za), f(c, ta)))
        else:  # dot: weights are earlier nodes, inputs a mix of a node and a plain number
            nodes.append((dot([za, zb], [zb, c], za), ta + ta * tb + tb * c))
        if abs(nodes[-1][0].data) > 1e4:  # keep magnitudes where 1e-6 is a fair tolerance
            nodes.pop()
    z_root, t_root = nodes[-1]
    for z, t in nodes:
        if not t.is_leaf:
            t.retain_grad()
    z_root.backward()
    t_root.backward()
    assert close(z_root.data, t_root.item())
    for z, t in nodes:
        assert close(z.data, t.item())
        expected = 0.0 if t.grad is None else t.grad.item()
        assert close(z.grad, expected), (z, expected)


def test_each_op_value_and_local_derivative():
    """Every op once, at a point where each is defined, against torch."""
    ops = [f for f, _ in UNARY.values()] + [lambda v: v.exp().log(), lambda v: 2 - v / 3]
    for f in ops:
        z = Value(0.7)
        t = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
        zo, to = f(z), f(t)
        zo.backward()
        to.backward()
        assert close(zo.data, to.item()) and close(z.grad, t.grad.item())


def test_micrograd_example_from_its_readme():
    a, b = Value(-4.0), Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    assert (round(g.data, 4), round(a.grad, 4), round(b.grad, 4)) == (24.7041, 138.8338, 645.5773)


def test_non_number_operand_names_the_type():
    x = Value(1.0)
    for bad in ["2", [1], None]:
        for f in [lambda: x + bad, lambda: bad + x, lambda: x * bad, lambda: bad * x, lambda: x - bad,
                  lambda: bad - x, lambda: x / bad, lambda: bad / x]:
            with pytest.raises(TypeError, match=type(bad).__name__):
                f()
    with pytest.raises(TypeError, match="str"):
        Value("3")


def test_log_of_non_positive_shows_the_value():
    for x in [0.0, -2.5]:
        with pytest.raises(ValueError, match=rf"log\({x}\).*positive"):
            Value(x).log()


def test_unsupported_exponents_say_what_is_supported():
    with pytest.raises(TypeError, match="int or float"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(TypeError, match="int or float"):
        Value(2.0) ** "3"
    with pytest.raises(ValueError, match="fractional power"):
        Value(-4.0) ** 0.5
    with pytest.raises(ZeroDivisionError, match="negative power"):
        1 / Value(0.0)


def test_dot_rejects_mismatched_lengths_and_non_numbers():
    with pytest.raises(ValueError, match="2 weights but 3 inputs"):
        dot([Value(1), Value(2)], [1, 2, 3], Value(0))
    with pytest.raises(TypeError, match="Values or numbers, got str 'a'"):
        dot([Value(1), Value(2)], [Value(1), "a"], Value(0))


def test_overflow_and_infinite_exponent_are_explained():
    with pytest.raises(OverflowError, match="exp\\(710.0\\) is larger than the largest float"):
        Value(710.0).exp()
    assert Value(709.0).exp().data == math.exp(709.0)
    with pytest.raises(ValueError, match="finite"):
        Value(2.0) ** math.inf


def test_power_at_zero_matches_torch():
    for k in [0, 0.5, 1, 2, 2.5]:
        v = Value(0.0)
        (v**k).backward()
        t = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
        (t**k).backward()
        assert v.grad == t.grad.item(), k


def test_dot_adds_in_micrograd_order():
    w = [Value(0.1), Value(0.2), Value(0.3)]
    x = [0.7, Value(1e16), -1e16]
    b = Value(0.5)
    assert dot(w, x, b).data == sum((wi * xi for wi, xi in zip(w, x)), b).data


def test_million_node_chain_backward_is_iterative():
    x = Value(0.5)
    y = x
    for _ in range(1_000_000):
        y = y.tanh()
    y.backward()  # a recursive topological sort would raise RecursionError here
    t, expected = 0.5, 1.0  # the chain rule by hand: the product of the local derivatives
    for _ in range(1_000_000):
        t = math.tanh(t)
        expected *= 1 - t * t
    assert y.data == t and math.isclose(x.grad, expected, rel_tol=1e-9)


def test_second_backward_accumulates_in_leaves_like_torch():
    def build(a, b):
        c = a * b
        return c * c + a  # c is used twice

    a, b = Value(2.0), Value(-3.0)
    L = build(a, b)
    L.backward()
    first = (a.grad, b.grad)
    L.backward()
    ta = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(-3.0, dtype=torch.float64, requires_grad=True)
    TL = build(ta, tb)
    TL.backward(retain_graph=True)
    TL.backward()
    assert (a.grad, b.grad) == (2 * first[0], 2 * first[1]) == (ta.grad.item(), tb.grad.item())
    assert L.grad == 1.0  # the output and intermediate nodes hold this pass's gradient only
    a.grad = b.grad = 0.0
    L.backward()
    assert (a.grad, b.grad) == first


def test_repr_and_label():
    v = Value(3, label="x")
    assert repr(v) == "Value(data=3.0, grad=0.0)" and v.label == "x"


def test_docstring_examples():
    import doctest

    import zh.engine

    result = doctest.testmod(zh.engine)
    assert result.attempted > 0 and result.failed == 0
