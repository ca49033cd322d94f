"""Bad and odd input across the command lines, the scripts, the model API, the engine, the tokenizers and zh.data.

Each test names the category of issue 26 it covers: overwriting, eval-mode sampling, long items, errors
found only after training, checkpoint loading, script options, silent wrong results, conflicting options,
two runs in one place, interrupts, the tokenizer, and messages that name internals. Models are tiny and
runs are a few steps.
"""

import argparse
import math
import os
import random
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from hypothesis import given, settings
from hypothesis import strategies as st
from script_loader import load_script

from zh import cli
from zh.data import MIN_SPLIT_ITEMS, CharVocab, items_of, load_names, shakespeare_splits, split_words
from zh.engine import Value, dot
from zh.models.registry import MODELS
from zh.models.gpt import GPT, GPTConfig
from zh.models.sampling import generate, next_token_probs, sample_words
from zh.tokenizer import BasicTokenizer, RegexTokenizer
from zh.tokenizer.fast_encoder import FastEncoder

import lm_training

train_gpt = load_script("train_gpt")
QUICK = ["--quick", "--no-results", "--threads", "1"]


@pytest.fixture
def script(capsys):
    """A script's ``main`` run as its command line runs it (`lm_training.main`): (returncode, stderr)."""

    def run(prog, function, argv):
        capsys.readouterr()
        try:
            returncode = lm_training.main(prog, function, [*map(str, argv)])
        except SystemExit as exit_:  # argparse's errors (an option out of its range...)
            returncode = exit_.code
        return SimpleNamespace(returncode=returncode, stderr=capsys.readouterr().err)

    return run


FEW = ["--max-steps", 20, "--eval-every", 20]


def one_line_error(proc, *needles, prog="zh makemore"):
    """Exit status 2 and one line on stderr with each of ``needles`` in it, on a line of its own after the
    progress bar if training had started; no traceback."""
    assert proc.returncode == 2, proc.stderr
    bar, _, line = proc.stderr.removesuffix("\n").rpartition("\n")
    assert line.startswith(f"{prog}: error:"), proc.stderr
    assert all("%|" in row for row in bar.split("\n") if bar) and "Traceback" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in line, proc.stderr


def malicious_checkpoint(path: Path, marker: Path) -> Path:
    """A file that runs ``touch marker`` when unpickled without ``weights_only``."""

    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    torch.save({"config": {}, "model": Payload()}, path)
    return path


# --- overwriting ----------------------------------------------------------------------------------

def test_script_never_replaces_a_file_without_overwrite(tmp_path, script):
    """Overwriting: an existing --checkpoint needs --resume or --overwrite; --overwrite replaces only a checkpoint."""
    ckpt = tmp_path / "c.pt"
    assert train_gpt.main(QUICK + ["--checkpoint", str(ckpt), "--max-steps", "2"]) is None
    before = ckpt.read_bytes()
    one_line_error(script("train_gpt.py", train_gpt.main, QUICK + ["--checkpoint", ckpt]),
                   "already exists", "--overwrite", prog="train_gpt.py")
    assert ckpt.read_bytes() == before
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    one_line_error(script("train_gpt.py", train_gpt.main, QUICK + ["--checkpoint", notes, "--overwrite"]),
                   "notes.txt is not a checkpoint", prog="train_gpt.py")
    assert notes.read_text() == "my notes"
    train_gpt.main(QUICK + ["--checkpoint", str(ckpt), "--max-steps", "4", "--overwrite"])
    assert torch.load(ckpt, weights_only=True)["step"] == 4


# --- sampling and evaluation in eval mode ----------------------------------------------------------

