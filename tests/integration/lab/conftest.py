"""The lab suite: one lab for the whole session (make lab once), shared by every test file.

Test files run in name order against the same lab: test_lab.py (make lab, summary, idempotence,
check mode), then the topic files (test_lab_<topic>.py), and test_zz_lab_down.py last. A topic file
that changes the lab (stops a host, adds a node, edits a file) leaves it converged again when done.
Helpers (run, recap, site, LAB_HOSTS) are in lab_helpers.py.
"""

import pytest
from lab_helpers import run


@pytest.fixture(scope="session")
def lab_up():
    """make lab, once per session (tests/lab/lab.sh up); the result of that first run."""
    proc = run("tests/lab/lab.sh", "up")
    yield proc
