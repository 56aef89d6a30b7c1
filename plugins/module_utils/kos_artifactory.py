# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""One HTTP client for Artifactory: its generic repositories and its Docker registry API.

``artifactory_argument_spec(**extra)``
    The shared options (documented by the doc fragment ``kos.platform.artifactory``):
    username / password (basic auth), access_token (Authorization: Bearer) or api_key
    (X-JFrog-Art-Api), validate_certs, timeout, retries.
``ArtifactoryClient(params, transport=AnsibleTransport)``
    ``request(method, url, data=None, headers=None)`` -> ``Response(status, headers, body)``;
    never raises on an HTTP status (429/500/502/503/504 are retried), only ``ArtifactoryError``
    on transport failures after ``retries`` attempts, with a message naming cause and fix.
    A registry 401 with a ``Bearer`` challenge is answered once with a token from the realm
    (Docker Hub, distribution with token auth, Artifactory).
``AnsibleTransport`` / ``StdlibTransport``
    How the client sends a request: through ``ansible.module_utils.urls`` (modules; the default), or
    through the standard library alone (command lines whose start time matters: importing
    ``ansible.module_utils.urls`` takes about 0.25 s). Nothing here imports Ansible at load time.
``http_error(method, url, resp, attempts, what)``
    The ArtifactoryError for a final HTTP status (401, 403, 404, 409, 5xx): cause and fix.
``file_checksums(path)``
    sha256, sha1 and md5 of a file, read in blocks.
``stored_checksums(client, url)``
    The checksums Artifactory reports for a stored artifact (HEAD: X-Checksum-* headers),
    or None when there is no artifact at ``url``.
``artifact_url(base_url, repository, path, quote)``
    The URL of an artifact in a generic repository (path segments quoted, no ``..``).
``deploy(client, url, path, checksums, properties)``
    PUT the file with X-Checksum-Sha256/-Sha1 and X-Checksum (md5) so Artifactory verifies what
    it stores; properties as matrix parameters (``;key=value``).
``checksum_deploy(client, url, checksums, properties)``
    Deploy by checksum (X-Checksum-Deploy: true, no body): True when Artifactory had the binary.
``storage_info`` / ``get_properties`` / ``set_properties`` / ``search_properties``
    File Info (GET api/storage/<path>), Item Properties (GET/PUT api/storage/<path>?properties),
    Property Search (GET api/search/prop) of Artifactory's REST API.
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
import ssl
import time
import urllib.request
from urllib.error import HTTPError, URLError
from urllib.parse import quote, unquote, urlencode

