"""``zh makemore`` end to end, on tiny files in temporary folders (a few steps each).

Most tests call the entry point ``zh.__main__.main`` in-process (a new Python per call would
spend most of the test time importing torch); two run ``python -m zh`` as a real process, to
see exactly what a user sees.
"""

import os
import subprocess
import sys

import pytest
import torch

from zh.__main__ import main
from zh.makemore import load_checkpoint
from zh.models.registry import MODELS

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def run_process(*args):
    """Run ``python -m zh makemore ARGS`` as a user would; returns the finished process."""
    return subprocess.run([sys.executable, "-m", "zh", "makemore", *map(str, args)],
                          capture_output=True, text=True, env=ENV, timeout=120)


FEW = ["--max-steps", 40, "--eval-every", 20]


def assert_clean_error(proc, *needles):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("zh makemore: error:"), proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


@pytest.mark.parametrize("model_type", sorted(MODELS))
def test_train_resume_sample(makemore, tmp_path, names_file, model_type):
    work = tmp_path / "run"
    trained = (run_process if model_type == "mlp" else makemore)(
        names_file, "--type", model_type, "--work-dir", work, "--num-samples", 6, *FEW
    )
    assert trained.returncode == 0, trained.stderr
    assert "step 40: train loss" in trained.stdout and "val loss" in trained.stdout
    assert "training" in trained.stderr  # the tqdm progress bar
    ckpt = load_checkpoint(work / "model.pt")
    assert ckpt["type"] == model_type and ckpt["step"] in (20, 40)

    resumed = makemore(names_file, "--resume", "--work-dir", work, *FEW)
    assert resumed.returncode == 0, resumed.stderr
    assert f"step {ckpt['step'] + 40}:" in resumed.stdout  # the step count continues from the checkpoint

    sampled = makemore(names_file, "--sample-only", "--work-dir", work, "--num-samples", 7)
    assert sampled.returncode == 0, sampled.stderr
    lines = [line.split() for line in sampled.stdout.splitlines()[1:]]
    assert len(lines) == 7 and all(line[0] in ("new", "in") for line in lines)
    again = makemore(names_file, "--sample-only", "--work-dir", work, "--num-samples", 7)
    assert again.stdout == sampled.stdout  # seeded: the same samples every time


def test_samples_are_labelled_in_train_or_new(makemore, tmp_path):
    """A model of one repeated name samples that name, and says it is in the training data."""
    data = tmp_path / "one.txt"
    data.write_text("abc\n" * 20)
    run = makemore(data, "--type", "bigram", "--work-dir", tmp_path / "w", "--learning-rate", 0.5,
                   "--max-steps", 200, "--eval-every", 200, "--num-samples", 5)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("in train  abc") >= 4


def test_worse_model_never_overwrites_checkpoint(makemore, tmp_path, names_file):
    work = tmp_path / "run"
    assert makemore(names_file, "--type", "mlp", "--work-dir", work, "--scaled-init", *FEW).returncode == 0
    before = (work / "model.pt").read_bytes()
    best = load_checkpoint(work / "model.pt")["val_loss"]
    # A huge learning rate wrecks the model: its val loss is worse, so nothing is saved.
    worse = makemore(names_file, "--resume", "--work-dir", work, "--learning-rate", 50, *FEW)
    assert worse.returncode == 0, worse.stderr
    assert "not saved" in worse.stdout and "saved " + str(work) not in worse.stdout
    assert (work / "model.pt").read_bytes() == before and load_checkpoint(work / "model.pt")["val_loss"] == best


def test_fresh_training_refuses_existing_checkpoint(makemore, tmp_path, names_file):
    work = tmp_path / "run"
    assert makemore(names_file, "--type", "bigram", "--work-dir", work, *FEW).returncode == 0
    before = (work / "model.pt").read_bytes()
    proc = makemore(names_file, "--type", "bigram", "--work-dir", work, *FEW)
    assert_clean_error(proc, "already holds", "--resume")
    assert (work / "model.pt").read_bytes() == before


def test_checkpoint_of_another_model(makemore, tmp_path, names_file):
    work = tmp_path / "run"
    assert makemore(names_file, "--type", "bigram", "--work-dir", work, *FEW).returncode == 0
    assert_clean_error(makemore(names_file, "--type", "mlp", "--resume", "--work-dir", work), "'bigram'", "not 'mlp'")
    assert_clean_error(makemore(names_file, "--type", "mlp", "--sample-only", "--work-dir", work), "'bigram'")


def test_file_that_is_not_a_checkpoint(makemore, tmp_path, names_file):
    (tmp_path / "model.pt").write_text("my notes, not a model")
    assert_clean_error(makemore(names_file, "--sample-only", "--work-dir", tmp_path), "not a zh makemore checkpoint")
    assert (tmp_path / "model.pt").read_text() == "my notes, not a model"


