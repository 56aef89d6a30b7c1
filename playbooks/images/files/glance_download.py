"""Download an image from Glance (used by deliver.yml for deliver_source=glance).

Usage: glance_download.py CLOUD IMAGE OUTPUT [--insecure]. CLOUD is a clouds.yaml entry; openstacksdk
streams the image file and compares its md5 with the checksum Glance holds (a mismatch fails).
Prints a JSON object: id, name, checksum, size, disk_format. Exit 1 with a message naming the fix.
"""

import json
import sys

import openstack
from openstack import exceptions


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    cloud, name, output = argv[1:4]
    try:
        conn = openstack.connect(cloud=cloud, verify='--insecure' not in argv)
        image = conn.image.find_image(name, ignore_missing=True)
        if image is None:
            sys.exit('image %s is not in the Glance of cloud %s: check deliver_source_image' % (name, cloud))
        conn.image.download_image(image, output=output, stream=True)
    except exceptions.SDKException as exc:
        sys.exit('download of %s from cloud %s failed: %s; check clouds.yaml entry %s and that its Glance is '
                 'reachable' % (name, cloud, exc, cloud))
    print(json.dumps(dict(id=image.id, name=image.name, checksum=image.checksum, size=image.size,
                          disk_format=image.disk_format)))


if __name__ == '__main__':
    main(sys.argv)
