"""kos_images_cli container-unchanged: its exit status and messages, against a registry served on
loopback by the test (the Docker registry API's manifest endpoint, nothing mocked in the CLI). The
live case, after a real build by the playbook, is in tests/integration/images/test_container_pipeline.py."""

import base64
import contextlib
import http.server
import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.kos.platform.plugins.module_utils.kos_images_cli import main

from .test_kos_artifactory import loopback_server

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
CLI = 'ansible_collections.kos.platform.plugins.module_utils.kos_images_cli'
IMAGE = 'sha256:' + 'a' * 64
OTHER = 'sha256:' + 'b' * 64
BASE = 'sha256:' + 'c' * 64
MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'


@contextlib.contextmanager
def registry(manifests, auth=None, status=None):
    """A registry answering GET /v2/<repository>/manifests/<reference> from ``manifests``
    {(repository, reference): config digest, or LIST}; ``kos-input-*`` stands for any key tag.
    ``auth`` (user, password) demands basic auth; ``status`` answers every request with it."""
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            seen.append((self.command, self.path))
            if status:
                return self.answer(status, b'{}')
            if auth and self.headers.get('Authorization') != 'Basic ' + base64.b64encode(
                    ('%s:%s' % auth).encode()).decode():
                return self.answer(401, b'{"errors": [{"message": "authentication required"}]}')
            repository, _sep, reference = self.path[len('/v2/'):].partition('/manifests/')
            if reference.startswith('kos-input-'):
                reference = 'kos-input-*'
            found = manifests.get((repository, reference))
            if found is None:
                return self.answer(404, b'{"errors": [{"code": "MANIFEST_UNKNOWN"}]}')
            if found == LIST:
                return self.answer(200, json.dumps({'manifests': []}).encode(), LIST)
            return self.answer(200, json.dumps({'config': {'digest': found}}).encode(), MANIFEST)

        def do_PUT(self):  # noqa: N802 - the pre-check must never write
            seen.append((self.command, self.path))
            self.answer(500, b'{}')

        def answer(self, code, body, media='application/json'):
            self.send_response(code)
            self.send_header('Content-Type', media)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    with loopback_server(Handler) as address:
        yield address, seen


def context(tmp_path, dockerfile='FROM kos/base:1\nRUN true\n'):
    ctx = tmp_path / 'src'
    ctx.mkdir(exist_ok=True)
    (ctx / 'Dockerfile').write_text(dockerfile)
    return str(ctx)


def run(tmp_path, reg, *extra, environ=None, ctx=None):
    argv = ['container-unchanged', '--context', ctx or context(tmp_path), '--name', 'services/billing',
            '--tag', '1.0', '--registry', reg, '--upstream-registry', reg, '--insecure-registry', reg,
            '--retries', '1', '--timeout', '5'] + list(extra)
    out, err = io.StringIO(), io.StringIO()
    rc = main(argv, out=out, err=err, environ=environ or {})
    return rc, out.getvalue(), err.getvalue()


def test_unchanged_when_the_key_tag_and_the_tag_name_the_same_image(tmp_path):
    held = {('kos/base', '1'): BASE, ('services/billing', 'kos-input-*'): IMAGE, ('services/billing', '1.0'): IMAGE}
    with registry(held) as (reg, seen):
        rc, out, err = run(tmp_path, reg)
    assert (rc, err) == (0, '')
    assert out.count('\n') == 1 and out.startswith('kos-images: unchanged: %s/services/billing:1.0 is the image' % reg)
    assert IMAGE in out and 'kos-input-' in out
    assert {method for method, _path in seen} == {'GET'}


@pytest.mark.parametrize('held, reason', [
    ({('services/billing', 'kos-input-*'): IMAGE}, 'does not point at it: the playbook adds the tag'),
    ({('services/billing', 'kos-input-*'): IMAGE, ('services/billing', '1.0'): OTHER},
     'does not point at it: the playbook adds the tag'),
    ({('services/billing', '1.0'): IMAGE}, 'no image of these inputs in the registry'),
    ({}, 'no image of these inputs in the registry'),
], ids=['tag missing', 'tag on another image', 'key tag missing', 'nothing'])
def test_the_playbook_is_needed_when_the_registry_lacks_a_tag(tmp_path, held, reason):
    with registry({**held, ('kos/base', '1'): BASE}) as (reg, seen):
        rc, out, err = run(tmp_path, reg)
    assert (rc, out) == (1, '')
    assert err.startswith('kos-images: needs the playbook: ') and reason in err, err
    assert {method for method, _path in seen} == {'GET'}  # read-only, even when a tag copy is due


