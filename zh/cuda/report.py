"""What the CUDA benchmark measured, as tables and plots, and the roofline model to read them with.

Page: [CUDA / matmul](../cuda/matmul.md). ``scripts/bench_cuda.py`` writes
``docs/results/bench_cuda.json`` on a GPU; the pages draw their plots from it with these
functions; with no GPU run committed yet they draw nothing and the pages say so in words.
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[2] / "docs" / "results" / "bench_cuda.json"
NO_MEASUREMENT = "No GPU measurement has been made yet"


def matmul_flops(M: int, N: int, K: int) -> int:
    """Floating-point operations of ``C = A @ B``: one multiply and one add per ``(m, n, k)``."""
    return 2 * M * N * K


def matmul_bytes(M: int, N: int, K: int, itemsize: int = 4) -> int:
    """The fewest bytes ``A @ B`` must move to or from memory: read A and B once, write C once."""
    return itemsize * (M * K + K * N + M * N)


def vector_add_bytes(n: int, itemsize: int = 4) -> int:
    """Bytes moved by ``c = a + b`` on ``n`` elements: two reads and one write each."""
    return 3 * itemsize * n


def attainable(intensity: float, peak_gflops: float, bandwidth_gbs: float) -> float:
    """The roofline: the most GFLOP/s a kernel of this arithmetic intensity (FLOP/byte) can reach."""
    return min(peak_gflops, intensity * bandwidth_gbs)


def load(path: Path | str = RESULTS) -> dict | None:
    """The committed benchmark results, or ``None`` if no GPU run has been committed."""
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else None


def _fmt(x: float | None, digits: int = 0) -> str:
    return "—" if x is None else f"{x:,.{digits}f}"


def matmul_table(results: dict) -> str:
    """Markdown: GFLOP/s of every kernel at every size, and its share of cuBLAS at each size."""
    mm = results["matmul"]
    sizes, rates = mm["sizes"], mm["gflops"]
    peer = rates.get("cublas")
    head = "| kernel | " + " | ".join(f"{s}²" for s in sizes) + " |\n|---|" + "---:|" * len(sizes) + "\n"
    rows = []
    for name, values in rates.items():
        cells = []
        for i, v in enumerate(values):
            share = "" if v is None or not peer or not peer[i] or name == "cublas" else f" ({100 * v / peer[i]:.1f}%)"
            cells.append(_fmt(v) + share)
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    note = "\nGFLOP/s (median of timed repeats); in brackets, the share of FP32 cuBLAS at the same size.\n"
    skipped = mm.get("skipped") or {}
    if skipped:
        note += "Not measured (—): " + "; ".join(f"{k}: {v}" for k, v in skipped.items()) + ".\n"
    return head + "\n".join(rows) + "\n" + note


def vector_add_table(results: dict) -> str:
    """Markdown: vector add and device-to-device copy bandwidth at every size."""
    va = results["vector_add"]
    spec = results["gpu"]["spec_bandwidth_gbs"]
    lines = ["| elements | add GB/s | copy GB/s | add / copy | add / spec |", "|---:|---:|---:|---:|---:|"]
    for n, add, copy in zip(va["sizes"], va["add_gbs"], va["copy_gbs"]):
        of_spec = f"{100 * add / spec:.1f}%" if spec else "—"
        lines.append(f"| 2^{n.bit_length() - 1} | {add:,.0f} | {copy:,.0f} | {100 * add / copy:.1f}% | {of_spec} |")
    return "\n".join(lines) + f"\n\nSpec bandwidth (2 × memory clock × bus width): {_fmt(spec)} GB/s.\n"


def table(results: dict) -> str:
    """The Markdown the pages include: both tables and what was measured on."""
    gpu = results["gpu"]
    return (
        f"**Matrix multiplication, {gpu['name']}** (square sizes, float32)\n\n{matmul_table(results)}\n"
        f"**Vector add, {gpu['name']}**\n\n{vector_add_table(results)}"
    )


def plot_matmul(results: dict | None):
    """GFLOP/s against matrix size, one line per kernel and one for cuBLAS; ``None`` without results.

    A page's figure of ``None`` shows nothing: the page says in words that nothing is measured.
    """
    import matplotlib.pyplot as plt

    if results is None:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.2))
    mm = results["matmul"]
    for name, values in mm["gflops"].items():
        pts = [(s, v) for s, v in zip(mm["sizes"], values) if v is not None]
        if pts:
            ax.plot(*zip(*pts), "--" if name == "cublas" else "-", marker="o", ms=3, label=name)
    ax.set(xscale="log", yscale="log", xlabel="M = N = K", ylabel="GFLOP/s", title=results["gpu"]["name"])
    ax.set_xticks(mm["sizes"], [str(s) for s in mm["sizes"]])
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def plot_vector_add(results: dict | None):
    """Bandwidth of vector add and of a device-to-device copy against size; ``None`` without results."""
    import matplotlib.pyplot as plt

    if results is None:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    va = results["vector_add"]
    ax.plot(va["sizes"], va["add_gbs"], marker="o", ms=3, label="vector_add (12 bytes / element)")
    ax.plot(va["sizes"], va["copy_gbs"], marker="s", ms=3, label="device-to-device copy (8 bytes / element)")
    if results["gpu"]["spec_bandwidth_gbs"]:
        ax.axhline(results["gpu"]["spec_bandwidth_gbs"], color="gray", ls=":", label="spec bandwidth")
    ax.set(xscale="log", xlabel="elements", ylabel="GB/s", title=results["gpu"]["name"])
    ax.set_xscale("log", base=2)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def plot_roofline(
    peak_gflops: float, bandwidth_gbs: float, points: dict[str, tuple[list, list | None]], title: str = ""
):
    """The roofline ``min(peak, intensity x bandwidth)`` with kernels placed on it.

    Args:
        peak_gflops: the compute roof.
        bandwidth_gbs: the slope of the memory roof.
        points: ``label -> (intensities, gflops)``; with ``gflops=None`` the intensities are
            drawn as vertical lines (where a kernel sits, before anything is measured).
        title: the plot's title.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(7, 4.2))
    x = np.logspace(-2, 4, 200)
    ax.plot(x, np.minimum(peak_gflops, x * bandwidth_gbs), color="black", lw=2, label="roofline")
    ax.axvline(peak_gflops / bandwidth_gbs, color="gray", ls=":", lw=1)
    for label, (intensity, gflops) in points.items():
        if gflops is None:
            for i, xi in enumerate(intensity):
                ax.axvline(xi, ls="--", lw=1, color=f"C{len(ax.lines) % 10}", label=label if i == 0 else None)
        else:
            ax.plot(intensity, gflops, "o", ms=4, label=label)
    ax.set(xscale="log", yscale="log", xlabel="arithmetic intensity (FLOP / byte)", ylabel="GFLOP/s", title=title)
    ax.legend(fontsize=9, loc="lower right")  # 9 pt at the page's width, like every figure's text
    ax.grid(alpha=0.3, which="both")
    return fig


def measured_roofline(results: dict | None):
    """The roofline of the measured GPU with every measured kernel on it; ``None`` without results.

    Also ``None`` when the results lack the GPU's peak FLOP/s or bandwidth (no roof to draw).
    """
    if results is None or not (results["gpu"]["peak_fp32_gflops"] and results["gpu"]["spec_bandwidth_gbs"]):
        return None
    gpu, mm, va = results["gpu"], results["matmul"], results["vector_add"]
    points = {"vector_add": ([1 / 12] * len(va["sizes"]), [g / 12 for g in va["add_gbs"]])}
    for name, values in mm["gflops"].items():
        pts = [(matmul_flops(s, s, s) / matmul_bytes(s, s, s), v) for s, v in zip(mm["sizes"], values) if v is not None]
        if pts:
            points[name] = tuple(map(list, zip(*pts)))
    return plot_roofline(gpu["peak_fp32_gflops"], gpu["spec_bandwidth_gbs"], points, title=gpu["name"])