def test_sampling_is_in_eval_mode_and_restores_the_mode():
    """Eval mode: a WaveNet (BatchNorm) samples one word as in eval mode, and a GPT with dropout generates as
    in eval mode; each is back in training mode after."""
    vocab = CharVocab.from_words(["abc"])
    torch.manual_seed(0)
    wavenet = MODELS["wavenet"].build(MODELS["wavenet"].make_config({"vocab_size": len(vocab)}))
    wavenet.train()
    for _ in range(3):  # give BatchNorm running statistics that differ from any batch's own
        wavenet(torch.randint(0, 4, (8, 5)), torch.randint(0, 4, (8, 5)))
    one = sample_words(wavenet, vocab, 1, generator=torch.Generator().manual_seed(1), prompt_length=1)
    assert wavenet.training
    expected = sample_words(wavenet.eval(), vocab, 1, generator=torch.Generator().manual_seed(1), prompt_length=1)
    assert one == expected
    gpt = GPT(GPTConfig(vocab_size=5, block_size=8, n_layer=1, n_head=1, n_embd=8, dropout=0.5)).train()
    prompt = torch.zeros(2, 1, dtype=torch.long)
    sampled = gpt.generate(prompt, 6, generator=torch.Generator().manual_seed(0))
    assert gpt.training
    assert torch.equal(sampled, gpt.eval().generate(prompt, 6, generator=torch.Generator().manual_seed(0)))


def test_num_samples_1_on_the_default_mlp(makemore, tmp_path, names_file):
    """Errors after training: one sample from an MLP once failed in a .view() on a strided window."""
    run = makemore(names_file, "--work-dir", tmp_path, "--num-samples", 1, *FEW)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("\n  ") == 1


# --- long items -----------------------------------------------------------------------------------

def test_a_long_line_is_refused_with_its_number(makemore, tmp_path, names_file):
    """Long items: refused with the line number and length, before any work; --max-len raises the limit."""
    data = tmp_path / "long.txt"
    data.write_text(names_file.read_text() + "a" * 6000 + "\n")
    line = names_file.read_text().count("\n") + 1
    one_line_error(makemore(data, "--work-dir", tmp_path / "w", *FEW), f"line {line}", "6,000 characters",
                   "--max-len 100")
    assert not (tmp_path / "w").exists()
    wide = tmp_path / "wide.txt"
    wide.write_text(names_file.read_text() + "a" * 120 + "\n")
    assert makemore(wide, "--work-dir", tmp_path / "w", "--max-len", 120, "--type", "bigram",
                    *FEW).returncode == 0


class EndsAtOnce(nn.Module):
    """A sequence model that always predicts the boundary token 0, and counts its calls."""

    def __init__(self):
        super().__init__()
        self.config = SimpleNamespace(block_size=50)
        self.calls = 0

    def forward(self, idx, targets=None):
        self.calls += 1
        logits = torch.full((*idx.shape, 3), -30.0)
        logits[..., 0] = 30.0
        return logits, None


def test_sampling_stops_when_every_sample_has_ended():
    """Long items: sampling used to run to max_len steps even after every sample had ended."""
    model = EndsAtOnce()
    assert sample_words(model, CharVocab.from_words(["ab"]), 4, max_len=1000, prompt_length=1) == [""] * 4
    assert model.calls == 1
    rows = generate(model, torch.zeros(4, 1, dtype=torch.long), 1000, stop=0)
    assert rows.shape == (4, 2) and model.calls == 2


# --- errors found before the first step -----------------------------------------------------------

@pytest.mark.parametrize("args, needles", [
    (["--type", "transformer", "--n-head", 3], ["cannot be built", "divisible by n_head"]),
    (["--type", "transformer", "--dropout", 1.5], ["cannot be built", "dropout"]),
    (["--work-dir", "FILE/sub"], ["cannot write in"]),
    (["--sample-only", "--resume"], ["contradict"]),
    (["--sample-only", "--max-steps", 5], ["--sample-only trains nothing", "--max-steps"]),
])
def test_makemore_refuses_before_training(makemore, tmp_path, names_file, args, needles):
    """Errors after training, conflicting options: config errors, an unwritable work dir, contradicting flags."""
    (tmp_path / "FILE").write_text("a file in the way")
    args = [str(tmp_path / a) if a == "FILE/sub" else a for a in args]
    run = makemore(names_file, "--work-dir", tmp_path / "w", *FEW, *args)
    one_line_error(run, *needles)
    assert "training" not in run.stdout


def test_a_tiny_temperature_samples_greedily(makemore, tmp_path, names_file):
    """Errors after training: a temperature of 1e-310 overflowed to inf - inf = nan in the probabilities."""
    run = makemore(names_file, "--work-dir", tmp_path, "--type", "bigram", "--temperature", 1e-310, *FEW)
    assert run.returncode == 0, run.stderr
    assert len(set(run.stdout.splitlines()[-10:])) == 1  # greedy: every sample the same


