"""The teaching diagrams (zh.diagrams, zh.tokenizer.draw_merge_trace): what they draw, and what they refuse.

The pages draw every figure in their own tests; here, what a figure shows is checked against its
inputs, and each function's refusal of input it cannot draw.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from zh.diagrams import averaging_figure, cuda_hierarchy, masks_and_objectives, tile_loads, transformer_graph  # noqa: E402
from zh.models.bert import BERT, BertConfig  # noqa: E402
from zh.models.gpt import GPT, Block, GPTConfig  # noqa: E402
from zh.tokenizer import draw_merge_trace  # noqa: E402


def texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for t in fig.texts]


def test_transformer_graph_labels_edges_with_the_shapes_the_model_produces():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=3, n_head=2, n_embd=16))
    source = transformer_graph(model, torch.zeros(5, 7, dtype=torch.long)).source
    assert "(5, 7, 16)" in source and "(5, 7, 64)" in source and "logits (5, 7, 11)" in source
    assert "3 × (5, 2, 7, 8)" in source  # q, k, v per head
    assert "blocks.1 … blocks.2" in source
    block_source = transformer_graph(Block(GPTConfig(n_embd=16, n_head=4)), torch.zeros(2, 3, 16)).source
    assert "3 × (2, 4, 3, 4)" in block_source and "out (2, 3, 16)" in block_source
    with pytest.raises(TypeError, match="draws a GPT or a Block"):
        transformer_graph(torch.nn.Linear(2, 2), torch.zeros(1, 2))
    with pytest.raises(TypeError, match="draws a GPT or a Block, got BERT"):  # blocks, but no lm_head
        bert = BERT(BertConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=16))
        transformer_graph(bert, torch.zeros(1, 4, dtype=torch.long))


def test_averaging_figure_writes_the_product():
    w = torch.tril(torch.ones(4, 4))
    w = w / w.sum(1, keepdim=True)
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])
    fig = averaging_figure(w, x)
    assert "+4.0" in texts(fig) and "+5.0" in texts(fig)  # rows 3 of W @ x: the mean of all four rows
    plt.close(fig)
    with pytest.raises(ValueError, match="expected weights"):
        averaging_figure(w, x[:3])


def test_masks_objectives_cuda_and_tiles_refuse_what_they_cannot_draw():
    fig = masks_and_objectives("abcdef", [1, 4])
    assert "BERT: input → target; 2 of 6 positions scored" in texts(fig)
    plt.close(fig)
    with pytest.raises(ValueError, match="chosen positions inside it"):
        masks_and_objectives("abc", [5])
    fig = cuda_hierarchy(70, 32)
    assert any("idle (26 threads)" in t for t in texts(fig))
    plt.close(fig)
    with pytest.raises(ValueError, match="too many warps"):
        cuda_hierarchy(10_000, 256)
    fig = tile_loads(64, 64, 64, 32, 32, 16, block=(1, 1))
    assert sorted(t for t in texts(fig) if t in {"0", "1", "2", "3"}) == ["0", "0", "1", "1", "2", "2", "3", "3"]
    plt.close(fig)
    with pytest.raises(ValueError, match="outside a grid of 2 × 2 blocks"):
        tile_loads(64, 64, 64, 32, 32, 16, block=(2, 0))


def test_merge_trace_shows_each_merge_and_refuses_an_unknown_id():
    fig = draw_merge_trace("aaab", {(97, 97): 256, (256, 97): 257})
    shown = texts(fig)
    assert "4 tokens" in shown and "3 tokens" in shown and "2 tokens" in shown
    assert "257 = (256, 97)  'aa' + 'a'" in shown
    plt.close(fig)
    with pytest.raises(ValueError, match="uses an id that no earlier merge made"):
        draw_merge_trace("ab", {(300, 97): 256})
