"""keystone_tenancy against a real Keystone: exact outputs, diffs, idempotence, safety, errors.

The tests run in file order and share one Keystone; every test that changes Keystone puts
it back before it ends, so each one starts from the seed (see seed.py).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
from conftest import TOP, admin_auth, kubernetes_validate, load_docs, run_module, tree

from ansible_collections.kos.platform.plugins.module_utils.kos_tenancy import abac_resources

sys.path.insert(0, TOP)
from tests.unit.authz.evaluator import Identity, Request, abac_allows, keystone_auth_allows  # noqa: E402

ABAC = 'abac.authorization.kubernetes.io/v1beta1'


def abac_line(**spec):
    return json.dumps({'apiVersion': ABAC, 'kind': 'Policy', 'spec': spec}, sort_keys=True, separators=(',', ':'))


def user_lines(user, namespace, level):
    """The ABAC lines of one user on one namespace: the upstream ClusterRole of the level, resource by
    resource (the derivation itself is proven by tests/unit/authz)."""
    return [abac_line(user=user, namespace=namespace, apiGroup=group, resource=resource, readonly=readonly)
            for group, resource, readonly in abac_resources(level)]


CLI = 'ansible_collections.kos.platform.plugins.module_utils.kos_tenancy_cli'
SEED_ACCESS = [  # (user, namespace, level), in file order
    ('dave', 'analytics', 'edit'),  # inherited from the acme domain (erin is disabled)
    ('dave', 'analytics-ml', 'edit'),
    ('frank', 'analytics-ml', 'view'),  # ml-team, inherited to analytics' subtree
    ('alice', 'data-lake', 'view'),
    ('alice', 'web-shop', 'admin'),
    ('bob', 'web-shop', 'edit'),  # reader + member through shop-devs: member wins
    ('carol', 'web-shop', 'edit'),  # member through shop-devs
]


def expected_abac(ids, access=SEED_ACCESS):
    return [line for user, namespace, level in access for line in user_lines(user, namespace, level)]


def module_args(outdir, **extra):
    args = dict(auth=admin_auth(), abac_file=str(outdir / 'abac.jsonl'), manifests_dir=str(outdir / 'manifests'),
                keystone_auth_file=str(outdir / 'keystone-auth.yaml'), api_retries=0)
    args.update(extra)
    return args


def read_lines(path):
    with open(path) as handle:
        return handle.read().splitlines()


def role_assignment(admin_conn, project_id, user_id, role, grant):
    idn = admin_conn.identity
    role_id = idn.find_role(role, ignore_missing=False).id
    if grant:
        idn.assign_project_role_to_user(project_id, user_id, role_id)
    else:
        idn.unassign_project_role_from_user(project_id, user_id, role_id)


# --------------------------------------------------------------------------- the happy path
def test_first_run_writes_exact_abac_lines(ids, outdir, tmp_path):
    result = run_module(tmp_path, module_args(outdir))
    assert not result.get('failed'), result.get('msg')
    assert result['changed'] is True
    assert read_lines(outdir / 'abac.jsonl') == expected_abac(ids)
    assert result['namespaces'] == {
        'analytics': {'project_id': ids['projects']['analytics'], 'project': 'analytics', 'domain': 'acme',
                      'users': {'dave': 'edit'}},
        'analytics-ml': {'project_id': ids['projects']['analytics-ml'], 'project': 'analytics-ml',
                         'domain': 'acme', 'users': {'dave': 'edit', 'frank': 'view'}},
        'data-lake': {'project_id': ids['projects']['Data_Lake'], 'project': 'Data_Lake', 'domain': 'Default',
                      'users': {'alice': 'view'}},
        'web-shop': {'project_id': ids['projects']['web-shop'], 'project': 'web-shop', 'domain': 'Default',
                     'users': {'alice': 'admin', 'bob': 'edit', 'carol': 'edit'}},
    }
    assert [(s['name'], s['reason']) for s in result['skipped_projects']] == [
        ('admin', "matches skip pattern 'admin'"), ('service', "matches skip pattern 'service'")]
    assert any("'system:node-x'" in w for w in result['warnings_tenancy'])
    # A few Keystone calls, whatever the number of projects and grants: only the pages of the plain
    # lists grow (run.sh caps Keystone pages at 3 entries); users and groups are listed per domain
    # (two domains here), since domains with their own identity backend are not in the global list.
    assert result['api_calls'] <= 22


def test_keystone_cuts_unpaged_lists_but_the_converter_pages(admin_conn, ids, outdir):
    """The trap is real here: without a limit Keystone returns max_db_limit users and no next link."""
    response = admin_conn.session.get('/users', endpoint_filter={'service_type': 'identity'})
    body = response.json()
    assert len(body['users']) == 3 and body['links']['next'] is None
    users_with_access = {json.loads(line)['spec'].get('user') for line in read_lines(outdir / 'abac.jsonl')}
    assert {'alice', 'bob', 'carol', 'dave', 'frank'} <= users_with_access


def test_rbac_objects_are_exact_and_valid(ids, outdir):
    manifests = outdir / 'manifests'
    assert sorted(os.listdir(manifests)) == ['ns-analytics-ml.yaml', 'ns-analytics.yaml', 'ns-data-lake.yaml',
                                              'ns-web-shop.yaml']
    docs = load_docs(manifests / 'ns-web-shop.yaml')
    web = ids['projects']['web-shop']
    # No project-group binding unless asked (anyone with any role on the project would get it).
    assert [(d['kind'], d['metadata']['name']) for d in docs] == [
        ('Namespace', 'web-shop'), ('RoleBinding', 'kos-tenancy-admin'), ('RoleBinding', 'kos-tenancy-edit')]
    namespace = docs[0]['metadata']
    assert namespace['labels'] == {'app.kubernetes.io/managed-by': 'kos-tenancy', 'kos.platform/project-id': web}
    assert namespace['annotations'] == {'kos.platform/project-id': web, 'kos.platform/project-name': 'web-shop',
                                        'kos.platform/project-domain': 'Default'}
    bindings = {d['metadata']['name']: d for d in docs[1:]}
    for binding in bindings.values():
        assert binding['metadata']['namespace'] == 'web-shop'
        assert binding['roleRef']['kind'] == 'ClusterRole'
    assert bindings['kos-tenancy-admin']['roleRef']['name'] == 'admin'
    assert [s['name'] for s in bindings['kos-tenancy-admin']['subjects']] == ['alice']
    assert bindings['kos-tenancy-edit']['roleRef']['name'] == 'edit'
    assert [s['name'] for s in bindings['kos-tenancy-edit']['subjects']] == ['bob', 'carol']
    # Nothing cluster-wide, nothing for system: users.
    every = [d for f in sorted(os.listdir(manifests)) for d in load_docs(manifests / f)]
    assert {d['kind'] for d in every} == {'Namespace', 'RoleBinding'}
    assert all(not s['name'].startswith('system:') for d in every for s in d.get('subjects', []))
    ml = {d['metadata']['name']: d for d in load_docs(manifests / 'ns-analytics-ml.yaml')}
    assert [s['name'] for s in ml['kos-tenancy-edit']['subjects']] == ['dave']
    assert [s['name'] for s in ml['kos-tenancy-view']['subjects']] == ['frank']

    proc = kubernetes_validate(*(manifests / f for f in sorted(os.listdir(manifests))), outdir / 'keystone-auth.yaml')
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_kubernetes_validate_rejects_a_broken_binding(tmp_path):
    """The schema check above can fail: an unknown field in a RoleBinding is refused."""
    bad = tmp_path / 'bad.yaml'
    bad.write_text('apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: x, namespace: y}\n'
                   'roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\n'
                   'subjects: [{kind: User, name: a, namespaces: z}]\n')
    assert kubernetes_validate(bad).returncode != 0


def test_keystone_auth_configmaps(ids, outdir):
    policy_cm, sync_cm = load_docs(outdir / 'keystone-auth.yaml')
    assert (policy_cm['kind'], policy_cm['metadata']['name'], policy_cm['metadata']['namespace']) == (
        'ConfigMap', 'k8s-auth-policy', 'kube-system')
    policies = json.loads(policy_cm['data']['policies'])
    web = ids['projects']['web-shop']
    web_rules = [p for p in policies if p['users']['projects'] == [web]]
    assert [p['users']['roles'] for p in web_rules] == [['admin'], ['member'], ['reader']]
    assert all('nonresource_permissions' not in p and not any('*' in key for key in p['resource_permissions'])
               for p in policies)
    assert len(policies) == 4 * 3  # four namespaces, three mapped roles
    assert sync_cm['metadata']['name'] == 'keystone-sync-policy'
    import yaml
    sync = yaml.safe_load(sync_cm['data']['syncConfig'])
    assert sync == {'data-types-to-sync': [], 'namespace-format': '%i',
                    'projects-blacklist': sorted([ids['projects']['admin'], ids['projects']['service']]),
                    'projects-name-blacklist': ['admin', 'service'], 'role-mappings': []}


def token_identity(ids, user, project):
    """The identity k8s-keystone-auth builds from a REAL token of this Keystone (authenticator.go)."""
    import openstack
    import seed
    auth = admin_auth(username=user, password=seed.USER_PASSWORD, project_name=project)
    conn = openstack.connect(auth=auth, auth_type='password', region_name='RegionOne')
    access = conn.session.auth.get_access(conn.session)
    # Keystone group names would be added too; they only matter for a project-group binding (off).
    return Identity(access.username, ('system:authenticated', access.project_id),
                    roles=tuple(sorted(access.role_names)), project_id=access.project_id,
                    project_name=access.project_name)


def test_outputs_evaluated_with_real_tokens(ids, outdir):
    """Tokens of the real Keystone (roles incl. implied ones), the rendered files, upstream's rules."""
    policy = json.loads(load_docs(outdir / 'keystone-auth.yaml')[0]['data']['policies'])
    abac = (outdir / 'abac.jsonl').read_text()
    bob = token_identity(ids, 'bob', 'web-shop')  # reader + member (group): member implies reader
    assert {'member', 'reader'} <= set(bob.roles)
    for allows, source in ((keystone_auth_allows, policy), (abac_allows, abac)):
        assert allows(source, bob, Request('create', 'web-shop', 'apps', 'deployments'))
        assert allows(source, bob, Request('get', 'web-shop', '', 'secrets'))  # upstream edit reads Secrets
        assert not allows(source, bob, Request('update', 'web-shop', '', 'resourcequotas'))
        assert not allows(source, bob, Request('create', 'web-shop', 'rbac.authorization.k8s.io', 'rolebindings'))
        assert not allows(source, bob, Request('get', 'data-lake', '', 'pods'))
        assert not allows(source, bob, Request('get', '', '', 'nodes'))
    assert not abac_allows(abac, bob, Request('get', path='/metrics'))
    alice = token_identity(ids, 'alice', 'Data_Lake')  # reader only
    assert keystone_auth_allows(policy, alice, Request('list', 'data-lake', '', 'pods'))
    assert not keystone_auth_allows(policy, alice, Request('get', 'data-lake', '', 'secrets'))
    assert not keystone_auth_allows(policy, alice, Request('get', 'web-shop', '', 'pods'))  # token scoped elsewhere


