"""The kernels' own CUDA source, compiled with g++ and run on the CPU: tests without a GPU.

Page: [CUDA / matmul](../cuda/matmul.md).

``cuda_cpu.h`` supplies what CUDA C gives a kernel (``__global__``, ``threadIdx``, ``__shared__``,
``__syncthreads()``, ``float4``...), so each ``.cu`` file of ``zh/cuda/kernels/`` compiles
unchanged; ``launch.cpp`` runs every block of the grid in turn. Three builds of each kernel:

- ``trace``: a shared library called through ctypes, like a pycuda kernel. The kernel is
  compiled with gcc's ThreadSanitizer instrumentation but without its runtime: the calls the
  compiler inserts before every load and store (``__tsan_read4(address)``...) go to
  ``launch.cpp``, which counts the reads and writes of every element of the launch's arrays and
  of the kernel's ``__shared__`` arrays, and can log who touched what. A block's threads are
  fibers that take turns up to each ``__syncthreads()``; shared memory is NaN at each block's start.
- ``asan``: AddressSanitizer + UndefinedBehaviorSanitizer (out-of-bounds accesses, misaligned
  ``float4``), an executable run in a subprocess.
- ``tsan``: ThreadSanitizer (two threads of a block touching the same shared element with no
  ``__syncthreads()`` between them), an executable run in a subprocess.

In the two sanitizer builds each thread of a block is a real thread and ``__syncthreads()`` a
C++20 ``std::barrier``. Builds are cached under ``.cache/cuda-cpu/`` by a hash of everything
that goes into them (``$ZH_CUDA_CPU_CACHE`` moves it).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from zh.cuda.matmul import get_kernel, prepare
from zh.cuda.runtime import source as kernel_source

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("ZH_CUDA_CPU_CACHE", HERE.parents[2] / ".cache" / "cuda-cpu"))
CXX = os.environ.get("CXX", "g++")
_COMMON = ["-std=c++20", "-O1", "-fno-tree-vectorize"]
# flavour -> (kernel flags, launcher flags, link flags): see the module docstring.
FLAVORS = {
    "trace": (["-O0", "-fPIC", "-fsanitize=thread"], ["-fPIC", "-DZH_TRACE"], ["-shared", "-Wl,-z,defs"]),
    "asan": (["-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"],
             ["-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-DZH_MAIN"],
             ["-fsanitize=address,undefined", "-rdynamic"]),
    "tsan": (["-g", "-fsanitize=thread"], ["-g", "-fsanitize=thread", "-DZH_MAIN"], ["-fsanitize=thread", "-rdynamic"]),
}
SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=0:exitcode=23",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
    "TSAN_OPTIONS": "halt_on_error=1:exitcode=66",
}
# Scaled-down tilings: the same code paths with a few threads per block, so that a kernel under a
# sanitizer, or several blocks and several steps along K, stay cheap (nvcc compiles these too).
SMALL_TILES = {
    "naive": {"BLOCK": 4},
    "coalesced": {"BLOCK": 4},
    "smem": {"TILE": 4},
    "blocktile1d": {"BM": 8, "BN": 8, "BK": 4, "TM": 2},
    "blocktile2d": {"BM": 8, "BN": 8, "BK": 4, "TM": 2, "TN": 2},
    "vectorized": {"BM": 8, "BN": 8, "BK": 4, "TM": 4, "TN": 4},
    # WMITER = 2 here (the source's tiling has 1), so the warp's sub-tile loop runs twice
    "warptiling": {"BM": 64, "BN": 64, "BK": 4, "WM": 32, "WN": 64, "WNITER": 2, "TM": 4, "TN": 4},
}


class CompileError(RuntimeError):
    """g++ refused a kernel (the message has its errors)."""


class KernelError(RuntimeError):
    """A launch failed: a barrier only some threads reached, or a sanitizer's report (the message)."""


