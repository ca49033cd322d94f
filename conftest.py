"""pytest configuration: collect every docs/**/*.md page as a test module through sybil."""

import os
import sys
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(Path(__file__).parent / "tools"))

from sybil_pages import sybil  # noqa: E402

pytest_collect_file = sybil.pytest()