def test_two_roles_mapped_to_one_level_each_grant_it(admin_conn, ids, outdir, tmp_path):
    """Issue item 4: one rule per Keystone role, since upstream requires ALL roles listed in a rule."""
    role = admin_conn.identity.create_role(name='k8s-developer')
    try:
        mapping = {'admin': 'admin', 'member': 'edit', 'k8s-developer': 'edit', 'reader': 'view'}
        out = tmp_path / 'two-roles'
        result = run_module(tmp_path, module_args(out, role_mapping=mapping))
        assert not result.get('failed'), result.get('msg')
        policy = json.loads(load_docs(out / 'keystone-auth.yaml')[0]['data']['policies'])
        bob = token_identity(ids, 'bob', 'web-shop')  # holds member, not k8s-developer
        assert 'k8s-developer' not in bob.roles
        assert keystone_auth_allows(policy, bob, Request('create', 'web-shop', 'apps', 'deployments'))
    finally:
        admin_conn.identity.delete_role(role)


def test_second_run_changes_nothing(outdir, tmp_path):
    before = tree(outdir)
    result = run_module(tmp_path, module_args(outdir))
    assert result['changed'] is False and result['files'] == []
    checked = run_module(tmp_path, module_args(outdir), check=True, diff=True)
    assert checked['changed'] is False and checked['diff'] == []
    assert tree(outdir) == before