@settings(max_examples=100, deadline=None)
@given(logits=st.lists(st.floats(-1e4, 1e4), min_size=2, max_size=6),
       temperature=st.floats(min_value=5e-324, max_value=1e30))
def test_next_token_probs_are_probabilities_at_any_temperature(logits, temperature):
    """Any positive temperature, subnormal ones included: finite probabilities that sum to 1."""
    probs = next_token_probs(torch.tensor([logits]), temperature)
    assert torch.isfinite(probs).all() and abs(probs.sum().item() - 1) < 1e-5


def test_divergence_stops_at_once_with_what_to_try(makemore, script, tmp_path, names_file):
    """Errors after training: a run whose loss becomes nan stops at once, in one line that says what to try."""
    one_line_error(makemore(names_file, "--work-dir", tmp_path / "w", "--learning-rate", 1e6, "--max-steps", 50,
                            "--eval-every", 50), "diverged", "--learning-rate")
    assert not (tmp_path / "w" / "model.pt").exists()  # nothing diverged was saved
    run = script("train_gpt.py", train_gpt.main, QUICK + ["--learning-rate", "1e30", "--warmup", "0"])
    one_line_error(run, "diverged", "at step 2", "--learning-rate", prog="train_gpt.py")


# --- checkpoints ----------------------------------------------------------------------------------

# random bytes, the same in every test worker (xdist needs the same test ids in each)
@pytest.mark.parametrize("content", ["malicious", b"", b"PK\x03\x04 cut short", random.Random(0).randbytes(64)],
                         ids=["malicious", "empty", "truncated", "random"])
def test_unreadable_checkpoints_are_one_line(tmp_path, makemore, script, content):
    """Checkpoints: read with weights_only=True (a crafted file runs nothing); empty, truncated or random
    files are one line naming the file, in zh makemore, train_gpt.py --resume and gpt_vs_bert.py."""
    marker = tmp_path / "ran"
    path = tmp_path / "w" / "model.pt"
    path.parent.mkdir()
    if content == "malicious":
        malicious_checkpoint(path, marker)
    else:
        path.write_bytes(content)
    data = tmp_path / "names.txt"
    data.write_text("\n".join(load_names()[:20]))
    one_line_error(makemore(data, "--work-dir", path.parent, "--sample-only"), str(path))
    one_line_error(script("train_gpt.py", train_gpt.main, QUICK + ["--checkpoint", path, "--resume"]), str(path),
                   prog="train_gpt.py")
    gpt_vs_bert = load_script("gpt_vs_bert")
    run = script("gpt_vs_bert.py", gpt_vs_bert.main, ["--gpt", path, "--bert", path])
    one_line_error(run, str(path), prog="gpt_vs_bert.py")
    assert not marker.exists()
    # messages: no advice to turn weights_only off, no option that gpt_vs_bert.py does not have
    assert "weights_only" not in run.stderr and "--resume" not in run.stderr


def test_saved_checkpoints_load_with_weights_only(tmp_path):
    """Checkpoints: what the scripts save is safe-loadable (tensors, numbers, strings, lists, dicts)."""
    train_gpt.main(QUICK + ["--checkpoint", str(tmp_path / "c.pt"), "--max-steps", "2", "--dropout", "0.1"])
    state = torch.load(tmp_path / "c.pt", weights_only=True)
    assert {"model", "optimizer", "generators", "rng", "history", "seconds"} <= state.keys()


def test_a_damaged_makemore_checkpoint_names_no_internals(makemore, tmp_path, names_file):
    """Messages: weights that do not fit the model once raised torch's error about 'FixedContext'."""
    assert makemore(names_file, "--work-dir", tmp_path, "--type", "bigram", *FEW).returncode == 0
    ckpt = torch.load(tmp_path / "model.pt", weights_only=True)
    ckpt["model"] = {"model.W": torch.zeros(2)}
    torch.save(ckpt, tmp_path / "model.pt")
    run = makemore(names_file, "--work-dir", tmp_path, "--sample-only")
    one_line_error(run, "is damaged")
    assert "FixedContext" not in run.stderr and "state_dict" not in run.stderr
    for key, value in (("vocab", None), ("type", True), ("step", "7")):  # KeyError: True, and the like
        torch.save({**ckpt, key: value}, tmp_path / "model.pt")
        one_line_error(makemore(names_file, "--work-dir", tmp_path, "--sample-only"), str(tmp_path / "model.pt"))


