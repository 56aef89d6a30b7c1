# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""One HTTP client for Artifactory: its generic repositories and its Docker registry API.

``artifactory_argument_spec(**extra)``
    The shared options (documented by the doc fragment ``kos.platform.artifactory``):
    username / password (basic auth) or api_key (X-JFrog-Art-Api), validate_certs, timeout.
``ArtifactoryClient(params)``
    ``request(method, url, data=None, headers=None)`` -> ``Response(status, headers, body)``;
    never raises on an HTTP status, only ``ArtifactoryError`` on transport failures (after
    ``retries`` attempts). A registry 401 with a ``Bearer`` challenge is answered once
    with a token from the realm (Docker Hub, distribution with token auth, Artifactory).
``file_checksums(path)``
    sha256, sha1 and md5 of a file, read in blocks.
``stored_checksums(client, url)``
    The checksums Artifactory reports for a stored artifact (HEAD: X-Checksum-* headers),
    or None when there is no artifact at ``url``.
``artifact_url(base_url, repository, path, quote)``
    The URL of an artifact in a generic repository (path segments quoted, no ``..``).
``deploy(client, url, path, checksums)``
    PUT the file with X-Checksum-Sha256/-Sha1/-Md5 so Artifactory verifies what it stores.
``manifest_config_digest(client, api_base, repository, reference)``
    The config digest (= the local image ID) of a tag in a Docker registry, '' for a
    manifest list, None when the tag is absent.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import re
import time

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import urlencode
from ansible.module_utils.urls import open_url

_SHARED_SPEC = dict(
    username=dict(type='str'),
    password=dict(type='str', no_log=True),
    api_key=dict(type='str', no_log=True),
    validate_certs=dict(type='bool', default=True),
    timeout=dict(type='int', default=60),
    retries=dict(type='int', default=3),
)

MANIFEST_TYPES = ', '.join([
    'application/vnd.docker.distribution.manifest.v2+json',
    'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
    'application/vnd.oci.image.index.v1+json',
])


def artifactory_argument_spec(**extra):
    """The shared Artifactory options plus a module's own ``extra`` options."""
    spec = dict((k, dict(v)) for k, v in _SHARED_SPEC.items())
    spec.update(extra)
    return spec


class ArtifactoryError(Exception):
    """Artifactory (or a registry) could not be reached, or answered something unusable."""


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = dict((k.lower(), v) for k, v in (headers or {}).items())
        self.body = body

    def json(self):
        try:
            return json.loads(self.body.decode('utf-8'))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ArtifactoryError('expected JSON, got %r...: %s' % (self.body[:80], exc)) from exc


class ArtifactoryClient:
    def __init__(self, params):
        self.username = params.get('username')
        self.password = params.get('password')
        self.api_key = params.get('api_key')
        self.validate_certs = params.get('validate_certs', True)
        self.timeout = params.get('timeout') or 60
        self.retries = max(1, params.get('retries') or 1)
        self._bearer = {}

    def _auth_headers(self, url):
        host = re.sub(r'^[a-z]+://([^/]+).*$', r'\1', url)
        if host in self._bearer:
            return {'Authorization': 'Bearer ' + self._bearer[host]}
        if self.api_key:
            return {'X-JFrog-Art-Api': self.api_key}
        if self.username:
            raw = ('%s:%s' % (self.username, self.password or '')).encode('utf-8')
            return {'Authorization': 'Basic ' + base64.b64encode(raw).decode('ascii')}
        return {}

    def _once(self, method, url, data, headers):
        all_headers = self._auth_headers(url)
        all_headers.update(headers or {})
        if hasattr(data, 'seek'):
            data.seek(0)
        try:
            resp = open_url(url, method=method, data=data, headers=all_headers,
                            validate_certs=self.validate_certs, timeout=self.timeout,
                            follow_redirects='safe', force_basic_auth=False)
            return Response(resp.getcode(), dict(resp.headers.items()), resp.read())
        except HTTPError as err:
            body = err.read() if hasattr(err, 'read') else b''
            return Response(err.code, dict(err.headers.items()) if err.headers else {}, body)

    def request(self, method, url, data=None, headers=None):
        last = None
        for attempt in range(self.retries):
            try:
                resp = self._once(method, url, data, headers)
                # The token refresh and the retried request are transport calls too: a registry
                # whose token realm is down must end in ArtifactoryError, not a traceback.
                if resp.status == 401 and self._answer_challenge(url, resp):
                    resp = self._once(method, url, data, headers)
            except (URLError, OSError, http.client.HTTPException) as exc:
                last = exc
                if attempt + 1 < self.retries:
                    time.sleep(min(2 ** attempt, 5))
                continue
            except ValueError as exc:  # a malformed URL: retrying cannot help
                raise ArtifactoryError('%s %s: %s' % (method, url, exc)) from exc
            if resp.status in (502, 503, 504) and attempt + 1 < self.retries:
                time.sleep(min(2 ** attempt, 5))
                continue
            return resp
        raise ArtifactoryError('%s %s failed: %s' % (method, url, last))

    def _answer_challenge(self, url, resp):
        """Fetch a registry token for a ``Bearer realm=...`` challenge; True if one was got."""
        challenge = resp.headers.get('www-authenticate', '')
        if not challenge.lower().startswith('bearer '):
            return False
        fields = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        realm = fields.pop('realm', None)
        if not realm:
            return False
        token_url = realm + ('&' if '?' in realm else '?') + urlencode(fields)
        saved, self._bearer = self._bearer, {}
        try:
            token_resp = self._once('GET', token_url, None, None)
        except (URLError, OSError, http.client.HTTPException) as exc:
            raise OSError('token request to %s failed: %s' % (realm, exc)) from exc
        except ValueError as exc:
            raise ArtifactoryError('the registry at %s names an unusable token realm %r: %s' % (url, realm, exc)) \
                from exc
        finally:
            self._bearer = saved
        if token_resp.status != 200:
            return False
        doc = token_resp.json()
        token = doc.get('token') or doc.get('access_token')
        if not token:
            return False
        self._bearer[re.sub(r'^[a-z]+://([^/]+).*$', r'\1', url)] = token
        return True


