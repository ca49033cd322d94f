"""Teaching diagrams of the attention and CUDA pages, drawn from the objects and numbers they show.

- `averaging_figure`: the averaging trick as ``W @ x``, the lower-triangular weights next to the
  tokens they mix ([attention / averaging](../attention/averaging.md));
- `transformer_graph`: a GPT (or one `Block`) as a graph with the tensor shapes on its edges,
  recorded by running the model ([the block](../attention/transformer_block.md), [the GPT](../attention/gpt.md));
- `masks_and_objectives`: GPT's and BERT's attention masks and training targets side by side
  ([attention](../attention/index.md));
- `cuda_hierarchy` and `tile_loads`: a launch's grid, blocks, warps and threads, and the tiles of
  A and B a block of a tiled matmul loads at each step ([CUDA](../cuda/vector_add.md)), computed
  from the launch and tiling parameters alone.

Every figure is drawn on white (the site shows figures on a light card in both themes) with text
of at least 9 points at the size a page shows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import graphviz
    import torch
    from matplotlib.figure import Figure

# The colours of the figures: one per role, readable on white.
BLUE, ORANGE, GREEN, GREY = "#1f77b4", "#ff7f0e", "#2ca02c", "#7f7f7f"


def _heatmap(ax, values, cmap, vmin, vmax, fmt="{:.2f}", fontsize=9, skip_zeros=False):
    """Draw a matrix with its entries written in the cells (white on dark cells)."""
    ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax)
    for (i, j), v in _cells(values):
        if skip_zeros and v == 0:
            continue
        dark = (abs(v) / vmax if vmin < 0 else (v - vmin) / (vmax - vmin)) > 0.6  # diverging maps: dark at both ends
        ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=fontsize, color="white" if dark else "black")


def _cells(values):
    rows, cols = len(values), len(values[0])
    return [((i, j), float(values[i][j])) for i in range(rows) for j in range(cols)]


def averaging_figure(weights: "torch.Tensor", x: "torch.Tensor") -> "Figure":
    """``weights @ x = out`` as three matrices side by side: row t of ``out`` mixes rows 0..t of ``x``.

    Args:
        weights: ``(T, T)`` averaging weights (the lower-triangular matrix, rows summing to 1).
        x: ``(T, C)`` the tokens' vectors, one row per position (a few channels: the values are written out).

    Returns:
        The ``matplotlib.figure.Figure``.
    """
    import matplotlib.pyplot as plt

    if weights.dim() != 2 or weights.shape[0] != weights.shape[1] or x.dim() != 2 or x.shape[0] != weights.shape[0]:
        raise ValueError(f"expected weights (T, T) and x (T, C), got {tuple(weights.shape)} and {tuple(x.shape)}")
    w, xs = weights.detach().double(), x.detach().double()
    out = w @ xs
    T, C = xs.shape
    span = float(max(xs.abs().max(), out.abs().max()))
    fig, axes = plt.subplots(1, 3, figsize=(7.2, 3.4), gridspec_kw={"width_ratios": [T, C + 0.6, C + 0.6]})
    _heatmap(axes[0], w.tolist(), "Blues", 0.0, 1.0, fmt="{:.2f}", skip_zeros=True)
    _heatmap(axes[1], xs.tolist(), "RdBu_r", -span, span, fmt="{:+.1f}")
    _heatmap(axes[2], out.tolist(), "RdBu_r", -span, span, fmt="{:+.1f}")
    for ax, title in zip(axes, ("weights W (T × T)", "@ x (T × C)", "= W @ x")):
        ax.set_title(title, fontsize=10)
        ax.set_yticks(range(T), [f"t={t}" for t in range(T)], fontsize=9)
    axes[0].set_xticks(range(T), [f"{s}" for s in range(T)], fontsize=9)
    axes[0].set_xlabel("position s mixed in", fontsize=9)
    for ax in axes[1:]:
        ax.set_xticks(range(C), [f"c{c}" for c in range(C)], fontsize=9)
        ax.set_xlabel("channel", fontsize=9)
    fig.tight_layout(w_pad=1.0)
    return fig


def _shape(t) -> str:
    return "(" + ", ".join(str(n) for n in t.shape) + ")"


def _record_shapes(model, *inputs) -> dict[str, str]:
    """Run ``model(*inputs)`` once and return the output shape of every named submodule."""
    import torch

    shapes, hooks = {}, []
    for name, module in model.named_modules():
        def keep(_, __, out, name=name):
            shapes[name] = _shape(out[0] if isinstance(out, tuple) else out)
        hooks.append(module.register_forward_hook(keep))
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for h in hooks:
            h.remove()
    return shapes


def _block_nodes(dot, block, shapes: dict[str, str], prefix: str, source: str, source_shape: str) -> str:
    """Add one Block's operations to ``dot``, reading from node ``source``; return the block's output node."""
    p = f"{prefix}." if prefix else ""
    heads = block.attn.n_head
    d = block.attn.qkv.in_features // heads
    batch_time = source_shape.strip("()").split(", ")[:-1]
    head_shape = "(" + ", ".join([batch_time[0], str(heads), batch_time[1], str(d)]) + ")"

    def n(name: str) -> str:  # node ids local to this block
        return f"{prefix}_{name}"

    box = {"shape": "box", "style": "rounded,filled", "fillcolor": "#e8f1fa"}
    add = {"shape": "circle", "label": "+", "width": "0.3", "fixedsize": "true"}
    dot.node(n("ln_1"), "LayerNorm ln_1", **box)
    dot.node(n("qkv"), f"Linear qkv\n{block.attn.qkv.in_features} → {block.attn.qkv.out_features}", **box)
    mask = " + causal mask" if block.attn.causal else ""
    dot.node(n("att"), f"softmax(q kᵀ/√{d}{mask}) v\n{heads} heads at once", **box, color=ORANGE)
    dot.node(n("proj"), "Linear proj", **box)
    dot.node(n("add1"), **add)
    dot.node(n("ln_2"), "LayerNorm ln_2", **box)
    dot.node(n("fc"), f"Linear fc\n{block.mlp.fc.in_features} → {block.mlp.fc.out_features}", **box)
    dot.node(n("gelu"), type(block.mlp.gelu).__name__, **box)
    dot.node(n("mproj"), f"Linear proj\n{block.mlp.proj.in_features} → {block.mlp.proj.out_features}", **box)
    dot.node(n("add2"), **add)
    residual = {"penwidth": "2.5", "color": GREY}
    dot.edge(source, n("ln_1"), label=source_shape)
    dot.edge(n("ln_1"), n("qkv"), label=shapes[f"{p}ln_1"])
    dot.edge(n("qkv"), n("att"), label=f"q, k, v: 3 × {head_shape}")
    dot.edge(n("att"), n("proj"), label=f"heads joined {shapes[p + 'ln_1']}")
    dot.edge(n("proj"), n("add1"), label=shapes[f"{p}attn"])
    dot.edge(source, n("add1"), **residual)
    dot.edge(n("add1"), n("ln_2"), label=shapes[f"{p}attn"])
    dot.edge(n("ln_2"), n("fc"), label=shapes[f"{p}ln_2"])
    dot.edge(n("fc"), n("gelu"), label=shapes[f"{p}mlp.fc"])
    dot.edge(n("gelu"), n("mproj"), label=shapes[f"{p}mlp.gelu"])
    dot.edge(n("mproj"), n("add2"), label=shapes[f"{p}mlp"])
    dot.edge(n("add1"), n("add2"), **residual)
    return n("add2")


def transformer_graph(model: "torch.nn.Module", idx_or_x: "torch.Tensor") -> "graphviz.Digraph":
    """The model as a graph, bottom to top, each edge labelled with the shape of the tensor on it.

    The shapes are recorded by running ``model`` on ``idx_or_x``, not worked out by hand. A `GPT`
    is drawn as its embeddings, its first block in full, the other blocks as one box, the final
    LayerNorm, the head and the loss; a `Block` alone is drawn in full. The residual stream is the
    thick grey path.

    Args:
        model: A ``zh.models.gpt.GPT`` (given ``(B, T)`` token ids) or ``Block`` (given ``(B, T, C)``).
        idx_or_x: The input to run it on.

    Returns:
        A ``graphviz.Digraph``.
    """
    import graphviz

    # told apart by their parts, not by importing their classes: the CUDA pages import this module,
    # and their recorded outputs must not depend on the models' source
    is_block = all(hasattr(model, part) for part in ("ln_1", "attn", "ln_2", "mlp"))
    if not is_block and not all(hasattr(model, part) for part in ("embed", "blocks", "ln_f", "lm_head")):
        raise TypeError(f"transformer_graph draws a GPT or a Block, got {type(model).__name__}")
    shapes = _record_shapes(model, idx_or_x)
    dot = graphviz.Digraph(graph_attr={"rankdir": "BT", "nodesep": "0.25", "ranksep": "0.28", "fontsize": "11"},
                           node_attr={"fontname": "Helvetica", "fontsize": "11", "margin": "0.08,0.03",
                                      "height": "0.3"},
                           edge_attr={"fontname": "Helvetica", "fontsize": "10", "arrowsize": "0.6"})
    dot.node("in", f"{'x' if is_block else 'idx'} {_shape(idx_or_x)}", shape="plaintext")
    if is_block:
        top = _block_nodes(dot, model, shapes, "", "in", _shape(idx_or_x))
        dot.node("out", f"out {shapes['']}", shape="plaintext")
        dot.edge(top, "out", label=shapes[""], penwidth="2.5", color=GREY)
        return dot
    box = {"shape": "box", "style": "rounded,filled", "fillcolor": "#eef6e8"}
    cfg = model.config
    dot.node("tok", f"token embedding\n{cfg.vocab_size} × {cfg.n_embd}", **box)
    dot.node("pos", f"position embedding\n{cfg.block_size} × {cfg.n_embd}", **box)
    dot.node("sum", "+", shape="circle", width="0.3", fixedsize="true")
    dot.edge("in", "tok", label=_shape(idx_or_x))
    dot.edge("in", "pos", label="positions 0..T-1")
    dot.edge("tok", "sum", label=shapes["embed.tok"])
    dot.edge("pos", "sum", label=shapes["embed.pos"])
    with dot.subgraph(name="cluster_block") as sub:
        sub.attr(label="blocks.0 (the first of n_layer)", fontname="Helvetica", fontsize="11", color=GREY,
                 style="dashed")
        top = _block_nodes(sub, model.blocks[0], shapes, "blocks.0", "sum", shapes["embed"])
    last = top
    if len(model.blocks) > 1:
        dot.node("more", f"blocks.1 … blocks.{len(model.blocks) - 1}\n(the same, {len(model.blocks) - 1} more)", **box)
        dot.edge(top, "more", label=shapes["blocks.0"], penwidth="2.5", color=GREY)
        last = "more"
    dot.node("ln_f", "LayerNorm ln_f", **box)
    dot.node("head", f"lm_head (the token embedding's matrix)\n{cfg.n_embd} → {cfg.vocab_size}", **box)
    dot.node("loss", "cross-entropy with the next tokens → loss ()", shape="plaintext")
    dot.edge(last, "ln_f", label=shapes[f"blocks.{len(model.blocks) - 1}"], penwidth="2.5", color=GREY)
    dot.edge("ln_f", "head", label=shapes["ln_f"])
    dot.edge("head", "loss", label=f"logits {shapes['lm_head']}")
    return dot


def masks_and_objectives(text: str, chosen: list[int]) -> "Figure":
    """GPT's and BERT's attention masks (top) and what each is trained to predict on ``text`` (bottom).

    Args:
        text: A short window of characters (8 to 16 read best).
        chosen: The positions BERT hides and predicts (as ``mask_tokens`` would choose them).

    Returns:
        The ``matplotlib.figure.Figure``.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    T = len(text)
    if not 2 <= T <= 24 or not chosen or not all(0 <= i < T for i in chosen):
        raise ValueError(f"expected a text of 2 to 24 characters and chosen positions inside it, got {T} and {chosen}")
    shown = [c if c not in " \n" else {" ": "·", "\n": "↵"}[c] for c in text]
    fig, axes = plt.subplots(2, 2, figsize=(7.4, 5.4), gridspec_kw={"height_ratios": [T, 3.2]})
    causal = np.tril(np.ones((T, T)))
    for ax, mask, title in ((axes[0, 0], causal, "GPT: causal mask"), (axes[0, 1], np.ones((T, T)), "BERT: no mask")):
        ax.imshow(mask, cmap="Blues", vmin=0, vmax=1.4)
        ax.set_title(title, fontsize=10)
        ax.set_xticks(range(T), shown, fontsize=9, family="monospace")
        ax.set_yticks(range(T), shown, fontsize=9, family="monospace")
        ax.set_xlabel("key: the position read", fontsize=9)
        ax.set_ylabel("query: the position reading", fontsize=9)
    rows = {"GPT": ([shown[:-1], shown[1:]], list(range(T - 1))),
            "BERT": ([["_" if i in chosen else c for i, c in enumerate(shown)],
                      [c if i in chosen else "" for i, c in enumerate(shown)]], sorted(chosen))}
    for ax, (name, ((inputs, targets), scored)) in zip(axes[1], rows.items()):
        ax.set_xlim(-0.5, T - 0.5), ax.set_ylim(-0.5, 2.2), ax.axis("off")
        for i, c in enumerate(inputs):
            ax.text(i, 1.5, c, ha="center", va="center", fontsize=10, family="monospace",
                    bbox={"boxstyle": "round,pad=0.2", "fc": "#ffe0b3" if c == "_" else "#e8f1fa", "ec": GREY})
        for i, c in enumerate(targets):
            if c:
                ax.text(i, 0.4, c, ha="center", va="center", fontsize=10, family="monospace", color=GREEN,
                        fontweight="bold")
                ax.annotate("", (i, 0.7), (i, 1.2), arrowprops={"arrowstyle": "->", "color": GREEN})
        ax.text(-0.5, 2.15, f"{name}: input → target; {len(scored)} of {len(inputs)} positions scored",
                fontsize=9, va="top")
    fig.tight_layout()
    return fig