# --- script options -------------------------------------------------------------------------------

@pytest.mark.parametrize("option, value, needle", [
    ("--stop-at", 0, "--stop-at: must be a whole number of at least 1"),  # 0 was taken for "unset"
    ("--grad-clip", -1, "--grad-clip: must be a finite number above 0"),  # a negative clip ascended
    ("--learning-rate", "nan", "--learning-rate: must be a finite number of at least 0"),
    ("--batch-size", 0, "--batch-size: must be"),  # an empty batch "trained" to nan
    ("--threads", 0, "--threads: must be"),
    ("--eval-every", 0, "--eval-every: must be"),
    ("--eval-iters", -1, "--eval-iters: must be"),
    ("--max-steps", 0, "--max-steps: must be"),
    ("--dropout", 1.0, "--dropout: must be a number from 0 to below 1"),
    ("--time-budget", 0, "--time-budget: must be"),
    ("--sample-chars", -1, "--sample-chars: must be"),
    ("--device", "tpu", "--device"),
    ("--n-head", 3, "divisible by n_head"),
    ("--block-size", 200_000, "the val text has only"),
])
def test_train_gpt_checks_every_option_before_any_work(tmp_path, script, option, value, needle):
    """Script options: one line and exit status 2 before any work (nothing written)."""
    run = script("train_gpt.py", train_gpt.main, QUICK + ["--checkpoint", tmp_path / "c.pt", option, value])
    one_line_error(run, needle, prog="train_gpt.py")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, needle", [
    (["--resume", "--overwrite", "--checkpoint", "c.pt"], "--resume and --overwrite contradict each other"),
    (["--stop-at", "5"], "--stop-at needs --checkpoint"),
    (["--overwrite"], "--overwrite needs --checkpoint"),
])
def test_train_gpt_refuses_contradicting_options(argv, needle, capsys):
    """Conflicting options: refused by the parser (exit status 2) before any work."""
    with pytest.raises(SystemExit) as exit_:
        train_gpt.main(QUICK + argv)
    assert exit_.value.code == 2 and needle in capsys.readouterr().err


def test_train_bert_checks_its_mask_probability(script):
    """Script options: train_bert.py's own number (a mask probability of 0 leaves nothing to learn)."""
    train_bert = load_script("train_bert")
    one_line_error(script("train_bert.py", train_bert.main, ["--quick", "--no-results", "--mask-prob", 0]),
                   "--mask-prob: must be a number above 0 and at most 1", prog="train_bert.py")


@pytest.mark.parametrize("name, argv", [
    ("bench_gpt", ["--threads", "0", "--quick", "--out-dir", "x"]),
    ("bench_tokenizer", ["--repeats", "0"]),
    ("train_mlp", ["--max-steps", "0"]),
    ("train_batchnorm", ["--max-steps", "-5"]),
    ("gpt_vs_bert", ["--gpt", "a", "--bert", "b", "--threads", "0"]),
])
def test_other_scripts_check_their_numbers(name, argv, capsys):
    """Script options: the benchmarks and the other training scripts refuse a zero or negative number (exit 2)."""
    with pytest.raises(SystemExit) as exit_:
        load_script(name).main(argv)
    assert exit_.value.code == 2 and "must be a whole number of at least 1" in capsys.readouterr().err


@settings(max_examples=200, deadline=None)
@given(value=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10)),
       rule=st.sampled_from(["POSITIVE", "COUNT", "NON_NEGATIVE", "ABOVE_ZERO", "FRACTION", "PROBABILITY", "SHARE"]))
