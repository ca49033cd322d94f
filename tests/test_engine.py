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
    "pow0": (lambda v: v**0, lambda x: True),
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
SPECIAL = [math.nan, math.inf, -math.inf, 0.0, -0.0]
with_specials = st.one_of(st.sampled_from(SPECIAL), numbers)
step = st.tuples(
    st.sampled_from(sorted(UNARY) + sorted(BINARY) + sorted(WITH_CONSTANT) + ["dot"]),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    numbers,
)


def close(a, b):
    """Equal within 1e-6, or both NaN, or the same infinity."""
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)


def compare_random_graph(leaves, steps):
    """Build the same random graph in zh and torch, backpropagate both, compare every value and gradient.

    An op is applied where `ok` says it is well conditioned, and always when an input is NaN or
    infinite; there, an op that zh refuses (an error, where torch returns inf or nan) is skipped.
    """
    zs = [Value(x) for x in leaves]
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in leaves]
    nodes = list(zip(zs, ts))
    for name, i, j, c in steps:
        (za, ta), (zb, tb) = nodes[i % len(nodes)], nodes[j % len(nodes)]  # nodes get re-used
        if name in UNARY:
            f, ok = UNARY[name]
            z_args, t_args, well_conditioned = (za,), (ta,), ok(za.data)
        elif name in BINARY:
            f, ok = BINARY[name]
            z_args, t_args, well_conditioned = (za, zb), (ta, tb), ok(za.data, zb.data)
        elif name in WITH_CONSTANT:
            f, ok = WITH_CONSTANT[name]
            z_args, t_args, well_conditioned = (c, za), (c, ta), ok(c, za.data)
        else:  # dot: weights are earlier nodes, inputs a mix of a node and a plain number
            f, z_args, well_conditioned = None, (za, zb), True
        special = not all(math.isfinite(v.data) for v in z_args if isinstance(v, Value))
        if not (special or well_conditioned):
            continue
        try:
            z_out = f(*z_args) if f else dot([za, zb], [zb, c], za)
        except (ValueError, ZeroDivisionError, OverflowError):
            if not special:
                raise
            continue
        nodes.append((z_out, f(*t_args) if f else ta + ta * tb + tb * c))
        if math.isfinite(z_out.data) and abs(z_out.data) > 1e4:  # keep magnitudes where 1e-6 is a fair tolerance
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


@settings(max_examples=150, deadline=None)
@given(leaves=st.lists(numbers, min_size=1, max_size=4), steps=st.lists(step, min_size=1, max_size=25))
def test_random_graphs_match_torch(leaves, steps):
    compare_random_graph(leaves, steps)


@settings(max_examples=300, deadline=None)
@given(leaves=st.lists(with_specials, min_size=1, max_size=4), steps=st.lists(step, min_size=1, max_size=25))
def test_random_graphs_with_nan_and_inf_match_torch(leaves, steps):
    """NaN and infinity propagate through values and gradients exactly where torch propagates them."""
    compare_random_graph(leaves, steps)


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
        Value(0.0) ** -1


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


def test_overflow_and_division_messages_show_the_expression():
    with pytest.raises(OverflowError, match=r"^1e\+200 \*\* 2 is larger than the largest float"):
        Value(1e200) ** 2
    with pytest.raises(ZeroDivisionError, match=r"^2\.0 / 0\.0: division by zero$"):
        Value(2.0) / 0
    with pytest.raises(ZeroDivisionError, match=r"^3\.0 / 0\.0: division by zero$"):
        3 / Value(0.0)
    with pytest.raises(OverflowError, match=r"^1\.0 / 1e-310: .* 1 / 1e-310 is larger than the largest float"):
        Value(1.0) / 1e-310
    with pytest.raises(OverflowError, match="a 401-digit number is larger than the largest float"):
        Value(10**400)
    with pytest.raises(OverflowError, match="a 401-digit number"):
        Value(1.0) + 10**400
    # 1e-200 ** -1 is a float (1e200) though 1e-200 ** -2, in its derivative, is not: that one is -inf, as in torch
    v, t = Value(1e-200), torch.tensor(1e-200, dtype=torch.float64, requires_grad=True)
    (v**-1).backward()
    (t**-1).backward()
    assert v.grad == t.grad.item() == -math.inf


