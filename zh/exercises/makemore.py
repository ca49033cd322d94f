"""Reference answers to the exercises of the makemore pages (see ``zh.exercises``).

The counting models are recounted here in plain Python (``collections.Counter`` over the words),
the neural ones differentiated by PyTorch's autograd or computed by torch's own modules: never by
the page's solution code.
"""

import math
from collections import Counter

from zh.exercises import exercise

ALPHABET = ".abcdefghijklmnopqrstuvwxyz"  # the boundary and the 26 letters: the 27 tokens of names.txt
SOME_NAMES = ["emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia", "harper", "evelyn",
              "abigail", "emily", "elizabeth", "mila", "ella", "avery", "sofia", "camila", "aria", "scarlett"]


def _ngrams(words: list[str], n: int):
    """Every (context, next) pair of each word padded with n - 1 boundaries in front and one at the end."""
    for w in words:
        padded = "." * (n - 1) + w + "."
        for i in range(len(w) + 1):
            yield padded[i:i + n - 1], padded[i + n - 1]


def _ngram_counts(train: list[str], n: int) -> tuple[Counter, Counter]:
    """How often each (context, next) pair and each context occur in ``train``."""
    pairs = Counter(_ngrams(train, n))
    contexts = Counter()
    for (ctx, _), count in pairs.items():
        contexts[ctx] += count
    return pairs, contexts


def _ngram_nll(counts: tuple[Counter, Counter], evaluate: list[str], n: int, smoothing: float) -> float:
    """Average -log P(next | context) on ``evaluate`` of the smoothed n-gram model with these counts."""
    pairs, contexts = counts
    total, count = 0.0, 0
    for ctx, nxt in _ngrams(evaluate, n):
        p = (pairs[ctx, nxt] + smoothing) / (contexts[ctx] + smoothing * len(ALPHABET))
        total -= math.log(p)
        count += 1
    return total / count


# ---- makemore/bigram ----


@exercise("makemore/bigram", "emma_nll", rtol=1e-4,  # the page's P is float32
          hint="add -log P[i, j] over the five bigrams .e em mm ma a. and divide by 5",
          example=lambda: {"words": SOME_NAMES})
def emma_nll(words: list[str]) -> float:
    """The average NLL of "emma" under the unsmoothed bigram counted on ``words``, by plain counting."""
    pairs = Counter(_ngrams(words, 2))
    firsts = Counter(ctx for ctx, _ in _ngrams(words, 2))
    steps = list(_ngrams(["emma"], 2))
    return -sum(math.log(pairs[c, x] / firsts[c]) for c, x in steps) / len(steps)


@exercise("makemore/bigram", "unigram_loss", rtol=1e-4,  # float32 on the page
          hint="P(next) = (how often the character is next anywhere) / (all next characters), the context ignored",
          example=lambda: {"words": SOME_NAMES})
def unigram_loss(words: list[str]) -> float:
    """The average NLL on ``words`` of the model that ignores the context (counts of next characters only)."""
    nexts = Counter(x for _, x in _ngrams(words, 2))
    total = sum(nexts.values())
    return -sum(c * math.log(c / total) for c in nexts.values()) / total


@exercise("makemore/bigram", "trigram_loss", rtol=1e-4,  # float32 on the page
          hint="count (two characters, next) on the training names with the pseudo-count added to every cell; "
               "evaluate on the validation names with two boundaries in front of each",
          example=lambda: {"train_words": SOME_NAMES[:15], "val_words": SOME_NAMES[15:], "smoothing": 1.0})
def trigram_loss(train_words: list[str], val_words: list[str], smoothing: float) -> float:
    """Validation NLL of the smoothed trigram counted on the training names, by plain counting."""
    return _ngram_nll(_ngram_counts(train_words, 3), val_words, 3, smoothing)


@exercise("makemore/bigram", "best_smoothing",
          hint="fit on the training names, compare on the validation names, never on the test names",
          example=lambda: {"train_words": SOME_NAMES[:15], "val_words": SOME_NAMES[15:],
                           "candidates": [0.01, 0.1, 1.0, 10.0]})
