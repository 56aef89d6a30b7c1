"""The script kos.platform.layer_state runs on each host (plugins/action/layer_state.py, _REMOTE), run
here with this interpreter as the action runs it (python -S -c SCRIPT PAYLOAD).

The survey runs it on every host at every converge, so what it imports is its cost: json (its regular
expressions compiled at import) and subprocess were 36 ms of its 68 ms of CPU on a lab host. These tests
hold it to the interpreter's C codec and fork/exec, and check that its JSON is the json package's."""

import base64
import hashlib
import json
import os
import subprocess
import sys

from ansible_collections.kos.platform.plugins.action import layer_state

# Prints the modules the script imported when it ends (sys.exit included).
_MODULES = "import atexit, sys\natexit.register(lambda: sys.stderr.write('MODULES ' + ' '.join(sorted(sys.modules))))\n"


def remote(payload, prefix=""):
    encoded = base64.b64encode(json.dumps(payload).encode()).decode()
    proc = subprocess.run([sys.executable, "-S", "-c", prefix + layer_state._REMOTE, encoded],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


def answer(data):
    return remote(data)[0]


def payload(mode, state_dir, **kw):
    base = {"mode": mode, "layer": "", "dir": str(state_dir), "digest": "", "files": [], "services": [],
            "inputs": [], "max_age": 0}
    base.update(kw)
    return base


def test_survey_imports_neither_json_nor_subprocess(tmp_path):
    managed = tmp_path / "a.conf"
    managed.write_text("x\n")
    # systemctl may be missing here: the record then holds the services' empty states, as the survey reads them.
    remote(payload("record", tmp_path / "records", layer="etcd", digest="d1", files=[str(managed)],
                   services=["kos-test-none.service"]))
    out, err = remote(payload("survey", tmp_path / "records"), prefix=_MODULES)
    modules = err.rsplit("MODULES ", 1)[1].split()
    assert "json" not in modules and "subprocess" not in modules, modules
    assert {"glob", "base64", "platform"}.isdisjoint(modules), modules
    assert out["layers"] == {"etcd": {"digest": "d1", "inputs": [], "drift": []}}, out
    release = open("/etc/os-release", "rb").read() if os.path.exists("/etc/os-release") else b""
    assert out["os"] == hashlib.sha256(release + b"\0" + os.uname()[4].encode()).hexdigest()


def test_records_and_answers_are_the_json_packages(tmp_path):
    odd = tmp_path / 'Zürich "quoted"\\ \u2603.conf'
    odd.write_text("ü\n")
    out = answer(payload("record", tmp_path / "records", layer="etcd", digest="d\u00e9", files=[str(odd)],
                         inputs=["/srv/in/\u00e9*"], max_age=3600))
    assert out == {"fresh": True, "drift": []}
    record = json.loads((tmp_path / "records" / "etcd.json").read_text())
    assert record["version"] == 2 and record["digest"] == "d\u00e9" and record["inputs"] == ["/srv/in/\u00e9*"]
    assert record["max_age"] == 3600 and isinstance(record["time"], float)
    assert record["files"][str(odd)].split()[0] == hashlib.sha256("ü\n".encode()).hexdigest()
    assert oct(os.stat(tmp_path / "records" / "etcd.json").st_mode & 0o777) == "0o600"

    out = answer(payload("check", tmp_path / "records", layer="etcd", digest="d\u00e9"))
    assert out == {"fresh": True, "drift": []}
    odd.write_text("changed\n")
    out = answer(payload("check", tmp_path / "records", layer="etcd", digest="other"))
    assert out == {"fresh": False, "drift": ["desired state changed (code, variables or inputs)",
                                             "file %s: changed" % odd]}
    out = answer(payload("survey", tmp_path / "records"))
    assert out["layers"]["etcd"]["drift"] == ["file %s: changed" % odd]
    assert out["layers"]["etcd"]["inputs"] == ["/srv/in/\u00e9*"]


def test_unreadable_and_earlier_records_are_named_not_fatal(tmp_path):
    records = tmp_path / "records"
    records.mkdir()
    contents = {"etcd.json": '{"version": 2, "digest": ', "pki.json": '{"version": 1, "digest": "x"}',
                "calico.json": "[1, 2]", "notes.txt": "not a record"}
    for name, text in contents.items():
        (records / name).write_text(text)
    out = answer(payload("survey", records))
    assert out["layers"] == {"etcd": {"drift": ["unreadable record"]},
                             "pki": {"drift": ["record of an earlier version of the gate"]},
                             "calico": {"drift": ["record of an earlier version of the gate"]}}, out
    out = answer(payload("check", records, layer="etcd", digest="d"))
    assert out == {"fresh": False, "drift": ["no record of a converge of this layer"]}
    out = answer(payload("check", records, layer="calico", digest="d"))
    assert out == {"fresh": False, "drift": ["no record of a converge of this layer"]}
    out = answer(payload("survey", tmp_path / "missing"))
    assert out["layers"] == {} and isinstance(out["swap_mb"], int)


def test_a_tree_is_walked_once_per_run_and_again_in_the_next_run(tmp_path, monkeypatch):
    """The survey's digest of the role's and the plugins' code: one walk of each tree per run, shared by
    the run's forked workers through the run's local temporary directory (it was one walk per host and
    layer); another run (another directory) sees an edit."""
    tree = tmp_path / "role"
    (tree / "tasks").mkdir(parents=True)
    (tree / "tasks" / "main.yml").write_text("- name: one\n")
    run1, run2 = tmp_path / "run1", tmp_path / "run2"
    run1.mkdir()
    run2.mkdir()

    def new_worker(run_dir):
        monkeypatch.setattr(layer_state.C, "DEFAULT_LOCAL_TMP", str(run_dir), raising=False)
        layer_state._CODE_CACHE.clear()
        layer_state._TREE_CACHE.clear()

    walks = []
    real_walk = os.walk
    monkeypatch.setattr(layer_state.os, "walk", lambda root: walks.append(root) or real_walk(root))
    new_worker(run1)
    first = layer_state._tree_digest(str(tree))
    assert walks == [str(tree)]
    new_worker(run1)  # another host's worker of the same run
    (tree / "tasks" / "main.yml").write_text("- name: two\n")
    assert layer_state._tree_digest(str(tree)) == first and walks == [str(tree)]
    new_worker(run2)  # the next run
    assert layer_state._tree_digest(str(tree)) != first and walks == [str(tree)] * 2


def test_without_the_c_codec_the_json_package_gives_the_same_answers(tmp_path):
    """Where _json is missing (an interpreter other than CPython), the script falls back to json."""
    managed = tmp_path / "Zürich.conf"
    managed.write_text("x\n")
    answers = []
    for blocked in (False, True):
        prefix = _MODULES + ("sys.modules['_json'] = None\n" if blocked else "")
        state = tmp_path / ("records-%s" % blocked)
        recorded = remote(payload("record", state, layer="etcd", digest="d", files=[str(managed)]), prefix)[0]
        (state / "pki.json").write_text('{"version": 2, "digest": ')
        surveyed, err = remote(payload("survey", state), prefix)
        assert ("json" in err.rsplit("MODULES ", 1)[1].split()) is blocked  # the fallback path ran
        answers.append((recorded, surveyed["layers"], json.loads((state / "etcd.json").read_text())["files"]))
    assert answers[0] == answers[1], answers
    assert answers[1][1]["pki"] == {"drift": ["unreadable record"]}
