# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""Keystone tenancy -> Kubernetes namespaces and policy: the converter's core.

Used by the module kos.platform.keystone_tenancy and by the command line
(``python -m ansible_collections.kos.platform.plugins.module_utils.kos_tenancy_cli``).

Three stages, each usable alone:

1. ``read_keystone(conn)``: a ``Snapshot`` of Keystone in a few paged API calls (domains,
   projects, the mapped roles, users and groups, the implied-role rules, ONE raw
   ``GET /v3/role_assignments`` and the members of the groups holding assignments); group
   membership, inheritance and implied roles are resolved here (``resolve_effective``) exactly
   as Keystone's effective listing resolves them, which is quadratic on the server.
2. ``build_plan(snapshot, rules, previous)``: pure mapping (unit-tested): namespace names,
   per-user permission levels, skipped projects, orphaned namespaces. Raises ``TenancyError``
   on bad rules, unknown roles and namespace collisions (naming both projects).
3. ``render_*``: deterministic text for each output (ABAC policy file, namespace manifests with
   RBAC RoleBindings and ResourceQuotas, k8s-keystone-auth ConfigMaps), then
   ``plan_files`` / ``write_files`` compare with what is on disk and write atomically.

Identity names follow k8s-keystone-auth (pkg/identity/keystone/authenticator.go, v1.31.2 to
v1.36.0): the Kubernetes user name is the Keystone user name (not domain-qualified), and the
groups are the NAMES of the user's Keystone groups plus the ID of the project the token is
scoped to. Hence: a user name that two Keystone users share is never a subject, Keystone group
names with Kubernetes' reserved prefixes stop the run, and the project group is bound only on
request (project_group_permission).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import tempfile

LEVELS = ('admin', 'edit', 'view')
LEVEL_RANK = {'view': 1, 'edit': 2, 'admin': 3}
ABAC_API_VERSION = 'abac.authorization.kubernetes.io/v1beta1'
MANAGED_BY = 'kos-tenancy'
LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by'
LABEL_PROJECT_ID = 'kos.platform/project-id'
LABEL_ORPHANED = 'kos.platform/orphaned'
ANNOTATION_PROJECT_NAME = 'kos.platform/project-name'
ANNOTATION_PROJECT_DOMAIN = 'kos.platform/project-domain'
FILE_MARKER = '# managed by kos.platform keystone_tenancy; project-id: '
NAMESPACE_FILE_PREFIX = 'ns-'
DEFAULT_ROLE_MAPPING = {'admin': 'admin', 'member': 'edit', 'reader': 'view'}
DEFAULT_SKIP_PROJECTS = ('admin', 'service')
# Namespaces that exist in every cluster or belong to the platform: never generated, never touched.
PROTECTED_NAMESPACES = ('default', 'kube-system', 'kube-public', 'kube-node-lease')
NAMESPACE_FORMAT_FIELDS = ('name', 'id', 'domain', 'domain_id')
NAME_MAX = 63
DNS1123_LABEL = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')
LABEL_VALUE = re.compile(r'^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$')


# --------------------------------------------------------------------------- upstream ClusterRoles
# The rules of the bootstrap ClusterRoles view, edit and admin, as DATA, copied from
# kubernetes/kubernetes plugin/pkg/auth/authorizer/rbac/bootstrappolicy/testdata/cluster-roles.yaml
# (the aggregated roles system:aggregate-to-view, -edit, -admin; stored upstream commit
# 025f2834a128798cef30018a5e6a6ae82b5ad885, the newest this project could read, master after
# release-1.36; policy.go in the same directory builds them). view = aggregate-to-view;
# edit = aggregate-to-edit + view; admin = aggregate-to-admin + edit (the aggregationRule labels).
# RBAC mode binds the cluster's own view/edit/admin; ABAC lines and the k8s-keystone-auth policy are
# DERIVED from this data so that every mode grants what RBAC grants (see README "Tenancy").
UPSTREAM_ROLES_SOURCE = ('kubernetes/kubernetes plugin/pkg/auth/authorizer/rbac/bootstrappolicy/testdata/'
                         'cluster-roles.yaml @ 025f2834a128798cef30018a5e6a6ae82b5ad885')
_RW = ('create', 'delete', 'deletecollection', 'patch', 'update')
_R = ('get', 'list', 'watch')
AGGREGATE_TO_VIEW = (
    ('', ('configmaps', 'endpoints', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'pods',
          'replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services',
          'services/status'), _R),
    ('', ('bindings', 'events', 'limitranges', 'namespaces/status', 'pods/log', 'pods/status',
          'replicationcontrollers/status', 'resourcequotas', 'resourcequotas/status'), _R),
    ('', ('namespaces',), _R),
    ('discovery.k8s.io', ('endpointslices',), _R),
    ('apps', ('controllerrevisions', 'daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale',
              'deployments/status', 'replicasets', 'replicasets/scale', 'replicasets/status', 'statefulsets',
              'statefulsets/scale', 'statefulsets/status'), _R),
    ('autoscaling', ('horizontalpodautoscalers', 'horizontalpodautoscalers/status'), _R),
    ('batch', ('cronjobs', 'cronjobs/status', 'jobs', 'jobs/status'), _R),
    ('extensions', ('daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status',
                    'ingresses', 'ingresses/status', 'networkpolicies', 'replicasets', 'replicasets/scale',
                    'replicasets/status', 'replicationcontrollers/scale'), _R),
    ('policy', ('poddisruptionbudgets', 'poddisruptionbudgets/status'), _R),
    ('networking.k8s.io', ('ingresses', 'ingresses/status', 'networkpolicies'), _R),
)
AGGREGATE_TO_EDIT = (
    ('', ('pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy', 'secrets', 'services/proxy'), _R),
    ('', ('serviceaccounts',), ('impersonate',)),
    ('', ('pods', 'pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy'), _RW),
    ('', ('pods/eviction',), ('create',)),
    ('', ('configmaps', 'events', 'persistentvolumeclaims', 'replicationcontrollers', 'replicationcontrollers/scale',
          'secrets', 'serviceaccounts', 'services', 'services/proxy'), _RW),
    ('', ('serviceaccounts/token',), ('create',)),
    ('apps', ('daemonsets', 'deployments', 'deployments/rollback', 'deployments/scale', 'replicasets',
              'replicasets/scale', 'statefulsets', 'statefulsets/scale'), _RW),
    ('autoscaling', ('horizontalpodautoscalers',), _RW),
    ('batch', ('cronjobs', 'jobs'), _RW),
    ('extensions', ('daemonsets', 'deployments', 'deployments/rollback', 'deployments/scale', 'ingresses',
                    'networkpolicies', 'replicasets', 'replicasets/scale', 'replicationcontrollers/scale'), _RW),
    ('policy', ('poddisruptionbudgets',), _RW),
    ('networking.k8s.io', ('ingresses', 'networkpolicies'), _RW),
    ('coordination.k8s.io', ('leases',), _RW + _R),
)
AGGREGATE_TO_ADMIN = (
    ('authorization.k8s.io', ('localsubjectaccessreviews',), ('create',)),
    ('rbac.authorization.k8s.io', ('rolebindings', 'roles'), _RW + _R),
)
LEVEL_AGGREGATES = {'view': ('view',), 'edit': ('view', 'edit'), 'admin': ('view', 'edit', 'admin')}
_AGGREGATES = {'view': AGGREGATE_TO_VIEW, 'edit': AGGREGATE_TO_EDIT, 'admin': AGGREGATE_TO_ADMIN}
# The verbs a resource request can carry (k8s.io/apiserver RequestInfo) that ABAC's readonly:false allows.
WRITE_VERBS = frozenset(_RW)
READ_VERBS_SET = frozenset(_R)
# Verbs beyond the CRUD ones that exist on namespaced resources and that ABAC's readonly:false would
# also allow (Kubernetes docs "Using RBAC Authorization": escalate/bind on roles, impersonate on
# serviceaccounts). A write line needs the level to hold these too: ABAC admin never gets
# escalate/bind, which would let a tenant write itself a Role above the admin ClusterRole.
SPECIAL_VERBS = {('rbac.authorization.k8s.io', 'roles'): frozenset(('bind', 'escalate')),
                 ('', 'serviceaccounts'): frozenset(('impersonate',))}