def best_smoothing(train_words: list[str], val_words: list[str], candidates: list[float]) -> float:
    """The candidate pseudo-count with the lowest trigram validation loss, by plain counting."""
    counts = _ngram_counts(train_words, 3)
    return min(candidates, key=lambda s: _ngram_nll(counts, val_words, 3, s))


# ---- makemore/neural_bigram ----


def _torch():
    import torch

    return torch


@exercise("makemore/neural_bigram", "dlogits_one", hint="softmax of the row W[x], minus 1 at the target y",
          example=lambda: {"W": _torch().randn(27, 27, generator=_torch().Generator().manual_seed(0)), "x": 5, "y": 13})
def dlogits_one(W, x: int, y: int):
    """d(cross-entropy)/d(logits) of the one example (x -> y), by autograd."""
    torch = _torch()
    z = W.detach()[x].double().requires_grad_()
    torch.nn.functional.cross_entropy(z[None], torch.tensor([y])).backward()
    return z.grad


def _cross_entropy_probes():
    # one row each: check() prints a failing probe on one line, and a tensor of several rows prints on several
    torch = _torch()
    return [
        (torch.tensor([[1000.0, 0.0, -5.0]]), torch.tensor([1])),
        (torch.tensor([[-800.0, -810.0]]), torch.tensor([0])),
        (torch.tensor([[3.0, 2.0, 1.0, 0.5]]), torch.tensor([2])),
    ]


def _torch_cross_entropy(logits, targets):
    """torch's own cross-entropy, the mean of -log softmax(logits)[target], as a float."""
    return _torch().nn.functional.cross_entropy(logits, targets).item()


exercise("makemore/neural_bigram", "cross_entropy", rtol=1e-5, atol=1e-4,  # float32 sums of logits near 1000
         hint="subtract each row's maximum before exp: log-sum-exp does not change, and exp never overflows",
         probes=_cross_entropy_probes)(_torch_cross_entropy)


@exercise("makemore/neural_bigram", "dW",
          hint="each row i: (how often i is the current character) * softmax(W_i) - N_i, over the number of bigrams",
          example=lambda: {"W": _torch().randn(5, 5, generator=_torch().Generator().manual_seed(0)),
                           "N": _torch().randint(0, 9, (5, 5), generator=_torch().Generator().manual_seed(1))})
def counts_dW(W, N):
    """d/dW of -(N * log_softmax(W)).sum() / N.sum(), by autograd in float64."""
    w = W.detach().double().requires_grad_()
    (-(N.double() * w.log_softmax(dim=1)).sum() / N.sum()).backward()
    return w.grad


# ---- makemore/mlp ----


def _small_split(block_size: int = 3, n: int = 64):
    """A few contexts and next characters of SOME_NAMES, for the tests' examples."""
    from zh.data import CharVocab, build_dataset

    X, Y = build_dataset(SOME_NAMES, CharVocab.from_words(SOME_NAMES), block_size)
    return X[:n], Y[:n]


def _tiny_mlp():
    """A small untrained MLP of zh, for the tests' examples."""
    from zh.models.mlp import MLP, MLPConfig

    return MLP(MLPConfig(n_hidden=20), generator=_torch().Generator().manual_seed(0))


@exercise("makemore/mlp", "n_params",
          hint="C is vocab x n_embd, W1 is (block_size * n_embd) x n_hidden, then b1, W2, b2",
          example=lambda: {"block_size": 4, "n_embd": 8, "n_hidden": 100})
def mlp_n_params(block_size: int, n_embd: int, n_hidden: int) -> int:
    """The number of parameters of zh's MLP for names (27 characters), counted on a built model."""
    from zh.models.mlp import MLP, MLPConfig

    model = MLP(MLPConfig(vocab_size=27, block_size=block_size, n_embd=n_embd, n_hidden=n_hidden))
    return sum(p.numel() for p in model.parameters())


