"""An authorization evaluator that follows upstream's own matching rules, for the tenancy tests.

Kubernetes' API server and k8s-keystone-auth cannot run here, so the decisions they would take on
the converter's output are computed by a re-implementation of their matching code, each function
naming the upstream file it follows:

- ABAC: kubernetes/kubernetes pkg/auth/authorizer/abac/abac.go (matches, subjectMatches,
  verbMatches, resourceMatches, nonResourceMatches), the stored upstream copy at commit
  11004393201d5c166c115161a6f740f750319bcb (unchanged in substance since v1.6).
- RBAC: kubernetes/kubernetes plugin/pkg/auth/authorizer/rbac/rbac.go (RoleBindings apply only in
  their own namespace, subjects by kind) and pkg/apis/rbac/v1/evaluation_helpers.go (VerbMatches,
  APIGroupMatches, ResourceMatches with "*/sub", ResourceNameMatches), commit
  03bf11a309fd1369f5c2dc7f3b31d63a97a14d66.
- k8s-keystone-auth policy: kubernetes/cloud-provider-openstack pkg/identity/keystone/authorizer.go
  (Authorize, resourcePermissionAllowed, getAllowed, nonResourcePermissionAllowed) at v1.36.0;
  identical in behaviour at v1.31.2 (only context plumbing differs).
- Identities: k8s-keystone-auth pkg/identity/keystone/authenticator.go (AuthenticateToken): user
  name = Keystone user name, groups = Keystone group NAMES + the scoped project ID, extra = token
  roles (implied roles included by Keystone), project ID and name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

READ_ONLY_VERBS = ('get', 'list', 'watch')  # k8s.io/apiserver authorizer.AttributesRecord.IsReadOnly


@dataclass(frozen=True)
class Identity:
    name: str
    groups: tuple = ()
    uid: str = ''
    roles: tuple = ()  # extra alpha.kubernetes.io/identity/roles
    project_id: str = ''
    project_name: str = ''


@dataclass(frozen=True)
class Request:
    verb: str
    namespace: str = ''
    api_group: str = ''
    resource: str = ''
    subresource: str = ''
    name: str = ''
    path: str = ''  # non-resource requests only

    @property
    def is_resource_request(self):
        return bool(self.resource)

    @property
    def read_only(self):
        return self.verb in READ_ONLY_VERBS


# --------------------------------------------------------------------------- ABAC (abac.go)
def abac_subject_matches(spec, ident):
    matched = False
    user = spec.get('user', '')
    if user:
        if user == '*':
            matched = True
        else:
            matched = user == ident.name
            if not matched:
                return False
    group = spec.get('group', '')
    if group:
        if group == '*':
            matched = True
        else:
            matched = group in ident.groups
            if not matched:
                return False
    return matched


def abac_verb_matches(spec, req):
    return req.read_only or not spec.get('readonly', False)


def abac_resource_matches(spec, req):
    if not req.is_resource_request:
        return False
    return (spec.get('namespace', '') in ('*', req.namespace)
            and spec.get('resource', '') in ('*', req.resource)  # the subresource is NOT compared
            and spec.get('apiGroup', '') in ('*', req.api_group))


def abac_non_resource_matches(spec, req):
    if req.is_resource_request:
        return False
    path = spec.get('nonResourcePath', '')
    if path == '*' or path == req.path:
        return True
    return path.endswith('*') and req.path.startswith(path.rstrip('*'))


def abac_specs(text):
    """The specs of an ABAC file: one JSON Policy per line; blank and '#' lines skipped (NewFromFile)."""
    return [json.loads(line)['spec'] for line in text.splitlines() if line.strip() and not line.strip().startswith('#')]


class AbacIndex:
    """The specs of a file grouped by namespace: only a speed-up, abac.go's resourceMatches needs
    namespace '*' or equality, so the other specs can never match a resource request."""

    def __init__(self, text):
        self.specs = abac_specs(text)
        self.by_namespace = {}
        for spec in self.specs:
            self.by_namespace.setdefault(spec.get('namespace', ''), []).append(spec)

    def candidates(self, req):
        if not req.is_resource_request:
            return self.specs
        return self.by_namespace.get(req.namespace, []) + self.by_namespace.get('*', [])


def abac_allows(policy, ident, req):
    """policy: the text of an ABAC file, a list of specs, or an AbacIndex."""
    if isinstance(policy, str):
        specs = abac_specs(policy)
    elif isinstance(policy, AbacIndex):
        specs = policy.candidates(req)
    else:
        specs = policy
    for spec in specs:
        if abac_subject_matches(spec, ident) and abac_verb_matches(spec, req) and (
                abac_resource_matches(spec, req) or abac_non_resource_matches(spec, req)):
            return True
    return False


# --------------------------------------------------------------------------- RBAC (rbac.go, evaluation_helpers.go)
def rule_allows(rule, req):
    verbs = rule.get('verbs') or []
    if not ('*' in verbs or req.verb in verbs):
        return False
    if req.is_resource_request:
        groups = rule.get('apiGroups') or []
        if not ('*' in groups or req.api_group in groups):
            return False
        combined = req.resource + ('/' + req.subresource if req.subresource else '')
        ok = False
        for resource in rule.get('resources') or []:
            if resource == '*' or resource == combined:
                ok = True
                break
            if req.subresource and len(resource) == len(req.subresource) + 2 and resource.startswith('*/') \
                    and resource.endswith(req.subresource):
                ok = True
                break
        if not ok:
            return False
        names = rule.get('resourceNames') or []
        return not names or req.name in names
    urls = rule.get('nonResourceURLs') or []
    return any(u == '*' or u == req.path or (u.endswith('*') and req.path.startswith(u.rstrip('*'))) for u in urls)


def subject_applies(subject, ident):
    if subject.get('kind') == 'User':
        return subject.get('name') == ident.name
    if subject.get('kind') == 'Group':
        return subject.get('name') in ident.groups
    return False  # ServiceAccounts: never produced by the converter


@dataclass
class Rbac:
    """ClusterRoles {name: [rules]} and namespaced RoleBindings (no ClusterRoleBindings: tenancy makes none)."""
    cluster_roles: dict
    role_bindings: list = field(default_factory=list)

    def allows(self, ident, req):
        if not req.is_resource_request or not req.namespace:
            return False  # RoleBindings grant nothing cluster-scoped and no non-resource URL
        if not hasattr(self, '_by_namespace'):
            self._by_namespace = {}
            for binding in self.role_bindings:
                self._by_namespace.setdefault(binding['metadata']['namespace'], []).append(binding)
        for binding in self._by_namespace.get(req.namespace, []):
            if not any(subject_applies(s, ident) for s in binding.get('subjects') or []):
                continue
            ref = binding['roleRef']
            if ref['kind'] != 'ClusterRole':
                continue
            if any(rule_allows(rule, req) for rule in self.cluster_roles.get(ref['name'], [])):
                return True
        return False


def cluster_role_rules(level_rules):
    """Converter data ((apiGroup, resources, verbs), ...) -> RBAC PolicyRule dicts."""
    return [{'apiGroups': [g], 'resources': list(res), 'verbs': list(verbs)} for g, res, verbs in level_rules]


# --------------------------------------------------------------------------- k8s-keystone-auth (authorizer.go)
class _Deny(Exception):
    pass


def _get_allowed(definition, value):
    """authorizer.go getAllowed: the set of allowed values, or _Deny (the Go code's error)."""
    if definition == value or definition == '*' or value == '':
        return {value}
    if definition.startswith('!') and definition[1:2] != '[':
        if definition[1:] == value or definition[1:] == '*':
            raise _Deny()
        return {value}
    if definition.startswith('[') and definition.endswith(']'):
        try:
            items = json.loads(definition.replace("'", '"'))
        except ValueError:
            raise _Deny() from None
        return {value if item == '*' else item for item in items}
    if definition.startswith('![') and definition.endswith(']'):
        try:
            items = json.loads(definition[1:].replace("'", '"'))
        except ValueError:
            raise _Deny() from None
        if any(item == value or item == '*' for item in items):
            raise _Deny()
        return {value}
    return set()


def _resource_permission_allowed(spec, req):
    for key, verbs in spec.items():
        allowed_verbs = {v.lower() for v in verbs}
        if '*' in allowed_verbs:
            allowed_verbs.add(req.verb)
        parts = key.split('/')
        if len(parts) != 2:
            continue
        ns_def, res_def = parts[0].strip().lower(), parts[1].strip().lower()
        if ns_def != '*' and req.namespace == '':
            continue
        try:
            namespaces = _get_allowed(ns_def, req.namespace)
            resources = _get_allowed(res_def, req.resource)  # resource only: no subresource, no apiGroup
        except _Deny:
            continue
        if req.namespace in namespaces and req.resource in resources and req.verb in allowed_verbs:
            return True
    return False


def _non_resource_permission_allowed(spec, req):
    for path, verbs in spec.items():
        allowed = set(verbs)
        if '*' in allowed:
            allowed.add(req.verb)
        if path == req.path and req.verb in allowed:  # exact comparison only
            return True
    return False


def keystone_auth_allows(policies, ident, req):
    """Version 2 policies (a list of dicts with 'users', 'resource_permissions', ...)."""
    user_roles = set(ident.roles)
    user_projects = {p for p in (ident.project_id, ident.project_name) if p}
    for policy in policies:
        users = policy.get('users')
        if users is not None:
            if not set(users.get('roles', [])) <= user_roles:  # IsSuperset: ALL listed roles
                continue
            if not set(users.get('projects', [])) & user_projects:  # HasAny, by ID or name
                continue
        if req.is_resource_request:
            spec = policy.get('resource_permissions')
            if spec is not None and _resource_permission_allowed(spec, req):
                return True
        else:
            spec = policy.get('nonresource_permissions')
            if spec is not None and _non_resource_permission_allowed(spec, req):
                return True
    return False
