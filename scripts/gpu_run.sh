#!/usr/bin/env bash
# What a session with a GPU runs, from the repository root, to test and measure zh.cuda:
#   scripts/gpu_run.sh [WHEELS_DIR]
# WHEELS_DIR holds pycuda and its dependencies built for the GPU machine's Python
# (default /work/shared/wheels/gpu-py312; shared/tools/build-pycuda-wheels.sh makes them), plus
# pytest's wheels if that Python has no pytest (pip download pytest --only-binary=:all:
# --python-version 3.12 -d WHEELS_DIR, on a machine with internet).
# Outputs go to $OUT (default /tmp/zh-gpu-out): gpu-tests.log, bench.log, results/bench_cuda.{json,md}.
# Commit them by copying results/bench_cuda.{json,md} over docs/results/ (replacing the
# no-measurement note) after reading bench.log.
set -euo pipefail
cd "$(dirname "$0")/.."
wheels=${1:-/work/shared/wheels/gpu-py312}
out=${OUT:-/tmp/zh-gpu-out}
py=${PYTHON:-python3}
site=$(mktemp -d)
mkdir -p "$out/results"

# 1. pycuda and its dependencies, offline, into a private folder on PYTHONPATH
"$py" -m pip install --no-index --no-deps --target "$site" "$wheels"/*.whl
export PYTHONPATH="$site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
export MPLBACKEND=Agg
nvidia-smi | tee "$out/nvidia-smi.txt" || true
"$py" -c "import numpy, pycuda.driver as d; d.init(); print('pycuda sees', d.Device.count(), 'device(s):', d.Device(0).name())"

# 2. the GPU tests (every kernel against numpy float64). --noconftest: the root conftest only
#    collects the documentation pages, which need the docs tooling this machine lacks.
"$py" -m pytest --noconftest -p no:cacheprovider -m gpu -v -rs tests/test_cuda_gpu.py 2>&1 | tee "$out/gpu-tests.log"

# 3. the benchmark (vector add vs copy, the ladder vs cuBLAS), in one run
"$py" scripts/bench_cuda.py --out-dir "$out/results" 2>&1 | tee "$out/bench.log"
