"""kos.platform.host_files (plugins/action/host_files.py) run for real on the controller (connection
local) in a temporary directory: check mode writes nothing, the first write creates every entry with
its mode, the second changes nothing, drift (content, mode) is repaired on exactly the drifted files,
an existing file is rewritten in place with unsafe_writes (same inode), and bad entries are all named
in one error."""

import os


def mode(path):
    return oct(os.stat(path).st_mode & 0o777)


def test_host_files_writes_what_differs_and_only_that(tmp_path, local_playbook):
    (tmp_path / "in-place").write_text("old\n")
    inode = os.stat(tmp_path / "in-place").st_ino
    results = {name: found[0] for name, found in local_playbook("host_files.yml", tmp_path).items()}
    conf = tmp_path / "conf.d"
    paths = [str(conf), str(conf / "inline.conf"), str(conf / "rendered.conf"), str(tmp_path / "in-place")]

    check = results["Check mode on nothing written yet"]
    assert check["changed"] is True and check["changed_paths"] == paths
    assert [d["after_header"] for d in check["diff"]] == paths[1:]
    assert check["diff"][0]["before"] == "" and check["diff"][0]["after"] == "inline\n"

    first = results["First write"]
    assert first["changed"] is True and first["changed_paths"] == paths
    assert [r["reasons"] for r in first["results"]] == [
        ["created"], ["created"], ["created"], ["content", "mode 644 -> 0600"]]
    assert (conf / "inline.conf").read_text() == "inline\n"
    assert (conf / "rendered.conf").read_text() == (
        "# Ansible managed\nhello from a template (host_files_test.j2)\n")
    assert (mode(conf), mode(conf / "inline.conf"), mode(tmp_path / "in-place")) == ("0o750", "0o640", "0o600")
    assert (tmp_path / "in-place").read_text() == "rewritten in place\n"
    assert os.stat(tmp_path / "in-place").st_ino == inode

    second = results["Second write"]
    assert second["changed"] is False and second["changed_paths"] == []

    repair = results["Repair"]
    assert repair["changed_paths"] == paths[1:3]
    assert [r["reasons"] for r in repair["results"][1:3]] == [["content"], ["mode 666 -> 0640"]]
    assert (conf / "inline.conf").read_text() == "inline\n" and mode(conf / "rendered.conf") == "0o640"
    assert not [p for p in os.listdir(conf) if p.startswith(".kos-")]  # no temporary file left

    # Both tasks must fail (failed_when in the playbook turns their failure into the run's success).
    bad = results["Bad entries are all named at once"]
    for part in ("files[0]: path must be an absolute path, got 'relative/path'",
                 "files[1] (%s/both): give exactly one of content and template" % tmp_path,
                 "files[2] (%s/dir): a directory takes no content" % tmp_path,
                 "files[3] (%s/mode): mode must be octal as a string" % tmp_path,
                 "files[4] (%s/no-template): template no_such_template.j2: " % tmp_path):
        assert part in bad["msg"], bad["msg"]
    assert not os.path.exists(tmp_path / "both")

    missing = results["A file whose directory is missing fails with the fix"]
    expected = "the directory %s/missing does not exist (create it with an entry of state directory" % tmp_path
    assert expected in missing["msg"]
