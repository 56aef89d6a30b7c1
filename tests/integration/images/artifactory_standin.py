#!/usr/bin/env python3
"""STAND-IN for Artifactory's generic repository, for the images suite only.

A small http.server subclass on loopback that implements the part of Artifactory's REST API
that the artifact_upload module uses, and nothing else:
  - PUT /<repo>/<path>: deploy an artifact (HTTP basic auth required). The X-Checksum-Sha256,
    X-Checksum-Sha1 and X-Checksum (md5) headers, when sent, are verified against the body;
    a mismatch is refused with 409 as Artifactory's checksum policy does. Answers 201 with
    Artifactory's JSON (repo, path, size, checksums, downloadUri).
  - HEAD/GET /<repo>/<path>: the artifact with X-Checksum-Sha256/-Sha1/-Md5 headers, 404 if absent.
  - GET /api/system/ping: "OK".
  - GET /_standin/puts: how many PUTs were stored (a test hook that Artifactory does not have).
It is not Artifactory: no repositories configuration, no properties, no storage API.
"""

import argparse
import base64
import hashlib
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    server_version = 'artifactory-standin/1'

    def log_message(self, fmt, *args):  # keep the suite's log readable
        print('%s %s' % (self.command, self.path), flush=True)

    def _path(self):
        rel = os.path.normpath(self.path.split('?', 1)[0].lstrip('/'))
        if rel.startswith('..') or rel in ('', '.'):
            return None
        return os.path.join(self.server.root, rel)

    def _authorized(self):
        want = base64.b64encode(('%s:%s' % (self.server.user, self.server.password)).encode()).decode()
        if self.headers.get('Authorization') == 'Basic ' + want:
            return True
        self._send(401, b'{"errors":[{"status":401,"message":"Unauthorized"}]}',
                   {'WWW-Authenticate': 'Basic realm="Artifactory Realm"'})
        return False

    def _send(self, code, body=b'', headers=None, head=False):
        self.send_response(code)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _get(self, head):
        if self.path == '/api/system/ping':
            return self._send(200, b'OK', head=head)
        if self.path == '/_standin/puts':
            return self._send(200, str(self.server.puts).encode(), head=head)
        if not self._authorized():
            return None
        path = self._path()
        if not path or not os.path.isfile(path):
            return self._send(404, b'{"errors":[{"status":404,"message":"File not found."}]}', head=head)
        with open(path, 'rb') as handle:
            data = handle.read()
        sums = checksums(data)
        return self._send(200, data, {'X-Checksum-Sha256': sums['sha256'], 'X-Checksum-Sha1': sums['sha1'],
                                      'X-Checksum-Md5': sums['md5'],
                                      'Content-Type': 'application/octet-stream'}, head=head)

    def do_GET(self):  # noqa: N802 - http.server's naming
        self._get(head=False)

    def do_HEAD(self):  # noqa: N802
        self._get(head=True)

    def do_PUT(self):  # noqa: N802
        if not self._authorized():
            return
        path = self._path()
        if not path:
            return self._send(400)
        length = int(self.headers.get('Content-Length', '0'))
        data = self.rfile.read(length)
        sums = checksums(data)
        for header, algo in (('X-Checksum-Sha256', 'sha256'), ('X-Checksum-Sha1', 'sha1'), ('X-Checksum', 'md5')):
            sent = self.headers.get(header)
            if sent and sent.lower() != sums[algo]:
                msg = 'Checksum policy: %s %s does not match the content (%s)' % (header, sent, sums[algo])
                return self._send(409, json.dumps({'errors': [{'status': 409, 'message': msg}]}).encode())
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as handle:
            handle.write(data)
        self.server.puts += 1
        rel = os.path.relpath(path, self.server.root)
        repo, _, item = rel.partition('/')
        body = dict(repo=repo, path='/' + item, size=str(len(data)), checksums=sums,
                    originalChecksums=dict(sha256=sums['sha256']),
                    downloadUri='http://%s:%s/%s' % (self.server.server_address + (rel,)),
                    uri='http://%s:%s/api/storage/%s' % (self.server.server_address + (rel,)))
        return self._send(201, json.dumps(body).encode(), {'Content-Type': 'application/json'})


def checksums(data):
    return dict(sha256=hashlib.sha256(data).hexdigest(), sha1=hashlib.sha1(data).hexdigest(),
                md5=hashlib.md5(data).hexdigest())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--root', required=True)
    parser.add_argument('--user', required=True)
    parser.add_argument('--password', required=True)
    args = parser.parse_args()
    os.makedirs(args.root, exist_ok=True)
    server = ThreadingHTTPServer(('127.0.0.1', args.port), Handler)
    server.root, server.user, server.password, server.puts = args.root, args.user, args.password, 0
    server.serve_forever()


if __name__ == '__main__':
    main()