@exercise("makemore/mlp", "init_loss", rtol=1e-4,  # float32 means over ~20,000 examples
          hint="embed, view(-1, 30), tanh(@ W1 + b1), @ W2 + b2, then F.cross_entropy",
          example=lambda: dict(zip(("X", "Y"), _small_split())))
def mlp_init_loss(X, Y) -> float:
    """The loss on (X, Y) of zh's MLP module as the seed 2147483647 initialises it (the page's C, W1, b1, W2, b2)."""
    torch = _torch()
    from zh.models.mlp import MLP, MLPConfig

    model = MLP(MLPConfig(), generator=torch.Generator().manual_seed(2147483647))
    with torch.no_grad():
        return model(X, Y)[1].item()


@exercise("makemore/mlp", "C_rows",
          hint="a row of C gets a gradient only if its character is in some context of the batch",
          example=lambda: {"Xb": _small_split()[0][:8]})
def mlp_C_rows(Xb) -> list[int]:
    """The characters (row indices of C) that occur in the contexts of the batch, in increasing order."""
    return sorted({int(i) for row in Xb.tolist() for i in row})


@exercise("makemore/mlp", "val_loss", rtol=1e-4,  # float32
          hint="the mean cross-entropy of the model's logits on every validation example, under torch.no_grad()",
          example=lambda: {"model": _tiny_mlp(), **dict(zip(("X", "Y"), _small_split()))})
def mlp_val_loss(model, X, Y) -> float:
    """The mean cross-entropy of ``model``'s logits on (X, Y), by torch's own function."""
    torch = _torch()
    with torch.no_grad():
        logits = model(X)[0]
        return torch.nn.functional.cross_entropy(logits, Y).item()


# ---- makemore/activations ----


@exercise("makemore/activations", "bn_by_hand", rtol=1e-4, atol=1e-5,  # float32
          hint="per column: subtract the batch mean, divide by sqrt(biased variance + 1e-5)",
          example=lambda: {"xb": _torch().randn(8, 3, generator=_torch().Generator().manual_seed(0)) * 3 + 5})
def bn_by_hand(xb):
    """A freshly initialised BatchNorm (gamma 1, beta 0) in training mode on ``xb``, by torch's own function."""
    return _torch().nn.functional.batch_norm(xb, None, None, training=True, eps=1e-5)


@exercise("makemore/activations", "relu_gain", hint="relu keeps half of a symmetric input: E[relu(y)^2] = Var(y) / 2",
          example=dict)
def relu_gain() -> float:
    """The Kaiming gain for ReLU, from torch's own table."""
    return float(_torch().nn.init.calculate_gain("relu"))


@exercise("makemore/activations", "zero_init_moving",
          hint="with every weight 0 the hidden layer outputs tanh(0) = 0: which gradients are products with it?",
          example=lambda: {"model": _zero_mlp(), **dict(zip(("Xb", "Yb"), _small_split()))})
def zero_init_moving(model, Xb, Yb) -> list[bool]:
    """For each parameter of ``model``, whether the loss on (Xb, Yb) gives it a non-zero gradient, by autograd."""
    torch = _torch()
    params = model.parameters()
    grads = torch.autograd.grad(torch.nn.functional.cross_entropy(model(Xb), Yb), params)
    return [bool(g.abs().sum() > 0) for g in grads]


