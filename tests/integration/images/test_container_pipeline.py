"""Container image pipeline, live: playbooks/images/container.yml against two real registries.

127.0.0.1:15001 stands in for Artifactory's Docker repository, 127.0.0.1:15002 for Docker Hub;
both are Debian's docker-registry (distribution 2.8), started by run.sh.
"""

import json
import os
import subprocess
import sys

import pytest
from conftest import TOP, docker, manifest_config_digest, run_playbook, tags, task_result

PLAYBOOK = 'playbooks/images/container.yml'
TASK = 'Build and push the service image'
PRECHECK = 'ansible_collections.kos.platform.plugins.module_utils.kos_images_cli'


@pytest.fixture(scope='module')
def seeded(registries):
    """kos/base-art:1 only in "artifactory", kos/base-hub:1 only in "dockerhub", kos/base-none:1 nowhere."""
    for registry, repo in ((registries['artifactory'], 'kos/base-art'), (registries['dockerhub'], 'kos/base-hub')):
        ref = '%s/%s:1' % (registry, repo)
        docker('tag', 'kos-it/busybox:seed', ref)
        docker('push', ref)
        docker('rmi', ref)
    assert tags(registries['artifactory'], 'kos/base-art') == ['1']
    assert tags(registries['dockerhub'], 'kos/base-art') == []
    assert tags(registries['dockerhub'], 'kos/base-hub') == ['1']
    assert tags(registries['artifactory'], 'kos/base-hub') == []
    return registries


def context(tmp_path, base):
    (tmp_path / 'Dockerfile').write_text(
        'FROM %s\nRUN echo built-from-%s > /built\nCMD ["/bin/cat", "/built"]\n' % (base, base.split(':')[0]))
    return str(tmp_path)


def variables(regs, ctx, name, tag, **extra):
    base = dict(container_image_context=ctx, container_image_name=name, container_image_tag=tag,
                container_image_registry=regs['artifactory'], container_image_upstream_registry=regs['dockerhub'],
                container_image_insecure_registries=[regs['artifactory'], regs['dockerhub']])
    base.update(extra)
    return base


def forget_local(*refs):
    for ref in refs:
        docker('rmi', '-f', ref, check=False)


def test_base_in_artifactory_is_used_from_there_and_rerun_pushes_nothing(seeded, tmp_path):
    forget_local('kos/base-art:1')
    ctx = context(tmp_path, 'kos/base-art:1')
    rc, out, raw = run_playbook(PLAYBOOK, variables(seeded, ctx, 'services/hello', 'v1'))
    assert rc == 0, raw[-3000:]
    res = task_result(out, TASK)
    assert res['changed'] is True and res['pushed'] is True
    assert [(b['base'], b['source'], b['ref']) for b in res['bases']] == [
        ('kos/base-art:1', 'artifactory', '%s/kos/base-art:1' % seeded['artifactory'])]
    assert res['image'] == '%s/services/hello:v1' % seeded['artifactory']
    assert tags(seeded['artifactory'], 'services/hello') == ['v1']
    assert manifest_config_digest(seeded['artifactory'], 'services/hello', 'v1') == res['image_id']
    # the image really is built on the base: it runs busybox's cat
    assert docker('run', '--rm', res['image']).stdout.strip() == 'built-from-kos/base-art'

    rc, out, raw = run_playbook(PLAYBOOK, variables(seeded, ctx, 'services/hello', 'v1'))
    assert rc == 0, raw[-3000:]
    again = task_result(out, TASK)
    assert again['changed'] is False and again['pushed'] is False
    assert again['image_id'] == res['image_id']


