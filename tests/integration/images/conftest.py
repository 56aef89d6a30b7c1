"""Shared helpers of the images suite (run by run.sh, which starts the registries and the stand-in)."""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _env(name):
    value = os.environ.get(name)
    if not value:
        pytest.skip('%s is not set: run tests/integration/images/run.sh' % name)
    return value


@pytest.fixture(scope='session')
def registries():
    return dict(artifactory=_env('KOS_IMAGES_ART'), dockerhub=_env('KOS_IMAGES_HUB'))


@pytest.fixture(scope='session')
def generic_url():
    return _env('KOS_IMAGES_GENERIC')


@pytest.fixture(scope='session')
def state_dir():
    return _env('KOS_IMAGES_STATE')


def docker(*args, check=True):
    return subprocess.run(['docker'] + list(args), check=check, capture_output=True, text=True)


def tags(registry, repository, keys=False):
    """Tags of a repository from the registry API (/v2/<name>/tags/list); [] when it is unknown.
    The pipeline's input-key tags (kos-input-<key>) only with keys=True."""
    try:
        with urllib.request.urlopen('http://%s/v2/%s/tags/list' % (registry, repository), timeout=10) as resp:
            found = sorted(json.load(resp).get('tags') or [])
            return found if keys else [t for t in found if not t.startswith('kos-input-')]
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return []
        raise


def manifest_config_digest(registry, repository, tag):
    req = urllib.request.Request('http://%s/v2/%s/manifests/%s' % (registry, repository, tag),
                                 headers={'Accept': 'application/vnd.docker.distribution.manifest.v2+json'})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)['config']['digest']


def run_playbook(playbook, extra_vars, check=False):
    """Run a playbook with the json callback; return (rc, parsed output, raw stdout)."""
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json',
               ANSIBLE_LOAD_CALLBACK_PLUGINS='1')
    cmd = ['ansible-playbook', '-i', 'localhost,', '-c', 'local', os.path.join(TOP, playbook),
           '-e', json.dumps(dict(extra_vars, ansible_python_interpreter=sys.executable))]
    if check:
        cmd.append('--check')
    proc = subprocess.run(cmd, cwd=TOP, env=env, capture_output=True, text=True, timeout=600)
    try:
        # other enabled callbacks (a timing recap) may print after the JSON document
        out = json.JSONDecoder().raw_decode(proc.stdout[proc.stdout.index('{'):])[0]
    except ValueError:
        raise AssertionError('no JSON from ansible-playbook (rc %s):\n%s\n%s' % (
            proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])) from None
    return proc.returncode, out, proc.stdout


def task_result(out, name):
    for play in out['plays']:
        for task in play['tasks']:
            if task['task']['name'] == name or task['task']['name'].endswith(' : ' + name):
                return next(iter(task['hosts'].values()))
    raise AssertionError('task %r did not run' % name)
