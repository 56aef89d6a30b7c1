"""module_utils/kos_glance.py: the parts that need no Glance (the file's digest, the property
comparison, the spec's sha512 shortcut). The lookups, upload and check against the test cloud's real
Glance are in tests/integration/cloud/test_images_glance.py and test_vm_glance.py."""

import hashlib

from ansible_collections.kos.platform.plugins.module_utils import kos_glance


def _image(visibility="private", **properties):
    """An image as Glance's GET /v2/images/{id} returns it: custom properties are top-level strings
    next to the core fields."""
    body = dict(id="2b6f3c1e-0000-4000-8000-000000000001", name="edge-7", status="active", visibility=visibility,
                protected=False, min_ram=0, min_disk=0, owner="p1", disk_format="qcow2", container_format="bare",
                os_hash_algo="sha512", os_hash_value="ab" * 64, checksum="cd" * 16, size=3, tags=[],
                self="/v2/images/2b6f3c1e-0000-4000-8000-000000000001", schema="/v2/schemas/image")
    body.update(properties)
    return body


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


def test_common_properties_are_compared_as_glance_holds_them():
    """os_distro, hw_video_ram and hw_boot_menu are typed attributes of openstacksdk's Image (not in its
    .properties, and hw_boot_menu "false" reads True there); Glance's JSON holds them as the strings
    given, so an unchanged delivery compares equal and a changed one updates exactly those."""
    spec = dict(visibility="private", properties={"os_distro": "debian", "hw_video_ram": "64",
                                                  "hw_boot_menu": "false", "kos_service": "edge"})
    held = _image("private", os_distro="debian", hw_video_ram="64", hw_boot_menu="false", kos_service="edge")
    assert kos_glance.property_updates(held, spec) == {}
    props = kos_glance.summary(held)["properties"]
    assert props == {"os_distro": "debian", "hw_video_ram": "64", "hw_boot_menu": "false", "kos_service": "edge"}
    other = _image("private", os_distro="ubuntu", hw_video_ram="32", hw_boot_menu="true", kos_service="edge")
    assert kos_glance.property_updates(other, spec) == {"os_distro": "debian", "hw_video_ram": "64",
                                                        "hw_boot_menu": "false"}
    summary = kos_glance.summary(held)
    assert summary["hash_algo"] == "sha512" and summary["hash_value"] == "ab" * 64 and summary["owner"] == "p1"


def test_a_known_sha512_is_used_without_reading_and_other_algorithms_read_the_file(tmp_path):
    path = tmp_path / "image.raw"
    path.write_bytes(b"kos")
    given = "a" * 128
    hashes = kos_glance._Hashes(str(path), given)
    assert hashes("sha512") == given and hashes(None) == given
    assert hashes("sha256") == hashlib.sha256(b"kos").hexdigest()
    assert kos_glance._Hashes(str(tmp_path / "not-built-yet"))("sha512") is None
    assert kos_glance._Hashes(str(path))("sha512") == hashlib.sha512(b"kos").hexdigest()


def test_the_patch_replaces_held_fields_adds_missing_ones_and_escapes_the_pointer():
    held = _image("private", os_distro="ubuntu", hw_boot_menu="true")
    ops = kos_glance.patch_operations(held, {"visibility": "shared", "os_distro": "debian", "hw_boot_menu": "false",
                                             "kos_service": "edge", "a/b~c": "x"})
    assert ops == [
        {"op": "add", "path": "/a~1b~0c", "value": "x"},
        {"op": "replace", "path": "/hw_boot_menu", "value": "false"},
        {"op": "add", "path": "/kos_service", "value": "edge"},
        {"op": "replace", "path": "/os_distro", "value": "debian"},
        {"op": "replace", "path": "/visibility", "value": "shared"},
    ]


def test_glance_fields_given_as_properties_are_refused_all_at_once():
    problems = kos_glance.property_problems({"min_ram": "1024", "os_distro": "debian", "visibility": "public"})
    assert len(problems) == 2
    assert problems[0].startswith("properties: min_ram is one of Glance's own image fields")
    assert problems[1].startswith("properties: visibility is one of Glance's own image fields")