def level_rules(level):
    """The upstream rules of ClusterRole ``level`` (view, edit, admin): ((apiGroup, resources, verbs), ...)."""
    return tuple(rule for part in LEVEL_AGGREGATES[level] for rule in _AGGREGATES[part])


def level_grants(level):
    """{(apiGroup, 'resource' or 'resource/subresource'): frozenset(verbs)} of ClusterRole ``level``."""
    grants = {}
    for group, resources, verbs in level_rules(level):
        for resource in resources:
            grants[(group, resource)] = grants.get((group, resource), frozenset()) | frozenset(verbs)
    return grants


def abac_resources(level):
    """[(apiGroup, resource, readonly)] ABAC lines for ``level``, derived from the upstream ClusterRole.

    ABAC (pkg/auth/authorizer/abac/abac.go) matches apiGroup and resource exactly but ignores the
    subresource, and knows only readonly (get/list/watch) or every verb. So a resource gets a
    write line only when the level has every verb that exists on it (CRUD plus SPECIAL_VERBS), a
    readonly line when it has get/list/watch, and nothing otherwise (least privilege: create-only
    grants such as pods/eviction and localsubjectaccessreviews are left out).
    """
    lines = []
    for (group, resource), verbs in sorted(level_grants(level).items()):
        if '/' in resource:
            continue
        if WRITE_VERBS | READ_VERBS_SET | SPECIAL_VERBS.get((group, resource), frozenset()) <= verbs:
            lines.append((group, resource, False))
        elif READ_VERBS_SET <= verbs:
            lines.append((group, resource, True))
    return lines


def webhook_resources(level):
    """{resource: sorted verbs} for a k8s-keystone-auth v2 policy (resource names only).

    k8s-keystone-auth (pkg/identity/keystone/authorizer.go, resourcePermissionAllowed) compares the
    resource name and verb only, not the API group or the subresource. A name gets the verbs that
    the level grants on it in EVERY API group where the ClusterRole names it (least privilege).
    """
    by_name = {}
    for (_group, resource), verbs in level_grants(level).items():
        if '/' in resource:
            continue
        by_name.setdefault(resource, []).append(verbs)
    return {name: sorted(frozenset.intersection(*sets)) for name, sets in sorted(by_name.items())}


class TenancyError(Exception):
    """Bad rules or data that must stop the run before anything is written (all problems in one)."""


# Names Kubernetes or kubeadm give meaning to: a Keystone user or group with such a name must never
# reach a binding or policy (system:masters is cluster-admin; kubeadm:cluster-admins is bound to
# cluster-admin by kubeadm since v1.29, cmd/kubeadm/app/phases/kubeconfig). Refused everywhere.
RESERVED_PREFIXES = ('system:', 'kubeadm:')


def reserved_name(name):
    return str(name).lower().startswith(RESERVED_PREFIXES)


def join_problems(problems):
    if len(problems) == 1:
        return problems[0]
    return '%d problems (nothing was written):\n- %s' % (len(problems), '\n- '.join(problems))


# --------------------------------------------------------------------------- data
class Project:
    __slots__ = ('id', 'name', 'domain_id', 'domain_name', 'enabled', 'is_domain', 'domain_enabled', 'parent_id')

    def __init__(self, id, name, domain_id, domain_name=None, enabled=True, is_domain=False, domain_enabled=True,
                 parent_id=None):
        self.id = id
        self.name = name
        self.domain_id = domain_id
        self.domain_name = domain_name if domain_name is not None else domain_id
        self.enabled = enabled
        self.is_domain = is_domain
        self.domain_enabled = domain_enabled
        self.parent_id = parent_id  # the parent project, or the domain for a top-level project

    def describe(self):
        return "project '%s' (id %s, domain %s)" % (self.name, self.id, self.domain_name)


class User:
    __slots__ = ('id', 'name', 'domain_id', 'enabled')

    def __init__(self, id, name, domain_id, enabled=True):
        self.id = id
        self.name = name
        self.domain_id = domain_id
        self.enabled = enabled


class Group:
    """A Keystone group: k8s-keystone-auth puts its NAME into the user's Kubernetes groups."""
    __slots__ = ('id', 'name', 'domain_id')

    def __init__(self, id, name, domain_id):
        self.id = id
        self.name = name
        self.domain_id = domain_id


class Assignment:
    """One effective assignment of a role to a user on a project (already resolved)."""
    __slots__ = ('user_id', 'project_id', 'role')

    def __init__(self, user_id, project_id, role):
        self.user_id = user_id
        self.project_id = project_id
        self.role = role


class Snapshot:
    """What the converter needs from Keystone."""

    def __init__(self, projects, users, assignments, roles, quotas=None, groups=(), disabled_domains=(), notes=()):
        self.projects = list(projects)
        self.users = {u.id: u for u in users}  # ALL users of ALL domains, enabled or not
        self.assignments = list(assignments)
        self.roles = set(roles)
        self.quotas = quotas or {}
        self.groups = list(groups)  # ALL groups of ALL domains
        self.disabled_domains = set(disabled_domains)  # IDs of disabled domains
        self.notes = list(notes)  # how the snapshot was read, when it matters (become plan warnings)


