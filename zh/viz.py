"""Drawings of computation graphs with Graphviz.

Page: [micrograd / the Value class](../micrograd/value.md) draws its first graph with it.
"""

from __future__ import annotations

import re

import graphviz

from zh.engine import Value, topological_order

RANKDIRS = ("LR", "RL", "TB", "BT")


def _escape(text: str) -> str:
    # these characters structure a Graphviz record label; a label may contain them
    return re.sub(r"([{}|<>\\])", r"\\\1", text)


def draw_dot(root: Value, format: str = "svg", rankdir: str = "LR") -> graphviz.Digraph:
    """The graph that produced ``root``: a box per Value, a circle per op.

    Each box shows the Value's ``label`` (if any), ``data`` and ``grad``; each op node
    (``+``, ``*``, ``tanh``...) points at the Value it produced.

    Args:
        root: The Value to draw, with everything it was computed from.
        format: The output format Graphviz renders to (``"svg"``, ``"png"``...).
        rankdir: Direction of the arrows: ``"LR"`` (left to right), ``"RL"``, ``"TB"`` or ``"BT"``.

    Returns:
        A ``graphviz.Digraph``; Jupyter displays it, ``.render()`` or ``.pipe()`` draws it.
    """
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)} (the direction of the arrows), got {rankdir!r}")
    if not isinstance(root, Value):
        raise TypeError(f"draw_dot draws a Value's graph, got {type(root).__name__}")
    # Tight spacing and no minimum node size: drawn at the width of a page's column, the text
    # stays at its full size (Graphviz's defaults spend a third of a wide graph on blank space).
    dot = graphviz.Digraph(
        format=format,
        graph_attr={"rankdir": rankdir, "nodesep": "0.12", "ranksep": "0.22"},
        node_attr={"width": "0.2", "height": "0.2", "margin": "0.05,0.03"},
    )
    for v in topological_order(root):
        uid = str(id(v))
        title = f"{_escape(v.label)} | " if v.label else ""
        fields = f"{title}data {v.data:.4f} | grad {v.grad:.4f}"
        # stack the fields across the arrows' direction: narrow boxes, a compact drawing
        dot.node(uid, fields if rankdir in ("LR", "RL") else f"{{ {fields} }}", shape="record")
        if v._op:
            # the op gets its own small node between the inputs and the result
            dot.node(uid + v._op, v._op, shape="circle" if len(v._op) <= 2 else "ellipse")
            dot.edge(uid + v._op, uid)
            for child in dict.fromkeys(v._prev):  # an input used twice gets one arrow
                dot.edge(str(id(child)), uid + v._op)
    return dot
