"""scripts/train_makemore.py: a --work-dir meant for it but given to zh makemore is refused before training."""

import pytest
from script_loader import load_script


@pytest.mark.parametrize("given", [["--work-dir", "elsewhere"], ["--work-dir=elsewhere"]])
def test_work_dir_after_the_separator_is_refused(tmp_path, capsys, given):
    with pytest.raises(SystemExit):
        load_script("train_makemore").main(["--type", "bigram", "--out-dir", str(tmp_path), "--", *given])
    assert "give --work-dir before '--'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing trained, nothing written
