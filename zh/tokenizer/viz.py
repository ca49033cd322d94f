"""Seeing tokens: where a tokenizer cuts a text, drawn as coloured boxes.

Pages: [tokenizer / regex splitting](../tokenizer/regex.md) (`draw_tokens`), [byte-pair encoding](../tokenizer/bpe.md)
(`draw_merge_trace`).
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


def draw_merge_trace(text: str, merges: dict[tuple[int, int], int]) -> "Figure":
    """BPE step by step: ``text``'s tokens after each merge (left) and the merge table as it grows (right).

    Row 0 is the text as bytes; row k shows the tokens after the first k merges, the tokens the
    k-th merge made outlined in its colour, and, on the right, the merge it added to the table.

    Args:
        text: A short text (up to about 24 bytes fit the width).
        merges: ``{(id, id): new_id}``, as ``Tokenizer.merges``, applied in the order of their new ids.

    Returns:
        The ``matplotlib.figure.Figure``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from zh.tokenizer.basic import merge, token_bytes

    if not isinstance(text, str):
        raise TypeError(f"draw_merge_trace draws a str, got {type(text).__name__}")
    known = set(range(256))
    order = sorted(merges.items(), key=lambda item: item[1])
    for (a, b), new in order:
        if a not in known or b not in known:
            raise ValueError(f"merge {(a, b)} -> {new} uses an id that no earlier merge made")
        known.add(new)
    vocab = token_bytes(merges)
    ids, rows = list(text.encode("utf-8")), []
    rows.append((ids, None))
    for pair, new in order:
        ids = merge(ids, pair, new)
        rows.append((ids, (pair, new)))

    def shown(i: int) -> str:  # a token's text, spaces visible
        return vocab[i].decode("utf-8", errors="replace").replace(" ", "·")

    width = max(sum(max(len(shown(i)), 2) for i in r) + len(r) * 0.3 for r, _ in rows)
    fig, ax = plt.subplots(figsize=(7.4, 0.55 * len(rows) + 0.5))
    for k, (row, step) in enumerate(rows):
        y, x = -k, 0.0
        new = step[1] if step else None
        colour = COLOURS[(k - 1) % len(COLOURS)] if step else "#eeeeee"
        for i in row:
            w = max(len(shown(i)), 2)
            ax.add_patch(Rectangle((x, y - 0.42), w, 0.84, facecolor=colour if i == new else "#f4f4f4",
                                   edgecolor="#555555" if i == new else "#bbbbbb", linewidth=1.2 if i == new else 0.6))
            ax.text(x + w / 2, y + 0.12, shown(i), ha="center", va="center", family="monospace", fontsize=10)
            ax.text(x + w / 2, y - 0.24, str(i), ha="center", va="center", fontsize=9, color="#444444")
            x += w + 0.3
        ax.text(width + 1, y, f"{len(row)} tokens", va="center", fontsize=9, color="#444444")
        if step:
            (a, b), new = step
            ax.text(width + 6, y, f"{new} = ({a}, {b})  '{shown(a)}' + '{shown(b)}'", va="center", fontsize=10,
                    family="monospace", bbox={"boxstyle": "round,pad=0.2", "fc": colour, "ec": "none"})
    ax.text(0, 0.75, "the text's tokens (text above, id below)", fontsize=10)
    ax.text(width + 6, 0.75, "the merge table", fontsize=10)
    ax.set_xlim(-0.2, width + 22)
    ax.set_ylim(-len(rows) + 0.4, 1.1)
    ax.axis("off")
    return fig