# --------------------------------------------------------------------------- changes and their diff
def test_assignment_changes_show_as_diff(admin_conn, ids, outdir, tmp_path):
    p, u = ids['projects'], ids['users']
    before = tree(outdir)
    role_assignment(admin_conn, p['web-shop'], u['alice'], 'admin', grant=False)
    role_assignment(admin_conn, p['Data_Lake'], u['frank'], 'member', grant=True)
    try:
        checked = run_module(tmp_path, module_args(outdir), check=True, diff=True)
        assert checked['changed'] is True
        assert tree(outdir) == before, 'check mode wrote files'
        abac_diff = [d for d in checked['diff'] if d['after_header'].endswith('abac.jsonl')]
        assert len(abac_diff) == 1
        removed = set(abac_diff[0]['before'].splitlines()) - set(abac_diff[0]['after'].splitlines())
        added = set(abac_diff[0]['after'].splitlines()) - set(abac_diff[0]['before'].splitlines())
        assert removed == set(user_lines('alice', 'web-shop', 'admin'))
        assert added == set(user_lines('frank', 'data-lake', 'edit'))
        # Keystone-auth policy is per project and role, not per user: it does not move.
        assert sorted(os.path.basename(f['path']) for f in checked['files']) == [
            'abac.jsonl', 'ns-data-lake.yaml', 'ns-web-shop.yaml']

        applied = run_module(tmp_path, module_args(outdir))
        assert applied['changed'] is True
        web = {d['metadata']['name']: d for d in load_docs(outdir / 'manifests' / 'ns-web-shop.yaml')}
        assert 'kos-tenancy-admin' not in web
        lake = {d['metadata']['name']: d for d in load_docs(outdir / 'manifests' / 'ns-data-lake.yaml')}
        assert [s['name'] for s in lake['kos-tenancy-edit']['subjects']] == ['frank']
    finally:
        role_assignment(admin_conn, p['web-shop'], u['alice'], 'admin', grant=True)
        role_assignment(admin_conn, p['Data_Lake'], u['frank'], 'member', grant=False)
    restored = run_module(tmp_path, module_args(outdir))
    assert restored['changed'] is True
    assert read_lines(outdir / 'abac.jsonl') == expected_abac(ids)
    assert tree(outdir) == before


