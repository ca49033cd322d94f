"""The kernels' own CUDA source, compiled with g++ and run on the CPU (zh.cuda.cpu).

Three checks, each run on every kernel:
- ``numbers``: the trace build against NumPy in float64, output poisoned with NaN, every output
  element written exactly once, the inputs never written;
- ``asan``: AddressSanitizer + UBSan (out-of-bounds accesses, misaligned float4);
- ``tsan``: ThreadSanitizer (a race on shared memory, e.g. a missing ``__syncthreads()``).

The mutation test proves the checks can fail: each mutation of a kernel's source must be caught
by the check it names, for the reason it names.
"""

import re
import shutil

import numpy as np
import pytest

from cuda_cases import SANITIZER_SHAPE, SHAPES, SMALL_SHAPES, VECTOR_SIZES
from zh.cuda import cpu
from zh.cuda.cpu import SMALL_TILES
from zh.cuda.matmul import KERNELS, TUNING_CANDIDATES, prepare
from zh.cuda.runtime import source
from zh.cuda.vector_add import BLOCK, grid

pytestmark = [pytest.mark.skipif(shutil.which("g++") is None, reason="g++ is needed to run the kernels on the CPU"),
              pytest.mark.slow]  # its builds


def _defines(filename: str) -> dict[str, int]:
    """The #define constants of a .cu file, evaluated in order with C's integer division."""
    values: dict[str, int] = {}
    for name, expr in re.findall(r"^#define (\w+) (.+)$", source(filename), re.M):
        values[name] = eval(expr.replace("/", "//"), {}, dict(values))
    return values


def _operands(M, N, K):
    rng = np.random.default_rng(M * 10_000 + N * 100 + K)
    return rng.standard_normal((M, K)), rng.standard_normal((K, N))


def check_numbers(kernel: str, src: str | None = None, cases=None) -> None:
    """The trace build of ``kernel`` (or of ``src``) on every case ``(tiles, (M, N, K))``."""
    for tiles, (M, N, K) in cases or [({}, s) for s in SHAPES] + [(SMALL_TILES[kernel], s) for s in SMALL_SHAPES]:
        A, B = _operands(M, N, K)
        C, seen = cpu.matmul(A, B, kernel, source=src, **tiles)
        # float32 rounding over K terms of size ~1 stays far below 1e-5 * K; a wrong index is off by ~1
        np.testing.assert_allclose(C, A @ B, rtol=0, atol=1e-5 * K + 1e-6, err_msg=f"{kernel} {tiles} {M}x{N}x{K}")
        assert (seen.writes["C"] == 1).all(), f"{kernel} {tiles} {M}x{N}x{K}: writes {np.unique(seen.writes['C'])}"
        assert not seen.writes["A"].any() and not seen.writes["B"].any()


def check_sanitizer(flavor: str, kernel: str, src: str | None = None) -> None:
    """``kernel`` (or ``src``) under a sanitizer with its small tiling; the ASan build also with its own."""
    spec = KERNELS[kernel]
    for tiles in [SMALL_TILES[kernel]] + ([{}] if flavor == "asan" else []):
        c = spec.constants(**tiles)
        M, N, K = SANITIZER_SHAPE
        A, B = _operands(M, N, K)
        Ap, Bp, n = prepare(A, B, spec)
        (M, K), N = Ap.shape, Bp.shape[1]
        arrays = [Ap, Bp, np.full((M, N), np.nan, np.float32)]
        C = cpu.sanitize(flavor, src or source(spec.file), spec.entry, spec.defines(**tiles), arrays, [M, N, K],
                         spec.grid_of(c, M, N), spec.block_of(c))
        np.testing.assert_allclose(C[:, :n], A @ B, rtol=0, atol=1e-4)