_SHARED_SPEC = dict(
    username=dict(type='str'),
    password=dict(type='str', no_log=True),
    api_key=dict(type='str', no_log=True),
    access_token=dict(type='str', no_log=True),
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


RETRIED_STATUS = (429, 500, 502, 503, 504)


def _reason(exc):
    reason = getattr(exc, 'reason', None) or exc
    return str(reason)


def transport_message(method, url, exc, attempts):
    """Why no HTTP answer came, and what to do about it."""
    host = re.sub(r'^[a-z]+://([^/]+).*$', r'\1', url)
    reason = _reason(exc)
    if 'token request' in reason:
        fix = 'the registry sends clients to that token service: check that it is reachable from this host'
    elif 'refused' in reason.lower():
        fix = ('nothing listens at %s: check the url option (scheme, host and port) and that Artifactory is '
               'running and reachable from this host' % host)
    elif 'timed out' in reason.lower():
        fix = 'no answer in time: check the network path to %s, or raise timeout' % host
    elif 'certificate' in reason.lower() or 'ssl' in reason.lower():
        fix = 'TLS failed: install the CA that signed the certificate of %s (or validate_certs=false in a lab)' % host
    elif 'name or service' in reason.lower() or 'resolution' in reason.lower():
        fix = 'the name %s does not resolve: check the url option and DNS' % host.split(':')[0]
    else:
        fix = 'check the url option and that Artifactory is reachable from this host'
    return '%s %s failed after %d attempt(s): %s; %s' % (method, url, attempts, reason, fix)


def http_error(method, url, resp, attempts=1, what='the request'):
    """ArtifactoryError for an HTTP status that ends ``what``, naming the cause and the fix."""
    detail = ''
    try:
        errs = json.loads(resp.body.decode('utf-8')).get('errors') or []
        detail = '; '.join(str(e.get('message')) for e in errs if e.get('message'))
    except (ValueError, UnicodeDecodeError, AttributeError):
        detail = (resp.body or b'')[:200].decode('utf-8', 'replace').strip()
    status = resp.status
    if status == 401:
        fix = ('Artifactory did not accept the credentials: check username and password, or give a valid '
               'access_token (Bearer) or api_key; anonymous access is not allowed for this')
    elif status == 403:
        fix = ('the credentials are valid but lack the permission for %s: grant the user Deploy/Cache (and '
               'Annotate for properties) on the repository, or use a user that has it' % what)
    elif status == 404:
        fix = 'nothing at that path: check the url (it ends in /artifactory), the repository key and the path'
    elif status == 409:
        fix = ('Artifactory refused the content (checksum conflict or the repository\'s policy): the file '
               'changed while it was sent, or the path is a folder or not allowed by the repository layout; '
               'send it again and check the repository\'s checksum policy')
    elif status in RETRIED_STATUS:
        fix = ('Artifactory failed on its side (HTTP %s) on each of %d attempt(s): check its health '
               '(GET api/system/ping, its logs) and retry later, or raise retries' % (status, attempts))
    else:
        fix = 'unexpected answer: see the message above'
    return ArtifactoryError('%s %s answered HTTP %s%s: %s' % (
        method, url, status, ' (%s)' % detail if detail else '', fix))


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


class AnsibleTransport:
    """HTTP through ansible.module_utils.urls, as every module sends it (proxies, TLS settings).

    One TLS context for every request of a client: building one loads the system's CA bundle
    (about 0.1 s), which open_url would otherwise do per request."""

    def __init__(self, validate_certs, timeout):
        from ansible.module_utils.urls import Request, make_context  # here: command lines use StdlibTransport

        self._request = Request
        self._make_context = make_context
        self.validate_certs = validate_certs
        self.timeout = timeout
        self._context = None

    def open(self, method, url, data, headers):
        """The response (status, headers, body); raises HTTPError for an HTTP error status."""
        if self._context is None:
            self._context = self._make_context(validate_certs=self.validate_certs)
        resp = self._request().open(method, url, data=data, headers=headers, validate_certs=self.validate_certs,
                                    timeout=self.timeout, follow_redirects='safe', force_basic_auth=False,
                                    context=self._context)
        return resp.getcode(), dict(resp.headers.items()), resp.read()


class _SafeRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects for GET and HEAD only, as follow_redirects='safe' does for AnsibleTransport."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if req.get_method() not in ('GET', 'HEAD'):
            return None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class StdlibTransport:
    """HTTP through the standard library alone, for command lines that must start fast: the same
    requests as AnsibleTransport (certificates verified against the system's CAs unless validate_certs
    is false, proxies from the environment, redirects for GET and HEAD only)."""

    def __init__(self, validate_certs, timeout):
        context = ssl.create_default_context()
        if not validate_certs:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        self._opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _SafeRedirects)
        self.timeout = timeout

    def open(self, method, url, data, headers):
        """The response (status, headers, body); raises HTTPError for an HTTP error status."""
        req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
        with self._opener.open(req, timeout=self.timeout) as resp:
            return resp.getcode(), dict(resp.headers.items()), resp.read()