# --------------------------------------------------------------------------- safety
def test_vanished_project_keeps_its_namespace_unless_pruned(admin_conn, ids, outdir, tmp_path):
    idn = admin_conn.identity
    project = idn.create_project(name='tmp-proj', domain_id='default')
    role_assignment(admin_conn, project.id, ids['users']['bob'], 'member', grant=True)
    created = run_module(tmp_path, module_args(outdir))
    ns_file = outdir / 'manifests' / 'ns-tmp-proj.yaml'
    assert created['changed'] and ns_file.exists()
    assert set(user_lines('bob', 'tmp-proj', 'edit')) <= set(read_lines(outdir / 'abac.jsonl'))

    idn.delete_project(project)
    orphaned = run_module(tmp_path, module_args(outdir))
    assert orphaned['changed'] is True
    assert orphaned['orphaned_namespaces'] == ['tmp-proj'] and orphaned['pruned_namespaces'] == []
    docs = load_docs(ns_file)
    assert [d['kind'] for d in docs] == ['Namespace'], 'bindings of a vanished project must go'
    assert docs[0]['metadata']['labels']['kos.platform/orphaned'] == 'true'
    assert not any('tmp-proj' in line for line in read_lines(outdir / 'abac.jsonl'))

    again = run_module(tmp_path, module_args(outdir))
    assert again['changed'] is False and again['orphaned_namespaces'] == ['tmp-proj']

    pruned = run_module(tmp_path, module_args(outdir, prune=True))
    assert pruned['changed'] is True and pruned['pruned_namespaces'] == ['tmp-proj']
    assert [f['action'] for f in pruned['files']] == ['delete']
    assert not ns_file.exists()
    assert read_lines(outdir / 'abac.jsonl') == expected_abac(ids)