def file_checksums(path, block=1024 * 1024):
    sums = dict(sha256=hashlib.sha256(), sha1=hashlib.sha1(), md5=hashlib.md5())
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(block), b''):
            for h in sums.values():
                h.update(chunk)
    return dict((k, h.hexdigest()) for k, h in sums.items())


def stored_checksums(client, url):
    """dict(sha256, sha1, md5) from Artifactory's X-Checksum-* headers, or None if absent."""
    resp = client.request('HEAD', url)
    if resp.status == 404:
        return None
    if resp.status != 200:
        raise ArtifactoryError('HEAD %s answered HTTP %s' % (url, resp.status))
    return dict(sha256=resp.headers.get('x-checksum-sha256'),
                sha1=resp.headers.get('x-checksum-sha1'),
                md5=resp.headers.get('x-checksum-md5'))


def deploy(client, url, path, checksums):
    """PUT ``path`` to ``url``; the checksum headers make Artifactory reject a corrupted upload."""
    headers = {
        'Content-Type': 'application/octet-stream',
        'Content-Length': str(os.path.getsize(path)),
        'X-Checksum-Sha256': checksums['sha256'],
        'X-Checksum-Sha1': checksums['sha1'],
        'X-Checksum': checksums['md5'],
    }
    with open(path, 'rb') as handle:
        resp = client.request('PUT', url, data=handle, headers=headers)
    if resp.status not in (200, 201):
        raise ArtifactoryError('PUT %s answered HTTP %s: %s' % (url, resp.status, resp.body[:300]))
    try:
        return resp.json()
    except ArtifactoryError:
        return {}


def registry_api_base(registry, insecure_registries=()):
    """``https://host`` (``http://`` for registries listed as insecure) and the path prefix."""
    host, _sep, prefix = registry.partition('/')
    if host == 'docker.io':
        host = 'registry-1.docker.io'
    scheme = 'http' if registry in insecure_registries or host in insecure_registries else 'https'
    return '%s://%s' % (scheme, host), prefix


def manifest_config_digest(client, registry, repository, reference, insecure_registries=()):
    """The config digest of ``repository:reference`` in ``registry``, or None when absent."""
    base, prefix = registry_api_base(registry, insecure_registries)
    path = '/'.join(p for p in (prefix, repository) if p)
    url = '%s/v2/%s/manifests/%s' % (base, path, reference)
    resp = client.request('GET', url, headers={'Accept': MANIFEST_TYPES})
    if resp.status == 404:
        return None
    if resp.status != 200:
        raise ArtifactoryError('GET %s answered HTTP %s' % (url, resp.status))
    # A manifest list (multi-platform) has no config: present, but no single image ID.
    return (resp.json().get('config') or {}).get('digest') or ''


def artifact_url(base_url, repository, path, quote):
    """``<base_url>/<repository>/<path>`` with each path segment quoted; no empty or ``..`` parts."""
    if not re.match(r'^https?://[^/]+', base_url or ''):
        raise ValueError('url must be an http(s) URL, got %r' % (base_url,))
    repo = (repository or '').strip('/')
    parts = [s for s in (path or '').split('/') if s]
    if not repo or '/' in repo or repo in ('.', '..'):
        raise ValueError('invalid repository key %r' % (repository,))
    if not parts or any(s in ('.', '..') for s in parts):
        raise ValueError('invalid artifact path %r' % (path,))
    return '/'.join([base_url.rstrip('/'), quote(repo, safe='')] + [quote(s, safe='') for s in parts])
