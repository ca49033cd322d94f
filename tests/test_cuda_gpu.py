"""zh.cuda on a real GPU: every kernel against numpy in float64. Skipped (with the reason) without one.

Run on a GPU machine with scripts/gpu_run.sh (``pytest --noconftest -m gpu tests/test_cuda_gpu.py``).
"""

import numpy as np
import pytest

from cuda_cases import SHAPES, SMALL_SHAPES, VECTOR_SIZES
from zh.cuda.cpu import SMALL_TILES
from zh.cuda.matmul import KERNELS, matmul, prepare
from zh.cuda.runtime import GPUUnavailableError, driver
from zh.cuda.vector_add import launch, vector_add

pytestmark = pytest.mark.gpu
# the CPU tests' cases (tests/cuda_cases.py), then sizes only a GPU runs in a blink
CASES = [({}, shape) for shape in SHAPES] + [("small", shape) for shape in SMALL_SHAPES] + [
    ({}, (s, s, s)) for s in [1000, 1025, 4096]
]


@pytest.fixture(scope="module")
def drv():
    try:
        return driver()
    except GPUUnavailableError as exc:
        pytest.skip(f"no GPU here: {exc}")


@pytest.fixture(scope="module")
def operands():
    """(M, N, K) -> (A, B, A @ B in float64), made once per shape."""
    rng = np.random.default_rng(0)
    out = {}
    for M, N, K in {shape for _, shape in CASES}:
        A = rng.standard_normal((M, K), dtype=np.float32)
        B = rng.standard_normal((K, N), dtype=np.float32)
        out[M, N, K] = (A, B, A.astype(np.float64) @ B.astype(np.float64))
    return out


def _close(C, ref, K):
    # Standard-normal inputs: entries of C are about sqrt(K) in size, and float32 rounding over K
    # terms stays far below K * sqrt(K) * 2e-6; a wrong index is off by about sqrt(K).
    np.testing.assert_allclose(C, ref, rtol=0, atol=2e-6 * K**1.5 + 1e-6)


@pytest.mark.parametrize("n", VECTOR_SIZES + [1025, 2**20 + 3])
def test_vector_add(drv, n):
    rng = np.random.default_rng(n)
    a, b = rng.standard_normal(n, dtype=np.float32), rng.standard_normal(n, dtype=np.float32)
    c = drv.to_device(np.full(n, np.nan, np.float32))  # poisoned: an unwritten element stays NaN
    launch(drv.In(a), drv.In(b), c, n)
    out = drv.from_device(c, (n,), np.float32)
    np.testing.assert_array_equal(out, a + b)
    np.testing.assert_array_equal(vector_add(a, b), a + b)


@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{'small' if c[0] else 'own'}-{'x'.join(map(str, c[1]))}")
def test_matmul_kernel(drv, operands, kernel, case):
    tiles, shape = case
    tiles = SMALL_TILES[kernel] if tiles == "small" else tiles
    A, B, ref = operands[shape]
    spec = KERNELS[kernel]
    Ap, Bp, n = prepare(A, B, spec)
    (M, K), N = Ap.shape, Bp.shape[1]
    dC = drv.to_device(np.full((M, N), np.nan, np.float32))
    spec.launch(drv.In(Ap), drv.In(Bp), dC, M, N, K, **tiles)
    C = drv.from_device(dC, (M, N), np.float32)[:, :n]
    assert not np.isnan(C).any(), f"{kernel} left {np.isnan(C).sum()} elements unwritten at {shape}"
    _close(C, ref, shape[2])


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_matmul_api_rectangular(drv, kernel):
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((31, 1025)), rng.standard_normal((1025, 130))
    _close(matmul(A, B, kernel=kernel), A @ B, 1025)
