# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""The run's own record of the layers' survey and records, for site.yml's layer gates (controller only).

The survey (kos.platform.layer_state survey=true) runs in a forked worker per host and registers
__kos_layer_survey; each layer's record task registers __kos_layer_recorded. The gate of every layer
play (filter kos.platform.layer_unchanged) read both through hostvars[host]: each access is a whole
get_vars of the host in the controller's main process (inventory, facts copied and cleaned, magic
variables), 150 of them per no-op converge at 33 hosts, one after the other.

So the workers also leave the verdicts here, one small file per host in ansible-playbook's local
temporary directory (one per run, created before the workers fork, removed at its end): the survey's
list of unchanged layers, and a mark once a layer's record task ran on the host. The filter reads them
and falls back to hostvars for a host without a file (no survey in this run, or another caller).
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote

from ansible import constants as C

_DIR = "kos-layer-run"


def _path(host, suffix):
    try:
        base = C.DEFAULT_LOCAL_TMP
    except Exception:  # pylint: disable=broad-except  # no local temporary directory: no shared record
        return None
    if not base or not host:
        return None
    return os.path.join(base, _DIR, quote(str(host), safe="") + suffix)


def _write(path, text):
    if not path:
        return
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = "%s.%d" % (path, os.getpid())
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, path)
    except OSError:
        pass


def clear(host):
    """Before a survey of the host: nothing of an earlier survey in this run may speak for it."""
    for suffix in (".survey", ".ran"):
        try:
            os.unlink(_path(host, suffix))
        except (OSError, TypeError):
            pass


def save_survey(host, unchanged):
    """The survey's verdict on the host: the layers it found unchanged."""
    _write(_path(host, ".survey"), json.dumps(sorted(unchanged)))


def mark_ran(host):
    """A layer's record task ran on the host: the survey no longer speaks for later layers there."""
    _write(_path(host, ".ran"), "")


def verdict(host):
    """(unchanged layers, ran) from this run's files, or None when this run left none for the host."""
    path = _path(host, ".survey")
    if not path:
        return None
    try:
        with open(path) as f:
            unchanged = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(unchanged, list):
        return None
    return unchanged, os.path.exists(_path(host, ".ran"))
