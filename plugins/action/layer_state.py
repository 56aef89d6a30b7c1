# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""Action plugin kos.platform.layer_state: the fast path of site.yml's layers.

One call per layer and host, one round trip to the host:
- check (default): is the layer's desired state the one the host last converged to (a digest of
  the role's code, the collection's plugins, the host's variables and optional controller-side
  inputs, kept on the host), and is the host still as the layer left it (the checksum, mode and
  owner of every file the layer manages, the active and enabled state of its services, and the age
  of the record)? Returns fresh=true only then, else fresh=false and the reasons (the drift found).
- record (record=true): after the layer converged, keeps the digest, the files' checksums and the
  services' states on the host (under kos_layer_state_dir); writes nothing in check mode.

Bookkeeping only: it never reports changed, so a converged run stays changed=0.
"""

from __future__ import annotations

import base64
import glob
import hashlib
import json
import os
import shlex

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

# Variables that describe the run, not the desired state (or hold other hosts' data lazily).
_RUN_VARS = frozenset([
    "hostvars", "vars", "group_names", "inventory_dir", "inventory_file", "playbook_dir",
    "play_hosts", "role_names", "omit", "environment", "role_path", "role_name", "role_uuid",
    "discovered_interpreter_python", "inventory_hostname_short", "module_setup",
])
_FACTS = ("distribution", "distribution_major_version", "os_family", "architecture")
_CODE_CACHE = {}

# Runs on the host with its python3: reads or writes the layer's record. Standard library only.
_REMOTE = r"""
import base64, glob, hashlib, json, os, subprocess, sys, time
a = json.loads(base64.b64decode(sys.argv[1]).decode())
path = os.path.join(a["dir"], a["layer"] + ".json")
def files():
    out = {}
    for pattern in a["files"]:
        hits = sorted(glob.glob(pattern, recursive=True)) if glob.has_magic(pattern) else [pattern]
        for p in hits:
            try:
                st = os.stat(p)
                if os.path.isdir(p):
                    out[p] = "dir %o %d %d" % (st.st_mode, st.st_uid, st.st_gid)
                    continue
                with open(p, "rb") as f:
                    out[p] = "%s %o %d %d" % (hashlib.sha256(f.read()).hexdigest(), st.st_mode, st.st_uid, st.st_gid)
            except OSError:
                out[p] = None
    return out
def services():
    if not a["services"]:
        return {}
    out = subprocess.run(["systemctl", "show", "--property=ActiveState,UnitFileState"] + a["services"],
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    states = []
    for block in out.strip("\n").split("\n\n"):
        d = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        states.append([d.get("ActiveState", ""), d.get("UnitFileState", "")])
    return dict(zip(a["services"], states))
if a["mode"] == "record":
    os.makedirs(a["dir"], mode=0o700, exist_ok=True)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"digest": a["digest"], "time": time.time(), "files": files(), "services": services()}, f)
    os.rename(tmp, path)
    print(json.dumps({"fresh": True, "drift": []}))
    sys.exit(0)
try:
    with open(path) as f:
        old = json.load(f)
except (OSError, ValueError):
    print(json.dumps({"fresh": False, "drift": ["no record of a converge of this layer"]}))
    sys.exit(0)
drift = []
if old.get("digest") != a["digest"]:
    drift.append("desired state changed (code, variables or inputs)")
if a["max_age"] and time.time() - old.get("time", 0) > a["max_age"]:
    drift.append("record older than %d s" % a["max_age"])
# Only the files of the record: a later layer may add files under the same directory (BIRD includes,
# static pod manifests), which are that layer's to watch.
a["files"] = sorted(old.get("files", {}))
now = files()
for p in a["files"]:
    if now.get(p) != old["files"][p]:
        drift.append("file %s: %s" % (p, "missing" if now.get(p) is None else "changed"))
svc = services()
for s in sorted(svc):
    if list(svc[s]) != list(old.get("services", {}).get(s, [])):
        drift.append("service %s: %s (was %s)" % (s, "/".join(svc[s]), "/".join(old.get("services", {}).get(s, []))))
