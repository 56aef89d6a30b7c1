"""Property test: for generated Keystone data, every mode grants exactly the intended mapping.

Hypothesis generates Keystone contents (domains, enabled or not; projects in a tree; users with
duplicated and case-varied names, some reserved, some disabled; groups and memberships; direct,
group, domain-inherited and project-inherited assignments; implied roles and chains of them;
unmapped roles; a domain-specific role that only implies). ``effective`` below is the oracle of
Keystone's ``GET /v3/role_assignments?effective`` (groups, inheritance, implied roles, domain
roles stripped), written from Keystone 30.0.0 (2025.2 series) keystone/assignment/core.py:
Manager.list_role_assignments, _list_effective_role_assignments, _expand_indirect_assignment,
add_implied_roles, _strip_domain_roles, and keystone/resource/backends/sql.py
list_projects_in_domain / list_projects_in_subtree. The converter's own resolution
(kos_tenancy.resolve_effective, fed the RAW assignments, group members, implication rules and
project tree that the converter reads from Keystone) must equal it on every example; the
seeded real-Keystone counterpart is tests/integration/keystone/test_tenancy_effective_equivalence.py.
The converter's resolved set then feeds its data model (build_plan and the renderers), and the
test evaluates the rendered files
with tests/unit/authz/evaluator.py (upstream's matching rules) for every
(Keystone user, namespace, verb, resource):

- RBAC: the decision equals upstream's ClusterRole of the intended level, bound in that namespace.
- ABAC: the decision equals the intended level projected on what ABAC can express (apiGroup +
  resource, readonly or every verb; the subresource is not compared by abac.go) and is never
  more than RBAC for a request without subresource.
- k8s-keystone-auth: for every token (user scoped to a project), the decision equals the level of
  the token's roles projected on resource names + verbs, and is never more than RBAC.
- In every mode: nobody reaches a namespace of a project they have no mapped role on, a
  cluster-scoped resource or a non-resource URL, and nobody below edit reads Secrets.

Runs a bounded, derandomized number of examples (CI-stable); set KOS_HYPOTHESIS_EXAMPLES for more.
"""

from __future__ import annotations

import functools
import os

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.kos.platform.plugins.module_utils.kos_tenancy import (
    LEVEL_RANK,
    LEVELS,
    READ_VERBS_SET,
    SPECIAL_VERBS,
    WRITE_VERBS,
    Assignment,
    Group,
    Project,
    Rules,
    Snapshot,
    TenancyError,
    User,
    build_plan,
    keystone_auth_policy,
    level_grants,
    level_rules,
    render_abac,
    render_namespace_files,
    reserved_name,
    resolve_effective,
)
from tests.unit.authz.evaluator import (
    AbacIndex,
    Identity,
    Rbac,
    Request,
    abac_allows,
    cluster_role_rules,
    keystone_auth_allows,
    rule_allows,
)

