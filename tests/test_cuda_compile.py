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

import pytest

from zh.cuda.matmul import KERNELS
from zh.cuda.runtime import KERNELS_DIR, source

NVCC = shutil.which("nvcc") or next((p for p in ["/usr/local/cuda/bin/nvcc"] if Path(p).exists()), None)
ARCH = "sm_90"
STATIC_SMEM_LIMIT = 48 * 1024  # bytes of static __shared__ memory one block may declare
REGISTER_FILE = 64 * 1024  # 32-bit registers per SM on sm_90
# file -> (entry the launcher asks for, threads per block it launches)
LAUNCHED = {"vector_add.cu": ("vector_add", 256)} | {
    k.file: (k.entry, k.block()[0] * k.block()[1] * k.block()[2]) for k in KERNELS.values()
}

pytestmark = pytest.mark.skipif(NVCC is None, reason="nvcc (the CUDA toolkit) is not installed")


def _compile(path: Path, tmp: Path) -> subprocess.CompletedProcess:
    wrapped = tmp / path.name
    wrapped.write_text('extern "C" {\n%s\n}\n' % source(path.name))  # as pycuda.compiler.compile does
    cmd = [NVCC, "--cubin", f"-arch={ARCH}", "-Xptxas", "-v", "-o", str(wrapped.with_suffix(".cubin")), str(wrapped)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def ptxas(tmp_path_factory):
    """file name -> the compiler's result, all files compiled in parallel."""
    tmp = tmp_path_factory.mktemp("nvcc")
    files = sorted(KERNELS_DIR.glob("*.cu"))
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip((f.name for f in files), pool.map(lambda f: _compile(f, tmp), files)))


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


def test_every_kernel_file_is_launched_by_someone():
    assert sorted(LAUNCHED) == sorted(p.name for p in KERNELS_DIR.glob("*.cu"))


@pytest.mark.parametrize("filename", sorted(LAUNCHED))
def test_compiles_without_spills_within_limits(ptxas, filename):
    result = ptxas[filename]
    assert result.returncode == 0, result.stderr
    entry, threads = LAUNCHED[filename]
    report = _report(result.stdout + result.stderr)
    assert list(report) == [entry], f"{filename} defines {list(report)}, the launcher asks for {entry!r}"
    r = report[entry]
    assert r["spill_stores"] == 0 and r["spill_loads"] == 0, r
    assert r["smem"] <= STATIC_SMEM_LIMIT, r
    assert r["registers"] * threads <= REGISTER_FILE, f"{threads} threads x {r['registers']} registers do not fit one SM"