def check_vector_add(flavor: str, src: str | None = None) -> None:
    """vector_add.cu (or ``src``) at every size: values, each element written once (trace), or under a sanitizer."""
    src = src or source("vector_add.cu")
    for n in VECTOR_SIZES if flavor == "numbers" else [300]:
        rng = np.random.default_rng(n)
        a, b = rng.standard_normal(n, dtype=np.float32), rng.standard_normal(n, dtype=np.float32)
        c = np.full(n, np.nan, np.float32)
        if flavor == "numbers":
            fn = cpu.function("vector_add.cu", "vector_add", source=src)
            seen = fn(a, b, c, n, block=(BLOCK, 1, 1), grid=grid(n))
            assert (seen.writes["c"] == 1).all(), f"writes {np.unique(seen.writes['c'])}"
        else:
            c = cpu.sanitize(flavor, src, "vector_add", (), [a, b, c], [n], grid(n), (BLOCK, 1, 1))
        np.testing.assert_array_equal(c, a + b)


def check(flavor: str, kernel: str, src: str | None = None) -> None:
    """One of the three checks on one kernel (``"vector_add"`` or a matmul kernel)."""
    if kernel == "vector_add":
        check_vector_add(flavor, src)
    elif flavor == "numbers":
        check_numbers(kernel, src)
    else:
        check_sanitizer(flavor, kernel, src)


FLAVORS = ["numbers", "asan", "tsan"]
ALL = ["vector_add", *KERNELS]


@pytest.fixture(scope="module", autouse=True)
def builds():
    """Every build these tests run, compiled up front, in parallel."""
    jobs = [(source("vector_add.cu"), (), f) for f in ("trace", "asan", "tsan")]
    for k in KERNELS.values():
        tilings = [{}, SMALL_TILES[k.name]] + ([t for t in TUNING_CANDIDATES if t] if k.name == "warptiling" else [])
        jobs += [(source(k.file), k.defines(**t), "trace") for t in tilings]
        jobs += [(source(k.file), k.defines(**t), "asan") for t in [{}, SMALL_TILES[k.name]]]
        jobs += [(source(k.file), k.defines(**SMALL_TILES[k.name]), "tsan")]
    cpu.build_all(jobs)


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_source_constants_are_the_launchers(kernel):
    spec = KERNELS[kernel]
    assert _defines(spec.file) == spec.constants()
    assert "__global__ void" in source(spec.file) and re.search(rf"\b{spec.entry}\(", source(spec.file))


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("kernel", ALL)
def test_kernel(kernel, flavor):
    check(flavor, kernel)


@pytest.mark.parametrize("tiles", [t for t in TUNING_CANDIDATES if t], ids=str)
def test_tuning_candidates(tiles):
    check_numbers("warptiling", cases=[(tiles, (33, 21, 18)), (tiles, (130, 100, 64))])


STALE = """
__global__ void stale(const float *a, const float *b, float *c, int n)
{
    __shared__ float s[4];
    if (blockIdx.x == 0)
        s[threadIdx.x] = a[threadIdx.x];
    __syncthreads();
    c[blockIdx.x * 4 + threadIdx.x] = s[threadIdx.x];  // block 1 reads what it never wrote
}
"""


def test_shared_memory_starts_each_block_as_nan():
    a, c = np.arange(4, dtype=np.float32), np.zeros(8, np.float32)
    seen = cpu.function("stale.cu", "stale", source=STALE)(a, a, c, 8, block=(4, 1, 1), grid=(2, 1, 1))
    assert c[:4].tolist() == [0, 1, 2, 3] and np.isnan(c[4:]).all()
    assert seen.shapes["s"] == (4,) and seen.writes["s"].tolist() == [1] * 4 and seen.reads["s"].tolist() == [2] * 4


DIVERGENT = """
__global__ void divergent(const float *a, const float *b, float *c, int n)
{
    if (threadIdx.x < 2)
        __syncthreads();
    c[threadIdx.x] = a[threadIdx.x];
}
"""


