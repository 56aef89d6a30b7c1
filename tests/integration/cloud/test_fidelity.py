"""Fidelity of the test cloud: each API family the project uses, through openstacksdk, with the
operations a real cloud offers (create, update, tag, delete, list with filters, pagination).

A gap in the harness (a service that cannot do what a deployment does, like volumes from images
failing on a missing privileged helper, or a refused network type) fails here, in the harness's
own test, before it surprises a user. Every test removes what it created (the project must be
empty for test_provision.py, which runs next). Networks use 198.18.0.0/15; the servers never
run (fake hypervisor), so nothing is sent to their addresses.
"""

import contextlib
import time
import uuid

import pytest

PREFIX = "kos-fid-"


@pytest.fixture
def cleanup():
    with contextlib.ExitStack() as stack:
        yield stack


def name(kind):
    return "%s%s-%s" % (PREFIX, kind, uuid.uuid4().hex[:6])


def paginates(proxy, path, key, links_key=None):
    """A listing with limit=1 returns one item and a link to the next page (the API's own paging)."""
    body = proxy.get(path).json()
    assert len(body[key]) == 1, body
    if links_key is None:  # Glance: a top-level "next"
        assert body.get("next"), body
    else:
        assert any(link["rel"] == "next" for link in body.get(links_key, [])), body


def wait(fetch, ok, timeout=120, what="resource"):
    deadline = time.time() + timeout
    while True:
        res = fetch()
        if ok(res):
            return res
        assert time.time() < deadline, "%s not ready after %ss: %s" % (what, timeout, res)
        time.sleep(1)


# -- Keystone ----------------------------------------------------------------------------------
def test_identity_projects_users_roles(admin, cleanup):
    default = admin.identity.find_domain("Default")
    tag = name("tag")
    projects = []
    for _ in range(3):
        p = admin.identity.create_project(name=name("project"), domain_id=default.id, tags=[tag])
        cleanup.callback(admin.identity.delete_project, p)
        projects.append(p)
    admin.identity.update_project(projects[0], description="updated")
    assert admin.identity.get_project(projects[0].id).description == "updated"
    assert sorted(p.id for p in admin.identity.projects(tags=tag)) == sorted(p.id for p in projects)
    assert [p.id for p in admin.identity.projects(name=projects[1].name)] == [projects[1].id]
    user = admin.identity.create_user(name=name("user"), password=uuid.uuid4().hex, domain_id=default.id)
    cleanup.callback(admin.identity.delete_user, user)
    member = admin.identity.find_role("member")
    admin.identity.assign_project_role_to_user(projects[0], user, member)
    found = list(admin.identity.role_assignments(user_id=user.id, scope_project_id=projects[0].id))
    assert [a.role["id"] for a in found] == [member.id]
    assert admin.identity.validate_user_has_project_role(projects[0], user, member)


# -- Glance ------------------------------------------------------------------------------------
def test_image_upload_update_tag_list_download_delete(conn, cleanup):
    data = conn.image.download_image(conn.image.find_image("kos-tiny")).content
    tag = name("tag")
    images = []
    for _ in range(2):
        img = conn.image.create_image(name=name("image"), data=data, disk_format="qcow2",
                                      container_format="bare", allow_duplicates=True, wait=True)
        cleanup.callback(conn.image.delete_image, img, ignore_missing=True)
        images.append(img)
    conn.image.update_image(images[0], kos_purpose="fidelity")
    for img in images:
        conn.image.add_tag(img, tag)
    assert conn.image.get_image(images[0].id).properties.get("kos_purpose") == "fidelity"
    assert sorted(i.id for i in conn.image.images(tag=tag)) == sorted(i.id for i in images)
    assert [i.id for i in conn.image.images(name=images[1].name)] == [images[1].id]
    paginates(conn.image, "/images?limit=1", "images")
    assert conn.image.download_image(images[1]).content == data  # byte-identical round trip
    conn.image.delete_image(images[1])
    assert conn.image.find_image(images[1].id, ignore_missing=True) is None


