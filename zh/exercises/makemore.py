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


def _ngram_nll(train: list[str], evaluate: list[str], n: int, smoothing: float) -> float:
    """Average -log P(next | context) on ``evaluate`` of the n-gram model counted on ``train``."""
    pairs = Counter(_ngrams(train, n))
    contexts = Counter(ctx for ctx, _ in _ngrams(train, n))
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
    return _ngram_nll(train_words, val_words, 3, smoothing)


@exercise("makemore/bigram", "best_smoothing",
          hint="fit on the training names, compare on the validation names, never on the test names",
          example=lambda: {"train_words": SOME_NAMES[:15], "val_words": SOME_NAMES[15:],
                           "candidates": [0.01, 0.1, 1.0, 10.0]})
def best_smoothing(train_words: list[str], val_words: list[str], candidates: list[float]) -> float:
    """The candidate pseudo-count with the lowest trigram validation loss, by plain counting."""
    return min(candidates, key=lambda s: _ngram_nll(train_words, val_words, 3, s))