@pytest.mark.parametrize("flavor", ["trace", "tsan"])
def test_barrier_that_only_some_threads_reach(flavor):
    a, c = np.ones(4, np.float32), np.zeros(4, np.float32)
    with pytest.raises(cpu.KernelError, match=r"2 of 4 threads reached __syncthreads\(\)"):
        if flavor == "trace":
            cpu.function("divergent.cu", "divergent", source=DIVERGENT)(a, a, c, 4, block=(4, 1, 1), grid=(1, 1, 1))
        else:
            cpu.sanitize(flavor, DIVERGENT, "divergent", (), [a, a, c], [4], (1, 1, 1), (4, 1, 1))


def test_bad_tiling_is_refused():
    with pytest.raises(ValueError, match="multiples of 4"):
        KERNELS["vectorized"].constants(TM=2)
    with pytest.raises(ValueError, match="has no constant"):
        KERNELS["naive"].constants(TILE=8)
    with pytest.raises(ValueError, match="at most 1024"):
        KERNELS["smem"].constants(TILE=64)


# --- mutation test: the checks above catch real mistakes in the real source -------------------------

RACE, OUT_OF_BOUNDS, MISALIGNED = "ThreadSanitizer: data race", "AddressSanitizer: heap-buffer-overflow", "misaligned"
WRONG = "(Not equal|Mismatched elements|writes)"  # what a failed numbers check says
# (kernel, what the mutation does, the text replaced, its replacement, which occurrence, caught by, because)
MUTATIONS = [
    ("vector_add", "bound off by one", "if (i < n)", "if (i <= n)", 1, "asan", OUT_OF_BOUNDS),
    ("vector_add", "wrong block offset", "blockIdx.x * blockDim.x", "blockIdx.x * gridDim.x", 1, "numbers", WRONG),
    ("vector_add", "wrong index", "a[i] + b[i];", "a[i] + b[i / 2];", 1, "numbers", WRONG),
    ("naive", "B's index swapped", "B[k * N + col]", "B[k * N + row]", 1, "numbers", WRONG),
    ("naive", "thread index swapped", "BLOCK + threadIdx.x", "BLOCK + threadIdx.y", 1, "numbers", WRONG),
    ("naive", "bound off by one", "row < M", "row <= M", 1, "asan", OUT_OF_BOUNDS),
    ("naive", "wrong tile offset", "blockIdx.y * BLOCK", "blockIdx.x * BLOCK", 1, "numbers", WRONG),
    ("coalesced", "A's index swapped", "A[row * K + k]", "A[col * K + k]", 1, "numbers", WRONG),
    ("coalesced", "thread index swapped", "BLOCK + threadIdx.x", "BLOCK + threadIdx.y", 1, "numbers", WRONG),
    ("coalesced", "bound off by one", "col < N", "col <= N", 1, "asan", OUT_OF_BOUNDS),
    ("coalesced", "loop bound off by one", "k < K", "k <= K", 1, "numbers", WRONG),
    ("smem", "Bs's index swapped", "Bs[k][tx]", "Bs[tx][k]", 1, "numbers", WRONG),
    ("smem", "first __syncthreads() dropped", "__syncthreads();", "", 1, "tsan", RACE),
    ("smem", "second __syncthreads() dropped", "__syncthreads();", "", 2, "tsan", RACE),
    ("smem", "bound off by one", "k0 + tx < K", "k0 + tx <= K", 1, "asan", OUT_OF_BOUNDS),
    ("smem", "wrong tile offset", "A[row * K + k0 + tx]", "A[row * K + tx]", 1, "numbers", WRONG),
    ("blocktile1d", "As's index swapped", "As[trow + m][k]", "As[k][trow + m]", 1, "numbers", WRONG),
    ("blocktile1d", "first __syncthreads() dropped", "__syncthreads();", "", 1, "tsan", RACE),
    ("blocktile1d", "second __syncthreads() dropped", "__syncthreads();", "", 2, "tsan", RACE),
    ("blocktile1d", "tile-load bound off by one", "i < BM * BK;", "i < BM * BK - 1;", 1, "numbers", WRONG),
    ("blocktile1d", "wrong tile offset", "trow = tid / BN * TM", "trow = tid / BN", 1, "numbers", WRONG),
    ("blocktile2d", "outer product's indices swapped", "a[m] * b[n]", "a[n] * b[m]", 1, "numbers", WRONG),
    ("blocktile2d", "first __syncthreads() dropped", "__syncthreads();", "", 1, "tsan", RACE),
    ("blocktile2d", "second __syncthreads() dropped", "__syncthreads();", "", 2, "tsan", RACE),
    ("blocktile2d", "bound off by one", "col0 + tcol + n < N", "col0 + tcol + n <= N", 1, "numbers", WRONG),
    ("blocktile2d", "wrong tile offset", "tcol = tid % (BN / TN) * TN", "tcol = tid % (BN / TN)", 1, "numbers", WRONG),
    ("vectorized", "misaligned float4 load", "K + k0 + c]", "K + k0 + c + 2]", 1, "asan", MISALIGNED),
    ("vectorized", "Bs's index swapped", "&Bs[k][tcol + n]", "&Bs[k][trow + n]", 1, "numbers", WRONG),
    ("vectorized", "first __syncthreads() dropped", "__syncthreads();", "", 1, "tsan", RACE),
    ("vectorized", "second __syncthreads() dropped", "__syncthreads();", "", 2, "tsan", RACE),
    ("vectorized", "bound off by one", "row0 + trow + m >= M", "row0 + trow + m > M", 1, "asan", OUT_OF_BOUNDS),
    ("vectorized", "wrong tile offset", "col0 = blockIdx.x * BN", "col0 = blockIdx.y * BN", 1, "numbers", WRONG),
    ("warptiling", "warp's row and column swapped", "wrow = warp / (BN / WN)", "wrow = warp % (BN / WN)", 1,
     "numbers", WRONG),
    ("warptiling", "first __syncthreads() dropped", "__syncthreads();", "", 1, "tsan", RACE),
    ("warptiling", "second __syncthreads() dropped", "__syncthreads();", "", 2, "tsan", RACE),
    ("warptiling", "loop bound off by one", "k < BK;", "k < BK - 1;", 1, "numbers", WRONG),
    ("warptiling", "wrong tile offset", "tcol = lane % (WSUBN / TN) * TN", "tcol = lane % (WSUBN / TN) * TM", 1,
     "numbers", WRONG),
    ("warptiling", "misaligned float4 store", "&C[row * N + col]", "&C[row * N + col + 1]", 1, "asan", MISALIGNED),
]