@pytest.mark.parametrize("content, needles", [
    (None, ["not found", "absent.txt"]),
    (b"", ["no items", "empty"]),
    (b"\n  \n\n", ["no items"]),
    (b"emma\nol\xffivia\n", ["not UTF-8", "byte 7", "0xff"]),
    (b"a\nb\nc\n", ["3 items", "at least 6"]),
])
def test_bad_input_files(makemore, tmp_path, content, needles):
    path = tmp_path / "absent.txt"
    if content is not None:
        path.write_bytes(content)
    assert_clean_error(makemore(path, "--work-dir", tmp_path / "w", *FEW), *needles)
    assert not (tmp_path / "w").exists()


def test_bad_input_seen_from_the_shell(tmp_path):
    """What a user sees: one line on stderr, exit status 1, no traceback."""
    path = tmp_path / "latin1.txt"
    path.write_bytes("zoë\n".encode("latin-1"))
    proc = run_process(path, "--work-dir", tmp_path / "w")
    assert_clean_error(proc, "not UTF-8")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1


def test_bad_options(makemore, tmp_path, names_file):
    assert_clean_error(makemore(names_file, "--type", "bigram", "--n-hidden", 5, "--work-dir", tmp_path),
                       "--n-hidden", "'bigram'")
    assert_clean_error(makemore(names_file, "--sample-only", "--work-dir", tmp_path), "no checkpoint")
    assert_clean_error(makemore(names_file, "--max-steps", 0, "--work-dir", tmp_path), "--max-steps")


def test_data_containing_the_dot(makemore, tmp_path):
    """'.' is an ordinary character of this data, so the boundary must be something else."""
    data = tmp_path / "hosts.txt"
    data.write_text("\n".join(f"{w}.{d}" for w in ["ab", "cd", "ef", "gh"] for d in ["com", "org", "net"]))
    work = tmp_path / "w"
    run = makemore(data, "--type", "mlp", "--work-dir", work, "--num-samples", 20, *FEW)
    assert run.returncode == 0, run.stderr
    ckpt = load_checkpoint(work / "model.pt")
    assert ckpt["vocab"][0] == "\n" and "." in ckpt["vocab"][1:]
    # the checkpoint's vocabulary is the one used again, even with a '.'-free file
    other = tmp_path / "plain.txt"
    other.write_text("\n".join(["abc"] * 12))
    assert makemore(other, "--sample-only", "--work-dir", work).returncode == 0
    assert_clean_error(makemore(tmp_path / "hosts.txt", "--sample-only", "--work-dir", work, "--n-embd", 3),
                       "drop --n-embd")


def test_unknown_characters_on_resume(makemore, tmp_path, names_file):
    work = tmp_path / "w"
    assert makemore(names_file, "--type", "bigram", "--work-dir", work, *FEW).returncode == 0
    other = tmp_path / "digits.txt"
    other.write_text("\n".join(["a1", "b2"] * 10))
    assert_clean_error(makemore(other, "--resume", "--work-dir", work), "'12'", "never saw")


def test_main_entry_point_is_tiny_and_lists_makemore():
    proc = subprocess.run([sys.executable, "-m", "zh", "--help"], capture_output=True, text=True, env=ENV)
    assert proc.returncode == 0 and "makemore" in proc.stdout


def test_checkpoint_loads_into_the_model(makemore, tmp_path, names_file):
    work = tmp_path / "w"
    trained = makemore(names_file, "--type", "mlp", "--n-embd", 4, "--n-hidden", 16, "--work-dir", work, *FEW)
    assert trained.returncode == 0
    ckpt = load_checkpoint(work / "model.pt")
    entry = MODELS["mlp"]
    model = entry.build(entry.config(**ckpt["config"]))
    model.load_state_dict(ckpt["model"])
    assert model.model.C.shape == (27, 4) and model(torch.zeros(2, 5, dtype=torch.long))[0].shape == (2, 5, 27)


def test_model_options_come_from_the_configs(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["makemore", "--help"])
    assert exit_.value.code == 0
    help_text = capsys.readouterr().out
    for option in ["--block-size", "--n-embd", "--n-hidden", "--scaled-init", "Width of the tanh layer"]:
        assert option in help_text


@pytest.mark.parametrize("option, value, needle", [
    ("--max-steps", -3, "--max-steps: must be a whole number of at least 1"),
    ("--eval-every", 0, "--eval-every"),
    ("--batch-size", 0, "--batch-size"),
    ("--num-samples", 0, "--num-samples"),
    ("--threads", 0, "--threads"),
    ("--seed", -1, "--seed: must be a whole number of at least 0"),
    ("--learning-rate", "nan", "--learning-rate: must be a finite number of at least 0, got nan"),
    ("--learning-rate", -0.1, "--learning-rate"),
    ("--learning-rate", "inf", "--learning-rate"),
    ("--weight-decay", -1, "--weight-decay"),
    ("--temperature", 0, "--temperature: must be a finite number above 0"),
    ("--temperature", "nan", "--temperature"),
    ("--temperature", -1, "--temperature"),
    ("--n-embd", 0, "--n-embd: must be a whole number of at least 1"),
    ("--n-hidden", -5, "--n-hidden"),
    ("--block-size", 0, "--block-size"),
])
def test_every_numeric_option_is_checked_before_anything_is_written(makemore, tmp_path, names_file, option, value,
                                                                      needle):
    work = tmp_path / "w"
    proc = makemore(names_file, "--type", "mlp", "--work-dir", work, *FEW, option, value)  # the last one counts
    assert_clean_error(proc, needle)
    assert "training" not in proc.stderr.splitlines()[0] and not work.exists()