def test_every_rule_refuses_nan_and_says_what_it_wants(value, rule):
    """Script options: a rule accepts a value exactly when the number is in its range (NaN never is)."""
    expected = {
        "POSITIVE": value >= 1, "COUNT": value >= 0, "NON_NEGATIVE": math.isfinite(value) and value >= 0,
        "ABOVE_ZERO": math.isfinite(value) and value > 0, "FRACTION": 0 <= value <= 1,
        "PROBABILITY": 0 <= value < 1, "SHARE": 0 < value <= 1,
    }[rule]
    rule = getattr(cli, rule)
    if rule.kind is int and not isinstance(value, int):
        return  # an int option parses whole numbers only (argparse refuses "0.5" itself)
    if expected:
        assert rule(str(value)) == value
    else:
        with pytest.raises(argparse.ArgumentTypeError, match=f"must be {rule.text}, got"):
            rule(str(value))


# --- silent wrong results -------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda m, idx: generate(m, idx, -3),
    lambda m, idx: generate(m, idx, 3, temperature=math.nan),
    lambda m, idx: m.generate(idx, -3),
    lambda m, idx: m.generate(idx, 3, temperature=math.nan),
])
def test_generate_refuses_negative_lengths_and_nan_temperatures(call):
    """Silent wrong results: generate(idx, -3) returned the prompt, temperature=nan passed `<= 0`."""
    model = GPT(GPTConfig(vocab_size=5, block_size=4, n_layer=1, n_head=1, n_embd=4))
    with pytest.raises(ValueError, match="max_new_tokens|temperature"):
        call(model, torch.zeros(1, 1, dtype=torch.long))


@settings(max_examples=100, deadline=None)
@given(items=st.lists(st.text(st.characters(blacklist_characters="\n"), min_size=1).map(str.strip)
                      .filter(bool), max_size=8))
def test_items_are_split_at_newlines_only(items):
    """Silent wrong results: str.splitlines() cut items at form feeds, U+0085, U+2028... inside them."""
    assert items_of("\n".join(items)) == items
    assert items_of("\r\n".join(items) + "\n\n") == items


def test_the_stated_minimum_of_items_is_the_real_one(makemore, tmp_path):
    """Silent wrong results: the message said 10 items; 6 is the least that leaves one for validation."""
    assert [len(split_words(list("abcdefghij"[:n]))[1]) > 0 for n in range(1, 11)] == \
        [n >= MIN_SPLIT_ITEMS for n in range(1, 11)] and MIN_SPLIT_ITEMS == 6
    data = tmp_path / "few.txt"
    data.write_text("\n".join(load_names()[:MIN_SPLIT_ITEMS - 1]))
    one_line_error(makemore(data, "--work-dir", tmp_path / "w", *FEW), f"at least {MIN_SPLIT_ITEMS}")
    data.write_text("\n".join(load_names()[:MIN_SPLIT_ITEMS]))
    assert makemore(data, "--work-dir", tmp_path / "w", "--type", "bigram", *FEW).returncode == 0


def test_an_empty_text_has_no_split(tmp_path):
    """Silent wrong results: an empty text file gave train and validation splits of 0 characters."""
    empty = tmp_path / "tinyshakespeare.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match="0 characters"):
        shakespeare_splits(empty)


@settings(max_examples=200, deadline=None)
@given(a=st.floats(allow_nan=False, allow_infinity=False), b=st.floats(allow_nan=False, allow_infinity=False),
       op=st.sampled_from(["+", "*", "/"]))
def test_one_overflow_policy_for_every_op(a, b, op):
    """Silent wrong results: Value(1e200) * Value(1e200) was inf where ** raised; now every op raises."""
    f = {"+": lambda x, y: x + y, "*": lambda x, y: x * y, "/": lambda x, y: x / y}[op]
    if op == "/" and b == 0:
        return
    try:
        exact = f(a, b)
    except OverflowError:
        exact = math.inf
    try:
        out = f(Value(a), Value(b))
    except OverflowError as exc:
        assert "larger than the largest float" in str(exc)
        # refused: the float result is inf, or (for /) 1/b or a * (1/b) is: zh divides so, as its message says
        assert math.isinf(exact) or op == "/" and (math.isinf(1 / b) or math.isinf(a * (1 / b)))
        return
    assert out.data == exact or op == "/" and math.isclose(out.data, exact, rel_tol=1e-12, abs_tol=1e-300)


