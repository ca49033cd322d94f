"""zh.nn.layers against their torch.nn counterparts: same outputs, same gradients, same buffers."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.testing import assert_close

from zh.nn import BatchNorm1d, Embedding, Flatten, FlattenConsecutive, LayerNorm, Linear, Sequential, Tanh
from zh.nn.layers import layernorm_backward


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
        ref.weight.copy_(ours.weight.T)  # torch stores (out, in); the lectures store (in, out)
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
    ours.weight, ours.bias = ref.weight.detach().clone().requires_grad_(), ref.bias.detach().clone().requires_grad_()
    # torch wants (N, C, L); ours takes the channels last
    to_torch = (lambda t: t) if len(shape) == 2 else (lambda t: t.transpose(1, 2))
    for step in range(3):
        x = _leaf(*shape, seed=step) * 3 + 1
        out, grads = _grad_of(lambda: ours(x), x, ours.weight, ours.bias)
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
    """unbiased=True normalises with x.var(0) (divide by m-1), as the lectures do; running_var is torch's."""
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
    ours = Sequential(
        Embedding(27, 4, generator=g), Flatten(), Linear(12, 16, bias=False, generator=g), BatchNorm1d(16), Tanh(),
        Linear(16, 27, generator=g),
    )
    ref = torch.nn.Sequential(
        torch.nn.Embedding(27, 4),
        torch.nn.Flatten(),
        torch.nn.Linear(12, 16, bias=False),
        torch.nn.BatchNorm1d(16),
        torch.nn.Tanh(),
        torch.nn.Linear(16, 27),
    )
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


def test_sequential_takes_layers_as_arguments_or_one_list():
    a, b = Linear(3, 4), Tanh()
    assert Sequential(a, b).layers == Sequential([a, b]).layers == Sequential((a, b)).layers == [a, b]
    assert Sequential()(torch.ones(2)).tolist() == [1.0, 1.0]  # empty: the identity, as in torch
    assert isinstance(Sequential(a, b)[:1], Sequential) and Sequential(a, b)[:1].layers == [a]
    assert repr(Sequential(Linear(3, 4), Tanh())) == "Sequential(\n  Linear(3, 4, bias=True),\n  Tanh(),\n)"
    with pytest.raises(TypeError, match=r"<class .*Tanh'> at position 1 \(the class itself: did you mean Tanh\(\)\?\)"):
        Sequential(Linear(3, 4), Tanh)
    with pytest.raises(TypeError, match="got 3 at position 0"):
        Sequential(3)


def test_sequential_lists_a_shared_layer_once_so_sgd_updates_it_once():
    """torch.nn.Sequential(shared, shared).parameters() yields each parameter once; so does ours."""
    shared = Linear(3, 3, generator=torch.Generator().manual_seed(0))
    ours = Sequential(shared, Tanh(), shared)
    ref_shared = torch.nn.Linear(3, 3)
    ref = torch.nn.Sequential(ref_shared, torch.nn.Tanh(), ref_shared)
    with torch.no_grad():
        ref_shared.weight.copy_(shared.weight.T)
        ref_shared.bias.copy_(shared.bias)
    assert len(ours.parameters()) == len(list(ref.parameters())) == 2
    for p in ours.parameters():
        p.requires_grad_()
    x = _leaf(5, 3)
    for model in (ours, ref):  # one manual SGD step each
        model(x).square().sum().backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
    assert_close(shared.weight, ref_shared.weight.T)
    assert_close(shared.bias, ref_shared.bias)


