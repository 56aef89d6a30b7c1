"""Unit tests of kos_artifactory's pure helpers (the HTTP paths are tested live in the images suite)."""

import hashlib
from urllib.parse import quote

import pytest

from ansible_collections.kos.platform.plugins.module_utils.kos_artifactory import (
    ArtifactoryClient,
    artifact_url,
    artifactory_argument_spec,
    file_checksums,
    registry_api_base,
)


def test_artifact_url_quotes_segments_and_refuses_traversal():
    assert artifact_url('https://a.example.com/artifactory/', 'vm-images', '/svc/1.0/x y.qcow2', quote) == \
        'https://a.example.com/artifactory/vm-images/svc/1.0/x%20y.qcow2'
    for repo, path in (('vm', '../etc/passwd'), ('vm', ''), ('', 'x'), ('a/b', 'x'), ('vm', 'a/./b')):
        with pytest.raises(ValueError):
            artifact_url('https://a', repo, path, quote)
    with pytest.raises(ValueError):
        artifact_url('ftp://a', 'vm', 'x', quote)


def test_file_checksums(tmp_path):
    f = tmp_path / 'f'
    data = b'x' * 3_000_000
    f.write_bytes(data)
    assert file_checksums(str(f), block=1 << 20) == dict(
        sha256=hashlib.sha256(data).hexdigest(), sha1=hashlib.sha1(data).hexdigest(), md5=hashlib.md5(data).hexdigest())


def test_registry_api_base():
    assert registry_api_base('docker.io') == ('https://registry-1.docker.io', '')
    assert registry_api_base('127.0.0.1:15001', ['127.0.0.1:15001']) == ('http://127.0.0.1:15001', '')
    assert registry_api_base('art.example.com/docker-remote') == ('https://art.example.com', 'docker-remote')


def test_auth_headers_prefer_api_key_and_mark_secrets_no_log():
    spec = artifactory_argument_spec()
    assert spec['password']['no_log'] and spec['api_key']['no_log']
    assert ArtifactoryClient(dict(api_key='k'))._auth_headers('https://a/x') == {'X-JFrog-Art-Api': 'k'}
    basic = ArtifactoryClient(dict(username='u', password='p'))._auth_headers('https://a/x')
    assert basic == {'Authorization': 'Basic dTpw'}
    assert ArtifactoryClient({})._auth_headers('https://a/x') == {}