EXAMPLES = int(os.environ.get('KOS_HYPOTHESIS_EXAMPLES', '40'))
MAPPING = {'admin': 'admin', 'member': 'edit', 'reader': 'view'}
ROLES = ('admin', 'member', 'reader', 'operator', 'auditor')  # operator, auditor: unmapped
# A domain-specific role (Keystone: role with a domain_id): it may imply global roles, is never
# implied by a global one (RoleManager.create_implied_role refuses it) and never appears in the
# effective listing itself (_strip_domain_roles).
DOMAIN_ROLES = ('d0-lead',)
USER_NAMES = ('alice', 'Alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'system:gina', 'kubeadm:hal')
GROUP_NAMES = ('devs', 'ops', 'Devs')
CLUSTER_ROLES = {level: cluster_role_rules(level_rules(level)) for level in LEVELS}

# The request catalogue: every (apiGroup, resource[/subresource]) the three ClusterRoles name,
# plus cluster-scoped and sensitive ones, with CRUD and the special verbs.
_GRANTED = sorted(set(level_grants('admin')))
_EXTRA = [('', 'nodes'), ('', 'persistentvolumes'), ('rbac.authorization.k8s.io', 'clusterroles'),
          ('rbac.authorization.k8s.io', 'clusterrolebindings'), ('', 'pods/ephemeralcontainers'),
          ('apiextensions.k8s.io', 'customresourcedefinitions')]
# CRUD verbs everywhere; impersonate, escalate and bind only where the API server asks for them
# (impersonation filter: serviceaccounts; RBAC escalation checks: roles and clusterroles).
VERBS = ('get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection')
SPECIAL = {('', 'serviceaccounts'): ('impersonate',), ('rbac.authorization.k8s.io', 'roles'): ('escalate', 'bind'),
           ('rbac.authorization.k8s.io', 'clusterroles'): ('escalate', 'bind')}
CATALOGUE = [(group, res, verb) for group, res in _GRANTED + _EXTRA for verb in VERBS + SPECIAL.get((group, res), ())]


def request(namespace, group, res, verb):
    resource, _, sub = res.partition('/')
    return Request(verb, namespace, group, resource, sub)


# --------------------------------------------------------------------------- intended decisions
@functools.lru_cache(maxsize=None)
def rbac_intended(level, req):
    return level is not None and any(rule_allows(rule, req) for rule in CLUSTER_ROLES[level])


def _verbs(level, group, resource):
    return level_grants(level).get((group, resource), frozenset())


@functools.lru_cache(maxsize=None)
def abac_intended(level, req):
    """What an ABAC line can express: (apiGroup, resource), readonly or every verb."""
    if level is None:
        return False
    verbs = _verbs(level, req.api_group, req.resource)
    every = WRITE_VERBS | READ_VERBS_SET | SPECIAL_VERBS.get((req.api_group, req.resource), frozenset())
    if every <= verbs:
        return True
    return req.read_only and READ_VERBS_SET <= verbs


@functools.lru_cache(maxsize=None)
def webhook_intended(level, req):
    """Resource name + verb, the verbs the level grants on that name in every group naming it."""
    if level is None:
        return False
    sets = [verbs for (group, res), verbs in level_grants(level).items() if res == req.resource]
    return bool(sets) and req.verb in frozenset.intersection(*sets)


# --------------------------------------------------------------------------- Keystone data
@st.composite
def keystone(draw):
    n_domains = draw(st.integers(1, 3))
    domains = [('d%d' % i, draw(st.booleans()) if i else True) for i in range(n_domains)]
    projects = []
    for i in range(draw(st.integers(1, 4))):
        domain = draw(st.sampled_from(domains))[0]
        parents = [p for p in projects if p['domain'] == domain]
        parent = draw(st.sampled_from([None] + [p['id'] for p in parents]))
        projects.append({'id': 'p%d' % i, 'name': 'proj-%d' % i, 'domain': domain, 'parent': parent,
                         'enabled': draw(st.booleans()) or draw(st.booleans())})
    users = [{'id': 'u%d' % i, 'name': draw(st.sampled_from(USER_NAMES)), 'domain': draw(st.sampled_from(domains))[0],
              'enabled': draw(st.booleans()) or draw(st.booleans())} for i in range(draw(st.integers(1, 5)))]
    groups = [{'id': 'g%d' % i, 'name': draw(st.sampled_from(GROUP_NAMES)), 'domain': draw(st.sampled_from(domains))[0]}
              for i in range(draw(st.integers(0, 2)))]
    members = {g['id']: set(draw(st.lists(st.sampled_from([u['id'] for u in users]), max_size=3))) for g in groups}
    # implied roles: only from a lower index to a higher one (Keystone refuses cycles)
    implied = set(draw(st.lists(st.sampled_from([(ROLES[i], ROLES[j]) for i in range(len(ROLES))
                                                 for j in range(len(ROLES)) if i < j or (i > j and ROLES[i] in
                                                                                         ('operator', 'auditor')
                                                                                         and j >= 1 and i > 2)]),
                                max_size=3)))
    actors = [('user', u['id']) for u in users] + [('group', g['id']) for g in groups]
    targets = [('project', p['id']) for p in projects] * 2 + [('domain', d) for d, _ in domains]
    inherited = st.sampled_from((False, False, True))
    assignments = draw(st.lists(st.tuples(st.sampled_from(actors), st.sampled_from(targets), st.sampled_from(ROLES),
                                          inherited), min_size=1, max_size=10))
    # Drawn last, so that the examples above stay those of the fixed sample.
    implied |= set(draw(st.lists(st.sampled_from([(DOMAIN_ROLES[0], r) for r in ROLES[1:]]), max_size=2)))
    assignments += draw(st.lists(st.tuples(st.sampled_from(actors), st.sampled_from(targets),
                                           st.sampled_from(DOMAIN_ROLES), inherited), max_size=2))
    return {'domains': dict(domains), 'projects': projects, 'users': users, 'groups': groups,
            'members': members, 'implied': implied, 'assignments': assignments}


def implied_closure(roles, implied):
    out, todo = set(roles), list(roles)
    while todo:
        role = todo.pop()
        for prior, imp in implied:
            if prior == role and imp not in out:
                out.add(imp)
                todo.append(imp)
    return out


def effective(data):
    """{(user_id, project_id): set(roles)} as Keystone's effective listing resolves them."""
    by_id = {p['id']: p for p in data['projects']}

    def ancestors(pid):
        parent = by_id[pid]['parent']
        while parent:
            yield parent
            parent = by_id[parent]['parent']

    out = {}
    for (kind, actor), (scope, target), role, inherited in data['assignments']:
        user_ids = {actor} if kind == 'user' else data['members'].get(actor, set())
        if scope == 'project':
            hits = [p['id'] for p in data['projects'] if (inherited and target in ancestors(p['id']))
                    or (not inherited and p['id'] == target)]
        else:
            hits = [p['id'] for p in data['projects'] if inherited and p['domain'] == target]
        for uid in user_ids:
            for pid in hits:
                out.setdefault((uid, pid), set()).add(role)
    stripped = {key: implied_closure(roles, data['implied']) - set(DOMAIN_ROLES) for key, roles in out.items()}
    return {key: roles for key, roles in stripped.items() if roles}


def keystone_raw(data):
    """What the converter reads from Keystone for ``data``: raw GET /v3/role_assignments rows (the
    REST format of keystone/api/role_assignments.py _format_entity), {group: members}, the
    implication rules and the projects (top-level ones have the domain as parent, as in Keystone)."""
    rows = []
    for (kind, actor), (scope, target), role, inherited in data['assignments']:
        row = {kind: {'id': actor}, 'role': {'id': role}, 'scope': {scope: {'id': target}}}
        if inherited:
            row['scope']['OS-INHERIT:inherited_to'] = 'projects'
        rows.append(row)
    implies = {}
    for prior, imp in data['implied']:
        implies.setdefault(prior, set()).add(imp)
    projects = [Project(p['id'], p['name'], p['domain'], parent_id=p['parent'] or p['domain'])
                for p in data['projects']]
    members = {gid: sorted(uids) for gid, uids in data['members'].items()}
    return rows, members, implies, projects


def converter_effective(data, wanted=ROLES):
    """{(user_id, project_id): set(roles)} as the converter resolves it from the raw data."""
    out = {}
    for uid, pid, role in resolve_effective(*keystone_raw(data), wanted_roles=set(wanted)):
        out.setdefault((uid, pid), set()).add(role)
    return out


def snapshot(data, eff):
    disabled = {d for d, enabled in data['domains'].items() if not enabled}
    projects = [Project(p['id'], p['name'], p['domain'], p['domain'], p['enabled'], False, p['domain'] not in disabled)
                for p in data['projects']]
    users = [User(u['id'], u['name'], u['domain'], u['enabled']) for u in data['users']]
    groups = [Group(g['id'], g['name'], g['domain']) for g in data['groups']]
    rows = [Assignment(uid, pid, role) for (uid, pid), roles in sorted(eff.items()) for role in sorted(roles)]
    return Snapshot(projects, users, rows, set(ROLES), groups=groups, disabled_domains=disabled)


def top(roles):
    levels = [MAPPING[r] for r in roles if r in MAPPING]
    return max(levels, key=LEVEL_RANK.get) if levels else None


def intended_levels(data, eff):
    """{(user name, project id): level} - the oracle, written from the rules, not from the converter."""
    domains = data['domains']
    names = {}
    for u in data['users']:
        names.setdefault(u['name'], []).append(u)
    live = {p['id'] for p in data['projects'] if p['enabled'] and domains[p['domain']]}
    out = {}
    for name, holders in names.items():
        if len(holders) != 1 or reserved_name(name):
            continue
        u = holders[0]
        if not (u['enabled'] and domains[u['domain']]):
            continue
        for pid in live:
            level = top(eff.get((u['id'], pid), ()))
            if level:
                out[(name, pid)] = level
    return out


# --------------------------------------------------------------------------- the property
SETTINGS = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_the_fixed_sample_exercises_every_case():
    """The derandomized examples reach every level, shared names, groups, implied roles and disabled
    domains; without this the property below could pass on data that grants nothing."""
    seen = set()

    @SETTINGS
    @given(keystone())
    def collect(data):
        eff = effective(data)
        seen.update(intended_levels(data, eff).values())
        names = [u['name'] for u in data['users']]
        if len(names) != len(set(names)):
            seen.add('shared name')
        if data['implied'] and any(r in ROLES[3:] for _, _, r, _ in data['assignments']):
            seen.add('implied')
        chains = {(a, c) for a, b in data['implied'] for b2, c in data['implied'] if b == b2}
        if any(r == a for _, _, r, _ in data['assignments'] for a, _ in chains):
            seen.add('implied chain')
        if any(r in DOMAIN_ROLES for _, _, r, _ in data['assignments']) and any(
                a in DOMAIN_ROLES for a, _ in data['implied']):
            seen.add('domain role')
        if any(inh and scope == 'domain' for _, (scope, _), _, inh in data['assignments']):
            seen.add('inherited from domain')
        if any(inh and scope == 'project' and any(p['parent'] == t for p in data['projects'])
               for _, (scope, t), _, inh in data['assignments']):
            seen.add('inherited from parent project')
        if not all(p['enabled'] for p in data['projects']) or not all(u['enabled'] for u in data['users']):
            seen.add('disabled project or user')
        if any(kind == 'group' for (kind, _), _, _, _ in data['assignments']):
            seen.add('group')
        if any(inh for _, _, _, inh in data['assignments']):
            seen.add('inherited')
        if not all(data['domains'].values()):
            seen.add('disabled domain')

    collect()
    assert seen >= {'view', 'edit', 'admin', 'shared name', 'implied', 'implied chain', 'domain role', 'group',
                    'inherited', 'inherited from domain', 'inherited from parent project', 'disabled domain',
                    'disabled project or user'}, seen


@SETTINGS
@given(keystone())
def test_the_converter_resolves_assignments_as_keystone_does(data):
    """Raw assignments + members + implication rules + project tree = Keystone's effective view,
    for every role (global ones; domain roles stripped) and for the mapped ones only."""
    assert converter_effective(data) == effective(data)
    mapped = {key: roles & set(MAPPING) for key, roles in effective(data).items() if roles & set(MAPPING)}
    assert converter_effective(data, MAPPING) == mapped


@SETTINGS
@given(keystone())
def test_every_mode_grants_exactly_the_intended_mapping(data):
    eff = converter_effective(data)
    assert eff == effective(data)
    rules = Rules(role_mapping=MAPPING, skip_projects=[])
    try:
        plan = build_plan(snapshot(data, eff), rules)
    except TenancyError as exc:
        # The only refusals this data can cause: reserved Keystone group names (none in GROUP_NAMES).
        raise AssertionError('unexpected refusal: %s' % exc) from None
    namespace_of = {ns.project.id: name for name, ns in plan.namespaces.items()}
    live = {p['id'] for p in data['projects'] if p['enabled'] and data['domains'][p['domain']]}
    assert set(namespace_of) == live
    intended = intended_levels(data, eff)

    bindings = [d for text in render_namespace_files(plan, rules).values() for d in yaml.safe_load_all(text)
                if d and d['kind'] == 'RoleBinding']
    rbac = Rbac(CLUSTER_ROLES, bindings)
    abac = AbacIndex(render_abac(plan, rules))
    policy = keystone_auth_policy(plan, rules)
    namespaces = sorted(namespace_of.values()) + ['kube-system', '']
    project_of = {ns: pid for pid, ns in namespace_of.items()}
    group_names = {u['id']: tuple(sorted(g['name'] for g in data['groups'] if u['id'] in data['members'][g['id']]))
                   for u in data['users']}

    for name in sorted({u['name'] for u in data['users']}):
        uids = [u['id'] for u in data['users'] if u['name'] == name]
        groups = ('system:authenticated',) + tuple(sorted({g for uid in uids for g in group_names[uid]}))
        ident = Identity(name, groups + tuple(sorted(live)))  # worst case: every project ID as a group
        for ns in namespaces:
            level = intended.get((name, project_of.get(ns)))
            for group, res, verb in CATALOGUE:
                req = request(ns, group, res, verb)
                got_rbac, got_abac = rbac.allows(ident, req), abac_allows(abac, ident, req)
                assert got_rbac == rbac_intended(level, req), ('RBAC', name, req, level)
                parent = request(ns, group, res.split('/')[0], verb)
                assert got_abac == abac_intended(level, parent), ('ABAC', name, req, level)
                if not req.subresource:
                    assert not got_abac or got_rbac, ('ABAC grants more than RBAC', name, req)
                if got_rbac or got_abac:
                    assert level is not None and ns, (name, req)
                    assert not (req.resource == 'secrets' and level == 'view'), (name, req)
        assert not abac_allows(abac, ident, Request('get', path='/metrics'))

    # k8s-keystone-auth: every token a user can get (enabled user, project and domains).
    domains = data['domains']
    for (uid, pid), roles in sorted(eff.items()):
        user = next(u for u in data['users'] if u['id'] == uid)
        project = next(p for p in data['projects'] if p['id'] == pid)
        if not (user['enabled'] and domains[user['domain']] and pid in live):
            continue
        token = Identity(user['name'], roles=tuple(sorted(roles)), project_id=pid, project_name=project['name'])
        level = top(roles)
        for ns in namespaces:
            own = ns == namespace_of[pid]
            for group, res, verb in CATALOGUE:
                req = request(ns, group, res, verb)
                got = keystone_auth_allows(policy, token, req)
                assert got == (own and webhook_intended(level, req)), ('webhook', user['name'], pid, req)
                if got and not req.subresource:
                    assert rbac_intended(level, req), ('webhook grants more than RBAC', req)
                assert not (got and req.resource == 'secrets' and level == 'view')
