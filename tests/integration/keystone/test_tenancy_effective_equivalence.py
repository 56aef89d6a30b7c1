"""The converter's own resolution of effective role assignments equals Keystone's, on a real Keystone.

The converter reads RAW assignments (GET /v3/role_assignments without effective), the members of
the groups that hold them, the implication rules (GET /v3/role_inferences) and the project tree,
and resolves effectiveness itself (kos_tenancy.resolve_effective), because Keystone's own
expansion is quadratic in the number of rows (see README "Tenancy", benchmark). These tests hold
that resolution to Keystone's answer, ``GET /v3/role_assignments?effective&include_names``, for
every (user, project, role) row, on data built to contain every rule Keystone applies:

- group assignments (members of another domain, a disabled member);
- inherited assignments on a domain (every project of it, nested ones too) and on a parent
  project (its subtree, not itself), for users and for groups;
- implied roles, including a chain of two rules (z-auditor -> z-observer -> reader) and
  Keystone's own admin -> member -> reader;
- a domain-specific role that implies a global one (Keystone strips the domain role itself);
- a domain-scoped non-inherited assignment (no project row);
- disabled users, projects and domains (Keystone's effective listing keeps them; the converter
  drops them later, in build_plan).

Keystone's semantics followed: Keystone 30.0.0 (the release this suite runs),
keystone/assignment/core.py Manager.list_role_assignments, _list_effective_role_assignments,
_expand_indirect_assignment, add_implied_roles, _strip_domain_roles;
keystone/resource/backends/sql.py list_projects_in_domain, list_projects_in_subtree.

The module-scoped fixture creates its data in two domains of its own and removes all of it
(roles first, then the domains, which takes their projects, users and groups) pass or fail.
"""

from __future__ import annotations

import pytest

from ansible_collections.kos.platform.plugins.module_utils.kos_tenancy import (
    Rules,
    build_plan,
    read_effective,
    read_keystone,
)

IDENTITY = {'service_type': 'identity'}


def _put(conn, path):
    conn.session.put(path, endpoint_filter=IDENTITY)


