"""zh.cuda: CUDA kernels written in CUDA C, loaded with pycuda, and run on the CPU without a GPU.

Page: [CUDA](../cuda/index.md).

- ``zh.cuda.vector_add``: ``vector_add(a, b)``, one thread per element
- ``zh.cuda.matmul``: ``matmul(A, B, kernel=...)`` and ``KERNELS``, the seven rungs of the ladder
- ``zh.cuda.cpu``: the same kernels' source compiled with g++ and run on the CPU (and ``zh.cuda.cpu.pictures``)
- ``zh.cuda.report``: the roofline model and the benchmark's tables and plots
- ``zh.cuda.runtime``: finding the GPU; ``GPUUnavailableError`` when there is none

Importing any of these never imports pycuda: only calling a GPU function does.
"""

from zh.cuda.matmul import KERNELS, matmul
from zh.cuda.runtime import GPUUnavailableError
from zh.cuda.vector_add import vector_add

__all__ = ["KERNELS", "GPUUnavailableError", "matmul", "vector_add"]
