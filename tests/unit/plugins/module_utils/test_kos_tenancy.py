"""Unit tests of the tenancy mapping (pure functions: no Keystone, no files unless tmp_path)."""

from __future__ import annotations

import json

import pytest
import yaml

from ansible_collections.kos.platform.plugins.module_utils.kos_tenancy import (
    Assignment,
    Group,
    Project,
    Rules,
    Snapshot,
    TenancyError,
    abac_line,
    abac_policies,
    abac_resources,
    build_plan,
    convert,
    dns1123,
    namespace_name,
    quota_hard,
    read_keystone,
    read_previous,
    read_quotas,
    render_abac,
    render_keystone_auth_configmaps,
    render_namespace_files,
    to_yaml,
    write_files,
)
from ansible_collections.kos.platform.plugins.module_utils.kos_tenancy import (
    User as KUser,
)

ROLES = {'admin', 'member', 'reader', 'manager', 'service'}


def project(name, pid=None, domain='Default', **kw):
    return Project(pid or 'id-' + name.lower(), name, domain.lower(), domain, **kw)


def snapshot(projects, users, assignments, roles=ROLES, quotas=None):
    return Snapshot(projects, users, [Assignment(*a) for a in assignments], roles, quotas)


def user(name, uid=None, domain='default', enabled=True):
    return KUser(uid or 'u-' + name, name, domain, enabled)


# --------------------------------------------------------------------------- naming
@pytest.mark.parametrize('raw, expected', [
    ('web-shop', 'web-shop'),
    ('Data_Lake', 'data-lake'),
    ('  ML Research (2024) ', 'ml-research-2024'),
    ('a..b--c', 'a-b-c'),
    ('Ünïcode', 'n-code'),
    ('---', ''),
])
def test_dns1123(raw, expected):
    assert dns1123(raw) == expected


def test_namespace_name_format_prefix_and_fallback():
    rules = Rules(namespace_format='{domain}-{name}', namespace_prefix='t-')
    assert namespace_name(project('Web Shop', domain='ACME'), rules) == 't-acme-web-shop'
    # A name with nothing DNS-safe falls back to the project ID.
    assert namespace_name(project('!!!', pid='abc123'), Rules()) == 'p-abc123'


def test_long_names_are_cut_with_a_stable_distinct_suffix():
    rules = Rules()
    a = namespace_name(project('x' * 80, pid='one'), rules)
    b = namespace_name(project('x' * 80, pid='two'), rules)
    assert len(a) <= 63 and len(b) <= 63 and a != b
    assert a == namespace_name(project('x' * 80, pid='one'), rules)  # stable


# --------------------------------------------------------------------------- rules
@pytest.mark.parametrize('kwargs, message', [
    ({'role_mapping': {'member': 'superuser'}}, "unknown permission level 'superuser'"),
    ({'role_mapping': {}}, 'role_mapping is empty'),
    ({'project_group_permission': 'owner'}, "project_group_permission 'owner'"),
    ({'level_cluster_roles': {'admin': 'cluster-admin'}}, 'cluster-admin and system: roles are never granted'),
    ({'level_cluster_roles': {'view': 'system:aggregate-to-view'}}, 'never granted'),
    ({'level_cluster_roles': {'root': 'x'}}, 'unknown levels: root'),
    ({'namespace_format': '{domain}'}, 'must use {name} or {id}'),
    ({'namespace_format': '{name}-{region}'}, 'must use {name} or {id}'),
    ({'keystone_auth_sync_data_types': ['users']}, "unknown type 'users'"),
    ({'keystone_auth_sync_data_types': ['projects']}, "needs namespace_format '{id}'"),
    ({'namespace_overrides': {'p': 'Bad_Name'}}, 'not a DNS-1123 label'),
])
def test_bad_rules_are_refused(kwargs, message):
    with pytest.raises(TenancyError, match=None) as err:
        Rules(**kwargs)
    assert message in str(err.value)


def test_skip_patterns_match_name_id_and_domain_name():
    rules = Rules(skip_projects=['service', 'ci-*', 'acme/legacy', 'id-exact'])
    assert rules.skips(project('service')) == 'service'
    assert rules.skips(project('ci-runner-7')) == 'ci-*'
    assert rules.skips(project('legacy', domain='acme')) == 'acme/legacy'
    assert rules.skips(project('legacy')) is None
    assert rules.skips(project('whatever', pid='id-exact')) == 'id-exact'


