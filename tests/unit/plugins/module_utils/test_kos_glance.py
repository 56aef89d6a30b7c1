"""module_utils/kos_glance.py: the parts that need no Glance (the file's digest, the property
comparison, the spec's sha512 shortcut). The lookups, upload and check against the test cloud's real
Glance are in tests/integration/cloud/test_images_glance.py and test_vm_glance.py."""

import hashlib
import types

from ansible_collections.kos.platform.plugins.module_utils import kos_glance


def _image(visibility="private", **properties):
    return types.SimpleNamespace(visibility=visibility, properties=properties)


def test_file_hash_is_the_digest_of_the_whole_file_in_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(kos_glance, "_CHUNK", 7)
    data = bytes(range(256)) * 5
    path = tmp_path / "image.qcow2"
    path.write_bytes(data)
    assert kos_glance.file_hash(str(path)) == hashlib.sha512(data).hexdigest()
    assert kos_glance.file_hash(str(path), "sha256") == hashlib.sha256(data).hexdigest()


def test_property_updates_are_the_visibility_and_the_differing_properties_only():
    spec = dict(visibility="shared", properties={"kos_service": "edge", "kos_version": "7", "new": "x"})
    held = _image("private", kos_service="edge", kos_version="6", other="kept")
    assert kos_glance.property_updates(held, spec) == {"visibility": "shared", "kos_version": "7", "new": "x"}
    same = _image("shared", kos_service="edge", kos_version="7", new="x", other="kept")
    assert kos_glance.property_updates(same, spec) == {}


def test_a_known_sha512_is_used_without_reading_and_other_algorithms_read_the_file(tmp_path):
    path = tmp_path / "image.raw"
    path.write_bytes(b"kos")
    given = "a" * 128
    hashes = kos_glance._Hashes(str(path), given)
    assert hashes("sha512") == given and hashes(None) == given
    assert hashes("sha256") == hashlib.sha256(b"kos").hexdigest()
    assert kos_glance._Hashes(str(tmp_path / "not-built-yet"))("sha512") is None
    assert kos_glance._Hashes(str(path))("sha512") == hashlib.sha512(b"kos").hexdigest()