def test_foreign_files_in_manifests_dir_are_never_touched(outdir, tmp_path):
    foreign = outdir / 'manifests' / 'ns-kube-system.yaml'
    foreign.write_text('# written by an operator\napiVersion: v1\nkind: Namespace\nmetadata: {name: kube-system}\n')
    try:
        result = run_module(tmp_path, module_args(outdir, prune=True))
        assert result['changed'] is False
        assert foreign.read_text().startswith('# written by an operator')
    finally:
        foreign.unlink()


def test_renamed_project_keeps_its_namespace(admin_conn, ids, outdir, tmp_path):
    idn = admin_conn.identity
    ml = ids['projects']['analytics-ml']
    idn.update_project(ml, name='ML Research')
    try:
        result = run_module(tmp_path, module_args(outdir))
        assert result['changed'] is True
        assert 'analytics-ml' in result['namespaces'] and 'ml-research' not in result['namespaces']
        ns = load_docs(outdir / 'manifests' / 'ns-analytics-ml.yaml')[0]
        assert ns['metadata']['annotations']['kos.platform/project-name'] == 'ML Research'
    finally:
        idn.update_project(ml, name='analytics-ml')
    assert run_module(tmp_path, module_args(outdir))['changed'] is True
    assert run_module(tmp_path, module_args(outdir))['changed'] is False


def test_users_sharing_a_name_across_domains_get_nothing(admin_conn, ids, outdir, tmp_path):
    idn = admin_conn.identity
    acme = ids['domains']['acme']
    twin = idn.create_user(name='bob', domain_id=acme, password='x-twin-pw')
    role_assignment(admin_conn, ids['projects']['analytics'], twin.id, 'member', grant=True)
    try:
        result = run_module(tmp_path, module_args(outdir), check=True)
        assert 'bob' not in result['namespaces']['web-shop']['users']
        assert 'bob' not in result['namespaces']['analytics']['users']
        assert any("share the name 'bob'" in w for w in result['warnings_tenancy'])
    finally:
        idn.delete_user(twin)
    assert run_module(tmp_path, module_args(outdir), check=True)['changed'] is False


def test_a_name_shared_with_a_user_who_has_no_grant_gives_nobody_access(admin_conn, ids, outdir, tmp_path):
    """Issue item 1: a disabled user of another domain with NO role at all still takes the name."""
    idn = admin_conn.identity
    twin = idn.create_user(name='alice', domain_id=ids['domains']['acme'], password='x-twin-pw', is_enabled=False)
    try:
        result = run_module(tmp_path, module_args(outdir), check=True)
        assert not result.get('failed'), result.get('msg')
        assert all('alice' not in ns['users'] for ns in result['namespaces'].values())
        warning = [w for w in result['warnings_tenancy'] if "share the name 'alice'" in w]
        assert warning and ids['users']['alice'] in warning[0] and twin.id in warning[0]
    finally:
        idn.delete_user(twin)


def test_projects_of_a_disabled_domain_get_nothing(admin_conn, ids, outdir, tmp_path):
    """Issue item 2: Keystone refuses tokens in a disabled domain; its projects get no namespace."""
    idn = admin_conn.identity
    domain = idn.create_domain(name='frozen', is_enabled=True)
    project = idn.create_project(name='cold-store', domain_id=domain.id)
    role_assignment(admin_conn, project.id, ids['users']['bob'], 'member', grant=True)
    try:
        idn.update_domain(domain, is_enabled=False)
        result = run_module(tmp_path, module_args(outdir), check=True)
        assert not result.get('failed'), result.get('msg')
        assert 'cold-store' not in result['namespaces']
        assert {'id': project.id, 'name': 'cold-store', 'domain': 'frozen', 'reason': 'domain disabled'} in \
            result['skipped_projects']
        # Only the sync ConfigMap moves (its blacklist names skipped projects): no namespace, no binding.
        assert [os.path.basename(f['path']) for f in result['files']] == ['keystone-auth.yaml']
    finally:
        idn.update_domain(domain, is_enabled=False)
        idn.delete_project(project)
        idn.delete_domain(domain)


