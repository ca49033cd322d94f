"""zh.models.bert: bidirectional vs causal, the masking rule, the loss on chosen positions, checkpoints, the script."""

import json
from dataclasses import asdict

import pytest
import torch
import torch.nn.functional as F

from zh.cli import CLIError
from zh.data import shakespeare_splits
from zh.models.bert import BERT, BertConfig, fill_masks, iterative_unmask, mask_tokens, masked_char_scores
from zh.models.gpt import GPT, GPTConfig

import lm_training

from zh import train as training
import train_bert  # noqa: E402

TINY = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)
MASK = 10  # ids 0..9 are characters


def tiny_bert(seed=0):
    torch.manual_seed(seed)
    return BERT(BertConfig(**TINY)).eval()


def test_bert_reads_both_sides_gpt_only_the_left():
    torch.manual_seed(0)
    bert, gpt = tiny_bert(), GPT(GPTConfig(**TINY)).eval()
    idx = torch.randint(0, 10, (1, 8))
    with torch.no_grad():
        for j in range(8):
            changed = idx.clone()
            changed[0, j] = (idx[0, j] + 1) % 10
            bert_diff = (bert(changed)[0] - bert(idx)[0]).abs().amax(-1)[0]
            gpt_diff = (gpt(changed)[0] - gpt(idx)[0]).abs().amax(-1)[0]
            assert (bert_diff > 1e-6).all(), f"BERT: changing position {j} left some position unchanged"
            assert (gpt_diff[:j] == 0).all(), f"GPT: changing position {j} changed an earlier position"
            assert (gpt_diff[j:] > 1e-6).all(), f"GPT: changing position {j} left a later position unchanged"


def test_bert_config_counts_the_mask_and_names_itself_in_errors():
    assert BertConfig().vocab_size == GPTConfig().vocab_size + 1  # tiny shakespeare's 65 characters and [MASK]
    with pytest.raises(ValueError, match=r"^BertConfig.n_layer must be a whole number >= 1, got 0$"):
        BertConfig(n_layer=0)


def test_masking_rule_proportions():
    g = torch.Generator().manual_seed(0)
    idx = torch.randint(0, 65, (4000, 100), generator=g)
    inputs, targets = mask_tokens(idx, mask_id=65, generator=g)
    chosen = targets != -1
    assert (chosen.sum(1) == 15).all()  # 15% of each row, exactly
    assert torch.equal(targets[chosen], idx[chosen])
    assert torch.equal(inputs[~chosen], idx[~chosen])  # unchosen positions are never touched
    n = chosen.sum().item()  # 60,000 chosen positions: the fractions are within ~0.3% of their expectation
    masked = (inputs[chosen] == 65).sum().item() / n
    replaced = ((inputs[chosen] != 65) & (inputs[chosen] != idx[chosen])).sum().item() / n
    kept = (inputs[chosen] == idx[chosen]).sum().item() / n
    # a random character is the original one 1 time in 65: those look "kept"
    assert abs(masked - 0.8) < 0.01
    assert abs(replaced - 0.1 * 64 / 65) < 0.01
    assert abs(kept - (0.1 + 0.1 / 65)) < 0.01
    assert inputs.max() <= 65 and inputs.min() >= 0


def test_masking_rule_chooses_at_least_one_position_and_checks_its_input():
    inputs, targets = mask_tokens(torch.zeros(5, 3, dtype=torch.long), mask_id=MASK)
    assert ((targets != -1).sum(1) == 1).all()
    with pytest.raises(ValueError, match=r"\[MASK\] id is 10"):
        mask_tokens(torch.full((1, 4), MASK), mask_id=MASK)
    with pytest.raises(ValueError, match="fraction"):
        mask_tokens(torch.zeros(1, 4, dtype=torch.long), mask_id=MASK, mask_prob=0)


