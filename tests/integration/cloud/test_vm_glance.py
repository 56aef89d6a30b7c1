"""VM image pipeline after `packer build`, live: roles/packer_image's own stages download and upload
(playbooks/images/vm.yml) against the test cloud's real Glance and the Artifactory stand-in
(tests/integration/images/artifactory_standin.py).

`packer build` itself cannot run here: its openstack builder boots a server and connects to it over
SSH, and the test cloud's servers never run (fake hypervisor). So the test puts an image into Glance
under the name Packer's snapshot would have (`__packer_image_name`: packer_image_name_format,
default "{service}-{version}"), a few MiB of random bytes: it STANDS IN FOR THE SNAPSHOT ONLY.
Everything after it is the role's own code, live: the Glance lookup by name in the project
(kos.platform.glance_image_info),
Glance's endpoint from the token's catalog, the download of /v2/images/<id>/file with get_url and
Glance's checksum (sha512), and the upload with kos.platform.artifact_upload. A second run changes
nothing; a version that Glance does not have fails with the role's message naming the image.
"""

import base64
import hashlib
import json
import os
import time
import urllib.request

import pytest
from conftest import artifactory_standin

USER, PASSWORD = "kos", "kos-vm-cloud-secret"
SERVICE = "kos-it-vm"
VERSION = "1.4.2"
# roles/packer_image/vars/main.yml: __packer_image_name is packer_image_name_format ("{service}-{version}",
# defaults/main.yml) filled by kos.platform.image_build_name: Packer's snapshot gets this name in Glance.
NAME = "%s-%s" % (SERVICE, VERSION)
REPOSITORY = "vm-images"  # packer_image_artifactory_repository's default
ARTIFACT = "%s/%s/%s.raw" % (SERVICE, VERSION, NAME)  # packer_image_artifactory_path's default, disk format raw
MARK = {"kos_it": "vm-glance"}  # on the stand-in image, so a cleanup finds only what this test made
DOWNLOAD = "Download the image file"
UPLOAD = "Upload the image to Artifactory's generic repository"


@pytest.fixture(scope="module")
def artifactory(tmp_path_factory):
    """The Artifactory stand-in (conftest.artifactory_standin)."""
    with artifactory_standin(tmp_path_factory.mktemp("artifactory-vm"), USER, PASSWORD) as url:
        yield url


def standin(artifactory, path):
    """GET from the stand-in's API (deployer's basic auth)."""
    req = urllib.request.Request("%s/%s" % (artifactory, path))
    req.add_header("Authorization", "Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode())
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.read()


def deploys(artifactory):
    """How many deploys (PUTs that stored a file) the stand-in took: a test hook of the stand-in."""
    return int(urllib.request.urlopen(artifactory + "/_standin/puts", timeout=10).read())


def own_marked_images(conn):
    return [i for i in conn.image.images() if i.owner == conn.current_project_id
            and all((i.properties or {}).get(k) == v for k, v in MARK.items())]


def cleanup(conn):
    for image in own_marked_images(conn):
        conn.image.delete_image(image, ignore_missing=True)


@pytest.fixture(scope="module")
def snapshot(conn):
    """STAND-IN FOR PACKER'S SNAPSHOT ONLY: random bytes uploaded to the demo project's Glance under the
    name `packer build` would give the snapshot. Raw, so Glance's format inspection takes any bytes;
    bytes 510-511 are zeroed so that they never form an MBR boot signature by chance. Deleted afterwards."""
    cleanup(conn)
    data = bytearray(os.urandom(4 * 1024 * 1024))
    data[510:512] = b"\0\0"
    data = bytes(data)
    image = conn.image.create_image(NAME, data=data, disk_format="raw", container_format="bare",
                                    allow_duplicates=True, wait=True, timeout=300, **MARK)
    try:
        image = conn.image.get_image(image.id)
        assert image.status == "active", image.status
        yield {"id": image.id, "data": data, "sha256": hashlib.sha256(data).hexdigest(),
               "hash_algo": image.hash_algo, "hash_value": image.hash_value}
    finally:
        cleanup(conn)
        assert own_marked_images(conn) == []


def vm_vars(artifactory, work_dir, **extra):
    variables = dict(
        packer_image_stages=["download", "upload"], packer_image_service=SERVICE, packer_image_version=VERSION,
        packer_image_cloud="kos-demo", packer_image_disk_format="raw", packer_image_work_dir=work_dir,
        packer_image_artifactory_url=artifactory, packer_image_artifactory_username=USER,
        packer_image_artifactory_password=PASSWORD)
    variables.update(extra)
    return variables


def one(res, name):
    hits = res.results(name)
    assert len(hits) == 1, "task %r: %r (%r)" % (name, hits, res)
    return hits[0]


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory):
    # Not created: the download stage alone must make it (a fresh Jenkins workspace has no out/).
    return str(tmp_path_factory.mktemp("vm") / "out")


