"""Bare-metal image pipeline, live: diskimage-builder (the PyPI release pinned in requirements.txt)
builds a real Debian image through roles/dib_image (playbooks/images/baremetal.yml), the image goes
to the test cloud's Glance (read back and checksum-compared), then to the Artifactory stand-in
(tests/integration/images/artifactory_standin.py: Artifactory's documented REST API on loopback,
the only stand-in here - Artifactory cannot run on these machines); a second run skips the build
and both uploads (same input key), an input change rebuilds; playbooks/images/deliver.yml then
registers the image in the Glance of two target projects (two clouds.yaml entries), in parallel.

Time: the build is the cost (debootstrap + apt + kernel + initramfs). diskimage-builder's caches
(DIB_IMAGE_CACHE: the debootstrap tarball and apt archives) live in <checkout>/.cache/dib and are
kept between runs.
"""

import base64
import hashlib
import os
import shutil
import subprocess
import time
import urllib.request

import pytest
import yaml
from conftest import HERE, TOP, artifactory_standin, connect

USER, PASSWORD = "kos", "kos-images-cloud-secret"
CACHE = os.path.join(TOP, ".cache", "dib")
WORK = os.path.join(TOP, ".cache", "images-cloud")
SERVICE = "kos-it-edge"
SMALL = "kos-it-small"  # a 16 MiB empty qcow2 for the delivery paths that need no real image
TENANT = "kos-it-tenant"  # the same file delivered as another service, for the admin-target test
ELEMENT_FILE = "/etc/kos-image-release"
# The build machines reach Debian's mirror at deb.debian.org only (not security.debian.org).
DIB_ENV = {
    "DIB_RELEASE": "bookworm",
    "DIB_DEBIAN_SECURITY_MIRROR": "http://deb.debian.org/debian-security",
    "DIB_DEBOOTSTRAP_CACHE": "1",
    "DIB_DEBIAN_USE_DEBOOTSTRAP_CACHE": "1",
}
BUILD_TASK = "Run packer build (diskimage-builder through shell-local)"


@pytest.fixture(scope="module")
def artifactory(tmp_path_factory):
    """The Artifactory stand-in (conftest.artifactory_standin)."""
    with artifactory_standin(tmp_path_factory.mktemp("artifactory"), USER, PASSWORD) as url:
        yield url


@pytest.fixture(scope="module")
def elements(tmp_path_factory):
    """The service's own element: writes a release file into the image (ELEMENTS_PATH)."""
    root = tmp_path_factory.mktemp("elements")
    element = root / "kos-it-node"
    (element / "install.d").mkdir(parents=True)
    (element / "element-deps").write_text("debian-minimal\n")
    script = element / "install.d" / "50-kos-release"
    script.write_text("#!/bin/bash\nset -eu\necho \"kos-it-node built by diskimage-builder\" > %s\n" % ELEMENT_FILE)
    script.chmod(0o755)
    return str(root)


def dib_vars(artifactory, elements, version, **extra):
    variables = dict(
        dib_image_service=SERVICE, dib_image_version=version, dib_image_elements=["kos-it-node"],
        dib_image_elements_path=[elements], dib_image_env=dict(DIB_ENV), dib_image_type="qcow2",
        dib_image_cache_dir=CACHE, dib_image_work_dir=os.path.join(WORK, version),
        dib_image_stages=["render", "build", "glance", "upload"], dib_image_cloud="kos-demo",
        dib_image_artifactory_url=artifactory, dib_image_artifactory_repository="baremetal-images",
        dib_image_artifactory_username=USER, dib_image_artifactory_password=PASSWORD,
        dib_image_glance_properties={"kos_it": "images"}, dib_image_validate_certs=False)
    variables.update(extra)
    return variables


def ran(res, name):
    """True when a task of that name ran (was not skipped) in the play."""
    hits = res.results(name)
    return any(not h.get("skipped") for h in hits)


def _auth():
    return "Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()


