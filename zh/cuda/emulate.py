"""The kernels run on the CPU, one emulated thread at a time, to check their index arithmetic.

Page: [CUDA / matmul](../cuda/matmul.md).

Each function ``matmul_<name>`` below mirrors the CUDA kernel of the same name line by line:
the same index expressions, the same loops, the same bounds checks. ``launch`` runs it for every
thread of every block. A ``yield`` stands for ``__syncthreads()``: a kernel with barriers is a
Python generator, and ``launch`` advances all threads of a block to the next barrier before any
goes past it, and complains if only some of them get there.

Memory is checked as strictly as a GPU memory checker would: every global or shared access must
be in bounds, float4 accesses must be 16-byte aligned, two threads may not touch the same shared
element between barriers unless both only read it (a race), and the tests check that every
output element is written exactly once.
"""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import numpy as np
from numpy.typing import ArrayLike

from zh.cuda.matmul import get_kernel, prepare


class Memory:
    """A float32 array as a kernel sees it: bounds-checked, with a record of who touched what.

    Args:
        data: the array (1-D for global memory, 2-D for a ``__shared__ float X[R][C]``).
        name: used in error messages.
        shared: if true, accesses are checked for races between barriers.
    """

    running = None  # (block, thread) of the thread the emulator is running now

    def __init__(self, data: np.ndarray, name: str, shared: bool = False):
        self.data = data
        self.name = name
        self.shared = shared
        self.writes = np.zeros(data.shape, dtype=np.int64)
        self.trace: list[tuple[int, str, tuple, tuple]] = []  # (flat index, "r"/"w", block, thread)
        self._epoch: dict[int, tuple[set, set]] = {}  # flat index -> (readers, writers) since the last barrier

    def _flat(self, key, width: int = 1) -> int:
        key = key if isinstance(key, tuple) else (key,)
        if len(key) != self.data.ndim:
            raise IndexError(f"{self.name} has {self.data.ndim} dimensions, indexed with {key}")
        for i, n, last in zip(key, self.data.shape, range(len(key) - 1, -1, -1)):
            span = width if last == 0 else 1
            if not 0 <= i <= n - span:
                raise IndexError(f"out of bounds: {self.name}{list(key)} (+{width}) with shape {self.data.shape}, "
                                 f"thread {Memory.running}")
        flat = int(np.ravel_multi_index(key, self.data.shape))
        if width == 4 and flat % 4:
            raise IndexError(f"misaligned float4 access: {self.name}{list(key)} is not a multiple of 16 bytes")
        return flat

    def _touch(self, flat: int, width: int, kind: str) -> None:
        who = Memory.running
        for f in range(flat, flat + width):
            self.trace.append((f, kind, *who))
            if not self.shared:
                continue
            readers, writers = self._epoch.setdefault(f, (set(), set()))
            others = (readers | writers) - {who} if kind == "w" else writers - {who}
            if others:
                raise RuntimeError(
                    f"race on {self.name} element {f}: thread {who} and {sorted(others)} between two barriers"
                )
            (writers if kind == "w" else readers).add(who)

    def barrier(self) -> None:
        """``__syncthreads()`` has been reached: accesses before it cannot race with those after."""
        self._epoch.clear()

    def __getitem__(self, key) -> float:
        flat = self._flat(key)
        self._touch(flat, 1, "r")
        return float(self.data.flat[flat])

    def __setitem__(self, key, value) -> None:
        flat = self._flat(key)
        self._touch(flat, 1, "w")
        self.data.flat[flat] = value
        self.writes.flat[flat] += 1

    def load4(self, key) -> list[float]:
        """A float4 read of 4 consecutive floats starting at ``key``."""
        flat = self._flat(key, 4)
        self._touch(flat, 4, "r")
        return [float(v) for v in self.data.flat[flat : flat + 4]]

    def store4(self, key, values) -> None:
        """A float4 write of 4 consecutive floats starting at ``key``."""
        flat = self._flat(key, 4)
        self._touch(flat, 4, "w")
        self.data.flat[flat : flat + 4] = values
        self.writes.flat[flat : flat + 4] += 1