def test_model_options_the_model_cannot_use(makemore, tmp_path, names_file):
    """WaveNet fuses n_consecutive positions per level: a block size that is not a power of it is refused."""
    proc = makemore(names_file, "--type", "wavenet", "--block-size", 6, "--work-dir", tmp_path / "w", *FEW)
    assert_clean_error(proc, "'wavenet' model cannot be built", "power")
    assert not (tmp_path / "w").exists()


def test_work_dir_that_is_a_file(makemore, tmp_path, names_file):
    work = tmp_path / "notes.txt"
    work.write_text("not a folder")
    assert_clean_error(makemore(names_file, "--work-dir", work, *FEW), "--work-dir", "is a file")
    assert work.read_text() == "not a folder"


def test_byte_order_mark_is_not_a_character(makemore, tmp_path):
    data = tmp_path / "bom.txt"
    data.write_bytes(b"\xef\xbb\xbf" + "\n".join(["anna", "bob", "cara", "dan"] * 4).encode())
    work = tmp_path / "w"
    assert makemore(data, "--type", "bigram", "--work-dir", work, *FEW).returncode == 0
    assert load_checkpoint(work / "model.pt")["vocab"] == [".", "a", "b", "c", "d", "n", "o", "r"]


@pytest.mark.parametrize("interrupt_at_call, needle", [
    (1, "no checkpoint was written"),  # during the first evaluation: nothing saved yet
    (3, "holds the 'bigram' model of step 20 (train loss"),  # after the step-20 save
])
def test_interrupt_says_what_the_checkpoint_holds(makemore, tmp_path, names_file, monkeypatch, interrupt_at_call,
                                                  needle):
    import zh.train

    calls, real = [], zh.train.split_loss

    def split_loss(*args, **kwargs):
        calls.append(1)
        if len(calls) == interrupt_at_call:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(zh.train, "split_loss", split_loss)
    proc = makemore(names_file, "--type", "bigram", "--work-dir", tmp_path / "w", *FEW)
    assert proc.returncode == 130 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1].startswith("zh makemore: interrupted; ") and needle in proc.stderr


def test_interrupt_with_a_foreign_file_says_so(makemore, tmp_path, names_file, monkeypatch):
    import zh.makemore

    (tmp_path / "model.pt").write_text("my notes")

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(zh.makemore, "read_items", interrupt)
    proc = makemore(names_file, "--work-dir", tmp_path)
    assert proc.returncode == 130 and "not a zh makemore checkpoint" in proc.stderr


def test_average_last_saves_the_mean_of_the_last_iterates(makemore, tmp_path, names_file, monkeypatch):
    """--average-last 0.5 of 40 steps: the checkpoint holds the mean of the weights after steps 21..40."""
    import zh.makemore as mm

    iterates = []

    class Recording(mm.training.ParameterAverage):
        def update(self):
            super().update()
            iterates.append([p.detach().clone() for p in self.params])

    monkeypatch.setattr(mm.training, "ParameterAverage", Recording)
    work = tmp_path / "run"
    run = makemore(names_file, "--type", "transformer", "--work-dir", work, "--n-layer", 1, "--n-embd", 16,
                   "--learning-rate", 3e-3, "--average-last", 0.5, "--max-steps", 40, "--eval-every", 20)
    assert run.returncode == 0, run.stderr
    first = next(line for line in run.stdout.splitlines() if line.startswith("step 20:"))
    assert "averaged" not in first  # nothing is averaged before the last half
    assert "step 40: train loss" in run.stdout and "(weights averaged over the last 20 steps)" in run.stdout
    ckpt = load_checkpoint(work / "model.pt")
    assert ckpt["step"] == 40 and len(iterates) == 40
    model = MODELS["transformer"].build(MODELS["transformer"].config(**ckpt["config"]))
    model.load_state_dict(ckpt["model"])
    for i, p in enumerate(model.parameters()):
        torch.testing.assert_close(p.detach(), torch.stack([step[i] for step in iterates[20:]]).mean(0))
    assert not torch.equal(next(model.parameters()), iterates[-1][0])  # the average, not the last step


def test_average_last_refuses_batchnorm_models(makemore, tmp_path, names_file):
    proc = makemore(names_file, "--type", "wavenet", "--work-dir", tmp_path / "w", "--average-last", 0.3, *FEW)
    assert_clean_error(proc, "--average-last", "BatchNorm", "--type transformer")
    assert not (tmp_path / "w" / "model.pt").exists()