def mutate(kernel: str, old: str, new: str, occurrence: int) -> str:
    """The kernel's source with the ``occurrence``-th ``old`` replaced by ``new``."""
    text = source("vector_add.cu" if kernel == "vector_add" else KERNELS[kernel].file)
    parts = text.split(old)
    assert len(parts) > occurrence, f"{kernel}: {old!r} occurs {len(parts) - 1} times"
    return old.join(parts[:occurrence]) + new + old.join(parts[occurrence:])


@pytest.fixture(scope="module")
def mutant_builds():
    """Every mutant's builds, compiled up front, in parallel."""
    jobs = []
    for kernel, _, old, new, n, flavor, _ in MUTATIONS:
        src = mutate(kernel, old, new, n)
        if kernel == "vector_add":
            jobs.append((src, (), "trace" if flavor == "numbers" else flavor))
            continue
        # the tiling each check runs first (a mutant is usually caught there; any other is built when needed)
        first = {} if flavor == "numbers" else SMALL_TILES[kernel]
        jobs.append((src, KERNELS[kernel].defines(**first), "trace" if flavor == "numbers" else flavor))
    cpu.build_all(jobs)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: f"{m[0]}: {m[1]}")
def test_mutation_is_caught(mutant_builds, mutation):
    kernel, _, old, new, occurrence, flavor, because = mutation
    with pytest.raises((AssertionError, cpu.KernelError), match=because):
        check(flavor, kernel, mutate(kernel, old, new, occurrence))
