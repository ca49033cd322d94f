"""scripts/bench_engine.py --quick: the benchmark still runs, and its checks hold."""

import json


import bench_engine  # noqa: E402


def test_quick_benchmark_writes_results(tmp_path):
    data = bench_engine.main(["--quick"], out_dir=tmp_path)
    assert data["first_loss_identical"] and data["max_loss_difference"] <= 1e-9
    assert data["chain"]["micrograd"].startswith("RecursionError") and data["chain"]["zh_seconds"] > 0
    saved = json.loads((tmp_path / "bench_engine.json").read_text())
    assert saved["environment"]["python"] and set(saved["speedup"]) == {"default (gc on)", "gc disabled"}
    assert "| one step, gc disabled |" in (tmp_path / "bench_engine.md").read_text()