class ArtifactoryClient:
    def __init__(self, params, transport=AnsibleTransport):
        self.username = params.get('username')
        self.password = params.get('password')
        self.api_key = params.get('api_key')
        self.access_token = params.get('access_token')
        self.validate_certs = params.get('validate_certs', True)
        self.timeout = params.get('timeout') or 60
        self.retries = max(1, params.get('retries') or 1)
        self._bearer = {}
        self.attempts = 0
        self.transport = transport(self.validate_certs, self.timeout)

    def _auth_headers(self, url):
        host = re.sub(r'^[a-z]+://([^/]+).*$', r'\1', url)
        if host in self._bearer:
            return {'Authorization': 'Bearer ' + self._bearer[host]}
        if self.access_token:
            return {'Authorization': 'Bearer ' + self.access_token}
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
            return Response(*self.transport.open(method, url, data, all_headers))
        except HTTPError as err:
            body = err.read() if hasattr(err, 'read') else b''
            return Response(err.code, dict(err.headers.items()) if err.headers else {}, body)

    def request(self, method, url, data=None, headers=None):
        """One HTTP exchange, retried on transport failures and on HTTP 500/502/503/504/429.

        Returns the last Response whatever its status (callers turn a status into a message with
        ``http_error``); raises ArtifactoryError naming the cause and the fix when no answer came.
        """
        last = None
        self.attempts = 0
        for attempt in range(self.retries):
            self.attempts = attempt + 1
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
            if resp.status in RETRIED_STATUS and attempt + 1 < self.retries:
                time.sleep(min(2 ** attempt, 5))
                continue
            return resp
        raise ArtifactoryError(transport_message(method, url, last, self.retries))

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
        raise http_error('HEAD', url, resp, client.attempts, 'reading %s' % url)
    return dict(sha256=resp.headers.get('x-checksum-sha256'),
                sha1=resp.headers.get('x-checksum-sha1'),
                md5=resp.headers.get('x-checksum-md5'))


def _matrix_value(value):
    # Artifactory's matrix parameters: ',' separates values, '\\' escapes ',', '|', '=' and ';'.
    value = re.sub(r'([,|=;\\])', r'\\\1', str(value))
    return quote(value, safe=':@+!*\'()\\')


def matrix_params(properties):
    """``;key=value;key2=value2`` to append to a deploy URL (keys and values quoted)."""
    out = ''
    for key in sorted(properties or {}):
        if not re.match(r'^[A-Za-z0-9_.:-]+$', str(key)):
            raise ValueError('property name %r: letters, digits and _ . : - only' % (key,))
        out += ';%s=%s' % (key, _matrix_value(properties[key]))
    return out


def _checksum_headers(checksums):
    return {
        'X-Checksum-Sha256': checksums['sha256'],
        'X-Checksum-Sha1': checksums['sha1'],
        'X-Checksum': checksums['md5'],
    }


def checksum_deploy(client, url, checksums, properties=None):
    """Deploy by checksum (no body): True when Artifactory had the binary, False when it must be sent."""
    headers = dict(_checksum_headers(checksums), **{'X-Checksum-Deploy': 'true', 'Content-Length': '0'})
    target = url + matrix_params(properties)
    resp = client.request('PUT', target, data=b'', headers=headers)
    if resp.status in (200, 201):
        return True
    if resp.status == 404:
        return False
    raise http_error('PUT', url, resp, client.attempts, 'deploying to %s' % url)


def deploy(client, url, path, checksums, properties=None):
    """PUT ``path`` to ``url``; the checksum headers make Artifactory reject a corrupted upload;
    ``properties`` go along as matrix parameters (``;key=value``)."""
    headers = dict(_checksum_headers(checksums), **{
        'Content-Type': 'application/octet-stream',
        'Content-Length': str(os.path.getsize(path)),
    })
    with open(path, 'rb') as handle:
        resp = client.request('PUT', url + matrix_params(properties), data=handle, headers=headers)
    if resp.status not in (200, 201):
        raise http_error('PUT', url, resp, client.attempts, 'deploying to %s' % url)
    try:
        return resp.json()
    except ArtifactoryError:
        return {}


def storage_url(base_url, repository, path):
    """``<base_url>/api/storage/<repository>/<path>`` (the File Info / properties endpoint)."""
    item = artifact_url(base_url, repository, path, quote)[len(base_url.rstrip('/')) + 1:]
    return '%s/api/storage/%s' % (base_url.rstrip('/'), item)


def storage_info(client, base_url, repository, path):
    """File Info (GET api/storage/<repo>/<path>): size, checksums, dates ...; None when absent."""
    url = storage_url(base_url, repository, path)
    resp = client.request('GET', url)
    if resp.status == 404:
        return None
    if resp.status != 200:
        raise http_error('GET', url, resp, client.attempts, 'reading %s' % url)
    return resp.json()


