# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""Action plugin kos.platform.host_files: every small file and directory of a step in one round trip.

A role that writes five configuration files with ansible.builtin.copy / template pays per file a
stat, a transfer and a copy module run (three `docker exec` or SSH commands, each starting Python and
unpacking the module on the host): on the 2-core lab machine about 0.6 s per file and host. This plugin
renders the contents on the controller (inline content, or a template of the role), sends them all in
one command's standard input, and a small script on the host compares each file's content, mode and
owner and writes only what differs (atomically: a temporary file in the same directory, renamed;
in place with unsafe_writes, for bind-mounted files such as a container's /etc/hostname). Check mode
and diff mode as with copy. changed when any entry changed; changed_paths names them.
"""

from __future__ import annotations

import base64
import json
import os
import shlex

from ansible import constants as C
from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.template import trust_as_template

# Runs on the host with its python3, as root (become): standard library only. Reads the JSON plan on
# standard input, prints one JSON line of results.
_REMOTE = r"""
import base64, grp, json, os, pwd, stat, sys, tempfile
a = json.loads(sys.stdin.read())
check, diff = a["check"], a["diff"]
def ids(f):
    uid = pwd.getpwnam(f["owner"]).pw_uid if f.get("owner") else -1
    gid = grp.getgrnam(f["group"]).gr_gid if f.get("group") else -1
    return uid, gid
def relabel(path):
    try:
        import selinux
        if selinux.is_selinux_enabled():
            selinux.restorecon(path)
    except Exception:
        pass
def attributes(path, f, reasons):
    uid, gid = ids(f)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return  # check mode: not written
    if f.get("mode") is not None and stat.S_IMODE(st.st_mode) != int(f["mode"], 8):
        reasons.append("mode %o -> %s" % (stat.S_IMODE(st.st_mode), f["mode"]))
        if not check:
            os.chmod(path, int(f["mode"], 8))
    if (uid != -1 and st.st_uid != uid) or (gid != -1 and st.st_gid != gid):
        reasons.append("owner %d:%d -> %s:%s" % (st.st_uid, st.st_gid, f.get("owner") or "-", f.get("group") or "-"))
        if not check:
            os.chown(path, uid, gid)
out = []
for f in a["files"]:
    path, reasons, before, after = f["path"], [], None, None
    try:
        if f["state"] == "directory":
            if not os.path.isdir(path):
                if os.path.lexists(path):
                    raise OSError("%s exists and is not a directory" % path)
                reasons.append("created")
                if not check:
                    os.makedirs(path, int(f.get("mode") or "0755", 8))
                    relabel(path)
            attributes(path, f, reasons)
        else:
            want = base64.b64decode(f["content"])
            try:
                with open(path, "rb") as h:
                    have = h.read()
            except FileNotFoundError:
                have = None
            if os.path.isdir(path):
                raise OSError("%s is a directory" % path)
            if have != want:
                reasons.append("created" if have is None else "content")
                if diff and len(want) <= 65536 and (have is None or len(have) <= 65536):
                    before = "" if have is None else have.decode("utf-8", "replace")
                    after = want.decode("utf-8", "replace")
                if not check:
                    directory = os.path.dirname(path) or "."
                    if not os.path.isdir(directory):
                        raise OSError("the directory %s does not exist (create it with an entry of state directory "
                                      "before the file)" % directory)
                    if f.get("unsafe_writes") and have is not None:
                        with open(path, "r+b") as h:
                            h.write(want)
                            h.truncate()
                    else:
                        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".kos-")
                        try:
                            with os.fdopen(fd, "wb") as h:
                                h.write(want)
                                h.flush()
                                os.fsync(h.fileno())
                            uid, gid = ids(f)
                            if have is not None:
                                st = os.stat(path)
                                mode = int(f["mode"], 8) if f.get("mode") else stat.S_IMODE(st.st_mode)
                                uid = st.st_uid if uid == -1 else uid
                                gid = st.st_gid if gid == -1 else gid
                            else:
                                mode = int(f.get("mode") or "0644", 8)
                            os.chmod(tmp, mode)
                            os.chown(tmp, uid, gid)
                            os.rename(tmp, path)
                        except BaseException:
                            if os.path.exists(tmp):
                                os.unlink(tmp)
                            raise
                    relabel(path)
            attributes(path, f, reasons)
    except (OSError, KeyError) as exc:
        out.append({"path": path, "failed": True, "msg": str(exc)})
        continue
    entry = {"path": path, "changed": bool(reasons), "reasons": reasons}
    if before is not None:
        entry["before"], entry["after"] = before, after
    out.append(entry)
