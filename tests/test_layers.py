"""zh.nn.layers against their torch.nn counterparts: same outputs, same gradients, same buffers."""

import pytest
import torch
from torch.testing import assert_close

from zh.nn import BatchNorm1d, Embedding, Flatten, FlattenConsecutive, LayerNorm, Linear, Sequential, Tanh


def _leaf(*shape, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)).requires_grad_()


def _grad_of(fn, *tensors):
    """Output of fn and gradients of sum(out * fixed random weights) with respect to tensors."""
    out = fn()
    w = torch.randn(out.shape, generator=torch.Generator().manual_seed(99))
    grads = torch.autograd.grad((out * w).sum(), tensors)
    return out.detach(), grads


@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(bias):
    ours = Linear(7, 5, bias=bias, generator=torch.Generator().manual_seed(1))
    if bias:
        ours.bias = torch.randn(5)
    ref = torch.nn.Linear(7, 5, bias=bias)
    with torch.no_grad():
        ref.weight.copy_(ours.weight.T)  # torch stores (out, in); the series stores (in, out)
        if bias:
            ref.bias.copy_(ours.bias)
    for p in ours.parameters():
        p.requires_grad_()
    x = _leaf(4, 3, 7)  # any leading dimensions
    out, grads = _grad_of(lambda: ours(x), x, *ours.parameters())
    ref_out, ref_grads = _grad_of(lambda: ref(x), x, *ref.parameters())
    assert_close(out, ref_out)
    assert_close(grads[0], ref_grads[0])
    assert_close(grads[1], ref_grads[1].T)
    if bias:
        assert_close(grads[2], ref_grads[2])


def test_linear_init_scale_and_bad_shape():
    layer = Linear(400, 300, generator=torch.Generator().manual_seed(0))
    assert abs(layer.weight.std().item() * 400**0.5 - 1) < 0.01
    with pytest.raises(ValueError, match=r"in_features=400.*\(8, 3\)"):
        layer(torch.randn(8, 3))


def _torch_bn(dim, momentum=0.1):
    ref = torch.nn.BatchNorm1d(dim, eps=1e-5, momentum=momentum)
    with torch.no_grad():
        ref.weight.copy_(torch.randn(dim))
        ref.bias.copy_(torch.randn(dim))
    return ref


@pytest.mark.parametrize("shape", [(32, 6), (2, 6), (8, 5, 6), (1, 3, 6)])
def test_batchnorm_matches_torch_in_training_and_eval(shape):
    """Default (unbiased=False): torch's BatchNorm1d exactly, including running_var (unbiased)."""
    ref = _torch_bn(6, momentum=0.2)
    ours = BatchNorm1d(6, momentum=0.2)
    ours.gamma, ours.beta = ref.weight.detach().clone().requires_grad_(), ref.bias.detach().clone().requires_grad_()
    # torch wants (N, C, L); ours takes the channels last
    to_torch = (lambda t: t) if len(shape) == 2 else (lambda t: t.transpose(1, 2))
    for step in range(3):
        x = _leaf(*shape, seed=step) * 3 + 1
        out, grads = _grad_of(lambda: ours(x), x, ours.gamma, ours.beta)
        ref_out, ref_grads = _grad_of(lambda: to_torch(ref(to_torch(x))), x, ref.weight, ref.bias)
        assert_close(out, ref_out)
        for g, rg in zip(grads, ref_grads):
            assert_close(g, rg)
        assert_close(ours.running_mean, ref.running_mean)
        assert_close(ours.running_var, ref.running_var)
    ours.eval(), ref.eval()
    x = _leaf(*shape, seed=7)
    out, grads = _grad_of(lambda: ours(x), x)
    ref_out, ref_grads = _grad_of(lambda: to_torch(ref(to_torch(x))), x)
    assert_close(out, ref_out)
    assert_close(grads[0], ref_grads[0])


def test_batchnorm_unbiased_is_the_series_formula():
    """unbiased=True normalises with x.var(0) (divide by m-1), as the series' code; running_var is the same as torch's."""
    x = _leaf(10, 4) * 2
    ours, ref = BatchNorm1d(4, unbiased=True), torch.nn.BatchNorm1d(4)
    out = ours(x)
    assert_close(out, (x - x.mean(0)) / torch.sqrt(x.var(0) + 1e-5))
    ref(x)
    assert_close(ours.running_mean, ref.running_mean)
    assert_close(ours.running_var, ref.running_var)
    # so it differs from torch's training output by the factor sqrt((m-1)/m) (up to eps)
    assert_close(out, ref(x) * (9 / 10) ** 0.5, atol=1e-4, rtol=1e-4)


def test_batchnorm_constant_channel_and_errors():
    x = torch.randn(16, 3)
    x[:, 1] = 4.2
    out = BatchNorm1d(3)(x)
    assert torch.isfinite(out).all() and out[:, 1].abs().max() < 1e-2
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*\(1, 3\)"):
        BatchNorm1d(3)(torch.randn(1, 3))
    BatchNorm1d(3).eval()(torch.randn(1, 3))  # fine in eval mode
    with pytest.raises(ValueError, match=r"channels last.*\(4, 3, 5\)"):
        BatchNorm1d(3)(torch.randn(4, 3, 5))


