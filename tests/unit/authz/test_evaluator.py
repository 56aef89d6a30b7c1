"""The evaluator follows upstream's matching rules (cases taken from the upstream sources and tests),
and it shows the holes of the converter's former output (issue: tenancy, secure by construction).

Upstream files: kubernetes pkg/auth/authorizer/abac/abac.go (+ abac_test.go), pkg/apis/rbac/v1/
evaluation_helpers.go, cloud-provider-openstack v1.36.0 pkg/identity/keystone/authorizer.go (+
authorizer_test.go, examples/webhook/keystone-policy-configmap.yaml).
"""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.kos.platform.plugins.module_utils.kos_tenancy import level_rules
from tests.unit.authz.evaluator import (
    Identity,
    Rbac,
    Request,
    abac_allows,
    cluster_role_rules,
    keystone_auth_allows,
    rule_allows,
)

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
UPSTREAM = os.path.join(TOP, '..', 'shared', 'upstream', 'cloud-provider-openstack')

ALICE = Identity('alice', groups=('system:authenticated', 'p1'), roles=('member',), project_id='p1',
                 project_name='shop')


# --------------------------------------------------------------------------- ABAC (abac.go)
def test_abac_readonly_allows_only_get_list_watch_and_ignores_the_subresource():
    spec = {'user': 'alice', 'namespace': 'shop', 'apiGroup': '', 'resource': 'pods', 'readonly': True}
    assert abac_allows([spec], ALICE, Request('get', 'shop', '', 'pods'))
    assert not abac_allows([spec], ALICE, Request('create', 'shop', '', 'pods'))
    # resourceMatches compares a.GetResource() only: GET pods/proxy matches a 'pods' line.
    assert abac_allows([spec], ALICE, Request('get', 'shop', '', 'pods', 'proxy'))
    assert not abac_allows([spec], ALICE, Request('get', 'other', '', 'pods'))
    assert not abac_allows([spec], ALICE, Request('get', 'shop', 'apps', 'pods'))
    assert not abac_allows([spec], Identity('bob'), Request('get', 'shop', '', 'pods'))


def test_abac_subject_needs_user_or_group_and_star_paths_are_prefixes():
    nobody = {'namespace': '*', 'resource': '*', 'apiGroup': '*'}
    assert not abac_allows([nobody], ALICE, Request('get', 'x', '', 'pods'))
    spec = {'group': 'system:authenticated', 'nonResourcePath': '/apis/*', 'readonly': True}
    assert abac_allows([spec], ALICE, Request('get', path='/apis/apps/v1'))
    assert not abac_allows([spec], ALICE, Request('get', path='/metrics'))
    assert not abac_allows([spec], ALICE, Request('post', path='/apis/x'))


def test_former_abac_lines_granted_more_than_the_readme_said():
    """The converter's old lines, evaluated by upstream's rules: the holes of the issue, item 3."""
    discovery = {'group': 'system:authenticated', 'nonResourcePath': '*', 'readonly': True}
    reader = {'user': 'alice', 'namespace': 'shop', 'resource': '*', 'apiGroup': '*', 'readonly': True}
    editor = {'user': 'alice', 'namespace': 'shop', 'resource': '*', 'apiGroup': '*', 'readonly': False}
    assert abac_allows([discovery], ALICE, Request('get', path='/debug/pprof/profile'))
    assert abac_allows([reader], ALICE, Request('get', 'shop', '', 'secrets'))
    assert abac_allows([editor], ALICE, Request('update', 'shop', '', 'resourcequotas'))
    # The upstream ClusterRoles deny all three.
    view = Rbac({'view': cluster_role_rules(level_rules('view'))}, [binding('shop', 'view', 'alice')])
    edit = Rbac({'edit': cluster_role_rules(level_rules('edit'))}, [binding('shop', 'edit', 'alice')])
    assert not view.allows(ALICE, Request('get', 'shop', '', 'secrets'))
    assert not edit.allows(ALICE, Request('update', 'shop', '', 'resourcequotas'))
    assert not edit.allows(ALICE, Request('create', 'shop', 'rbac.authorization.k8s.io', 'roles'))


# --------------------------------------------------------------------------- RBAC (evaluation_helpers.go)
def binding(namespace, role, user):
    return {'metadata': {'namespace': namespace}, 'roleRef': {'kind': 'ClusterRole', 'name': role},
            'subjects': [{'kind': 'User', 'name': user}]}


