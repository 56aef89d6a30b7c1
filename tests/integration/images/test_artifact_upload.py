"""artifact_upload, live against the stand-in for Artifactory's generic repository (artifactory_standin.py)."""

import base64
import hashlib
import json
import urllib.error
import urllib.request

import pytest
from conftest import run_playbook, task_result

USER, PASSWORD = 'kos', 'kos-it-secret'
TASK = 'Upload'


def upload_play(tmp_path, src, path, password=PASSWORD, **extra):
    args = dict(src=str(src), url='{{ generic_url }}', repository='vm-images', path=path,
                username=USER, password=password)
    args.update(extra)
    play = [dict(name='upload', hosts='localhost', gather_facts=False,
                 tasks=[dict(name=TASK, **{'kos.platform.artifact_upload': args})])]
    book = tmp_path / ('upload-%s.yml' % hashlib.md5(json.dumps(args).encode()).hexdigest())
    book.write_text(json.dumps(play))
    return str(book)


def fetch(generic_url, path):
    req = urllib.request.Request('%s/vm-images/%s' % (generic_url, path), headers={
        'Authorization': 'Basic ' + base64.b64encode(('%s:%s' % (USER, PASSWORD)).encode()).decode()})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.read()
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise


def puts(generic_url):
    with urllib.request.urlopen(generic_url + '/_standin/puts', timeout=10) as resp:
        return int(resp.read())


@pytest.fixture
def image(tmp_path):
    src = tmp_path / 'svc-1.0.qcow2'
    src.write_bytes(b'QFI\xfb' + bytes(range(256)) * 4096)  # 1 MiB, not text
    return src


def test_upload_then_rerun_sends_nothing(generic_url, tmp_path, image):
    before = puts(generic_url)
    book = upload_play(tmp_path, image, 'svc/1.0/svc-1.0.qcow2')
    rc, out, raw = run_playbook(book, dict(generic_url=generic_url))
    assert rc == 0, raw[-3000:]
    res = task_result(out, TASK)
    assert res['changed'] is True and res['uploaded'] is True and res['previous'] is None
    assert res['checksums']['sha256'] == hashlib.sha256(image.read_bytes()).hexdigest()
    assert fetch(generic_url, 'svc/1.0/svc-1.0.qcow2') == image.read_bytes()
    assert puts(generic_url) == before + 1

    rc, out, raw = run_playbook(book, dict(generic_url=generic_url))
    assert rc == 0, raw[-3000:]
    res = task_result(out, TASK)
    assert res['changed'] is False and res['uploaded'] is False
    assert res['previous']['sha256'] == res['checksums']['sha256']
    assert puts(generic_url) == before + 1


def test_check_mode_sends_nothing(generic_url, tmp_path, image):
    before = puts(generic_url)
    rc, out, raw = run_playbook(upload_play(tmp_path, image, 'svc/2.0/svc.qcow2'), dict(generic_url=generic_url),
                                check=True)
    assert rc == 0, raw[-3000:]
    assert task_result(out, TASK)['changed'] is True
    assert fetch(generic_url, 'svc/2.0/svc.qcow2') is None
    assert puts(generic_url) == before


def test_other_content_needs_force(generic_url, tmp_path, image):
    path = 'svc/3.0/svc.qcow2'
    rc, _, raw = run_playbook(upload_play(tmp_path, image, path), dict(generic_url=generic_url))
    assert rc == 0, raw[-3000:]
    other = tmp_path / 'other.qcow2'
    other.write_bytes(b'other content')
    rc, out, _ = run_playbook(upload_play(tmp_path, other, path), dict(generic_url=generic_url))
    assert rc != 0
    assert 'force=true' in task_result(out, TASK)['msg']
    assert fetch(generic_url, path) == image.read_bytes()
    rc, out, raw = run_playbook(upload_play(tmp_path, other, path, force=True), dict(generic_url=generic_url))
    assert rc == 0, raw[-3000:]
    assert fetch(generic_url, path) == b'other content'


def test_wrong_password_fails_and_is_not_shown(generic_url, tmp_path, image):
    rc, out, raw = run_playbook(upload_play(tmp_path, image, 'svc/4.0/svc.qcow2', password='wrong-pw-x'),
                                dict(generic_url=generic_url))
    assert rc != 0
    assert '401' in task_result(out, TASK)['msg']
    assert 'wrong-pw-x' not in raw
    assert fetch(generic_url, 'svc/4.0/svc.qcow2') is None