def cuda_hierarchy(n: int, block_dim: int, warp_size: int = 32) -> "Figure":
    """A 1-D launch over ``n`` elements: the grid's blocks, each block's warps, each warp's threads.

    Every thread is a cell, coloured by its warp within the block; the cell of a thread whose
    index ``i = blockIdx.x * blockDim.x + threadIdx.x`` is ``>= n`` is hatched: it is launched and
    does nothing.

    Args:
        n: Number of elements (one thread each).
        block_dim: Threads per block (``blockDim.x``), a multiple of ``warp_size`` reads best.
        warp_size: Threads per warp (32 on NVIDIA GPUs).

    Returns:
        The ``matplotlib.figure.Figure``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch, Rectangle

    if n < 1 or block_dim < 1 or warp_size < 1:
        raise ValueError(f"n, block_dim and warp_size must be positive, got {n}, {block_dim}, {warp_size}")
    blocks = -(-n // block_dim)
    if blocks * -(-block_dim // warp_size) > 16:
        raise ValueError(f"{blocks} blocks of {block_dim} threads are too many warps to draw legibly; use fewer")
    warps = -(-block_dim // warp_size)
    colours = ["#a9d4f0", "#fdd98a", "#c4eab2", "#f4b6d0"]
    row_h, gap = 0.9, 0.9  # a warp is a row of cells; blocks are separated by a gap for their label
    height = blocks * (warps * row_h + gap)
    fig, ax = plt.subplots(figsize=(7.4, 0.42 * height + 0.6))
    y = 0.0
    for b in range(blocks):
        top = y
        ax.text(-0.2, top - 0.3, f"block {b}  (blockIdx.x = {b}): threads {b * block_dim}..{(b + 1) * block_dim - 1}"
                f" of the grid", fontsize=10, va="center", fontweight="bold")
        y -= 0.6
        for w in range(warps):
            for t in range(w * warp_size, min((w + 1) * warp_size, block_dim)):
                i = b * block_dim + t
                ax.add_patch(Rectangle((t - w * warp_size, y - row_h), 0.92, row_h * 0.85,
                                       facecolor=colours[w % len(colours)] if i < n else "white",
                                       edgecolor="#666666", linewidth=0.5, hatch="////" if i >= n else None))
            first, last = b * block_dim + w * warp_size, b * block_dim + min((w + 1) * warp_size, block_dim) - 1
            ax.text(warp_size + 0.6, y - row_h / 2, f"warp {w}: threadIdx.x {w * warp_size}..{last - b * block_dim}"
                    f" → i = {first}..{last}", fontsize=9, va="center")
            y -= row_h
        ax.add_patch(FancyBboxPatch((-0.3, y - 0.1), warp_size + 0.4, top - y - 0.5, boxstyle="round,pad=0.05",
                                    facecolor="none", edgecolor=GREY, linewidth=1))
        y -= gap - 0.6
    ax.text(-0.2, y - 0.1, f"grid: {blocks} blocks × {block_dim} threads for n = {n}; hatched: i ≥ n, idle "
            f"({blocks * block_dim - n} threads)", fontsize=10, va="top")
    ax.set_xlim(-0.5, warp_size + 17)
    ax.set_ylim(y - 0.7, 0.2)
    ax.axis("off")
    return fig


def tile_loads(M: int, N: int, K: int, BM: int, BN: int, BK: int, block: tuple[int, int] = (0, 0)) -> "Figure":
    """Which tiles of A and B one block of a tiled matmul loads, step by step along K.

    Block ``(by, bx)`` computes the ``BM × BN`` tile of C at rows ``by·BM..`` and columns ``bx·BN..``.
    At step ``s`` it loads the ``BM × BK`` tile of A at columns ``s·BK..`` and the ``BK × BN`` tile
    of B at rows ``s·BK..`` (numbered ``s`` in the drawing); tiles that hang over an edge are
    clipped to the matrix (the kernels store zeros for the rest).

    Args:
        M: Rows of A and C.
        N: Columns of B and C.
        K: Columns of A, rows of B.
        BM: Rows of the block's tile of C.
        BN: Columns of the block's tile of C.
        BK: The step along K.
        block: ``(by, bx)``, the block to follow.

    Returns:
        The ``matplotlib.figure.Figure``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    by, bx = block
    if min(M, N, K, BM, BN, BK) < 1 or not (0 <= by * BM < M and 0 <= bx * BN < N):
        raise ValueError(f"block {block} is outside a grid of {-(-M // BM)} × {-(-N // BN)} blocks (or a size is < 1)")
    steps = -(-K // BK)
    fig, axes = plt.subplots(1, 3, figsize=(7.4, 3.0), gridspec_kw={"width_ratios": [K, N, N]})
    cmap = plt.get_cmap("viridis")
    panels = ((axes[0], "A", M, K), (axes[1], "B", K, N), (axes[2], "C", M, N))
    for ax, name, rows, cols in panels:
        ax.add_patch(Rectangle((0, 0), cols, rows, facecolor="#f4f4f4", edgecolor="#444444"))
        ax.set_xlim(-0.5, cols + 0.5), ax.set_ylim(rows + 0.5, -0.5)  # row 0 at the top, as a matrix
        ax.set_aspect("equal"), ax.set_xticks([]), ax.set_yticks([])
        ax.set_title(f"{name} ({rows} × {cols})", fontsize=10)
    for s in range(steps):
        colour = cmap(0.15 + 0.7 * s / max(1, steps - 1))
        k0, k1 = s * BK, min(K, (s + 1) * BK)
        r0, r1 = by * BM, min(M, (by + 1) * BM)
        c0, c1 = bx * BN, min(N, (bx + 1) * BN)
        for ax, (x0, x1, y0, y1) in ((axes[0], (k0, k1, r0, r1)), (axes[1], (c0, c1, k0, k1))):
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor=colour, edgecolor="white", linewidth=1))
            if steps <= 6 or s in (0, steps - 1):  # thin tiles: number the first and the last only
                ax.text((x0 + x1) / 2, (y0 + y1) / 2, str(s), ha="center", va="center", fontsize=9.5,
                        color="white" if s < steps / 2 else "black")
    r0, r1, c0, c1 = by * BM, min(M, (by + 1) * BM), bx * BN, min(N, (bx + 1) * BN)
    axes[2].add_patch(Rectangle((c0, r0), c1 - c0, r1 - r0, facecolor=ORANGE, edgecolor="white"))
    axes[2].text((c0 + c1) / 2, (r0 + r1) / 2, f"block\n({by}, {bx})", ha="center", va="center", fontsize=9.5)
    fig.suptitle(f"block ({by}, {bx}): {steps} steps (0 darkest), each loading a {BM}×{BK} tile of A and a "
                 f"{BK}×{BN} tile of B",
                 fontsize=10)
    fig.tight_layout()
    return fig
