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


def test_integration_all_keeps_each_suites_log_and_result_for_the_digest(tmp_path):
    """integration-all (copied into a tree with one failing and one passing suite) keeps every suite's
    output and exit code in .cache/integration-logs, prints the output too, and the digest then names
    the failed test: a CI run whose cloud suite failed once ended with '0 failed' and no test name."""
    import shutil
    import subprocess

    (tmp_path / "tests" / "bin").mkdir(parents=True)
    shutil.copy(os.path.join(TOP, "tests", "bin", "integration-all"), tmp_path / "tests" / "bin")
    shutil.copy(os.path.join(TOP, "tests", "bin", "failure_digest.py"), tmp_path / "tests" / "bin")
    failed = "FAILED tests/integration/alpha/test_a.py::test_one - AssertionError: upload corrupted"
    for suite, body in (("alpha", "echo '%s'\necho 'stderr line' >&2\nexit 1\n" % failed),
                        ("beta", "echo 'FAILED looks like a failure but the suite passed'\nexit 0\n")):
        (tmp_path / "tests" / "integration" / suite).mkdir(parents=True)
        run = tmp_path / "tests" / "integration" / suite / "run.sh"
        run.write_text("#!/usr/bin/env bash\n" + body)
        run.chmod(0o755)
    marker = tmp_path / "marker"
    _write(marker, "", time.time() - 10)

    result = subprocess.run([str(tmp_path / "tests" / "bin" / "integration-all")], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 1
    assert "upload corrupted" in result.stdout and "stderr line" in result.stdout
    assert "failed integration suites: alpha" in result.stdout
    logs = tmp_path / ".cache" / "integration-logs"
    assert (logs / "alpha.result").read_text().split()[0] == "1"
    assert (logs / "beta.result").read_text().split()[0] == "0"
    assert "stderr line" in (logs / "alpha.log").read_text()

    digest = subprocess.run(["python3", str(tmp_path / "tests" / "bin" / "failure_digest.py"), str(marker)],
                            capture_output=True, text=True, check=True).stdout
    assert "== failure digest: 1 failed" in digest
    assert "integration alpha" in digest and "test_a.py::test_one - AssertionError: upload corrupted" in digest
    assert "beta" not in digest
