"""The sequence contract of ``zh.models.sequence``, checked for every model the makemore command knows."""

import pytest
import torch

from zh.data import CharVocab, build_dataset
from zh.models.registry import MODELS
from zh.models.sequence import IGNORE, build_sequences

WORDS = ["emma", "olivia", "ava", "isabella", "sophia", "mia"]


def build(name):
    entry = MODELS[name]
    torch.manual_seed(0)
    vocab = CharVocab.from_words(WORDS)
    data = {"vocab_size": len(vocab), "block_size": max(map(len, WORDS)) + 1}
    return entry.build(entry.config(**{k: data[k] for k in entry.from_data})), vocab


@pytest.mark.parametrize("name", sorted(MODELS))
def test_shapes_and_ignored_targets(name):
    model, vocab = build(name)
    model.eval()
    X, Y = build_sequences(WORDS, vocab)
    logits, loss = model(X, Y)
    assert logits.shape == (*X.shape, len(vocab))
    keep = Y != IGNORE
    expected = torch.nn.functional.cross_entropy(logits[keep], Y[keep])
    torch.testing.assert_close(loss, expected)  # positions with target -1 are skipped
    # causal: changing a later character never changes an earlier position's logits
    X2 = X.clone()
    X2[:, 4:] = 1
    torch.testing.assert_close(model(X2)[0][:, :4], model(X)[0][:, :4])


@pytest.mark.parametrize("name", ["bigram", "mlp", "wavenet"])
def test_fixed_context_sees_the_windows_of_build_dataset(name):
    """Each position of a sequence gets the same context window as one example of build_dataset."""
    model, vocab = build(name)
    model.eval()
    X, Y = build_sequences(WORDS, vocab)
    Xe, Ye = build_dataset(WORDS, vocab, model.config.block_size)
    keep = Y != IGNORE
    torch.testing.assert_close(model.contexts(X)[keep], Xe)
    assert torch.equal(Y[keep], Ye)
    torch.testing.assert_close(model(X, Y)[1], model.model(Xe, Ye)[1])
