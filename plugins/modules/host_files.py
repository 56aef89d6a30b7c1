#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)

# The work is done by the action plugin of the same name (plugins/action/host_files.py): it renders
# the contents on the controller and runs one small script on the host for all the entries.

from __future__ import annotations

DOCUMENTATION = r'''
module: host_files
short_description: Write a step's small files and directories on the host in one round trip
version_added: 0.1.0
description:
  - Replaces a run of M(ansible.builtin.copy), M(ansible.builtin.template) and M(ansible.builtin.file)
    (state directory) tasks of a role with one task and one command on the host. The contents are
    rendered on the controller (I(content), or I(template) from the role's C(templates/), with the
    task's variables as M(ansible.builtin.template) has them) and sent on the command's standard input.
  - On the host each entry is compared (content, mode, owner, group) and only what differs is written,
    in the order given. A file is written to a temporary file in its directory and renamed over the old
    one; with I(unsafe_writes) an existing file is rewritten in place (bind-mounted files). SELinux
    labels are restored on what is written when SELinux is enabled.
  - C(changed) when any entry changed; C(changed_paths) lists those, so later tasks or handlers can
    act on a single file. Check mode reports what would change and writes nothing; diff mode shows
    each changed file's old and new content (files up to 64 KiB).
  - Meant for configuration files; every content travels on each run. Keep secrets out of the logs
    with C(no_log) on the task.
author: kos.platform developers (@kos-platform)
options:
  files:
    description: The entries, in order (directories before the files in them).
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path on the host.
        type: str
        required: true
      content:
        description: The file's content.
        type: str
      template:
        description: A template of the role (C(templates/)), rendered on the controller.
        type: str
      state:
        description: C(file) or C(directory) (created with its parents when missing).
        type: str
        choices: [file, directory]
        default: file
      mode:
        description: Octal mode as a string; defaults to the task's I(mode) or I(directory_mode).
        type: str
      owner:
        description: Owner; defaults to the task's I(owner).
        type: str
      group:
        description: Group; defaults to the task's I(group).
        type: str
      unsafe_writes:
        description: Rewrite an existing file in place instead of renaming a new one over it.
        type: bool
        default: false
  owner:
    description: Default owner of every entry (unset keeps a file's owner, new ones get the user's).
    type: str
  group:
    description: Default group of every entry.
    type: str
  mode:
    description: Default mode of the files (unset keeps an existing file's mode, new ones get 0644).
    type: str
  directory_mode:
    description: Default mode of the directories (new ones get 0755 when unset).
    type: str
'''

EXAMPLES = r'''
- name: Write the kernel module and sysctl files
  kos.platform.host_files:
    owner: root
    group: root
    mode: "0644"
    files:
      - path: /etc/modules-load.d/kos.conf
        content: "overlay\nbr_netfilter\n"
      - path: /etc/containerd
        state: directory
        mode: "0755"
      - path: /etc/containerd/config.toml
        template: config.toml.j2
  notify: Restart containerd
'''

RETURN = r'''
changed_paths:
  description: The paths that changed (or would, in check mode).
  returned: always
  type: list
  elements: str
results:
  description: One entry per path, in order, with C(changed) and the C(reasons) (created, content, mode, owner).
  returned: always
  type: list
  elements: dict
'''
