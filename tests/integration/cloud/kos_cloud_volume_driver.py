"""The test cloud's block storage: cinder's fake driver with volumes kept as files.

cinder's FakeLoggingVolumeDriver (from the cinder wheel) logs instead of creating logical volumes,
because LVM cannot run here (no device-mapper in this kernel). Its parent, the LVM driver, writes
an image into a volume through ``local_path`` (a /dev/mapper device on a real host). Here
``local_path`` is a sparse file under the cloud's state directory, so that a volume created from
an image goes through the real path of a deployment: cinder-volume downloads the image from
Glance, inspects it through its privsep daemon (started with sudo), converts it with qemu-img and
writes it into the volume; Nova then boots a server from that volume. Only the place the bytes
land is not a block device.
"""

import os

from cinder.tests.fake_driver import FakeLoggingVolumeDriver
from oslo_config import cfg


class FileBackedFakeVolumeDriver(FakeLoggingVolumeDriver):
    """Fake block storage whose volumes are files (the test cloud never runs a guest)."""

    def _volume_dir(self):
        path = os.path.join(cfg.CONF.state_path, "volumes")
        os.makedirs(path, mode=0o700, exist_ok=True)
        return path

    def local_path(self, volume, vg=None):
        return os.path.join(self._volume_dir(), volume["name"])

    def create_volume(self, volume):
        update = super().create_volume(volume)
        with open(self.local_path(volume), "wb") as fh:
            fh.truncate(int(volume["size"]) * 1024**3)
        return update

    def delete_volume(self, volume):
        try:
            os.unlink(self.local_path(volume))
        except FileNotFoundError:
            pass

    def extend_volume(self, volume, new_size):
        with open(self.local_path(volume), "ab") as fh:
            fh.truncate(int(new_size) * 1024**3)
