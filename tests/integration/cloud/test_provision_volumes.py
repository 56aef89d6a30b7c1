"""Provisioning with volumes from images, on a VXLAN network: a small second cluster whose servers
boot from volumes (Nova has Cinder create them from the image) and whose etcd member gets a data
volume seeded from an image, on an existing VXLAN network that the test makes as the cloud's admin.
Runs after test_provision.py (file order), on an empty project.

Every assertion reads the cloud through openstacksdk; no test sends anything to the servers.
"""

import os

import pytest
from conftest import HERE

CLUSTER = "kos-itest-vol"
TAG = "kos-cluster=" + CLUSTER
INVENTORY = os.path.join(HERE, "inventory-volumes")
HOSTS = ["vcp1", "vnode1"]


def ours(conn):
    return {s.name: s for s in conn.compute.servers(details=True)
            if (s.metadata or {}).get("kos_cluster") == CLUSTER}


@pytest.fixture(scope="module")
def vxlan_network(admin):
    demo = admin.identity.find_project("demo")
    net = admin.network.create_network(name=CLUSTER + "-vxlan", provider_network_type="vxlan", project_id=demo.id)
    subnet = admin.network.create_subnet(network_id=net.id, cidr="198.18.64.0/24", ip_version=4, project_id=demo.id)
    yield net
    admin.network.delete_subnet(subnet, ignore_missing=True)
    admin.network.delete_network(net, ignore_missing=True)


@pytest.fixture(scope="module")
def provisioned(vxlan_network, run_playbook, conn):
    preview = run_playbook("provision.yml", check=True, inventory=INVENTORY)
    assert preview.rc == 0, preview
    res = run_playbook("provision.yml", inventory=INVENTORY)
    assert res.rc == 0, res
    yield preview, res
    if ours(conn) or list(conn.network.ports(tags=TAG)):  # a test failed before the teardown test
        run_playbook("teardown.yml", inventory=INVENTORY)


def test_check_mode_names_image_sources(provisioned, conn):
    changes = provisioned[0].results("Provision network")[0]["changes"]
    assert "would create volume kos-itest-vol-vcp1-etcd (1 GiB, from image kos-tiny)" in changes, changes
    assert ("would create server vcp1 (kos.tiny, kos-tiny, kos-itest-vol-kube_control_plane, boot volume 1 GiB)"
            in changes), changes


def test_ports_on_the_vxlan_network(provisioned, conn, admin, vxlan_network):
    assert admin.network.get_network(vxlan_network.id).provider_network_type == "vxlan"
    ports = {p.name: p for p in conn.network.ports(tags=TAG)}
    assert sorted(ports) == ["%s-%s" % (CLUSTER, h) for h in HOSTS]
    assert {p.network_id for p in ports.values()} == {vxlan_network.id}
    assert [ip["ip_address"] for ip in ports[CLUSTER + "-vcp1"].fixed_ips] == ["198.18.64.11"]
    assert list(conn.network.routers(tags=TAG)) == []  # an existing network gets no router


def test_servers_boot_from_volumes_made_from_the_image(provisioned, conn):
    image = conn.image.find_image("kos-tiny")
    servers = ours(conn)
    assert sorted(servers) == HOSTS
    hosts = provisioned[1].results("Provision network")[0]["hosts"]
    for name, server in servers.items():
        assert server.status == "ACTIVE"
        assert not server.image or not server.image.get("id")  # no image: booted from a volume
        boot = [conn.block_storage.get_volume(a["id"]) for a in server.attached_volumes]
        boot = [v for v in boot if (v.metadata or {}).get("kos_purpose") != "etcd-data"]
        assert len(boot) == 1, boot
        assert boot[0].is_bootable and boot[0].volume_image_metadata["image_id"] == image.id
        assert boot[0].size == 1 and boot[0].status == "in-use"
        assert hosts[name]["boot_volume_size"] == 1


def test_etcd_volume_seeded_from_the_image_and_attached(provisioned, conn):
    image = conn.image.find_image("kos-tiny")
    servers = ours(conn)
    (vol,) = [v for v in conn.block_storage.volumes(details=True) if (v.metadata or {}).get("kos_cluster") == CLUSTER]
    assert vol.name == CLUSTER + "-vcp1-etcd" and vol.status == "in-use"
    assert vol.volume_image_metadata["image_id"] == image.id
    assert [a["server_id"] for a in vol.attachments] == [servers["vcp1"].id]


def test_second_run_changes_nothing(provisioned, run_playbook):
    res = run_playbook("provision.yml", inventory=INVENTORY)
    assert res.rc == 0, res
    assert res.changed == 0, res.results("Provision network")[0].get("changes")


def test_teardown_removes_servers_with_their_boot_volumes(provisioned, run_playbook, conn, vxlan_network):
    res = run_playbook("teardown.yml", inventory=INVENTORY)
    assert res.rc == 0, res
    removed = res.results("Delete every resource")[0]["removed"]
    assert "volume %s-vcp1-etcd" % CLUSTER in removed and "server vcp1" in removed
    assert ours(conn) == {}
    assert list(conn.block_storage.volumes()) == []  # boot volumes went with their servers
    assert list(conn.network.ports(tags=TAG)) == []
    assert conn.network.get_network(vxlan_network.id) is not None  # not the cluster's: left in place
