#!/usr/bin/env bash
# Tests and measures zh.cuda on a GPU machine that has no internet, from the repository root.
# Before, on a machine with the repository's .venv (both folders are git-ignored; copy them along):
#   .venv/bin/python scripts/build_cubins.py build/cubins   # only used if the GPU machine lacks nvcc
#   and put pycuda's wheels in .whl/ (see WHEELS_DIR below)
# Then on the GPU machine:
#   ZH_COMMIT=<commit being measured> scripts/gpu_run.sh [WHEELS_DIR]
# WHEELS_DIR (default .whl, or .whl/gpu-py312 if that exists) holds pycuda and its dependencies
# built for the GPU machine's Python, plus pytest's wheels if that Python has no pytest (built on
# a machine with internet, the CUDA toolkit and the same Python version: pip wheel pycuda pytest -w .whl).
# The machine needs numpy (pycuda does); nvcc on PATH or build/cubins; libcublas (or torch with
# CUDA) for the cuBLAS comparison.
# Outputs go to $OUT (default /tmp/zh-gpu-out): nvidia-smi.txt, gpu-tests.log, bench.log and
# results/bench_cuda.{json,md}. To publish, copy results/bench_cuda.{json,md} over docs/results/
# (replacing the no-measurement note), check `make test`, and commit.
set -uo pipefail
cd "$(dirname "$0")/.."
default_wheels=.whl
[ -d .whl/gpu-py312 ] && ! compgen -G ".whl/*.whl" >/dev/null && default_wheels=.whl/gpu-py312
wheels=${1:-$default_wheels}
compgen -G "$wheels/*.whl" >/dev/null || { echo "gpu_run: no wheels in $wheels: put pycuda's wheels there (see this script's header)" >&2; exit 1; }
out=${OUT:-/tmp/zh-gpu-out}
py=${PYTHON:-python3}
site=$(mktemp -d)
mkdir -p "$out/results"
status=0

# 1. pycuda and its dependencies, offline, into a private folder on PYTHONPATH
"$py" -m pip install -q --no-index --no-deps --target "$site" "$wheels"/*.whl || exit 1
export PYTHONPATH="$site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
export MPLBACKEND=Agg
nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || echo "gpu_run: nvidia-smi failed (see $out/nvidia-smi.txt)"
if ! command -v nvcc >/dev/null; then
    if [ -d build/cubins ]; then
        export ZH_CUBIN_DIR=$PWD/build/cubins
        echo "gpu_run: no nvcc here: loading the precompiled kernels of $ZH_CUBIN_DIR"
    else
        echo "gpu_run: no nvcc and no build/cubins: pycuda cannot compile the kernels" >&2
    fi
fi
"$py" -c "import pycuda.driver as d; d.init(); print('pycuda sees', d.Device.count(), 'device(s):', d.Device(0).name())" || exit 1

# 2. the GPU tests (every kernel against numpy float64). --noconftest: the root conftest only
#    collects the documentation pages, which need the docs tooling this machine lacks.
if "$py" -c "import pytest" 2>/dev/null; then
    "$py" -m pytest --noconftest -m gpu -v -rs tests/test_cuda_gpu.py 2>&1 | tee "$out/gpu-tests.log" || status=1
else
    echo "gpu_run: no pytest for $py: add its wheels to $wheels to run tests/test_cuda_gpu.py" | tee "$out/gpu-tests.log"
    status=1
fi

# 3. the benchmark (vector add vs copy, the ladder vs cuBLAS) in one run; it checks every output too
"$py" scripts/bench_cuda.py --out-dir "$out/results" 2>&1 | tee "$out/bench.log" || status=1
exit $status