@pytest.mark.parametrize('rule, req, allowed', [
    ({'apiGroups': [''], 'resources': ['pods'], 'verbs': ['get']}, Request('get', 'n', '', 'pods'), True),
    ({'apiGroups': [''], 'resources': ['pods'], 'verbs': ['get']}, Request('get', 'n', '', 'pods', 'log'), False),
    ({'apiGroups': [''], 'resources': ['*/log'], 'verbs': ['get']}, Request('get', 'n', '', 'pods', 'log'), True),
    ({'apiGroups': ['*'], 'resources': ['*'], 'verbs': ['*']}, Request('escalate', 'n', 'x', 'roles'), True),
    ({'apiGroups': [''], 'resources': ['pods'], 'resourceNames': ['a'], 'verbs': ['get']},
     Request('get', 'n', '', 'pods', name='b'), False),
    ({'nonResourceURLs': ['/api/*'], 'verbs': ['get']}, Request('get', path='/api/v1'), True),
])
def test_rbac_rule_matching(rule, req, allowed):
    assert rule_allows(rule, req) is allowed


def test_rolebindings_apply_in_their_namespace_only():
    rbac = Rbac({'admin': cluster_role_rules(level_rules('admin'))}, [binding('shop', 'admin', 'alice')])
    assert rbac.allows(ALICE, Request('create', 'shop', 'rbac.authorization.k8s.io', 'rolebindings'))
    assert not rbac.allows(ALICE, Request('get', 'other', '', 'pods'))
    assert not rbac.allows(ALICE, Request('get', '', '', 'nodes'))
    assert not rbac.allows(ALICE, Request('escalate', 'shop', 'rbac.authorization.k8s.io', 'roles'))


# --------------------------------------------------------------------------- k8s-keystone-auth (authorizer.go)
def test_the_upstream_example_policy_evaluates_as_documented():
    path = os.path.join(UPSTREAM, 'v1.36.0', 'examples', 'webhook', 'keystone-policy-configmap.yaml')
    assert os.path.exists(path), 'missing upstream reference file %s' % path
    import yaml
    policies = json.loads([d for d in yaml.safe_load_all(open(path)) if d][0]['data']['policies'])
    member = Identity('u', roles=('member',), project_name='demo', project_id='id-demo')
    assert keystone_auth_allows(policies, member, Request('list', 'anything', '', 'pods'))
    assert not keystone_auth_allows(policies, member, Request('create', 'anything', '', 'pods'))
    assert not keystone_auth_allows(policies, Identity('u', roles=('reader',), project_name='demo'),
                                    Request('list', 'anything', '', 'pods'))


def test_former_keystone_auth_rules_matched_nobody_or_no_path():
    """Issue item 4: a rule's roles must ALL be held; non-resource paths compare exactly."""
    old = [{'users': {'projects': ['p1'], 'roles': ['_member_', 'member']},
            'resource_permissions': {'shop/*': ['*']},
            'nonresource_permissions': {'/api/*': ['get']}}]
    assert not keystone_auth_allows(old, ALICE, Request('get', 'shop', '', 'pods'))
    both = Identity('alice', roles=('_member_', 'member'), project_id='p1')
    assert keystone_auth_allows(old, both, Request('get', 'shop', '', 'pods'))
    assert not keystone_auth_allows(old, both, Request('get', path='/api/v1'))
    assert keystone_auth_allows(old, both, Request('get', path='/api/*'))


def test_keystone_auth_list_and_negated_resource_definitions():
    policy = [{'users': {'projects': ['p1'], 'roles': ['member']},
               'resource_permissions': {"shop/!['roles', 'rolebindings']": ['get'],
                                        "shop/['pods', 'jobs']": ['create']}}]
    assert keystone_auth_allows(policy, ALICE, Request('get', 'shop', '', 'secrets'))
    assert not keystone_auth_allows(policy, ALICE, Request('get', 'shop', 'rbac.authorization.k8s.io', 'roles'))
    assert keystone_auth_allows(policy, ALICE, Request('create', 'shop', 'batch', 'jobs'))
    # apiGroup and subresource are not compared (resourcePermissionAllowed uses GetResource only)
    assert keystone_auth_allows(policy, ALICE, Request('create', 'shop', 'example.com', 'pods', 'exec'))
    assert not keystone_auth_allows(policy, ALICE, Request('create', '', '', 'pods'))
    # projects match by ID or NAME
    assert keystone_auth_allows(policy, Identity('x', roles=('member',), project_name='p1'),
                                Request('get', 'shop', '', 'pods'))
