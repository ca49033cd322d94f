"""pytest configuration: collect every docs/**/*.md page as a test module through sybil."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")  # before anything imports matplotlib

from sybil_pages import sybil  # noqa: E402  (tools/ is on sys.path: [tool.pytest.ini_options] pythonpath)

pytest_collect_file = sybil.pytest()