@pytest.fixture(scope='module')
def rich(admin_conn, ids):
    idn = admin_conn.identity
    made = {'roles': [], 'domains': [], 'users': [], 'rules': []}
    try:
        zeta = idn.create_domain(name='zeta', description='effective-resolution data')
        made['domains'].append(zeta)
        frozen = idn.create_domain(name='zeta-frozen', description='effective-resolution data, disabled')
        made['domains'].append(frozen)

        def project(name, domain, parent=None, enabled=True):
            return idn.create_project(name=name, domain_id=domain.id, parent_id=parent.id if parent else None,
                                      is_enabled=enabled)

        root = project('z-root', zeta)
        child = project('z-child', zeta, root)
        grandchild = project('z-grandchild', zeta, child)
        closed = project('z-closed', zeta, root, enabled=False)
        side = project('z-side', zeta)
        cold = project('zf-cold', frozen)

        def user(name, domain, enabled=True):
            u = idn.create_user(name=name, domain_id=domain.id, is_enabled=enabled)
            if domain.id == ids['domains']['Default']:
                made['users'].append(u)
            return u

        zu1, zu2 = user('zu1', zeta), user('zu2', zeta, enabled=False)
        zu3 = user('zu3-default', idn.get_domain(ids['domains']['Default']))
        zfu = user('zfu', frozen)
        team = idn.create_group(name='z-team', domain_id=zeta.id)
        frost = idn.create_group(name='zf-team', domain_id=frozen.id)
        for member in (zu1, zu2, zu3):
            idn.add_user_to_group(member, team)
        for member in (zfu, zu1):
            idn.add_user_to_group(member, frost)

        def role(name, domain=None):
            r = idn.create_role(name=name, domain_id=domain.id if domain else None)
            made['roles'].append(r)
            return r

        auditor, observer = role('z-auditor'), role('z-observer')
        lead = role('z-lead', zeta)  # domain-specific
        reader = idn.find_role('reader', ignore_missing=False)
        member = idn.find_role('member', ignore_missing=False)
        admin = idn.find_role('admin', ignore_missing=False)
        for prior, implied in ((auditor, observer), (observer, reader), (lead, member)):
            _put(admin_conn, '/roles/%s/implies/%s' % (prior.id, implied.id))
            made['rules'].append('/roles/%s/implies/%s' % (prior.id, implied.id))

        # user, inherited on a domain, through a chain of implied roles
        _put(admin_conn, '/OS-INHERIT/domains/%s/users/%s/roles/%s/inherited_to_projects'
             % (zeta.id, zu1.id, auditor.id))
        # group, inherited on a parent project: its subtree (child, grandchild, closed), not root itself
        _put(admin_conn, '/OS-INHERIT/projects/%s/groups/%s/roles/%s/inherited_to_projects'
             % (root.id, team.id, member.id))
        # user, inherited on a parent project deeper in the tree
        _put(admin_conn, '/OS-INHERIT/projects/%s/users/%s/roles/%s/inherited_to_projects'
             % (child.id, zu3.id, reader.id))
        idn.assign_project_role_to_user(child, zu2, admin)  # disabled user; admin -> member -> reader
        idn.assign_project_role_to_user(grandchild, zu3, lead)  # domain role: only 'member' (and reader) show
        idn.assign_project_role_to_group(side, team, observer)  # group, direct, implied role
        idn.assign_domain_role_to_user(zeta, zu1, admin)  # domain scope, not inherited: no project row
        # group, inherited on a domain that is then disabled
        _put(admin_conn, '/OS-INHERIT/domains/%s/groups/%s/roles/%s/inherited_to_projects'
             % (frozen.id, frost.id, reader.id))
        idn.assign_project_role_to_user(cold, zfu, member)
        idn.update_domain(frozen, is_enabled=False)
        yield {'domains': {'zeta': zeta.id, 'zeta-frozen': frozen.id},
               'projects': {p.name: p.id for p in (root, child, grandchild, closed, side, cold)},
               'users': {u.name: u.id for u in (zu1, zu2, zu3, zfu)},
               'roles': {r.name: r.id for r in (auditor, observer, lead, reader, member, admin)}}
    finally:
        # Rules before roles: Keystone's sqlite backend does not cascade the deletion of a role to
        # its rules, and GET /v3/role_inferences fails while a rule names a deleted role.
        for rule in made['rules']:
            admin_conn.session.delete(rule, endpoint_filter=IDENTITY)
        for r in made['roles']:  # takes its assignments along
            idn.delete_role(r, ignore_missing=True)
        for u in made['users']:
            idn.delete_user(u, ignore_missing=True)
        for d in made['domains']:  # takes its projects, users, groups and their assignments along
            idn.update_domain(d, is_enabled=False)
            idn.delete_domain(d, ignore_missing=True)


def keystone_view(conn):
    """Every project-scoped user row of GET /v3/role_assignments?effective&include_names."""
    body = conn.session.get('/role_assignments?effective&include_names', endpoint_filter=IDENTITY).json()
    rows = [ra for ra in body['role_assignments'] if 'project' in ra['scope'] and 'user' in ra]
    assert rows, 'Keystone returned no effective project rows'
    return rows


def global_role_ids(conn, role_ids):
    """The global ones among role_ids (domain-specific roles have a domain_id)."""
    return {rid for rid in role_ids
            if conn.session.get('/roles/%s' % rid, endpoint_filter=IDENTITY).json()['role'].get('domain_id') is None}


def converter_projects(conn):
    return read_keystone(conn, ['reader'])  # for its lists (projects, users); its assignments are not used


