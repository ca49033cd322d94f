"""The kernels' index arithmetic, run thread by thread on the CPU (zh.cuda.emulate).

The mirrors in zh.cuda.emulate use the constants the launcher uses, and the launcher's
constants are the #define values of each .cu file (checked here by parsing the source).
"""

import inspect
import re

import numpy as np
import pytest

from zh.cuda import emulate
from zh.cuda.emulate import SMALL_TILES as SMALL
from zh.cuda.matmul import KERNELS, TUNING_CANDIDATES
from zh.cuda.runtime import source

# (M, N, K): single element, below one tile, exact tiles, and ragged edges in every dimension
SHAPES = [(1, 1, 1), (3, 5, 2), (8, 8, 8), (9, 13, 7), (17, 6, 11), (20, 70, 5)]


def _defines(filename: str) -> dict[str, int]:
    """The #define constants of a .cu file, evaluated in order with C's integer division."""
    values: dict[str, int] = {}
    for name, expr in re.findall(r"^#define (\w+) (.+)$", source(filename), re.M):
        values[name] = eval(expr.replace("/", "//"), {}, dict(values))
    return values


def _check(A, B, kernel, **tiles):
    C, mem = emulate.matmul(A, B, kernel, **tiles)
    np.testing.assert_allclose(C, A.astype(np.float64) @ B.astype(np.float64), rtol=1e-5, atol=1e-5)
    # every element of the (padded) output written by exactly one thread, nothing else in C
    assert (mem["C"].writes == 1).all(), np.unique(mem["C"].writes)


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_source_constants_are_the_launchers(kernel):
    spec = KERNELS[kernel]
    assert _defines(spec.file) == spec.constants()
    assert "__global__ void" in source(spec.file) and re.search(rf"\b{spec.entry}\(", source(spec.file))


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_mirror_takes_exactly_the_kernels_constants(kernel):
    params = list(inspect.signature(emulate.MIRRORS[kernel]).parameters)
    assert params[:7] == ["t", "A", "B", "C", "M", "N", "K"]
    assert sorted(params[7:]) == sorted(KERNELS[kernel].constants())


@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize("shape", SHAPES)
def test_small_tiles_any_shape(kernel, shape):
    M, N, K = shape
    rng = np.random.default_rng(M * 100 + N * 10 + K)
    _check(rng.standard_normal((M, K)), rng.standard_normal((K, N)), kernel, **SMALL[kernel])


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_source_tiling_ragged_shape(kernel):
    """The real tile sizes, on a shape no tile divides (one partial block per dimension or two)."""
    rng = np.random.default_rng(0)
    _check(rng.standard_normal((33, 18)), rng.standard_normal((18, 21)), kernel)


@pytest.mark.parametrize("tiles", TUNING_CANDIDATES, ids=str)
def test_tuning_candidates(tiles):
    rng = np.random.default_rng(1)
    _check(rng.standard_normal((33, 18)), rng.standard_normal((18, 21)), "warptiling", **tiles)


def test_vector_add_mirror():
    from zh.cuda.vector_add import BLOCK, grid

    for n in [1, 31, 256, 1000]:
        a, b = np.arange(n, dtype=np.float32), np.ones(n, dtype=np.float32)
        c = emulate.Memory(np.full(n, np.nan, np.float32), "c")
        emulate.launch(emulate.vector_add, grid(n), (BLOCK, 1, 1), emulate.Memory(a, "a"), emulate.Memory(b, "b"), c, n)
        assert np.array_equal(c.data, a + b) and (c.writes == 1).all()


# --- the emulator catches what would be bugs on a GPU -------------------------------------------


