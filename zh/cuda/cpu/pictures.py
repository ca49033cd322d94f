"""Pictures and counts of what the real kernels touch, drawn from the trace build (``zh.cuda.cpu``).

Page: [CUDA / matmul](../cuda/matmul.md). Every function here launches a kernel's own CUDA
source on the CPU with block (0, 0) recorded, and reads the record: who read and wrote which
element, in which order, between which barriers. A warp is 32 consecutive flat thread ids, as
on a GPU; the threads of a warp run the same instructions, so the i-th access of each of its
threads is one warp-wide access.
"""

from __future__ import annotations

import numpy as np

from zh.cuda.cpu import Accesses, matmul
from zh.cuda.matmul import get_kernel

WARPSIZE = 32
SECTOR = 32  # bytes: the unit in which a GPU's memory system moves global memory
BANKS = 32  # shared memory: 32 banks of 4 bytes; a warp's accesses to one bank serialise


def trace(kernel: str, M: int, N: int, K: int, **tiles: int) -> Accesses:
    """Runs ``kernel`` on ``M x K @ K x N`` (ones) with block (0, 0) recorded."""
    return matmul(np.ones((M, K)), np.ones((K, N)), kernel, record=0, **tiles)[1]


def _warp_accesses(seen: Accesses, name: str, write: bool) -> list[np.ndarray]:
    """Each warp-wide access to ``name``: the flat element indices its threads touched."""
    e = seen.elements(name, write)
    key = (e["block"].astype(np.int64) << 42) | ((e["thread"] // WARPSIZE).astype(np.int64) << 32) | e["seq"]
    order = np.argsort(key, kind="stable")
    key, index = key[order], e["index"][order]
    return np.split(index, np.flatnonzero(np.diff(key)) + 1) if len(key) else []


def coalescing(seen: Accesses, name: str, write: bool = False) -> tuple[float, float]:
    """How a global array is accessed, warp by warp: the mean number of 32-byte sectors one
    warp-wide access spans, and the share of the bytes of those sectors that its threads asked for.

    32 threads reading 32 consecutive floats: 4 sectors, all used (1.0); 32 floats a row apart:
    32 sectors, an eighth used; all 32 threads reading the same float: 1 sector (a broadcast).
    """
    warp = _warp_accesses(seen, name, write)
    spans = [len(np.unique(i * 4 // SECTOR)) for i in warp]
    used = [4 * len(np.unique(i)) / (SECTOR * n) for i, n in zip(warp, spans)]
    return float(np.mean(spans)), float(np.mean(used))


def bank_conflicts(seen: Accesses, name: str) -> float:
    """The mean bank-conflict degree of the warp-wide reads of shared array ``name``.

    Shared memory has 32 banks of 4 bytes, each delivering one word per cycle to a warp (one word
    wanted by several threads is a broadcast). An access needs as many cycles as the busiest bank
    has distinct words, and at least one per 32 distinct words: the degree is the first over the
    second, 1 for a conflict-free access.

    Raises:
        ValueError: if the kernel reads the array with accesses wider than 4 bytes (``float4``),
            which a GPU splits differently.
    """
    if (seen.elements(name, False)["width"] > 1).any():
        raise ValueError(f"{name} is read with float4 accesses; the bank model here is for 4-byte reads")
    degrees = []
    for index in _warp_accesses(seen, name, False):
        words = np.unique(index)
        degrees.append(np.bincount(words % BANKS).max() / -(-len(words) // BANKS))
    return float(np.mean(degrees))


def _warp_colours(ax, shape, e, title):
    """Colours each element by the lowest warp that touches it; black dots: thread 0's elements."""
    warp_of = np.full(shape, np.nan)
    flat = warp_of.reshape(-1)
    for warp in sorted(set((e["thread"] // WARPSIZE).tolist()), reverse=True):
        flat[e["index"][e["thread"] // WARPSIZE == warp]] = warp % 20  # colours repeat after 20 warps
    ax.imshow(warp_of, cmap="tab20", vmin=-0.5, vmax=19.5, interpolation="nearest")
    rows, cols = np.unravel_index(np.unique(e["index"][e["thread"] == 0]), shape)
    ax.scatter(cols, rows, s=4, c="black", marker="s", rasterized=True)  # thousands of marks: one image
    ax.set_title(title, fontsize=10)
    ax.tick_params(labelsize=9)


def draw(kernel: str, M: int, N: int, K: int, **tiles: int) -> "matplotlib.figure.Figure":  # noqa: F821
    """Who reads and writes what in block (0, 0): the real kernel's global-memory accesses.

    In C, each element the block writes is coloured by the warp of the thread that writes it; in
    A and B, each element the block reads, by the lowest warp that reads it. The elements thread 0
    touches are marked with black dots. Operands are as the kernel sees them (padded to multiples
    of 4 for the float4 kernels).

    Returns:
        A matplotlib figure.
    """
    import matplotlib.pyplot as plt

    seen = trace(kernel, M, N, K, **tiles)
    spec = get_kernel(kernel)
    block = spec.block(**tiles)
    warps = max(1, block[0] * block[1] // WARPSIZE)
    # 7.4 inches: about the width of a page's column, so the text is read at its size (9 pt and up)
    fig, axes = plt.subplots(1, 3, figsize=(7.4, 3.0), gridspec_kw={"width_ratios": [seen.shapes[k][1] for k in "ABC"]})
    for ax, name in zip(axes, "ABC"):
        shape = seen.shapes[name]
        _warp_colours(ax, shape, seen.elements(name, name == "C"), f"{name} ({shape[0]}×{shape[1]})")
    fig.suptitle(f"{kernel}: block (0, 0), coloured by warp ({warps} per block); thread 0 in black", fontsize=10)
    return fig


def draw_shared(kernel: str, M: int, N: int, K: int, **tiles: int) -> "matplotlib.figure.Figure":  # noqa: F821
    """The shared-memory reads of warp 0 in block (0, 0) between the first two barriers (the
    first tile): which elements of each ``__shared__`` array it reads (thread 0's in black), and
    in the titles how many times each of them is read.

    Returns:
        A matplotlib figure.
    """
    import matplotlib.pyplot as plt

    seen = trace(kernel, M, N, K, **tiles)
    names = [n for n in seen.names if n not in ("A", "B", "C")]
    fig, axes = plt.subplots(1, len(names), figsize=(7.4, 3.0),
                             gridspec_kw={"width_ratios": [seen.shapes[n][1] for n in names]})
    for ax, name in zip(axes, names):
        e = seen.elements(name, False)
        e = e[(e["phase"] == 1) & (e["thread"] < WARPSIZE)]
        shape = seen.shapes[name]
        count = np.bincount(e["index"], minlength=int(np.prod(shape))).reshape(shape)
        read = count[count > 0]
        ax.imshow(np.where(count > 0, 1.0, np.nan), cmap="tab10", vmin=-0.5, vmax=9.5, interpolation="nearest")
        rows, cols = np.unravel_index(np.unique(e["index"][e["thread"] == 0]), shape)
        ax.scatter(cols, rows, s=4, c="black", marker="s", rasterized=True)  # thousands of marks: one image
        times = f"{read.min()}" if read.min() == read.max() else f"{read.min()} to {read.max()}"
        ax.set_title(f"{name}[{shape[0]}][{shape[1]}]: {read.size} read, {times} times each", fontsize=10)
        ax.tick_params(labelsize=9)
    fig.suptitle(f"{kernel}: what warp 0 reads from shared memory in the first tile; thread 0 in black", fontsize=10)
    return fig