@pytest.mark.parametrize("build, message", [
    (lambda: Linear(0, 3), "Linear needs in_features to be a whole number of at least 1, got in_features=0"),
    (lambda: Linear(3, 0), "got out_features=0"),
    (lambda: Linear(2.5, 3), "got in_features=2.5"),
    (lambda: Linear(-1, 3), "got in_features=-1"),
    (lambda: Embedding(0, 2), "got num_embeddings=0"),
    (lambda: Embedding(27, 0), "got embedding_dim=0"),
    (lambda: BatchNorm1d(0), "BatchNorm1d needs dim to be a whole number of at least 1, got dim=0"),
    (lambda: BatchNorm1d(4, eps=-1e-5), "eps >= 0"),
    (lambda: BatchNorm1d(4, momentum=1.5), r"momentum in \[0, 1\] .* or None .*got momentum=1.5"),
    (lambda: LayerNorm(0), "LayerNorm needs dim to be a whole number of at least 1, got dim=0"),
    (lambda: LayerNorm(4, eps=float("nan")), "LayerNorm needs eps >= 0"),
    (lambda: FlattenConsecutive(0), "got n=0"),
    (lambda: FlattenConsecutive(2.0), "got n=2.0"),
])
def test_degenerate_sizes_are_rejected_at_construction(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize("shape", [(8, 5), (4, 3, 5)])
def test_batchnorm_momentum_none_is_torchs_cumulative_average(shape):
    ours, ref = BatchNorm1d(5, momentum=None), torch.nn.BatchNorm1d(5, momentum=None)
    to_torch = (lambda t: t) if len(shape) == 2 else (lambda t: t.transpose(1, 2))
    batches = [torch.randn(shape, generator=torch.Generator().manual_seed(s)) * (s + 1) + s for s in range(4)]
    for x in batches:
        assert_close(ours(x), to_torch(ref(to_torch(x))).detach())
    assert ours.num_batches_tracked == ref.num_batches_tracked.item() == 4
    assert_close(ours.running_mean, ref.running_mean)
    assert_close(ours.running_var, ref.running_var)
    # the plain average of the four batch means (and of the four unbiased variances)
    assert_close(ours.running_mean, torch.stack([x.reshape(-1, 5).mean(0) for x in batches]).mean(0))
    assert_close(ours.running_var, torch.stack([x.reshape(-1, 5).var(0) for x in batches]).mean(0))
    ours.eval(), ref.eval()
    x = torch.randn(shape)
    assert_close(ours(x), to_torch(ref(to_torch(x))).detach())
    assert ours.num_batches_tracked == 4  # eval batches do not count
    assert "momentum=None" in repr(ours)


def test_flatten_of_an_empty_batch_keeps_the_feature_size_like_torch():
    x = torch.randn(0, 3, 4)
    assert Flatten()(x).shape == torch.nn.Flatten()(x).shape == (0, 12)
    assert FlattenConsecutive(2)(torch.randn(0, 4, 3)).shape == (0, 2, 6)
    assert Sequential(Embedding(27, 4), Flatten(), Linear(12, 5))(torch.zeros(0, 3, dtype=torch.long)).shape == (0, 5)
    with pytest.raises(ValueError, match=r"Flatten expects a batch of shape \(N, d1, ...\), got shape \(5,\)"):
        Flatten()(torch.randn(5))


@pytest.mark.parametrize("layer, bad, message", [
    (Linear(3, 4), [[1.0, 2.0, 3.0]],
     r"^Linear\(3, 4, bias=True\) expects a torch.float32 tensor of shape \(..., 3\), got a list; "
     r"convert it with torch.as_tensor\(x, dtype=torch.float32\)$"),
    (Linear(3, 4), np.ones((2, 3)), r"Linear\(3, 4, bias=True\) expects .* got a numpy.ndarray; convert it"),
    (Linear(3, 4), torch.ones(2, 3, dtype=torch.float64),
     r"^Linear\(3, 4, bias=True\) has torch.float32 parameters and expects a torch.float32 tensor of shape "
     r"\(..., 3\), got torch.float64; use x.to\(torch.float32\)$"),
    (Linear(3, 4), torch.ones(2, 3, dtype=torch.long), "got torch.int64; use x.to"),
    (BatchNorm1d(3), torch.ones(2, 3, dtype=torch.float64), r"^BatchNorm1d\(3, .*\) has torch.float32 parameters"),
    (BatchNorm1d(3), [[1.0, 2.0, 3.0]], r"^BatchNorm1d\(3, .*\) expects a torch.float32 tensor of shape \(N, 3\)"),
    (Embedding(27, 2), [1, 2], r"^Embedding\(27, 2\) expects a tensor of integer indices, got a list; "
     r"convert it with torch.as_tensor\(x, dtype=torch.int64\)$"),
    (LayerNorm(3), torch.ones(2, 3, dtype=torch.float64), r"^LayerNorm\(3, eps=1e-05\) has torch.float32 parameters"),
    (Tanh(), np.ones(3), r"^Tanh\(\) expects a tensor, got a numpy.ndarray"),
    (Flatten(), [[1.0]], r"^Flatten\(\) expects a tensor of shape \(N, d1, ...\), got a list"),
    (FlattenConsecutive(2), np.ones((2, 4, 3)), r"^FlattenConsecutive\(2\) expects a tensor of shape \(B, T, C\)"),
])
def test_wrong_input_types_name_the_layer_and_the_expected_input(layer, bad, message):
    with pytest.raises(TypeError, match=message):
        layer(bad)


def test_nan_and_inf_go_through_the_layers_as_in_torch():
    x = torch.randn(16, 6, generator=torch.Generator().manual_seed(0))
    x[3, 0], x[5, 2], x[7, 4] = math.nan, math.inf, -math.inf
    x.requires_grad_()
    g = torch.Generator().manual_seed(1)
    ours = Sequential(Linear(6, 6, generator=g), BatchNorm1d(6), Tanh())
    ref = torch.nn.Sequential(torch.nn.Linear(6, 6), torch.nn.BatchNorm1d(6), torch.nn.Tanh())
    with torch.no_grad():
        ref[0].weight.copy_(ours[0].weight.T)
        ref[0].bias.copy_(ours[0].bias)
    for p in ours.parameters():
        p.requires_grad_()
    out, grads = _grad_of(lambda: ours(x), x, *ours.parameters())
    ref_out, ref_grads = _grad_of(lambda: ref(x), x, *ref.parameters())
    assert out.isnan().all()  # Linear mixes the NaN of one input into every output, BatchNorm into every row
    assert_close(out, ref_out, equal_nan=True)
    for a, b in zip(grads, ref_grads):
        assert_close(a, b.T if a.shape != b.shape else b, equal_nan=True)
    assert_close(ours[1].running_mean, ref[1].running_mean, equal_nan=True)
    assert_close(ours[1].running_var, ref[1].running_var, equal_nan=True)
    bn_out = BatchNorm1d(6)(x.detach())  # alone, BatchNorm keeps a NaN or inf in its channel
    assert_close(bn_out, torch.nn.BatchNorm1d(6)(x.detach()).detach(), equal_nan=True)
    assert bn_out[:, [0, 2, 4]].isnan().all() and bn_out[:, [1, 3, 5]].isfinite().all()
    t = torch.tensor([math.nan, math.inf, -math.inf, 0.0])
    assert_close(Tanh()(t), torch.tanh(t), equal_nan=True)
    assert_close(Flatten()(t.view(1, 2, 2)), torch.nn.Flatten()(t.view(1, 2, 2)), equal_nan=True)


@pytest.mark.parametrize("shape", [(5, 6), (2, 4, 6), (1, 1, 6), (3, 2, 2, 6)])
@pytest.mark.parametrize("eps", [1e-5, 1e-2])
def test_layernorm_matches_torch(shape, eps):
    ref = torch.nn.LayerNorm(6, eps=eps)
    with torch.no_grad():
        ref.weight.copy_(torch.randn(6))
        ref.bias.copy_(torch.randn(6))
    ours = LayerNorm(6, eps=eps)
    ours.weight, ours.bias = ref.weight.detach().clone().requires_grad_(), ref.bias.detach().clone().requires_grad_()
    x = _leaf(*shape) * 3 + 1
    out, grads = _grad_of(lambda: ours(x), x, ours.weight, ours.bias)
    ref_out, ref_grads = _grad_of(lambda: ref(x), x, ref.weight, ref.bias)
    assert_close(out, ref_out)
    for g, rg in zip(grads, ref_grads):
        assert_close(g, rg)
    ours.eval()  # no running statistics: eval mode changes nothing
    assert_close(ours(x).detach(), out)
    assert ours.parameters() == [ours.weight, ours.bias] and repr(ours) == f"LayerNorm(6, eps={eps})"


def test_layernorm_rows_are_independent_and_errors():
    x = torch.randn(8, 5) * 4 + 2
    x[3] = 1.5  # a constant row gives zeros, not NaN
    out = LayerNorm(5)(x)
    assert torch.isfinite(out).all() and out[3].abs().max() == 0
    assert_close(LayerNorm(5)(x[:1]), out[:1])  # an example's output does not depend on its batch
    with pytest.raises(ValueError, match=r"dim=5.*\(8, 4\)"):
        LayerNorm(5)(torch.randn(8, 4))


def test_linear_and_layernorm_take_one_example_without_a_batch_dimension_like_torch():
    lin, ln = Linear(3, 2), LayerNorm(3)
    ref = torch.nn.Linear(3, 2)
    with torch.no_grad():
        ref.weight.copy_(lin.weight.T)
        ref.bias.copy_(lin.bias)
    x = torch.tensor([0.5, -1.0, 2.0])
    assert_close(lin(x), ref(x).detach())
    assert_close(ln(x), torch.nn.LayerNorm(3)(x).detach())
    with pytest.raises(ValueError, match=r"expects input of shape \(\.\.\., 3\) .* got shape \(\)"):
        lin(torch.tensor(1.0))


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(0, 4), min_size=2, max_size=4), n=st.integers(1, 3), data=st.data())
def test_flatten_layers_on_any_shape_empty_ones_included(shape, n, data):
    x = torch.randn(shape)
    assert Flatten()(x).shape == torch.nn.Flatten()(x).shape
    assert_close(Flatten()(x), torch.nn.Flatten()(x))
    B, C = data.draw(st.integers(0, 3)), data.draw(st.integers(1, 3))
    T = n * data.draw(st.integers(0, 3))
    y = torch.randn(B, T, C)
    out = FlattenConsecutive(n)(y)
    expected = torch.cat([y[:, i::n] for i in range(n)], dim=2)
    assert_close(out, expected.squeeze(1) if T == n else expected)


