"""The --quick modes of scripts/train_batchnorm.py and scripts/train_manual_backprop.py, into a tmp dir."""

import json

import pytest
from script_loader import load_script



def test_train_batchnorm_quick(tmp_path):
    rows = load_script("train_batchnorm").main(["--quick", "--out-dir", str(tmp_path)])
    saved = json.loads((tmp_path / "train_batchnorm.json").read_text())
    assert saved["steps"] == 300 and set(saved["runs"]) == {"naive", "kaiming", "batchnorm"}
    assert rows["naive"]["initial_loss"] > 10 > 4 > rows["batchnorm"]["initial_loss"]
    assert rows["batchnorm"]["val"] < 3.0
    table = (tmp_path / "train_batchnorm.md").read_text()
    assert "| batchnorm |" in table and "scripts/train_batchnorm.py" in table


@pytest.mark.slow
def test_train_manual_backprop_quick(tmp_path):
    rows = load_script("train_manual_backprop").main(["--quick", "--out-dir", str(tmp_path)])
    assert abs(rows["manual gradients"]["val"] - rows["autograd"]["val"]) < 1e-4
    assert rows["manual gradients"]["val"] < 3.0
    assert "| manual gradients |" in (tmp_path / "train_manual_backprop.md").read_text()


@pytest.mark.parametrize("name", ["train_batchnorm", "train_manual_backprop"])
def test_quick_mode_refuses_to_overwrite_committed_results(name, capsys):
    with pytest.raises(SystemExit):
        load_script(name).main(["--quick"])
    assert "--quick needs --out-dir" in capsys.readouterr().err
