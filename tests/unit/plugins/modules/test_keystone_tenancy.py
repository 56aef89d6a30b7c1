"""keystone_tenancy module and its OpenStack base, without a Keystone (the integration suite has one)."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args
from keystoneauth1 import exceptions as ksa_exc

from ansible_collections.kos.platform.plugins.module_utils import kos_openstack
from ansible_collections.kos.platform.plugins.modules import keystone_tenancy


def run(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            keystone_tenancy.main()
    return json.loads(capsys.readouterr().out)


def test_bad_rule_fails_before_connecting(capsys, tmp_path, monkeypatch):
    def no_connect(params):
        raise AssertionError('must not connect')
    monkeypatch.setattr(kos_openstack, 'connect', no_connect)
    result = run({'abac_file': str(tmp_path / 'a'), 'role_mapping': {'member': 'root'},
                  'auth': {'auth_url': 'http://127.0.0.1:9/v3', 'password': 's3cret'}}, capsys)
    assert result['failed'] and "unknown permission level 'root'" in result['msg']
    assert not (tmp_path / 'a').exists()


def test_an_output_is_required(capsys):
    result = run({}, capsys)
    assert result['failed'] and 'abac_file' in result['msg']


def test_cloud_dict_excludes_other_auth_options():
    with pytest.raises(kos_openstack.OpenStackConnectError, match='must not be set as well: auth'):
        kos_openstack.connect({'cloud': {'auth': {}}, 'auth': {'auth_url': 'x'}})


@pytest.mark.parametrize('exc, text', [
    (ksa_exc.ConnectFailure('refused'), 'cannot reach Keystone at http://k/v3'),
    (ksa_exc.Unauthorized('no'), 'rejected the credentials (HTTP 401)'),
    (ksa_exc.Forbidden('no'), 'refused the request (HTTP 403)'),
    (ValueError('odd'), 'ValueError: odd'),
])
def test_errors_read_well(exc, text):
    assert text in kos_openstack.explain_error(exc, {'auth': {'auth_url': 'http://k/v3'}})


def test_only_secrets_are_no_log():
    spec = kos_openstack.openstack_argument_spec()
    secret = sorted(k for k, v in spec['auth']['options'].items() if v.get('no_log'))
    assert secret == ['application_credential_secret', 'password', 'token']
    assert not spec['auth'].get('no_log')


def test_least_privilege_defaults():
    """No project-group binding and no ABAC discovery line unless asked; documentation agrees."""
    import yaml
    spec = keystone_tenancy.KeystoneTenancyModule.argument_spec
    assert spec['project_group_permission']['default'] == ''
    assert spec['abac_discovery']['default'] is False
    docs = yaml.safe_load(keystone_tenancy.DOCUMENTATION)['options']
    assert docs['project_group_permission']['default'] == '' and docs['abac_discovery']['default'] is False
