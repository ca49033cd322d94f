"""zh.models.backprop: the closed-form gradients against torch autograd, in float64."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from zh.models.backprop import backward, batchnorm_backward, cross_entropy_backward, forward, init_params


def _batchnorm(x, gamma, beta, eps, unbiased):
    dims = tuple(range(x.ndim - 1))
    var = x.var(dims, keepdim=True, correction=1 if unbiased else 0)
    xhat = (x - x.mean(dims, keepdim=True)) / torch.sqrt(var + eps)
    return gamma * xhat + beta, xhat, var


def _check(x, eps=1e-5, unbiased=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    C = x.shape[-1]
    gamma = (torch.randn(C, generator=g, dtype=torch.float64) + 1).requires_grad_()
    beta = torch.randn(C, generator=g, dtype=torch.float64)
    x = x.detach().requires_grad_()
    y, xhat, var = _batchnorm(x, gamma, beta, eps, unbiased)
    dy = torch.randn(y.shape, generator=g, dtype=torch.float64)
    (y * dy).sum().backward()
    dx = batchnorm_backward(dy, xhat.detach(), gamma.detach(), var.detach(), eps, unbiased=unbiased)
    return dx, x.grad


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(2, 512),
    channels=st.integers(1, 16),
    length=st.one_of(st.none(), st.integers(1, 4)),
    unbiased=st.booleans(),
    scale=st.sampled_from([1e-3, 1.0, 1e3]),
    seed=st.integers(0, 2**31),
)
def test_batchnorm_backward_matches_autograd(m, channels, length, unbiased, scale, seed):
    shape = (m, channels) if length is None else (m, length, channels)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=torch.float64) * scale
    x = x + torch.randn(channels, generator=g, dtype=torch.float64)
    dx, ref = _check(x, unbiased=unbiased, seed=seed)
    # relative to the gradient's size: at scale 1e-3 the factor 1/sqrt(var+eps) is ~1e3
    assert (dx - ref).abs().max() <= 1e-8 * max(1.0, ref.abs().max().item())


def test_batchnorm_backward_against_torch_functional():
    """unbiased=False is exactly what torch's own batch_norm differentiates."""
    x = torch.randn(64, 5, dtype=torch.float64, requires_grad=True)
    gamma = torch.rand(5, dtype=torch.float64) + 0.5
    y = F.batch_norm(x, None, None, gamma, None, training=True, eps=1e-5)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    var = x.detach().var(0, correction=0)
    xhat = (x.detach() - x.detach().mean(0)) / torch.sqrt(var + 1e-5)
    assert (batchnorm_backward(dy, xhat, gamma, var, unbiased=False) - x.grad).abs().max() <= 1e-10


def test_constant_column_gives_a_finite_gradient():
    """A constant channel has xhat = 0: its gradient is gamma/sqrt(eps) * (dy - mean dy), large but finite."""
    x = torch.randn(32, 3, dtype=torch.float64)
    x[:, 1] = 7.5
    dx, ref = _check(x)
    assert torch.isfinite(dx).all()
    assert (dx - ref).abs().max() <= 1e-8 * ref.abs().max()


def test_constant_column_with_eps_zero_is_undefined_as_the_math_says():
    x = torch.randn(8, 2, dtype=torch.float64)
    x[:, 0] = 1.0
    xhat = torch.zeros_like(x)
    var = torch.tensor([0.0, 1.0], dtype=torch.float64)
    dx = batchnorm_backward(torch.ones_like(x), xhat, torch.ones(2, dtype=torch.float64), var, eps=0.0)
    assert not torch.isfinite(dx[:, 0]).any()  # 0 * inf: the formula divides by sqrt(0)
    assert torch.isfinite(dx[:, 1]).all()


def test_batchnorm_backward_errors():
    with pytest.raises(ValueError, match="at least 2 values per channel; got m=1"):
        batchnorm_backward(torch.ones(1, 3), torch.zeros(1, 3), torch.ones(3), torch.ones(3))
    with pytest.raises(ValueError, match=r"same shape.*\(4, 3\) and \(4, 2\)"):
        batchnorm_backward(torch.ones(4, 3), torch.zeros(4, 2), torch.ones(3), torch.ones(3))
    # with the biased variance a single row is fine: the gradient is 0
    assert not batchnorm_backward(
        torch.ones(1, 3), torch.zeros(1, 3), torch.ones(3), torch.ones(3), unbiased=False
    ).any()


@pytest.mark.parametrize("n", [1, 2, 32])
def test_cross_entropy_backward(n):
    logits = torch.randn(n, 27, dtype=torch.float64, requires_grad=True)
    Y = torch.randint(0, 27, (n,))
    F.cross_entropy(logits, Y).backward()
    assert (cross_entropy_backward(logits.detach(), Y) - logits.grad).abs().max() <= 1e-15
    with pytest.raises(ValueError, match="targets"):
        cross_entropy_backward(logits.detach(), Y[:-1] if n > 1 else torch.zeros(2, dtype=torch.long))


def test_full_manual_backward_matches_autograd():
    g = torch.Generator().manual_seed(1)
    params = init_params(27, block_size=3, n_embd=10, n_hidden=64, generator=g, dtype=torch.float64)
    X = torch.randint(0, 27, (32, 3), generator=g)
    Y = torch.randint(0, 27, (32,), generator=g)
    X[1] = X[0]  # repeated characters: embedding rows must accumulate
    for p in params.values():
        p.requires_grad_()
    loss, cache = forward(params, X, Y)
    loss.backward()
    with torch.no_grad():
        grads = backward(params, cache)
    for k, p in params.items():
        assert (grads[k] - p.grad).abs().max() <= 1e-12, k
    with pytest.raises(ValueError, match="at least 2 examples"):
        forward(params, X[:1], Y[:1])
