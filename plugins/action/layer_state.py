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

from ansible import constants as C
from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.kos.platform.plugins.plugin_utils import layer_run

# Variables that describe the run, not the desired state (or hold other hosts' data lazily).
_RUN_VARS = frozenset([
    "hostvars", "vars", "group_names", "inventory_dir", "inventory_file", "playbook_dir",
    "play_hosts", "role_names", "omit", "environment", "role_path", "role_name", "role_uuid",
    "discovered_interpreter_python", "inventory_hostname_short", "module_setup",
    "site_hosts", "kos_layer_cache", "kos_layer_state_dir",
])
_FACTS = ("distribution", "distribution_major_version", "os_family", "architecture")
# What the survey gathers when the cache cannot be trusted: the subsets every layer of site.yml reads
# (min: OS, package and service manager, SELinux, host name; virtual: container detection) - its
# plays gather nothing more (gather_facts: false). The hardware subset (mounts, devices: most of a full
# gathering's time) is left out; the one value the layers read from it, swaptotal_mb, comes with the
# survey's round trip from /proc/meminfo, as setup reads it, on every run.
_GATHER_SUBSET = ["min", "virtual"]
_VIRTUAL_FACTS = ("virtualization_type", "virtualization_role")
_CODE_CACHE = {}
_TREE_CACHE = {}
_TREE_CACHE_FILE = "kos-layer-tree-digests.json"

# Runs on the host with its python3 (-S: the standard library only, no site packages): reads or writes
# the layer's record. It runs on every host at every converge (the survey), so it imports only what
# costs nearly nothing: JSON through the interpreter's C codec (_json; the json package compiles its
# regular expressions at import), systemctl through fork and exec (subprocess). Measured in a lab host:
# 68 ms of CPU per survey with json, subprocess, glob, base64 and platform, 10 ms for the interpreter
# alone. Falls back to the json package where _json is missing (not CPython). The scanner's context is
# the one CPython's json.decoder.JSONDecoder gives it: Modules/_json.c (scanner_new) reads strict,
# object_hook, object_pairs_hook, parse_float, parse_int and parse_constant from it, in every release
# from 3.6 (Rocky 8's platform-python) to 3.13.
_REMOTE = r"""
import binascii, hashlib, os, sys, time
try:
    import _json
except ImportError:
    _json = None
class _Ctx(object):
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float
def loads(text):
    if _json is None:
        import json
        return json.loads(text)
    text = text.strip()
    try:
        value, end = _json.make_scanner(_Ctx())(text, 0)
    except StopIteration:
        raise ValueError("not JSON")
    if end != len(text):
        raise ValueError("extra data")
    return value
def dumps(o):
    if isinstance(o, dict):
        return "{" + ", ".join(dumps(str(k)) + ": " + dumps(v) for k, v in o.items()) + "}"
    if isinstance(o, (list, tuple)):
        return "[" + ", ".join(dumps(v) for v in o) + "]"
    if o is True or o is False or o is None:
        return {True: "true", False: "false", None: "null"}[o]
    if isinstance(o, (int, float)):
        return repr(o)
    if _json is None:
        import json
        return json.dumps(str(o))
    return _json.encode_basestring_ascii(str(o))
a = loads(binascii.a2b_base64(sys.argv[1]).decode())
path = os.path.join(a["dir"], a["layer"] + ".json")
def run(argv):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(w, 1)
            os.close(r)
            os.close(w)
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    os.close(w)
    chunks = []
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(r)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode("utf-8", "replace")
def files(patterns):
    out = {}
    for pattern in patterns:
        if any(c in pattern for c in "*?["):
            import glob
            hits = sorted(glob.glob(pattern, recursive=True))
        else:
            hits = [pattern]
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
def services(names):
    if not names:
        return {}
    out = run(["systemctl", "show", "--property=ActiveState,UnitFileState"] + names)
    states = []
    for block in out.strip("\n").split("\n\n"):
        d = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        states.append([d.get("ActiveState", ""), d.get("UnitFileState", "")])
    return dict(zip(names, states))
def drift(old, names, max_age, svc=None):
    # Only the files of the record: a later layer may add files under the same directory (BIRD includes,
    # static pod manifests), which are that layer's to watch. svc: the services' states, when read already.
    found = []
    if max_age and time.time() - old.get("time", 0) > max_age:
        found.append("record older than %d s" % max_age)
    recorded = old.get("files", {})
    now = files(sorted(recorded))
    for p in sorted(recorded):
        if now.get(p) != recorded[p]:
            found.append("file %s: %s" % (p, "missing" if now.get(p) is None else "changed"))
    svc = services(names) if svc is None else {n: svc[n] for n in names}
    for s in sorted(svc):
        was = old.get("services", {}).get(s, [])
        if list(svc[s]) != list(was):
            found.append("service %s: %s (was %s)" % (s, "/".join(svc[s]), "/".join(was)))
    return found
if a["mode"] == "survey":
    # The OS identity (to trust cached facts) and the verdict of every layer's record, for the layers'
    # gates of this run: one round trip per host instead of one per layer.
    try:
        with open("/etc/os-release", "rb") as f:
            release = f.read()
    except OSError:
        release = b""
    layers, records = {}, {}
    try:
        names = sorted(n for n in os.listdir(a["dir"]) if n.endswith(".json"))
    except OSError:
        names = []
    for n in names:
        name = n[:-5]
        try:
            with open(os.path.join(a["dir"], n)) as f:
                old = loads(f.read())
        except (OSError, ValueError):
            layers[name] = {"drift": ["unreadable record"]}
            continue
        if not isinstance(old, dict) or old.get("version") != 2:
            layers[name] = {"drift": ["record of an earlier version of the gate"]}
            continue
        records[name] = old
    # Every layer's services in one systemctl call (one per layer cost the host a process and a D-Bus
    # round trip each).
    svc = services(sorted({n for old in records.values() for n in old.get("services", {})}))
    for name, old in records.items():
        layers[name] = {"digest": old.get("digest"), "inputs": old.get("inputs", []),
                        "drift": drift(old, sorted(old.get("services", {})), old.get("max_age", 0), svc)}
    identity = hashlib.sha256(release + b"\0" + os.uname()[4].encode()).hexdigest()
    swap_mb = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("SwapTotal:"):
                    swap_mb = int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    print(dumps({"os": identity, "layers": layers, "swap_mb": swap_mb}))
    sys.exit(0)
if a["mode"] == "record":
    os.makedirs(a["dir"], mode=0o700, exist_ok=True)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(dumps({"version": 2, "digest": a["digest"], "time": time.time(), "inputs": a["inputs"],
                       "max_age": a["max_age"], "files": files(a["files"]), "services": services(a["services"])}))
    os.rename(tmp, path)
    print(dumps({"fresh": True, "drift": []}))
    sys.exit(0)
try:
    with open(path) as f:
        old = loads(f.read())
    if not isinstance(old, dict):
        raise ValueError("not a record")
except (OSError, ValueError):
    print(dumps({"fresh": False, "drift": ["no record of a converge of this layer"]}))
    sys.exit(0)
found = []
if old.get("digest") != a["digest"]:
    found.append("desired state changed (code, variables or inputs)")
found += drift(old, a["services"], a["max_age"])
print(dumps({"fresh": not found, "drift": found}))
"""


