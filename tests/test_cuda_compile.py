"""Every kernel compiles with nvcc for sm_90 exactly as pycuda compiles it, and fits the hardware.

pycuda's SourceModule wraps the source in ``extern "C" { ... }`` and runs ``nvcc --cubin
-arch sm_XY``; we do the same with ``-Xptxas -v`` and read ptxas' report: the entry names, the
registers, shared memory and spills of every kernel.
"""

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from zh.cuda.cpu import SMALL_TILES
from zh.cuda.matmul import KERNELS, variants
from zh.cuda import runtime
from zh.cuda.runtime import KERNELS_DIR, compile_cubin, source

NVCC = shutil.which("nvcc") or next((p for p in ["/usr/local/cuda/bin/nvcc"] if Path(p).exists()), None)
ARCH = "sm_90"
STATIC_SMEM_LIMIT = 48 * 1024  # bytes of static __shared__ memory one block may declare
REGISTER_FILE = 64 * 1024  # 32-bit registers per SM on sm_90
# What gets compiled: (file, nvcc -D options, entry the launcher asks for, threads per block it
# launches). Each kernel's own tiling, the small tilings the CPU tests run, and the tuning candidates.
JOBS = [("vector_add.cu", (), "vector_add", 256)] + [
    (k.file, k.defines(**tiles), k.entry, int(np.prod(k.block(**tiles))))
    for k, tiles in variants() + [(k, SMALL_TILES[k.name]) for k in KERNELS.values()]
]

pytestmark = [pytest.mark.skipif(NVCC is None, reason="nvcc (the CUDA toolkit) is not installed"), pytest.mark.slow]


def _compile(job, tmp: Path) -> subprocess.CompletedProcess:
    return compile_cubin(job[0], tmp, job[1], arch=ARCH, nvcc=NVCC)


@pytest.fixture(scope="module")
def ptxas(tmp_path_factory):
    """job -> the compiler's result, all jobs compiled in parallel."""
    tmp = tmp_path_factory.mktemp("nvcc")
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(JOBS, pool.map(lambda job: _compile(job, tmp), JOBS)))


def _report(output: str) -> dict[str, dict]:
    """ptxas -v output -> {entry: {"registers", "smem", "spill_stores", "spill_loads"}}."""
    out = {}
    for block in re.split(r"(?=ptxas info\s*: Compiling entry function)", output)[1:]:
        entry = re.search(r"Compiling entry function '(\w+)'", block)[1]
        spills = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", block)
        smem = re.search(r"(\d+) bytes smem", block)
        out[entry] = {
            "registers": int(re.search(r"Used (\d+) registers", block)[1]),
            "smem": int(smem[1]) if smem else 0,
            "spill_stores": int(spills[1]),
            "spill_loads": int(spills[2]),
        }
    return out


def test_wrapped_like_pycuda():
    wrapped = runtime.wrapped_source("vector_add.cu")
    assert wrapped.startswith('extern "C" {\n') and wrapped.endswith("\n}\n") and source("vector_add.cu") in wrapped


def test_every_kernel_file_is_launched_by_someone():
    assert sorted({job[0] for job in JOBS}) == sorted(p.name for p in KERNELS_DIR.glob("*.cu"))


@pytest.mark.parametrize("job", JOBS, ids=lambda job: f"{job[0]}{''.join(job[1])}")
def test_compiles_without_spills_within_limits(ptxas, job):
    result = ptxas[job]
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr.lower(), result.stderr  # e.g. a -D that redefines a macro
    _, _, entry, threads = job
    report = _report(result.stdout + result.stderr)
    assert list(report) == [entry], f"{job[0]} defines {list(report)}, the launcher asks for {entry!r}"
    r = report[entry]
    assert r["spill_stores"] == 0 and r["spill_loads"] == 0, r
    assert r["smem"] <= STATIC_SMEM_LIMIT, r
    assert r["registers"] * threads <= REGISTER_FILE, (
        f"{threads} threads x {r['registers']} registers do not fit one SM"
    )