@pytest.mark.parametrize('held, reason', [
    ({}, 'no config digest of base image kos/base:1 through the registry API'),
    ({('kos/base', '1'): LIST}, 'a manifest list, no single image ID'),
], ids=['base nowhere', 'base a manifest list'])
def test_a_base_the_registry_api_does_not_find_needs_the_playbook(tmp_path, held, reason):
    with registry({**held, ('services/billing', 'kos-input-*'): IMAGE, ('services/billing', '1.0'): IMAGE}) \
            as (reg, _seen):
        rc, _out, err = run(tmp_path, reg)
    assert rc == 1 and reason in err, err


def test_a_registry_error_needs_the_playbook(tmp_path):
    with registry({}, status=503) as (reg, _seen):
        rc, _out, err = run(tmp_path, reg)
    assert rc == 1 and 'needs the playbook' in err and 'HTTP 503' in err, err


def test_an_unreachable_registry_needs_the_playbook(tmp_path):
    with registry({}) as (reg, _seen):
        pass  # closed again: nothing listens there now
    rc, _out, err = run(tmp_path, reg)
    assert rc == 1 and 'needs the playbook' in err and 'nothing listens' in err, err


def test_credentials_come_from_the_variables_the_options_name(tmp_path):
    held = {('kos/base', '1'): BASE, ('services/billing', 'kos-input-*'): IMAGE, ('services/billing', '1.0'): IMAGE}
    with registry(held, auth=('kos', 's3cret')) as (reg, _seen):
        default = run(tmp_path, reg, environ=dict(KOS_REGISTRY_USERNAME='kos', KOS_REGISTRY_PASSWORD='s3cret'))
        named = run(tmp_path, reg, '--username-env', 'ART_USER', '--password-env', 'ART_PASSWORD',
                    '--upstream-username-env', 'ART_USER', '--upstream-password-env', 'ART_PASSWORD',
                    environ=dict(ART_USER='kos', ART_PASSWORD='s3cret'))
        anonymous = run(tmp_path, reg)
    assert default[0] == 0, default
    assert named[0] == 0, named
    assert anonymous[0] == 1 and 'HTTP 401' in anonymous[2], anonymous


def test_inputs_change_the_key(tmp_path):
    """The key tag asked for follows the inputs: a build arg, a label, a file of the context."""
    held = {('kos/base', '1'): BASE}
    with registry(held) as (reg, seen):
        ctx = context(tmp_path)
        run(tmp_path, reg, ctx=ctx)
        run(tmp_path, reg, ctx=ctx)
        run(tmp_path, reg, '--build-arg', 'FLAVOUR=b', ctx=ctx)
        run(tmp_path, reg, '--build-args-json', '{"FLAVOUR": "b"}', ctx=ctx)
        run(tmp_path, reg, '--build-args-json', '{"FLAVOUR": 3}', ctx=ctx)
        run(tmp_path, reg, '--label', 'team=billing', ctx=ctx)
        (tmp_path / 'src' / 'app.conf').write_text('feature=on\n')
        run(tmp_path, reg, ctx=ctx)
    keys = [path.rsplit('/', 1)[1] for _method, path in seen if '/kos-input-' in path]
    assert len(keys) == 7
    assert keys[0] == keys[1] and keys[2] == keys[3]  # the same inputs, however given
    assert len(set(keys)) == 5


BAD = [
    ('registry', ['--registry', 'https://'], "registry is 'https://', which names no registry"),
    ('timeout', ['--timeout', '0'], 'timeout is 0: give a positive number of seconds'),
    ('context', ['--context', '/nonexistent/src'], 'context /nonexistent/src is not a directory'),
    ('build arg form', ['--build-arg', 'FLAVOUR'], "--build-arg 'FLAVOUR': give NAME=VALUE"),
    ('label form', ['--label', '=x'], "--label '=x': give NAME=VALUE"),
    ('build args not JSON', ['--build-args-json', '{FLAVOUR'], '--build-args-json is not JSON'),
    ('labels not an object', ['--labels-json', '["a"]'], "--labels-json is ['a']: give a JSON object"),
    ('a list as value', ['--build-args-json', '{"A": [1]}'], 'build_args.A is [1], not a string'),
    ('tag', ['--tag', '1.0 beta'], "invalid tag '1.0 beta'"),
    ('name', ['--name', 'Services/Billing'], "invalid image name 'Services/Billing'"),
    ('dockerfile missing', ['--dockerfile', 'nope/Dockerfile'], 'cannot read the Dockerfile'),
]