def _run_cache_path(name="kos-layer-file-digests.json"):
    """A file of the run's digests: in ansible-playbook's local temporary directory (one per run,
    removed at its end), shared by the forked workers, so the collection's files are hashed once per
    run, not once per host (67 ms per worker, 2.3 s of controller CPU at 34 hosts)."""
    try:
        return os.path.join(C.DEFAULT_LOCAL_TMP, name)
    except Exception:  # pylint: disable=broad-except  # no local temporary directory: no shared cache
        return None


def _load_run_cache():
    if _CODE_CACHE.get("__loaded__"):
        return
    _CODE_CACHE["__loaded__"] = True
    path = _run_cache_path()
    try:
        with open(path) as f:
            for key, digest in json.load(f).items():
                _CODE_CACHE.setdefault(tuple(json.loads(key)), digest)
    except (OSError, TypeError, ValueError):
        pass


def _save_run_cache(path, data):
    if not path:
        return
    tmp = "%s.%d" % (path, os.getpid())
    try:
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.rename(tmp, path)
    except OSError:
        pass


def _load_tree_cache():
    if "__loaded__" in _TREE_CACHE:
        return
    _TREE_CACHE["__loaded__"] = True
    try:
        with open(_run_cache_path(_TREE_CACHE_FILE)) as f:
            data = json.load(f)
        _TREE_CACHE.update((k, v) for k, v in data.items() if isinstance(v, str))
    except (OSError, TypeError, ValueError):
        pass


def _tree_digest(root):
    """sha256 of every file under root (path and content), once per run and tree: a worker takes the
    tree's digest from the run's file when another worker has computed it (one walk of the tree per
    run instead of one per host and layer: 30 ms of controller CPU per host at every survey). The code
    does not change under a running playbook; if it did, the next run's digest differs and the layer
    runs again, so the cache never hides a change. The files' digests themselves are cached by path,
    size and mtime."""
    _load_tree_cache()
    if root in _TREE_CACHE:
        return _TREE_CACHE[root]
    _load_run_cache()
    entries, added = [], False
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
                added = True
            entries.append("%s %s" % (os.path.relpath(p, root), _CODE_CACHE[key]))
    if added:
        _save_run_cache(_run_cache_path(), {json.dumps(list(k)): v for k, v in _CODE_CACHE.items()
                                            if isinstance(k, tuple)})
    digest = hashlib.sha256("\n".join(entries).encode()).hexdigest()
    _TREE_CACHE[root] = digest
    _save_run_cache(_run_cache_path(_TREE_CACHE_FILE), {k: v for k, v in _TREE_CACHE.items() if k != "__loaded__"})
    return digest