def launch(kernel, grid: tuple, block: tuple, *args, **constants) -> None:
    """Run ``kernel(t, *args, **constants)`` for every thread of a ``grid`` of ``block`` s.

    ``t`` carries ``blockIdx``, ``threadIdx``, ``blockDim``, ``gridDim`` (each with ``.x .y .z``)
    and ``t.shared(name, rows, cols)``, which returns the block's ``__shared__`` array ``name``.

    Raises:
        RuntimeError: if some threads of a block reach a barrier that others skip.
    """
    dim = lambda x, y=1, z=1: SimpleNamespace(x=x, y=y, z=z)  # noqa: E731
    for bz in range(grid[2] if len(grid) > 2 else 1):
        for by in range(grid[1]):
            for bx in range(grid[0]):
                shared: dict[str, Memory] = {}

                def declare(name, *shape, shared=shared):
                    if name not in shared:
                        shared[name] = Memory(np.zeros(shape, dtype=np.float32), name, shared=True)
                    return shared[name]

                threads = []
                for tz in range(block[2] if len(block) > 2 else 1):
                    for ty in range(block[1]):
                        for tx in range(block[0]):
                            t = SimpleNamespace(blockIdx=dim(bx, by, bz), threadIdx=dim(tx, ty, tz),
                                                blockDim=dim(*block), gridDim=dim(*grid), shared=declare)
                            who = ((bx, by, bz), (tx + block[0] * (ty + block[1] * tz),))
                            Memory.running = who
                            run = kernel(t, *args, **constants)
                            if inspect.isgenerator(run):  # the kernel has barriers: run it below
                                threads.append((who, run))
                while threads:
                    waiting = []
                    for who, run in threads:
                        Memory.running = who
                        try:
                            next(run)
                            waiting.append((who, run))
                        except StopIteration:
                            pass
                    if waiting and len(waiting) != len(threads):
                        raise RuntimeError(
                            f"block {who[0]}: {len(waiting)} of {len(threads)} threads reached __syncthreads()"
                        )
                    for memory in shared.values():
                        memory.barrier()
                    threads = waiting
    Memory.running = None


# --- the kernels, mirrored from zh/cuda/kernels/*.cu ------------------------------------------


def vector_add(t, a, b, c, n):
    """Mirror of ``vector_add.cu``."""
    i = t.blockIdx.x * t.blockDim.x + t.threadIdx.x
    if i < n:
        c[i] = a[i] + b[i]


def matmul_naive(t, A, B, C, M, N, K, BLOCK):
    """Mirror of ``matmul_1_naive.cu``."""
    row = t.blockIdx.x * BLOCK + t.threadIdx.x
    col = t.blockIdx.y * BLOCK + t.threadIdx.y
    if row < M and col < N:
        acc = 0.0
        for k in range(K):
            acc += A[row * K + k] * B[k * N + col]
        C[row * N + col] = acc


def matmul_coalesced(t, A, B, C, M, N, K, BLOCK):
    """Mirror of ``matmul_2_coalesced.cu``."""
    row = t.blockIdx.y * BLOCK + t.threadIdx.y
    col = t.blockIdx.x * BLOCK + t.threadIdx.x
    if row < M and col < N:
        acc = 0.0
        for k in range(K):
            acc += A[row * K + k] * B[k * N + col]
        C[row * N + col] = acc


def matmul_smem(t, A, B, C, M, N, K, TILE):
    """Mirror of ``matmul_3_smem.cu``."""
    As = t.shared("As", TILE, TILE)
    Bs = t.shared("Bs", TILE, TILE)
    tx, ty = t.threadIdx.x, t.threadIdx.y
    row = t.blockIdx.y * TILE + ty
    col = t.blockIdx.x * TILE + tx
    acc = 0.0
    for k0 in range(0, K, TILE):
        As[ty, tx] = A[row * K + k0 + tx] if (row < M and k0 + tx < K) else 0.0
        Bs[ty, tx] = B[(k0 + ty) * N + col] if (k0 + ty < K and col < N) else 0.0
        yield  # __syncthreads()
        for k in range(TILE):
            acc += As[ty, k] * Bs[k, tx]
        yield  # __syncthreads()
    if row < M and col < N:
        C[row * N + col] = acc


