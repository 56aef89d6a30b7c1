#!/usr/bin/env python3
"""STAND-IN for JFrog Artifactory's generic repositories, for the image suites only.

Artifactory itself cannot run here (no registry to pull it from, and its license). This small
http.server subclass on loopback answers the part of Artifactory's documented REST API
("Artifactory REST API", JFrog documentation: Deploy Artifact, Deploy Artifact by Checksum,
Set/Item/Delete Item Properties, File Info, Property Search, System Ping) that the kos.platform
client (plugins/module_utils/kos_artifactory.py) uses, with Artifactory's status codes and JSON:

  PUT  /<repo>/<path>[;key=value...]     deploy; X-Checksum-Sha256 / X-Checksum-Sha1 / X-Checksum-Md5
                                        (or X-Checksum, md5 or sha1 by length) checked against the
                                        body: a mismatch is 409 (checksum conflict); matrix parameters
                                        become properties; 201 with the item's JSON.
       with X-Checksum-Deploy: true     deploy by checksum, no body: 201 when a binary with that
                                        sha256/sha1 is stored already, else 404.
  GET/HEAD /<repo>/<path>              the file, with X-Checksum-Sha256/-Sha1/-Md5 headers; 404 if absent.
  DELETE /<repo>/<path>                 204.
  GET  /api/storage/<repo>/<path>       File Info (repo, path, size, checksums, originalChecksums,
                                        downloadUri, uri, created, lastModified ...).
  GET  /api/storage/<repo>/<path>?properties[=a,b]   {"properties": {k: [v...]}, "uri"}; 404 if none.
  PUT  /api/storage/<repo>/<path>?properties=a=1|b=2,3    set properties, 204.
  DELETE /api/storage/<repo>/<path>?properties=a,b        delete properties, 204.
  GET  /api/search/prop?key=v1,v2&repos=r1,r2           {"results": [{"uri": ".../api/storage/..."}]}
  GET  /api/system/ping                 "OK" (anonymous).

Authentication as Artifactory: HTTP basic (user/password), "Authorization: Bearer <access token>",
or X-JFrog-Art-Api; none or a wrong one is 401 with a WWW-Authenticate challenge. A second,
read-only user (--reader) gets 403 for writes, as a user without Deploy permission does.

Test hooks that Artifactory does not have (prefix /_standin/): GET /_standin/puts (count of
stored deploys), POST /_standin/fail?status=503&count=2 (the next 2 requests answer 503; used to
test the client's retries), GET /_standin/requests (count of requests).
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

ERR = 'application/vnd.org.jfrog.artifactory+json'


def checksums(data):
    return dict(sha256=hashlib.sha256(data).hexdigest(), sha1=hashlib.sha1(data).hexdigest(),
                md5=hashlib.md5(data).hexdigest())


def errors(status, message):
    return json.dumps({'errors': [{'status': status, 'message': message}]}).encode()


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.000Z')


class Store:
    """Files on disk under root/<repo>/<path>; properties and dates in memory."""

    def __init__(self, root):
        self.root = root
        self.meta = {}  # 'repo/path' -> dict(properties, created, lastModified)
        self.lock = threading.Lock()

    def file(self, item):
        rel = os.path.normpath(item)
        if rel.startswith('..') or rel in ('', '.') or os.path.isabs(rel):
            return None
        return os.path.join(self.root, rel)

    def by_checksum(self, algo, value):
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                path = os.path.join(dirpath, name)
                with open(path, 'rb') as handle:
                    data = handle.read()
                if checksums(data)[algo] == value.lower():
                    return data
        return None


class Handler(BaseHTTPRequestHandler):
    server_version = 'Artifactory/7.77.5'
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):  # keep the suite's log readable
        print('%s %s -> %s' % (self.command, self.path, args[1] if len(args) > 1 else ''), flush=True)

    # --- plumbing -------------------------------------------------------------------------------
    def _send(self, code, body=b'', headers=None, ctype='application/json'):
        self.send_response(code)
        headers = dict(headers or {})
        if body or code not in (204,):
            headers.setdefault('Content-Type', ctype)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def _error(self, code, message, headers=None):
        self._send(code, errors(code, message), headers, ctype=ERR)

    def _body(self):
        length = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(length) if length else b''

    def _who(self):
        """'deployer', 'reader' or None (anonymous / wrong credentials)."""
        srv = self.server
        auth = self.headers.get('Authorization') or ''
        if auth.startswith('Bearer '):
            return 'deployer' if auth[7:] == srv.token else None
        if self.headers.get('X-JFrog-Art-Api'):
            return 'deployer' if self.headers['X-JFrog-Art-Api'] == srv.token else None
        if auth.startswith('Basic '):
            try:
                user, _sep, password = base64.b64decode(auth[6:]).decode().partition(':')
            except ValueError:
                return None
            if (user, password) == (srv.user, srv.password):
                return 'deployer'
            if srv.reader and (user, password) == srv.reader:
                return 'reader'
        return None

    def _auth(self, write):
        who = self._who()
        if who is None:
            self._error(401, 'Bad credentials' if self.headers.get('Authorization') else
                        'Authentication is required', {'WWW-Authenticate': 'Basic realm="Artifactory Realm"'})
            return False
        if write and who != 'deployer':
            self._error(403, 'Not enough permissions to write to %s' % urlsplit(self.path).path)
            return False
        return True

    def _fault(self):
        with self.server.lock:
            self.server.requests += 1
            if self.server.fail_count > 0:
                self.server.fail_count -= 1
                status = self.server.fail_status
            else:
                status = None
        if status:
            self._body()
            self._error(status, 'stand-in fault injected by the test (%s)' % status)
            return True
        return False

    def _split(self):
        """(item 'repo/path' with matrix params removed, matrix properties, query dict)."""
        parts = urlsplit(self.path)
        raw = parts.path.lstrip('/')
        segments = raw.split(';')
        matrix = {}
        for param in segments[1:]:
            key, _sep, value = param.partition('=')
            if key:
                matrix.setdefault(unquote(key), []).extend(unquote(v) for v in value.split(','))
        return unquote(segments[0]), matrix, parse_qs(parts.query, keep_blank_values=True)

    def _base(self):
        return 'http://%s:%s' % self.server.server_address[:2]

    def _info(self, item, data):
        sums = checksums(data)
        repo, _sep, path = item.partition('/')
        meta = self.server.store.meta.get(item, {})
        return dict(repo=repo, path='/' + path, created=meta.get('created'), createdBy=meta.get('createdBy'),
                    lastModified=meta.get('lastModified'), lastUpdated=meta.get('lastModified'),
                    modifiedBy=meta.get('createdBy'), downloadUri='%s/%s' % (self._base(), quote(item)),
                    mimeType='application/octet-stream', size=str(len(data)), checksums=sums,
                    originalChecksums=dict(sha256=sums['sha256'], sha1=sums['sha1'], md5=sums['md5']),
                    uri='%s/api/storage/%s' % (self._base(), quote(item)))

    def _read(self, item):
        path = self.server.store.file(item)
        if not path or not os.path.isfile(path):
            return None
        with open(path, 'rb') as handle:
            return handle.read()

    # --- verbs ------------------------------------------------------------------------------------
    def do_GET(self):  # noqa: N802 - http.server's naming
        item, _matrix, query = self._split()
        if item == 'api/system/ping':
            return self._send(200, b'OK', ctype='text/plain')
        if item == '_standin/puts':
            return self._send(200, str(self.server.puts).encode(), ctype='text/plain')
        if item == '_standin/requests':
            return self._send(200, str(self.server.requests).encode(), ctype='text/plain')
        if self._fault() or not self._auth(write=False):
            return None
        if item == 'api/search/prop':
            return self._search(query)
        if item.startswith('api/storage/'):
            return self._storage_get(item[len('api/storage/'):], query)
        data = self._read(item)
        if data is None:
            return self._error(404, 'File not found.')
        sums = checksums(data)
        return self._send(200, data, {'X-Checksum-Sha256': sums['sha256'], 'X-Checksum-Sha1': sums['sha1'],
                                      'X-Checksum-Md5': sums['md5'], 'X-Artifactory-Filename': item.split('/')[-1]},
                          ctype='application/octet-stream')

    do_HEAD = do_GET  # noqa: N815 - same answer without the body (_send skips it)

    def do_POST(self):  # noqa: N802
        item, _matrix, query = self._split()
        if item == '_standin/fail':
            with self.server.lock:
                self.server.fail_status = int(query.get('status', ['503'])[0])
                self.server.fail_count = int(query.get('count', ['1'])[0])
            return self._send(204)
        return self._error(405, 'Method Not Allowed')

    def do_DELETE(self):  # noqa: N802
        item, _matrix, query = self._split()
        if self._fault() or not self._auth(write=True):
            return None
        store = self.server.store
        if item.startswith('api/storage/'):
            target = item[len('api/storage/'):]
            names = ','.join(query.get('properties', [''])).split(',')
            with store.lock:
                props = store.meta.setdefault(target, {}).setdefault('properties', {})
                for name in names:
                    props.pop(name, None)
            return self._send(204)
        path = store.file(item)
        if not path or not os.path.isfile(path):
            return self._error(404, 'Could not locate artifact %s' % item)
        os.unlink(path)
        store.meta.pop(item, None)
        return self._send(204)

    def do_PUT(self):  # noqa: N802
        item, matrix, query = self._split()
        if self._fault() or not self._auth(write=True):
            self._body()
            return None
        if item.startswith('api/storage/'):
            return self._set_properties(item[len('api/storage/'):], query)
        store = self.server.store
        path = store.file(item)
        if not path or '/' not in item:
            self._body()
            return self._error(400, 'Invalid target path %r' % item)
        if (self.headers.get('X-Checksum-Deploy') or '').lower() == 'true':
            sha256, sha1 = self.headers.get('X-Checksum-Sha256'), self.headers.get('X-Checksum-Sha1')
            if not (sha256 or sha1):
                return self._error(400, 'Checksum deploy requires X-Checksum-Sha256 or X-Checksum-Sha1')
            data = store.by_checksum('sha256', sha256) if sha256 else store.by_checksum('sha1', sha1)
            if data is None:
                return self._error(404, 'Checksum deploy failed: no binary with checksum %s' % (sha256 or sha1))
        else:
            data = self._body()
            sums = checksums(data)
            sent = [('X-Checksum-Sha256', 'sha256'), ('X-Checksum-Sha1', 'sha1'), ('X-Checksum-Md5', 'md5')]
            legacy = self.headers.get('X-Checksum')
            if legacy:
                sent.append(('X-Checksum', 'md5' if len(legacy) == 32 else 'sha1'))
            for header, algo in sent:
                value = self.headers.get(header)
                if value and value.lower() != sums[algo]:
                    return self._error(409, 'Checksum conflict: the client sent %s %s, the received content has %s. '
                                            'The content was not stored.' % (header, value, sums[algo]))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as handle:
            handle.write(data)
        with store.lock:
            old = store.meta.get(item, {})
            stamp = now()
            store.meta[item] = dict(created=old.get('created', stamp), createdBy=self.server.user,
                                    lastModified=stamp, properties=dict(matrix))
            self.server.puts += 1
        return self._send(201, json.dumps(self._info(item, data)).encode())

    # --- API handlers ----------------------------------------------------------------------------
    def _storage_get(self, item, query):
        data = self._read(item)
        if data is None:
            return self._error(404, 'Unable to find item')
        if 'properties' in query:
            props = dict(self.server.store.meta.get(item, {}).get('properties') or {})
            wanted = [n for n in ','.join(query['properties']).split(',') if n]
            if wanted:
                props = {k: v for k, v in props.items() if k in wanted}
            if not props:
                return self._error(404, 'No properties could be found.')
            return self._send(200, json.dumps({'properties': props, 'uri': '%s/api/storage/%s' % (
                self._base(), quote(item))}).encode())
        return self._send(200, json.dumps(self._info(item, data)).encode())

    def _set_properties(self, item, query):
        self._body()
        if self._read(item) is None:
            return self._error(404, 'Unable to find item')
        spec = ','.join(query.get('properties', []))
        if not spec:
            return self._error(400, 'The properties parameter is required: ?properties=key=value|key2=value2')
        store = self.server.store
        with store.lock:
            props = store.meta.setdefault(item, {}).setdefault('properties', {})
            for pair in spec.split('|'):
                key, _sep, value = pair.partition('=')
                props[key] = value.split(',') if value else ['']
        return self._send(204)

    def _search(self, query):
        repos = [r for r in ','.join(query.pop('repos', [''])).split(',') if r]
        wanted = {k: set(','.join(v).split(',')) for k, v in query.items()}
        if not wanted:
            return self._error(400, 'Property search needs at least one property')
        results = []
        store = self.server.store
        with store.lock:
            items = sorted(store.meta.items())
        for item, meta in items:
            if repos and item.split('/', 1)[0] not in repos:
                continue
            props = meta.get('properties') or {}
            if all(set(props.get(k, [])) & values for k, values in wanted.items()) and self._read(item) is not None:
                results.append({'uri': '%s/api/storage/%s' % (self._base(), quote(item))})
        return self._send(200, json.dumps({'results': results}).encode())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--root', required=True)
    parser.add_argument('--user', required=True)
    parser.add_argument('--password', required=True)
    parser.add_argument('--token', default='', help='access token (Bearer) and API key of --user')
    parser.add_argument('--reader', default='', help='user:password of a read-only user')
    args = parser.parse_args()
    os.makedirs(args.root, exist_ok=True)
    server = ThreadingHTTPServer(('127.0.0.1', args.port), Handler)
    server.daemon_threads = True
    server.store = Store(args.root)
    server.user, server.password, server.token = args.user, args.password, args.token or None
    server.reader = tuple(args.reader.split(':', 1)) if args.reader else None
    server.puts = server.requests = server.fail_count = 0
    server.fail_status = 503
    server.lock = threading.Lock()
    server.serve_forever()


if __name__ == '__main__':
    main()
