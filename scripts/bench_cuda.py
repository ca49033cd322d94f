"""Benchmark zh.cuda on a GPU: vector add against a device-to-device copy, and every kernel of
the matmul ladder against FP32 cuBLAS, all measured in one run on one device.

Timing: CUDA events around each launch, median of --repeats runs after --warmup runs.
Writes docs/results/bench_cuda.json (numbers + device, driver, CUDA, clocks, date, commit) and
docs/results/bench_cuda.md (the tables the CUDA pages include; they draw the plots from the JSON).

    python scripts/bench_cuda.py                   # the full run (needs a GPU: see scripts/gpu_run.sh)
    python scripts/bench_cuda.py --quick --out-dir /tmp/b   # a few small sizes, to check the script
    python scripts/bench_cuda.py --placeholder     # no GPU: write the statement that nothing is measured
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import datetime as dt
import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from zh.cuda import report
from zh.cuda.matmul import KERNELS, TUNING_CANDIDATES
from zh.cuda.runtime import GPUUnavailableError, driver, function

ROOT = Path(__file__).resolve().parent.parent

NAME = "bench_cuda"
TUNED = "warptiling (tuned)"  # rung 7 with the fastest of TUNING_CANDIDATES at 4096² (or the largest size below)
VECTOR_SIZES = [2**p for p in range(10, 29)]
MATMUL_SIZES = [128, 256, 512, 1024, 2048, 4096, 8192]
# FP32 lanes per SM, by compute capability, for the peak FLOP/s of the roofline
FP32_PER_SM = {(7, 0): 64, (7, 5): 64, (8, 0): 64, (8, 6): 128, (8, 7): 128, (8, 9): 128, (9, 0): 128,
               (10, 0): 128, (12, 0): 128}

PLACEHOLDER = f"""**{report.NO_MEASUREMENT}.** `scripts/bench_cuda.py` has not been run on a GPU for this
site, so no speed of these kernels is shown: no number here is estimated or borrowed. What has been
checked without a GPU (the tests): every kernel compiles with `nvcc` for sm_90 without register
spills (where the CUDA toolkit is installed), and its own CUDA source, compiled with g++ and run on
the CPU, computes the right product against NumPy in double precision at sizes that are and are not
multiples of its tiles, writes each output element exactly once, and runs clean under
AddressSanitizer + UBSan and ThreadSanitizer; deliberately broken copies of every kernel (an index
swapped, a barrier dropped, a bound off by one) are caught by those checks.
No plot is drawn until a measurement exists; [Running on a GPU](index.md#running-on-a-gpu) gives
the two commands that measure the kernels and replace this note.
"""


def gpu_info(drv) -> dict:
    """What the numbers were measured on: name, clocks, memory, driver and CUDA versions."""
    import pycuda

    dev = drv.Context.get_device()

    def attr(name):
        try:
            return dev.get_attribute(getattr(drv.device_attribute, name)) or None
        except (AttributeError, drv.Error):  # an attribute this driver no longer reports
            return None

    cc = dev.compute_capability()
    sms, clock_khz = attr("MULTIPROCESSOR_COUNT"), attr("CLOCK_RATE")
    mem_khz, bus_bits = attr("MEMORY_CLOCK_RATE"), attr("GLOBAL_MEMORY_BUS_WIDTH")
    known = lambda *xs: all(x is not None for x in xs)  # noqa: E731
    info = {
        "name": dev.name(),
        "compute_capability": f"{cc[0]}.{cc[1]}",
        "multiprocessors": sms,
        "max_clock_mhz": clock_khz and clock_khz / 1e3,
        "memory_clock_mhz": mem_khz and mem_khz / 1e3,
        "memory_bus_bits": bus_bits,
        "memory_gib": dev.total_memory() / 2**30,
        # double data rate: two transfers per memory clock, bus_bits / 8 bytes each
        "spec_bandwidth_gbs": 2 * mem_khz * 1e3 * bus_bits / 8 / 1e9 if known(mem_khz, bus_bits) else None,
        # two FLOPs (a fused multiply-add) per FP32 lane per clock
        "peak_fp32_gflops": (sms * FP32_PER_SM.get(cc, 128) * 2 * clock_khz * 1e3 / 1e9
                             if known(sms, clock_khz) else None),
        "driver_version": drv.get_driver_version(),
        "cuda_version": ".".join(map(str, drv.get_version())),
        "pycuda": pycuda.VERSION_TEXT,
    }
    try:
        query = "driver_version,clocks.sm,clocks.mem,clocks.max.sm,clocks.max.mem,power.limit,persistence_mode"
        info["nvidia_smi"] = subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv"],
                                            capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        info["nvidia_smi"] = None
    return info


def median_ms(drv, fn, repeats: int, warmup: int) -> float:
    """Median time of ``fn()`` in milliseconds, each run between two CUDA events."""
    for _ in range(warmup):
        fn()
    drv.Context.synchronize()
    start, end = drv.Event(), drv.Event()
    times = []
    for _ in range(repeats):
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.time_till(end))
    return float(np.median(times))


class Cublas:
    """FP32 SGEMM from the cuBLAS library, called through ctypes on pycuda's device buffers."""

    def __init__(self):
        self.lib = self._open()
        f32p = ctypes.POINTER(ctypes.c_float)  # alpha and beta: host scalars (the default pointer mode)
        self.lib.cublasSgemm_v2.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                            ctypes.c_int, f32p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p,
                                            ctypes.c_int, f32p, ctypes.c_void_p, ctypes.c_int]
        self.lib.cublasSetMathMode.argtypes = [ctypes.c_void_p, ctypes.c_int]
        self.handle = ctypes.c_void_p()
        self._check(self.lib.cublasCreate_v2(ctypes.byref(self.handle)), "cublasCreate")
        # CUBLAS_DEFAULT_MATH (0): SGEMM computes in FP32; TF32 tensor cores stay off.
        self._check(self.lib.cublasSetMathMode(self.handle, 0), "cublasSetMathMode")
        self.one, self.zero = ctypes.c_float(1.0), ctypes.c_float(0.0)
        self.name = f"cuBLAS SGEMM ({self.path}, FP32, default math mode)"

    def _open(self):
        candidates = [ctypes.util.find_library("cublas"), "libcublas.so", "libcublas.so.13", "libcublas.so.12"]
        candidates += sorted(glob.glob("/usr/local/cuda*/lib64/libcublas.so*"))
        for entry in sys.path + [sys.prefix]:  # the nvidia-cublas wheel that a CUDA PyTorch install brings
            candidates += sorted(glob.glob(os.path.join(entry, "**/nvidia/cublas*/lib/libcublas.so*"), recursive=True))
        for path in filter(None, candidates):
            try:
                lib = ctypes.CDLL(path)
                self.path = path
                return lib
            except OSError:
                continue
        raise OSError("libcublas not found (looked in the library path, /usr/local/cuda*/lib64, site-packages/nvidia)")

    @staticmethod
    def _check(status, what):
        if status != 0:
            raise RuntimeError(f"{what} failed with cuBLAS status {status}")

    def matmul(self, A, B, C, M, N, K):
        # cuBLAS is column-major: row-major C = A @ B is column-major C^T = B^T @ A^T.
        self._check(self.lib.cublasSgemm_v2(self.handle, 0, 0, N, M, K, ctypes.byref(self.one), int(B), N, int(A), K,
                                            ctypes.byref(self.zero), int(C), N), "cublasSgemm")


