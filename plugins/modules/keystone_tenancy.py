#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)

from __future__ import annotations

DOCUMENTATION = r'''
module: keystone_tenancy
short_description: Turn Keystone projects, users and role assignments into Kubernetes namespaces and policy
version_added: 0.1.0
description:
  - Reads Keystone (domains, projects, roles, users, groups, the raw role assignments, the
    members of the groups holding them and the implied-role rules) in a few paged API calls and
    resolves the B(effective) roles itself exactly as Keystone does (group memberships,
    assignments inherited from domains and parent projects, implied roles), then
    writes, each optionally, an ABAC policy file, namespace manifests with RBAC RoleBindings
    (and ResourceQuotas from OpenStack quotas), and the ConfigMaps of k8s-keystone-auth.
  - Every Keystone project becomes one namespace (see I(namespace_format)); every user with a
    mapped role on it gets that role's permission level there. Highest level wins when a user
    holds several roles.
  - Kubernetes names follow k8s-keystone-auth, which authenticates the users, the user name is
    the Keystone user name and the groups are the user's Keystone group names plus the ID of the
    project the token is scoped to. A user name shared by several Keystone users (any domain,
    enabled or not) gets nobody access (reported with the user IDs); a Keystone group named
    C(system:*) or C(kubeadm:*) stops the run.
  - Permissions per level are those of the upstream ClusterRoles C(view), C(edit), C(admin); the
    ABAC lines and the k8s-keystone-auth policy are derived from them (explicit resources, no wildcard).
  - Nothing is applied to a cluster; the files are for the API server (ABAC) and for a later
    C(kubernetes.core.k8s) step. Output is deterministic, so re-runs report C(changed=false)
    and diffs show exactly what moved.
  - All checks run before any file is written and every problem is reported in the same run; a bad
    rule, an unknown role, a namespace name collision, a reserved group name or a Keystone error
    leaves every file as it was.
author: kos.platform developers (@kos-platform)
extends_documentation_fragment:
  - kos.platform.openstack
options:
  abac_file:
    description: Path of the ABAC policy file to write (one JSON Policy per line).
    type: path
  manifests_dir:
    description:
      - Directory for one C(ns-<namespace>.yaml) per namespace (Namespace, RoleBindings,
        ResourceQuota). Files whose first line is not this module's marker are never touched.
      - The files of earlier runs keep namespace names stable when a project is renamed.
    type: path
  keystone_auth_file:
    description:
      - Path of a manifest with the two ConfigMaps of k8s-keystone-auth, the authorization
        policy (C(k8s-auth-policy), version 2) and the sync configuration (C(keystone-sync-policy)).
    type: path
  role_mapping:
    description:
      - Keystone role name to permission level (C(admin), C(edit), C(view)); roles not listed grant nothing.
      - Every role named here must exist in Keystone.
    type: dict
    default: {admin: admin, member: edit, reader: view}
  skip_projects:
    description:
      - Projects to leave out, as shell patterns matched against the project name, its ID
        and C(domain/name).
    type: list
    elements: str
    default: [admin, service]
  namespace_format:
    description:
      - Namespace name from the project; fields C({name}), C({id}), C({domain}), C({domain_id}).
        The result is made DNS-1123 safe (lower case, C([a-z0-9-]), at most 63 characters with
        a suffix from the project ID when cut).
      - Two projects that end up with the same name are an error that names both.
    type: str
    default: '{name}'
  namespace_prefix:
    description: Prefix for every namespace name.
    type: str
    default: ''
  namespace_overrides:
    description: Explicit namespace names, keyed by project ID or project name.
    type: dict
    default: {}
  sticky_namespaces:
    description: Keep the namespace name that earlier output in I(manifests_dir) gave a project (survives renames).
    type: bool
    default: true
  project_group_permission:
    description:
      - Level granted to the project's group (the project ID, as k8s-keystone-auth names it),
        i.e. to everyone who can scope a token to the project, B(whatever their role), unmapped
        roles included. Empty (the default) grants nothing, least privilege.
    type: str
    default: ''
  level_cluster_roles:
    description: ClusterRole bound for each level; cluster-admin and C(system:) roles are refused.
    type: dict
    default: {admin: admin, edit: edit, view: view}
  include_disabled:
    description: Include disabled projects and users (normally they get nothing).
    type: bool
    default: false
  protected_namespaces:
    description: Extra namespaces no project may map to (C(default) and C(kube-*) always are).
    type: list
    elements: str
    default: []
  resource_quotas:
    description:
      - Add a ResourceQuota per namespace from the project's nova and cinder quotas
        (two API calls per project). cores -> requests/limits.cpu, ram (MiB) ->
        requests/limits.memory, instances -> pods, volumes -> persistentvolumeclaims,
        gigabytes -> requests.storage; unlimited (-1) adds nothing.
    type: bool
    default: false
  keystone_auth_sync_data_types:
    description:
      - C(data-types-to-sync) of the k8s-keystone-auth sync configuration. Empty by default,
        this converter owns namespaces and bindings. Non-empty needs I(namespace_format=\{id\}).
    type: list
    elements: str
    default: []
  abac_discovery:
    description:
      - Add the discovery paths of the bootstrap ClusterRole C(system:discovery) (exact paths, no
        C(*)) for C(system:authenticated) to the ABAC file. Off by default, RBAC stays on next to ABAC
        and already grants them; only for API servers that run ABAC without RBAC.
    type: bool
    default: false
  prune:
    description:
      - When a project is gone, delete its namespace file and report the namespace in
        C(pruned_namespaces) (the apply step then deletes the namespace, objects and all).
      - Without it the namespace is kept, stripped of all bindings and labelled
        C(kos.platform/orphaned=true), and reported in C(orphaned_namespaces).
    type: bool
    default: false
  mode:
    description: File mode of the files written.
    type: raw
    default: '0644'
'''