# -- Neutron (ML2/OVN) -------------------------------------------------------------------------
def test_network_family_with_tags_filters_and_pages(conn, cleanup):
    tag = "kos-cluster=" + name("tag")
    nets = []
    for _ in range(3):
        net = conn.network.create_network(name=name("net"))
        cleanup.callback(conn.network.delete_network, net)
        conn.network.set_tags(net, [tag])
        nets.append(net)
    conn.network.update_network(nets[0], description="updated")
    assert conn.network.get_network(nets[0].id).description == "updated"
    assert sorted(n.id for n in conn.network.networks(tags=tag)) == sorted(n.id for n in nets)
    assert len(list(conn.network.networks(tags=tag, limit=1))) == 3  # openstacksdk follows the pages
    paginates(conn.network, "/networks?limit=1&tags=%s" % tag, "networks", "networks_links")
    subnet = conn.network.create_subnet(network_id=nets[0].id, cidr="198.18.10.0/24", ip_version=4,
                                        name=name("subnet"), dns_nameservers=["198.18.10.53"])
    cleanup.callback(conn.network.delete_subnet, subnet)
    conn.network.update_subnet(subnet, dns_nameservers=["198.18.10.54"])
    assert conn.network.get_subnet(subnet.id).dns_nameservers == ["198.18.10.54"]
    group = conn.network.create_security_group(name=name("sg"))
    cleanup.callback(conn.network.delete_security_group, group)
    rule = conn.network.create_security_group_rule(security_group_id=group.id, direction="ingress",
                                                   ether_type="IPv4", protocol="tcp", port_range_min=179,
                                                   port_range_max=179, remote_group_id=group.id)
    rules = list(conn.network.security_group_rules(security_group_id=group.id, direction="ingress"))
    assert [r.id for r in rules] == [rule.id]
    port = conn.network.create_port(network_id=nets[0].id, name=name("port"), security_group_ids=[group.id],
                                    fixed_ips=[{"subnet_id": subnet.id, "ip_address": "198.18.10.11"}],
                                    allowed_address_pairs=[{"ip_address": "10.244.0.0/16"}])
    cleanup.callback(conn.network.delete_port, port)
    conn.network.set_tags(port, [tag])
    assert port.allowed_address_pairs[0]["mac_address"] == port.mac_address  # Neutron fills in the MAC
    conn.network.update_port(port, allowed_address_pairs=[{"ip_address": "10.96.0.0/16"}])
    assert [p.id for p in conn.network.ports(tags=tag, fixed_ips="ip_address=198.18.10.11")] == [port.id]
    router = conn.network.create_router(name=name("router"),
                                        external_gateway_info={"network_id": conn.network.find_network("public").id})
    cleanup.callback(conn.network.delete_router, router)
    conn.network.add_interface_to_router(router, subnet_id=subnet.id)
    cleanup.callback(conn.network.remove_interface_from_router, router, subnet_id=subnet.id)
    fip = conn.network.create_ip(floating_network_id=router.external_gateway_info["network_id"], port_id=port.id)
    cleanup.callback(conn.network.delete_ip, fip)
    assert conn.network.get_ip(fip.id).fixed_ip_address == "198.18.10.11"
    quota = conn.network.get_quota(conn.current_project_id, details=True)
    assert quota.ports["used"] >= 1 and quota.floating_ips["used"] == 1


@pytest.mark.parametrize("network_type, extra", [
    ("geneve", {}),
    ("vxlan", {}),
    ("vlan", {"provider_physical_network": "physnet1", "provider_segmentation_id": 150}),
])
def test_overlay_and_vlan_networks_bind_ports(admin, cleanup, network_type, extra):
    net = admin.network.create_network(name=name(network_type), provider_network_type=network_type, **extra)
    cleanup.callback(admin.network.delete_network, net)
    assert net.provider_network_type == network_type
    subnet = admin.network.create_subnet(network_id=net.id, cidr="198.18.11.0/24", ip_version=4)
    cleanup.callback(admin.network.delete_subnet, subnet)
    port = admin.network.create_port(network_id=net.id, binding_host_id="kos-test-cloud")
    cleanup.callback(admin.network.delete_port, port)
    # Bound by the OVN mechanism driver to the one chassis (a refused type would say binding_failed).
    assert admin.network.get_port(port.id).binding_vif_type == "ovs"