print(json.dumps({"fresh": not drift, "drift": drift}))
"""


def _tree_digest(root):
    """sha256 of every file under root (path and content), cached per run by path, size and mtime."""
    entries = []
    for d, dirs, names in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x not in ("molecule", "__pycache__", "tests"))
        for n in sorted(names):
            p = os.path.join(d, n)
            try:
                st = os.stat(p)
            except OSError:
                continue
            key = (p, st.st_size, st.st_mtime_ns)
            if key not in _CODE_CACHE:
                with open(p, "rb") as f:
                    _CODE_CACHE[key] = hashlib.sha256(f.read()).hexdigest()
            entries.append("%s %s" % (os.path.relpath(p, root), _CODE_CACHE[key]))
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()


def _state_vars(task_vars):
    """The variables that shape the desired state: inventory, role defaults, extra vars, kos_cluster."""
    keep = {}
    facts = task_vars.get("ansible_facts") or {}
    for name, value in task_vars.items():
        # Facts injected as variables (gather_subset, module_setup ...) change with every gathering.
        if name.startswith(("ansible_", "__")) or name in _RUN_VARS or name in facts:
            continue
        keep[name] = value
    keep["groups"] = {g: sorted(h) for g, h in (task_vars.get("groups") or {}).items()}
    facts = task_vars.get("ansible_facts") or {}
    keep["__facts"] = {k: facts.get(k) for k in _FACTS}
    return json.dumps(keep, sort_keys=True, default=to_text)


def _debug_dump(layer, host, text):
    """KOS_LAYER_STATE_DEBUG=DIR keeps the variables that went into each digest, to diff two runs."""
    where = os.environ.get("KOS_LAYER_STATE_DEBUG")
    if where:
        os.makedirs(where, exist_ok=True)
        with open(os.path.join(where, "%s-%s.json" % (host, layer)), "w") as f:
            f.write(text)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def digest(self, layer, inputs, task_vars):
        collection = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        state = _state_vars(task_vars)
        _debug_dump(layer, task_vars.get("inventory_hostname", "host"), state)
        parts = [layer, _tree_digest(os.path.join(collection, "roles", layer)),
                 _tree_digest(os.path.join(collection, "plugins")), state]
        for pattern in inputs:
            for p in sorted(glob.glob(pattern, recursive=True)):
                if os.path.isfile(p):
                    with open(p, "rb") as f:
                        parts.append("%s %s" % (p, hashlib.sha256(f.read()).hexdigest()))
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self._task.args
        unknown = sorted(set(args) - {"layer", "files", "services", "inputs", "max_age", "record"})
        layer = args.get("layer")
        problems = ["unknown option %s" % u for u in unknown]
        if not layer or not isinstance(layer, str):
            problems.append("layer: the name of the layer's role is required (for example layer: etcd)")
        for opt in ("files", "services", "inputs"):
            if not isinstance(args.get(opt, []), list):
                problems.append("%s: expected a list of strings, got %r" % (opt, args.get(opt)))
        if problems:
            raise AnsibleActionFail("kos.platform.layer_state: " + "; ".join(problems))
        record = bool(args.get("record", False))
        result.update(changed=False, layer=layer)
        if not record and not self._templar.template(task_vars.get("kos_layer_cache", True)):
            result.update(fresh=False, drift=["kos_layer_cache is off"])
            return result
        if record and self._task.check_mode:
            result.update(skipped=True, msg="check mode: the record is not written")
            return result
        payload = {
            "mode": "record" if record else "check", "layer": layer,
            "dir": self._templar.template(task_vars.get("kos_layer_state_dir", "/var/lib/kos/layers")),
            "digest": self.digest(layer, [str(p) for p in args.get("inputs", [])], task_vars),
            "files": [str(f) for f in args.get("files", [])], "services": [str(s) for s in args.get("services", [])],
            "max_age": int(args.get("max_age", 0) or 0),
        }
        python = self._templar.template(task_vars.get("ansible_python_interpreter")
                                        or task_vars.get("discovered_interpreter_python") or "/usr/bin/python3")
        encoded = base64.b64encode(json.dumps(payload).encode()).decode()
        cmd = " ".join(shlex.quote(x) for x in (python, "-c", _REMOTE, encoded))
        res = self._low_level_execute_command(cmd, sudoable=True)
        if res.get("rc") != 0:
            raise AnsibleActionFail("kos.platform.layer_state %s on the host failed (rc %s): %s"
                                    % (payload["mode"], res.get("rc"), to_text(res.get("stderr", ""))[-2000:]))
        try:
            out = json.loads(to_text(res.get("stdout", "")).strip().splitlines()[-1])
        except (ValueError, IndexError) as exc:
            raise AnsibleActionFail("kos.platform.layer_state: unreadable answer from the host: %s"
                                    % to_text(res.get("stdout", ""))[-2000:]) from exc
        result.update(fresh=bool(out.get("fresh")), drift=out.get("drift", []), digest=payload["digest"])
        if not record and result["drift"] and not result["drift"][0].startswith("no record"):
            Display().display("LAYER GATE %s on %s runs: %s" % (layer, task_vars.get("inventory_hostname"),
                                                                "; ".join(result["drift"][:10])))
        return result
