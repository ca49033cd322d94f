"""scripts/bench_gpt.py --quick: both benchmarks run, check their outputs, and write what the GPT page includes."""

import json
from pathlib import Path
from script_loader import load_script

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "bench_gpt.py"


def test_quick_run_writes_results(tmp_path):
    data = load_script("bench_gpt").main(["--quick", "--out-dir", str(tmp_path), "--threads", "1"])
    saved = json.loads((tmp_path / "bench_gpt.json").read_text())
    assert saved["training"] == data["training"] and saved["quick"]
    assert set(data["training"]["tokens_per_s"]) == {"zh", "torch.nn"} and data["training"]["ratio"] > 0
    assert data["generation"]["same_tokens"] and data["generation"]["new_tokens"] == 40
    assert "zh ÷ torch.nn" in (tmp_path / "bench_gpt.md").read_text()


def test_the_torch_nn_reference_is_the_same_function_class():
    """Same parameter count; with zh's weights copied in, the same loss (so the benchmark compares like with like)."""
    import torch

    script = load_script("bench_gpt")
    config = script.GPTConfig(65, 16, 2, 2, 32)
    torch.manual_seed(0)
    zh, ref = script.GPT(config).double(), script.TorchNNGPT(config).double()
    ref.tok.weight.data.copy_(zh.embed.tok.weight)
    ref.pos.weight.data.copy_(zh.embed.pos.weight)
    ref.ln_f.load_state_dict(zh.ln_f.state_dict())
    for block, layer in zip(zh.blocks, ref.blocks.layers):
        layer.norm1.load_state_dict(block.ln_1.state_dict())
        layer.norm2.load_state_dict(block.ln_2.state_dict())
        layer.self_attn.in_proj_weight.data.copy_(block.attn.qkv.weight)
        layer.self_attn.in_proj_bias.data.copy_(block.attn.qkv.bias)
        layer.self_attn.out_proj.load_state_dict(block.attn.proj.state_dict())
        layer.linear1.load_state_dict(block.mlp.fc.state_dict())
        layer.linear2.load_state_dict(block.mlp.proj.state_dict())
    idx = torch.randint(0, 65, (3, 16))
    torch.testing.assert_close(ref(idx, idx)[1], zh(idx, idx)[1])


def test_committed_results_are_a_full_run_and_meet_the_targets():
    data = json.loads((SCRIPT.parent.parent / "docs" / "results" / "bench_gpt.json").read_text())
    assert not data["quick"] and data["threads"] == 2 and data["repeats"] == 5
    training, generation = data["training"], data["generation"]
    assert training["shape"]["n_embd"] == 128 and training["shape"]["batch_size"] == 12
    assert training["ratio"] >= 0.9
    assert generation["new_tokens"] == 256 and generation["shape"]["block_size"] == 256
    assert generation["same_tokens"] and generation["speedup"] >= 5