print(json.dumps(out))
"""

_ENTRY_KEYS = frozenset(["path", "content", "template", "state", "mode", "owner", "group", "unsafe_writes"])


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def render(self, source, dest, task_vars):
        """The template `source` of the role (templates/), rendered as ansible.builtin.template does."""
        try:
            path = self._find_needle("templates", source)
        except AnsibleError as exc:
            raise AnsibleActionFail(to_text(exc)) from exc
        data = trust_as_template(self._loader.get_text_file_contents(path))
        searchpath = []
        for p in list(task_vars.get("ansible_search_path", [])) + [self._loader.get_basedir(), os.path.dirname(path)]:
            searchpath += [os.path.join(p, "templates"), p]
        variables = dict(task_vars)
        if "ansible_managed" not in variables:
            variables["ansible_managed"] = C.config.get_config_value("DEFAULT_MANAGED_STR")
        variables.update(template_path=source, template_fullpath=path, template_destpath=dest,
                         template_host=os.uname()[1], template_uid=str(os.getuid()))
        templar = self._templar.copy_with_new_env(searchpath=searchpath, available_variables=variables)
        rendered = templar.template(data, escape_backslashes=False,
                                    overrides=dict(trim_blocks=True, lstrip_blocks=False, newline_sequence="\n"))
        return "" if rendered is None else to_text(rendered)

    def plan(self, task_vars):
        args = self._task.args
        known = {"files", "owner", "group", "mode", "directory_mode"}
        problems = ["unknown option %s" % k for k in sorted(set(args) - known)]
        files = args.get("files")
        if not isinstance(files, list) or not files:
            problems.append("files: a list of entries (path, and content or template, or state: directory) "
                            "is required")
            files = []
        plan, seen = [], set()
        for number, entry in enumerate(files):
            where = "files[%d]" % number
            if not isinstance(entry, dict):
                problems.append("%s: expected a mapping with path, got %r" % (where, entry))
                continue
            problems += ["%s: unknown key %s" % (where, k) for k in sorted(set(entry) - _ENTRY_KEYS)]
            path = entry.get("path")
            if not isinstance(path, str) or not path.startswith("/"):
                problems.append("%s: path must be an absolute path, got %r" % (where, path))
                continue
            if path in seen:
                problems.append("%s: %s is given twice" % (where, path))
            seen.add(path)
            state = entry.get("state", "file")
            given = [k for k in ("content", "template") if k in entry]
            if state not in ("file", "directory"):
                problems.append("%s (%s): state is file or directory, got %r" % (where, path, state))
                continue
            if state == "file" and len(given) != 1:
                problems.append("%s (%s): give exactly one of content and template" % (where, path))
                continue
            if state == "directory" and given:
                problems.append("%s (%s): a directory takes no %s" % (where, path, given[0]))
                continue
            mode = entry.get("mode", args.get("directory_mode" if state == "directory" else "mode"))
            if mode is not None:
                mode = str(mode)
                try:
                    int(mode, 8)
                except ValueError:
                    problems.append("%s (%s): mode must be octal as a string, such as '0644', got %r"
                                    % (where, path, mode))
                    continue
            item = {"path": path, "state": state, "mode": mode,
                    "owner": entry.get("owner", args.get("owner")), "group": entry.get("group", args.get("group")),
                    "unsafe_writes": boolean(entry.get("unsafe_writes", False), strict=False)}
            if state == "file":
                try:
                    text = entry["content"] if "content" in entry else self.render(entry["template"], path, task_vars)
                except AnsibleError as exc:  # every bad template named, with the other problems
                    problems.append("%s (%s): template %s: %s" % (where, path, entry.get("template"), to_text(exc)))
                    continue
                if not isinstance(text, str):
                    problems.append("%s (%s): content must be a string, got %s" % (where, path, type(text).__name__))
                    continue
                item["content"] = to_text(base64.b64encode(to_bytes(text)))
            plan.append(item)
        return plan, problems

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        plan, problems = self.plan(task_vars)
        if problems:
            result.update(failed=True, changed=False, msg="kos.platform.host_files: " + "; ".join(problems))
            return result
        payload = json.dumps({"files": plan, "check": bool(self._task.check_mode), "diff": bool(self._task.diff)})
        python = self._templar.template(task_vars.get("ansible_python_interpreter")
                                        or task_vars.get("discovered_interpreter_python") or "/usr/bin/python3")
        cmd = " ".join(shlex.quote(x) for x in (python, "-c", _REMOTE))
        res = self._low_level_execute_command(cmd, sudoable=True, in_data=to_bytes(payload))
        if res.get("rc") != 0:
            raise AnsibleActionFail("kos.platform.host_files on the host failed (rc %s): %s"
                                    % (res.get("rc"), to_text(res.get("stderr", ""))[-2000:]))
        try:
            entries = json.loads(to_text(res.get("stdout", "")).strip().splitlines()[-1])
        except (ValueError, IndexError) as exc:
            raise AnsibleActionFail("kos.platform.host_files: unreadable answer from the host: %s"
                                    % to_text(res.get("stdout", ""))[-2000:]) from exc
        failed = [e for e in entries if e.get("failed")]
        changed = [e for e in entries if e.get("changed")]
        result.update(changed=bool(changed), changed_paths=[e["path"] for e in changed],
                      results=[{k: e[k] for k in ("path", "changed", "reasons") if k in e} for e in entries])
        if self._task.diff:
            result["diff"] = [{"before_header": e["path"], "after_header": e["path"],
                               "before": e["before"], "after": e["after"]} for e in changed if "before" in e]
        if failed:
            result.update(failed=True, msg="; ".join("%s: %s" % (e["path"], e["msg"]) for e in failed))
        return result