def _host_vars(task_vars):
    """The host's own variables: inventory (group and host vars), extra vars, facts and what the run set
    (kos_cluster), without the play's role defaults and play variables. The survey, which runs before
    any layer's play, and the record, which runs in it, so see the same variables; the role's defaults
    are part of the role's files, which the digest covers."""
    hostvars = task_vars.get("hostvars")
    raw = None
    if hostvars is not None and hasattr(hostvars, "raw_get"):
        raw = hostvars.raw_get(task_vars.get("inventory_hostname"))
    return raw if isinstance(raw, dict) else task_vars


def _state_vars(task_vars, facts=None):
    """The variables that shape the desired state: inventory, extra vars, kos_cluster, the OS facts."""
    variables = _host_vars(task_vars)
    if facts is None:
        facts = variables.get("ansible_facts") or task_vars.get("ansible_facts") or {}
    keep = {}
    for name, value in variables.items():
        # Facts injected as variables (gather_subset, module_setup ...) change with every gathering.
        if name.startswith(("ansible_", "__")) or name in _RUN_VARS or name in facts:
            continue
        keep[name] = value
    keep["groups"] = {g: sorted(h) for g, h in (variables.get("groups") or {}).items()}
    keep["__facts"] = {k: facts.get(k) for k in _FACTS}
    return json.dumps(keep, sort_keys=True, default=to_text)


def _debug_dump(layer, host, text):
    """KOS_LAYER_STATE_DEBUG=DIR keeps the variables that went into each digest, to diff two runs."""
    where = os.environ.get("KOS_LAYER_STATE_DEBUG")
    if where:
        os.makedirs(where, exist_ok=True)
        with open(os.path.join(where, "%s-%s.json" % (host, layer)), "w") as f:
            f.write(text)


def _collection():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _digest(layer, inputs, state):
    """The layer's desired state: its role's files, the collection's plugins, the host's variables
    (_state_vars) and the controller-side inputs (globs)."""
    parts = [layer, _tree_digest(os.path.join(_collection(), "roles", layer)),
             _tree_digest(os.path.join(_collection(), "plugins")), state]
    for pattern in inputs:
        for p in sorted(glob.glob(pattern, recursive=True)):
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    parts.append("%s %s" % (p, hashlib.sha256(f.read()).hexdigest()))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _cache_on(templar, task_vars):
    """kos_layer_cache as a boolean: from -e it is the string "false", which is true in Python."""
    return boolean(templar.template(task_vars.get("kos_layer_cache", True)), strict=False)


