"""zh.cuda on a real GPU: every kernel against numpy in float64. Skipped (with the reason) without one.

Run on a GPU machine with scripts/gpu_run.sh (``pytest --noconftest -m gpu tests/test_cuda_gpu.py``).
"""

import numpy as np
import pytest

from zh.cuda.matmul import KERNELS, matmul, prepare
from zh.cuda.runtime import GPUUnavailableError, driver
from zh.cuda.vector_add import launch, vector_add

pytestmark = pytest.mark.gpu
SIZES = [1, 31, 1000, 1025, 4096]


@pytest.fixture(scope="module")
def drv():
    try:
        return driver()
    except GPUUnavailableError as exc:
        pytest.skip(f"no GPU here: {exc}")


@pytest.fixture(scope="module")
def operands():
    """size -> (A, B, A @ B in float64), made once per size."""
    rng = np.random.default_rng(0)
    out = {}
    for s in SIZES:
        A = rng.standard_normal((s, s), dtype=np.float32)
        B = rng.standard_normal((s, s), dtype=np.float32)
        out[s] = (A, B, A.astype(np.float64) @ B.astype(np.float64))
    return out


def _close(C, ref, K):
    # Standard-normal inputs: entries of C are about sqrt(K) in size, and float32 rounding over K
    # terms stays far below K * sqrt(K) * 2e-6; a wrong index is off by about sqrt(K).
    np.testing.assert_allclose(C, ref, rtol=0, atol=2e-6 * K**1.5 + 1e-6)


@pytest.mark.parametrize("n", [1, 31, 1000, 1025, 2**20 + 3])
def test_vector_add(drv, n):
    rng = np.random.default_rng(n)
    a, b = rng.standard_normal(n, dtype=np.float32), rng.standard_normal(n, dtype=np.float32)
    c = drv.to_device(np.full(n, np.nan, np.float32))  # poisoned: an unwritten element stays NaN
    launch(drv.In(a), drv.In(b), c, n)
    out = drv.from_device(c, (n,), np.float32)
    np.testing.assert_array_equal(out, a + b)
    np.testing.assert_array_equal(vector_add(a, b), a + b)


@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize("size", SIZES)
def test_matmul_kernel(drv, operands, kernel, size):
    A, B, ref = operands[size]
    spec = KERNELS[kernel]
    Ap, Bp, n = prepare(A, B, spec)
    (M, K), N = Ap.shape, Bp.shape[1]
    dC = drv.to_device(np.full((M, N), np.nan, np.float32))
    spec.launch(drv.In(Ap), drv.In(Bp), dC, M, N, K)
    C = drv.from_device(dC, (M, N), np.float32)[:, :n]
    assert not np.isnan(C).any(), f"{kernel} left {np.isnan(C).sum()} elements unwritten at {size}"
    _close(C, ref, size)


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_matmul_api_rectangular(drv, kernel):
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((31, 1025)), rng.standard_normal((1025, 130))
    _close(matmul(A, B, kernel=kernel), A @ B, 1025)