def get_properties(client, base_url, repository, path):
    """The item's properties as {key: [values]}; {} when it has none (Artifactory answers 404)."""
    url = storage_url(base_url, repository, path) + '?properties'
    resp = client.request('GET', url)
    if resp.status == 404:
        return {}
    if resp.status != 200:
        raise http_error('GET', url, resp, client.attempts, 'reading properties of %s' % url)
    return resp.json().get('properties') or {}


def set_properties(client, base_url, repository, path, properties):
    """PUT api/storage/<repo>/<path>?properties=k=v|k2=v2 (Set Item Properties)."""
    spec = '|'.join('%s=%s' % (k, re.sub(r'([,|=])', r'\\\1', str(properties[k]))) for k in sorted(properties))
    url = storage_url(base_url, repository, path) + '?' + urlencode({'properties': spec})
    resp = client.request('PUT', url, data=b'', headers={'Content-Length': '0'})
    if resp.status not in (200, 204):
        raise http_error('PUT', url, resp, client.attempts, 'setting properties on %s' % url)


def search_properties(client, base_url, properties, repositories=()):
    """Property Search (GET api/search/prop): [(repository, path)] of items with every property."""
    query = [(k, str(v)) for k, v in sorted(properties.items())]
    if repositories:
        query.append(('repos', ','.join(repositories)))
    url = '%s/api/search/prop?%s' % (base_url.rstrip('/'), urlencode(query))
    resp = client.request('GET', url)
    if resp.status == 404:  # older Artifactory answers 404 "No results found"
        return []
    if resp.status != 200:
        raise http_error('GET', url, resp, client.attempts, 'searching by property')
    found = []
    for hit in resp.json().get('results') or []:
        item = unquote(hit.get('uri', '').split('/api/storage/', 1)[-1])
        repo, _sep, path = item.partition('/')
        if repo and path:
            found.append((repo, path))
    return found


def registry_api_base(registry, insecure_registries=()):
    """``https://host`` (``http://`` for registries listed as insecure) and the path prefix."""
    host, _sep, prefix = registry.partition('/')
    if host == 'docker.io':
        host = 'registry-1.docker.io'
    scheme = 'http' if registry in insecure_registries or host in insecure_registries else 'https'
    return '%s://%s' % (scheme, host), prefix


def _manifest(client, registry, repository, reference, insecure_registries):
    """GET the manifest of ``repository:reference``: (response or None when absent, manifests URL base)."""
    base, prefix = registry_api_base(registry, insecure_registries)
    manifests = '%s/v2/%s/manifests/' % (base, '/'.join(p for p in (prefix, repository) if p))
    url = manifests + reference
    resp = client.request('GET', url, headers={'Accept': MANIFEST_TYPES})
    if resp.status == 404:
        return None, manifests
    if resp.status != 200:
        raise http_error('GET', url, resp, client.attempts, 'reading the manifest of %s' % repository)
    return resp, manifests


def manifest_config_digest(client, registry, repository, reference, insecure_registries=()):
    """The config digest of ``repository:reference`` in ``registry``, or None when absent."""
    resp, _manifests = _manifest(client, registry, repository, reference, insecure_registries)
    if resp is None:
        return None
    # A manifest list (multi-platform) has no config: present, but no single image ID.
    return (resp.json().get('config') or {}).get('digest') or ''


def copy_manifest(client, registry, repository, source, target, insecure_registries=()):
    """Tag ``repository:source`` as ``repository:target`` inside the registry (manifest GET + PUT):
    no layer moves, nothing is pulled. False when ``source`` is absent."""
    resp, manifests = _manifest(client, registry, repository, source, insecure_registries)
    if resp is None:
        return False
    media = resp.headers.get('content-type') or 'application/vnd.docker.distribution.manifest.v2+json'
    put = manifests + target
    answer = client.request('PUT', put, data=resp.body, headers={'Content-Type': media})
    if answer.status not in (200, 201):
        raise http_error('PUT', put, answer, client.attempts, 'tagging %s:%s' % (repository, target))
    return True


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