def test_base_only_upstream_falls_back_and_is_cached(seeded, tmp_path):
    forget_local('kos/base-hub:1', '%s/kos/base-hub:1' % seeded['artifactory'])
    ctx = context(tmp_path, 'kos/base-hub:1')
    extra = dict(container_image_cache_base=True)
    rc, out, raw = run_playbook(PLAYBOOK, variables(seeded, ctx, 'services/hub', 'v1', **extra), check=True)
    assert rc == 0, raw[-3000:]
    dry = task_result(out, TASK)
    assert dry['changed'] is True and dry['bases'][0]['source'] == 'upstream' and dry['image_id'] == ''
    assert tags(seeded['artifactory'], 'kos/base-hub') == [] and tags(seeded['artifactory'], 'services/hub') == []

    rc, out, raw = run_playbook(PLAYBOOK, variables(seeded, ctx, 'services/hub', 'v1', **extra))
    assert rc == 0, raw[-3000:]
    res = task_result(out, TASK)
    assert [(b['source'], b['registry'], b['cached']) for b in res['bases']] == [
        ('upstream', seeded['dockerhub'], True)]
    assert tags(seeded['artifactory'], 'kos/base-hub') == ['1']  # cached into "Artifactory"
    assert tags(seeded['artifactory'], 'services/hub') == ['v1']

    forget_local('kos/base-hub:1', '%s/kos/base-hub:1' % seeded['artifactory'])
    rc, out, raw = run_playbook(PLAYBOOK, variables(seeded, ctx, 'services/hub', 'v1', **extra))
    assert rc == 0, raw[-3000:]
    res = task_result(out, TASK)
    assert res['bases'][0]['source'] == 'artifactory' and res['bases'][0]['cached'] is False
    assert res['changed'] is False


def test_base_in_neither_registry_fails_naming_both(seeded, tmp_path):
    ctx = context(tmp_path, 'kos/base-none:1')
    rc, out, raw = run_playbook(PLAYBOOK, variables(seeded, ctx, 'services/none', 'v1'))
    assert rc != 0
    res = task_result(out, TASK)
    assert res.get('failed') is True
    msg = res['msg']
    assert 'kos/base-none:1' in msg and 'neither registry' in msg
    assert '%s/kos/base-none:1' % seeded['artifactory'] in msg
    assert '%s/kos/base-none:1' % seeded['dockerhub'] in msg
    assert tags(seeded['artifactory'], 'services/none') == []


def test_build_only_does_not_push(seeded, tmp_path):
    ctx = context(tmp_path, 'kos/base-art:1')
    rc, out, raw = run_playbook(PLAYBOOK, variables(seeded, ctx, 'services/local', 'v1', container_image_push=False))
    assert rc == 0, raw[-3000:]
    assert task_result(out, TASK)['pushed'] is False
    assert tags(seeded['artifactory'], 'services/local') == []
    assert os.path.isdir(ctx)


def keyed(seeded, ctx, tag, **extra):
    # Labels are inputs (they are in the image's config): the role's default label carries the tag, so
    # this service labels without it, and a new tag of unchanged inputs is not rebuilt.
    labels = {'org.opencontainers.image.vendor': 'kos'}
    return variables(seeded, ctx, 'services/keyed', tag, container_image_labels=labels, **extra)


def test_unchanged_inputs_skip_the_build_and_a_change_rebuilds(seeded, tmp_path):
    ctx = context(tmp_path, 'kos/base-art:1')
    rc, out, raw = run_playbook(PLAYBOOK, keyed(seeded, ctx, 'v1'))
    assert rc == 0, raw[-3000:]
    first = task_result(out, TASK)
    assert first['built'] is True and len(first['input_key']) == 64
    assert tags(seeded['artifactory'], 'services/keyed', keys=True) == ['kos-input-' + first['input_key'], 'v1']

    # the same inputs again: nothing is built or pushed
    rc, out, raw = run_playbook(PLAYBOOK, keyed(seeded, ctx, 'v1'))
    assert rc == 0, raw[-3000:]
    again = task_result(out, TASK)
    assert again['built'] is False and again['changed'] is False and again['input_key'] == first['input_key']

    # a new version of unchanged inputs: tagged in the registry, not built
    rc, out, raw = run_playbook(PLAYBOOK, keyed(seeded, ctx, 'v2'))
    assert rc == 0, raw[-3000:]
    retag = task_result(out, TASK)
    assert retag['built'] is False and retag['changed'] is True and retag['pushed'] is True
    assert manifest_config_digest(seeded['artifactory'], 'services/keyed', 'v2') == first['image_id']

    # an input change (a file of the build context) rebuilds
    (tmp_path / 'app.conf').write_text('feature=on\n')
    rc, out, raw = run_playbook(PLAYBOOK, keyed(seeded, ctx, 'v3'))
    assert rc == 0, raw[-3000:]
    changed = task_result(out, TASK)
    assert changed['built'] is True and changed['input_key'] != first['input_key']
    # and so does a build argument
    rc, out, raw = run_playbook(PLAYBOOK, keyed(seeded, ctx, 'v3', container_image_build_args={'FLAVOUR': 'b'}))
    assert rc == 0, raw[-3000:]
    assert task_result(out, TASK)['built'] is True


