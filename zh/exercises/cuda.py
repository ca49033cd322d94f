"""Reference answers to the exercises of the CUDA pages (see ``zh.exercises``).

No GPU and no kernel code: each reference walks the launch literally in Python (every block, every
thread, every tile) and counts, where a page's solution uses a formula.
"""

from __future__ import annotations

import numpy as np

from zh.exercises import exercise

WARP = 32


def _grid(n: int, block_dim: int):
    """(blockIdx.x, threadIdx.x) of every thread of a 1-D launch that covers n elements."""
    blocks = 0
    while blocks * block_dim < n:
        blocks += 1
    return [(b, t) for b in range(blocks) for t in range(block_dim)]


# --- vector add ------------------------------------------------------------------------------------


@exercise("cuda/vector_add", "thread_of", hint="i = blockIdx.x * blockDim.x + threadIdx.x: divide and take the rest",
          probes=lambda: [(1000, 256), (0, 256), (255, 256), (256, 128), (9, 4), (100_000, 1024)])
def thread_of(i, block_dim):
    """(blockIdx.x, threadIdx.x) of the thread that handles element ``i``, found by walking the grid."""
    return next((b, t) for b, t in _grid(i + 1, block_dim) if b * block_dim + t == i)


@exercise("cuda/vector_add", "launch_shape",
          hint="blocks: n / blockDim rounded up; idle threads: what the last block has beyond n",
          probes=lambda: [(10, 4), (1000, 256), (1, 1024), (1024, 1024), (2**16 + 1, 256)])
def launch_shape(n, block_dim):
    """(blocks, idle threads) of a launch over ``n`` elements, counted thread by thread."""
    threads = _grid(n, block_dim)
    return len(threads) // block_dim, sum(b * block_dim + t >= n for b, t in threads)


@exercise("cuda/vector_add", "unwritten",
          hint="the kernel computes i with 256 where it should use blockDim.x: which i does no thread reach?",
          example=lambda: {"n": 600, "block_dim": 128})
def unwritten(n, block_dim):
    """The elements the kernel with the hard-coded 256 never writes, by set difference."""
    reached = {b * 256 + t for b, t in _grid(n, block_dim)}  # the buggy index of every launched thread
    return sorted(set(range(n)) - reached)


@exercise("cuda/vector_add", "segments",
          hint="thread t reads byte 4·t·stride; count the distinct 128-byte segments (address // 128) of the warp",
          probes=lambda: [(s,) for s in (1, 2, 3, 8, 31, 32, 33, 100)])
def segments(stride):
    """128-byte segments touched by a warp's loads at ``stride``, counted."""
    return len({(4 * t * stride) // 128 for t in range(WARP)})


# --- the matmul ladder -----------------------------------------------------------------------------


def _starts(size: int, tile: int) -> list[int]:
    return list(range(0, size, tile))


@exercise("cuda/matmul", "tile_counts",
          hint="blocks: ceil(M/BM)·ceil(N/BN); steps along K: ceil(K/BK)",
          probes=lambda: [(4096, 4096, 4096, 128, 128, 8), (9, 13, 7, 4, 4, 4), (100, 64, 33, 32, 32, 32),
                          (1, 1, 1, 64, 64, 8)])
def tile_counts(M, N, K, BM, BN, BK):
    """(blocks, steps along K) of a tiled launch, counted tile by tile."""
    blocks = [(r, c) for r in _starts(M, BM) for c in _starts(N, BN)]
    return len(blocks), len(_starts(K, BK))


@exercise("cuda/matmul", "tiles_at",
          hint="block (by, bx) owns rows by·BM.. of C and columns bx·BN..; step s covers k = s·BK..(s+1)·BK",
          probes=lambda: [(0, 0, 0, 32, 32, 32), (1, 2, 3, 64, 32, 8), (2, 0, 1, 16, 48, 4)])
def tiles_at(by, bx, step, BM, BN, BK):
    """((first row, end row), (first col, end col)) of the A tile, then of the B tile, as half-open ranges."""
    a_rows = [m for m in range(0, (by + 1) * BM) if m // BM == by]
    a_cols = [k for k in range(0, (step + 1) * BK) if k // BK == step]
    b_cols = [n for n in range(0, (bx + 1) * BN) if n // BN == bx]
    return ((a_rows[0], a_rows[-1] + 1), (a_cols[0], a_cols[-1] + 1)), ((a_cols[0], a_cols[-1] + 1),
                                                                          (b_cols[0], b_cols[-1] + 1))


@exercise("cuda/matmul", "global_loads",
          hint="each block loads its A strip and its B strip once (inside the matrices only); "
               "so each element of A is loaded by every block of its row of blocks",
          probes=lambda: [(64, 64, 64, 32, 32, 32), (9, 13, 7, 4, 4, 4), (128, 96, 40, 64, 32, 8), (5, 5, 5, 8, 8, 8)])
def global_loads(M, N, K, BM, BN, BK):
    """Floats all blocks load from global memory, counted tile by tile inside the matrices."""
    total = 0
    for r0 in _starts(M, BM):
        for c0 in _starts(N, BN):
            for k0 in _starts(K, BK):
                a_tile = np.zeros((BM, BK), dtype=bool)
                a_tile[: max(0, min(BM, M - r0)), : max(0, min(BK, K - k0))] = True  # the elements inside A
                b_tile = np.zeros((BK, BN), dtype=bool)
                b_tile[: max(0, min(BK, K - k0)), : max(0, min(BN, N - c0))] = True
                total += int(a_tile.sum() + b_tile.sum())
    return total


def _probe_matrices():
    rng = np.random.default_rng(0)
    shapes = [((8, 8), (8, 8), 4), ((9, 7), (7, 13), 4), ((5, 3), (3, 6), 4), ((16, 12), (12, 4), 4),
              ((4, 4), (4, 4), 4)]
    return [(rng.standard_normal(a), rng.standard_normal(b), tile) for a, b, tile in shapes]


@exercise("cuda/matmul", "tiled_matmul", hint="compare with A @ B on a K that the tile divides, and on K ≤ tile",
          probes=_probe_matrices, rtol=1e-9, atol=1e-9)
def tiled_matmul(A, B, tile):
    """``A @ B`` by numpy."""
    return A @ B
