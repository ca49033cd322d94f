"""Short seeded runs of the three training commands, pinned to what they printed before `zh.train` replaced
their loops (zh makemore's own AdamW loop, scripts/lm_training.py's): the refactor kept their behaviour.

Each run is a few steps of a tiny model on 1 thread (~3 s each). The numbers were recorded with the old
loops; a change of them must be explained here, not re-recorded silently.
"""

import re

import pytest
from script_loader import load_script


def printed_losses(stdout: str) -> list[float]:
    """``step, train loss, val loss`` of each evaluation line of zh makemore, one flat list."""
    return [float(x) for line in re.findall(r"step (\d+): train loss ([\d.]+), val loss ([\d.]+)", stdout)
            for x in line]


MAKEMORE = ["--max-steps", 30, "--eval-every", 15, "--batch-size", 8, "--threads", 1, "--num-samples", 2]


def test_makemore_mlp_run_is_pinned(makemore, tmp_path, names_file):
    """Without weight decay the run is the old loop's, to the printed digit."""
    run = makemore(names_file, "--work-dir", tmp_path / "w", *MAKEMORE, "--weight-decay", 0)
    assert run.returncode == 0
    assert printed_losses(run.stdout) == pytest.approx([15, 12.6685, 14.5167, 30, 9.0642, 11.6500], abs=2e-4)
    assert run.stdout.split("\n")[-3:] == ["  new       amila", "  new       auaa", ""]


def test_makemore_weight_decay_is_on_the_matrices_only(makemore, tmp_path, names_file):
    """A change: the old loop decayed every parameter (the MLP's biases too), `zh.train.configure_optimizer` decays
    the matrices only, as train_gpt.py always did. With the default --weight-decay 0.01 the old loop printed
    12.6424 / 14.4854 at step 15 and 9.0287 / 11.6032 at step 30."""
    run = makemore(names_file, "--work-dir", tmp_path / "w", *MAKEMORE)
    assert run.returncode == 0
    assert printed_losses(run.stdout) == pytest.approx([15, 12.6421, 14.4854, 30, 9.0284, 11.6027], abs=2e-4)


def test_makemore_transformer_run_with_cosine_and_averaging_is_pinned(makemore, tmp_path, names_file):
    run = makemore(names_file, "--work-dir", tmp_path / "w", "--type", "transformer", "--n-layer", 1, "--n-head", 2,
                   "--n-embd", 16, "--final-lr-ratio", 0.1, "--average-last", 0.5, "--weight-decay", 0, *MAKEMORE)
    assert run.returncode == 0
    assert printed_losses(run.stdout) == pytest.approx([15, 2.7431, 2.8043, 30, 2.7279, 2.7851], abs=2e-4)
    assert "(weights averaged over the last 15 steps)" in run.stdout


def history(run: dict) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in run["history"]]


def test_train_gpt_quick_run_is_pinned(tmp_path):
    run = load_script("train_gpt").main(["--quick", "--out-dir", str(tmp_path), "--threads", "1",
                                         "--sample-chars", "20"])
    assert history(run) == [{"step": 0, "train": 4.1746, "val": 4.171}, {"step": 10, "train": 3.8635, "val": 3.8972},
                            {"step": 20, "train": 3.7664, "val": 3.7696}]
    assert run["val_full"] == pytest.approx(3.7976, abs=2e-4)
    assert run["sample"] == "\nv:iDYqLMfs\nvdfCaNndw"


def test_train_bert_quick_run_is_pinned(tmp_path):
    run = load_script("train_bert").main(["--quick", "--out-dir", str(tmp_path), "--threads", "1"])
    assert history(run) == [
        {"step": 0, "train": 4.217, "train_acc": 0.0, "val": 4.2065, "val_acc": 0.0125},
        {"step": 10, "train": 3.7792, "train_acc": 0.0875, "val": 3.7507, "val_acc": 0.1},
        {"step": 20, "train": 3.5937, "train_acc": 0.1625, "val": 3.6829, "val_acc": 0.1375}]
    assert run["val_full"] == pytest.approx(3.5924, abs=2e-4) and run["val_full_acc"] == pytest.approx(0.149)
