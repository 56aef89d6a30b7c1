"""tests/bin/failure_digest.py: the end of make test's output names what failed in each failed scenario or suite."""

import importlib.machinery
import importlib.util
import os
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
LOADER = importlib.machinery.SourceFileLoader("failure_digest", os.path.join(TOP, "tests", "bin", "failure_digest.py"))
SPEC = importlib.util.spec_from_loader("failure_digest", LOADER)
digest_tool = importlib.util.module_from_spec(SPEC)
LOADER.exec_module(digest_tool)

MOLECULE_LOG = """\x1b[36mINFO\x1b[0m default converge
TASK [kos.platform.bgp_router : Render bird.conf] ****
ok: [bgp-tor1a]
=================================== FAILURES ===================================
E   AssertionError: still announced 9.1 s after the cut, hold time 3 s
=========================== short test summary info ============================
FAILED tests/test_bgp.py::test_a_stopped_node_is_withdrawn - AssertionError: still announced 9.1 s
========================= 1 failed, 14 passed in 120.00s =========================
"""


def _write(path, text, mtime=None):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def test_failed_units_since_the_marker_are_digested_and_passed_or_older_ones_are_not(tmp_path, monkeypatch, capsys):
    for kind in ("molecule-logs", "integration-logs"):
        (tmp_path / ".cache" / kind).mkdir(parents=True)
    logs = tmp_path / ".cache" / "molecule-logs"
    marker = tmp_path / "marker"
    _write(marker, "", time.time() - 100)
    _write(logs / "bgp_router.default.log", MOLECULE_LOG)
    _write(logs / "bgp_router.default.result", "1 300\n")
    _write(logs / "etcd.default.log", "FAILED nothing to see\n")
    _write(logs / "etcd.default.result", "0 200\n")
    _write(logs / "pki.rotate.log", "fatal: [old]: FAILED! => {}\n")
    _write(logs / "pki.rotate.result", "2 100\n", time.time() - 1000)  # an earlier run's
    suites = tmp_path / ".cache" / "integration-logs"
    _write(suites / "cloud.log", "TASK [x]\nfatal: [localhost]: FAILED! => {\"msg\": \"Neutron refused\"}\n")
    _write(suites / "cloud.result", "1 60\n")
    monkeypatch.setattr(digest_tool, "TOP", str(tmp_path))

    assert digest_tool.main(["failure-digest", str(marker)]) == 0
    out = capsys.readouterr().out
    assert "== failure digest: 2 failed" in out
    assert "molecule bgp_router.default" in out and "integration cloud" in out
    assert "still announced 9.1 s after the cut" in out
    assert out.count("FAILED tests/test_bgp.py::test_a_stopped_node_is_withdrawn") == 1
    assert "Neutron refused" in out
    assert "\x1b[" not in out
    assert "etcd.default" not in out and "pki.rotate" not in out and "[old]" not in out


def test_a_missing_log_is_said_not_raised(tmp_path, monkeypatch, capsys):
    (tmp_path / ".cache" / "molecule-logs").mkdir(parents=True)
    _write(tmp_path / ".cache" / "molecule-logs" / "reset.default.result", "1 10\n")
    monkeypatch.setattr(digest_tool, "TOP", str(tmp_path))
    assert digest_tool.main(["failure-digest", str(tmp_path / "no-marker")]) == 0
    assert "(no log:" in capsys.readouterr().out
