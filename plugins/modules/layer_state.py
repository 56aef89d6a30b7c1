#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)

# The work is done by the action plugin of the same name (plugins/action/layer_state.py): it
# computes the layer's digest on the controller and runs one small script on the host.

from __future__ import annotations

DOCUMENTATION = r'''
module: layer_state
short_description: Skip an unchanged layer of site.yml in one round trip per host
version_added: 0.1.0
description:
  - The fast path of C(site.yml). Before a layer runs, I(check) compares a digest of the layer's
    desired state (the role's files, the collection's plugins, the host's variables without facts,
    and optional controller-side I(inputs)) with the record the host keeps from the layer's last
    converge, and checks that the host is still as the layer left it - checksum, mode and owner of
    every file in I(files), active and enabled state of every unit in I(services), and the age of
    the record against I(max_age). C(fresh=true) only when all of that holds; otherwise
    C(fresh=false) and C(drift) lists what differs, and the layer runs in full (repairing the drift).
  - With I(record=true), after the layer converged, writes that record on the host
    (C(kos_layer_state_dir)/<layer>.json, mode 0600). Nothing is written in check mode.
  - Never reports C(changed), because the record is bookkeeping, not the desired state.
  - With I(survey=true) (and no I(layer)), once per host before the layers, checks every layer's
    record on the host in one round trip - the digest of its desired state (computed on the controller
    from the host's variables, as I(check) does), its files, services and age, with the I(inputs) and
    I(max_age) the record keeps - and returns the layers found C(unchanged) and the C(stale) ones with
    their reasons. C(site.yml) registers it, and each layer's play ends at its first task when it is
    unchanged on all the play's hosts (filter C(kos.platform.layer_unchanged)). The OS facts come from
    the fact cache when C(/etc/os-release) and the architecture are those they were gathered from;
    otherwise they are gathered (setup, C(gather_subset=min)) and returned as facts.
  - The digest uses the host's variables (inventory, extra vars, facts of the OS family, what the run
    set such as C(kos_cluster)), not the play's role defaults, which the role's files cover; so the
    survey and the record see the same variables.
  - The variable C(kos_layer_cache=false) turns the fast path off (every layer runs in full).
author: kos.platform developers (@kos-platform)
options:
  layer:
    description: Name of the layer (its role, as in C(roles/<layer>)). Required unless I(survey).
    type: str
  files:
    description: Paths of the files the layer manages on the host; globs (C(**) recursive) allowed.
    type: list
    elements: str
    default: []
  services:
    description: systemd units the layer manages.
    type: list
    elements: str
    default: []
  inputs:
    description: Controller-side paths (globs) the layer reads, such as the CA directory.
    type: list
    elements: str
    default: []
  max_age:
    description: Seconds after which a record is stale and the layer runs again (0 never).
    type: int
    default: 0
  record:
    description: Write the record instead of checking it.
    type: bool
    default: false
  survey:
    description: Check every layer recorded on the host at once, and bring the OS facts.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Layer gate - survey the layers' records and the OS facts (one round trip per host)
  kos.platform.layer_state:
    survey: true
  register: __kos_layer_survey

- name: Layer gate - is the layer unchanged on this host?
  kos.platform.layer_state:
    layer: etcd
    files: [/etc/etcd/**, /etc/systemd/system/etcd.service]
    services: [etcd]
  register: __kos_layer_state

- name: Layer gate - record the converged layer
  kos.platform.layer_state:
    layer: etcd
    files: [/etc/etcd/**, /etc/systemd/system/etcd.service]
    services: [etcd]
    record: true
'''

RETURN = r'''
fresh:
  description: The layer is unchanged on the host and may be skipped.
  returned: unless survey
  type: bool
unchanged:
  description: The layers whose record still holds on the host.
  returned: with survey
  type: list
  elements: str
stale:
  description: The other recorded layers, each with what differs.
  returned: with survey
  type: dict
facts_gathered:
  description: Whether the survey gathered the OS facts (false when the cached ones still hold).
  returned: with survey
  type: bool
drift:
  description: What differs from the record (empty when fresh).
  returned: unless survey
  type: list
  elements: str
digest:
  description: The digest of the layer's desired state.
  returned: when the host was reached
  type: str
'''