# --------------------------------------------------------------------------- rules
class Rules:
    """Validated mapping rules (the module's options, or the CLI's config file)."""

    def __init__(self, role_mapping=None, skip_projects=None, namespace_format='{name}', namespace_prefix='',
                 namespace_overrides=None, project_group_permission=None, level_cluster_roles=None,
                 include_disabled=False, sticky_namespaces=True, protected_namespaces=None,
                 keystone_auth_sync_data_types=None, abac_discovery=False):
        self.role_mapping = dict(DEFAULT_ROLE_MAPPING if role_mapping is None else role_mapping)
        self.skip_projects = list(DEFAULT_SKIP_PROJECTS if skip_projects is None else skip_projects)
        self.namespace_format = namespace_format
        self.namespace_prefix = namespace_prefix or ''
        self.namespace_overrides = dict(namespace_overrides or {})
        self.project_group_permission = project_group_permission or None
        self.level_cluster_roles = {lvl: lvl for lvl in LEVELS}
        self.level_cluster_roles.update(level_cluster_roles or {})
        self.include_disabled = include_disabled
        self.sticky_namespaces = sticky_namespaces
        self.protected_namespaces = sorted(set(PROTECTED_NAMESPACES) | set(protected_namespaces or ()))
        self.keystone_auth_sync_data_types = list(keystone_auth_sync_data_types or [])
        self.abac_discovery = abac_discovery
        self.validate()

    def validate(self):
        """Every problem of the rules at once (one TenancyError listing them all)."""
        errors = []
        if not self.role_mapping:
            errors.append('role_mapping is empty: no Keystone role would grant anything')
        for role, level in sorted(self.role_mapping.items()):
            if level not in LEVELS:
                errors.append("role_mapping maps Keystone role '%s' to unknown permission level '%s' "
                              "(known levels: %s)" % (role, level, ', '.join(LEVELS)))
        if self.project_group_permission is not None and self.project_group_permission not in LEVELS:
            errors.append("project_group_permission '%s' is not a permission level (known: %s, or empty)"
                          % (self.project_group_permission, ', '.join(LEVELS)))
        unknown = sorted(set(self.level_cluster_roles) - set(LEVELS))
        if unknown:
            errors.append('level_cluster_roles has unknown levels: %s (known: %s)'
                          % (', '.join(unknown), ', '.join(LEVELS)))
        for level, cluster_role in sorted(self.level_cluster_roles.items()):
            if cluster_role == 'cluster-admin' or reserved_name(str(cluster_role)):
                errors.append("level_cluster_roles.%s = '%s': cluster-admin and system: roles are never "
                              "granted by tenancy (nor kubeadm: ones)" % (level, cluster_role))
        fields = re.findall(r'{([^{}]*)}', self.namespace_format)
        bad = [f for f in fields if f not in NAMESPACE_FORMAT_FIELDS]
        if bad or not ({'name', 'id'} & set(fields)):
            errors.append("namespace_format '%s' must use {name} or {id} and only these fields: %s"
                          % (self.namespace_format, ', '.join('{%s}' % f for f in NAMESPACE_FORMAT_FIELDS)))
        for data_type in self.keystone_auth_sync_data_types:
            if data_type not in ('projects', 'role_assignments'):
                errors.append("keystone_auth_sync_data_types: unknown type '%s' (projects, role_assignments)"
                              % data_type)
        if self.keystone_auth_sync_data_types and (self.namespace_format != '{id}' or self.namespace_prefix):
            errors.append("keystone_auth_sync_data_types needs namespace_format '{id}' and no prefix, so "
                          "that k8s-keystone-auth (namespace-format %i) and this converter name namespaces "
                          "alike")
        for key, name in sorted(self.namespace_overrides.items()):
            if not DNS1123_LABEL.match(str(name)) or len(name) > NAME_MAX:
                errors.append("namespace_overrides['%s'] = '%s' is not a DNS-1123 label" % (key, name))
        if errors:
            raise TenancyError(join_problems(errors))

    def skips(self, project):
        """The pattern that excludes this project, or None."""
        candidates = (project.name, project.id, '%s/%s' % (project.domain_name, project.name))
        for pattern in self.skip_projects:
            for value in candidates:
                if value is not None and fnmatch.fnmatchcase(value, pattern):
                    return pattern
        return None


# --------------------------------------------------------------------------- naming
def dns1123(text):
    """Lower-case, [a-z0-9-] only, no leading/trailing/double dashes."""
    text = re.sub(r'[^a-z0-9-]+', '-', str(text).lower())
    text = re.sub(r'-{2,}', '-', text)
    return text.strip('-')


def namespace_name(project, rules):
    """The namespace a project maps to by the format rule (before overrides and stickiness).

    Stable: depends only on the project's name/ID/domain and the rules. Names longer than 63
    characters are cut and get a suffix from the project ID, so distinct projects stay distinct.
    """
    raw = rules.namespace_format.format(name=project.name, id=project.id, domain=project.domain_name,
                                        domain_id=project.domain_id)
    name = dns1123(rules.namespace_prefix + raw)
    if not name:
        name = dns1123(rules.namespace_prefix + 'p-' + project.id)
    if len(name) > NAME_MAX:
        digest = hashlib.sha256(project.id.encode('utf-8')).hexdigest()[:8]
        name = name[:NAME_MAX - 9].rstrip('-') + '-' + digest
    if not name[0].isalpha() and not name[0].isdigit():  # pragma: no cover - dns1123 strips dashes
        name = 'p' + name
    return name


# --------------------------------------------------------------------------- plan
class NamespacePlan:
    def __init__(self, name, project):
        self.name = name
        self.project = project
        self.users = {}  # k8s user name -> level
        self.roles = {}  # k8s user name -> sorted Keystone roles (for reports)
        self.quota = None


class Plan:
    def __init__(self):
        self.namespaces = {}  # name -> NamespacePlan
        self.skipped = []  # (project, reason)
        self.orphaned = []  # namespace names whose project is gone (from previous output)
        self.warnings = []

    def namespace_for_project(self, project_id):
        for ns in self.namespaces.values():
            if ns.project.id == project_id:
                return ns
        return None


def _describe_group(group):
    return "Keystone group '%s' (id %s, domain %s)" % (group.name, group.id, group.domain_id)


def _and(items):
    items = list(items)
    return items[0] if len(items) == 1 else '%s and %s' % (', '.join(items[:-1]), items[-1])


