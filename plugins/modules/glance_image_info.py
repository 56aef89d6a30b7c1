#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: glance_image_info
short_description: List the images the cloud entry's own project owns in Glance
version_added: "0.1.0"
description:
  - Returns the images whose C(owner) is the token's project (the C(clouds.yaml) entry's), of one
    name or all, with the project's ID.
  - C(openstack.cloud.image_info) returns every image the token may see, and an admin's token sees
    every project's; a pipeline that takes an image of another project with the same name for its
    own builds nothing, downloads the wrong image or deletes what is not its own. The pipelines of
    kos.platform use this module to find their images.
  - Only reads; supports check mode.
author: kos.platform developers (@kos-platform)
extends_documentation_fragment:
  - kos.platform.openstack
options:
  name:
    description: Only images of this name (all of the project's images when omitted).
    type: str
"""

EXAMPLES = r"""
- name: Find the build project's image of this version
  kos.platform.glance_image_info:
    cloud: build
    name: edge-7-baremetal
  register: found
"""

RETURN = r"""
project_id:
  description: The project whose images are listed.
  returned: always
  type: str
images:
  description: The project's images (deleted ones left out), oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    id: {description: Image ID., type: str}
    name: {description: Image name., type: str}
    status: {description: Glance status., type: str}
    owner: {description: Owning project., type: str}
    visibility: {description: Visibility., type: str}
    hash_algo: {description: Glance's multihash algorithm., type: str}
    hash_value: {description: Glance's multihash of the data., type: str}
    checksum: {description: Glance's md5 of the data., type: str}
    created_at: {description: Creation time (ISO 8601)., type: str}
    properties: {description: Custom properties., type: dict}
"""

from ansible_collections.kos.platform.plugins.module_utils.kos_glance import own_images, summary
from ansible_collections.kos.platform.plugins.module_utils.kos_openstack import KosOpenStackModule


class GlanceImageInfoModule(KosOpenStackModule):
    argument_spec = dict(name=dict(type="str"))

    def run(self):
        project = self.conn.current_project_id
        images = sorted((summary(image) for image in own_images(self.conn, self.params["name"], project)),
                        key=lambda image: (image["created_at"] or "", image["id"]))
        return dict(changed=False, project_id=project, images=images)


def main():
    GlanceImageInfoModule()()


if __name__ == "__main__":
    main()
