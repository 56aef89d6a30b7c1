# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""Input keys of the image pipelines: a build is skipped when an artifact for its key exists.

``tree_digest(paths, exclude)``
    sha256 over the files under ``paths`` (relative names, file modes, contents; symbolic links
    by their target), in a stable order. A missing path raises ``InputKeyError``.
``input_key(parts, paths, exclude)``
    sha256 hex of the canonical JSON of ``parts`` (anything JSON can hold: elements, environment,
    packages, tool versions, base image digests ...) and of ``tree_digest(paths)``.
    The same inputs give the same key on every host; any change of a value or a file changes it.
    Version labels (build number, commit) are left out by the callers on purpose: a rebuild of
    unchanged inputs under a new version is what the key lets the pipeline skip.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat

KEY_VERSION = 'kos-images-key-1'


class InputKeyError(ValueError):
    """An input of the key that cannot be read."""


def _walk(root, exclude):
    if os.path.isfile(root) or os.path.islink(root):
        yield '', root
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in exclude)
        for name in sorted(filenames):
            if name in exclude:
                continue
            full = os.path.join(dirpath, name)
            yield os.path.relpath(full, root), full


def tree_digest(paths, exclude=('.git',)):
    digest = hashlib.sha256()
    exclude = frozenset(exclude or ())
    for index, root in enumerate(paths or []):
        if not os.path.lexists(root):
            raise InputKeyError('%s does not exist: an input of the build key must be readable' % root)
        digest.update(('root %d\0' % index).encode())
        for rel, full in _walk(root, exclude):
            info = os.lstat(full)
            digest.update(('%s\0%o\0' % (rel, stat.S_IMODE(info.st_mode) & 0o111)).encode('utf-8', 'surrogateescape'))
            if stat.S_ISLNK(info.st_mode):
                digest.update(b'link\0' + os.readlink(full).encode('utf-8', 'surrogateescape'))
                continue
            try:
                with open(full, 'rb') as handle:
                    for chunk in iter(lambda: handle.read(1 << 20), b''):
                        digest.update(chunk)
            except OSError as exc:
                raise InputKeyError('cannot read %s for the build key: %s' % (full, exc)) from exc
            digest.update(b'\0')
    return digest.hexdigest()


def input_key(parts, paths=(), exclude=('.git',)):
    try:
        canonical = json.dumps([KEY_VERSION, parts], sort_keys=True, separators=(',', ':'), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InputKeyError('build key inputs are not plain data: %s' % exc) from exc
    digest = hashlib.sha256(canonical.encode('utf-8'))
    digest.update(tree_digest(paths, exclude).encode())
    return digest.hexdigest()
