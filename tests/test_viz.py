"""zh.viz.draw_dot: what the drawing contains, and its errors."""

import graphviz
import pytest

from zh.engine import Value
from zh.viz import draw_dot


def test_graph_has_labels_data_grads_and_ops():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b{1}")
    c = a * b
    c.label = "c"
    d = c.tanh() + a  # a is used twice
    d.backward()
    g = draw_dot(d)
    assert isinstance(g, graphviz.Digraph)
    src = g.source
    assert "rankdir=LR" in src and "b\\{1\\}" in src
    for text in ["a | data 2.0000 | grad", "c | data -6.0000", "label=\"*\"", "label=tanh", "label=\"+\""]:
        assert text in src, text
    assert src.count("->") == 2 + 2 + 1 + 2 + 1  # * (2 in, 1 out), tanh (1, 1), + (2, 1)
    assert g.pipe(format="svg").startswith(b"<?xml")


def test_rankdir_and_format():
    g = draw_dot(Value(1.0) + 2, format="png", rankdir="TB")
    assert g.format == "png" and "rankdir=TB" in g.source
    with pytest.raises(ValueError, match="rankdir must be one of LR, RL, TB, BT.*'XY'"):
        draw_dot(Value(1.0), rankdir="XY")
    with pytest.raises(TypeError, match="float"):
        draw_dot(1.0)
