"""The matmul ladder: seven CUDA kernels for ``C = A @ B``, each one step faster than the last.

Page: [CUDA / matmul](../cuda/matmul.md). The kernels are ``kernels/matmul_<rung>_<name>.cu``;
``KERNELS`` describes each one: its file and entry point, its tiling constants (the ``#define``
values of its source, checked against it by the tests), and how it is launched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from numpy.typing import ArrayLike

from zh.cuda.runtime import driver, function

WARPSIZE = 32
INDEX_LIMIT = 2**31  # the kernels index with int32


def cdiv(a: int, b: int) -> int:
    """``ceil(a / b)`` for positive integers: how many tiles of ``b`` cover ``a``."""
    return -(-a // b)


def _block_threads(c):
    return {"THREADS": c["BM"] * c["BN"] // (c["TM"] * c.get("TN", 1))}


def _warp_threads(c):
    wmiter = c["WM"] * c["WN"] // (WARPSIZE * c["TM"] * c["TN"] * c["WNITER"])
    return {
        "WARPSIZE": WARPSIZE,
        "THREADS": c["BM"] // c["WM"] * c["BN"] // c["WN"] * WARPSIZE,
        "WMITER": wmiter,
        "WSUBM": c["WM"] // max(wmiter, 1),
        "WSUBN": c["WN"] // c["WNITER"],
    }


def _square_block(c):
    side = c.get("BLOCK", c.get("TILE"))
    return (side, side, 1)


@dataclass(frozen=True)
class Kernel:
    """One rung of the ladder: where its code is and how to launch it.

    Attributes:
        rung: its place on the ladder, 1 (naive) to 7.
        name: the short name ``matmul(..., kernel=name)`` takes.
        file: its ``.cu`` file in ``zh/cuda/kernels/``.
        entry: the ``__global__`` function in that file.
        tiles: the tiling constants: the ``#define`` values of the source, which another
            tiling given to ``launch`` replaces (with ``nvcc -D``).
        derive: computes the derived constants (``THREADS``...) from the tiles, as the source does.
        block_of: the block shape for given constants.
        grid_of: the grid shape for given constants and the size ``(M, N)`` of C.
        vec4: whether it uses float4 accesses (then rows of A, B and C need a multiple of 4 floats).
    """

    rung: int
    name: str
    file: str
    entry: str
    tiles: dict
    block_of: Callable[[dict], tuple]
    grid_of: Callable[[dict, int, int], tuple]
    derive: Callable[[dict], dict] = field(default=lambda c: {})
    vec4: bool = False

    def constants(self, **overrides) -> dict:
        """The tiling constants (the source's values, or ``overrides``) plus the derived ones.

        Raises:
            ValueError: for an unknown name, or values that break the kernel's assumptions.
        """
        unknown = set(overrides) - set(self.tiles)
        if unknown:
            raise ValueError(f"kernel {self.name!r} has no constant {sorted(unknown)}; it has {sorted(self.tiles)}")
        c = {**self.tiles, **overrides}
        c.update(self.derive(c))
        self._check(c)
        threads = np.prod(self.block_of(c))
        if threads > 1024:
            raise ValueError(f"kernel {self.name!r} with {c}: {threads} threads per block, CUDA allows at most 1024")
        return c

    def _check(self, c: dict) -> None:
        def need(ok, why):
            if not ok:
                raise ValueError(f"kernel {self.name!r} with {c}: {why}")

        need(all(v > 0 for v in c.values()), "every constant must be positive")
        if "BM" in c:
            need(c["BM"] % c["TM"] == 0 and c["BN"] % c.get("TN", 1) == 0, "BM, BN must be multiples of TM, TN")
            need(c["BM"] * c["BN"] % (c["TM"] * c.get("TN", 1)) == 0, "the block tile must split into thread tiles")
        if self.vec4:
            need(c["BK"] % 4 == 0 and c["BN"] % 4 == 0 and c["TM"] % 4 == 0 and c["TN"] % 4 == 0,
                 "float4 accesses need BK, BN, TM and TN to be multiples of 4")
        if "WM" in c:
            need(c["BM"] % c["WM"] == 0 and c["BN"] % c["WN"] == 0, "the block tile must split into warp tiles")
            need(
                c["WMITER"] >= 1 and c["WMITER"] * c["WARPSIZE"] * c["TM"] * c["TN"] * c["WNITER"] == c["WM"] * c["WN"],
                "a warp tile must split exactly into WMITER x WNITER sub-tiles of 32 thread squares",
            )
            need(c["WSUBN"] % c["TN"] == 0 and (c["WSUBN"] // c["TN"]) * (c["WSUBM"] // c["TM"]) == c["WARPSIZE"],
                 "the 32 lanes of a warp must tile one WSUBM x WSUBN sub-tile")

    def block(self, **overrides) -> tuple[int, int, int]:
        """Threads per block, as ``(x, y, z)``."""
        return self.block_of(self.constants(**overrides))

    def grid(self, M: int, N: int, **overrides) -> tuple[int, int, int]:
        """Blocks in the grid for an ``M x N`` output, as ``(x, y, z)``."""
        return self.grid_of(self.constants(**overrides), M, N)

    def defines(self, **tiles) -> tuple[str, ...]:
        """The ``nvcc`` options that compile the source with these tiles (none for its own)."""
        if not tiles:
            return ()
        return tuple(f"-D{k}={v}" for k, v in self.constants(**tiles).items() if k in self.tiles)

    def launch(self, A, B, C, M: int, N: int, K: int, **tiles: int) -> None:
        """Launch on device buffers (no copies): ``C[M, N] = A[M, K] @ B[K, N]``, row-major float32.

        ``tiles`` compiles and launches another tiling (e.g. ``BK=8``) instead of the source's.
        """
        fn = function(self.file, self.entry, self.defines(**tiles))
        fn(A, B, C, np.int32(M), np.int32(N), np.int32(K), block=self.block(**tiles), grid=self.grid(M, N, **tiles))


def _tiled(rung, name, tiles, derive, vec4=False):
    return Kernel(
        rung, name, f"matmul_{rung}_{name}.cu", f"matmul_{name}", tiles,
        block_of=lambda c: (c["THREADS"], 1, 1),
        grid_of=lambda c, M, N: (cdiv(N, c["BN"]), cdiv(M, c["BM"]), 1),
        derive=derive, vec4=vec4,
    )


KERNELS: dict[str, Kernel] = {
    k.name: k
    for k in [
        # rung 1: x indexes rows, so the grid's x covers M
        Kernel(1, "naive", "matmul_1_naive.cu", "matmul_naive", {"BLOCK": 32}, _square_block,
               lambda c, M, N: (cdiv(M, c["BLOCK"]), cdiv(N, c["BLOCK"]), 1)),
        Kernel(2, "coalesced", "matmul_2_coalesced.cu", "matmul_coalesced", {"BLOCK": 32}, _square_block,
               lambda c, M, N: (cdiv(N, c["BLOCK"]), cdiv(M, c["BLOCK"]), 1)),
        Kernel(3, "smem", "matmul_3_smem.cu", "matmul_smem", {"TILE": 32}, _square_block,
               lambda c, M, N: (cdiv(N, c["TILE"]), cdiv(M, c["TILE"]), 1)),
        _tiled(4, "blocktile1d", {"BM": 64, "BN": 64, "BK": 8, "TM": 8}, _block_threads),
        _tiled(5, "blocktile2d", {"BM": 128, "BN": 128, "BK": 8, "TM": 8, "TN": 8}, _block_threads),
        _tiled(6, "vectorized", {"BM": 128, "BN": 128, "BK": 8, "TM": 8, "TN": 8}, _block_threads, vec4=True),
        _tiled(7, "warptiling", {"BM": 128, "BN": 128, "BK": 16, "WM": 64, "WN": 64, "WNITER": 4,
                                 "TM": 8, "TN": 4}, _warp_threads, vec4=True),
    ]
}


# Other tilings of rung 7 for scripts/bench_cuda.py to try (an "autotuned" rung): every one is
# compiled by the tests (no spills, fits an SM) and run on the CPU against numpy.
TUNING_CANDIDATES: list[dict] = [
    {},  # the source's own: BM=BN=128, BK=16, 64x64 warp tiles, 128 threads
    {"BK": 8},
    {"BK": 32},
    {"BM": 64, "BN": 128, "WM": 32, "WN": 64, "WNITER": 2},
    {"BM": 128, "BN": 64, "WM": 64, "WN": 32, "WNITER": 2},
    {"WM": 32, "WN": 64, "WNITER": 2},  # 8 warps, 64 results each
    {"WM": 64, "WN": 32, "WNITER": 2, "BK": 8},
]


def variants() -> list[tuple[Kernel, dict]]:
    """Every (kernel, tiling) that ``matmul`` and ``scripts/bench_cuda.py`` launch by default."""
    return [(k, {}) for k in KERNELS.values()] + [(KERNELS["warptiling"], t) for t in TUNING_CANDIDATES if t]


def get_kernel(name: str) -> Kernel:
    """The ``Kernel`` called ``name``.

    Raises:
        ValueError: if there is none (the message lists the names).
    """
    if name not in KERNELS:
        raise ValueError(f"unknown matmul kernel {name!r}; choose one of {', '.join(KERNELS)}")
    return KERNELS[name]


def prepare(A: ArrayLike, B: ArrayLike, kernel: Kernel) -> tuple[np.ndarray, np.ndarray, int]:
    """Check ``A @ B`` makes sense and lay the operands out as ``kernel`` needs them.

    Returns float32 C-contiguous copies. For float4 kernels, K and N are padded with zero
    columns/rows up to a multiple of 4 (the zeros add nothing to any dot product); the third
    value is the true N, to cut the padding off the result.

    Raises:
        ValueError: for arrays that are not 2-D, shapes that do not chain, an empty dimension,
            or sizes beyond the kernels' int32 indices.
    """
    A = np.asarray(A, dtype=np.float32)
    B = np.asarray(B, dtype=np.float32)
    if A.ndim != 2 or B.ndim != 2:
        raise ValueError(f"matmul takes two 2-D arrays, got shapes {A.shape} and {B.shape}")
    (M, K), (K2, N) = A.shape, B.shape
    if K != K2:
        raise ValueError(f"cannot multiply {M}x{K} by {K2}x{N}: A has {K} columns but B has {K2} rows")
    if 0 in (M, N, K):
        raise ValueError(f"matmul needs non-empty matrices, got {M}x{K} and {K2}x{N}")
    if kernel.vec4:
        Kp, Np = cdiv(K, 4) * 4, cdiv(N, 4) * 4
        A = np.pad(A, ((0, 0), (0, Kp - K)))
        B = np.pad(B, ((0, Kp - K), (0, Np - N)))
    if max(A.size, B.size, A.shape[0] * B.shape[1]) >= INDEX_LIMIT:
        raise ValueError(f"{M}x{K} @ {K}x{N} is too large for the kernels' int32 indices")
    return np.ascontiguousarray(A), np.ascontiguousarray(B), N


def matmul(A: ArrayLike, B: ArrayLike, kernel: str = "warptiling", **tiles: int) -> np.ndarray:
    """``A @ B`` in float32 with one kernel of the ladder.

    Args:
        A: an ``M x K`` array-like.
        B: a ``K x N`` array-like.
        kernel: a name in ``KERNELS``: ``naive``, ``coalesced``, ``smem``, ``blocktile1d``,
            ``blocktile2d``, ``vectorized`` or ``warptiling`` (the default, the fastest).
        **tiles: another tiling for the kernel (e.g. ``BK=8``); by default its source's.

    Returns:
        The ``M x N`` float32 product.

    Raises:
        ValueError: for an unknown kernel or shapes that do not multiply.
        GPUUnavailableError: if there is no pycuda, no NVIDIA driver or no CUDA device.
    """
    spec = get_kernel(kernel)
    spec.constants(**tiles)  # bad tiles are refused before anything else
    A, B, n = prepare(A, B, spec)
    drv = driver()
    (M, K), N = A.shape, B.shape[1]
    C = np.empty((M, N), dtype=np.float32)
    spec.launch(drv.In(A), drv.In(B), drv.Out(C), M, N, K, **tiles)
    return C[:, :n].copy() if n != N else C