def _deprefixed(facts):
    return {(k[len("ansible_"):] if k.startswith("ansible_") else k): v for k, v in facts.items()}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def digest(self, layer, inputs, task_vars, facts=None):
        state = _state_vars(task_vars, facts)
        _debug_dump(layer, task_vars.get("inventory_hostname", "host"), state)
        return _digest(layer, inputs, state)

    def remote(self, payload, task_vars):
        """One round trip: the script above, with the payload, as root; its last line of JSON."""
        python = self._templar.template(task_vars.get("ansible_python_interpreter")
                                        or task_vars.get("discovered_interpreter_python") or "/usr/bin/python3")
        encoded = base64.b64encode(json.dumps(payload).encode()).decode()
        cmd = " ".join(shlex.quote(x) for x in (python, "-S", "-c", _REMOTE, encoded))
        res = self._low_level_execute_command(cmd, sudoable=True)
        if res.get("rc") != 0:
            raise AnsibleActionFail("kos.platform.layer_state %s on the host failed (rc %s): %s"
                                    % (payload["mode"], res.get("rc"), to_text(res.get("stderr", ""))[-2000:]))
        try:
            return json.loads(to_text(res.get("stdout", "")).strip().splitlines()[-1])
        except (ValueError, IndexError) as exc:
            raise AnsibleActionFail("kos.platform.layer_state: unreadable answer from the host: %s"
                                    % to_text(res.get("stdout", ""))[-2000:]) from exc

    def survey(self, result, task_vars, state_dir):
        """survey=true: in one round trip, the verdict of every layer recorded on the host (unchanged: the
        layers whose digest, files, services and age still hold) and the OS facts: the cached ones when
        the host's /etc/os-release and architecture are those they were gathered from, else gathered
        now (setup, gather_subset min and virtual) and returned as facts (so cached for the next run),
        with the swap total read in the same round trip."""
        host = task_vars.get("inventory_hostname")
        layer_run.clear(host)
        out = self.remote({"mode": "survey", "layer": "", "dir": state_dir, "digest": "", "files": [],
                           "services": [], "inputs": [], "max_age": 0}, task_vars)
        facts = dict(task_vars.get("ansible_facts") or {})
        if (facts.get("kos_os_identity") != out["os"] or not all(facts.get(k) for k in _FACTS)
                or not all(k in facts for k in _VIRTUAL_FACTS)):
            setup = self._execute_module(module_name="ansible.builtin.setup",
                                         module_args={"gather_subset": _GATHER_SUBSET}, task_vars=task_vars)
            if setup.get("failed") or "ansible_facts" not in setup:
                raise AnsibleActionFail("kos.platform.layer_state: gathering the OS facts failed: %s"
                                        % setup.get("msg", setup))
            # Marked as a gathering (as gather_facts does): with `gathering = smart` a later play that
            # leaves gather_facts on gathers nothing again for this host.
            gathered = dict(setup["ansible_facts"], ansible_kos_os_identity=out["os"], _ansible_facts_gathered=True)
            result["facts_gathered"] = True
        else:
            gathered = {}
            result["facts_gathered"] = False
        swap_mb = int(out.get("swap_mb", 0))
        if gathered or facts.get("swaptotal_mb") != swap_mb:
            gathered["ansible_swaptotal_mb"] = swap_mb
        # Facts only when there is something new: every fact a result carries is written to the fact
        # cache by the controller's main process, one host after the other (a whole cache file per host:
        # 0.45 s of a 30-host no-op, serial). Unchanged facts stay as cached; after the cache's timeout
        # they are gathered again (above).
        if gathered:
            result["ansible_facts"] = gathered
        facts.update(_deprefixed(gathered))
        unchanged, stale = [], {}
        if _cache_on(self._templar, task_vars):
            state = _state_vars(task_vars, facts)
            _debug_dump("survey", task_vars.get("inventory_hostname", "host"), state)
            for layer, record in sorted(out["layers"].items()):
                if not os.path.isdir(os.path.join(_collection(), "roles", layer)):
                    continue  # a record of a layer this collection no longer has
                reasons = list(record.get("drift", []))
                if "digest" in record and record["digest"] != _digest(layer, record.get("inputs", []), state):
                    reasons.insert(0, "desired state changed (code, variables or inputs)")
                if reasons:
                    stale[layer] = reasons
                else:
                    unchanged.append(layer)
        result.update(unchanged=unchanged, stale=stale)
        layer_run.save_survey(host, unchanged)  # for the layers' gates (plugins/plugin_utils/layer_run.py)
        return result

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self._task.args
        unknown = sorted(set(args) - {"layer", "files", "services", "inputs", "max_age", "record", "survey"})
        survey = bool(args.get("survey", False))
        layer = args.get("layer")
        problems = ["unknown option %s" % u for u in unknown]
        if survey and (layer or args.get("record")):
            problems.append("survey: looks at every layer of the host; give it without layer and record")
        elif not survey and (not layer or not isinstance(layer, str)):
            problems.append("layer: the name of the layer's role is required (for example layer: etcd)")
        for opt in ("files", "services", "inputs"):
            if not isinstance(args.get(opt, []), list):
                problems.append("%s: expected a list of strings, got %r" % (opt, args.get(opt)))
        if problems:
            raise AnsibleActionFail("kos.platform.layer_state: " + "; ".join(problems))
        state_dir = self._templar.template(task_vars.get("kos_layer_state_dir", "/var/lib/kos/layers"))
        result.update(changed=False)
        if survey:
            return self.survey(result, task_vars, state_dir)
        record = bool(args.get("record", False))
        result.update(layer=layer)
        if not record and not _cache_on(self._templar, task_vars):
            result.update(fresh=False, drift=["kos_layer_cache is off"])
            return result
        if record and self._task.check_mode:
            result.update(skipped=True, msg="check mode: the record is not written")
            return result
        if record:
            layer_run.mark_ran(task_vars.get("inventory_hostname"))
        inputs = [str(p) for p in args.get("inputs", [])]
        payload = {
            "mode": "record" if record else "check", "layer": layer, "dir": state_dir,
            "digest": self.digest(layer, inputs, task_vars), "inputs": inputs,
            "files": [str(f) for f in args.get("files", [])], "services": [str(s) for s in args.get("services", [])],
            "max_age": int(args.get("max_age", 0) or 0),
        }
        out = self.remote(payload, task_vars)
        result.update(fresh=bool(out.get("fresh")), drift=out.get("drift", []), digest=payload["digest"])
        if not record and result["drift"] and not result["drift"][0].startswith("no record"):
            Display().display("LAYER GATE %s on %s runs: %s" % (layer, task_vars.get("inventory_hostname"),
                                                                "; ".join(result["drift"][:10])))
        return result