def _zero_mlp():
    """The activations page's MLP without BatchNorm, every parameter 0 (for the tests' examples)."""
    torch = _torch()
    from zh.models.activations import build_mlp

    model = build_mlp(27, n_hidden=20, batchnorm=False, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    return model


def _trained_bn_mlp():
    """A small BatchNorm MLP of the activations page after a few steps (for the tests' examples)."""
    torch = _torch()
    from zh.models.activations import build_mlp, train

    model = build_mlp(27, n_hidden=20, batchnorm=True, generator=torch.Generator().manual_seed(0))
    X, Y = _small_split()
    train(model, X, Y, max_steps=5, generator=torch.Generator().manual_seed(1))
    return model


@exercise("makemore/activations", "folded", rtol=1e-4, atol=1e-4,  # float32, summed in another order
          hint="eval mode uses running_mean and running_var: W' = W * gamma / sqrt(var + eps), "
               "b' = beta - mean * gamma / sqrt(var + eps)",
          example=lambda: {"model": _trained_bn_mlp(), "X": _small_split()[0]})
def folded_logits(model, X):
    """The logits of ``model`` (with its BatchNorm) in eval mode on X, by the model itself."""
    torch = _torch()
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return model(X)
    finally:
        if was_training:
            model.train()


# ---- makemore/backprop ----
# Each reference rebuilds the rest of the forward pass from the named tensor on, in float64 with torch's own
# functions (F.cross_entropy, Tensor.var), and asks autograd for the gradient of the loss with respect to it.


def _grad_of(leaf, rest):
    """d rest(leaf) / d leaf by autograd, ``leaf`` taken as a fresh float64 leaf."""
    torch = _torch()
    x = leaf.detach().double().requires_grad_()
    (grad,) = torch.autograd.grad(rest(x), x)
    return grad


def _head_loss(hpreact, W2, b2, Yb):
    """The loss from the BatchNorm's output on: tanh, the output layer, the cross-entropy."""
    torch = _torch()
    return torch.nn.functional.cross_entropy(torch.tanh(hpreact) @ W2 + b2, Yb)


def _bn_unbiased(hprebn, bngain, bnbias):
    """The page's BatchNorm: batch mean, Bessel-corrected batch variance, epsilon 1e-5."""
    xhat = (hprebn - hprebn.mean(0, keepdim=True)) / (hprebn.var(0, keepdim=True, correction=1) + 1e-5).sqrt()
    return bngain * xhat + bnbias


def _backprop_example(*names):
    """A small batch through a small network of the page's shapes (27 characters, 3 x 10 inputs, 8 hidden units)."""
    torch = _torch()
    g = torch.Generator().manual_seed(0)
    n, hidden = 6, 8
    t = {"C": torch.randn(27, 10, generator=g, dtype=torch.float64),
         "W1": torch.randn(30, hidden, generator=g, dtype=torch.float64) * 0.3,
         "b1": torch.randn(hidden, generator=g, dtype=torch.float64) * 0.1,
         "W2": torch.randn(hidden, 27, generator=g, dtype=torch.float64) * 0.1,
         "b2": torch.randn(27, generator=g, dtype=torch.float64) * 0.1,
         "bngain": 1 + 0.1 * torch.randn(1, hidden, generator=g, dtype=torch.float64),
         "bnbias": 0.1 * torch.randn(1, hidden, generator=g, dtype=torch.float64),
         "Xb": torch.randint(0, 27, (n, 3), generator=g), "Yb": torch.randint(0, 27, (n,), generator=g)}
    t["hprebn"] = t["C"][t["Xb"]].view(n, -1) @ t["W1"] + t["b1"]
    t["bndiff"] = t["hprebn"] - t["hprebn"].mean(0, keepdim=True)
    t["bnvar"] = t["hprebn"].var(0, keepdim=True, correction=1)
    t["hpreact"] = _bn_unbiased(t["hprebn"], t["bngain"], t["bnbias"])
    t["logits"] = torch.tanh(t["hpreact"]) @ t["W2"] + t["b2"]
    t["counts"] = (t["logits"] - t["logits"].max(1, keepdim=True).values).exp()
    t["probs"] = t["counts"] / t["counts"].sum(1, keepdim=True)
    t["params"] = {k: t[k] for k in ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias")}
    return {k: t[k] for k in names}


def _fixed(*tensors):
    """The page's tensors as float64 constants (no gradient flows into them)."""
    return [t.detach().double() for t in tensors]


def _nll(probs, Yb):
    return -probs[_torch().arange(len(Yb)), Yb].log().mean()


@exercise("makemore/backprop", "dprobs",
          hint="only the correct entry of each row is used: -1/(n * p) there, 0 elsewhere",
          example=lambda: _backprop_example("probs", "Yb"))
def backprop_dprobs(probs, Yb):
    """dL/dprobs of L = -mean(log probs[i, Yb[i]])."""
    return _grad_of(probs, lambda p: _nll(p, Yb))


@exercise("makemore/backprop", "dcounts",
          hint="counts is used twice: directly, and in its row's sum (whose inverse multiplies the whole row)",
          example=lambda: _backprop_example("counts", "Yb"))
def backprop_dcounts(counts, Yb):
    """dL/dcounts of L = -mean(log (counts / counts.sum(1))[i, Yb[i]])."""
    return _grad_of(counts, lambda c: _nll(c / c.sum(1, keepdim=True), Yb))


@exercise("makemore/backprop", "dlogits", hint="(softmax(logits) - onehot(Yb)) / n",
          example=lambda: _backprop_example("logits", "Yb"))
def backprop_dlogits(logits, Yb):
    """dL/dlogits of F.cross_entropy(logits, Yb)."""
    return _grad_of(logits, lambda z: _torch().nn.functional.cross_entropy(z, Yb))


@exercise("makemore/backprop", "dhpreact", hint="dh = dlogits @ W2.T, then through tanh: times 1 - h**2",
          example=lambda: _backprop_example("hpreact", "W2", "b2", "Yb"))
def backprop_dhpreact(hpreact, W2, b2, Yb):
    """dL/dhpreact through tanh, the output layer and the cross-entropy."""
    W2, b2 = _fixed(W2, b2)
    return _grad_of(hpreact, lambda x: _head_loss(x, W2, b2, Yb))


@exercise("makemore/backprop", "dbnvar",
          hint="bnvar enters only bnvar_inv = (bnvar + 1e-5) ** -0.5, which multiplies bndiff: sum over the batch",
          example=lambda: _backprop_example("bnvar", "bndiff", "bngain", "bnbias", "W2", "b2", "Yb"))
def backprop_dbnvar(bnvar, bndiff, bngain, bnbias, W2, b2, Yb):
    """dL/dbnvar with bndiff held fixed (bnvar's only path to the loss is through bnraw)."""
    bndiff, bngain, bnbias, W2, b2 = _fixed(bndiff, bngain, bnbias, W2, b2)

    def rest(var):
        return _head_loss(bngain * bndiff * (var + 1e-5) ** -0.5 + bnbias, W2, b2, Yb)

    return _grad_of(bnvar, rest)


@exercise("makemore/backprop", "dhprebn",
          hint="hprebn reaches the loss three ways: directly, through the batch mean, and through the variance "
               "(divided by n - 1)",
          example=lambda: _backprop_example("hprebn", "bngain", "bnbias", "W2", "b2", "Yb"))
def backprop_dhprebn(hprebn, bngain, bnbias, W2, b2, Yb):
    """dL/dhprebn through the Bessel-corrected BatchNorm (torch's Tensor.var), tanh and the output layer."""
    bngain, bnbias, W2, b2 = _fixed(bngain, bnbias, W2, b2)
    return _grad_of(hprebn, lambda x: _head_loss(_bn_unbiased(x, bngain, bnbias), W2, b2, Yb))


def _mlp_loss(params, Xb, Yb):
    """The page's whole forward pass from the parameters, with torch's own functions."""
    C, W1, b1, W2, b2, bngain, bnbias = (params[k] for k in ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias"))
    hprebn = C[Xb].reshape(len(Xb), -1) @ W1 + b1
    return _head_loss(_bn_unbiased(hprebn, bngain, bnbias), W2, b2, Yb)


@exercise("makemore/backprop", "dC",
          hint="every occurrence of a character in Xb adds its slice of dembcat to its row of C",
          example=lambda: _backprop_example("C", "Xb", "W1", "b1", "bngain", "bnbias", "W2", "b2", "Yb"))
def backprop_dC(C, Xb, W1, b1, bngain, bnbias, W2, b2, Yb):
    """dL/dC through the whole network."""
    others = dict(zip(("W1", "b1", "W2", "b2", "bngain", "bnbias"), _fixed(W1, b1, W2, b2, bngain, bnbias)))
    return _grad_of(C, lambda c: _mlp_loss({"C": c, **others}, Xb, Yb))


@exercise("makemore/backprop", "grads", hint="chain the pieces: dlogits, the output layer, tanh, BatchNorm, W1, C",
          example=lambda: _backprop_example("params", "Xb", "Yb"))
def backprop_grads(params, Xb, Yb):
    """The gradient of the loss with respect to every parameter (a dict like ``params``), by autograd."""
    torch = _torch()
    leaves = {k: v.detach().double().requires_grad_() for k, v in params.items()}
    grads = torch.autograd.grad(_mlp_loss(leaves, Xb, Yb), list(leaves.values()))
    return dict(zip(leaves, grads))


# ---- makemore/wavenet ----


def _tree_field(n_consecutive: int, level: int) -> int:
    """How many characters one unit of ``level`` sees, read off the model's own FlattenConsecutive."""
    from zh.models.wavenet import receptive_fields

    return len(receptive_fields(n_consecutive**level, n_consecutive)[level][0])


exercise("makemore/wavenet", "receptive_field", hint="each level fuses n_consecutive units of the level below",
         probes=lambda: [(2, 1), (2, 3), (3, 2), (4, 2), (2, 5)])(_tree_field)


@exercise("makemore/wavenet", "n_params",
          hint="embedding, then level 1 reads 2 * n_embd, the other levels 2 * n_hidden; BatchNorm adds 2 per unit",
          example=lambda: {"n_embd": 10, "n_hidden": 68, "block_size": 16})
def wavenet_n_params(n_embd: int, n_hidden: int, block_size: int) -> int:
    """The parameters of zh's WaveNet of that shape (27 characters, pairs), counted on a built model."""
    from zh.models.wavenet import WaveNet, WaveNetConfig

    model = WaveNet(WaveNetConfig(n_embd=n_embd, n_hidden=n_hidden, block_size=block_size))
    return sum(p.numel() for p in model.parameters())


def _conv_field(kernel: int, levels: int) -> int:
    """The receptive field of causal convolutions with dilations 1, kernel, kernel**2, ...: an impulse's reach."""
    torch = _torch()
    length = kernel**levels * 2 + 1
    x = torch.zeros(1, 1, length, dtype=torch.float64)
    x[0, 0, 0] = 1.0  # one input position; every output it reaches becomes non-zero
    for level in range(levels):
        dilation = kernel**level
        x = torch.nn.functional.pad(x, ((kernel - 1) * dilation, 0))  # causal: pad on the left only
        x = torch.nn.functional.conv1d(x, torch.ones(1, 1, kernel, dtype=torch.float64), dilation=dilation)
    return int((x[0, 0] != 0).sum())


exercise("makemore/wavenet", "conv_receptive",
         hint="a layer of kernel k and dilation d adds (k - 1) * d positions to what the layer below saw",
         probes=lambda: [(2, 1), (2, 3), (3, 2), (2, 4), (4, 3)])(_conv_field)


def _tiny_wavenet():
    """A small untrained WaveNet of zh, for the tests' examples."""
    from zh.models.wavenet import WaveNet, WaveNetConfig

    return WaveNet(WaveNetConfig(n_embd=4, n_hidden=6), generator=_torch().Generator().manual_seed(0))


@exercise("makemore/wavenet", "level1_conv", rtol=1e-4, atol=1e-5,  # float32, summed in another order
          hint="the weight (2 * C, H) is the two taps one above the other: view(2, C, H), then (H, C, 2) for conv1d",
          example=lambda: {"model": _tiny_wavenet(), "X": _small_split(8)[0][:3]})
def level1_conv(model, X):
    """Level 1's Linear on every pair of neighbouring positions of each row: concatenate, then multiply."""
    torch = _torch()
    layers = model.layers
    with torch.no_grad():
        emb = layers[0](X)  # (rows, T, C)
        pairs = torch.cat([emb[:, :-1], emb[:, 1:]], dim=-1)  # positions (t - 1, t), side by side
        return pairs @ layers[2].weight
