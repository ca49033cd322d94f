"""zh.models.wavenet: parameter count, shapes, the 3-D BatchNorm bug and its fix (vs torch), conv form == tree,
BatchNorm calibration, and the --quick modes of its two scripts."""

import json

import pytest
import torch

from zh.models.activations import build_mlp, train
from zh.train import ParameterAverage, calibrate_batchnorm
from zh.models.wavenet import STAGES, PositionwiseBatchNorm1d, WaveNet, WaveNetConfig
from zh.nn.layers import BatchNorm1d
from script_loader import load_script



@pytest.mark.parametrize("stage, count", [("context3", 12_097), ("context8", 22_097), ("hierarchical", 22_397),
                                          ("bnfix", 22_397), ("wide", 76_579)])
def test_parameter_counts(stage, count):
    _, config, batchnorm, _ = STAGES[stage]
    model = WaveNet(config, batchnorm=batchnorm)
    assert sum(p.numel() for p in model.parameters()) == count == sum(p.numel() for p in model.layers.parameters())


def test_shapes_level_by_level():
    model = WaveNet(WaveNetConfig(), generator=torch.Generator().manual_seed(0))
    model.layers(torch.randint(0, 27, (4, 8)))
    shapes = [tuple(layer.out.shape) for layer in model.layers]
    assert shapes == [(4, 8, 24), (4, 4, 48), (4, 4, 128), (4, 4, 128), (4, 4, 128), (4, 2, 256), (4, 2, 128),
                      (4, 2, 128), (4, 2, 128), (4, 256), (4, 128), (4, 128), (4, 128), (4, 27)]


def test_block_size_must_be_a_power_of_n_consecutive():
    for block_size, n in [(6, 2), (8, 3), (8, 1), (1, 2)]:
        with pytest.raises(ValueError, match="must be a power"):
            WaveNet(WaveNetConfig(block_size=block_size, n_consecutive=n))
    assert WaveNetConfig(block_size=9, n_consecutive=3).levels == 2


@pytest.mark.parametrize("unbiased", [False, True])
def test_batchnorm_fix_matches_torch_on_3d_input(unbiased):
    """Channels last (N, L, C) here == torch.nn.BatchNorm1d on the permuted (N, C, L): output and running stats."""
    g = torch.Generator().manual_seed(0)
    ours, theirs = BatchNorm1d(5, unbiased=unbiased), torch.nn.BatchNorm1d(5)
    for _ in range(3):
        x = torch.randn(7, 4, 5, generator=g) * 3 + 1
        out = ours(x)
        ref = theirs(x.permute(0, 2, 1)).permute(0, 2, 1)
        if not unbiased:  # torch normalises with the biased variance
            torch.testing.assert_close(out, ref)
    torch.testing.assert_close(ours.running_mean, theirs.running_mean)
    torch.testing.assert_close(ours.running_var, theirs.running_var)
    ours.eval(), theirs.eval()
    x = torch.randn(2, 4, 5, generator=g)
    torch.testing.assert_close(ours(x), theirs(x.permute(0, 2, 1)).permute(0, 2, 1))


def test_positionwise_batchnorm_is_the_bug():
    """Statistics per (position, channel): buffers of shape (1, T, C); each position normalised on its own."""
    g = torch.Generator().manual_seed(0)
    bug = PositionwiseBatchNorm1d(5, unbiased=True)
    x = torch.randn(32, 4, 5, generator=g) + torch.arange(4.0).view(1, 4, 1)  # positions with different means
    out = bug(x)
    assert bug.running_mean.shape == bug.running_var.shape == (1, 4, 5)
    torch.testing.assert_close(out.mean(0), torch.zeros(4, 5), atol=1e-5, rtol=0)  # every position centred alone
    torch.testing.assert_close(bug.running_mean, 0.1 * x.mean(0, keepdim=True))
    fixed = BatchNorm1d(5, unbiased=True)
    fixed(x)
    assert fixed.running_mean.shape == (5,)
    torch.testing.assert_close(fixed.running_mean, 0.1 * x.mean((0, 1)))