def artifact(artifactory, path):
    req = urllib.request.Request("%s/baremetal-images/%s" % (artifactory, path))
    req.add_header("Authorization", _auth())
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.read()


def put_artifact(artifactory, path, data):
    req = urllib.request.Request("%s/baremetal-images/%s" % (artifactory, path), data=data, method="PUT")
    req.add_header("Authorization", _auth())
    with urllib.request.urlopen(req, timeout=60) as resp:
        assert resp.status == 201


def glance_images(conn, name=None, service=SERVICE):
    """The project's own images of the service (an admin lists every project's images)."""
    return [i for i in conn.image.images() if (name is None or i.name == name) and i.owner == conn.current_project_id
            and (i.properties or {}).get("kos_service") == service]


def cleanup(conns):
    for conn in conns:
        for image in conn.image.images():
            if (image.properties or {}).get("kos_service") in (SERVICE, SMALL, TENANT):
                conn.image.delete_image(image, ignore_missing=True)


@pytest.fixture(scope="module")
def clouds(cloud_config):
    return {name: connect(cloud_config["all"], name) for name in ("kos-demo", "kos-admin")}


@pytest.fixture(scope="module")
def built(run_playbook, artifactory, elements, clouds):
    """One real build, version 1: diskimage-builder -> Glance (kos-demo) -> Artifactory."""
    cleanup(clouds.values())
    shutil.rmtree(WORK, ignore_errors=True)
    start = time.monotonic()
    res = run_playbook("images/baremetal.yml", dib_vars(artifactory, elements, "1"))
    seconds = time.monotonic() - start
    print("bare-metal build (diskimage-builder, Glance, Artifactory): %.0f s" % seconds)
    assert res.rc == 0, res
    yield res
    cleanup(clouds.values())
    shutil.rmtree(WORK, ignore_errors=True)


def image_file(version):
    return os.path.join(WORK, version, "%s-%s-baremetal.qcow2" % (SERVICE, version))


def test_diskimage_builder_built_a_debian_qcow2_with_the_service_element(built, tmp_path):
    assert ran(built, BUILD_TASK)
    path = image_file("1")
    info = subprocess.run(["qemu-img", "info", "--output=json", path], check=True, capture_output=True, text=True)
    assert '"format": "qcow2"' in info.stdout
    # The image is a bare ext4 root file system (no partition table: this kernel has no
    # device-mapper for kpartx); read it without mounting.
    raw = tmp_path / "root.raw"
    subprocess.run(["qemu-img", "convert", "-O", "raw", path, str(raw)], check=True)
    release = subprocess.run(["debugfs", "-R", "cat " + ELEMENT_FILE, str(raw)], capture_output=True, text=True,
                             check=False)
    assert "kos-it-node built by diskimage-builder" in release.stdout, release.stderr
    osrel = subprocess.run(["debugfs", "-R", "cat /usr/lib/os-release", str(raw)], capture_output=True, text=True,
                           check=False)
    assert 'VERSION_CODENAME=bookworm' in osrel.stdout
    kernels = subprocess.run(["debugfs", "-R", "ls -l /boot", str(raw)], capture_output=True, text=True, check=False)
    assert "vmlinuz-" in kernels.stdout and "initrd.img-" in kernels.stdout


def test_glance_holds_the_same_bytes_and_artifactory_too(built, clouds, artifactory):
    local = open(image_file("1"), "rb").read()
    images = glance_images(clouds["kos-demo"], "%s-1-baremetal" % SERVICE)
    assert len(images) == 1
    image = images[0]
    assert image.disk_format == "qcow2" and image.status == "active"
    assert image.properties["kos_it"] == "images" and len(image.properties["kos_input_key"]) == 64
    downloaded = clouds["kos-demo"].image.download_image(image).content
    assert hashlib.sha256(downloaded).hexdigest() == hashlib.sha256(local).hexdigest()
    assert image.hash_algo == "sha512" and image.hash_value == hashlib.sha512(local).hexdigest()
    stored = artifact(artifactory, "%s/1/%s-1-baremetal.qcow2" % (SERVICE, SERVICE))
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(local).hexdigest()
    upload = built.results("Upload the image to Artifactory's generic repository")[0]
    assert upload["uploaded"] is True and upload["by_checksum"] is False
    glance_upload = built.results("Upload the image to Glance")[0]
    assert glance_upload["uploaded"] is True and glance_upload["image"]["id"] == image.id
    assert glance_upload["image"]["hash_value"] == image.hash_value


