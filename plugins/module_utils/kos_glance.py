# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""Upload an image file into the Glance of the connection's own project, and only there.

Why not openstack.cloud.image (2.x): it looks the image up by name with ``conn.get_image(name)``
and openstacksdk's ``create_image`` looks again with ``find_image(name)`` unless
``allow_duplicates`` is set. Both see every project's images when the clouds.yaml entry is an
admin (Glance lists all images to an admin), so an image of another project with the same name -
being uploaded in parallel, or already there with the same checksum - is taken for ours: nothing
is uploaded to our project, and its visibility and properties are updated on the other project's
image. Here every lookup is filtered by ``owner`` (the token's project) and the create is made
with ``allow_duplicates=True`` after our own images of that name were examined.

API:

``file_hash(path, algorithm)``
    The hex digest of a file, read in chunks (Glance's multihash algorithms: sha512 by default).
``own_images(conn, name, project_id)``
    The images named ``name`` (every name with None) whose owner is ``project_id`` (deleted ones left out).
``summary(image)``
    The dict a module returns for an image (custom properties under ``properties``).
``ensure_image(conn, spec, check_mode)``
    Make the project hold exactly one active image ``spec['name']`` with the file's content,
    visibility and properties; returns the result dict of the module (raises GlanceImageError).
"""

from __future__ import annotations

import hashlib
import os

DEFAULT_HASH_ALGO = "sha512"
_CHUNK = 1024 * 1024


class GlanceImageError(Exception):
    """A refusal or a failed upload, with the message the operator reads."""


def file_hash(path, algorithm=DEFAULT_HASH_ALGO):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def own_images(conn, name, project_id):
    """Our images (of that name, unless name is None). The owner filter is applied by Glance and
    checked again here."""
    query = dict(owner=project_id)
    if name is not None:
        query["name"] = name
    return [image for image in conn.image.images(**query)
            if image.owner == project_id and (name is None or image.name == name) and image.status != "deleted"]


def summary(image):
    """The fields a playbook reads, with the custom properties (openstacksdk keeps them apart)."""
    return dict(id=image.id, name=image.name, status=image.status, owner=image.owner,
                visibility=image.visibility, disk_format=image.disk_format,
                container_format=image.container_format, size=image.size, checksum=image.checksum,
                hash_algo=image.hash_algo, hash_value=image.hash_value, created_at=image.created_at,
                properties=dict(image.properties or {}))


def property_updates(image, spec):
    """The visibility and custom properties that differ from what the spec asks."""
    updates = {}
    if image.visibility != spec["visibility"]:
        updates["visibility"] = spec["visibility"]
    held = image.properties or {}
    for key, value in spec["properties"].items():
        if held.get(key) != value:
            updates[key] = value
    return updates


class _Hashes:
    """The file's digest per algorithm, each computed once and only when needed (None: no file yet)."""

    def __init__(self, path, sha512=None):
        self.path = path
        self.known = {DEFAULT_HASH_ALGO: sha512} if sha512 else {}

    def __call__(self, algorithm):
        algorithm = algorithm or DEFAULT_HASH_ALGO
        if algorithm not in self.known and not os.path.isfile(self.path):
            return None
        if algorithm not in self.known:
            self.known[algorithm] = file_hash(self.path, algorithm)
        return self.known[algorithm]


def ensure_image(conn, spec, check_mode=False):
    """spec: name, filename, disk_format, container_format, visibility, properties (str values), timeout,
    sha512 (the file's, when known, or None)."""
    project = conn.current_project_id
    hashes = _Hashes(spec["filename"], spec.get("sha512"))
    mine = own_images(conn, spec["name"], project)
    current = [image for image in mine
               if image.status == "active" and image.hash_value
               and image.hash_value == hashes(image.hash_algo)]
    keep = current[0] if current else None
    stale = [image for image in mine if keep is None or image.id != keep.id]
    result = dict(changed=False, uploaded=False, updated={}, project_id=project,
                  removed=[dict(id=image.id, name=image.name, status=image.status) for image in stale])

    if keep is not None:
        updates = property_updates(keep, spec)
        result["updated"] = updates
        result["changed"] = bool(updates or stale)
        if not check_mode:
            for image in stale:
                conn.image.delete_image(image, ignore_missing=True)
            if updates:
                keep = conn.image.update_image(keep, **updates)
        result["image"] = summary(keep)
        return result

    result["changed"] = True
    result["uploaded"] = True
    if check_mode:
        result["image"] = None
        return result
    for image in stale:
        conn.image.delete_image(image, ignore_missing=True)
    properties = dict(spec["properties"], visibility=spec["visibility"])
    image = conn.image.create_image(
        spec["name"], filename=spec["filename"], disk_format=spec["disk_format"],
        container_format=spec["container_format"], allow_duplicates=True, wait=False,
        properties=properties)
    image = conn.image.wait_for_status(image, status="active", failures=["killed", "deleted"],
                                       interval=2, wait=spec["timeout"])
    image = conn.image.get_image(image.id)
    expected = hashes(image.hash_algo)
    if image.hash_value != expected:
        conn.image.delete_image(image, ignore_missing=True)
        raise GlanceImageError(
            "Glance stored %s (%s) with %s %s, the file %s has %s: the upload was corrupted and the image is "
            "deleted; run again" % (spec["name"], image.id, image.hash_algo, image.hash_value, spec["filename"],
                                    expected))
    result["image"] = summary(image)
    return result