def _randomised(config, seed=0):
    """A model with random weights and random BatchNorm buffers (eval mode), so that no equality holds by luck."""
    g = torch.Generator().manual_seed(seed)
    model = WaveNet(config, generator=g)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) / (p.shape[0] ** 0.5 if p.ndim == 2 else 1))
        for name, b in model.named_buffers():
            b.copy_(torch.rand(b.shape, generator=g) + (0.5 if "var" in name else -0.5))
    return model.eval()


@pytest.mark.parametrize("config", [WaveNetConfig(), WaveNetConfig(n_embd=5, n_hidden=7),
                                    WaveNetConfig(block_size=9, n_consecutive=3, n_hidden=11),
                                    WaveNetConfig(block_size=3, n_consecutive=3), WaveNetConfig(block_size=16)])
@pytest.mark.parametrize("via", ["conv1d", "matmul"])
def test_convolution_equals_the_tree_at_every_position(config, via):
    model = _randomised(config)
    g = torch.Generator().manual_seed(1)
    idx = torch.randint(0, 27, (6, 21), generator=g)
    padded = torch.nn.functional.pad(idx, (config.block_size - 1, 0))
    with torch.no_grad():
        tree = torch.stack([model(padded[:, t : t + config.block_size])[0] for t in range(21)], dim=1)
        conv = model.convolve(idx, via)
    assert conv.shape == (6, 21, 27)
    torch.testing.assert_close(conv, tree, rtol=1e-5, atol=1e-5)


def test_convolve_rejects_unknown_method():
    with pytest.raises(ValueError, match="via"):
        WaveNet(WaveNetConfig()).convolve(torch.zeros(1, 3, dtype=torch.long), "fft")


def _trained(name: str):
    """A small network with BatchNorm layers after a few steps of training (running statistics still rough)."""
    g = torch.Generator().manual_seed(0)
    X, Y = torch.randint(0, 27, (600, 8), generator=g), torch.randint(0, 27, (600,), generator=g)
    if name == "mlp":
        layers = build_mlp(27, block_size=8, n_hidden=16, n_layers=3, generator=g)
        module = None
    else:
        bn = PositionwiseBatchNorm1d if name == "positionwise" else BatchNorm1d
        module = WaveNet(WaveNetConfig(n_embd=4, n_hidden=16), generator=g, batchnorm=bn)
        layers = module.layers
    train(layers, X, Y, 20, batch_size=32, learning_rate=0.1, generator=g)
    return layers, module, X


@pytest.mark.parametrize("name", ["mlp", "wavenet", "positionwise"])
def test_calibrate_batchnorm_normalises_the_whole_split(name):
    layers, module, X = _trained(name)
    calibrate_batchnorm(layers, X)
    assert layers.training  # the mode it found is restored
    layers.eval()
    x, checked = X, 0
    with torch.no_grad():
        for layer in layers.layers:
            x = layer(x)
            if isinstance(layer, BatchNorm1d):  # in eval mode each normalised channel is now exactly standard
                xhat = (x - layer.bias) / layer.weight
                dims = (0,) if isinstance(layer, PositionwiseBatchNorm1d) else tuple(range(x.ndim - 1))
                assert xhat.mean(dims).abs().max() < 1e-4
                assert (xhat.var(dims) - 1).abs().max() < 1e-3  # eps = 1e-5 leaves a trace below this
                checked += 1
    assert checked == 3
    if name == "wavenet":  # the buffers the module registered are the ones calibrated (state_dict, .to(...))
        state = module.state_dict()
        bns = [(i, layer) for i, layer in enumerate(layers.layers) if isinstance(layer, BatchNorm1d)]
        assert all(torch.equal(state[f"{i}_running_mean"], layer.running_mean) for i, layer in bns)


