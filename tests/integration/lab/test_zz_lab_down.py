"""Last file of the lab suite (name order): lab-down leaves no container, network or volume."""

from lab_helpers import failures, lab_objects, run


def test_lab_down_leaves_nothing(lab_up):
    assert lab_objects(), "the lab should exist before it is removed"
    proc = run("ansible-playbook", "-i", "inventories/lab", "playbooks/lab_down.yml")
    assert proc.returncode == 0, failures(proc.stdout + proc.stderr) + "\n...\n" + proc.stdout[-2000:]
    assert lab_objects() == []