def test_project_group_binding_only_on_request(ids, outdir, tmp_path):
    """Issue item 6: by default nobody gets rights for merely holding some role on the project."""
    assert not any('group' in json.loads(line)['spec'] for line in read_lines(outdir / 'abac.jsonl'))
    out = tmp_path / 'with-group'
    result = run_module(tmp_path, module_args(out, project_group_permission='view'))
    assert not result.get('failed'), result.get('msg')
    docs = {d['metadata']['name']: d for d in load_docs(out / 'manifests' / 'ns-web-shop.yaml')}
    assert docs['kos-tenancy-project-group']['subjects'] == [
        {'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'Group', 'name': ids['projects']['web-shop']}]


def test_reserved_keystone_group_names_stop_the_run(admin_conn, ids, outdir, tmp_path):
    """Issue item 5: k8s-keystone-auth passes Keystone group NAMES to Kubernetes (authenticator.go)."""
    idn = admin_conn.identity
    group = idn.create_group(name='system:masters', domain_id=ids['domains']['acme'])
    try:
        assert_fails_cleanly(tmp_path, outdir, module_args(outdir), "Keystone group 'system:masters' (id %s"
                             % group.id, 'rename the Keystone group')
    finally:
        idn.delete_group(group)


def test_every_problem_is_reported_in_one_run(admin_conn, ids, outdir, tmp_path):
    """Issue item 7: collisions, refused names and bad mappings together, before anything is written."""
    idn = admin_conn.identity
    twin = idn.create_project(name='Web.Shop', domain_id=ids['domains']['acme'])
    kube = idn.create_project(name='Kube System', domain_id='default')
    group = idn.create_group(name='kubeadm:cluster-admins', domain_id='default')
    try:
        mapping = {'admin': 'admin', 'member': 'edit', 'k8s-operator': 'edit'}
        result = assert_fails_cleanly(
            tmp_path, outdir, module_args(outdir, role_mapping=mapping), '4 problems',
            'do not exist: k8s-operator', "'kubeadm:cluster-admins' (id %s" % group.id,
            "protected namespace 'kube-system'", 'namespace name collision', twin.id)
        assert result['msg'].count('\n- ') == 4
    finally:
        idn.delete_project(twin)
        idn.delete_project(kube)
        idn.delete_group(group)


def test_implied_roles_of_unmapped_roles_count(admin_conn, ids, outdir, tmp_path):
    """An unmapped role that implies a mapped one grants it: Keystone's effective listing expands
    implied roles, exactly as tokens carry them."""
    idn = admin_conn.identity
    auditor = idn.create_role(name='auditor')
    reader = idn.find_role('reader', ignore_missing=False)
    admin_conn.session.put('/roles/%s/implies/%s' % (auditor.id, reader.id),
                           endpoint_filter={'service_type': 'identity'})
    idn.assign_project_role_to_user(ids['projects']['Data_Lake'], ids['users']['carol'], auditor)
    try:
        result = run_module(tmp_path, module_args(outdir), check=True)
        assert result['namespaces']['data-lake']['users'] == {'alice': 'view', 'carol': 'view'}
        carol = token_identity(ids, 'carol', 'Data_Lake')
        assert set(carol.roles) == {'auditor', 'reader'}
    finally:
        idn.unassign_project_role_from_user(ids['projects']['Data_Lake'], ids['users']['carol'], auditor)
        # The rule first: Keystone's sqlite backend leaves it behind a deleted role (no ON DELETE
        # CASCADE), and GET /v3/role_inferences then fails with HTTP 500.
        admin_conn.session.delete('/roles/%s/implies/%s' % (auditor.id, reader.id),
                                  endpoint_filter={'service_type': 'identity'})
        idn.delete_role(auditor)
    assert run_module(tmp_path, module_args(outdir), check=True)['changed'] is False


# --------------------------------------------------------------------------- bad input writes nothing
def assert_fails_cleanly(tmp_path, outdir, args, *fragments):
    before = tree(outdir)
    result = run_module(tmp_path, args)
    assert result.get('failed') is True, result
    for fragment in fragments:
        assert fragment in result['msg'], result['msg']
    assert tree(outdir) == before, 'a failed run changed files'
    return result


def test_colliding_namespace_names_name_both_projects(admin_conn, ids, outdir, tmp_path):
    idn = admin_conn.identity
    twin = idn.create_project(name='Web.Shop', domain_id=ids['domains']['acme'])
    try:
        assert_fails_cleanly(tmp_path, outdir, module_args(outdir), 'namespace name collision',
                             "project 'web-shop' (id %s, domain Default)" % ids['projects']['web-shop'],
                             "project 'Web.Shop' (id %s, domain acme)" % twin.id, "'web-shop'")
        # The documented way out: a domain in the format (or an override) separates them. Without
        # sticky_namespaces the existing namespaces would keep their names from the earlier output.
        result = run_module(tmp_path, module_args(outdir, namespace_format='{domain}-{name}',
                                                  sticky_namespaces=False), check=True)
        assert not result.get('failed'), result.get('msg')
        assert {'default-web-shop', 'acme-web-shop'} <= set(result['namespaces'])
    finally:
        idn.delete_project(twin)


def test_unknown_keystone_role_in_mapping(outdir, tmp_path):
    mapping = {'admin': 'admin', 'member': 'edit', 'k8s-operator': 'edit'}
    assert_fails_cleanly(tmp_path, outdir, module_args(outdir, role_mapping=mapping),
                         "Keystone role(s) that do not exist: k8s-operator")


def test_unknown_permission_level(outdir, tmp_path):
    assert_fails_cleanly(tmp_path, outdir, module_args(outdir, role_mapping={'member': 'superuser'}),
                         "unknown permission level 'superuser'")


def test_cluster_admin_is_never_granted(outdir, tmp_path):
    assert_fails_cleanly(tmp_path, outdir, module_args(outdir, level_cluster_roles={'admin': 'cluster-admin'}),
                         'cluster-admin and system: roles are never granted')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_unreachable_keystone(outdir, tmp_path):
    url = 'http://127.0.0.1:%d/v3' % free_port()
    assert_fails_cleanly(tmp_path, outdir, module_args(outdir, auth=admin_auth(auth_url=url)),
                         'cannot reach Keystone at %s' % url)


def test_bad_credentials(outdir, tmp_path):
    assert_fails_cleanly(tmp_path, outdir, module_args(outdir, auth=admin_auth(password='wrong-password')),
                         'rejected the credentials (HTTP 401)')


def test_quotas_need_compute_and_volume_services(outdir, tmp_path):
    # This Keystone's catalog has only identity: the quota lookup must fail clearly, writing nothing.
    assert_fails_cleanly(tmp_path, outdir, module_args(outdir, resource_quotas=True), 'catalog')


# --------------------------------------------------------------------------- command line
def test_command_line_matches_the_module(outdir, tmp_path):
    clouds = tmp_path / 'clouds.yaml'
    import yaml
    clouds.write_text(yaml.safe_dump({'clouds': {'kos-it': {'auth': admin_auth(), 'region_name': 'RegionOne'}}}))
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(clouds), PYTHONPATH=os.pathsep.join(sys.path))
    cli_out = tmp_path / 'cli'
    cmd = [sys.executable, '-m', CLI, '--cloud', 'kos-it', '--abac-file', str(cli_out / 'abac.jsonl'),
           '--manifests-dir', str(cli_out / 'manifests')]
    checked = subprocess.run(cmd + ['--check', '--json'], env=env, capture_output=True, text=True, timeout=120)
    assert checked.returncode == 2, checked.stderr
    assert json.loads(checked.stdout)['changed'] is True and not cli_out.exists()
    written = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert written.returncode == 2, written.stderr
    assert '4 namespaces' in written.stdout
    assert (cli_out / 'abac.jsonl').read_text() == (outdir / 'abac.jsonl').read_text()
    for name in os.listdir(outdir / 'manifests'):
        assert (cli_out / 'manifests' / name).read_text() == (outdir / 'manifests' / name).read_text()
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    bad = subprocess.run(cmd + ['--cloud', 'no-such-cloud'], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and 'kos-tenancy: error:' in bad.stderr


@pytest.mark.parametrize('rules, message', [
    ({'role_mapping': {'member': 'owner'}}, "unknown permission level 'owner'"),
    ({'no_such_rule': 1}, 'unknown keys no_such_rule'),
])
def test_command_line_rejects_bad_rules(tmp_path, rules, message):
    config = tmp_path / 'rules.json'
    config.write_text(json.dumps(rules))
    proc = subprocess.run([sys.executable, '-m', CLI, '--config', str(config),
                           '--abac-file', str(tmp_path / 'abac.jsonl')],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert proc.returncode == 1 and message in proc.stderr, proc.stderr
    assert not (tmp_path / 'abac.jsonl').exists()
