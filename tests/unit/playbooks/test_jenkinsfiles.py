"""The Jenkinsfiles of playbooks/images/jenkins/: every playbook they run exists and passes
`ansible-playbook --syntax-check`, every variable they pass is one the playbook's roles declare,
and secrets only reach the playbooks through the environment (credentials bindings)."""

import os
import re
import shlex
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


# --- the container job's pre-check --------------------------------------------------------------
PRECHECK = 'ansible_collections.kos.platform.plugins.module_utils.kos_images_cli'
# pre-check option (argparse dest) -> the role variable the playbook gets for the same module option
SAME_INPUT = {'context': 'container_image_context', 'name': 'container_image_name', 'tag': 'container_image_tag',
              'registry': 'container_image_registry', 'upstream_registry': 'container_image_upstream_registry',
              'labels_json': 'container_image_labels'}


def build_stage_commands():
    """The container job's 'Build and push' shell: (pre-check argv, its position, playbook -e values, position)."""
    text = read('container.Jenkinsfile')
    stage = text[text.index("stage('Build and push')"):]
    script = stage[stage.index("sh '''") + 6:stage.index("'''", stage.index("sh '''") + 6)].replace('\\\n', ' ')
    lines = [line.strip() for line in script.splitlines()]
    pre = next(i for i, line in enumerate(lines) if ' -m %s ' % PRECHECK in line)
    play = next(i for i, line in enumerate(lines) if line.startswith('ansible-playbook '))
    words = shlex.split(lines[pre])
    argv = words[words.index(PRECHECK) + 1:words.index('||')]
    extra = {}
    words = shlex.split(lines[play])
    for flag, value in zip(words, words[1:], strict=False):
        if flag != '-e':
            continue
        match = re.match(r'^\{"(\w+)": (.*)\}$', value)
        name, _sep, raw = value.partition('=') if not match else (match.group(1), '', match.group(2))
        extra[name] = raw
    return script, argv, pre, extra, play


def test_container_job_runs_the_pre_check_first_and_the_playbook_only_on_exit_1():
    from ansible_collections.kos.platform.plugins.module_utils.kos_images_cli import parse_args

    script, argv, pre, _extra, play = build_stage_commands()
    assert pre < play
    args = parse_args(argv)  # the job's command line is one the pre-check accepts
    assert args.command == 'container-unchanged'
    assert re.search(r'\|\| rc=\$\?\n\s*case \$rc in\n\s*0\) exit 0 ;;\n\s*1\) ;;\n\s*\*\) [^\n]*exit "\$rc" ;;\n'
                     r'\s*esac\n\s*ansible-playbook ', script), 'exit 0 ends the job, 1 runs the playbook, 2 fails'
    # its JUnit report goes where the job publishes from, so a job that ends at the pre-check has one
    assert args.junit_xml.startswith('$JUNIT_OUTPUT_DIR/') and args.junit_xml.endswith('.xml')


def test_container_pre_check_gets_the_playbooks_inputs_and_credentials_from_the_environment():
    from ansible_collections.kos.platform.plugins.module_utils.kos_images_cli import parse_args

    _script, argv, _pre, extra, _play = build_stage_commands()
    args = parse_args(argv)
    for option, variable in SAME_INPUT.items():
        assert getattr(args, option) == extra[variable], '%s differs from %s' % (option, variable)
    # every other input of the key keeps the module's default on both sides
    assert set(extra) - set(SAME_INPUT.values()) == {
        'container_image_cache_base', 'container_image_username', 'container_image_password',
        'container_image_upstream_username', 'container_image_upstream_password'}
    assert (args.dockerfile, args.build_arg, args.build_args_json, args.insecure_registry) == (
        'Dockerfile', [], None, [])
    assert args.validate_certs is True
    # the same credentials: names of variables on the pre-check's command line, never their values
    assert extra['container_image_username'] == '$' + args.username_env
    assert extra['container_image_password'] == '{{ lookup("ansible.builtin.env", "%s") }}' % args.password_env
    assert extra['container_image_upstream_username'] == '$' + args.upstream_username_env
    assert extra['container_image_upstream_password'] == \
        '{{ lookup("ansible.builtin.env", "%s") }}' % args.upstream_password_env
    assert not any('$' in word and word.strip('"$') in ('ART_PASSWORD', 'HUB_TOKEN') for word in argv)