# -- Nova, Cinder and Glance together ----------------------------------------------------------
def test_servers_volumes_from_images_boot_from_volume(conn, cleanup, public_key):
    image = conn.image.find_image("kos-tiny")
    flavor = conn.compute.find_flavor("kos.tiny")
    assert [f.id for f in conn.compute.flavors(min_ram=flavor.ram, min_disk=flavor.disk) if f.id == flavor.id]
    net = conn.network.create_network(name=name("net"))
    cleanup.callback(conn.network.delete_network, net)
    subnet = conn.network.create_subnet(network_id=net.id, cidr="198.18.12.0/24", ip_version=4)
    cleanup.callback(conn.network.delete_subnet, subnet)
    keypair = conn.compute.create_keypair(name=name("key"), public_key=public_key)
    cleanup.callback(conn.compute.delete_keypair, keypair)
    group = conn.compute.create_server_group(name=name("group"), policy="soft-anti-affinity")
    cleanup.callback(conn.compute.delete_server_group, group)
    tag = name("tag")

    # Volumes: blank and from an image (cinder-volume's privsep daemon inspects the image).
    blank = conn.block_storage.create_volume(name=name("blank"), size=1, metadata={"kos_purpose": "fidelity"})
    seeded = conn.block_storage.create_volume(name=name("seeded"), size=1, image_id=image.id)
    for v in (blank, seeded):
        cleanup.callback(conn.block_storage.delete_volume, v, ignore_missing=True)
    # Servers: one from the image, one booted from a volume Nova has Cinder create from the image.
    servers = [
        conn.compute.create_server(name=name("server"), image_id=image.id, flavor_id=flavor.id,
                                   networks=[{"uuid": net.id}], key_name=keypair.name, tags=[tag],
                                   metadata={"kos_cluster": "fidelity"}, scheduler_hints={"group": group.id}),
        conn.compute.create_server(name=name("bfv"), flavor_id=flavor.id, networks=[{"uuid": net.id}], tags=[tag],
                                   block_device_mapping=[{"boot_index": 0, "uuid": image.id, "source_type": "image",
                                                          "destination_type": "volume", "volume_size": 1,
                                                          "delete_on_termination": True}]),
    ]
    for s in servers:
        cleanup.callback(conn.compute.wait_for_delete, s, wait=120)
        cleanup.callback(conn.compute.delete_server, s, ignore_missing=True)
    for v in (blank, seeded):
        v = conn.block_storage.wait_for_status(v, "available", failures=["error"], interval=1, wait=180)
    assert conn.block_storage.get_volume(seeded.id).volume_image_metadata["image_id"] == image.id
    assert conn.block_storage.get_volume(seeded.id).is_bootable
    servers = [conn.compute.wait_for_server(s, failures=["ERROR"], interval=1, wait=240) for s in servers]
    assert {s.status for s in servers} == {"ACTIVE"}
    (boot,) = servers[1].attached_volumes
    boot_volume = conn.block_storage.get_volume(boot["id"])
    assert boot_volume.volume_image_metadata["image_id"] == image.id and boot_volume.status == "in-use"
    assert servers[0].id in conn.compute.get_server_group(group.id).member_ids

    # Update, tag, metadata, filters, pages.
    conn.compute.update_server(servers[0], name=servers[0].name + "-renamed")
    conn.compute.set_server_metadata(servers[0], kos_role="fidelity")
    servers[0].add_tag(conn.compute, tag + "-extra")
    got = conn.compute.get_server(servers[0].id)
    assert got.name.endswith("-renamed") and got.metadata["kos_role"] == "fidelity"
    assert sorted(got.tags) == sorted([tag, tag + "-extra"])
    assert sorted(s.id for s in conn.compute.servers(tags=tag)) == sorted(s.id for s in servers)
    assert [s.id for s in conn.compute.servers(tags=tag + "-extra")] == [servers[0].id]
    paginates(conn.compute, "/servers?limit=1", "servers", "servers_links")
    conn.block_storage.update_volume(blank, name=blank.name + "-renamed")
    conn.block_storage.set_volume_metadata(blank, kos_host="fidelity")
    conn.block_storage.extend_volume(blank, 2)
    blank = wait(lambda: conn.block_storage.get_volume(blank.id), lambda v: v.size == 2, what="extended volume")
    assert blank.name.endswith("-renamed") and blank.metadata == {"kos_purpose": "fidelity", "kos_host": "fidelity"}
    assert [v.id for v in conn.block_storage.volumes(name=blank.name)] == [blank.id]
    assert seeded.id in {v.id for v in conn.block_storage.volumes(status="available")}
    paginates(conn.block_storage, "/volumes?limit=1", "volumes", "volumes_links")

    # Attach and detach, as etcd data volumes are.
    conn.compute.create_volume_attachment(servers[0], volume_id=seeded.id)
    attached = wait(lambda: conn.block_storage.get_volume(seeded.id), lambda v: v.status == "in-use",
                    what="attached volume")
    assert [a["server_id"] for a in attached.attachments] == [servers[0].id]
    conn.compute.delete_volume_attachment(servers[0], seeded.id)
    wait(lambda: conn.block_storage.get_volume(seeded.id), lambda v: v.status == "available", what="detached volume")

    # Limits the preflight reads.
    limits = conn.compute.get_limits().absolute
    assert limits.instances_used == 2 and limits.instances > 0
    assert conn.block_storage.get_limits().absolute.total_volumes_used >= 3

    # Deleting a server deletes its boot volume (delete_on_termination).
    conn.compute.delete_server(servers[1])
    conn.compute.wait_for_delete(servers[1], wait=120)
    wait(lambda: conn.block_storage.find_volume(boot["id"], ignore_missing=True), lambda v: v is None,
         what="boot volume deletion")