def _hash(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(repr(p).encode())
    return h.hexdigest()[:24]


@functools.cache
def _compiler_version() -> str:
    if shutil.which(CXX) is None:
        raise CompileError(f"{CXX} not found: running the kernels on the CPU needs g++ (C++20)")
    return subprocess.run([CXX, "--version"], capture_output=True, text=True, check=True).stdout


def _gxx(args: list[str], out: Path) -> None:
    """Runs g++ writing ``out`` atomically (parallel test workers may build the same file)."""
    tmp = out.with_name(f"{out.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    done = subprocess.run([CXX, *args, "-o", str(tmp)], capture_output=True, text=True)
    if done.returncode:
        tmp.unlink(missing_ok=True)
        raise CompileError(f"g++ {' '.join(args)}\n{done.stderr}")
    os.replace(tmp, out)


def _launcher(flavor: str) -> Path:
    """launch.cpp compiled for one flavour (once: it pulls in the heavy standard headers)."""
    flags = _COMMON + FLAVORS[flavor][1]
    code = [(HERE / name).read_text() for name in ("launch.cpp", "cuda_cpu.h")]
    out = CACHE / f"launch-{flavor}-{_hash(flags, code, _compiler_version())}.o"
    if not out.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        _gxx([*flags, f"-I{HERE}", "-c", str(HERE / "launch.cpp")], out)
    return out


def build(source: str, defines: tuple[str, ...] = (), flavor: str = "trace") -> Path:
    """Compiles a kernel's CUDA C source (unchanged) for the CPU and links it with the launcher.

    Args:
        source: the text of a ``.cu`` file.
        defines: ``-DNAME=V`` options, as ``nvcc`` gets them.
        flavor: ``"trace"`` (a shared library), ``"asan"`` or ``"tsan"`` (executables).

    Returns:
        The path of the build, cached by a hash of everything that went into it.

    Raises:
        CompileError: if g++ is missing or rejects the source.
    """
    launcher = _launcher(flavor)
    flags = _COMMON + FLAVORS[flavor][0] + list(defines)
    key = _hash(source, flags, launcher.name)
    out = CACHE / f"{key}{'.so' if flavor == 'trace' else ''}"
    if not out.exists():
        cu = CACHE / f"{key}.cu"  # named by its hash: the sanitizers' reports point into it
        tmp = cu.with_name(f"{cu.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        tmp.write_text(source)
        os.replace(tmp, cu)
        obj = CACHE / f"{key}.o"
        _gxx([*flags, "-x", "c++", "-include", str(HERE / "cuda_cpu.h"), "-c", str(cu)], obj)
        _gxx(["-x", "none", str(obj), str(launcher), *FLAVORS[flavor][2]], out)
    return out


def build_all(jobs: list[tuple[str, tuple[str, ...], str]]) -> list[Path]:
    """``build(*job)`` for every job, as many at a time as there are cores."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(_launcher, sorted({job[2] for job in jobs})))  # the slow compiles first, side by side
        return list(pool.map(lambda job: build(*job), jobs))


# a __shared__ array after the preprocessor: `static [__attribute__((aligned(16)))] float As[8][(128)];`
_SHARED = re.compile(r"static\s+(?:__attribute__\(\(\w+\(\d+\)\)\)\s+)?float\s+(\w+)\s*((?:\[[^\]]+\])+)\s*;")


@functools.cache
def _shared_arrays(source: str, defines: tuple[str, ...], entry: str) -> dict[str, tuple[int, ...]]:
    """The ``__shared__`` arrays of ``entry`` and their shapes, read from the preprocessed source."""
    done = subprocess.run([CXX, "-E", "-P", *_COMMON, *defines, "-x", "c++", "-include", str(HERE / "cuda_cpu.h"), "-"],
                          input=source, capture_output=True, text=True, check=True)
    body = done.stdout.split(f" {entry}(", 1)[-1]
    return {name: tuple(eval(d.replace("/", "//"), {"__builtins__": {}}) for d in re.findall(r"\[([^\]]+)\]", dims))
            for name, dims in _SHARED.findall(body)}


def _pointer_names(source: str, entry: str) -> list[str]:
    """The names of the kernel's float-array parameters, in order."""
    params = re.search(rf"\b{entry}\s*\(([^)]*)\)", source)[1]
    return re.findall(r"float\s*\*\s*(?:__restrict__\s*)?(\w+)", params)


FIELDS = ("region", "index", "width", "write", "block", "thread", "seq", "phase")
EVENT = np.dtype([(n, np.int32) for n in FIELDS])


@dataclass
class Accesses:
    """What one launch of the trace build touched.

    Attributes:
        shapes: array name -> its shape: the kernel's array parameters (``A``, ``B``, ``C``) and
            its ``__shared__`` arrays (``As``, ``Bs``).
        reads, writes: array name -> how many times each element was read or written (an
            element of a ``__shared__`` array counts over all blocks).
        names: the array names, in the order ``events`` numbers them.
        events: if a block was recorded, its accesses, one row each (``EVENT``): the array (its
            position in ``names``), the first element (flat index), the width in floats (4 for a
            float4), read or write, the block and thread (flat ids), the access's place in its
            thread's sequence of accesses to these arrays, and how many ``__syncthreads()`` the
            block had passed.
    """

    shapes: dict[str, tuple[int, ...]]
    reads: dict[str, np.ndarray]
    writes: dict[str, np.ndarray]
    names: list[str]
    events: np.ndarray = field(default_factory=lambda: np.zeros(0, EVENT))

    def elements(self, name: str, write: bool) -> np.ndarray:
        """The recorded accesses to array ``name`` (reads or writes), one row per float touched."""
        e = self.events[(self.events["region"] == self.names.index(name)) & (self.events["write"] == write)]
        wide = np.repeat(e, e["width"])
        starts = np.cumsum(e["width"]) - e["width"]  # where each access's floats begin in `wide`
        wide["index"] += np.arange(len(wide)) - np.repeat(starts, e["width"])  # 0, 1, .. width-1 each
        return wide


class Function:
    """One kernel of a trace build, called like a pycuda kernel: ``fn(A, B, C, M, N, K, block=, grid=)``.

    The arrays are NumPy float32 arrays (host memory is the device memory here); the kernel
    writes into them. Made by :func:`function`.
    """

    def __init__(self, source: str, entry: str, defines: tuple[str, ...] = ()):
        self.source, self.entry, self.defines = source, entry, defines
        path = build(source, defines, "trace")
        self.lib = ctypes.CDLL(str(path))
        self.kernel = ctypes.cast(getattr(self.lib, entry), ctypes.c_void_p)
        self.pointers = _pointer_names(source, entry)
        # where the static __shared__ arrays are: their offsets in the library (nm) + where it was loaded
        symbols = {}
        for line in subprocess.run(["nm", "-S", "--defined-only", str(path)], capture_output=True, text=True,
                                   check=True).stdout.splitlines():
            parts = line.split()
            if len(parts) == 4:
                symbols[parts[3]] = (int(parts[0], 16), int(parts[1], 16))
            elif len(parts) == 3:
                symbols[parts[2]] = (int(parts[0], 16), 0)
        base = ctypes.cast(self.lib.zh_launch, ctypes.c_void_p).value - symbols["zh_launch"][0]
        self.shared = {}
        for name, shape in _shared_arrays(source, defines, entry).items():
            offset, size = symbols[f"_ZZ{len(entry)}{entry}E{len(name)}{name}"]
            assert size == 4 * int(np.prod(shape)), (name, size, shape)
            self.shared[name] = (base + offset, shape)

    def __call__(self, *args, block: tuple, grid: tuple, record: int | None = None) -> Accesses:
        """Launches the kernel on ``grid`` x ``block`` threads; logs the accesses of block ``record``
        (a flat block id, -1 for all) if given.

        Raises:
            ValueError: for arguments that are not three float32 arrays and 1 or 3 ints.
            KernelError: if some threads of a block reached a ``__syncthreads()`` the others did not.
        """
        arrays = [a for a in args if isinstance(a, np.ndarray)]
        ints = [int(a) for a in args if not isinstance(a, np.ndarray)]
        if len(arrays) != 3 or len(self.pointers) != 3 or len(ints) not in (1, 3):
            raise ValueError(f"{self.entry}: the CPU launcher takes kernels of three float arrays and 1 or 3 ints, "
                             f"got {len(arrays)} arrays and {len(ints)} other arguments")
        if not all(a.dtype == np.float32 and a.flags.c_contiguous for a in arrays):
            raise ValueError(f"{self.entry}: the arrays must be C-contiguous float32 (they are the device memory)")
        regions = [(n, a.ctypes.data, a.shape) for n, a in zip(self.pointers, arrays)]
        regions += [(n, addr, shape) for n, (addr, shape) in self.shared.items()]
        shapes = {n: tuple(s) for n, _, s in regions}
        reads = {n: np.zeros(s, np.int32) for n, s in shapes.items()}
        writes = {n: np.zeros(s, np.int32) for n, s in shapes.items()}
        n = len(regions)
        lo = (ctypes.c_size_t * n)(*[addr for _, addr, _ in regions])
        hi = (ctypes.c_size_t * n)(*[addr + 4 * int(np.prod(s)) for _, addr, s in regions])
        ptr = ctypes.POINTER(ctypes.c_int32)
        rd = (ptr * n)(*[reads[name].ctypes.data_as(ptr) for name, _, _ in regions])
        wr = (ptr * n)(*[writes[name].ctypes.data_as(ptr) for name, _, _ in regions])
        shared = (ctypes.c_int * n)(*[name in self.shared for name, _, _ in regions])
        self.lib.zh_trace_regions(n, lo, hi, rd, wr, shared)
        self.lib.zh_trace_record(-2 if record is None else record)
        err = ctypes.create_string_buffer(512)
        status = self.lib.zh_launch(
            self.kernel, len(ints), *[a.ctypes.data_as(ctypes.c_void_p) for a in arrays],
            (ctypes.c_int * len(ints))(*ints), (ctypes.c_uint * 3)(*_dim3(grid)), (ctypes.c_uint * 3)(*_dim3(block)),
            err, ctypes.c_size_t(len(err)))
        self.lib.zh_trace_regions(0, lo, hi, rd, wr, shared)  # the arrays may be freed after this
        if status:
            raise KernelError(err.value.decode())
        events = np.zeros(0, EVENT)
        if record is not None:
            self.lib.zh_trace_events.restype = ctypes.c_size_t
            count = self.lib.zh_trace_events(None, ctypes.c_size_t(0))
            events = np.zeros(count, EVENT)
            self.lib.zh_trace_events(events.ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(count))
        return Accesses(shapes, reads, writes, [name for name, _, _ in regions], events)


def _dim3(d) -> tuple[int, int, int]:
    d = tuple(int(x) for x in d)
    return d + (1,) * (3 - len(d))


@functools.cache
def _function(source: str, entry: str, defines: tuple[str, ...]) -> Function:
    return Function(source, entry, defines)


def function(filename: str, entry: str, defines: tuple[str, ...] = (), source: str | None = None) -> Function:
    """The CPU twin of ``zh.cuda.runtime.function``: kernel ``entry`` of ``kernels/<filename>``
    (or of ``source``, e.g. a modified copy) compiled with ``defines``, ready to launch."""
    return _function(kernel_source(filename) if source is None else source, entry, tuple(defines))


def sanitize(flavor: str, source: str, entry: str, defines: tuple[str, ...], arrays: list[np.ndarray],
             ints: list[int], grid: tuple, block: tuple) -> np.ndarray:
    """Runs a kernel under AddressSanitizer + UBSan (``"asan"``) or ThreadSanitizer (``"tsan"``).

    The three arrays are copied into a fresh process, each in a buffer of exactly its size.

    Returns:
        The third array (the output) as the kernel left it.

    Raises:
        KernelError: with the sanitizer's report, if it found anything (or the launch failed).
    """
    exe = build(source, tuple(defines), flavor)
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp) / "in", Path(tmp) / "out"
        inp.write_bytes(b"".join(np.ascontiguousarray(a, np.float32).tobytes() for a in arrays))
        cmd = [str(exe), entry, *map(str, _dim3(grid)), *map(str, _dim3(block)), str(inp), str(out),
               *[str(a.size) for a in arrays], *map(str, ints)]
        env = {**os.environ, **SANITIZER_ENV}
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        if "unexpected memory mapping" in done.stderr:  # TSan and a randomised address space: run without it
            done = subprocess.run(["setarch", os.uname().machine, "-R", *cmd], capture_output=True, text=True,
                                  env=env, timeout=300)
        if done.returncode or "Sanitizer" in done.stderr or "runtime error" in done.stderr:
            raise KernelError(f"{flavor}: exit status {done.returncode}\n{done.stderr[-4000:]}")
        return np.fromfile(out, np.float32).reshape(arrays[2].shape)


def matmul(A: ArrayLike, B: ArrayLike, kernel: str = "warptiling", record: int | None = None,
           source: str | None = None, **tiles: int) -> tuple[np.ndarray, Accesses]:
    """``A @ B`` by the kernel's own CUDA source running on the CPU (the trace build).

    Operands are prepared as :func:`zh.cuda.matmul.matmul` prepares them and the launch has the
    same grid, block and ``-D`` options. The output starts as NaN, so an element no thread writes
    shows up.

    Args:
        A: an ``M x K`` array-like.
        B: a ``K x N`` array-like.
        kernel: a name in ``zh.cuda.matmul.KERNELS``.
        record: a flat block id whose accesses are logged (``-1``: every block).
        source: another source for the kernel (a modified copy), instead of its ``.cu`` file.
        **tiles: tiling constants to use instead of the source's.

    Returns:
        The ``M x N`` product, and what the launch touched.
    """
    spec = get_kernel(kernel)
    consts = spec.constants(**tiles)
    A, B, n = prepare(A, B, spec)
    (M, K), N = A.shape, B.shape[1]
    C = np.full((M, N), np.nan, np.float32)
    fn = function(spec.file, spec.entry, spec.defines(**tiles), source)
    seen = fn(A, B, C, M, N, K, block=spec.block_of(consts), grid=spec.grid_of(consts, M, N), record=record)
    return C[:, :n].copy(), seen
