"""zh.cuda without a GPU: import isolation, the three clear errors, input checks, the benchmark's reports."""

import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from zh.cuda import GPUUnavailableError, matmul, report, runtime, vector_add
from script_loader import load_script

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def fresh_driver():
    runtime.driver.cache_clear()
    yield
    runtime.driver.cache_clear()


def test_importing_zh_never_imports_pycuda():
    code = (
        "import sys, zh, zh.cuda, zh.cuda.cpu, zh.cuda.report; assert not [m for m in sys.modules if 'pycuda' in m]"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_no_pycuda(monkeypatch):
    monkeypatch.setitem(sys.modules, "pycuda", None)  # makes `import pycuda...` fail
    monkeypatch.setitem(sys.modules, "pycuda.driver", None)
    for call in [lambda: vector_add([1.0], [2.0]), lambda: matmul(np.ones((2, 2)), np.ones((2, 2)))]:
        with pytest.raises(RuntimeError, match="pycuda could not be imported") as err:
            call()
        assert isinstance(err.value, GPUUnavailableError) and "zh[gpu]" in str(err.value)


def test_no_driver_library(monkeypatch):
    def no_libcuda():
        raise ImportError("libcuda.so.1: cannot open shared object file: No such file or directory")

    monkeypatch.setattr(runtime, "_import_driver", no_libcuda)
    with pytest.raises(GPUUnavailableError, match="NVIDIA driver library .*libcuda.so.1.*no NVIDIA driver"):
        vector_add([1.0], [2.0])


class _CudaError(Exception):
    pass


def _fake_driver(count=0, init_error=None):
    def init():
        if init_error:
            raise _CudaError(init_error)

    return types.SimpleNamespace(init=init, Error=_CudaError, Device=types.SimpleNamespace(count=lambda: count))


def test_no_device_reported_by_init(monkeypatch):
    monkeypatch.setattr(
        runtime, "_import_driver", lambda: _fake_driver(init_error="cuInit failed: no CUDA-capable device is detected")
    )
    with pytest.raises(GPUUnavailableError, match="no CUDA device is available .*no CUDA-capable device"):
        matmul(np.ones((2, 3)), np.ones((3, 2)))


def test_no_device_counted(monkeypatch):
    monkeypatch.setattr(runtime, "_import_driver", lambda: _fake_driver(count=0))
    with pytest.raises(GPUUnavailableError, match="0 CUDA devices"):
        vector_add(np.ones(4), np.ones(4))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: vector_add(np.ones(3), np.ones(4)), "same length, got 3 and 4"),
        (lambda: vector_add(np.ones((2, 2)), np.ones((2, 2))), "1-D arrays"),
        (lambda: matmul(np.ones((2, 3)), np.ones((2, 3))), "A has 3 columns but B has 2 rows"),
        (lambda: matmul(np.ones(3), np.ones((3, 1))), "2-D arrays"),
        (lambda: matmul(np.ones((0, 3)), np.ones((3, 1))), "non-empty"),
        (lambda: matmul(np.ones((2, 2)), np.ones((2, 2)), kernel="fast"), "unknown matmul kernel 'fast'"),
    ],
)
def test_bad_input_is_refused_before_touching_the_gpu(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_missing_kernel_file_lists_the_real_ones():
    with pytest.raises(FileNotFoundError, match="matmul_1_naive.cu"):
        runtime.source("nope.cu")


# --- the benchmark script, without a GPU --------------------------------------------------------


def _synthetic_results():
    """Invented numbers for exercising the report code only; never written under docs/results."""
    sizes = [128, 256]
    return {
        "gpu": {"name": "SyntheticGPU", "spec_bandwidth_gbs": 1000.0, "peak_fp32_gflops": 20000.0},
        "vector_add": {"sizes": [1024, 2048], "add_gbs": [300.0, 600.0], "copy_gbs": [400.0, 700.0]},
        "matmul": {
            "sizes": sizes,
            "gflops": {"naive": [10.0, None], "warptiling": [100.0, 400.0], "cublas": [200.0, 500.0]},
            "skipped": {"naive at 256²": "too slow"},
        },
    }


def test_report_from_a_synthetic_run(tmp_path):
    bench = load_script("bench_cuda")
    results = _synthetic_results()
    path = bench.save(results, tmp_path, device="SyntheticGPU")
    assert path.parent == tmp_path and json.loads(path.read_text())["matmul"]["sizes"] == [128, 256]
    md = path.with_suffix(".md").read_text()
    assert "| warptiling | 100 (50.0%) | 400 (80.0%) |" in md
    assert "| naive | 10 (5.0%) | — |" in md and "naive at 256²: too slow" in md
    assert "| 2^11 | 600 | 700 | 85.7% | 60.0% |" in md
    assert report.load(path) == json.loads(path.read_text())
    for fig in [report.plot_matmul(results), report.plot_vector_add(results), report.measured_roofline(results)]:
        assert fig.axes[0].get_lines()  # something was drawn


def test_no_plot_without_results():
    """No empty frame on the page: without results each plot is None, which the figure hook leaves out."""
    for draw in [report.plot_matmul, report.plot_vector_add, report.measured_roofline]:
        assert draw(None) is None


def test_placeholder_states_no_measurement_and_never_replaces_one(tmp_path):
    bench = load_script("bench_cuda")
    md = bench.main(["--placeholder", "--out-dir", str(tmp_path)]).read_text()
    assert report.NO_MEASUREMENT in md and not any(ch.isdigit() for ch in md.replace("sm_90", ""))
    (tmp_path / "bench_cuda.json").write_text("{}")
    with pytest.raises(SystemExit, match="holds a measurement"):
        bench.main(["--placeholder", "--out-dir", str(tmp_path)])


def test_committed_results_are_a_measurement_or_the_plain_statement():
    md = (ROOT / "docs" / "results" / "bench_cuda.md").read_text()
    if (ROOT / "docs" / "results" / "bench_cuda.json").exists():
        assert "Measured by `scripts/bench_cuda.py`" in md
    else:
        assert md == load_script("bench_cuda").PLACEHOLDER


def test_quick_run_needs_a_gpu_and_says_so(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pycuda", None)
    monkeypatch.setitem(sys.modules, "pycuda.driver", None)
    with pytest.raises(SystemExit, match="needs a GPU: pycuda could not be imported"):
        load_script("bench_cuda").main(["--quick", "--out-dir", str(tmp_path)])
    assert not list(tmp_path.iterdir())
