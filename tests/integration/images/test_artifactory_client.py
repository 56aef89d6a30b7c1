"""The Artifactory client (plugins/module_utils/kos_artifactory.py), live against the stand-in of
Artifactory's REST API (artifactory_standin.py, started by run.sh): authentication and error paths.
Every failure must say what went wrong and what to do about it."""

import hashlib
import os
import socket
import sys
import urllib.request
from urllib.parse import quote

import pytest
from conftest import TOP

sys.path.insert(0, os.path.join(TOP, '.collections'))
from ansible_collections.kos.platform.plugins.module_utils import kos_artifactory as art  # noqa: E402

USER, PASSWORD, TOKEN = 'kos', 'kos-it-secret', 'kos-it-token'
READER = dict(username='kos-reader', password='kos-reader-secret')


def client(**params):
    params.setdefault('retries', 1)
    params.setdefault('timeout', 10)
    return art.ArtifactoryClient(params)


def inject(generic_url, status, count):
    req = urllib.request.Request('%s/_standin/fail?status=%d&count=%d' % (generic_url, status, count), method='POST')
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 204


def requests_seen(generic_url):
    with urllib.request.urlopen(generic_url + '/_standin/requests', timeout=10) as resp:
        return int(resp.read())


@pytest.fixture
def artifact(tmp_path):
    src = tmp_path / 'edge.qcow2'
    src.write_bytes(os.urandom(4096))
    return src, art.file_checksums(str(src))


def test_deploy_with_properties_then_file_info_and_property_search(generic_url, artifact, tmp_path):
    src, sums = artifact
    key = hashlib.sha256(src.read_bytes()).hexdigest()
    url = art.artifact_url(generic_url, 'client-it', 'edge/1/edge.qcow2', quote)
    stored = art.deploy(client(access_token=TOKEN), url, str(src), sums, {'kos.input_key': key, 'kos.version': '1'})
    assert stored['checksums']['sha256'] == sums['sha256']
    info = art.storage_info(client(username=USER, password=PASSWORD), generic_url, 'client-it', 'edge/1/edge.qcow2')
    assert info['size'] == '4096' and info['checksums'] == sums and info['path'] == '/edge/1/edge.qcow2'
    props = art.get_properties(client(access_token=TOKEN), generic_url, 'client-it', 'edge/1/edge.qcow2')
    assert props == {'kos.input_key': [key], 'kos.version': ['1']}
    assert art.search_properties(client(access_token=TOKEN), generic_url, {'kos.input_key': key}, ['client-it']) == [
        ('client-it', 'edge/1/edge.qcow2')]
    assert art.search_properties(client(access_token=TOKEN), generic_url, {'kos.input_key': key}, ['other']) == []
    art.set_properties(client(access_token=TOKEN), generic_url, 'client-it', 'edge/1/edge.qcow2', {'kos.state': 'ok'})
    assert art.get_properties(client(access_token=TOKEN), generic_url, 'client-it',
                              'edge/1/edge.qcow2')['kos.state'] == ['ok']
    assert art.storage_info(client(access_token=TOKEN), generic_url, 'client-it', 'edge/1/none.qcow2') is None


def test_checksum_deploy_sends_no_body_when_the_binary_is_stored(generic_url, artifact):
    src, sums = artifact
    first = art.artifact_url(generic_url, 'client-it', 'dedup/1/a.bin', quote)
    second = art.artifact_url(generic_url, 'client-it', 'dedup/2/a.bin', quote)
    assert art.checksum_deploy(client(access_token=TOKEN), first, sums) is False  # not stored yet: send it
    art.deploy(client(access_token=TOKEN), first, str(src), sums)
    assert art.checksum_deploy(client(access_token=TOKEN), second, sums) is True
    assert art.stored_checksums(client(access_token=TOKEN), second)['sha256'] == sums['sha256']


def test_wrong_password_is_401_naming_the_credentials(generic_url, artifact):
    src, sums = artifact
    url = art.artifact_url(generic_url, 'client-it', 'auth/x.bin', quote)
    with pytest.raises(art.ArtifactoryError) as err:
        art.deploy(client(username=USER, password='wrong'), url, str(src), sums)
    msg = str(err.value)
    assert 'HTTP 401 (Bad credentials)' in msg and 'check username and password' in msg and 'access_token' in msg
    with pytest.raises(art.ArtifactoryError, match='HTTP 401 .*Authentication is required.*anonymous access'):
        art.storage_info(client(), generic_url, 'client-it', 'auth/x.bin')
    with pytest.raises(art.ArtifactoryError, match='HTTP 401'):
        art.stored_checksums(client(access_token='not-the-token'), url)


def test_reader_without_deploy_permission_is_403_naming_the_permission(generic_url, artifact):
    src, sums = artifact
    url = art.artifact_url(generic_url, 'client-it', 'perm/x.bin', quote)
    with pytest.raises(art.ArtifactoryError) as err:
        art.deploy(client(**READER), url, str(src), sums)
    msg = str(err.value)
    assert 'HTTP 403' in msg and 'lack the permission for deploying to %s' % url in msg
    assert 'grant the user Deploy' in msg
    assert art.stored_checksums(client(**READER), url) is None  # reading is allowed: 404, not 403


def test_checksum_conflict_is_409_and_nothing_is_stored(generic_url, artifact):
    src, sums = artifact
    url = art.artifact_url(generic_url, 'client-it', 'conflict/x.bin', quote)
    wrong = dict(sums, sha256='0' * 64)
    with pytest.raises(art.ArtifactoryError) as err:
        art.deploy(client(access_token=TOKEN), url, str(src), wrong)
    msg = str(err.value)
    assert 'HTTP 409 (Checksum conflict' in msg and 'send it again' in msg and 'checksum policy' in msg
    assert art.stored_checksums(client(access_token=TOKEN), url) is None


def test_5xx_is_retried_then_succeeds(generic_url, artifact):
    src, sums = artifact
    url = art.artifact_url(generic_url, 'client-it', 'retry/x.bin', quote)
    inject(generic_url, 503, 2)
    before = requests_seen(generic_url)
    c = client(access_token=TOKEN, retries=3)
    stored = art.deploy(c, url, str(src), sums)
    assert stored['checksums']['sha256'] == sums['sha256'] and c.attempts == 3
    assert requests_seen(generic_url) - before == 3


def test_5xx_on_every_attempt_names_the_attempts_and_the_fix(generic_url, artifact):
    src, sums = artifact
    url = art.artifact_url(generic_url, 'client-it', 'retry/y.bin', quote)
    inject(generic_url, 500, 2)
    with pytest.raises(art.ArtifactoryError) as err:
        art.deploy(client(access_token=TOKEN, retries=2), url, str(src), sums)
    msg = str(err.value)
    assert 'HTTP 500' in msg and 'on each of 2 attempt(s)' in msg and 'api/system/ping' in msg
    assert art.stored_checksums(client(access_token=TOKEN), url) is None


def test_connection_refused_names_the_address_and_the_fix(artifact):
    src, sums = artifact
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    url = 'http://127.0.0.1:%d/artifactory/client-it/x.bin' % port
    with pytest.raises(art.ArtifactoryError) as err:
        art.deploy(client(access_token=TOKEN, retries=2), url, str(src), sums)
    msg = str(err.value)
    assert 'failed after 2 attempt(s)' in msg and 'Connection refused' in msg
    assert 'nothing listens at 127.0.0.1:%d: check the url option' % port in msg
