"""Unit tests of the container pipeline's decisions (kos_images): references, FROM lines, registries."""

import pytest

from ansible_collections.kos.platform.plugins.module_utils.kos_images import (
    ImageReferenceError,
    base_candidates,
    dockerfile_bases,
    neither_message,
    normalize_registry,
    parse_reference,
    push_reference,
)


@pytest.mark.parametrize('ref, expected', [
    ('busybox', ('docker.io', 'library/busybox', 'latest', None)),
    ('busybox:1.36', ('docker.io', 'library/busybox', '1.36', None)),
    ('kos/base:1', ('docker.io', 'kos/base', '1', None)),
    ('docker.io/busybox', ('docker.io', 'library/busybox', 'latest', None)),
    ('index.docker.io/library/debian:12', ('docker.io', 'library/debian', '12', None)),
    ('quay.io/coreos/etcd:v3.5', ('quay.io', 'coreos/etcd', 'v3.5', None)),
    ('127.0.0.1:15001/kos/base:1', ('127.0.0.1:15001', 'kos/base', '1', None)),
    ('localhost/x/y', ('localhost', 'x/y', 'latest', None)),
    ('debian@sha256:' + 'a' * 64, ('docker.io', 'library/debian', None, 'sha256:' + 'a' * 64)),
])
def test_parse_reference(ref, expected):
    parsed = parse_reference(ref)
    assert (parsed['registry'], parsed['repository'], parsed['tag'], parsed['digest']) == expected


@pytest.mark.parametrize('ref', ['', 'Upper/Case', 'a b', 'x:bad tag', 'x@sha256:zz'])
def test_parse_reference_rejects(ref):
    with pytest.raises(ImageReferenceError):
        parse_reference(ref)


def test_normalize_registry():
    assert normalize_registry('https://art.example.com/') == 'art.example.com'
    assert normalize_registry('registry-1.docker.io') == 'docker.io'
    with pytest.raises(ImageReferenceError):
        normalize_registry(' ')


def test_dockerfile_bases_multistage_args_and_scratch():
    text = '''# build
ARG BASE=debian:12
ARG GO
FROM --platform=linux/amd64 golang:${GO:-1.22} AS build
RUN make
FROM build AS test
FROM scratch
FROM $BASE
COPY --from=build /out /out
FROM \\
  debian:12
'''
    assert dockerfile_bases(text) == ['golang:1.22', 'debian:12']
    assert dockerfile_bases(text, {'BASE': 'alpine:3', 'GO': '1.23'}) == ['golang:1.23', 'alpine:3', 'debian:12']


def test_dockerfile_bases_errors():
    with pytest.raises(ImageReferenceError, match='no FROM'):
        dockerfile_bases('RUN true\n')
    with pytest.raises(ImageReferenceError, match='ARG X'):
        dockerfile_bases('FROM ${X}\n')


def test_candidates_hub_image_artifactory_first_then_upstream():
    cands = base_candidates('kos/base:1', '127.0.0.1:15001', '127.0.0.1:15002')
    assert [c['source'] for c in cands] == ['artifactory', 'upstream']
    assert cands[0]['ref'] == '127.0.0.1:15001/kos/base:1'
    assert cands[1]['ref'] == '127.0.0.1:15002/kos/base:1'


def test_candidates_default_upstream_is_docker_hub_with_library():
    cands = base_candidates('busybox', 'art.example.com/docker-remote')
    assert cands[0]['ref'] == 'art.example.com/docker-remote/library/busybox:latest'
    assert cands[1] == dict(source='upstream', registry='docker.io', repository='library/busybox', reference='latest',
                            ref='docker.io/library/busybox:latest')
    assert cands[0]['registry'] == 'art.example.com/docker-remote' and cands[0]['repository'] == 'library/busybox'


def test_candidates_other_registry_keeps_its_origin():
    cands = base_candidates('quay.io/coreos/etcd:v3.5', 'art.example.com', 'docker.io')
    assert cands[1]['ref'] == 'quay.io/coreos/etcd:v3.5'
    assert cands[0]['ref'] == 'art.example.com/coreos/etcd:v3.5'


def test_candidates_image_in_artifactory_is_only_looked_for_there():
    cands = base_candidates('art.example.com/base/os:7', 'art.example.com', 'docker.io')
    assert cands == [dict(source='artifactory', registry='art.example.com', repository='base/os', reference='7',
                          ref='art.example.com/base/os:7')]


def test_candidates_repository_path_form_of_artifactory():
    cands = base_candidates('art.example.com/docker-local/base/os:7', 'art.example.com/docker-local')
    assert [(c['source'], c['registry'], c['repository'], c['ref']) for c in cands] == [
        ('artifactory', 'art.example.com/docker-local', 'base/os', 'art.example.com/docker-local/base/os:7')]


def test_candidates_keep_digest():
    digest = 'sha256:' + 'b' * 64
    cands = base_candidates('debian@' + digest, 'art:8443')
    assert cands[0]['ref'] == 'art:8443/library/debian@' + digest
    assert cands[0]['reference'] == digest


def test_push_reference():
    assert push_reference('http://127.0.0.1:15001', 'services/hello', 'v1') == '127.0.0.1:15001/services/hello:v1'
    with pytest.raises(ImageReferenceError):
        push_reference('art', 'Services', 'v1')
    with pytest.raises(ImageReferenceError):
        push_reference('art', 'services/x', '')


def test_neither_message_names_both_registries():
    msg = neither_message('kos/none:1', [
        dict(source='artifactory', ref='a:1/kos/none:1', error='manifest unknown'),
        dict(source='upstream', ref='b:2/kos/none:1')])
    assert 'a:1/kos/none:1' in msg and 'b:2/kos/none:1' in msg and 'manifest unknown' in msg