# Not every float: torch computes x**-2 as 1 / (x * x), which is 0 already for |x| >= 1.4e154, where zh's
# x**-2 is still a (subnormal) number. Such magnitudes come in only as 1e200 and the largest float.
FLOATS_AND_SPECIALS = st.one_of(
    st.sampled_from(SPECIAL + [1e200, -1e200, 1.7976931348623157e308]),
    st.floats(-1e100, 1e100).filter(lambda x: x == 0 or abs(x) > 1e-100),
)
UPSTREAM = st.sampled_from([1.0, -2.5, 0.0, math.nan, math.inf, -math.inf])
ANY_INPUT_OPS = {  # zh op, torch op
    "relu": (lambda v: v.relu(), torch.relu),
    "tanh": (lambda v: v.tanh(), torch.tanh),
    "exp": (lambda v: v.exp(), torch.exp),
    "log": (lambda v: v.log(), torch.log),
    "sigmoid": (lambda v: v.sigmoid(), torch.sigmoid),
    "neg": (lambda v: -v, torch.neg),
    **{f"pow{k}": (lambda v, k=k: v**k, lambda t, k=k: t**k) for k in [0, 1, 2, 3, -1, -2, 0.5, -0.5, 1.5, 2.5]},
}


@pytest.mark.parametrize("name", sorted(ANY_INPUT_OPS))
@settings(max_examples=100, deadline=None)
@given(x=FLOATS_AND_SPECIALS, upstream=UPSTREAM)
def test_each_op_at_any_float_is_torchs_answer_or_an_explained_error(name, x, upstream):
    """Any float, NaN and infinities included, with any gradient arriving from above (0, NaN, inf too)."""
    if name == "pow0.5" and x == 0 and math.copysign(1.0, x) < 0:
        # torch computes this derivative as 0.5 / sqrt(-0.0) = -inf; zh gives +inf, as at +0.0
        return
    op, torch_op = ANY_INPUT_OPS[name]
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    t_out = torch_op(t)
    try:
        out = op(Value(x))
    except (ValueError, ZeroDivisionError, OverflowError) as exc:
        # only where torch's answer is not a finite real number, and the message shows the input
        assert not math.isfinite(t_out.item()) and str(x) in str(exc), (x, t_out, exc)
        return
    if not backward_with(out, upstream):
        return
    (t_out * upstream).backward()
    assert close(out.data, t_out.item()), (x, out, t_out)
    assert close(out.grad, upstream)
    v = out._prev[0]
    assert close(v.grad, t.grad.item()), (x, upstream, v.grad, t.grad)


def backward_with(out: Value, upstream: float) -> bool:
    """Backpropagate ``out * upstream``; False where that product leaves the floats (zh refuses, torch gives inf)."""
    try:
        scaled = out * upstream
    except OverflowError:
        assert math.isinf(out.data * upstream)
        return False
    scaled.backward()
    return True


BINARY_OPS = {  # zh and torch alike, on two Values or on a Value and a number
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
}


# zh divides as a * b**-1 (as micrograd): for |b| < 1e-154, b**-2 in the derivative overflows where torch's
# (a / b) / b does not, so divisors stay above 1e-100 in magnitude (or are exactly zero)
OPERANDS = st.one_of(st.sampled_from(SPECIAL), st.floats(-1e6, 1e6).filter(lambda x: x == 0 or abs(x) > 1e-100))


@pytest.mark.parametrize("name", sorted(BINARY_OPS))
@settings(max_examples=100, deadline=None)
@given(
    a=OPERANDS,
    b=OPERANDS,
    upstream=UPSTREAM,
    number_side=st.sampled_from(["none", "left", "right"]),
)
def test_binary_ops_at_any_float_are_torchs_answer_or_an_explained_error(name, a, b, upstream, number_side):
    f = BINARY_OPS[name]
    za, zb = Value(a), Value(b)
    ta, tb = (torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in (a, b))
    z_left = a if number_side == "left" else za
    z_right = b if number_side == "right" else zb
    try:
        out = f(z_left, z_right)
    except (ZeroDivisionError, OverflowError) as exc:
        # only a / b by zero; the message shows a / b
        assert name == "div" and b == 0, (a, b, exc)
        assert str(exc).startswith(f"{a} / {b}:"), exc
        return
    t_out = f(ta, tb)
    if not backward_with(out, upstream):
        return
    (t_out * upstream).backward()
    assert close(out.data, t_out.item()), (a, b, out, t_out)
    if number_side != "left":
        assert close(za.grad, ta.grad.item()), (a, b, upstream, za.grad, ta.grad)
    if number_side != "right":
        assert close(zb.grad, tb.grad.item()), (a, b, upstream, zb.grad, tb.grad)


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


@pytest.mark.slow
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
