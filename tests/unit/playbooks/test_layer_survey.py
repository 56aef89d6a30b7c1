"""The layers' survey (plugins/action/layer_state.py, survey=true) and the layer_unchanged filter, run
for real on the controller (connection local; the records in a temporary directory).

The survey is site.yml's one round trip per host: it checks every layer's record at once (digest of
the desired state, files, services, age) so that an unchanged layer's play ends at its first task. It
must agree with the layer's own gate, which computes the digest in the layer's play (with the role's
defaults and play variables): both use the host's variables only.
"""

import hashlib
import json
import os


def test_survey_agrees_with_the_gate_and_finds_each_kind_of_drift(tmp_path, local_playbook):
    (tmp_path / "managed").mkdir()
    (tmp_path / "managed" / "a.conf").write_text("managed\n")
    (tmp_path / "inputs").mkdir()
    (tmp_path / "inputs" / "ca.crt").write_text("a CA\n")
    results = local_playbook("layer_survey.yml", tmp_path)

    first, second = results["Survey"]
    # No record yet: nothing unchanged; the facts were not cached, so the survey gathered them.
    assert first["unchanged"] == [] and first["stale"] == {} and first["facts_gathered"] is True
    assert first["ansible_facts"]["ansible_os_family"]
    # The survey gathered what every layer reads (min and virtual) and marked it gathered, so a later
    # play with gather_facts on gathers nothing; the hardware subset (mounts, devices) is left out, and
    # the swap total comes from /proc/meminfo in the survey's round trip, as setup reads it.
    assert "Gathering Facts" not in results, sorted(results)
    seen = results["The facts the layers read, from the survey"][0]["msg"]
    assert seen["os_family"] and seen["pkg_mgr"] and seen["virtualization_type"] and seen["virtualization_role"]
    assert str(seen["hardware_gathered"]) == "False"
    with open("/proc/meminfo") as meminfo:
        swap_kb = next(int(line.split()[1]) for line in meminfo if line.startswith("SwapTotal:"))
    assert str(seen["swaptotal_mb"]) == str(swap_kb // 1024)
    # Facts cached and the swap total unchanged: the survey returns no facts (each one it returned was a
    # write of the host's whole fact-cache entry by the controller's main process, host after host), and
    # the layers still read the swap total from the cache.
    assert "ansible_facts" not in second, second["ansible_facts"]
    assert results["The swap total the layers read after a survey that returned no facts"][0]["msg"] == swap_kb // 1024
    # A cached swap total the host no longer has is returned, and read from then on.
    swap_survey = results["Survey after the swap total changed"][0]
    assert swap_survey["ansible_facts"] == {"ansible_swaptotal_mb": swap_kb // 1024}
    assert results["The swap total the layers read after it"][0]["msg"] == swap_kb // 1024
    # The record written in the layer's play (role defaults, a play variable) holds for the survey,
    # which runs in another play, and the facts now come from the cache.
    assert second["unchanged"] == ["etcd"] and second["stale"] == {}, second
    assert second["facts_gathered"] is False
    assert results["The layer's own gate agrees (same digest from its play's variables)"][0]["fresh"] is True
    verdicts = results["The filter's verdicts"][0]["msg"]
    assert verdicts == {"etcd": True, "pki": False, "no_hosts": False}
    # Once a layer has run on the host in this run, its survey no longer speaks for later layers.
    assert results["The filter's verdict once a layer ran"][0]["msg"] == {"etcd": False}

    record = json.loads((tmp_path / "records" / "etcd.json").read_text())
    assert record["version"] == 2 and record["inputs"] == ["%s/inputs/*" % tmp_path]
    assert oct(os.stat(tmp_path / "records" / "etcd.json").st_mode & 0o777) == "0o600"

    file_drift = results["Survey after the file changed"][0]
    assert file_drift["unchanged"] == []
    assert file_drift["stale"] == {"etcd": ["file %s/managed/a.conf: changed" % tmp_path]}
    input_drift = results["Survey after the input changed"][0]
    assert input_drift["stale"]["etcd"][0] == "desired state changed (code, variables or inputs)"
    # -e kos_layer_cache=false arrives as the string "false": the fast path is off for the survey and the gate.
    off = results["Survey with the fast path off"][0]
    assert off["unchanged"] == [] and off["stale"] == {}
    gate_off = results["The layer's own gate with the fast path off"][0]
    assert gate_off["fresh"] is False and gate_off["drift"] == ["kos_layer_cache is off"]

    # The script the survey runs on every host parses the records with the interpreter's C codec and
    # writes its answer by hand (plugins/action/layer_state.py, _REMOTE): an unreadable record, a file of
    # a non-ASCII name with quotes, and drift on that file come through as the json package gives them.
    named = '%s/managed/Zürich "quoted".conf' % tmp_path
    record = json.loads((tmp_path / "records" / "etcd.json").read_text())
    assert record["version"] == 2 and named in record["files"], sorted(record["files"])
    assert record["files"][named].split()[0] == hashlib.sha256("ü\n".encode()).hexdigest()

    survey = results["Survey of the records"][0]
    assert survey["unchanged"] == ["etcd"], survey
    assert survey["stale"] == {"pki": ["unreadable record"]}, survey["stale"]
    drift = results["Survey after the non-ASCII file changed"][0]
    assert drift["stale"]["etcd"] == ["file %s: changed" % named], drift["stale"]