def test_tanh_embedding_flatten_match_torch():
    for ours, ref in [(Tanh(), torch.nn.Tanh()), (Flatten(), torch.nn.Flatten())]:
        y = _leaf(5, 3, 4)
        out, g = _grad_of(lambda: ours(y), y)
        ref_out, rg = _grad_of(lambda: ref(y), y)
        assert_close(out, ref_out)
        assert_close(g[0], rg[0])
    emb = Embedding(27, 10, generator=torch.Generator().manual_seed(3))
    emb.weight.requires_grad_()
    ref = torch.nn.Embedding(27, 10)
    with torch.no_grad():
        ref.weight.copy_(emb.weight)
    idx = torch.randint(0, 27, (8, 3), generator=torch.Generator().manual_seed(4))
    idx[0] = 5  # repeated indices accumulate gradient
    out, g = _grad_of(lambda: emb(idx), emb.weight)
    ref_out, rg = _grad_of(lambda: ref(idx), ref.weight)
    assert_close(out, ref_out)
    assert_close(g[0], rg[0])


def test_embedding_errors_name_the_bad_index():
    emb = Embedding(27, 2)
    with pytest.raises(IndexError, match="index 30 is out of range.*0..26"):
        emb(torch.tensor([[1, 30]]))
    with pytest.raises(TypeError, match="integer indices"):
        emb(torch.tensor([1.0]))


@pytest.mark.parametrize("n", [1, 2, 4, 8])
def test_flatten_consecutive_concatenates_runs(n):
    x = _leaf(4, 8, 3)
    out = FlattenConsecutive(n)(x)
    expected = torch.cat([x[:, i::n] for i in range(n)], dim=2)  # positions i, i+n, ... side by side
    assert_close(out, expected.squeeze(1) if expected.shape[1] == 1 else expected)
    with pytest.raises(ValueError, match=r"T divisible by 3.*\(4, 8, 3\)"):
        FlattenConsecutive(3)(x)


def test_sequential_matches_torch_and_propagates_eval():
    g = torch.Generator().manual_seed(5)
    ours = Sequential([Embedding(27, 4, generator=g), Flatten(), Linear(12, 16, bias=False, generator=g), BatchNorm1d(16), Tanh(), Linear(16, 27, generator=g)])
    ref = torch.nn.Sequential(torch.nn.Embedding(27, 4), torch.nn.Flatten(), torch.nn.Linear(12, 16, bias=False), torch.nn.BatchNorm1d(16), torch.nn.Tanh(), torch.nn.Linear(16, 27))
    with torch.no_grad():
        for a, b in zip(ours.parameters(), ref.parameters()):
            b.copy_(a.T if a.ndim == 2 and a.shape != b.shape else a)
    params = ours.parameters()
    for p in params:
        p.requires_grad_()
    idx = torch.randint(0, 27, (32, 3), generator=g)
    out, grads = _grad_of(lambda: ours(idx), *params)
    ref_out, ref_grads = _grad_of(lambda: ref(idx), *ref.parameters())
    assert_close(out, ref_out)
    for a, b in zip(grads, ref_grads):
        assert_close(a, b.T if a.shape != b.shape else b)
    ours.eval()
    assert all(not layer.training for layer in ours.layers)
    assert len(ours) == 6 and isinstance(ours[3], BatchNorm1d)


@pytest.mark.parametrize("shape", [(5, 6), (2, 4, 6), (1, 1, 6), (3, 2, 2, 6)])
@pytest.mark.parametrize("eps", [1e-5, 1e-2])
def test_layernorm_matches_torch(shape, eps):
    ref = torch.nn.LayerNorm(6, eps=eps)
    with torch.no_grad():
        ref.weight.copy_(torch.randn(6))
        ref.bias.copy_(torch.randn(6))
    ours = LayerNorm(6, eps=eps)
    ours.gamma, ours.beta = ref.weight.detach().clone().requires_grad_(), ref.bias.detach().clone().requires_grad_()
    x = _leaf(*shape) * 3 + 1
    out, grads = _grad_of(lambda: ours(x), x, ours.gamma, ours.beta)
    ref_out, ref_grads = _grad_of(lambda: ref(x), x, ref.weight, ref.bias)
    assert_close(out, ref_out)
    for g, rg in zip(grads, ref_grads):
        assert_close(g, rg)
    ours.eval()  # no running statistics: eval mode changes nothing
    assert_close(ours(x).detach(), out)
    assert ours.parameters() == [ours.gamma, ours.beta] and repr(ours) == f"LayerNorm(6, eps={eps})"


def test_layernorm_rows_are_independent_and_errors():
    x = torch.randn(8, 5) * 4 + 2
    x[3] = 1.5  # a constant row gives zeros, not NaN
    out = LayerNorm(5)(x)
    assert torch.isfinite(out).all() and out[3].abs().max() == 0
    assert_close(LayerNorm(5)(x[:1]), out[:1])  # an example's output does not depend on its batch
    with pytest.raises(ValueError, match=r"dim=5.*\(8, 4\)"):
        LayerNorm(5)(torch.randn(8, 4))