def test_unchanged_inputs_skip_build_and_uploads(built, run_playbook, artifactory, elements, clouds):
    before = [i.id for i in glance_images(clouds["kos-demo"])]
    res = run_playbook("images/baremetal.yml", dib_vars(artifactory, elements, "1"))
    assert res.rc == 0, res
    assert not ran(res, BUILD_TASK) and not ran(res, "Upload the image to Glance")
    assert not ran(res, "Upload the image to Artifactory's generic repository")
    assert res.changed == 0, res
    assert [i.id for i in glance_images(clouds["kos-demo"])] == before


def test_a_new_version_of_unchanged_inputs_on_a_fresh_agent_reuses_the_artifact(
        built, run_playbook, artifactory, elements, clouds):
    """Version 2 of the same inputs, no local file: no build; the image comes from Artifactory (by its
    input key), goes to Glance under the new name, and to Artifactory by checksum (no bytes sent)."""
    res = run_playbook("images/baremetal.yml", dib_vars(artifactory, elements, "2"))
    assert res.rc == 0, res
    assert not ran(res, BUILD_TASK)
    assert ran(res, "Download the image built from the same inputs")
    upload = res.results("Upload the image to Artifactory's generic repository")[0]
    assert upload["uploaded"] is True and upload["by_checksum"] is True
    new = glance_images(clouds["kos-demo"], "%s-2-baremetal" % SERVICE)
    assert len(new) == 1 and new[0].hash_value == hashlib.sha512(open(image_file("1"), "rb").read()).hexdigest()


def test_an_input_change_rebuilds(built, run_playbook, artifactory, elements):
    """A changed DIB_* value changes the key: the build runs (check mode: the real rebuild would take
    as long as the first build; the key and the skip decision are the same code path)."""
    env = dict(DIB_ENV, DIB_DEV_USER_USERNAME="kos")
    res = run_playbook("images/baremetal.yml", dib_vars(artifactory, elements, "1", dib_image_env=env), check=True)
    assert res.rc == 0, res
    assert ran(res, "Remove an image file of other inputs") and res.results(BUILD_TASK)
    same = run_playbook("images/baremetal.yml", dib_vars(artifactory, elements, "1"), check=True)
    assert same.rc == 0 and not same.results(BUILD_TASK), same


def deliver_vars(artifactory, clouds, **extra):
    variables = dict(deliver_service=SERVICE, deliver_version="1", deliver_clouds=clouds,
                     deliver_artifactory_url=artifactory, deliver_artifactory_username=USER,
                     deliver_artifactory_password=PASSWORD, deliver_work_dir=os.path.join(WORK, "deliver"),
                     # os_distro and hw_boot_menu: properties openstacksdk keeps as typed attributes (a
                     # "false" reads True there); a redelivery must still compare them equal.
                     deliver_properties={"hw_firmware_type": "bios", "os_distro": "debian", "hw_boot_menu": "false"},
                     deliver_keep=2, deliver_validate_certs=False)
    variables.update(extra)
    return variables


def per_cloud(res, name):
    """{host: result} of a task of deliver.yml's per-cloud play (one host per target cloud)."""
    for play in res.data.get("plays", []):
        for task in play.get("tasks", []):
            if task["task"]["name"] == name:
                return task["hosts"]
    raise AssertionError("task %r did not run: %r" % (name, res))


def delivered(conn, service=SERVICE):
    return sorted((i.name, i.hash_value, i.visibility) for i in glance_images(conn, service=service)
                  if (i.properties or {}).get("kos_delivered") == "true")


