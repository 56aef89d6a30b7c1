"""Print Glance's endpoint from the service catalog of the user's own token, as JSON: {"url": ...}.

Usage: glance_endpoint.py CLOUD [--insecure]. CLOUD is a clouds.yaml entry; empty: OS_CLOUD or the OS_*
environment. The endpoint is the one openstacksdk itself would use for the image service (the interface
and region of the clouds.yaml entry, an image_endpoint_override first). Any user can read the catalog of
their own token; Keystone's service and endpoint lists (openstack.cloud.catalog_service_info) are for
admins, and they carry no URLs. A trailing /v2 is removed: the role adds /v2/images/<id>/file.
Used by roles/packer_image/tasks/download.yml. Exit 1 with a message naming the fix.
"""

import json
import re
import sys

import openstack
from keystoneauth1 import exceptions as ksa_exceptions
from openstack import exceptions


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cloud = argv[1] or None
    where = 'cloud %s' % cloud if cloud else 'the OS_* environment'
    try:
        conn = openstack.connect(cloud=cloud, verify='--insecure' not in argv[2:])
        url = conn.endpoint_for('image')
    except (exceptions.SDKException, ksa_exceptions.ClientException) as exc:
        sys.exit('cannot read the service catalog of %s: %s; check its clouds.yaml entry and that Keystone is '
                 'reachable' % (where, exc))
    if not url:
        sys.exit('the service catalog of %s has no image (Glance) endpoint for interface %s in region %s; set '
                 'packer_image_glance_url' % (where, conn.config.get_interface('image'),
                                              conn.config.get_region_name('image')))
    print(json.dumps({'url': re.sub(r'(/v2(\.\d+)?)?/*$', '', url)}))


if __name__ == '__main__':
    main(sys.argv)
