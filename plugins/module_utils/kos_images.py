# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""Pure logic of the container image pipeline: no docker, no network.

``parse_reference(ref)``
    Split an image reference into registry, repository, tag and digest (Docker's rules:
    no dot, colon or ``localhost`` in the first part means Docker Hub; one-part Hub names
    get ``library/``).
``dockerfile_bases(text, build_args)``
    The external base images a Dockerfile's FROM lines name, in order, without ``scratch``
    and without references to earlier stages; ``ARG`` defaults before the first FROM and
    ``build_args`` are substituted.
``base_candidates(base, artifactory, upstream)``
    Where to look for one base, in order: Artifactory's Docker registry first, then the
    upstream registry (Docker Hub or a stand-in), each as a pullable reference.
``push_reference(artifactory, name, tag)``
    The reference a built service image is pushed to.
``neither_message(base, tried)``
    The error for a base that no registry has, naming every registry tried.
"""

from __future__ import annotations

import re

DOCKER_HUB = 'docker.io'
_HUB_ALIASES = frozenset(['docker.io', 'index.docker.io', 'registry-1.docker.io'])
_ARG_RE = re.compile(r'\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))')
_NAME_RE = re.compile(r'^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$')
_TAG_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$')


class ImageReferenceError(ValueError):
    """An image reference or Dockerfile that cannot be understood."""


def _is_registry(part):
    return '.' in part or ':' in part or part == 'localhost'


def normalize_registry(registry):
    """``https://host:port/`` or ``host:port`` -> ``host:port``; Hub aliases -> docker.io."""
    reg = re.sub(r'^[a-z]+://', '', (registry or '').strip()).rstrip('/')
    if not reg:
        raise ImageReferenceError('empty registry name')
    return DOCKER_HUB if reg in _HUB_ALIASES else reg


def parse_reference(ref):
    """Return dict(registry, repository, tag, digest) for an image reference."""
    if not ref or any(c.isspace() for c in ref):
        raise ImageReferenceError('invalid image reference %r' % (ref,))
    rest, digest = ref, None
    if '@' in rest:
        rest, digest = rest.split('@', 1)
        if not re.match(r'^[a-z0-9]+:[a-f0-9]{32,}$', digest):
            raise ImageReferenceError('invalid digest in %r' % (ref,))
    tag = None
    last = rest.rsplit('/', 1)[-1]
    if ':' in last:
        rest, tag = rest.rsplit(':', 1)
        if not _TAG_RE.match(tag):
            raise ImageReferenceError('invalid tag in %r' % (ref,))
    first, sep, remainder = rest.partition('/')
    if sep and _is_registry(first):
        registry, repository = normalize_registry(first), remainder
    else:
        registry, repository = DOCKER_HUB, rest
    if registry == DOCKER_HUB and '/' not in repository:
        repository = 'library/' + repository
    if not _NAME_RE.match(repository):
        raise ImageReferenceError('invalid repository name in %r' % (ref,))
    if tag is None and digest is None:
        tag = 'latest'
    return dict(registry=registry, repository=repository, tag=tag, digest=digest)


def format_reference(registry, repository, tag=None, digest=None):
    """The reference docker understands for these parts."""
    ref = '%s/%s' % (registry, repository)
    if tag:
        ref += ':' + tag
    if digest:
        ref += '@' + digest
    return ref


def _substitute(value, args):
    def repl(match):
        name = match.group(1) or match.group(3)
        default = match.group(2)
        if args.get(name) not in (None, ''):
            return str(args[name])
        if default is not None:
            return default
        raise ImageReferenceError('FROM uses ARG %s, which has no value (give it in build_args)' % name)
    return _ARG_RE.sub(repl, value)


def _logical_lines(text):
    buf = ''
    for raw in text.splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith('#')):
            continue
        if line.endswith('\\'):
            buf += line[:-1] + ' '
            continue
        yield (buf + line).strip()
        buf = ''
    if buf.strip():
        yield buf.strip()


def dockerfile_bases(text, build_args=None):
    """External base images named by FROM, as written (after ARG substitution), deduplicated."""
    build_args = dict(build_args or {})
    args = {}
    stages = set()
    bases = []
    seen_from = False
    for line in _logical_lines(text):
        words = line.split()
        instr = words[0].upper()
        if instr == 'ARG' and not seen_from:
            for decl in words[1:]:
                name, sep, default = decl.partition('=')
                args[name] = build_args.get(name, default if sep else None)
        elif instr == 'FROM':
            seen_from = True
            rest = [w for w in words[1:] if not w.startswith('--')]
            if not rest:
                raise ImageReferenceError('FROM without an image: %r' % line)
            image = _substitute(rest[0], args)
            external = image.lower() != 'scratch' and image.lower() not in stages
            if len(rest) >= 3 and rest[1].upper() == 'AS':
                stages.add(rest[2].lower())
            if external and image not in bases:
                bases.append(image)
    if not seen_from:
        raise ImageReferenceError('the Dockerfile has no FROM line')
    return bases


def base_candidates(base, artifactory, upstream=DOCKER_HUB):
    """Ordered list of dict(source, registry, repository, reference, ref) to try for one FROM reference.

    An image that names Artifactory itself is only looked for there. Any other image is looked
    for in Artifactory under the same repository path (a Docker remote or virtual repository
    in front of the upstream keeps the path), then in the upstream registry: Docker Hub images
    at ``upstream``, images that name another registry at that registry.
    """
    art = normalize_registry(artifactory)
    up = normalize_registry(upstream)
    parsed = parse_reference(base)
    parts = dict(repository=parsed['repository'], tag=parsed['tag'], digest=parsed['digest'])
    reference = parsed['digest'] or parsed['tag']

    def cand(source, registry, repository):
        return dict(source=source, registry=registry, repository=repository, reference=reference,
                    ref=format_reference(registry, repository, parsed['tag'], parsed['digest']))

    art_host, _sep, art_prefix = art.partition('/')
    if parsed['registry'] == art_host and art_prefix and parts['repository'].startswith(art_prefix + '/'):
        # named with Artifactory's repository-path form: host/<repository-key>/<image>
        return [cand('artifactory', art, parts['repository'][len(art_prefix) + 1:])]
    if parsed['registry'] == art:
        return [cand('artifactory', art, parts['repository'])]
    origin = up if parsed['registry'] == DOCKER_HUB else parsed['registry']
    return [cand('artifactory', art, parts['repository']), cand('upstream', origin, parts['repository'])]


def push_reference(artifactory, name, tag):
    """``<artifactory>/<name>:<tag>`` after checking name and tag."""
    art = normalize_registry(artifactory)
    if not _NAME_RE.match(name or ''):
        raise ImageReferenceError('invalid image name %r (lower case, digits, . _ - and /)' % (name,))
    if not _TAG_RE.match(tag or ''):
        raise ImageReferenceError('invalid tag %r' % (tag,))
    return format_reference(art, name, tag)


def neither_message(base, tried):
    """Error text for a base image that no registry has."""
    where = '; '.join('%s (%s): %s' % (t['source'], t['ref'], t.get('error', 'not found')) for t in tried)
    return 'base image %s is in neither registry: %s' % (base, where)