def _layernorm_check(x, eps, seed):
    """layernorm_backward and autograd through F.layer_norm, for the same random gamma, beta and dy."""
    g = torch.Generator().manual_seed(seed)
    n = x.shape[-1]
    gamma = torch.randn(n, generator=g, dtype=torch.float64) + 1
    beta = torch.randn(n, generator=g, dtype=torch.float64)
    x = x.detach().requires_grad_()
    y = F.layer_norm(x, (n,), gamma, beta, eps)
    dy = torch.randn(y.shape, generator=g, dtype=torch.float64)
    (y * dy).sum().backward()
    var = x.detach().var(-1, keepdim=True, correction=0)
    xhat = (x.detach() - x.detach().mean(-1, keepdim=True)) / torch.sqrt(var + eps)
    return layernorm_backward(dy, xhat, gamma, var, eps), x.grad


@settings(max_examples=40, deadline=None)
@given(
    lead=st.lists(st.integers(1, 6), min_size=0, max_size=3),
    n=st.integers(1, 300),
    scale=st.sampled_from([1e-3, 1.0, 1e3]),
    eps=st.sampled_from([1e-5, 1e-6]),
    seed=st.integers(0, 2**31),
)
def test_layernorm_backward_matches_autograd(lead, n, scale, eps, seed):
    g = torch.Generator().manual_seed(seed)
    shape = (*lead, n)
    offset = torch.randn(shape[:-1] + (1,), generator=g, dtype=torch.float64)  # a different mean per row
    x = torch.randn(shape, generator=g, dtype=torch.float64) * scale + offset
    dx, ref = _layernorm_check(x, eps, seed)
    # relative to the gradient's size: at scale 1e-3 the factor 1/sqrt(var+eps) is ~1e3
    assert (dx - ref).abs().max() <= 1e-10 * max(1.0, ref.abs().max().item())