# --------------------------------------------------------------------------- plan
def base_snapshot():
    projects = [project('web-shop'), project('Data_Lake'), project('admin'), project('service'),
                project('old', enabled=False), Project('dom', 'acme', 'acme', is_domain=True)]
    users = [user('alice'), user('bob'), user('carol', enabled=False), user('system:x')]
    assignments = [
        ('u-alice', 'id-web-shop', 'admin'), ('u-alice', 'id-web-shop', 'reader'),
        ('u-bob', 'id-web-shop', 'reader'), ('u-bob', 'id-web-shop', 'member'),
        ('u-bob', 'id-data_lake', 'reader'), ('u-bob', 'id-data_lake', 'service'),  # unmapped role
        ('u-carol', 'id-web-shop', 'member'),  # disabled user
        ('u-system:x', 'id-web-shop', 'member'),  # reserved name
        ('u-alice', 'id-admin', 'admin'),  # skipped project
        ('u-alice', 'id-old', 'admin'),  # disabled project
        ('u-ghost', 'id-web-shop', 'admin'),  # user not listed (deleted meanwhile)
    ]
    return snapshot(projects, users, assignments)


def test_plan_levels_highest_wins_and_filters():
    plan = build_plan(base_snapshot(), Rules())
    assert sorted(plan.namespaces) == ['data-lake', 'web-shop']
    assert plan.namespaces['web-shop'].users == {'alice': 'admin', 'bob': 'edit'}
    assert plan.namespaces['data-lake'].users == {'bob': 'view'}
    assert sorted((p.name, why) for p, why in plan.skipped) == [
        ('admin', "matches skip pattern 'admin'"), ('old', 'disabled'), ('service', "matches skip pattern 'service'")]
    assert any("'system:x'" in w for w in plan.warnings)


def test_include_disabled():
    plan = build_plan(base_snapshot(), Rules(include_disabled=True))
    assert plan.namespaces['web-shop'].users['carol'] == 'edit'
    assert plan.namespaces['old'].users == {'alice': 'admin'}


def test_unknown_keystone_role_is_an_error():
    with pytest.raises(TenancyError, match='do not exist: k8s-admin'):
        build_plan(base_snapshot(), Rules(role_mapping={'k8s-admin': 'admin', 'member': 'edit'}))


def test_collision_names_both_projects():
    snap = snapshot([project('web-shop', pid='p1'), project('Web.Shop', pid='p2', domain='acme')], [], [])
    with pytest.raises(TenancyError) as err:
        build_plan(snap, Rules())
    message = str(err.value)
    assert "project 'web-shop' (id p1, domain Default)" in message
    assert "project 'Web.Shop' (id p2, domain acme)" in message
    assert "namespace 'web-shop'" in message


def test_collision_with_a_protected_namespace():
    with pytest.raises(TenancyError, match="protected namespace 'kube-system'"):
        build_plan(snapshot([project('Kube System')], [], []), Rules())


def test_overrides_and_sticky_previous_names():
    snap = snapshot([project('renamed', pid='p1'), project('other', pid='p2')], [], [])
    plan = build_plan(snap, Rules(namespace_overrides={'other': 'team-b'}), previous={'p1': 'original'})
    assert sorted(plan.namespaces) == ['original', 'team-b']
    plan = build_plan(snap, Rules(sticky_namespaces=False), previous={'p1': 'original'})
    assert sorted(plan.namespaces) == ['other', 'renamed']
    assert plan.orphaned == []


def test_vanished_projects_become_orphans():
    plan = build_plan(snapshot([project('a', pid='p1')], [], []), Rules(), previous={'p1': 'a', 'p9': 'gone'})
    assert plan.orphaned == ['gone']


def test_users_sharing_a_name_get_nothing():
    snap = snapshot([project('a', pid='p1')], [user('bob', 'u1'), user('bob', 'u2', domain='acme')],
                    [('u1', 'p1', 'member'), ('u2', 'p1', 'reader')])
    plan = build_plan(snap, Rules())
    assert plan.namespaces['a'].users == {}
    assert any("share the name 'bob'" in w for w in plan.warnings)