def test_deliver_the_built_image_to_two_projects_then_skip(built, run_playbook, artifactory, clouds):
    local = hashlib.sha512(open(image_file("1"), "rb").read()).hexdigest()
    targets = ["kos-demo", "kos-admin"]
    res = run_playbook("images/deliver.yml", deliver_vars(artifactory, targets))
    assert res.rc == 0, res
    for name in targets:
        assert delivered(clouds[name]) == [("%s-1" % SERVICE, local, "private")], name
        image = glance_images(clouds[name], "%s-1" % SERVICE)[0]
        assert image.properties["hw_firmware_type"] == "bios" and image.properties["kos_version"] == "1"
        assert image.os_distro == "debian"
        assert image.status == "active" and image.disk_format == "qcow2"
    registered = per_cloud(res, "Register the image in Glance")
    assert sorted(registered) == ["deliver-kos-admin", "deliver-kos-demo"]
    assert not any(r.get("skipped") for r in registered.values())

    again = run_playbook("images/deliver.yml", deliver_vars(artifactory, targets))
    assert again.rc == 0, again
    kept = per_cloud(again, "Register the image in Glance")
    assert sorted(kept) == ["deliver-kos-admin", "deliver-kos-demo"]
    assert all(not r["changed"] and not r["uploaded"] and not r["removed"] for r in kept.values()), kept
    assert all(stats["changed"] == 0 for stats in again.data["stats"].values()), again.data["stats"]


@pytest.fixture(scope="module")
def small_image(artifactory, tmp_path_factory, clouds):
    path = tmp_path_factory.mktemp("small") / "small.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "16M"], check=True)
    data = path.read_bytes()
    for version in ("1", "2", "3"):
        put_artifact(artifactory, "%s/%s/%s-%s-baremetal.qcow2" % (SMALL, version, SMALL, version), data)
    yield hashlib.sha512(data).hexdigest()
    cleanup(clouds.values())


def test_deliver_keeps_the_newest_versions(run_playbook, artifactory, clouds, small_image):
    for version in ("1", "2", "3"):
        res = run_playbook("images/deliver.yml", deliver_vars(
            artifactory, ["kos-demo"], deliver_service=SMALL, deliver_version=version, deliver_keep=2,
            deliver_visibility="shared", deliver_work_dir=os.path.join(WORK, "deliver-small")))
        assert res.rc == 0, res
    assert delivered(clouds["kos-demo"], SMALL) == [("%s-2" % SMALL, small_image, "shared"),
                                                    ("%s-3" % SMALL, small_image, "shared")]
    assert delivered(clouds["kos-admin"], SMALL) == []


def test_deliver_from_the_build_clouds_glance(run_playbook, clouds, small_image):
    source = glance_images(clouds["kos-demo"], service=SMALL)
    assert source, "test_deliver_keeps_the_newest_versions delivers the source image first"
    res = run_playbook("images/deliver.yml", dict(
        deliver_service=SMALL, deliver_version="g1", deliver_clouds=["kos-admin"], deliver_source="glance",
        deliver_source_cloud="kos-demo", deliver_source_image=source[0].name,
        deliver_work_dir=os.path.join(WORK, "deliver-glance"), deliver_keep=5, deliver_validate_certs=False))
    assert res.rc == 0, res
    assert delivered(clouds["kos-admin"], SMALL) == [("%s-g1" % SMALL, small_image, "private")]


def test_deliver_refuses_bad_input_naming_every_problem(run_playbook):
    res = run_playbook("images/deliver.yml", dict(deliver_clouds="kos-demo", deliver_keep=0, deliver_source="s3"))
    assert res.rc != 0
    msg = res.failure_messages()
    for part in ("deliver_service is required", "deliver_version is required", "deliver_clouds must list",
                 "deliver_source is s3", "deliver_keep must be at least 1"):
        assert part in msg, msg


