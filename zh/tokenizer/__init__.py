"""Byte-pair encoding tokenizers, minbpe-style: one base class, short subclasses.

Page: [tokenizer](../tokenizer/index.md).

- `BasicTokenizer`: BPE on raw bytes;
- `RegexTokenizer`: BPE within the chunks of a split regex (GPT-2's or GPT-4's);
- `GPT4Tokenizer`: tiktoken's ``cl100k_base``, from its published ranks;
- `draw_tokens`: a picture of where a tokenizer cuts a text;
- `draw_merge_trace`: BPE merge by merge, the ids of a text and the merge table growing.

Inside: `zh.tokenizer.base` (what every tokenizer shares), `zh.tokenizer.train` (learning
merges), `zh.tokenizer.encode` (BPE on a chunk, the reference), `zh.tokenizer.fast_encoder` and
`zh.tokenizer.batch` (the same ids, fast), `zh.tokenizer.files` (the ``.model`` format).
"""

from zh.tokenizer.base import Tokenizer
from zh.tokenizer.basic import BasicTokenizer
from zh.tokenizer.encode import encode_naive
from zh.tokenizer.gpt4 import GPT4_SPECIAL_TOKENS, GPT4Tokenizer, cl100k_ranks
from zh.tokenizer.regex_split import GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN, RegexTokenizer
from zh.tokenizer.train import get_stats, merge, train_fast, train_naive
from zh.tokenizer.viz import draw_merge_trace, draw_tokens, token_spans

__all__ = [
    "Tokenizer",
    "BasicTokenizer",
    "RegexTokenizer",
    "GPT4Tokenizer",
    "GPT2_SPLIT_PATTERN",
    "GPT4_SPLIT_PATTERN",
    "GPT4_SPECIAL_TOKENS",
    "cl100k_ranks",
    "get_stats",
    "merge",
    "train_naive",
    "train_fast",
    "encode_naive",
    "token_spans",
    "draw_tokens",
    "draw_merge_trace",
]