# --------------------------------------------------------------------------- renderers
def test_abac_lines_are_explicit_and_derived_from_the_upstream_cluster_roles():
    plan = build_plan(base_snapshot(), Rules())
    specs = [json.loads(line)['spec'] for line in render_abac(plan, Rules()).splitlines()]
    # No wildcard anywhere, no non-resource line, no group line (project group off by default).
    assert all(s['resource'] != '*' and s['apiGroup'] != '*' and 'nonResourcePath' not in s for s in specs)
    assert {s['user'] for s in specs} == {'alice', 'bob'}
    bob_lake = {(s['apiGroup'], s['resource'], s['readonly']) for s in specs
                if s['user'] == 'bob' and s['namespace'] == 'data-lake'}
    assert bob_lake == set(abac_resources('view')) and all(ro for _, _, ro in bob_lake)
    assert ('', 'secrets') not in {(g, r) for g, r, _ in bob_lake}  # upstream view has no Secrets
    bob_web = {(s['apiGroup'], s['resource'], s['readonly']) for s in specs
               if s['user'] == 'bob' and s['namespace'] == 'web-shop'}
    assert ('', 'secrets', False) in bob_web  # upstream edit writes Secrets
    assert not {('', 'resourcequotas', False), ('rbac.authorization.k8s.io', 'roles', False)} & bob_web
    alice_web = {(s['apiGroup'], s['resource'], s['readonly']) for s in specs
                 if s['user'] == 'alice' and s['namespace'] == 'web-shop'}
    assert ('rbac.authorization.k8s.io', 'rolebindings', False) in alice_web
    assert ('', 'resourcequotas', True) in alice_web  # even admin cannot raise its quota


@pytest.mark.parametrize('rules', [Rules(), Rules(project_group_permission='edit', abac_discovery=True)])
def test_fast_abac_rendering_is_byte_identical_to_encoding_each_policy(rules):
    """render_abac assembles lines from pre-encoded parts; it must equal json.dumps of each policy,
    for names that need escaping too (quotes, backslashes, non-ASCII)."""
    users = [user(n) for n in ('alice', 'b"ob', 'c\\arol', 'dörte', 'erin')]
    projects = [project('web-shop'), project('Data_Lake'), project('ops')]
    rows = [('u-alice', 'id-web-shop', 'admin'), ('u-b"ob', 'id-web-shop', 'member'), ('u-c\\arol', 'id-ops', 'reader'),
            ('u-dörte', 'id-data_lake', 'member'), ('u-erin', 'id-ops', 'admin'), ('u-erin', 'id-data_lake', 'reader')]
    plan = build_plan(snapshot(projects, users, rows), rules)
    rendered = render_abac(plan, rules)
    assert rendered == ''.join(abac_line(spec) for spec in abac_policies(plan, rules))
    assert len(rendered.splitlines()) > 100 and '\\u00f6' in rendered


def test_abac_discovery_lists_exact_paths_and_group_binding_on_request():
    rules = Rules(project_group_permission='view', abac_discovery=True)
    specs = [json.loads(line)['spec'] for line in render_abac(build_plan(base_snapshot(), rules), rules).splitlines()]
    paths = [s['nonResourcePath'] for s in specs if 'nonResourcePath' in s]
    assert '*' not in paths and '/api/*' in paths and '/metrics' not in paths
    assert {s['group'] for s in specs if 'group' in s} == {'system:authenticated', 'id-web-shop', 'id-data_lake'}