def test_dot_follows_the_same_overflow_policy():
    with pytest.raises(OverflowError, match="dot: .* over 2 inputs is larger than the largest float"):
        dot([Value(1e200), Value(1.0)], [1e200, 1.0], Value(0.0))
    assert math.isinf(dot([Value(math.inf)], [1.0], Value(0.0)).data)  # an infinity given goes through


# --- two runs, interrupts -------------------------------------------------------------------------

def test_two_runs_into_one_place_are_refused(makemore, script, tmp_path, names_file):
    """Two runs: a second run writing the same checkpoint is refused while the first holds it."""
    with cli.exclusive(tmp_path / "w" / "model.pt", "--work-dir"):
        one_line_error(makemore(names_file, "--work-dir", tmp_path / "w", *FEW), "another run", str(os.getpid()))
    with cli.exclusive(tmp_path / "c.pt", "--checkpoint"):
        one_line_error(script("train_gpt.py", train_gpt.main, QUICK + ["--checkpoint", tmp_path / "c.pt"]),
                       "another run", prog="train_gpt.py")
    assert makemore(names_file, "--work-dir", tmp_path / "w", "--type", "bigram", *FEW).returncode == 0


def test_ctrl_c_in_a_script_is_one_line_and_130(script, monkeypatch):
    """Interrupts: Ctrl-C during training is one line and exit status 130, as in zh makemore."""
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(lm_training.training, "train", interrupted)
    run = script("train_gpt.py", train_gpt.main, QUICK)
    bar, _, line = run.stderr.removesuffix("\n").rpartition("\n")
    assert run.returncode == 130 and line.startswith("train_gpt.py: interrupted")
    assert "\n" not in bar and "Traceback" not in run.stderr


def test_train_makemore_refuses_a_second_type(tmp_path, capsys):
    """Conflicting options: `--type mlp -- --type bigram` trained a bigram and recorded it as "mlp"."""
    with pytest.raises(SystemExit):
        load_script("train_makemore").main(["--type", "mlp", "--out-dir", str(tmp_path), "--", "--type", "bigram"])
    assert "give --type before '--'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# --- tokenizer ------------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [BasicTokenizer, RegexTokenizer])
def test_first_encode_after_a_long_repetitive_text_is_instant(cls, monkeypatch):
    """Tokenizer: training on "a" * n makes tokens of thousands of bytes; checking each of them by BPE, on the
    first encode, took 41 s for n = 1,000,000. Now no long token is checked up front."""
    tok = cls()
    with pytest.warns(UserWarning, match="ran out of pairs"):
        tok.train("a" * 20_000, 300)
    assert max(map(len, tok.vocab.values())) == 20_000
    calls = []
    monkeypatch.setattr(FastEncoder, "_bpe_heap", lambda self, ids: calls.append(len(ids)))
    assert tok.encode("hello aaaa") == tok.encode_ordinary("hello aaaa") and calls == []


def test_tokenizer_files_and_arguments_as_other_libraries_use_them(tmp_path):
    """Tokenizer: tiktoken's disallowed_special=(), a .model file with a BOM, and minbpe's tok.load(path)."""
    tok = RegexTokenizer()
    tok.train("hello world, hello there " * 20, 270)
    tok.register_special_tokens({"<|endoftext|>": 300})
    text = "hi <|endoftext|>"
    as_text = tok.encode(text, "none")
    assert tok.encode(text, disallowed_special=()) == as_text == tok.to_tiktoken().encode(text, disallowed_special=())
    with pytest.raises(ValueError, match="special token"):
        tok.encode(text)
    model = tok.save(tmp_path / "x")
    (tmp_path / "bom.model").write_bytes(b"\xef\xbb\xbf" + model.read_bytes())
    assert RegexTokenizer.load(tmp_path / "bom.model").merges == tok.merges
    fresh = RegexTokenizer()
    assert fresh.load(model) is fresh and fresh.merges == tok.merges and fresh.encode("hello") == tok.encode("hello")
    basic = BasicTokenizer()
    with pytest.raises(ValueError, match="BasicTokenizer"):
        basic.load(model)
    assert basic.merges == {}  # left as it was