def test_loss_is_on_the_chosen_positions_only():
    model = tiny_bert()
    g = torch.Generator().manual_seed(1)
    idx = torch.randint(0, 10, (4, 8), generator=g)
    inputs, targets = mask_tokens(idx, MASK, mask_prob=0.25, generator=g)
    logits, loss = model(inputs, targets)
    chosen = targets != -1
    assert torch.allclose(loss, F.cross_entropy(logits[chosen], idx[chosen]))
    # the gradient reaches the logits of chosen positions only
    logits = logits.detach().requires_grad_()
    F.cross_entropy(logits.view(-1, 11), targets.view(-1), ignore_index=-1).backward()
    assert (logits.grad[~chosen] == 0).all() and (logits.grad[chosen].abs().sum(-1) > 0).all()
    with pytest.raises(ValueError, match="nothing to compute a loss on"):
        model(inputs, torch.full_like(targets, -1))


def test_fill_and_iterative_unmask():
    model = tiny_bert()
    idx = torch.tensor([[1, 2, MASK, 4, MASK, MASK, 7, 8]])
    filled = fill_masks(model, idx, MASK)
    assert (filled != MASK).all() and torch.equal(filled[idx != MASK], idx[idx != MASK])
    steps = iterative_unmask(model, idx, MASK, per_step=2, generator=torch.Generator().manual_seed(0))
    assert [int((s == MASK).sum()) for s in steps] == [3, 1, 0]
    assert all(torch.equal(s[idx != MASK], idx[idx != MASK]) for s in steps)


def test_masked_char_scores_masks_every_character_once():
    model = tiny_bert()
    data = torch.randint(0, 10, (8 * 5 + 3,))
    loss, correct = masked_char_scores(model, data, MASK, groups=3, generator=torch.Generator().manual_seed(0))
    assert loss.shape == correct.shape == (40,)
    assert torch.isfinite(loss).all() and (loss > 0).all()
    # with groups=1 every character of a window is hidden at once: each is scored from a blank window
    loss1, _ = masked_char_scores(model, data[:8], MASK, groups=1)
    blank = torch.full((1, 8), MASK)
    expected = -F.log_softmax(model(blank)[0][0, :, :MASK], -1).gather(-1, data[:8, None])[:, 0]
    assert torch.allclose(loss1, expected, atol=1e-6)


def test_checkpoint_round_trip(tmp_path):
    model = tiny_bert()
    optimizer = training.configure_optimizer(model, 1e-3, 0.1)
    gens = {"batch": torch.Generator().manual_seed(3)}
    training.save_checkpoint(tmp_path / "c.pt", model, optimizer, 7, format=lm_training.FORMAT,
                             config=asdict(model.config), generators={k: g.get_state() for k, g in gens.items()})
    state = training.load_checkpoint(tmp_path / "c.pt", lm_training.FORMAT, lm_training.CHECKPOINT)
    again = BERT(BertConfig(**state["config"])).eval()
    again.load_state_dict(state["model"])
    idx = torch.randint(0, 11, (2, 8))
    assert torch.equal(model(idx)[0], again(idx)[0])
    assert state["step"] == 7 and torch.equal(state["generators"]["batch"], gens["batch"].get_state())
    # (a checkpoint of another shape is refused on --resume: tests/test_train_gpt.py)