def test_clouds_yaml_has_the_two_target_projects(cloud_config):
    with open(cloud_config["all"]) as fh:
        names = set(yaml.safe_load(fh)["clouds"])
    assert {"kos-demo", "kos-admin"} <= names, "cloud.sh clouds-yaml changed: %s (see %s)" % (names, HERE)


def test_an_admin_target_gets_its_own_image_and_leaves_another_projects_alone(
        run_playbook, artifactory, clouds, small_image):
    """kos-admin's entry is an admin's: Glance lists every project's images to it. With
    openstack.cloud.image the delivery to kos-admin took kos-demo's image of the same name and
    checksum for its own: nothing was uploaded to the admin project and kos-demo's image got the
    admin delivery's visibility (in CI, two targets delivered in parallel met this as 'the upload was
    corrupted'). Now each target gets an image of its own, and a change of visibility on a
    redelivery reaches the target's image only."""
    extra = dict(deliver_service=TENANT, deliver_version="1", deliver_keep=5,
                 deliver_artifactory_path="%s/1/%s-1-baremetal.qcow2" % (SMALL, SMALL),
                 deliver_work_dir=os.path.join(WORK, "deliver-tenant"))
    first = run_playbook("images/deliver.yml", deliver_vars(artifactory, ["kos-demo"], **extra))
    assert first.rc == 0, first
    demo_before = [(i.id, i.visibility, i.properties.get("hw_firmware_type"))
                   for i in glance_images(clouds["kos-demo"], service=TENANT)]
    assert len(demo_before) == 1 and demo_before[0][1] == "private", demo_before

    res = run_playbook("images/deliver.yml", deliver_vars(
        artifactory, ["kos-admin"], deliver_visibility="shared", deliver_properties={"hw_firmware_type": "uefi"},
        **extra))
    assert res.rc == 0, res
    assert [(i.id, i.visibility, i.properties.get("hw_firmware_type"))
            for i in glance_images(clouds["kos-demo"], service=TENANT)] == demo_before
    assert delivered(clouds["kos-admin"], TENANT) == [("%s-1" % TENANT, small_image, "shared")]
    registered = per_cloud(res, "Register the image in Glance")["deliver-kos-admin"]
    assert registered["uploaded"] is True, registered
    assert registered["image"]["owner"] == clouds["kos-admin"].current_project_id

    # A redelivery with another visibility and hw_boot_menu updates the target's image in place (no
    # upload); Glance then holds the string given (openstacksdk's typed attribute would send true for any
    # non-empty string, so the patch is the module's own).
    props = dict(deliver_vars(artifactory, [])["deliver_properties"], hw_boot_menu="true")
    again = run_playbook("images/deliver.yml", deliver_vars(
        artifactory, ["kos-demo"], deliver_visibility="community", deliver_properties=props, **extra))
    assert again.rc == 0, again
    updated = per_cloud(again, "Register the image in Glance")["deliver-kos-demo"]
    assert updated["changed"] is True and updated["uploaded"] is False, updated
    assert updated["updated"] == {"visibility": "community", "hw_boot_menu": "true"}, updated
    raw = clouds["kos-demo"].image.get("/images/%s" % demo_before[0][0]).json()
    assert raw["hw_boot_menu"] == "true" and raw["os_distro"] == "debian" and raw["visibility"] == "community"
    back = run_playbook("images/deliver.yml", deliver_vars(artifactory, ["kos-demo"], **extra))
    assert back.rc == 0, back
    reverted = per_cloud(back, "Register the image in Glance")["deliver-kos-demo"]
    assert reverted["updated"] == {"visibility": "private", "hw_boot_menu": "false"}, reverted
    assert clouds["kos-demo"].image.get("/images/%s" % demo_before[0][0]).json()["hw_boot_menu"] == "false"
    assert delivered(clouds["kos-demo"], TENANT) == [("%s-1" % TENANT, small_image, "private")]
    assert [i.id for i in glance_images(clouds["kos-demo"], service=TENANT)] == [demo_before[0][0]]
    assert delivered(clouds["kos-admin"], TENANT) == [("%s-1" % TENANT, small_image, "shared")]