@pytest.mark.parametrize('label, extra, message', BAD, ids=[b[0] for b in BAD])
def test_bad_input_exits_2_naming_the_problem(tmp_path, label, extra, message):
    with registry({}) as (reg, seen):
        rc, out, err = run(tmp_path, reg, *extra)
    assert (rc, out) == (2, '')
    assert err.startswith('kos-images: error: ') and message in err, err
    assert seen == []  # refused before any registry request


def test_an_arg_without_value_in_a_from_line_exits_2(tmp_path):
    ctx = context(tmp_path, 'ARG BASE\nFROM ${BASE}\n')
    with registry({}) as (reg, _seen):
        rc, _out, err = run(tmp_path, reg, ctx=ctx)
    assert rc == 2 and 'FROM uses ARG BASE, which has no value' in err, err


def test_every_problem_of_the_options_at_once_and_two_secrets_refused(tmp_path):
    rc, _out, err = run(tmp_path, 'https://', '--timeout', '0',
                        environ=dict(KOS_REGISTRY_PASSWORD='p', KOS_REGISTRY_ACCESS_TOKEN='t'))
    assert rc == 2
    for message in ("registry is 'https://'", 'timeout is 0', 'the environment gives password and access_token'):
        assert message in err, err


@pytest.mark.parametrize('argv', [
    ['container-unchanged', '--context', '.', '--tag', '1', '--registry', 'r.example.com'],  # no --name
    ['container-unchanged', '--context', '.', '--name', 'a', '--tag', '1', '--registry', 'r', '--password', 'p'],
    ['container-unchanged', '--context', '.', '--name', 'a', '--tag', '1', '--registry', 'r', '--timeout', 'x'],
    ['container-unchanged', '--cont', '.', '--name', 'a', '--tag', '1', '--registry', 'r'],  # no abbreviations
    ['build'],
    [],
], ids=['missing option', 'secret on argv', 'not a number', 'abbreviation', 'unknown command', 'no command'])
def test_argument_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert 'usage: kos-images' in capsys.readouterr().err


@pytest.mark.parametrize('held, rc, failures', [
    ({('kos/base', '1'): BASE, ('services/billing', 'kos-input-*'): IMAGE, ('services/billing', '1.0'): IMAGE}, 0, '0'),
    ({('kos/base', '1'): BASE}, 1, '0'),
    (None, 2, '1'),
], ids=['unchanged', 'needs the playbook', 'bad input'])
def test_junit_report(tmp_path, held, rc, failures):
    report = tmp_path / 'reports' / 'pre-check.xml'
    with registry(held or {}) as (reg, _seen):
        extra = ['--junit-xml', str(report)] + (['--timeout', '0'] if held is None else [])
        assert run(tmp_path, reg, *extra)[0] == rc
    suite = ET.parse(str(report)).getroot()
    assert suite.tag == 'testsuite' and suite.get('tests') == '1' and suite.get('failures') == failures
    case = suite.find('testcase')
    assert case.get('name') == '%s/services/billing:1.0' % reg
    assert (case.find('failure') is not None) == (rc == 2)
    assert case.findtext('system-out')


def test_the_command_line_starts_without_ansible(tmp_path):
    """Its start time is the point of the pre-check: nothing of ansible-core is imported."""
    code = ('import sys, runpy\nsys.argv = ["kos-images", "container-unchanged", "--context", %r, "--name", "a",'
            ' "--tag", "1", "--registry", "https://"]\n'
            'try:\n    runpy.run_module(%r, run_name="__main__")\nexcept SystemExit as exc:\n    rc = exc.code\n'
            'print(rc, sorted(m for m in sys.modules if m == "ansible" or m.startswith("ansible.")))\n'
            % (str(tmp_path), CLI))
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60, check=False,
                          env=dict(os.environ, PYTHONPATH=os.path.join(TOP, '.collections')))
    assert proc.stdout.strip() == '2 []', proc.stdout + proc.stderr