def test_keystone_itself_applies_every_rule_the_data_is_built_for(admin_conn, rich):
    """The data is not vacuous: Keystone's effective view shows each rule at work (so the
    equality below compares the rules, not two empty sets)."""
    p, u, r = rich['projects'], rich['users'], rich['roles']
    view = {(ra['user']['id'], ra['scope']['project']['id'], ra['role']['id']) for ra in keystone_view(admin_conn)}
    # domain inheritance reaches nested and disabled projects; the chain gives observer and reader
    for name in ('z-root', 'z-child', 'z-grandchild', 'z-closed', 'z-side'):
        assert {(u['zu1'], p[name], r[x]) for x in ('z-auditor', 'z-observer', 'reader')} <= view, name
    # project inheritance: the subtree, not the project itself
    assert (u['zu2'], p['z-closed'], r['member']) in view
    assert (u['zu3-default'], p['z-grandchild'], r['member']) in view
    assert not any(row[1] == p['z-root'] and row[2] == r['member'] for row in view)
    assert (u['zu3-default'], p['z-grandchild'], r['reader']) in view
    # the domain role implies member and is stripped itself
    assert not any(row[2] == r['z-lead'] for row in view)
    # the disabled domain's projects and the disabled user keep their rows in Keystone's view
    assert (u['zfu'], p['zf-cold'], r['reader']) in view and (u['zu1'], p['zf-cold'], r['reader']) in view
    assert (u['zu2'], p['z-child'], r['reader']) in view


def test_converter_resolution_equals_keystones_effective_view(admin_conn, ids, rich):
    """Every (user, project, role) row of every user on every project, all global roles."""
    rows = keystone_view(admin_conn)
    expected = {(ra['user']['id'], ra['scope']['project']['id'], ra['role']['id']) for ra in rows}
    raw = admin_conn.session.get('/role_assignments', endpoint_filter=IDENTITY).json()['role_assignments']
    inferences = admin_conn.session.get('/role_inferences', endpoint_filter=IDENTITY).json()['role_inferences']
    candidates = ({ra['role']['id'] for ra in raw} | {i['prior_role']['id'] for i in inferences}
                  | {imp['id'] for i in inferences for imp in i['implies']})
    wanted = global_role_ids(admin_conn, candidates)
    assert rich['roles']['z-lead'] not in wanted and rich['roles']['z-auditor'] in wanted
    snapshot = converter_projects(admin_conn)
    for workers in (1, 4):  # sequential and pooled member reads give the same
        got = read_effective(admin_conn.identity, snapshot.projects, wanted, workers=workers)
        assert got == expected, {'only the converter': sorted(got - expected),
                                 'only Keystone': sorted(expected - got)}
    # include_names: the names Keystone gives each row are those the converter takes from its lists
    projects = {pr.id: pr for pr in snapshot.projects}
    for ra in rows:
        user = snapshot.users[ra['user']['id']]
        project = projects[ra['scope']['project']['id']]
        assert (user.name, user.domain_id) == (ra['user']['name'], ra['user']['domain']['id']), ra
        assert (project.name, project.domain_name) == (ra['scope']['project']['name'],
                                                       ra['scope']['project']['domain']['name']), ra


def test_both_sources_give_the_same_snapshot_and_plan(admin_conn, rich):
    """read_keystone with effective='converter' (the default) and effective='keystone' agree on the
    mapped rows and on the resulting plan, an unmapped role reaching a mapped one through a chain."""
    mapping = {'admin': 'admin', 'member': 'edit', 'reader': 'view', 'z-observer': 'view'}
    ours = read_keystone(admin_conn, mapping)
    theirs = read_keystone(admin_conn, mapping, effective='keystone')

    def rows(snapshot):
        return sorted((a.user_id, a.project_id, a.role) for a in snapshot.assignments)

    assert rows(ours) == rows(theirs) and rows(ours)
    assert (rich['users']['zu1'], rich['projects']['z-grandchild'], 'z-observer') in rows(ours)
    rules = Rules(role_mapping=mapping, skip_projects=['admin', 'service'])
    plan_ours, plan_theirs = build_plan(ours, rules), build_plan(theirs, rules)
    assert {n: ns.users for n, ns in plan_ours.namespaces.items()} == \
        {n: ns.users for n, ns in plan_theirs.namespaces.items()}
    # disabled domain, project and user: in both views, dropped by build_plan alike
    # zu1: z-auditor (domain, chain) and member (z-team on z-root's subtree); zu2 is disabled
    assert plan_ours.namespaces['z-grandchild'].users == {'zu1': 'edit', 'zu3-default': 'edit'}
    assert plan_ours.namespaces['z-root'].users == {'zu1': 'view'}
    assert 'z-closed' not in plan_ours.namespaces and 'zf-cold' not in plan_ours.namespaces