@pytest.fixture(scope="module")
def first_run(run_playbook, artifactory, snapshot, work_dir):
    start = time.monotonic()
    res = run_playbook("images/vm.yml", vm_vars(artifactory, work_dir))
    print("vm.yml download + upload, first run: %.1f s" % (time.monotonic() - start))
    assert res.rc == 0, res
    return res


def test_the_role_finds_the_snapshot_by_name_in_glance(first_run, snapshot, conn):
    found = one(first_run, "Read the image from Glance")
    assert [i["id"] for i in found["images"]] == [snapshot["id"]]
    assert found["images"][0]["name"] == NAME
    assert snapshot["hash_algo"] == "sha512"
    assert snapshot["hash_value"] == hashlib.sha512(snapshot["data"]).hexdigest()
    endpoint = json.loads(one(first_run, "Find Glance's endpoint")["stdout"])["url"]
    assert endpoint == conn.endpoint_for("image").rstrip("/")


def test_the_download_has_the_bytes_glance_holds(first_run, snapshot, work_dir):
    download = one(first_run, DOWNLOAD)
    assert download.get("changed") is True and not download.get("failed"), download
    path = os.path.join(work_dir, NAME + ".raw")
    with open(path, "rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == snapshot["sha256"]
    assert oct(os.stat(path).st_mode & 0o777) == "0o640"


def test_artifactory_holds_the_image_with_its_checksum(first_run, snapshot, artifactory):
    upload = one(first_run, UPLOAD)
    assert upload["changed"] is True and upload["uploaded"] is True, upload
    # the stand-in did not have the binary, so the deploy by checksum was refused and the file was sent
    assert upload["by_checksum"] is False and upload["previous"] is None, upload
    assert upload["checksums"]["sha256"] == snapshot["sha256"]
    assert upload["url"] == "%s/%s/%s" % (artifactory, REPOSITORY, ARTIFACT)
    info = json.loads(standin(artifactory, "api/storage/%s/%s" % (REPOSITORY, ARTIFACT)))
    assert info["repo"] == REPOSITORY and info["path"] == "/" + ARTIFACT
    assert info["checksums"]["sha256"] == snapshot["sha256"]
    assert info["checksums"]["md5"] == hashlib.md5(snapshot["data"]).hexdigest()
    assert int(info["size"]) == len(snapshot["data"])
    assert hashlib.sha256(standin(artifactory, "%s/%s" % (REPOSITORY, ARTIFACT))).hexdigest() == snapshot["sha256"]
    assert first_run.changed == 3, first_run  # work directory, download, upload


def test_a_second_run_changes_nothing(first_run, run_playbook, artifactory, snapshot, work_dir):
    sent = deploys(artifactory)
    res = run_playbook("images/vm.yml", vm_vars(artifactory, work_dir))
    assert res.rc == 0, res
    assert res.changed == 0, res
    # get_url found the file with Glance's sha512 and fetched nothing
    download = one(res, DOWNLOAD)
    assert download.get("changed") is False and not download.get("failed"), download
    # artifact_upload's HEAD found the same sha256 at the path: nothing sent, not even a checksum deploy
    upload = one(res, UPLOAD)
    assert upload["changed"] is False and upload["uploaded"] is False and upload["by_checksum"] is False, upload
    assert upload["previous"]["sha256"] == snapshot["sha256"]
    assert deploys(artifactory) == sent


def test_a_version_glance_does_not_have_fails_naming_the_image(first_run, run_playbook, artifactory, work_dir):
    sent = deploys(artifactory)
    res = run_playbook("images/vm.yml", vm_vars(artifactory, work_dir, packer_image_version="9.9.9"))
    assert res.rc != 0, res
    assert "Glance has 0 images named %s-9.9.9 in project" % SERVICE in res.failure_messages(), res
    assert not res.results(DOWNLOAD) and not res.results(UPLOAD)
    assert not os.path.exists(os.path.join(work_dir, "%s-9.9.9.raw" % SERVICE))
    assert deploys(artifactory) == sent


def test_an_admin_entry_does_not_take_another_projects_image_of_that_name(first_run, run_playbook, artifactory,
                                                                          tmp_path):
    """kos-admin's token sees every project's images. With openstack.cloud.image_info the build stage
    found kos-demo's snapshot of this name and skipped packer build, and the download took another
    project's image for the admin project's build. Now the lookup is the project's own: the admin
    project has no image of this name, so the download fails naming the project."""
    sent = deploys(artifactory)
    res = run_playbook("images/vm.yml", vm_vars(artifactory, str(tmp_path / "admin-out"),
                                                packer_image_cloud="kos-admin"))
    assert res.rc != 0, res
    assert "Glance has 0 images named %s in project" % NAME in res.failure_messages(), res
    assert not res.results(DOWNLOAD) and deploys(artifactory) == sent
