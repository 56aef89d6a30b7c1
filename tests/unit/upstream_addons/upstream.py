"""Shared helpers: render the add-ons through Ansible and load upstream's reference manifests.

The reference files live in shared/upstream beside the checkout (see its README): a missing file
fails the test with its name; nothing is skipped."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.kos.platform.plugins.module_utils import kos_versions

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
UPSTREAM = os.path.join(TOP, "..", "shared", "upstream")
PLAYBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "addons_render.yml")
VALIDATE = os.path.join(os.path.dirname(sys.executable), "kubernetes-validate")
MINORS = sorted(kos_versions.MATRIX, key=lambda m: tuple(int(p) for p in m.split(".")))


def upstream_path(*parts):
    path = os.path.join(UPSTREAM, *parts)
    if not os.path.exists(path):
        pytest.fail("upstream reference file missing: shared/upstream/%s (see shared/upstream/README.md)"
                    % "/".join(parts))
    return path


def load_all(path):
    """Every object of a YAML file, with kind: List flattened (cloud-provider-openstack's RBAC files)."""
    with open(path, encoding="utf-8") as handle:
        docs = [doc for doc in yaml.safe_load_all(handle) if doc]
    objects = []
    for doc in docs:
        objects.extend(doc["items"] if doc.get("kind") == "List" else [doc])
    return objects


def by_kind(objects, kind, name=None):
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert found, "no %s %s" % (kind, name or "")
    return found


def render(out, minors, *extra):
    """Render the add-ons of the sample inventory for each minor into out/<minor>/ (one playbook run)."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(TOP, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, ".collections"), ANSIBLE_NOCOLOR="1")
    cmd = ["ansible-playbook", "-i", os.path.join(TOP, "inventories", "sample"), PLAYBOOK,
           "-e", "render_root=%s" % out, "-e", json.dumps({"minors": list(minors)}),
           "-e", "ansible_connection=local", "-e", "ansible_become=false",
           "-e", "ansible_python_interpreter=%s" % sys.executable,
           # Only the first control plane runs (the model still reads every host's variables).
           "--limit", "kube_control_plane[0]", *extra]
    # A generous bound: the CI machines are shared, a loaded run takes minutes.
    proc = subprocess.run(cmd, cwd=TOP, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc


def kubernetes_validate(minor, *paths):
    """kubernetes-validate --strict against the schemas of the matrix minor (one set per x.y.0)."""
    return subprocess.run([VALIDATE, "--strict", "-k", minor + ".0", *paths], capture_output=True, text=True,
                          timeout=300)


def rule_set(rules):
    """(apiGroup, resource, verb) triples an RBAC rule list grants; '*' verbs stay '*'."""
    granted = set()
    for rule in rules:
        for group in rule.get("apiGroups", []):
            for resource in rule.get("resources", []):
                for verb in rule.get("verbs", []):
                    granted.add((group, resource, verb))
    return granted


def wider_than(ours, theirs):
    """Triples of ours that theirs does not grant (a '*' verb of theirs covers every verb)."""
    return sorted(t for t in ours if t not in theirs and (t[0], t[1], "*") not in theirs)


def flag_names(args):
    """The --flag names of a container's args (the command itself and values dropped)."""
    return sorted({arg.split("=", 1)[0] for arg in args if arg.startswith("-")})