def build_plan(snapshot, rules, previous=None):
    """Map a Snapshot to a Plan. ``previous`` is {project_id: namespace} from earlier output.

    Every problem (unknown roles, reserved group names, namespace collisions, protected names,
    project names that look like another project's ID) is collected and raised together in one
    TenancyError, before anything is written.
    """
    previous = dict(previous or {})
    plan = Plan()
    plan.warnings.extend(snapshot.notes)
    problems = []

    unknown_roles = sorted(set(rules.role_mapping) - snapshot.roles)
    if unknown_roles:
        problems.append('role_mapping names Keystone role(s) that do not exist: %s' % ', '.join(unknown_roles))

    # k8s-keystone-auth (pkg/identity/keystone/authenticator.go AuthenticateToken, v1.31.2 to v1.36.0)
    # adds the NAME of every Keystone group of the user to the user's Kubernetes groups.
    for group in sorted(snapshot.groups, key=lambda g: (g.name, g.id)):
        if reserved_name(group.name):
            problems.append("%s: k8s-keystone-auth hands Keystone group names to Kubernetes as groups, and "
                            "system:/kubeadm: groups are Kubernetes' own (system:masters is cluster-admin); "
                            "rename the Keystone group" % _describe_group(group))

    by_name = {}
    collisions = {}
    for project in sorted(snapshot.projects, key=lambda p: (p.domain_name or '', p.name, p.id)):
        if project.is_domain:
            continue
        pattern = rules.skips(project)
        if pattern is not None:
            plan.skipped.append((project, "matches skip pattern '%s'" % pattern))
            continue
        if not project.domain_enabled and not rules.include_disabled:
            plan.skipped.append((project, 'domain disabled'))
            continue
        if not project.enabled and not rules.include_disabled:
            plan.skipped.append((project, 'disabled'))
            continue
        name = (rules.namespace_overrides.get(project.id)
                or rules.namespace_overrides.get(project.name)
                or (previous.get(project.id) if rules.sticky_namespaces else None)
                or namespace_name(project, rules))
        if name in rules.protected_namespaces:
            problems.append("%s maps to the protected namespace '%s'; skip the project or give it an "
                            "override" % (project.describe(), name))
            continue
        if name in by_name:
            collisions.setdefault(name, [by_name[name].project]).append(project)
            continue
        by_name[name] = NamespacePlan(name, project)
    for name, projects in sorted(collisions.items()):
        problems.append("namespace name collision: %s %s map to namespace '%s'; add a namespace_overrides entry "
                        "or change namespace_format" % (_and([p.describe() for p in projects]),
                                                        'both' if len(projects) == 2 else 'all', name))

    # k8s-keystone-auth matches a policy's 'projects' against the token's project ID AND name
    # (authorizer.go Authorize, userProjects): a project named like another project's ID would
    # receive that project's rights.
    project_ids = {p.id for p in snapshot.projects}
    for project in sorted(snapshot.projects, key=lambda p: (p.name, p.id)):
        if project.name in project_ids and project.name != project.id:
            problems.append("%s is named like another project's ID; k8s-keystone-auth matches projects by ID or "
                            "name, so rename it" % project.describe())
    # The project group (the project ID, added by k8s-keystone-auth) must not be a Keystone group name.
    if rules.project_group_permission:
        bound = {ns.project.id for ns in by_name.values()}
        for group in sorted(snapshot.groups, key=lambda g: (g.name, g.id)):
            if group.name in bound:
                problems.append("%s is named like the ID of a project whose members get a project-group binding; "
                                "its members would get it too: rename the group" % _describe_group(group))
    if problems:
        raise TenancyError(join_problems(problems))

    plan.namespaces = by_name
    by_project = {ns.project.id: ns for ns in by_name.values()}

    # k8s-keystone-auth presents the Keystone user NAME (not domain-qualified) to Kubernetes: a
    # name is a subject only when exactly one user of all domains, enabled or not, carries it.
    ids_by_name = {}
    for u in snapshot.users.values():
        ids_by_name.setdefault(u.name, set()).add(u.id)
    ambiguous = set()
    for a in snapshot.assignments:
        ns = by_project.get(a.project_id)
        level = rules.role_mapping.get(a.role)
        user = snapshot.users.get(a.user_id)
        if ns is None or level is None or user is None:
            continue
        if (not user.enabled or user.domain_id in snapshot.disabled_domains) and not rules.include_disabled:
            continue
        if reserved_name(user.name):
            _warn_once(plan, "Keystone user '%s' (id %s) is ignored: Kubernetes reserves the system: and "
                       "kubeadm: prefixes" % (user.name, user.id))
            continue
        if len(ids_by_name[user.name]) > 1:
            ambiguous.add(user.name)
            continue
        current = ns.users.get(user.name)
        if current is None or LEVEL_RANK[level] > LEVEL_RANK[current]:
            ns.users[user.name] = level
        ns.roles.setdefault(user.name, set()).add(a.role)
    for name in sorted(ambiguous):
        plan.warnings.append("Keystone users %s share the name '%s': Kubernetes sees only the name, so nobody "
                             "with that name gets access" % (', '.join(sorted(ids_by_name[name])), name))

    for project_id, quota in snapshot.quotas.items():
        ns = by_project.get(project_id)
        if ns is not None:
            ns.quota = quota_hard(quota)

    current = {ns.project.id for ns in by_name.values()}
    current_names = set(by_name)
    plan.orphaned = sorted(ns for pid, ns in previous.items() if pid not in current and ns not in current_names)
    return plan


def _warn_once(plan, message):
    if message not in plan.warnings:
        plan.warnings.append(message)


# --------------------------------------------------------------------------- quotas
# OpenStack quota -> ResourceQuota.spec.hard; -1 (unlimited) and missing values add nothing.
QUOTA_MAPPING = (
    # (service, OpenStack quota, Kubernetes resources, unit suffix)
    ('compute', 'cores', ('requests.cpu', 'limits.cpu'), ''),
    ('compute', 'ram', ('requests.memory', 'limits.memory'), 'Mi'),
    ('compute', 'instances', ('pods',), ''),
    ('volume', 'volumes', ('persistentvolumeclaims',), ''),
    ('volume', 'gigabytes', ('requests.storage',), 'Gi'),
)


def quota_hard(quota):
    """{'compute': {...}, 'volume': {...}} OpenStack quota sets -> ResourceQuota hard limits."""
    hard = {}
    for service, key, resources, unit in QUOTA_MAPPING:
        value = (quota.get(service) or {}).get(key)
        if value is None or int(value) < 0:
            continue
        for resource in resources:
            hard[resource] = '%d%s' % (int(value), unit)
    return hard or None


# --------------------------------------------------------------------------- YAML
_PLAIN = re.compile(r'^[A-Za-z_./][A-Za-z0-9_./-]*$')
_YAML_WORDS = {'y', 'yes', 'n', 'no', 'true', 'false', 'on', 'off', 'null', '~'}


def _scalar(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text)


def _block_safe(value):
    """Multi-line text a literal block keeps exactly (else it is written as a JSON string)."""
    return (isinstance(value, str) and '\n' in value and not value.endswith('\n\n')
            and not value.startswith((' ', '\n')) and '\r' not in value and '\t' not in value)


def to_yaml(data, indent=0):
    """A small deterministic YAML emitter (dicts keep their order) that needs no PyYAML on targets."""
    pad = ' ' * indent
    lines = []
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, (dict, list)) and value:
                lines.append('%s%s:' % (pad, _scalar(key)))
                lines.append(to_yaml(value, indent + 2 if isinstance(value, dict) else indent))
            elif _block_safe(value):
                lines.append('%s%s: %s' % (pad, _scalar(key), '|' if value.endswith('\n') else '|-'))
                lines.extend((pad + '  ' + line) if line else '' for line in value.rstrip('\n').split('\n'))
            else:
                lines.append('%s%s: %s' % (pad, _scalar(key), '{}' if value == {} else '[]' if value == []
                                           else _scalar(value)))
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, (dict, list)) and item:
                inner = to_yaml(item, indent + 2).split('\n')
                lines.append('%s- %s' % (pad, inner[0][indent + 2:]))
                lines.extend(inner[1:])
            else:
                lines.append('%s- %s' % (pad, _scalar(item)))
    else:
        lines.append(pad + _scalar(data))
    return '\n'.join(lines)


