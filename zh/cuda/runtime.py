"""Finding a GPU, and loading the kernels of `zh/cuda/kernels/` onto it with pycuda.

Page: [CUDA](../cuda/index.md).

Nothing here imports pycuda until a GPU function is called, so ``import zh.cuda`` works on any
machine. When the call cannot work, it raises :class:`GPUUnavailableError` (a ``RuntimeError``)
saying which of the three things is missing: pycuda itself, the NVIDIA driver library
(``libcuda.so.1``) that pycuda loads, or a CUDA device.
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import subprocess
from pathlib import Path

KERNELS_DIR = Path(__file__).parent / "kernels"

HOW_TO_GET_A_GPU = (
    "To run zh.cuda on a GPU you need a machine with an NVIDIA GPU and its driver, and pycuda "
    "(`pip install 'zh[gpu]'`, or on an offline GPU machine the wheels and steps of "
    "scripts/gpu_run.sh). Without one, zh.cuda.cpu runs the same kernels' source on the CPU "
    "(compiled with g++)."
)


class GPUUnavailableError(RuntimeError):
    """A zh.cuda function needs a GPU and this machine cannot provide one (the message says why)."""


def source(filename: str) -> str:
    """The CUDA C source of a kernel file shipped in ``zh/cuda/kernels/``.

    Args:
        filename: e.g. ``"vector_add.cu"``.

    Raises:
        FileNotFoundError: if there is no such kernel file (the message lists the ones there are).
    """
    path = KERNELS_DIR / filename
    if not path.is_file():
        have = ", ".join(sorted(p.name for p in KERNELS_DIR.glob("*.cu")))
        raise FileNotFoundError(f"no kernel file {filename!r} in {KERNELS_DIR} (there are: {have})")
    return path.read_text()


def _import_driver():
    import pycuda.driver

    return pycuda.driver


@functools.cache
def driver():
    """pycuda's driver module, initialised, with the first device's primary context made current.

    The primary context is the one the CUDA runtime (cuBLAS, PyTorch) uses too, so device
    memory and events from pycuda can be mixed with theirs in one process.

    Raises:
        GPUUnavailableError: pycuda is missing, the driver library is missing, or no device.
    """
    try:
        drv = _import_driver()
    except ImportError as exc:
        if "libcuda" in str(exc):
            raise GPUUnavailableError(
                f"pycuda is installed, but the NVIDIA driver library it needs could not be loaded ({exc}). "
                "This machine has no NVIDIA driver (or it is not on the library path). " + HOW_TO_GET_A_GPU
            ) from exc
        raise GPUUnavailableError(f"pycuda could not be imported ({exc}). " + HOW_TO_GET_A_GPU) from exc
    try:
        drv.init()
        count = drv.Device.count()
    except drv.Error as exc:  # cuInit fails with CUDA_ERROR_NO_DEVICE when there is none
        raise GPUUnavailableError(
            f"pycuda and the NVIDIA driver are installed, but no CUDA device is available ({exc}). " + HOW_TO_GET_A_GPU
        ) from exc
    if count == 0:
        raise GPUUnavailableError(
            "pycuda and the NVIDIA driver are installed, but the driver reports 0 CUDA devices. " + HOW_TO_GET_A_GPU
        )
    context = drv.Device(0).retain_primary_context()
    context.push()
    atexit.register(context.pop)
    return drv


def wrapped_source(filename: str) -> str:
    """The source as pycuda's ``SourceModule`` hands it to nvcc: inside ``extern "C" { ... }``,
    so that each kernel keeps its C name instead of a C++-mangled one."""
    return 'extern "C" {\n%s\n}\n' % source(filename)


def cubin_name(filename: str, defines: tuple[str, ...] = ()) -> str:
    """The file name of a precompiled kernel: ``matmul_7_warptiling-DBK=8.cubin``."""
    return Path(filename).stem + re.sub(r"[^\w=-]", "_", "".join(defines)) + ".cubin"


def compile_cubin(filename: str, out_dir: Path, defines: tuple[str, ...] = (), arch: str = "sm_90",
                  nvcc: str = "nvcc") -> subprocess.CompletedProcess:
    """Compile a kernel file to ``out_dir/cubin_name(...)`` as pycuda would, with ptxas' report.

    Returns the finished ``nvcc`` process: its ``returncode``, and in ``stdout``/``stderr`` the
    ``-Xptxas -v`` lines giving each entry point's registers, shared memory and spills.
    """
    out_dir = Path(out_dir)
    cubin = out_dir / cubin_name(filename, defines)
    cu = cubin.with_suffix(".cu")
    cu.write_text(wrapped_source(filename))
    cmd = [nvcc, "--cubin", f"-arch={arch}", "-Xptxas", "-v", *defines, "-o", str(cubin), str(cu)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


@functools.cache
def function(filename: str, entry: str, defines: tuple[str, ...] = ()):
    """Compile a kernel file with pycuda's ``SourceModule`` (for this device) and return one kernel.

    If ``$ZH_CUBIN_DIR`` is set, the kernel is loaded from the cubin that
    ``scripts/build_cubins.py`` compiled there instead (for a GPU machine without ``nvcc``).

    Args:
        filename: the ``.cu`` file in ``zh/cuda/kernels/``.
        entry: the ``__global__`` function to fetch from it.
        defines: extra ``nvcc`` options such as ``("-DBK=8",)`` (compiled and cached separately).
    """
    drv = driver()
    if os.environ.get("ZH_CUBIN_DIR"):
        cubin = Path(os.environ["ZH_CUBIN_DIR"]) / cubin_name(filename, defines)
        if not cubin.is_file():
            raise FileNotFoundError(f"$ZH_CUBIN_DIR is set but has no {cubin.name}: run scripts/build_cubins.py")
        return drv.module_from_file(str(cubin)).get_function(entry)
    from pycuda.compiler import SourceModule

    return SourceModule(source(filename), options=list(defines) or None).get_function(entry)