class TorchMatmul:
    """The fallback peer: ``torch.matmul`` on CUDA with TF32 off (cuBLAS SGEMM), on pycuda's buffers."""

    def __init__(self):
        import torch

        if not torch.cuda.is_available():
            raise RuntimeError("torch has no CUDA here")
        torch.backends.cuda.matmul.allow_tf32 = False
        self.torch, self.views = torch, {}
        self.name = f"torch {torch.__version__} matmul on CUDA (cuBLAS FP32, TF32 off)"

    def _view(self, buf, shape):
        # zero-copy: torch reads and writes the device memory pycuda allocated
        iface = {"shape": shape, "typestr": "<f4", "data": (int(buf), False), "version": 2}
        return self.torch.as_tensor(type("DeviceArray", (), {"__cuda_array_interface__": iface})(), device="cuda")

    def matmul(self, A, B, C, M, N, K):
        key = (int(A), int(B), int(C), M, N, K)
        if key not in self.views:  # made once per buffer set, so that timings hold only the matmul
            self.views = {key: (self._view(A, (M, K)), self._view(B, (K, N)), self._view(C, (M, N)))}
        a, b, c = self.views[key]
        self.torch.matmul(a, b, out=c)


def bench_vector_add(drv, sizes, repeats, warmup) -> dict:
    from zh.cuda.vector_add import launch

    function("vector_add.cu", "vector_add")
    out = {"sizes": sizes, "add_gbs": [], "copy_gbs": []}
    rng = np.random.default_rng(0)
    for n in sizes:
        a, b = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
        da, db, dc = drv.to_device(a), drv.to_device(b), drv.mem_alloc(4 * n)
        t_add = median_ms(drv, lambda: launch(da, db, dc, n), repeats, warmup)
        c = drv.from_device(dc, (n,), np.float32)
        if not np.array_equal(c, a + b):
            raise AssertionError(f"vector_add is wrong at n={n}")
        t_copy = median_ms(drv, lambda: drv.memcpy_dtod(dc, da, 4 * n), repeats, warmup)
        out["add_gbs"].append(report.vector_add_bytes(n) / t_add / 1e6)
        out["copy_gbs"].append(8 * n / t_copy / 1e6)
        print(f"vector_add n=2^{n.bit_length() - 1}: {out['add_gbs'][-1]:,.0f} GB/s, "
              f"copy {out['copy_gbs'][-1]:,.0f} GB/s", flush=True)
        for buf in (da, db, dc):
            buf.free()
    return out


