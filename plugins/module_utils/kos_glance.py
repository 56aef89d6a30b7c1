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
    The images named ``name`` (every name with None) whose owner is ``project_id`` (deleted ones left
    out), as Glance's JSON.
``summary(image)``
    The dict a module returns for an image of Glance's JSON (custom properties under ``properties``).
``ensure_image(conn, spec, check_mode)``
    Make the project hold exactly one active image ``spec['name']`` with the file's content,
    visibility and properties; returns the result dict of the module (raises GlanceImageError).
"""

from __future__ import annotations

import hashlib
import os
from urllib.parse import parse_qs, urlsplit

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


# Glance's own image fields (the image schema's core properties): everything else is a property.
CORE_FIELDS = frozenset([
    "id", "name", "status", "visibility", "protected", "os_hidden", "checksum", "os_hash_algo",
    "os_hash_value", "owner", "size", "virtual_size", "min_ram", "min_disk", "container_format",
    "disk_format", "created_at", "updated_at", "tags", "direct_url", "locations", "self", "file",
    "schema", "stores",
])


def property_problems(properties):
    """Properties that name one of Glance's own fields (min_ram, protected, visibility ...): those are
    not custom properties, and a string for them would fail or be changed on every run."""
    return ["properties: %s is one of Glance's own image fields, not a custom property; remove it "
            "(visibility is its own option)" % key for key in sorted(properties) if key in CORE_FIELDS]


def own_images(conn, name, project_id):
    """Our images (of that name, unless name is None) as Glance returns them (GET /v2/images, every
    page). The owner filter is applied by Glance and checked again here.

    Glance's JSON, not openstacksdk's Image resources: those keep the common properties (os_distro,
    hw_disk_bus, hw_boot_menu ...) as typed attributes, and turn every non-empty string of a boolean
    one into True ("false" included), so a property could not be compared with what was asked."""
    query = dict(owner=project_id, limit=100)
    if name is not None:
        query["name"] = name
    found = []
    while True:
        page = conn.image.get("/images", params=query).json()
        found += page.get("images", [])
        marker = parse_qs(urlsplit(page.get("next") or "").query).get("marker")
        if not marker or not page.get("images"):
            break
        query["marker"] = marker[0]
    return [image for image in found if image.get("owner") == project_id
            and (name is None or image.get("name") == name) and image.get("status") != "deleted"]


def read_image(conn, image_id):
    """One image as Glance returns it (GET /v2/images/{id})."""
    return conn.image.get("/images/%s" % image_id).json()


def custom_properties(image):
    """Every property of the image (Glance's JSON: the top-level keys that are not core fields)."""
    return {key: value for key, value in image.items() if key not in CORE_FIELDS}


def summary(image):
    """The fields a playbook reads, with every custom property."""
    return dict(id=image.get("id"), name=image.get("name"), status=image.get("status"), owner=image.get("owner"),
                visibility=image.get("visibility"), disk_format=image.get("disk_format"),
                container_format=image.get("container_format"), size=image.get("size"),
                checksum=image.get("checksum"), hash_algo=image.get("os_hash_algo"),
                hash_value=image.get("os_hash_value"), created_at=image.get("created_at"),
                properties=custom_properties(image))


def property_updates(image, spec):
    """The visibility and properties that differ from what the spec asks (values are strings, as Glance
    keeps properties)."""
    updates = {}
    if image.get("visibility") != spec["visibility"]:
        updates["visibility"] = spec["visibility"]
    for key, value in spec["properties"].items():
        if image.get(key) != value:
            updates[key] = value
    return updates


def patch_operations(image, updates):
    """Glance's JSON patch for the updates: replace what the image holds, add what it lacks.

    Sent by us, not by openstacksdk's update_image, which passes the common properties through its
    typed attributes (hw_boot_menu "false" would go out as true)."""
    return [dict(op="replace" if key in image else "add",
                 path="/" + key.replace("~", "~0").replace("/", "~1"), value=value)
            for key, value in sorted(updates.items())]


def patch_image(conn, image, updates):
    conn.image.patch("/images/%s" % image["id"], json=patch_operations(image, updates),
                     headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})


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
               if image.get("status") == "active" and image.get("os_hash_value")
               and image["os_hash_value"] == hashes(image.get("os_hash_algo"))]
    keep = current[0] if current else None
    stale = [image for image in mine if keep is None or image["id"] != keep["id"]]
    result = dict(changed=False, uploaded=False, updated={}, project_id=project,
                  removed=[dict(id=image["id"], name=image.get("name"), status=image.get("status")) for image in stale])

    if keep is not None:
        updates = property_updates(keep, spec)
        result["updated"] = updates
        result["changed"] = bool(updates or stale)
        if not check_mode:
            for image in stale:
                conn.image.delete_image(image["id"], ignore_missing=True)
            if updates:
                patch_image(conn, keep, updates)
                keep = read_image(conn, keep["id"])
        result["image"] = summary(keep)
        return result

    result["changed"] = True
    result["uploaded"] = True
    if check_mode:
        result["image"] = None
        return result
    for image in stale:
        conn.image.delete_image(image["id"], ignore_missing=True)
    properties = dict(spec["properties"], visibility=spec["visibility"])
    image = conn.image.create_image(
        spec["name"], filename=spec["filename"], disk_format=spec["disk_format"],
        container_format=spec["container_format"], allow_duplicates=True, wait=False,
        properties=properties)
    image = conn.image.wait_for_status(image, status="active", failures=["killed", "deleted"],
                                       interval=2, wait=spec["timeout"])
    image = read_image(conn, image.id)
    expected = hashes(image.get("os_hash_algo"))
    if image.get("os_hash_value") != expected:
        conn.image.delete_image(image["id"], ignore_missing=True)
        raise GlanceImageError(
            "Glance stored %s (%s) with %s %s, the file %s has %s: the upload was corrupted and the image is "
            "deleted; run again" % (spec["name"], image["id"], image.get("os_hash_algo"), image.get("os_hash_value"),
                                    spec["filename"], expected))
    result["image"] = summary(image)
    return result
