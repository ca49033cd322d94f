"""A stand-in for pycuda, for testing the launchers and the benchmark script without a GPU.

Device memory is NumPy; a "compiled" kernel either is the source pycuda was given, compiled for
the CPU with the same ``-D`` options by zh.cuda.cpu and launched with the grid and block it was
given (``exact=True``: a launcher that compiles one tiling and launches another, or gets a grid
wrong, gets a wrong answer), or computes the intended result with NumPy (fast, for the script).
"""

import sys
import time
import types

import numpy as np

from zh.cuda import cpu, runtime


class Buffer:
    def __init__(self, nbytes):
        self.bytes = np.zeros(nbytes, np.uint8)

    def floats(self):
        return self.bytes.view(np.float32)

    def free(self):
        self.bytes = None

    def __int__(self):  # the "device pointer": where the bytes are (the fake cuBLAS reads it)
        return self.bytes.ctypes.data


class In:
    def __init__(self, a):
        self.a = np.ascontiguousarray(a)

    def floats(self):
        return self.a.reshape(-1).view(np.float32)


class Out(In):
    def __init__(self, a):
        a[...] = np.nan  # like fresh device memory, holds nothing useful: unwritten elements show
        self.a = a  # written in place: the launcher's own array


class Function:
    def __init__(self, source, options, entry, exact):
        self.source, self.options, self.entry, self.exact = source, tuple(options or ()), entry, exact

    def __call__(self, *args, block, grid):
        bufs, sizes = [a.floats() for a in args[:3]], [int(a) for a in args[3:]]
        if self.exact:
            fn = cpu.function("pycuda.cu", self.entry, self.options, source=self.source)
            fn(*bufs, *sizes, block=block, grid=grid)
        elif self.entry == "vector_add":
            (n,) = sizes
            bufs[2][:n] = bufs[0][:n] + bufs[1][:n]
        else:
            M, N, K = sizes
            A, B = bufs[0][: M * K].reshape(M, K), bufs[1][: K * N].reshape(K, N)
            bufs[2][: M * N] = (A @ B).ravel()


class Event:
    def record(self):
        self.t = time.perf_counter()

    def synchronize(self):
        pass

    def time_till(self, other):
        return (other.t - self.t) * 1e3


def install(monkeypatch, exact: bool):
    """Make zh.cuda (and scripts/bench_cuda.py) find this fake instead of pycuda."""

    class Error(Exception):
        pass

    device = types.SimpleNamespace(
        name=lambda: "FakeGPU (NumPy)", compute_capability=lambda: (9, 0), total_memory=lambda: 2**30,
        get_attribute=lambda a: {"MULTIPROCESSOR_COUNT": 2, "CLOCK_RATE": 1_000_000, "MEMORY_CLOCK_RATE": 1_000_000,
                                 "GLOBAL_MEMORY_BUS_WIDTH": 64}[a],
        retain_primary_context=lambda: types.SimpleNamespace(push=lambda: None, pop=lambda: None),
    )

    def to_device(a):
        buf = Buffer(a.nbytes)
        buf.floats()[:] = np.ascontiguousarray(a, np.float32).ravel()
        return buf

    drv = types.SimpleNamespace(
        Error=Error, init=lambda: None, In=In, Out=Out, Event=Event,
        Device=types.SimpleNamespace(count=lambda: 1, __call__=None),
        Context=types.SimpleNamespace(get_device=lambda: device, synchronize=lambda: None),
        device_attribute=types.SimpleNamespace(
            **{k: k for k in ["MULTIPROCESSOR_COUNT", "CLOCK_RATE", "MEMORY_CLOCK_RATE", "GLOBAL_MEMORY_BUS_WIDTH"]}
        ),
        get_driver_version=lambda: 0, get_version=lambda: (0, 0, 0),
        mem_alloc=Buffer, to_device=to_device,
        from_device=lambda buf, shape, dtype: buf.floats()[: int(np.prod(shape))].reshape(shape).copy(),
        memcpy_htod=lambda buf, a: buf.floats().__setitem__(slice(0, a.size), np.asarray(a, np.float32).ravel()),
        memcpy_dtod=lambda dst, src, n: dst.bytes.__setitem__(slice(0, n), src.bytes[:n]),
    )
    drv.Device = type("Device", (), {"count": staticmethod(lambda: 1), "__new__": lambda cls, i: device})
    compiler = types.ModuleType("pycuda.compiler")
    compiler.SourceModule = lambda source, options=None: types.SimpleNamespace(
        get_function=lambda entry: Function(source, options, entry, exact))
    package = types.ModuleType("pycuda")
    package.VERSION_TEXT = "fake"
    package.driver, package.compiler = drv, compiler
    for name, module in [("pycuda", package), ("pycuda.driver", drv), ("pycuda.compiler", compiler)]:
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(runtime, "_import_driver", lambda: drv)
    runtime.driver.cache_clear()
    runtime.function.cache_clear()
    return drv
