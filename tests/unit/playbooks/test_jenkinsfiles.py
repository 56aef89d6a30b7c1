"""The Jenkinsfiles of playbooks/images/jenkins/: every playbook they run exists and passes
`ansible-playbook --syntax-check`, every variable they pass is one the playbook's roles declare,
and secrets only reach the playbooks through the environment (credentials bindings)."""

import os
import re
import subprocess
import sys

import pytest
import yaml

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
JENKINS = os.path.join(TOP, 'playbooks', 'images', 'jenkins')
JENKINSFILES = sorted(f for f in os.listdir(JENKINS) if f.endswith('.Jenkinsfile'))
ROLE_OF = {'playbooks/images/container.yml': 'container_image', 'playbooks/images/vm.yml': 'packer_image',
           'playbooks/images/baremetal.yml': 'dib_image'}


def read(name):
    with open(os.path.join(JENKINS, name)) as handle:
        return handle.read()


def playbooks(text):
    """Playbook paths after `ansible-playbook` (relative to the platform checkout)."""
    found = []
    for match in re.finditer(r'ansible-playbook\b(.*?)(?<!\\)\n', text, re.S):
        for word in match.group(1).replace('\\\n', ' ').split():
            word = word.strip('\'"')
            if word.endswith('.yml') and not word.startswith(('@', '-', '$')):
                found.append(re.sub(r'^platform/', '', word))
    return found


def test_there_is_one_jenkinsfile_per_pipeline_and_one_for_the_platform():
    assert JENKINSFILES == ['baremetal.Jenkinsfile', 'container.Jenkinsfile', 'site.Jenkinsfile', 'vm.Jenkinsfile']


@pytest.mark.parametrize('name, expected', [
    ('container.Jenkinsfile', ['playbooks/images/container.yml']),
    ('vm.Jenkinsfile', ['playbooks/images/vm.yml']),
    ('baremetal.Jenkinsfile', ['playbooks/images/baremetal.yml']),
    ('site.Jenkinsfile', ['playbooks/provision.yml', 'site.yml', 'playbooks/verify.yml']),
])
def test_jenkinsfile_runs_the_expected_playbooks(name, expected):
    text = read(name)
    assert text.startswith('//') and 'pipeline {' in text and 'stages {' in text
    assert playbooks(text) == expected


def _referenced():
    return sorted({(name, pb) for name in JENKINSFILES for pb in playbooks(read(name))})


@pytest.mark.parametrize('name, playbook', _referenced())
def test_referenced_playbook_exists_and_passes_syntax_check(name, playbook):
    path = os.path.join(TOP, playbook)
    assert os.path.isfile(path), '%s names %s, which does not exist' % (name, playbook)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(TOP, 'ansible.cfg'),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, '.collections'),
               ANSIBLE_ROLES_PATH=os.path.join(TOP, 'roles'))
    bindir = os.path.dirname(sys.executable)
    proc = subprocess.run([os.path.join(bindir, 'ansible-playbook'), '-i', 'inventories/sample', '--syntax-check',
                           playbook], cwd=TOP, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize('name, playbook', [(n, p) for n, p in _referenced() if p in ROLE_OF])
def test_variables_passed_are_declared_by_the_role(name, playbook):
    role = ROLE_OF[playbook]
    with open(os.path.join(TOP, 'roles', role, 'meta', 'argument_specs.yml')) as handle:
        declared = set(yaml.safe_load(handle)['argument_specs']['main']['options'])
    passed = set(re.findall(r'\b(%s_[a-z_]+)["\']?[=:]' % role, read(name)))
    assert passed, 'no variables of %s passed' % role
    assert passed <= declared, 'undeclared: %s' % sorted(passed - declared)


@pytest.mark.parametrize('name', JENKINSFILES)
def test_secrets_come_from_credentials_bindings_via_the_environment(name):
    text = read(name)
    assert 'withCredentials' in text
    for var in re.findall(r'(?:passwordVariable): \'(\w+)\'', text):
        assert 'lookup("ansible.builtin.env", "%s")' % var in text, '%s must be read from the environment' % var
        assert '"$%s"' % var not in text and '${%s}' % var not in text, '%s must not be on a command line' % var


@pytest.mark.parametrize('name', JENKINSFILES)
def test_host_keys_are_checked(name):
    # A job that pushes keys, tokens and certificates must not trust whoever answers on port 22.
    text = read(name)
    assert not re.search(r'HOST_KEY_CHECKING\s*=\s*["\']?(false|0|no)', text, re.I), name
    assert not re.search(r'StrictHostKeyChecking\s*=?\s*no', text, re.I), name