def precheck(regs, ctx, name, tag, labels, build_args=None):
    """The Jenkins job's pre-check (kos_images_cli container-unchanged) with the playbook's inputs."""
    argv = [sys.executable, '-m', PRECHECK, 'container-unchanged', '--context', ctx, '--name', name, '--tag', tag,
            '--registry', regs['artifactory'], '--upstream-registry', regs['dockerhub'],
            '--insecure-registry', regs['artifactory'], '--insecure-registry', regs['dockerhub'],
            '--labels-json', json.dumps(labels), '--build-args-json', json.dumps(build_args or {})]
    return subprocess.run(argv, env=dict(os.environ, PYTHONPATH=os.path.join(TOP, '.collections')),
                          capture_output=True, text=True, timeout=120, check=False)


def test_precheck_finds_the_image_the_playbook_built_and_nothing_else(seeded, tmp_path):
    name, labels = 'services/precheck', {'org.opencontainers.image.vendor': 'kos'}
    ctx = context(tmp_path, 'kos/base-art:1')
    before = precheck(seeded, ctx, name, 'v1', labels)
    assert before.returncode == 1 and 'no image of these inputs' in before.stderr, before.stderr
    rc, out, raw = run_playbook(PLAYBOOK, variables(seeded, ctx, name, 'v1', container_image_labels=labels))
    assert rc == 0, raw[-3000:]
    built = task_result(out, TASK)
    assert built['built'] is True

    # the same inputs: nothing to do, one line naming the image
    same = precheck(seeded, ctx, name, 'v1', labels)
    assert same.returncode == 0, same.stderr
    assert same.stdout.count('\n') == 1 and 'kos-input-' + built['input_key'] in same.stdout
    assert '%s/%s:v1' % (seeded['artifactory'], name) in same.stdout and built['image_id'] in same.stdout

    # the key tag exists but the requested tag does not: the playbook must add it; the pre-check does not
    retag = precheck(seeded, ctx, name, 'v2', labels)
    assert retag.returncode == 1 and 'does not point at it' in retag.stderr, retag.stderr
    assert tags(seeded['artifactory'], name, keys=True) == ['kos-input-' + built['input_key'], 'v1']
    rc, out, raw = run_playbook(PLAYBOOK, variables(seeded, ctx, name, 'v2', container_image_labels=labels))
    assert rc == 0 and task_result(out, TASK)['built'] is False, raw[-3000:]
    assert precheck(seeded, ctx, name, 'v2', labels).returncode == 0

    # one input changed: a build argument, a label, a file of the context
    arg = precheck(seeded, ctx, name, 'v1', labels, build_args={'FLAVOUR': 'b'})
    assert arg.returncode == 1 and 'no image of these inputs' in arg.stderr, arg.stderr
    label = precheck(seeded, ctx, name, 'v1', dict(labels, team='billing'))
    assert label.returncode == 1 and 'no image of these inputs' in label.stderr, label.stderr
    (tmp_path / 'app.conf').write_text('feature=on\n')
    changed = precheck(seeded, ctx, name, 'v1', labels)
    assert changed.returncode == 1 and 'no image of these inputs' in changed.stderr, changed.stderr
    # and the playbook agrees: it builds
    rc, out, raw = run_playbook(PLAYBOOK, variables(seeded, ctx, name, 'v3', container_image_labels=labels))
    assert rc == 0 and task_result(out, TASK)['built'] is True, raw[-3000:]
    assert precheck(seeded, ctx, name, 'v3', labels).returncode == 0


def test_precheck_of_a_base_in_neither_registry_leaves_it_to_the_playbook(seeded, tmp_path):
    ctx = context(tmp_path, 'kos/base-none:1')
    proc = precheck(seeded, ctx, 'services/none', 'v1', {})
    assert proc.returncode == 1 and 'no config digest of base image kos/base-none:1' in proc.stderr, proc.stderr