EXAMPLES = r'''
- name: Keystone tenancy for the cluster
  kos.platform.keystone_tenancy:
    cloud: admin-system
    abac_file: /etc/kubernetes/abac-policy.jsonl
    manifests_dir: /etc/kubernetes/tenancy
    keystone_auth_file: /etc/kubernetes/keystone-auth/configmaps.yaml
    role_mapping:
      admin: admin
      member: edit
      reader: view
    skip_projects: [admin, service, "Default/ci-*"]
  delegate_to: localhost
  register: tenancy
'''

RETURN = r'''
namespaces:
  description: Namespace name -> project and the users with their level.
  returned: always
  type: dict
  sample: {"web-shop": {"project_id": "3f0c...", "project": "web-shop", "domain": "Default",
           "users": {"alice": "admin", "bob": "view"}}}
skipped_projects:
  description: Projects left out and why.
  returned: always
  type: list
  elements: dict
orphaned_namespaces:
  description: Namespaces of vanished projects, kept without bindings (no I(prune)).
  returned: always
  type: list
  elements: str
pruned_namespaces:
  description: Namespaces of vanished projects whose files were removed (I(prune)); delete them in the cluster.
  returned: always
  type: list
  elements: str
files:
  description: Files created, updated or deleted (would be, in check mode).
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/etc/kubernetes/abac-policy.jsonl", "action": "update"}]
warnings_tenancy:
  description: Data problems that did not stop the run (for example two users with the same name).
  returned: always
  type: list
  elements: str
api_calls:
  description: HTTP requests sent to OpenStack (token request included).
  returned: always
  type: int
'''

from ansible_collections.kos.platform.plugins.module_utils.kos_openstack import KosOpenStackModule  # noqa: E402
from ansible_collections.kos.platform.plugins.module_utils.kos_tenancy import (  # noqa: E402
    DEFAULT_ROLE_MAPPING,
    DEFAULT_SKIP_PROJECTS,
    Rules,
    TenancyError,
    convert,
    read_keystone,
    write_files,
)


class KeystoneTenancyModule(KosOpenStackModule):
    argument_spec = dict(
        abac_file=dict(type='path'),
        manifests_dir=dict(type='path'),
        keystone_auth_file=dict(type='path'),
        role_mapping=dict(type='dict', default=dict(DEFAULT_ROLE_MAPPING)),
        skip_projects=dict(type='list', elements='str', default=list(DEFAULT_SKIP_PROJECTS)),
        namespace_format=dict(type='str', default='{name}'),
        namespace_prefix=dict(type='str', default=''),
        namespace_overrides=dict(type='dict', default={}),
        sticky_namespaces=dict(type='bool', default=True),
        project_group_permission=dict(type='str', default=''),
        level_cluster_roles=dict(type='dict', default=dict(admin='admin', edit='edit', view='view')),
        include_disabled=dict(type='bool', default=False),
        protected_namespaces=dict(type='list', elements='str', default=[]),
        resource_quotas=dict(type='bool', default=False),
        keystone_auth_sync_data_types=dict(type='list', elements='str', default=[], no_log=False),
        abac_discovery=dict(type='bool', default=False),
        prune=dict(type='bool', default=False),
        mode=dict(type='raw', default='0644'),
    )
    module_kwargs = dict(
        supports_check_mode=True,
        required_one_of=[('abac_file', 'manifests_dir', 'keystone_auth_file')],
    )

    def rules(self):
        p = self.params
        return Rules(
            role_mapping=p['role_mapping'], skip_projects=p['skip_projects'],
            namespace_format=p['namespace_format'], namespace_prefix=p['namespace_prefix'],
            namespace_overrides=p['namespace_overrides'], sticky_namespaces=p['sticky_namespaces'],
            project_group_permission=p['project_group_permission'],
            level_cluster_roles=p['level_cluster_roles'], include_disabled=p['include_disabled'],
            protected_namespaces=p['protected_namespaces'],
            keystone_auth_sync_data_types=p['keystone_auth_sync_data_types'],
            abac_discovery=p['abac_discovery'])

    def run(self):
        p = self.params
        try:
            mode = int(str(p['mode']), 8)
        except ValueError:
            self.fail("mode '%s' is not an octal file mode" % p['mode'])
        try:
            rules = self.rules()  # bad rules fail before Keystone is contacted
            snapshot = read_keystone(self.conn, rules.role_mapping, with_quotas=p['resource_quotas'],
                                     project_filter=lambda project: rules.skips(project) is None)
            plan, changes, summary = convert(snapshot, rules, abac_file=p['abac_file'],
                                             manifests_dir=p['manifests_dir'],
                                             keystone_auth_file=p['keystone_auth_file'], prune=p['prune'])
        except TenancyError as exc:
            self.fail(str(exc))
        for message in summary['warnings']:
            self.warn(message)
        if changes and not self.check_mode:
            try:
                write_files(changes, mode=mode)
            except OSError as exc:
                self.fail('cannot write %s: %s' % (getattr(exc, 'filename', ''), exc))
        result = dict(
            changed=bool(changes),
            namespaces=summary['namespaces'],
            skipped_projects=summary['skipped_projects'],
            orphaned_namespaces=summary['orphaned_namespaces'],
            pruned_namespaces=summary['pruned_namespaces'],
            warnings_tenancy=summary['warnings'],
            files=[{'path': c.path, 'action': c.action} for c in changes],
        )
        if self.diff_mode:
            result['diff'] = [c.diff() for c in changes]
        return result


def main():
    KeystoneTenancyModule()()


if __name__ == '__main__':
    main()