def _run(kernel, n=8, block=(4, 1, 1)):
    mem = emulate.Memory(np.zeros(n, np.float32), "x")
    emulate.launch(kernel, (n // block[0], 1, 1), block, mem)
    return mem


def test_out_of_bounds_read_is_caught():
    def missing_bounds_check(t, x):
        i = t.blockIdx.x * t.blockDim.x + t.threadIdx.x
        x[i + 1] = 1.0  # the last thread writes past the end

    with pytest.raises(IndexError, match="out of bounds"):
        _run(missing_bounds_check)


def test_negative_index_is_caught_not_wrapped():
    with pytest.raises(IndexError, match="out of bounds"):
        _run(lambda t, x: x.__setitem__(t.threadIdx.x - 1, 0.0))


def test_missing_barrier_is_a_race():
    def no_sync(t, x):
        s = t.shared("s", 1, 4)
        s[0, t.threadIdx.x] = 1.0
        x[t.threadIdx.x] = s[0, (t.threadIdx.x + 1) % 4]  # a neighbour's element, no barrier between
        yield

    with pytest.raises(RuntimeError, match="race"):
        _run(no_sync, n=4)


def test_with_the_barrier_it_is_not_a_race():
    def synced(t, x):
        s = t.shared("s", 1, 4)
        s[0, t.threadIdx.x] = t.threadIdx.x
        yield  # __syncthreads()
        x[t.threadIdx.x] = s[0, (t.threadIdx.x + 1) % 4]

    assert _run(synced, n=4).data.tolist() == [1, 2, 3, 0]


def test_barrier_in_divergent_code_is_caught():
    def divergent(t, x):
        if t.threadIdx.x < 2:
            yield

    with pytest.raises(RuntimeError, match="reached __syncthreads"):
        _run(divergent, n=4)


def test_misaligned_float4_is_caught():
    with pytest.raises(IndexError, match="misaligned"):
        _run(lambda t, x: x.load4(2), n=8)


def test_bad_tiling_is_refused():
    with pytest.raises(ValueError, match="multiples of 4"):
        KERNELS["vectorized"].constants(TM=2)
    with pytest.raises(ValueError, match="has no constant"):
        KERNELS["naive"].constants(TILE=8)
    with pytest.raises(ValueError, match="at most 1024"):
        KERNELS["smem"].constants(TILE=64)


def _statements_of_cuda(filename: str) -> set[str]:
    """Each ``name = expression`` of a kernel, declarations split (``const int r = .., c = ..``)."""
    text = re.sub(r"//.*", "", source(filename)).replace("const int ", "").replace("\n", " ")
    text = re.sub(r",\s*(\w+) = ", r"; \1 = ", text)
    return {" ".join(s.split()) for s in re.split(r"[;{}]", text) if " = " in s}


def _index_statements_of_mirror(fn) -> list[str]:
    """The mirror's index arithmetic (assignments using thread/block indices, ``//`` or ``%``),
    rewritten in C syntax: ``t.`` dropped, ``//`` as ``/``, tuple assignments split."""
    out = []
    for line in inspect.getsource(fn).splitlines():
        m = re.fullmatch(r"\s*([\w, ]+) = (.+)", line)
        if not m or not re.search(r"Idx|tid|lane|warp|//|%", m[2]) or "range" in m[2] or "[" in m[2]:
            continue
        names = [n.strip() for n in m[1].split(",")]
        exprs = [e.strip() for e in m[2].split(", ")] if len(names) > 1 else [m[2]]
        for name, expr in zip(names, exprs):
            out.append(f"{name} = {expr.replace('t.', '').replace('//', '/')}")
    return out


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_mirror_index_arithmetic_is_the_kernels(kernel):
    """Every index computation of the mirror appears, character for character, in the .cu file."""
    cuda = _statements_of_cuda(KERNELS[kernel].file)
    mirror = _index_statements_of_mirror(emulate.MIRRORS[kernel])
    if kernel in ("blocktile1d", "blocktile2d"):
        mirror += _index_statements_of_mirror(emulate._load_tiles)
    if kernel in ("vectorized", "warptiling"):
        mirror += _index_statements_of_mirror(emulate._load_tiles4)
    assert len(mirror) >= 2
    missing = [s for s in mirror if s not in cuda]
    assert not missing, f"{kernel}: the mirror computes {missing}, the kernel does not"
