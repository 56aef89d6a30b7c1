"""Runtime rollout (playbooks/runtime_rollout.yml): the changed sandbox image and the held
containerd version reached both hosts, each restarted containerd once, and the second host's
containerd stopped only after the first host's had started again and answered (serial: 1 with the
role's health check), so never both at once.

prepare recorded containerd's PID and package version on each host (/root/before) and the two
versions in the scenario's directory (containerd-versions.json)."""

import json
import os
import pathlib

import pytest
import testinfra

testinfra_hosts = ["ansible://all"]
HOSTS = ["runtime-rollout-1", "runtime-rollout-2"]


def versions():
    path = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "containerd-versions.json"
    return json.loads(path.read_text())


def test_the_new_setting_is_in_place_and_containerd_answers(host):
    config = host.file("/etc/containerd/config.toml")
    assert config.contains('sandbox_image = "registry.k8s.io/pause:3.10-rollout-test"')
    assert host.run("ctr --address /run/containerd/containerd.sock version").rc == 0


def test_the_held_version_is_installed(host):
    wanted = versions()
    assert host.check_output("dpkg-query -W -f '${Version}' containerd") == wanted["new"]
    before = host.file("/root/before/containerd.version").content_string.strip()
    if wanted["old"] == wanted["new"]:
        pytest.skip(f"the package sources hold one containerd build only ({before}): no version change to test")
    assert before == wanted["old"] != wanted["new"]


def test_containerd_was_restarted(host):
    before = host.file("/root/before/containerd.pid").content_string.strip()
    assert host.check_output("systemctl show -p MainPID --value containerd") not in ("0", before)


def test_one_host_at_a_time():
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    first, second = (testinfra.get_host(f"ansible://{name}?ansible_inventory={inventory}") for name in HOSTS)

    def stamp(h, prop):
        return int(h.check_output(f"systemctl show -p {prop} --value containerd"))

    # The kernel's monotonic clock is shared by the containers. The second host's old containerd
    # stopped after the first host's new one had started (and answered: the handler's check).
    assert stamp(second, "InactiveEnterTimestampMonotonic") > stamp(first, "ActiveEnterTimestampMonotonic")