def _random_operands(drv, s, rng):
    A = rng.standard_normal((s, s), dtype=np.float32)
    B = rng.standard_normal((s, s), dtype=np.float32)
    return drv.to_device(A), drv.to_device(B), drv.mem_alloc(4 * s * s)


def _output(drv, run, dC, s):
    """Run once on a NaN-poisoned C and return C (the first run also warms up)."""
    drv.memcpy_htod(dC, np.full((s, s), np.nan, np.float32))
    run()
    return drv.from_device(dC, (s, s), np.float32)


def tune(drv, s, repeats, warmup) -> dict:
    """Time every tiling in TUNING_CANDIDATES of rung 7 at one size; the fastest is the tuned rung."""
    warp = KERNELS["warptiling"]
    dA, dB, dC = _random_operands(drv, s, np.random.default_rng(1))
    ref, out = None, []
    for tiles in TUNING_CANDIDATES:
        run = lambda t=tiles: warp.launch(dA, dB, dC, s, s, s, **t)  # noqa: E731
        C = _output(drv, run, dC, s)
        ref = C if ref is None else ref  # the source's tiling comes first
        if np.isnan(C).any() or np.abs(C - ref).max() > 1e-3 * np.abs(ref).max():
            raise AssertionError(f"warptiling with {tiles} disagrees with the source's tiling at {s}")
        gflops = report.matmul_flops(s, s, s) / median_ms(drv, run, repeats, warmup) / 1e6
        out.append({"tiles": warp.constants(**tiles), "overrides": tiles, "gflops": gflops})
        print(f"tuning warptiling {tiles or '(source)'} at {s}: {gflops:,.0f} GFLOP/s", flush=True)
    for buf in (dA, dB, dC):
        buf.free()
    best = max(out, key=lambda r: r["gflops"])
    return {"size": s, "candidates": out, "best": best["overrides"]}


def bench_matmul(drv, sizes, repeats, warmup, budget_s) -> dict:
    peer, peer_name = None, "unavailable:"
    for make in (Cublas, TorchMatmul):
        try:
            peer = make()
            peer_name = peer.name
            break
        except (ImportError, OSError, RuntimeError, AttributeError) as exc:
            peer_name += f" {make.__name__}: {exc};"
    warp = KERNELS["warptiling"]
    for k in KERNELS.values():  # compile first, so that no timing includes nvcc
        function(k.file, k.entry)
    for tiles in TUNING_CANDIDATES:
        function(warp.file, warp.entry, warp.defines(**tiles))
    tuning = tune(drv, max(s for s in sizes if s <= 4096), repeats, warmup)
    # each contender: (dA, dB, dC, s) -> launches C = A @ B once
    contenders = {
        name: (lambda k: lambda dA, dB, dC, s: k.launch(dA, dB, dC, s, s, s))(k) for name, k in KERNELS.items()
    }
    contenders[TUNED] = lambda dA, dB, dC, s: warp.launch(dA, dB, dC, s, s, s, **tuning["best"])
    if peer:
        contenders["cublas"] = lambda dA, dB, dC, s: peer.matmul(dA, dB, dC, s, s, s)
    out = {"sizes": sizes, "peer": peer_name, "gflops": {k: [] for k in contenders},
           "max_rel_error": {k: [] for k in contenders}, "skipped": {}, "tuning": tuning}
    rng = np.random.default_rng(0)
    for s in sizes:
        dA, dB, dC = _random_operands(drv, s, rng)
        ref = _output(drv, lambda: peer.matmul(dA, dB, dC, s, s, s), dC, s) if peer else None
        for name, launch in contenders.items():
            run = lambda: launch(dA, dB, dC, s)  # noqa: E731
            first = median_ms(drv, run, 1, 0)  # says how long the full measurement would take
            if first * (repeats + warmup + 1) / 1e3 > budget_s:
                out["gflops"][name].append(None)
                out["max_rel_error"][name].append(None)
                out["skipped"][f"{name} at {s}²"] = f"{first / 1e3:.1f} s per run, over the {budget_s:.0f} s budget"
                continue
            C = _output(drv, run, dC, s)
            err = None if ref is None else float(np.abs(C - ref).max() / np.abs(ref).max())
            if np.isnan(C).any() or (err is not None and err > 1e-3):
                raise AssertionError(f"{name} at {s}: wrong output (relative error {err}, NaN {np.isnan(C).any()})")
            t = median_ms(drv, run, repeats, warmup)
            out["gflops"][name].append(report.matmul_flops(s, s, s) / t / 1e6)
            out["max_rel_error"][name].append(err)
            print(f"matmul {name} {s}: {out['gflops'][name][-1]:,.0f} GFLOP/s", flush=True)
        for buf in (dA, dB, dC):
            buf.free()
    return out


