"""Vector addition on the GPU: the smallest complete CUDA program.

Page: [CUDA / vector add](../cuda/vector_add.md). The kernel is ``kernels/vector_add.cu``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from zh.cuda.runtime import driver, function

BLOCK = 256  # threads per block: a multiple of the 32-thread warp


def grid(n: int) -> tuple[int, int, int]:
    """How many blocks cover ``n`` elements: enough for one thread each, rounded up."""
    return ((n + BLOCK - 1) // BLOCK, 1, 1)


def launch(a, b, c, n: int) -> None:
    """Launch the kernel on device buffers ``a``, ``b``, ``c`` of ``n`` float32 each (no copies)."""
    function("vector_add.cu", "vector_add")(a, b, c, np.int32(n), block=(BLOCK, 1, 1), grid=grid(n))


def vector_add(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """``a + b`` computed by the CUDA kernel, for two 1-D arrays of the same length.

    The inputs are copied to the GPU as float32 and the sum copied back.

    Args:
        a: 1-D array-like of numbers.
        b: 1-D array-like of numbers, the same length as ``a``.

    Returns:
        A float32 numpy array.

    Raises:
        ValueError: if the inputs are not 1-D, differ in length, or are too long for int32 indices.
        GPUUnavailableError: if there is no pycuda, no NVIDIA driver or no CUDA device.
    """
    a = np.ascontiguousarray(a, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"vector_add takes 1-D arrays, got shapes {a.shape} and {b.shape}")
    if a.shape != b.shape:
        raise ValueError(f"vector_add needs arrays of the same length, got {a.size} and {b.size}")
    if a.size >= 2**31:
        raise ValueError(f"{a.size} elements do not fit the kernel's int32 index (at most {2**31 - 1})")
    drv = driver()
    c = np.empty_like(a)
    if a.size == 0:
        return c
    launch(drv.In(a), drv.In(b), drv.Out(c), a.size)
    return c
