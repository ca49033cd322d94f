"""Byte-pair encoding tokenizers, minbpe-style: BPE on bytes written to be read, one base class, short subclasses.

Page: [tokenizer](../tokenizer/index.md).

- `get_stats`, `merge`, `train_naive`, `encode_naive`: BPE on bytes, the definitions
  (`zh.tokenizer.basic`);
- `BasicTokenizer`: BPE on raw bytes, fast;
- `RegexTokenizer`: BPE within the chunks of a split regex (GPT-2's or GPT-4's);
- `GPT4Tokenizer`: tiktoken's ``cl100k_base``, from its published ranks;
- `draw_tokens`: a picture of where a tokenizer cuts a text;
- `draw_merge_trace`: BPE merge by merge, the ids of a text and the merge table growing.

Inside: `zh.tokenizer.base` (what every tokenizer shares), `zh.tokenizer.tiktoken_api`
(tiktoken's interface), `zh.tokenizer.train` (learning merges fast), `zh.tokenizer.fast_encoder`
and `zh.tokenizer.batch` (encoding fast), `zh.tokenizer.files` (the ``.model`` format).
"""

from zh.tokenizer.base import BasicTokenizer, Tokenizer
from zh.tokenizer.basic import encode_naive, get_stats, merge, train_naive
from zh.tokenizer.gpt4 import GPT4_SPECIAL_TOKENS, GPT4Tokenizer, cl100k_ranks
from zh.tokenizer.regex_split import GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN, RegexTokenizer
from zh.tokenizer.train import train_fast
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