def test_layernorm_backward_var_without_keepdim_and_constant_row():
    x = torch.randn(4, 3, 8, dtype=torch.float64)
    x[1, 2] = -2.5  # a constant row: xhat = 0, gradient gamma * dy centred, times 1/sqrt(eps)
    dx, ref = _layernorm_check(x, 1e-5, 0)
    assert torch.isfinite(dx).all()
    assert (dx - ref).abs().max() <= 1e-10 * ref.abs().max()
    dy, xhat, gamma = torch.randn(4, 3, 8), torch.randn(4, 3, 8), torch.rand(8)
    var = torch.rand(4, 3, 1)
    assert torch.equal(layernorm_backward(dy, xhat, gamma, var), layernorm_backward(dy, xhat, gamma, var[..., 0]))


def test_layernorm_backward_errors():
    with pytest.raises(ValueError, match=r"one variance per row: shape \(4, 1\) or \(4,\).*got \(8,\)"):
        layernorm_backward(torch.ones(4, 8), torch.zeros(4, 8), torch.ones(8), torch.ones(8))
    with pytest.raises(ValueError, match=r"same shape.*\(4, 3\) and \(4, 2\)"):
        layernorm_backward(torch.ones(4, 3), torch.zeros(4, 2), torch.ones(3), torch.ones(4, 1))
