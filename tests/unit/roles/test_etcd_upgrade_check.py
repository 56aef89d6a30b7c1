"""The etcd upgrade's check and plan (roles/etcd/tasks/upgrade_check.yml, first play of
playbooks/etcd_upgrade.yml), run by ansible-playbook on the sample inventory's three members with
the members' versions replayed by an etcdctl stand-in (a mock: the live rolling upgrade under a
writer is roles/etcd/molecule/upgrade). etcd upgrades one minor at a time and never downgrades
(etcd's upgrade guides, "upgrade-3.5": "upgrading from v3.4 ... skipping minor versions is not
supported"); the plan names each member with its version."""

import os
import subprocess
import sys

import pytest
import yaml

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
HERE = os.path.dirname(os.path.abspath(__file__))
SHA = "a" * 64


def check(versions, target, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(TOP, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, ".collections"), ANSIBLE_NOCOLOR="1",
               KOS_STANDIN_VERSIONS=",".join(versions))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
           "-i", os.path.join(TOP, "inventories", "sample"), os.path.join(HERE, "etcd_upgrade_check.yml"),
           "-e", "etcdctl_standin=%s" % os.path.join(HERE, "etcdctl_standin.py"),
           "-e", "etcd_install_method=archive", "-e", "etcd_version=%s" % target, "-e", "etcd_archive_sha256=" + SHA,
           "-e", "etcd_upgrade_snapshot=false", "-e", "ansible_connection=local", "-e", "ansible_become=false",
           "-e", "ansible_python_interpreter=%s" % sys.executable, *extra]
    proc = subprocess.run(cmd, cwd=TOP, env=env, capture_output=True, text=True, timeout=900, check=False)
    return proc.returncode, " ".join(proc.stdout.split())


@pytest.fixture(scope="module")
def members():
    with open(os.path.join(TOP, "inventories", "sample", "hosts.yml"), encoding="utf-8") as handle:
        etcd = sorted(yaml.safe_load(handle)["all"]["children"]["etcd"]["hosts"])
    assert len(etcd) == 3, etcd
    return etcd


def test_every_member_on_the_previous_minor_is_planned(members):
    rc, out = check(["3.4.23"] * 3, "3.5.1")
    assert rc == 0, out
    for name in members:
        assert f"{name} 3.4.23 -> 3.5.1" in out
    assert "already at 3.5.1: none" in out


def test_a_half_done_upgrade_plans_only_the_rest(members):
    rc, out = check(["3.5.1", "3.4.23", "3.5.1"], "3.5.1")
    assert rc == 0, out
    assert f"{members[1]} 3.4.23 -> 3.5.1" in out
    assert f"{members[0]} 3.4.23" not in out and f"{members[0]} 3.5.1 ->" not in out
    assert f"already at 3.5.1: {', '.join(sorted([members[0], members[2]]))}" in out


def test_nothing_to_do_when_every_member_is_at_the_target():
    rc, out = check(["3.5.1"] * 3, "3.5.1")
    assert rc == 0, out
    assert "nothing to do" in out


@pytest.mark.parametrize("versions,target,why", [
    (["3.4.23"] * 3, "3.6.6", "none an older one than 3.5"),
    (["3.5.1", "3.5.1", "3.4.23"], "3.6.6", "none an older one than 3.5"),
    (["3.5.1"] * 3, "3.4.23", "none may run a newer minor than 3.4"),
])
def test_a_skipped_minor_or_a_downgrade_is_refused(versions, target, why):
    rc, out = check(versions, target)
    assert rc != 0
    assert f"etcd upgrade to {target} refused" in out
    assert why in out


def test_the_package_method_is_refused_with_the_variables_to_set():
    rc, out = check(["3.4.23"] * 3, "3.5.1", "-e", "etcd_install_method=package")
    assert rc != 0
    assert "set etcd_install_method=archive (was 'package')" in out