def yaml_documents(objects):
    return ''.join('---\n%s\n' % to_yaml(obj) for obj in objects)


# --------------------------------------------------------------------------- renderers
def _sorted_namespaces(plan):
    return [plan.namespaces[name] for name in sorted(plan.namespaces)]


# Non-resource paths of the bootstrap ClusterRole system:discovery (same upstream file as above),
# which RBAC already grants to system:authenticated in every mode of this collection (RBAC stays
# on next to ABAC). Only with abac_discovery, for API servers that run ABAC without RBAC.
DISCOVERY_PATHS = ('/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*',
                   '/readyz', '/version', '/version/')


def abac_policies(plan, rules):
    """The ABAC Policy specs (dicts) of a plan: explicit apiGroup + resource lines per level."""
    policies = []
    if rules.abac_discovery:
        policies.extend({'group': 'system:authenticated', 'nonResourcePath': path, 'readonly': True}
                        for path in DISCOVERY_PATHS)
    lines = {level: abac_resources(level) for level in LEVELS}
    for ns in _sorted_namespaces(plan):
        subjects = []
        if rules.project_group_permission:
            subjects.append(('group', ns.project.id, rules.project_group_permission))
        subjects.extend(('user', user, ns.users[user]) for user in sorted(ns.users))
        for kind, name, level in subjects:
            for group, resource, readonly in lines[level]:
                policies.append({kind: name, 'namespace': ns.name, 'apiGroup': group, 'resource': resource,
                                 'readonly': readonly})
    return policies


def abac_line(spec):
    """One line of the ABAC policy file: a JSON Policy, keys sorted, no spaces."""
    return json.dumps({'apiVersion': ABAC_API_VERSION, 'kind': 'Policy', 'spec': spec},
                      sort_keys=True, separators=(',', ':')) + '\n'


def render_abac(plan, rules):
    """ABAC policy file: one JSON Policy per line (apiserver --authorization-policy-file).

    Byte for byte ``''.join(abac_line(spec) for spec in abac_policies(plan, rules))`` (a unit test
    holds it to that), but assembled from pre-encoded parts: a large cloud has a million lines, and
    encoding each as a dict took longer than reading Keystone.
    """
    dumps = json.dumps
    out = []
    if rules.abac_discovery:
        out.extend(abac_line({'group': 'system:authenticated', 'nonResourcePath': path, 'readonly': True})
                   for path in DISCOVERY_PATHS)
    head = '{"apiVersion":%s,"kind":"Policy","spec":{"apiGroup":' % dumps(ABAC_API_VERSION)
    # Keys in sorted order: apiGroup, group, namespace, readonly, resource, user.
    parts = {level: [(dumps(group), 'true' if readonly else 'false', dumps(resource))
                     for group, resource, readonly in abac_resources(level)] for level in LEVELS}
    for ns in _sorted_namespaces(plan):
        namespace = dumps(ns.name)
        if rules.project_group_permission:
            group_name = dumps(ns.project.id)
            out.extend('%s%s,"group":%s,"namespace":%s,"readonly":%s,"resource":%s}}\n'
                       % (head, api_group, group_name, namespace, readonly, resource)
                       for api_group, readonly, resource in parts[rules.project_group_permission])
        for user in sorted(ns.users):
            user_name = dumps(user)
            out.extend('%s%s,"namespace":%s,"readonly":%s,"resource":%s,"user":%s}}\n'
                       % (head, api_group, namespace, readonly, resource, user_name)
                       for api_group, readonly, resource in parts[ns.users[user]])
    return ''.join(out)


def _metadata(name, namespace=None, project=None, extra_labels=None):
    labels = {LABEL_MANAGED_BY: MANAGED_BY}
    if project is not None and LABEL_VALUE.match(project.id) and len(project.id) <= NAME_MAX:
        labels[LABEL_PROJECT_ID] = project.id
    labels.update(extra_labels or {})
    meta = {'name': name}
    if namespace:
        meta['namespace'] = namespace
    meta['labels'] = dict(sorted(labels.items()))
    if project is not None:
        meta['annotations'] = {ANNOTATION_PROJECT_DOMAIN: project.domain_name,
                               LABEL_PROJECT_ID: project.id,
                               ANNOTATION_PROJECT_NAME: project.name}
    return meta


