#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: glance_image
short_description: Upload an image file into the Glance of the cloud entry's own project
version_added: "0.1.0"
description:
  - Makes the project of the token (the C(clouds.yaml) entry's project) hold exactly one active
    image named O(name) with the content of O(filename), the O(visibility) and the O(properties).
  - Only images whose C(owner) is that project are looked at. An admin's entry sees every
    project's images in Glance, and C(openstack.cloud.image) then takes another project's image
    of the same name for its own (nothing is uploaded, and that image's visibility and
    properties are changed); this module never reads, changes or deletes another project's image.
  - Idempotent. An active image of ours with that name whose Glance multihash (C(os_hash_value),
    sha512 unless the cloud is configured otherwise) equals the file's is kept; only its
    visibility and differing properties are updated. Our other images of that name (other
    content, or not active) are deleted, then the file is uploaded.
  - After an upload the module reads the image back and compares Glance's multihash with the
    file's; on a mismatch the new image is deleted and the module fails.
  - Check mode reports what would be uploaded, updated and deleted; only reads are made. A file
    that does not exist yet (a stage before would build or download it) counts as new content.
author: kos.platform developers (@kos-platform)
extends_documentation_fragment:
  - kos.platform.openstack
options:
  name:
    description: Name of the image in Glance.
    type: str
    required: true
  filename:
    description: Local image file to upload.
    type: path
    required: true
  disk_format:
    description: Glance disk format.
    type: str
    default: qcow2
    choices: [ami, ari, aki, vhd, vhdx, vmdk, raw, qcow2, vdi, iso, ploop]
  container_format:
    description: Glance container format.
    type: str
    default: bare
    choices: [ami, ari, aki, bare, ovf, ova, docker, compressed]
  visibility:
    description: Glance visibility of the image.
    type: str
    default: private
    choices: [private, shared, community, public]
  properties:
    description:
      - Custom image properties (values are stored as strings by Glance).
      - Glance's own fields (C(min_ram), C(protected), C(visibility) ...) are refused, every one named.
    type: dict
    default: {}
  sha512:
    description:
      - The file's sha512 when the caller has it already (read once for many clouds); the file is
        then not read to compare it with Glance's multihash, unless the cloud uses another algorithm.
    type: str
  timeout:
    description: Seconds to wait for the uploaded image to become active.
    type: int
    default: 1800
"""

EXAMPLES = r"""
- name: Register the image in the Glance of cloud dc1-prod
  kos.platform.glance_image:
    cloud: dc1-prod
    name: edge-7
    filename: /var/tmp/kos-images/edge-7-baremetal.qcow2
    visibility: shared
    properties:
      kos_service: edge
      kos_version: "7"
"""

RETURN = r"""
image:
  description: The image now held (null in check mode when it would be uploaded).
  returned: always
  type: dict
  contains:
    id: {description: Image ID., type: str}
    name: {description: Image name., type: str}
    status: {description: Glance status (active)., type: str}
    owner: {description: Owning project (the token's)., type: str}
    visibility: {description: Visibility., type: str}
    hash_algo: {description: Glance's multihash algorithm., type: str}
    hash_value: {description: "Glance's multihash of the data (equal to the file's).", type: str}
    checksum: {description: Glance's md5 of the data., type: str}
    properties: {description: Custom properties., type: dict}
uploaded:
  description: Whether the file was (in check mode, would be) uploaded.
  returned: always
  type: bool
updated:
  description: Visibility and properties updated on the kept image.
  returned: always
  type: dict
removed:
  description: Our images of that name that were (would be) deleted, with other content or not active.
  returned: always
  type: list
  elements: dict
project_id:
  description: The project whose images were looked at.
  returned: always
  type: str
"""

import os
import re

from ansible_collections.kos.platform.plugins.module_utils.kos_glance import (
    GlanceImageError,
    ensure_image,
    property_problems,
)
from ansible_collections.kos.platform.plugins.module_utils.kos_openstack import KosOpenStackModule


class GlanceImageModule(KosOpenStackModule):
    argument_spec = dict(
        name=dict(type="str", required=True),
        filename=dict(type="path", required=True),
        disk_format=dict(type="str", default="qcow2",
                         choices=["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"]),
        container_format=dict(type="str", default="bare",
                              choices=["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"]),
        visibility=dict(type="str", default="private", choices=["private", "shared", "community", "public"]),
        properties=dict(type="dict", default={}),
        sha512=dict(type="str"),
        timeout=dict(type="int", default=1800),
    )

    def run(self):
        p = self.params
        problems = []
        # In check mode the file may be one an earlier stage would have built or downloaded.
        if not os.path.isfile(p["filename"]) and not self.check_mode:
            problems.append("filename %s is not a file: build or download the image first" % p["filename"])
        if not p["name"].strip():
            problems.append("name is empty: give the image's Glance name")
        if p["sha512"] is not None and not re.match(r"^[0-9a-f]{128}$", p["sha512"]):
            problems.append("sha512 must be 128 lowercase hex digits (the file's sha512), not %r" % p["sha512"])
        problems += property_problems(p["properties"])
        if p["timeout"] < 1:
            problems.append("timeout must be at least 1 (seconds), not %d" % p["timeout"])
        if problems:
            self.fail("; ".join(problems))
        spec = dict(p, properties={str(k): str(v) for k, v in p["properties"].items()})
        try:
            return ensure_image(self.conn, spec, check_mode=self.check_mode)
        except GlanceImageError as exc:
            self.fail(str(exc))
        return None  # not reached: fail exits


def main():
    GlanceImageModule()()


if __name__ == "__main__":
    main()