def _load_tiles(t, A, B, As, Bs, M, N, K, k0, row0, col0, BM, BN, BK, THREADS):
    """The scalar tile loads shared by rungs 4 and 5 (the same lines in both .cu files)."""
    tid = t.threadIdx.x
    for i in range(tid, BM * BK, THREADS):
        r, c = i // BK, i % BK
        As[r, c] = A[(row0 + r) * K + k0 + c] if (row0 + r < M and k0 + c < K) else 0.0
    for i in range(tid, BK * BN, THREADS):
        r, c = i // BN, i % BN
        Bs[r, c] = B[(k0 + r) * N + col0 + c] if (k0 + r < K and col0 + c < N) else 0.0


def matmul_blocktile1d(t, A, B, C, M, N, K, BM, BN, BK, TM, THREADS):
    """Mirror of ``matmul_4_blocktile1d.cu``."""
    As = t.shared("As", BM, BK)
    Bs = t.shared("Bs", BK, BN)
    tid = t.threadIdx.x
    row0, col0 = t.blockIdx.y * BM, t.blockIdx.x * BN
    tcol = tid % BN
    trow = tid // BN * TM
    acc = [0.0] * TM
    for k0 in range(0, K, BK):
        _load_tiles(t, A, B, As, Bs, M, N, K, k0, row0, col0, BM, BN, BK, THREADS)
        yield
        for k in range(BK):
            b = Bs[k, tcol]
            for m in range(TM):
                acc[m] += As[trow + m, k] * b
        yield
    for m in range(TM):
        if row0 + trow + m < M and col0 + tcol < N:
            C[(row0 + trow + m) * N + col0 + tcol] = acc[m]