def namespace_objects(ns, rules):
    """Namespace, RoleBindings (one per level, plus the project group) and ResourceQuota."""
    objects = [{'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': _metadata(ns.name, project=ns.project)}]
    by_level = {}
    for user, level in ns.users.items():
        by_level.setdefault(level, []).append(user)
    for level in LEVELS:
        users = sorted(by_level.get(level, []))
        if not users:
            continue
        objects.append(_role_binding(ns, 'kos-tenancy-%s' % level, rules.level_cluster_roles[level],
                                     [{'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'User', 'name': u}
                                      for u in users]))
    if rules.project_group_permission:
        objects.append(_role_binding(ns, 'kos-tenancy-project-group',
                                     rules.level_cluster_roles[rules.project_group_permission],
                                     [{'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'Group',
                                       'name': ns.project.id}]))
    if ns.quota:
        objects.append({'apiVersion': 'v1', 'kind': 'ResourceQuota',
                        'metadata': _metadata('kos-tenancy-quota', ns.name, ns.project),
                        'spec': {'hard': dict(sorted(ns.quota.items()))}})
    return objects


def _role_binding(ns, name, cluster_role, subjects):
    return {'apiVersion': 'rbac.authorization.k8s.io/v1', 'kind': 'RoleBinding',
            'metadata': _metadata(name, ns.name, ns.project),
            'roleRef': {'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'ClusterRole', 'name': cluster_role},
            'subjects': subjects}


def namespace_file_name(namespace):
    return '%s%s.yaml' % (NAMESPACE_FILE_PREFIX, namespace)


def render_namespace_files(plan, rules, prune=False, previous=None):
    """{file name: text} for the manifests directory; orphans keep a bare Namespace unless pruned."""
    files = {}
    for ns in _sorted_namespaces(plan):
        files[namespace_file_name(ns.name)] = (FILE_MARKER + ns.project.id + '\n'
                                               + yaml_documents(namespace_objects(ns, rules)))
    if not prune:
        project_of = {name: pid for pid, name in (previous or {}).items()}
        for name in plan.orphaned:
            meta = _metadata(name, extra_labels={LABEL_ORPHANED: 'true'})
            files[namespace_file_name(name)] = (FILE_MARKER + project_of.get(name, 'unknown') + ' (orphaned)\n'
                                                + yaml_documents([{'apiVersion': 'v1', 'kind': 'Namespace',
                                                                   'metadata': meta}]))
    return files


def _webhook_permissions(namespace, level):
    """resource_permissions of one level: '<ns>/[<resources>]' -> verbs, resources grouped by verb set.

    The key syntax "<ns>/['a', 'b']" is getAllowed's list form (authorizer.go); verbs are exact.
    """
    by_verbs = {}
    for resource, verbs in webhook_resources(level).items():
        by_verbs.setdefault(tuple(verbs), []).append(resource)
    return {'%s/%s' % (namespace, str(sorted(names)).replace('"', "'")): list(verbs)
            for verbs, names in sorted(by_verbs.items())}


def keystone_auth_policy(plan, rules):
    """k8s-keystone-auth authorization policy (version 2): project + Keystone role -> namespace rights.

    One rule per (project, Keystone role): a rule's 'roles' must ALL be held by the token
    (authorizer.go Authorize: userRoles.IsSuperset(policyRoles)), so roles are never listed
    together. No nonresource_permissions: discovery comes from RBAC's system:discovery binding,
    and k8s-keystone-auth compares non-resource paths exactly (no prefix match).
    """
    policy = []
    for ns in _sorted_namespaces(plan):
        for role in sorted(rules.role_mapping):
            policy.append({'users': {'projects': [ns.project.id], 'roles': [role]},
                           'resource_permissions': _webhook_permissions(ns.name, rules.role_mapping[role])})
    return policy


def _json_list(items):
    """A JSON list with one compact item per line: readable, and diffs show whole rules."""
    if not items:
        return '[]\n'
    return '[\n' + ',\n'.join('  ' + json.dumps(i, sort_keys=True) for i in items) + '\n]\n'


def render_keystone_auth_configmaps(plan, rules, namespace='kube-system', policy_name='k8s-auth-policy',
                                    sync_name='keystone-sync-policy'):
    """Two ConfigMaps: the authorization policy and the sync configuration of k8s-keystone-auth."""
    skipped = sorted(plan.skipped, key=lambda item: (item[0].name, item[0].id))
    sync = {
        'data-types-to-sync': sorted(rules.keystone_auth_sync_data_types),
        'namespace-format': '%i',
        'projects-blacklist': sorted(p.id for p, _reason in skipped),
        'projects-name-blacklist': sorted({p.name for p, _reason in skipped}),
        'role-mappings': [],
    }
    policy_cm = {'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': _metadata(policy_name, namespace),
                 'data': {'policies': _json_list(keystone_auth_policy(plan, rules))}}
    sync_cm = {'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': _metadata(sync_name, namespace),
               'data': {'syncConfig': to_yaml(sync) + '\n'}}
    return yaml_documents([policy_cm, sync_cm])


# --------------------------------------------------------------------------- files
def read_previous(manifests_dir):
    """{project_id: namespace} and the set of our file names, from an earlier run's manifests directory.

    Only files whose first line is our marker count; anything else in the directory is left alone.
    """
    previous, ours = {}, set()
    if not manifests_dir or not os.path.isdir(manifests_dir):
        return previous, ours
    for entry in sorted(os.listdir(manifests_dir)):
        if not (entry.startswith(NAMESPACE_FILE_PREFIX) and entry.endswith('.yaml')):
            continue
        with open(os.path.join(manifests_dir, entry), encoding='utf-8') as handle:
            first = handle.readline()
        if not first.startswith(FILE_MARKER):
            continue  # not ours: never touched
        ours.add(entry)
        fields = first[len(FILE_MARKER):].split()
        if fields:
            previous[fields[0]] = entry[len(NAMESPACE_FILE_PREFIX):-len('.yaml')]
    return previous, ours


class FileChange:
    def __init__(self, path, before, after):
        self.path = path
        self.before = before  # None: absent
        self.after = after  # None: to delete

    @property
    def action(self):
        if self.before is None:
            return 'create'
        if self.after is None:
            return 'delete'
        return 'update'

    def diff(self):
        return {'before': self.before or '', 'after': self.after or '',
                'before_header': self.path if self.before is not None else '/dev/null',
                'after_header': self.path if self.after is not None else '/dev/null'}


def _read(path):
    try:
        with open(path, encoding='utf-8') as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def plan_files(desired, managed=()):
    """Changes needed so that ``desired`` {path: text} is on disk; ``managed`` paths not desired are deleted."""
    changes = []
    for path in sorted(desired):
        before = _read(path)
        if before != desired[path]:
            changes.append(FileChange(path, before, desired[path]))
    for path in sorted(set(managed) - set(desired)):
        before = _read(path)
        if before is not None:
            changes.append(FileChange(path, before, None))
    return changes


def write_files(changes, mode=0o644):
    """Apply changes atomically (temp file + rename in the same directory)."""
    for change in changes:
        if change.after is None:
            os.unlink(change.path)
            continue
        directory = os.path.dirname(os.path.abspath(change.path))
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix='.kos-tenancy-')
        try:
            with os.fdopen(fd, 'w', encoding='utf-8') as handle:
                handle.write(change.after)
            os.chmod(tmp, mode)
            os.replace(tmp, change.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


# --------------------------------------------------------------------------- Keystone
# Keystone caps every list at [DEFAULT] max_db_limit (1000) and, unless the request names a
# limit, drops the rest WITHOUT a next link. Asking for pages makes it return 'next' links,
# which the reader follows, so large clouds are read whole.
PAGE_SIZE = 1000
# Group member lists are read by a bounded pool of parallel requests (one request per group
# that holds a relevant assignment; Keystone has no bulk membership call).
MEMBERSHIP_WORKERS = 4
INHERITED_TO = 'OS-INHERIT:inherited_to'
# Where effective assignments come from: 'converter' resolves raw assignments here (the default),
# 'keystone' asks Keystone's GET /v3/role_assignments?effective (slower, same result).
EFFECTIVE_SOURCES = ('converter', 'keystone')


def implied_closure(role_id, implies, cache=None):
    """Every role that ``role_id`` gives, itself included, following implication chains.

    Keystone 30 keystone/assignment/core.py Manager.add_implied_roles: a ref of a prior role is
    copied for each implied role, and the copies are checked again (chains), cycles skipped.
    ``implies`` is {prior role id: {implied role ids}} (GET /v3/role_inferences).
    """
    if cache is not None and role_id in cache:
        return cache[role_id]
    seen, todo = {role_id}, [role_id]
    while todo:
        for implied in implies.get(todo.pop(), ()):
            if implied not in seen:
                seen.add(implied)
                todo.append(implied)
    result = frozenset(seen)
    if cache is not None:
        cache[role_id] = result
    return result


def relevant_roles(wanted, implies):
    """Role IDs whose assignments can grant a wanted role: the wanted ones and every prior role
    whose implication chain reaches one of them."""
    cache = {}
    roles = set(wanted)
    for prior in implies:
        if implied_closure(prior, implies, cache) & set(wanted):
            roles.add(prior)
    return roles


def resolve_effective(raw_assignments, members, implies, projects, wanted_roles=None):
    """Keystone's effective (user, project, role) set, computed from raw assignments.

    Follows Keystone 30 keystone/assignment/core.py (Manager.list_role_assignments with
    effective=True and no filter, _list_effective_role_assignments, _expand_indirect_assignment,
    add_implied_roles, _strip_domain_roles) and the SQL resource driver it calls:

    - a group assignment holds for every member of the group (identity list_users_in_group:
      every member, enabled or not);
    - an assignment inherited to projects (``scope['OS-INHERIT:inherited_to'] == 'projects'``)
      on a domain holds on every project whose domain_id is that domain (list_projects_in_domain,
      nested ones included); on a project, on every project below it but not on itself
      (list_projects_in_subtree, by parent_id);
    - a non-inherited project assignment holds on that project; domain- and system-scoped
      assignments hold on no project (they are no project rows of the effective listing);
    - every role implies the roles of its implication chain (cycles stop);
    - domain-specific roles only imply: pass ``wanted_roles`` (role IDs to report, e.g. the
      global roles, or the mapped ones) to drop the others, as _strip_domain_roles does.

    ``raw_assignments``: rows of GET /v3/role_assignments (not effective); ``members``:
    {group id: user ids}; ``implies``: {prior role id: implied role ids}; ``projects``: Project
    objects (id, domain_id, parent_id, is_domain). Returns a set of (user id, project id, role id).
    """
    children, in_domain = {}, {}
    for project in projects:
        if project.parent_id:
            children.setdefault(project.parent_id, []).append(project.id)
        if not project.is_domain:
            in_domain.setdefault(project.domain_id, []).append(project.id)

    def subtree(project_id):
        found, todo, seen = [], list(children.get(project_id, ())), {project_id}
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue  # Keystone stops on a circular hierarchy; never expand one twice
            seen.add(pid)
            found.append(pid)
            todo.extend(children.get(pid, ()))
        return found

    closure_cache, subtree_cache = {}, {}
    wanted = None if wanted_roles is None else set(wanted_roles)
    effective = set()
    for row in raw_assignments:
        scope = row.get('scope') or {}
        role_id = (row.get('role') or {}).get('id')
        roles = implied_closure(role_id, implies, closure_cache)
        if wanted is not None:
            roles = roles & wanted
        if not roles:
            continue
        inherited = scope.get(INHERITED_TO) == 'projects'
        if 'project' in scope:
            target = scope['project']['id']
            if inherited:
                if target not in subtree_cache:
                    subtree_cache[target] = subtree(target)
                project_ids = subtree_cache[target]
            else:
                project_ids = (target,)
        elif 'domain' in scope and inherited:
            project_ids = in_domain.get(scope['domain']['id'], ())
        else:
            continue  # domain or system scope: no project row
        if row.get('user'):
            user_ids = (row['user']['id'],)
        elif row.get('group'):
            user_ids = members.get(row['group']['id'], ())
        else:
            continue
        for user_id in user_ids:
            for project_id in project_ids:
                for role in roles:
                    effective.add((user_id, project_id, role))
    return effective


def _get_json(identity, url, params):
    """GET through the identity proxy, which does not raise on HTTP errors (openstacksdk proxies
    pass raise_exc=False): an error status becomes openstacksdk's HttpException here, so an error
    body is never read as an empty list."""
    response = identity.get(url, params=params)
    if response.status_code >= 400:
        from openstack import exceptions as sdk_exceptions
        sdk_exceptions.raise_from_response(response)
    return response.json()


def _status(exc):
    return getattr(exc, 'status_code', None) or getattr(exc, 'http_status', None)


def _paged(identity, path, key, params=None):
    """Every item of a Keystone list, page by page (links.next), as plain dicts.

    Plain JSON rather than openstacksdk resources: building one resource object per row cost
    more than Keystone's own work for the 20,000 assignments of the benchmark. A list Keystone
    cut without a next link stops the run instead of passing on part of it.
    """
    query = dict(params or {})
    query['limit'] = PAGE_SIZE
    url = path
    while url:
        body = _get_json(identity, url, query)
        yield from body.get(key) or ()
        url, query = (body.get('links') or {}).get('next'), None
        if not url and body.get('truncated'):
            raise TenancyError('Keystone cut the list %s at its max_db_limit without a next page; the '
                               'converter will not work on part of it' % path)


def _unpaged(identity, path, key, params=None):
    """A Keystone list that has no pages (role_assignments, role_inferences)."""
    body = _get_json(identity, path, params or {})
    if body.get('truncated'):
        raise TenancyError('Keystone cut the list %s at its max_db_limit; the converter will not work on '
                           'part of it' % path)
    return body.get(key) or []


def read_group_members(identity, group_ids, workers=MEMBERSHIP_WORKERS):
    """{group id: [user ids]}: GET /v3/groups/{id}/users for each group, ``workers`` at a time."""
    group_ids = sorted(set(group_ids))

    def members(group_id):
        try:
            return group_id, [u['id'] for u in _paged(identity, '/groups/%s/users' % group_id, 'users')]
        except Exception as exc:  # noqa: BLE001 - only a vanished group is expected, others re-raised
            if _status(exc) != 404:
                raise
            # Keystone does the same (_expand_indirect_assignment: GroupNotFound -> no users).
            return group_id, []

    return dict(_in_pool(members, group_ids, workers))


def read_implied_roles(identity):
    """{prior role id: set(implied role ids)} and {role id: name} of every role in a rule
    (GET /v3/role_inferences: every implication rule in one call)."""
    implies, names = {}, {}
    for rule in _unpaged(identity, '/role_inferences', 'role_inferences'):
        prior = rule['prior_role']
        names[prior['id']] = prior.get('name')
        for implied in rule.get('implies') or ():
            names[implied['id']] = implied.get('name')
            implies.setdefault(prior['id'], set()).add(implied['id'])
    return implies, names


def read_effective(identity, projects, wanted_roles, workers=MEMBERSHIP_WORKERS, implies=None):
    """{(user id, project id, role id)} of the ``wanted_roles`` (IDs), resolved by the converter.

    Reads the implication rules, ONE raw role-assignment list (GET /v3/role_assignments, no
    effective: Keystone only reads its table) and the members of each group holding a relevant
    assignment; ``projects`` (Project objects with parent_id) give the tree.
    """
    implies = read_implied_roles(identity)[0] if implies is None else implies
    relevant = relevant_roles(wanted_roles, implies)
    raw = [ra for ra in _unpaged(identity, '/role_assignments', 'role_assignments')
           if (ra.get('role') or {}).get('id') in relevant]
    members = read_group_members(identity, [ra['group']['id'] for ra in raw if ra.get('group')], workers)
    return resolve_effective(raw, members, implies, projects, wanted_roles=wanted_roles)


def read_keystone_effective(identity, wanted_roles, include_names=False):
    """{(user id, project id, role id)} of the ``wanted_roles`` from Keystone's own effective listing.

    Without include_names by default: the names come from the lists the reader reads anyway, and
    asking Keystone for them triples the time of this call.
    """
    params = {'effective': 'true'}
    if include_names:
        params['include_names'] = 'true'
    triples = set()
    for ra in _unpaged(identity, '/role_assignments', 'role_assignments', params):
        scope = ra.get('scope') or {}
        if 'project' in scope and ra.get('user') and ra['role']['id'] in wanted_roles:
            triples.add((ra['user']['id'], scope['project']['id'], ra['role']['id']))
    return triples


def read_keystone(conn, role_names, with_quotas=False, project_filter=None, effective='converter',
                  workers=MEMBERSHIP_WORKERS):
    """A Snapshot in a few Keystone calls: paged lists (users and groups per domain), one call per
    mapped role, the implication rules, the raw role assignments and one member list per group
    that holds a relevant assignment (plus 2 per project for quotas).

    ``role_names`` are the Keystone roles the rules map; each is looked up by name (GET
    /roles?name=..., one call each): Keystone 30 ignores the marker when paging /roles, so the
    full role list cannot be read reliably past max_db_limit.

    Effective assignments (groups, inheritance from domains and parent projects, implied roles):
    with ``effective='converter'`` (default) resolved here by resolve_effective from the raw
    assignments, the group members, GET /v3/role_inferences and the project tree;
    with ``effective='keystone'`` read from GET /v3/role_assignments?effective. Both give the
    same set: tests/integration/keystone/test_tenancy_effective_equivalence.py compares them on
    a real Keystone, tests/unit/authz/test_tenancy_property.py on generated data. Keystone's own
    expansion is quadratic in the number of rows (add_implied_roles checks each implied row
    against a list of every row checked so far): minutes at 20,000 assignments.
    """
    if effective not in EFFECTIVE_SOURCES:
        raise TenancyError("effective must be one of %s, not '%s'" % (', '.join(EFFECTIVE_SOURCES), effective))
    identity = conn.identity
    domain_list = list(_paged(identity, '/domains', 'domains'))
    domains = {d['id']: d['name'] for d in domain_list}
    disabled_domains = {d['id'] for d in domain_list if not d.get('enabled', True)}
    projects = [Project(p['id'], p['name'], p.get('domain_id'), domains.get(p.get('domain_id'), p.get('domain_id')),
                        bool(p.get('enabled', True)), bool(p.get('is_domain')),
                        p.get('domain_id') not in disabled_domains, p.get('parent_id'))
                for p in _paged(identity, '/projects', 'projects')]
    role_ids = {r['id']: r['name'] for name in sorted(set(role_names))
                for r in _paged(identity, '/roles', 'roles', {'name': name})}
    roles = set(role_ids.values())
    # ALL users and groups of ALL domains: a user name is a Kubernetes subject only when unique among them.
    # Listed per domain: without a domain filter Keystone lists only the default identity driver's
    # users, and domains with their own backend (LDAP, domain_specific_drivers_enabled) would be missed.
    users, groups = {}, {}
    for domain_id in sorted(domains):
        for u in _paged(identity, '/users', 'users', {'domain_id': domain_id}):
            users[u['id']] = User(u['id'], u['name'], u.get('domain_id'), bool(u.get('enabled', True)))
        for g in _paged(identity, '/groups', 'groups', {'domain_id': domain_id}):
            groups[g['id']] = Group(g['id'], g['name'], g.get('domain_id'))
    users, groups = list(users.values()), list(groups.values())
    notes = []
    implies = None
    if effective == 'converter':
        try:
            implies = read_implied_roles(identity)[0]
        except Exception as exc:  # noqa: BLE001 - only a server error is handled, others re-raised
            if (_status(exc) or 0) < 500:
                raise
            # Keystone 30 answers GET /role_inferences with HTTP 500 (KeyError in
            # keystone/api/role_inferences.py) while a rule names a deleted role: its sqlite backend
            # does not enforce the rule's ON DELETE CASCADE. Its effective listing still works.
            notes.append('Keystone failed to list the implied-role rules (GET /v3/role_inferences: %s); effective '
                         "roles were read from Keystone's own effective listing instead (slower, same result). "
                         'Usually a rule naming a deleted role: delete it (DELETE /v3/roles/PRIOR/implies/IMPLIED)'
                         % exc)
            effective = 'keystone'
    if effective == 'keystone':
        triples = read_keystone_effective(identity, role_ids)
    else:
        triples = read_effective(identity, projects, role_ids, workers, implies=implies)
    assignments = [Assignment(user_id, project_id, role_ids[role_id])
                   for user_id, project_id, role_id in sorted(triples)]
    quotas = {}
    if with_quotas:
        quotas = read_quotas(conn, [p for p in projects if not p.is_domain and
                                    (project_filter is None or project_filter(p))], workers)
    return Snapshot(projects, users, assignments, roles, quotas, groups=groups, disabled_domains=disabled_domains,
                    notes=notes)


def _in_pool(function, items, workers):
    """[function(item) for item in items], at most ``workers`` at a time (threads: the work is waiting)."""
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(function, items))


def read_quotas(conn, projects, workers=MEMBERSHIP_WORKERS):
    """{project_id: {'compute': {...}, 'volume': {...}}} (nova and cinder quota sets; neither has a
    bulk call, so two requests per project, ``workers`` projects at a time)."""
    def one(project):
        compute = conn.compute.get_quota_set(project.id)
        volume = conn.block_storage.get_quota_set(project.id)
        return project.id, {
            'compute': {k: getattr(compute, k, None) for k in ('cores', 'ram', 'instances')},
            'volume': {k: getattr(volume, k, None) for k in ('volumes', 'gigabytes')},
        }

    return dict(_in_pool(one, projects, workers))


# --------------------------------------------------------------------------- one call for both callers
def convert(snapshot, rules, abac_file=None, manifests_dir=None, keystone_auth_file=None, prune=False):
    """Everything but the writing: returns (plan, changes, summary) - raises TenancyError."""
    previous, ours = read_previous(manifests_dir)
    plan = build_plan(snapshot, rules, previous)
    desired = {}
    if abac_file:
        desired[abac_file] = render_abac(plan, rules)
    if keystone_auth_file:
        desired[keystone_auth_file] = render_keystone_auth_configmaps(plan, rules)
    managed = []
    if manifests_dir:
        for name, text in render_namespace_files(plan, rules, prune=prune, previous=previous).items():
            desired[os.path.join(manifests_dir, name)] = text
        managed = [os.path.join(manifests_dir, name) for name in ours]
    changes = plan_files(desired, managed)
    summary = summarize(plan, prune)
    return plan, changes, summary


def summarize(plan, prune=False):
    return {
        'namespaces': {ns.name: {'project_id': ns.project.id, 'project': ns.project.name,
                                 'domain': ns.project.domain_name,
                                 'users': dict(sorted(ns.users.items()))}
                       for ns in _sorted_namespaces(plan)},
        'skipped_projects': [{'id': p.id, 'name': p.name, 'domain': p.domain_name, 'reason': reason}
                             for p, reason in sorted(plan.skipped, key=lambda i: (i[0].name, i[0].id))],
        'orphaned_namespaces': [] if prune else list(plan.orphaned),
        'pruned_namespaces': list(plan.orphaned) if prune else [],
        'warnings': list(plan.warnings),
    }