def save(results: dict, out_dir: Path, device: str) -> Path:
    """Write the JSON and the Markdown through scripts/results.py (its format and provenance)."""
    try:
        import results as results_module

        return results_module.write(NAME, results, report.table(results), device=device, out_dir=out_dir)
    except ImportError:  # results.environment() records torch's version; a bare GPU machine may lack torch
        out_dir.mkdir(parents=True, exist_ok=True)
        env = {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "device": device,
               "python": sys.version.split()[0], "numpy": np.__version__}
        (out_dir / f"{NAME}.json").write_text(json.dumps({"environment": env, **results}, indent=2) + "\n")
        (out_dir / f"{NAME}.md").write_text(
            report.table(results).rstrip() + f"\n\n<small>Measured by `scripts/{NAME}.py` on "
            f"{device}, {env['date']}, Python {env['python']}.</small>\n"
        )
        return out_dir / f"{NAME}.json"


def write_placeholder(out_dir: Path) -> Path:
    """The committed stand-in before any GPU run: a statement, no numbers. Removes no measurement."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if (out_dir / f"{NAME}.json").exists():
        raise SystemExit(f"{out_dir / NAME}.json holds a measurement; --placeholder will not overwrite its table")
    (out_dir / f"{NAME}.md").write_text(PLACEHOLDER)
    return out_dir / f"{NAME}.md"


def main(argv=None) -> Path:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a few small sizes and repeats (checks the script)")
    p.add_argument("--placeholder", action="store_true", help="write the no-measurement statement (no GPU needed)")
    p.add_argument("--out-dir", type=Path, default=ROOT / "docs" / "results")
    p.add_argument(
        "--repeats", type=int, default=25, help="timed runs per point (median taken); at least 20 for the full run"
    )
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--budget", type=float, default=60.0, help="seconds allowed per (kernel, size) point")
    args = p.parse_args(argv)
    if args.placeholder:
        return write_placeholder(args.out_dir)
    if not args.quick and args.repeats < 20:
        p.error("the full run takes the median of at least 20 repeats")
    try:
        drv = driver()
    except GPUUnavailableError as exc:
        raise SystemExit(f"bench_cuda.py needs a GPU: {exc}") from exc
    repeats = 3 if args.quick else args.repeats
    info = gpu_info(drv)
    print(f"device: {info['name']}, CUDA {info['cuda_version']}, driver {info['driver_version']}", flush=True)
    results = {
        # the checkout's commit, given by the caller where the GPU machine's copy has no .git
        "source_commit": os.environ.get("ZH_COMMIT"),
        "gpu": info,
        "timing": {"repeats": repeats, "warmup": args.warmup, "statistic": "median", "clock": "CUDA events"},
        "vector_add": bench_vector_add(drv, VECTOR_SIZES[:3] if args.quick else VECTOR_SIZES, repeats, args.warmup),
        "matmul": bench_matmul(
            drv, MATMUL_SIZES[:2] if args.quick else MATMUL_SIZES, repeats, args.warmup, args.budget
        ),
    }
    path = save(results, args.out_dir, f"{info['name']} (driver {info['driver_version']}, CUDA {info['cuda_version']})")
    print(f"wrote {path} and {path.with_suffix('.md')}")
    return path


if __name__ == "__main__":
    main()
