"""Unit tests of kos_artifactory's pure helpers (the HTTP paths are tested live in the images suite)."""

import contextlib
import hashlib
import http.server
import re
import socket
import threading
from urllib.parse import quote

import pytest

from ansible_collections.kos.platform.plugins.module_utils.kos_artifactory import (
    AnsibleTransport,
    ArtifactoryClient,
    ArtifactoryError,
    StdlibTransport,
    artifact_url,
    artifactory_argument_spec,
    file_checksums,
    manifest_config_digest,
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


# --- transport failures end in ArtifactoryError (a real HTTP server on loopback, no mock) ----------
# Both transports: Ansible's (modules) and the standard library's (the command-line pre-checks).
@pytest.fixture(params=[AnsibleTransport, StdlibTransport], ids=['ansible', 'stdlib'])
def transport(request):
    return request.param


def _closed_port():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@contextlib.contextmanager
def loopback_server(handler):
    """An HTTP server of ``handler`` on a free loopback port, in a thread: its host:port; shut down after."""
    server = http.server.HTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield '127.0.0.1:%d' % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextlib.contextmanager
def registry_asking_for_a_token(realm):
    """A registry that answers every request with 401 and a Bearer challenge naming ``realm``."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(401)
            self.send_header('WWW-Authenticate', 'Bearer realm="%s",service="registry",scope="repository:x:pull"'
                             % realm)
            self.send_header('Content-Length', '0')
            self.end_headers()

        def log_message(self, *args):
            pass

    with loopback_server(Handler) as address:
        yield 'http://' + address


def test_a_token_realm_that_refuses_connections_is_an_artifactory_error(transport):
    realm = 'http://127.0.0.1:%d/token' % _closed_port()
    with registry_asking_for_a_token(realm) as base:
        client = ArtifactoryClient(dict(retries=1, timeout=5), transport)
        with pytest.raises(ArtifactoryError, match=r'GET %s/v2/x/manifests/1 failed after 1 attempt\(s\): token '
                                                   r'request to %s failed: .*check that it is reachable'
                                                   % (re.escape(base), re.escape(realm))):
            client.request('GET', base + '/v2/x/manifests/1')


def test_manifest_lookup_with_an_unreachable_token_realm_is_an_artifactory_error(transport):
    realm = 'http://127.0.0.1:%d/token' % _closed_port()
    with registry_asking_for_a_token(realm) as base:
        registry = base.split('://', 1)[1]
        client = ArtifactoryClient(dict(retries=2, timeout=5), transport)
        with pytest.raises(ArtifactoryError, match='token request to %s failed' % re.escape(realm)):
            manifest_config_digest(client, registry, 'services/billing', '1.0', insecure_registries=[registry])


def test_a_malformed_token_realm_is_an_artifactory_error(transport):
    with registry_asking_for_a_token('not-a-url') as base:
        client = ArtifactoryClient(dict(retries=1, timeout=5), transport)
        with pytest.raises(ArtifactoryError, match="names an unusable token realm 'not-a-url'"):
            client.request('GET', base + '/v2/x/manifests/1')


def test_a_malformed_url_is_an_artifactory_error(transport):
    with pytest.raises(ArtifactoryError, match=r'GET http://\[::1/v2: Invalid IPv6 URL'):
        ArtifactoryClient(dict(retries=3), transport).request('GET', 'http://[::1/v2')