def test_script_quick_and_resume(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    whole = train_bert.shakespeare_splits

    def short_val():  # what is checked is the bookkeeping: scoring 8,192 characters of val will do (not 111,540)
        chars, train, val = whole()
        return chars, train, val[:8192]

    monkeypatch.setattr(train_bert, "shakespeare_splits", short_val)
    common = ["--quick", "--threads", "1", "--out-dir", str(tmp_path), "--checkpoint", str(tmp_path / "b.pt")]
    run = train_bert.main(common)
    assert run["steps"] == 20 and run["val"] < run["history"][0]["val"]  # it learned something
    assert 0 <= run["val_full_acc"] <= 1
    resumed = train_bert.main(common + ["--resume", "--max-steps", "30"])
    assert [h["step"] for h in resumed["history"]] == [0, 10, 20, 30]
    saved = json.loads((tmp_path / "train_bert.json").read_text())
    assert saved["runs"]["best-quick"]["steps"] == 30
    assert "masked-character accuracy" in (tmp_path / "train_bert.md").read_text()
    with pytest.raises(SystemExit):
        train_bert.main(["--quick"])  # no --out-dir: would overwrite the committed results


def _tiny_checkpoints(tmp_path, gpt_block=64, bert_block=32):
    torch.manual_seed(0)
    for name, kind, config_class, block in (("gpt", GPT, GPTConfig, gpt_block), ("bert", BERT, BertConfig, bert_block)):
        config = config_class(block_size=block, n_layer=1, n_head=2, n_embd=16)  # vocab_size: 65 and 65 + [MASK]
        model = kind(config)
        training.save_checkpoint(tmp_path / f"{name}.pt", model, training.configure_optimizer(model, 1e-3, 0.0), 0,
                                 format=lm_training.FORMAT, config=asdict(config))
    return ["--gpt", str(tmp_path / "gpt.pt"), "--bert", str(tmp_path / "bert.pt"), "--threads", "1",
            "--out-dir", str(tmp_path)]


def test_gpt_vs_bert_script_on_tiny_models(tmp_path):
    import gpt_vs_bert

    data = gpt_vs_bert.main(_tiny_checkpoints(tmp_path))
    table = data["table"]
    assert data["block_size"] == {"gpt": 64, "bert": 32}
    assert table["all characters"]["characters"] == data["scored_characters"] == (111_540 - 1) // 64 * 64
    kinds = ["first letter of a word", "later letter of a word", "space", "newline", "punctuation"]
    assert sum(table[k]["characters"] for k in kinds) == data["scored_characters"]
    for model, edge in (("GPT", 8), ("BERT", 4)):  # each model's window places split the same characters
        places = [f"first {edge} places of a {model} window", f"middle places of a {model} window",
                  f"last {edge} places of a {model} window"]
        assert sum(table[k]["characters"] for k in places) == data["scored_characters"]
    assert table["first 4 places of a BERT window"]["characters"] == data["scored_characters"] // 8
    gpt_maps, bert_maps = (torch.tensor([[[[float(p) for p in row.split()] for row in head] for head in layer]
                                         for layer in data["attention"][k]]) for k in ("gpt", "bert"))
    assert torch.allclose(gpt_maps.sum(-1), torch.ones(()), atol=0.03)
    assert (gpt_maps.triu(1) == 0).all() and (bert_maps.triu(1) > 0).any()  # the causal mask, and its absence
    assert len(data["fills"]) == gpt_vs_bert.FILL_LINES
    chars, _, val = shakespeare_splits()
    gpt = GPT(GPTConfig(**torch.load(tmp_path / "gpt.pt")["config"]))
    gpt.load_state_dict(torch.load(tmp_path / "gpt.pt")["model"])
    for fill in data["fills"]:
        assert len(fill["bert"]) == len(fill["truth"]) == len(fill["gpt"]) and fill["masked"]
        assert all(b == t for i, (b, t) in enumerate(zip(fill["bert"], fill["truth"])) if i not in fill["masked"])
        assert "".join(chars[i] for i in val[fill["start"]:fill["start"] + len(fill["truth"])]) == fill["truth"]
        for i in fill["masked"][:2]:  # the GPT's guess: from the 64 characters before, its whole context
            p = fill["start"] + i
            with torch.no_grad():
                assert chars[gpt(val[p - 64:p][None])[0][0, -1].argmax()] == fill["gpt"][i]
    steps = data["generation"]["bert_steps"]
    assert set(steps[0]) == {"_"} and "_" not in steps[-1] and len(steps[-1]) == 16
    assert "<span" in (tmp_path / "gpt_vs_bert_fills.md").read_text()
    table_md = (tmp_path / "gpt_vs_bert.md").read_text()
    assert "| all characters |" in table_md and "The GPT (1 layers, 2 heads, width 16) after 0 steps" in table_md
    assert "windows of 64 characters for the GPT, 32 for BERT" in table_md


def test_gpt_vs_bert_needs_bert_windows_that_divide_the_gpts(tmp_path):
    import gpt_vs_bert

    with pytest.raises(CLIError, match="BERT's windows of 48 characters must divide the GPT's 64"):
        gpt_vs_bert.main(_tiny_checkpoints(tmp_path, bert_block=48))