def test_namespace_files_parse_and_bind_cluster_roles():
    rules = Rules(level_cluster_roles={'edit': 'tenant-edit'})
    files = render_namespace_files(build_plan(base_snapshot(), rules), rules)
    docs = list(yaml.safe_load_all(files['ns-web-shop.yaml']))
    assert files['ns-web-shop.yaml'].startswith('# managed by kos.platform keystone_tenancy; project-id: id-web-shop')
    assert [(d['kind'], d['metadata']['name']) for d in docs] == [
        ('Namespace', 'web-shop'), ('RoleBinding', 'kos-tenancy-admin'), ('RoleBinding', 'kos-tenancy-edit')]
    assert docs[2]['roleRef']['name'] == 'tenant-edit'
    rules = Rules(project_group_permission='view')
    files = render_namespace_files(build_plan(base_snapshot(), rules), rules)
    docs = list(yaml.safe_load_all(files['ns-web-shop.yaml']))
    assert docs[3]['subjects'][0] == {'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'Group', 'name': 'id-web-shop'}


def test_orphans_keep_a_bare_namespace_unless_pruned():
    plan = build_plan(snapshot([project('a', pid='p1')], [], []), Rules(), previous={'p9': 'gone'})
    files = render_namespace_files(plan, Rules(), previous={'p9': 'gone'})
    (doc,) = yaml.safe_load_all(files['ns-gone.yaml'])
    assert doc['kind'] == 'Namespace' and doc['metadata']['labels']['kos.platform/orphaned'] == 'true'
    assert 'ns-gone.yaml' not in render_namespace_files(plan, Rules(), prune=True, previous={'p9': 'gone'})


def test_keystone_auth_configmaps():
    plan = build_plan(base_snapshot(), Rules())
    policy_cm, sync_cm = yaml.safe_load_all(render_keystone_auth_configmaps(plan, Rules()))
    policies = json.loads(policy_cm['data']['policies'])
    # One rule per Keystone role: upstream requires ALL roles of a rule (userRoles.IsSuperset).
    assert [p['users'] for p in policies[:3]] == [{'projects': ['id-data_lake'], 'roles': [r]}
                                                   for r in ('admin', 'member', 'reader')]
    assert all('nonresource_permissions' not in p for p in policies)
    view = policies[2]['resource_permissions']
    assert list(view.values()) == [['get', 'list', 'watch']]
    (key,) = view
    assert key.startswith("data-lake/['") and "'secrets'" not in key and '*' not in key
    sync = yaml.safe_load(sync_cm['data']['syncConfig'])
    assert sync['projects-name-blacklist'] == ['admin', 'old', 'service']
    assert sync['namespace-format'] == '%i' and sync['data-types-to-sync'] == []


def test_every_problem_is_reported_in_one_error():
    projects = [project('web-shop', pid='p1'), project('Web.Shop', pid='p2', domain='acme'),
                project('kube-system', pid='p3'), project('p1', pid='p4')]
    groups = [Group('g1', 'system:masters', 'default'), Group('g2', 'kubeadm:cluster-admins', 'acme')]
    snap = Snapshot(projects, [], [], ROLES, groups=groups)
    with pytest.raises(TenancyError) as err:
        build_plan(snap, Rules(role_mapping={'nope': 'view', 'member': 'edit'}))
    message = str(err.value)
    assert message.startswith('6 problems')
    for fragment in ("do not exist: nope", "'system:masters' (id g1", "'kubeadm:cluster-admins' (id g2",
                     "namespace name collision", "protected namespace 'kube-system'", "project 'p1' (id p4"):
        assert fragment in message


def test_disabled_domain_projects_and_users_get_nothing():
    projects = [project('a', pid='p1', domain='acme', domain_enabled=False), project('b', pid='p2')]
    snap = Snapshot(projects, [user('dave', 'u1', domain='acme')], [Assignment('u1', 'p2', 'member')], ROLES,
                    disabled_domains={'acme'})
    plan = build_plan(snap, Rules())
    assert sorted(plan.namespaces) == ['b'] and plan.namespaces['b'].users == {}
    assert [(p.id, why) for p, why in plan.skipped] == [('p1', 'domain disabled')]


def test_a_name_shared_with_a_user_without_grants_gives_nobody_access():
    snap = snapshot([project('a', pid='p1')], [user('bob', 'u1'), user('bob', 'u2', domain='acme', enabled=False)],
                    [('u1', 'p1', 'member')])
    plan = build_plan(snap, Rules())
    assert plan.namespaces['a'].users == {}
    assert any('u1, u2' in w and "'bob'" in w for w in plan.warnings)


def test_group_named_like_a_bound_project_id_is_refused():
    snap = Snapshot([project('a', pid='p1')], [], [], ROLES, groups=[Group('g1', 'p1', 'default')])
    assert build_plan(snap, Rules()).namespaces  # no project group binding: harmless
    with pytest.raises(TenancyError, match="'p1' .id g1.*project-group binding"):
        build_plan(snap, Rules(project_group_permission='view'))


@pytest.mark.parametrize('quota, hard', [
    ({'compute': {'cores': 20, 'ram': 51200, 'instances': 10}, 'volume': {'volumes': 10, 'gigabytes': 1000}},
     {'requests.cpu': '20', 'limits.cpu': '20', 'requests.memory': '51200Mi', 'limits.memory': '51200Mi',
      'pods': '10', 'persistentvolumeclaims': '10', 'requests.storage': '1000Gi'}),
    ({'compute': {'cores': -1, 'ram': -1}, 'volume': {'gigabytes': 5}}, {'requests.storage': '5Gi'}),
    ({'compute': {'cores': -1}, 'volume': {}}, None),
])
def test_quota_mapping(quota, hard):
    assert quota_hard(quota) == hard


def test_resource_quota_in_namespace_file():
    snap = snapshot([project('a', pid='p1')], [], [],
                    quotas={'p1': {'compute': {'cores': 4}, 'volume': {'gigabytes': 50}}})
    files = render_namespace_files(build_plan(snap, Rules()), Rules())
    quota = [d for d in yaml.safe_load_all(files['ns-a.yaml']) if d['kind'] == 'ResourceQuota'][0]
    assert quota['spec']['hard'] == {'limits.cpu': '4', 'requests.cpu': '4', 'requests.storage': '50Gi'}


class StandInKeystone:
    """Stand-in for the identity proxy, answering from a dict of JSON bodies. Only for the two
    states the shared real Keystone of the suite must not be put in: a rule naming a deleted role
    (cannot be removed afterwards, every later test would see it) and an error status."""

    def __init__(self, bodies, errors=()):
        self.bodies, self.errors, self.calls = bodies, dict(errors), []
        self.identity = self

    def get(self, url, params=None):
        import requests
        path = url.split('?')[0]
        self.calls.append((path, dict(params or {})))
        response = requests.Response()
        response.url = 'http://127.0.0.1:1/v3' + path
        response.status_code, body = (self.errors[path], b'<html>Internal Server Error</html>') \
            if path in self.errors else (200, json.dumps(self.bodies[path](params or {})).encode())
        response._content = body
        response.headers['Content-Type'] = 'application/json' if response.status_code == 200 else 'text/html'
        return response


def stand_in_bodies():
    no_next = {'next': None}
    assignments = [{'user': {'id': 'u1'}, 'role': {'id': 'r-member'}, 'scope': {'project': {'id': 'p1'}}}]
    return {
        '/domains': lambda q: {'domains': [{'id': 'd1', 'name': 'Default', 'enabled': True}], 'links': no_next},
        '/projects': lambda q: {'projects': [{'id': 'p1', 'name': 'web', 'domain_id': 'd1', 'parent_id': 'd1',
                                              'enabled': True, 'is_domain': False}], 'links': no_next},
        '/roles': lambda q: {'roles': [{'id': 'r-' + q['name'], 'name': q['name']}], 'links': no_next},
        '/users': lambda q: {'users': [{'id': 'u1', 'name': 'alice', 'domain_id': 'd1', 'enabled': True}],
                             'links': no_next},
        '/groups': lambda q: {'groups': [], 'links': no_next},
        '/role_inferences': lambda q: {'role_inferences': [{'prior_role': {'id': 'r-member', 'name': 'member'},
                                                             'implies': [{'id': 'r-reader', 'name': 'reader'}]}]},
        '/role_assignments': lambda q: {'role_assignments': assignments + ([
            {'user': {'id': 'u1'}, 'role': {'id': 'r-reader'}, 'scope': {'project': {'id': 'p1'}}}]
            if q.get('effective') else [])},
    }


def test_failing_role_inferences_fall_back_to_keystones_effective_listing():
    keystone = StandInKeystone(stand_in_bodies(), errors={'/role_inferences': 500})
    snap = read_keystone(keystone, ['member', 'reader'])
    assert sorted((a.user_id, a.project_id, a.role) for a in snap.assignments) == [
        ('u1', 'p1', 'member'), ('u1', 'p1', 'reader')]
    assert ('/role_assignments', {'effective': 'true'}) in keystone.calls
    rules = Rules(role_mapping={'member': 'edit', 'reader': 'view'})
    plan = build_plan(snap, rules)
    assert any('GET /v3/role_inferences' in w and 'effective listing instead' in w for w in plan.warnings)
    # The same data read normally: resolved here, no effective listing asked for, no warning.
    keystone = StandInKeystone(stand_in_bodies())
    snap = read_keystone(keystone, ['member', 'reader'])
    assert sorted((a.user_id, a.project_id, a.role) for a in snap.assignments) == [
        ('u1', 'p1', 'member'), ('u1', 'p1', 'reader')]
    assert all(params.get('effective') is None for _path, params in keystone.calls)
    assert build_plan(snap, rules).warnings == []


@pytest.mark.parametrize('path, status', [('/role_assignments', 403), ('/users', 500), ('/role_inferences', 403)])
def test_an_error_status_stops_the_read_instead_of_reading_an_empty_list(path, status):
    from openstack import exceptions as sdk_exceptions
    with pytest.raises(sdk_exceptions.HttpException) as caught:
        read_keystone(StandInKeystone(stand_in_bodies(), errors={path: status}), ['member', 'reader'])
    assert caught.value.status_code == status


class StandInQuotaCloud:
    """Stand-in for nova's and cinder's quota APIs (neither runs in the Keystone suite): answers
    get_quota_set per project, slowly, and records the most requests it saw in flight at once."""

    def __init__(self):
        import threading
        self.lock, self.in_flight, self.most = threading.Lock(), 0, 0
        self.compute = self.block_storage = self

    def get_quota_set(self, project_id):
        import time
        from types import SimpleNamespace
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        time.sleep(0.02)
        with self.lock:
            self.in_flight -= 1
        n = int(project_id[1:])
        return SimpleNamespace(cores=n, ram=1024 * n, instances=-1, volumes=n, gigabytes=10 * n)


@pytest.mark.parametrize('workers', [1, 4])
def test_quotas_are_read_per_project_by_a_bounded_pool(workers):
    cloud = StandInQuotaCloud()
    projects = [project('t%d' % i, pid='p%d' % i) for i in range(1, 13)]
    quotas = read_quotas(cloud, projects, workers=workers)
    assert quotas == {'p%d' % i: {'compute': {'cores': i, 'ram': 1024 * i, 'instances': -1},
                                  'volume': {'volumes': i, 'gigabytes': 10 * i}} for i in range(1, 13)}
    assert cloud.most == 1 if workers == 1 else 1 < cloud.most <= workers


@pytest.mark.parametrize('data', [
    {'a': 'plain', 'b': 'yes', 'c': '%i', 'd': '', 'e': [], 'f': {}, 'g': 3, 'h': True, 'i': 'x: y', 'j': '*'},
    {'list': [{'k': 'v', 'n': [1, 2]}, 'x', {'deep': {'deeper': ['a']}}]},
    {'text': 'line one\nline two\n'},
    {'text': 'no final newline\nx', 'two': 'ends twice\n\n', 'lead': ' space\nx', 'deep': {'t': 'a\n\nb\n'}},
])
def test_to_yaml_round_trips(data):
    assert yaml.safe_load(to_yaml(data) + '\n') == data


# --------------------------------------------------------------------------- files and determinism
def test_convert_is_deterministic_and_idempotent(tmp_path):
    args = dict(abac_file=str(tmp_path / 'abac.jsonl'), manifests_dir=str(tmp_path / 'm'),
                keystone_auth_file=str(tmp_path / 'ka.yaml'))
    snap = base_snapshot()
    snap.assignments.reverse()  # input order must not matter
    _, changes, _ = convert(snap, Rules(), **args)
    assert sorted(c.action for c in changes) == ['create'] * 4
    write_files(changes)
    _, again, _ = convert(base_snapshot(), Rules(), **args)
    assert again == []


def test_foreign_files_are_ignored_and_orphans_pruned(tmp_path):
    manifests = tmp_path / 'm'
    manifests.mkdir()
    (manifests / 'ns-mine.yaml').write_text('# managed by kos.platform keystone_tenancy; project-id: p7\n---\n')
    (manifests / 'ns-theirs.yaml').write_text('# hand made\n')
    (manifests / 'other.yaml').write_text('x: 1\n')
    assert read_previous(str(manifests)) == ({'p7': 'mine'}, {'ns-mine.yaml'})
    snap = snapshot([project('a', pid='p1')], [], [])
    _, changes, summary = convert(snap, Rules(), manifests_dir=str(manifests), prune=True)
    assert sorted((c.action, c.path.rsplit('/', 1)[1]) for c in changes) == [('create', 'ns-a.yaml'),
                                                                             ('delete', 'ns-mine.yaml')]
    assert summary['pruned_namespaces'] == ['mine'] and summary['orphaned_namespaces'] == []
    write_files(changes)
    assert sorted(p.name for p in manifests.iterdir()) == ['ns-a.yaml', 'ns-theirs.yaml', 'other.yaml']


def test_write_files_sets_the_mode(tmp_path):
    snap = snapshot([project('a', pid='p1')], [], [])
    _, changes, _ = convert(snap, Rules(), abac_file=str(tmp_path / 'deep' / 'abac.jsonl'))
    write_files(changes, mode=0o600)
    assert oct((tmp_path / 'deep' / 'abac.jsonl').stat().st_mode & 0o777) == '0o600'
    assert not [p for p in (tmp_path / 'deep').iterdir() if p.name.startswith('.kos-tenancy-')]
