"""Seeing tokens: where a tokenizer cuts a text, drawn as coloured boxes.

Page: [tokenizer / regex splitting](../tokenizer/regex.md).
"""

from __future__ import annotations

from itertools import accumulate
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from zh.tokenizer.base import Tokenizer

#: Background colours of consecutive tokens (they cycle).
COLOURS = ["#fdd98a", "#a9d4f0", "#c4eab2", "#f4b6d0", "#d3c2f0", "#9fe0d8"]


def token_spans(
    tokenizer: "Tokenizer", text: str, allowed_special: str | set[str] = "none"
) -> list[tuple[str, list[int]]]:
    """Cut ``text`` where ``tokenizer`` cuts it: ``[(piece, ids), ...]``, pieces joining to ``text``.

    A token that ends inside a multi-byte character (an emoji made of 3 tokens, say) is kept
    with the token where that character starts, so every piece is whole characters.
    """
    ids = tokenizer.encode(text, allowed_special=allowed_special)
    ends = list(accumulate(len(tokenizer.decode_bytes([i])) for i in ids))  # byte offset after each token
    spans, token, offset = [], 0, 0
    for char in text:
        while token < len(ids) and ends[token] <= offset:  # skip tokens that ended before char
            token += 1
        if spans and spans[-1][2] == token:
            spans[-1][0] += char
        else:
            spans.append([char, None, token])
        offset += len(char.encode("utf-8"))
    # give each piece the ids from its first token up to the next piece's first token
    starts = [s[2] for s in spans] + [len(ids)]
    return [(piece, ids[starts[k] : starts[k + 1]]) for k, (piece, _, _) in enumerate(spans)]


def draw_tokens(tokenizer: "Tokenizer", text: str, width: int = 64, title: str | None = None) -> "Figure":
    """A matplotlib figure of ``text`` with one coloured box per token.

    Spaces are shown as ``·`` and newlines as ``↵`` (then a line break), so that tokens that
    start with a space are visible as such.

    Args:
        tokenizer: Any zh tokenizer.
        text: The text to draw (characters that the monospace font lacks show as boxes).
        width: Characters per line before wrapping.
        title: Shown above; by default the number of characters and tokens.

    Returns:
        The ``matplotlib.figure.Figure``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    spans = token_spans(tokenizer, text)
    cells, row, col = [], 0, 0  # (row, col, character shown, colour)
    for k, (piece, _) in enumerate(spans):
        colour = COLOURS[k % len(COLOURS)]
        for char in piece:
            if col >= width:
                row, col = row + 1, 0
            cells.append((row, col, {" ": "·", "\n": "↵", "\t": "→"}.get(char, char), colour))
            col += 1
            if char == "\n":
                row, col = row + 1, 0
    rows = row + 1
    # 0.115 inch per character: 60 of them fit a page's 7-inch column at their size (9 point)
    fig, ax = plt.subplots(figsize=(width * 0.115, rows * 0.3 + 0.5))
    for r, c, shown, colour in cells:
        ax.add_patch(Rectangle((c, -r - 1), 1, 0.9, facecolor=colour, edgecolor="none"))
        ax.text(c + 0.5, -r - 0.55, shown, ha="center", va="center", family="monospace", fontsize=9)
    ax.set_xlim(0, width)
    ax.set_ylim(-rows - 0.1, 0)
    ax.axis("off")
    n_tokens = sum(len(ids) for _, ids in spans)
    ax.set_title(title or f"{len(text)} characters, {n_tokens} tokens", fontsize=10, loc="left")
    return fig
