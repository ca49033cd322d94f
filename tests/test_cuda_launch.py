"""The launchers and the benchmark script end to end, with a fake pycuda (tests/fake_pycuda.py).

With ``exact=True`` every launch runs the kernel's own source on the CPU (zh.cuda.cpu) with the
grid, block and ``-D`` options the launcher chose, so these tests check the Python side of each
GPU call: operand preparation, padding, grid and block shapes, the -D options of another tiling,
copying back.
"""

import ctypes.util
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import fake_pycuda
from script_loader import load_script
from zh.cuda import KERNELS, matmul, runtime, vector_add
from zh.cuda.cpu import SMALL_TILES

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def fake(monkeypatch):
    """Installs the fake pycuda (``fake(exact=...)``); forgets its compiled kernels afterwards."""
    yield lambda exact: fake_pycuda.install(monkeypatch, exact=exact)
    runtime.driver.cache_clear()
    runtime.function.cache_clear()


@pytest.fixture
def exact(fake):
    return fake(exact=True)


def test_vector_add_launch(exact):
    a, b = np.arange(1000, dtype=np.float32), np.full(1000, 0.5, np.float32)
    np.testing.assert_array_equal(vector_add(a, b), a + b)
    assert vector_add([], []).shape == (0,)


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_matmul_launch_with_small_tiles(exact, kernel):
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((9, 7)), rng.standard_normal((7, 13))  # K and N not multiples of 4
    C = matmul(A, B, kernel, **SMALL_TILES[kernel])
    assert C.shape == (9, 13) and C.dtype == np.float32
    np.testing.assert_allclose(C, A @ B, rtol=1e-5, atol=1e-5)


def test_matmul_launch_with_source_tiling(exact):
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((5, 6)), rng.standard_normal((6, 3))
    np.testing.assert_allclose(matmul(A, B), A @ B, rtol=1e-5, atol=1e-5)


@pytest.fixture
def fake_cublas(tmp_path, monkeypatch):
    """tests/fake_cublas.c built as a shared library that ctypes.util.find_library("cublas") finds."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.skip("no C compiler to build the fake cuBLAS")
    lib = tmp_path / "libfakecublas.so"
    subprocess.run([gcc, "-O2", "-shared", "-fPIC", "-o", str(lib), str(ROOT / "tests" / "fake_cublas.c")], check=True)
    find = ctypes.util.find_library
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: str(lib) if name == "cublas" else find(name))
    return lib


def test_benchmark_script_runs_end_to_end(fake, tmp_path, fake_cublas):
    fake(exact=False)
    bench = load_script("bench_cuda")
    out = tmp_path / "out"
    path = bench.main(["--quick", "--out-dir", str(out)])
    data = json.loads(path.read_text())
    assert data["gpu"]["name"] == "FakeGPU (NumPy)" and data["matmul"]["sizes"] == [128, 256]
    # every kernel's output was checked against the (fake) cuBLAS's, called as the script calls it
    assert str(fake_cublas) in data["matmul"]["peer"]
    assert set(data["matmul"]["gflops"]) == set(KERNELS) | {bench.TUNED, "cublas"}
    assert max(e for errs in data["matmul"]["max_rel_error"].values() for e in errs) < 1e-5
    assert all(len(v) == 2 for v in data["matmul"]["gflops"].values())
    assert len(data["matmul"]["tuning"]["candidates"]) == len(bench.TUNING_CANDIDATES)
    assert len(data["vector_add"]["add_gbs"]) == 3
    assert "FakeGPU" in path.with_suffix(".md").read_text()


def test_precompiled_kernels_must_exist(exact, monkeypatch, tmp_path):
    monkeypatch.setenv("ZH_CUBIN_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="matmul_1_naive.cubin.*build_cubins.py"):
        matmul(np.ones((2, 2)), np.ones((2, 2)), "naive")