def matmul_blocktile2d(t, A, B, C, M, N, K, BM, BN, BK, TM, TN, THREADS):
    """Mirror of ``matmul_5_blocktile2d.cu``."""
    As = t.shared("As", BM, BK)
    Bs = t.shared("Bs", BK, BN)
    tid = t.threadIdx.x
    row0, col0 = t.blockIdx.y * BM, t.blockIdx.x * BN
    tcol = tid % (BN // TN) * TN
    trow = tid // (BN // TN) * TM
    acc = [[0.0] * TN for _ in range(TM)]
    for k0 in range(0, K, BK):
        _load_tiles(t, A, B, As, Bs, M, N, K, k0, row0, col0, BM, BN, BK, THREADS)
        yield
        for k in range(BK):
            a = [As[trow + m, k] for m in range(TM)]
            b = [Bs[k, tcol + n] for n in range(TN)]
            for m in range(TM):
                for n in range(TN):
                    acc[m][n] += a[m] * b[n]
        yield
    for m in range(TM):
        for n in range(TN):
            if row0 + trow + m < M and col0 + tcol + n < N:
                C[(row0 + trow + m) * N + col0 + tcol + n] = acc[m][n]


def _load_tiles4(t, A, B, As, Bs, M, N, K, k0, row0, col0, BM, BN, BK, THREADS):
    """The float4 tile loads shared by rungs 6 and 7, A transposed into ``As[k][m]``."""
    tid = t.threadIdx.x
    for i in range(tid, BM * BK // 4, THREADS):
        r, c = i // (BK // 4), i % (BK // 4) * 4
        v = [0.0] * 4
        if row0 + r < M and k0 + c < K:
            v = A.load4((row0 + r) * K + k0 + c)
        for j in range(4):
            As[c + j, r] = v[j]
    for i in range(tid, BK * BN // 4, THREADS):
        r, c = i // (BN // 4), i % (BN // 4) * 4
        v = [0.0] * 4
        if k0 + r < K and col0 + c < N:
            v = B.load4((k0 + r) * N + col0 + c)
        Bs.store4((r, c), v)


def matmul_vectorized(t, A, B, C, M, N, K, BM, BN, BK, TM, TN, THREADS):
    """Mirror of ``matmul_6_vectorized.cu``."""
    As = t.shared("As", BK, BM)
    Bs = t.shared("Bs", BK, BN)
    tid = t.threadIdx.x
    row0, col0 = t.blockIdx.y * BM, t.blockIdx.x * BN
    tcol = tid % (BN // TN) * TN
    trow = tid // (BN // TN) * TM
    acc = [[0.0] * TN for _ in range(TM)]
    for k0 in range(0, K, BK):
        _load_tiles4(t, A, B, As, Bs, M, N, K, k0, row0, col0, BM, BN, BK, THREADS)
        yield
        for k in range(BK):
            a = [x for m in range(0, TM, 4) for x in As.load4((k, trow + m))]
            b = [x for n in range(0, TN, 4) for x in Bs.load4((k, tcol + n))]
            for m in range(TM):
                for n in range(TN):
                    acc[m][n] += a[m] * b[n]
        yield
    for m in range(TM):
        if row0 + trow + m >= M:
            break
        for n in range(0, TN, 4):
            if col0 + tcol + n < N:
                C.store4((row0 + trow + m) * N + col0 + tcol + n, acc[m][n : n + 4])


def matmul_warptiling(t, A, B, C, M, N, K, BM, BN, BK, WM, WN, WNITER, TM, TN, WARPSIZE, THREADS, WMITER, WSUBM, WSUBN):
    """Mirror of ``matmul_7_warptiling.cu``."""
    As = t.shared("As", BK, BM)
    Bs = t.shared("Bs", BK, BN)
    tid = t.threadIdx.x
    row0, col0 = t.blockIdx.y * BM, t.blockIdx.x * BN
    warp, lane = tid // WARPSIZE, tid % WARPSIZE
    wrow = warp // (BN // WN) * WM
    wcol = warp % (BN // WN) * WN
    trow = lane // (WSUBN // TN) * TM
    tcol = lane % (WSUBN // TN) * TN
    acc = [[0.0] * (WNITER * TN) for _ in range(WMITER * TM)]
    for k0 in range(0, K, BK):
        _load_tiles4(t, A, B, As, Bs, M, N, K, k0, row0, col0, BM, BN, BK, THREADS)
        yield
        for k in range(BK):
            a = [
                x for wm in range(WMITER) for m in range(0, TM, 4) for x in As.load4((k, wrow + wm * WSUBM + trow + m))
            ]
            b = [
                x for wn in range(WNITER) for n in range(0, TN, 4) for x in Bs.load4((k, wcol + wn * WSUBN + tcol + n))
            ]
            for m in range(WMITER * TM):
                for n in range(WNITER * TN):
                    acc[m][n] += a[m] * b[n]
        yield
    for wm in range(WMITER):
        for m in range(TM):
            row = row0 + wrow + wm * WSUBM + trow + m
            if row >= M:
                continue
            for wn in range(WNITER):
                for n in range(0, TN, 4):
                    col = col0 + wcol + wn * WSUBN + tcol + n
                    if col < N:
                        C.store4(row * N + col, acc[wm * TM + m][wn * TN + n : wn * TN + n + 4])


# Scaled-down tilings: the same code paths with a few threads per block, so that every boundary
# case is cheap to emulate (the tests also compile each of them with nvcc).
SMALL_TILES = {
    "naive": {"BLOCK": 4},
    "coalesced": {"BLOCK": 4},
    "smem": {"TILE": 4},
    "blocktile1d": {"BM": 8, "BN": 8, "BK": 4, "TM": 2},
    "blocktile2d": {"BM": 8, "BN": 8, "BK": 4, "TM": 2, "TN": 2},
    "vectorized": {"BM": 8, "BN": 8, "BK": 4, "TM": 4, "TN": 4},
    # WMITER = 2 here (the source's tiling has 1), so the warp's sub-tile loop runs twice
    "warptiling": {"BM": 64, "BN": 64, "BK": 4, "WM": 32, "WN": 64, "WNITER": 2, "TM": 4, "TN": 4},
}

MIRRORS = {
    "naive": matmul_naive,
    "coalesced": matmul_coalesced,
    "smem": matmul_smem,
    "blocktile1d": matmul_blocktile1d,
    "blocktile2d": matmul_blocktile2d,
    "vectorized": matmul_vectorized,
    "warptiling": matmul_warptiling,
}


def matmul(
    A: ArrayLike, B: ArrayLike, kernel: str = "warptiling", **tiles: int
) -> tuple[np.ndarray, dict[str, Memory]]:
    """``A @ B`` computed by emulating every thread of ``kernel`` on the CPU.

    Operands are prepared exactly as :func:`zh.cuda.matmul.matmul` prepares them (float32,
    zero-padded to multiples of 4 for the float4 kernels), and the launch uses the same grid and
    block shapes. The output starts as NaN, so an element no thread writes shows up.

    Args:
        A: ``M x K`` array-like.
        B: ``K x N`` array-like.
        kernel: a name in ``zh.cuda.matmul.KERNELS``.
        **tiles: tiling constants to use instead of the source's (small ones keep it fast).

    Returns:
        The ``M x N`` product, and the emulated global memories ``{"A", "B", "C"}`` with their
        access records (``Memory.trace``, ``Memory.writes``).
    """
    spec = get_kernel(kernel)
    consts = spec.constants(**tiles)
    A, B, n = prepare(A, B, spec)
    (M, K), N = A.shape, B.shape[1]
    mem = {"A": Memory(A.ravel(), "A"), "B": Memory(B.ravel(), "B"),
           "C": Memory(np.full(M * N, np.nan, np.float32), "C")}
    grid, block = spec.grid_of(consts, M, N), spec.block_of(consts)
    launch(MIRRORS[kernel], grid, block, mem["A"], mem["B"], mem["C"], M, N, K, **consts)
    return mem["C"].data.reshape(M, N)[:, :n].copy(), mem


def draw(kernel: str, M: int, N: int, K: int, **tiles: int) -> "matplotlib.figure.Figure":  # noqa: F821
    """Who reads and writes what in block (0, 0): a picture of a kernel's index arithmetic.

    Emulates ``kernel`` on ``M x K @ K x N`` and draws A, B and C. In C, each element the block
    writes is coloured by the warp of the thread that writes it; in A and B, each element the
    block reads from global memory is coloured by the first warp that reads it. The elements
    thread 0 touches are marked with black dots.

    Returns:
        A matplotlib figure.
    """
    import matplotlib.pyplot as plt

    spec = get_kernel(kernel)
    consts = spec.constants(**tiles)
    A, B = np.ones((M, K)), np.ones((K, N))
    _, mem = matmul(A, B, kernel, **tiles)
    shapes = {"A": (M, K), "B": (K, N), "C": (M, N)}
    if spec.vec4:  # the padded operands the kernel really sees
        shapes = {"A": (M, -(-K // 4) * 4), "B": (-(-K // 4) * 4, -(-N // 4) * 4), "C": (M, -(-N // 4) * 4)}
    warps = max(1, spec.block_of(consts)[0] * spec.block_of(consts)[1] // 32)
    # 9 inches: about the width of a page's column, so the ticks are read at their size
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.4), gridspec_kw={"width_ratios": [shapes[k][1] for k in "ABC"]})
    for ax, name in zip(axes, "ABC"):
        warp_of = np.full(shapes[name], np.nan)
        mine = set()
        for flat, kind, block, (tid,) in mem[name].trace:
            if block != (0, 0, 0) or (kind == "w") != (name == "C"):
                continue
            if np.isnan(warp_of.flat[flat]):
                warp_of.flat[flat] = tid // 32 % 20  # colours repeat after 20 warps
            if tid == 0:
                mine.add(flat)
        ax.imshow(warp_of, cmap="tab20" if warps > 10 else "tab10", vmin=-0.5, vmax=(20 if warps > 10 else 10) - 0.5,
                  interpolation="nearest")
        rows, cols = np.unravel_index(sorted(mine), shapes[name]) if mine else ([], [])
        ax.scatter(cols, rows, s=4, c="black", marker="s")
        ax.set_title(f"{name} ({shapes[name][0]}×{shapes[name][1]})", fontsize=10)
        ax.tick_params(labelsize=8)
    fig.suptitle(f"{kernel}: block (0, 0), coloured by warp ({warps} per block); thread 0 in black", fontsize=10)
    return fig