@pytest.mark.parametrize("unbiased", [False, True])
def test_calibrate_batchnorm_uses_the_running_buffers_convention(unbiased):
    """running_var holds the unbiased variance, whichever variance the layer normalises with (torch's rule)."""
    layers = build_mlp(27, block_size=3, n_hidden=8, generator=torch.Generator().manual_seed(1))
    for layer in layers.layers:
        if isinstance(layer, BatchNorm1d):
            layer.unbiased = unbiased
    X = torch.randint(0, 27, (50, 3), generator=torch.Generator().manual_seed(2))
    calibrate_batchnorm(layers, X)
    bn_input = layers.layers[2](layers.layers[1](layers.layers[0](X)))  # Embedding, Flatten, Linear
    bn = layers.layers[3]
    assert torch.allclose(bn.running_mean, bn_input.mean(0)) and torch.allclose(bn.running_var, bn_input.var(0))


def test_parameter_average_is_the_mean_of_the_iterates_after_start():
    layers = build_mlp(27, block_size=3, n_hidden=8, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(1)
    X, Y = torch.randint(0, 27, (200, 3), generator=g), torch.randint(0, 27, (200,), generator=g)
    seen = []
    average = ParameterAverage(layers.parameters(), start=6)

    def on_step(lr, params, grads):
        average.update()
        seen.append([p.detach().clone() for p in params])

    train(layers, X, Y, 10, batch_size=16, learning_rate=0.1, generator=g, on_step=on_step)
    assert average.count == 4
    expected = [torch.stack([step[i] for step in seen[6:]]).mean(0) for i in range(len(seen[0]))]
    average.apply()
    for p, e in zip(layers.parameters(), expected):
        torch.testing.assert_close(p, e)
    with pytest.raises(ValueError, match="no step after step 50 was averaged"):
        ParameterAverage(layers.parameters(), start=50).apply()


@pytest.mark.slow
def test_train_wavenet_quick(tmp_path, monkeypatch):
    script = load_script("train_wavenet")
    whole = script.names_splits

    def first_contexts(block_size):  # what is checked is the bookkeeping: 20,000 contexts per split will do
        vocab, *splits = whole(block_size)
        return (vocab, *((X[:20_000], Y[:20_000]) for X, Y in splits))

    monkeypatch.setattr(script, "names_splits", first_contexts)
    rows = script.main(["--quick", "--out-dir", str(tmp_path), "--stage", "bnfix"])
    script.main(["--quick", "--out-dir", str(tmp_path), "--stage", "context3"])
    saved = json.loads((tmp_path / "train_wavenet.json").read_text())
    assert list(saved["stages"]) == ["context3", "bnfix"]  # both rows kept, in the series' order
    assert rows["bnfix"]["parameters"] == 22_397 and rows["bnfix"]["val"] < 3.0
    assert rows["bnfix"]["val_calibrated"] < 3.0 and rows["bnfix"]["val_calibrated"] != rows["bnfix"]["val"]
    assert rows["bnfix"]["val_averaged"] < 3.0 and rows["bnfix"]["val_averaged"] != rows["bnfix"]["val_calibrated"]
    assert saved["stages"]["bnfix"]["curve"]["every"] == 1 and len(saved["stages"]["bnfix"]["curve"]["loss"]) == 300
    table = (tmp_path / "train_wavenet.md").read_text()
    assert "| BatchNorm bug fixed | 22,397 | 300 |" in table and "not run yet" in table


def test_bench_wavenet_quick(tmp_path):
    data = load_script("bench_wavenet").main(["--quick", "--out-dir", str(tmp_path)])
    assert data["max_abs_difference"] < 1e-4 and set(data["seconds"]) == {"tree", "conv1d", "matmul"}
    assert "dilated convolutions" in (tmp_path / "bench_wavenet.md").read_text()


@pytest.mark.parametrize("name", ["train_wavenet", "bench_wavenet"])
def test_quick_mode_refuses_to_overwrite_committed_results(name, capsys):
    with pytest.raises(SystemExit):
        load_script(name).main(["--quick"])
    assert "--quick needs --out-dir" in capsys.readouterr().err
