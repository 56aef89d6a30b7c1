"""Bootstrap steps of the test cloud that talk to its APIs (run by cloud.sh with the cloud's venv).

catalog        service project, service users, services and endpoints, demo project and user
resources      flavor, image, volume type (default), external network `public`, demo quotas
compute-ready  exit 0 once nova-compute is up and its hypervisor is known to placement
"""

import os
import sys

import openstack

PASSWORD = "kos-test-secret"
ENDPOINTS = {
    # service name: (type, url)
    "nova": ("compute", "http://127.0.0.1:8774/v2.1"),
    "placement": ("placement", "http://127.0.0.1:8778"),
    "glance": ("image", "http://127.0.0.1:9292"),
    "neutron": ("network", "http://127.0.0.1:9696"),
    "cinderv3": ("volumev3", "http://127.0.0.1:8776/v3/%(project_id)s"),
    "cinder": ("block-storage", "http://127.0.0.1:8776/v3/%(project_id)s"),
}
SERVICE_USERS = ["glance", "placement", "nova", "neutron", "cinder"]
# Room for the benchmark (30 servers) next to a test cluster.
DEMO_QUOTAS = {
    "instances": 40,
    "cores": 80,
    "ram": 40960,
    "server_groups": 20,
    "server_group_members": 40,
    "key_pairs": 20,
}
DEMO_NETWORK_QUOTAS = {
    "networks": 10,
    "subnets": 10,
    "ports": 100,
    "routers": 5,
    "floating_ips": 20,
    "security_groups": 20,
    "security_group_rules": 200,
}
DEMO_VOLUME_QUOTAS = {"volumes": 40, "gigabytes": 400, "snapshots": 10}


def admin():
    return openstack.connect(cloud="kos-admin")


def ensure_role(conn, name):
    return conn.identity.find_role(name) or conn.identity.create_role(name=name)


def catalog():
    conn = admin()
    default = conn.identity.find_domain("default")
    admin_role = ensure_role(conn, "admin")
    member = ensure_role(conn, "member")
    ensure_role(conn, "reader")
    ensure_role(conn, "service")
    service = conn.identity.find_project("service", domain_id=default.id) or conn.identity.create_project(
        name="service", domain_id=default.id
    )
    for name in SERVICE_USERS:
        user = conn.identity.find_user(name, domain_id=default.id) or conn.identity.create_user(
            name=name, password=PASSWORD, domain_id=default.id
        )
        conn.identity.assign_project_role_to_user(service, user, admin_role)
        conn.identity.assign_project_role_to_user(service, user, ensure_role(conn, "service"))
    region = "RegionOne"
    for name, (stype, url) in ENDPOINTS.items():
        svc = conn.identity.find_service(name) or conn.identity.create_service(name=name, type=stype)
        have = {e.interface for e in conn.identity.endpoints(service_id=svc.id)}
        for interface in ("public", "internal", "admin"):
            if interface not in have:
                conn.identity.create_endpoint(service_id=svc.id, interface=interface, url=url, region_id=region)
    demo = conn.identity.find_project("demo", domain_id=default.id) or conn.identity.create_project(
        name="demo", domain_id=default.id
    )
    user = conn.identity.find_user("demo", domain_id=default.id) or conn.identity.create_user(
        name="demo", password=PASSWORD, domain_id=default.id, default_project_id=demo.id
    )
    conn.identity.assign_project_role_to_user(demo, user, member)
    print("catalog done")


def resources():
    conn = admin()
    if not conn.compute.find_flavor("kos.tiny"):
        conn.compute.create_flavor(name="kos.tiny", ram=256, vcpus=1, disk=1, is_public=True)
    if not conn.compute.find_flavor("kos.small"):
        conn.compute.create_flavor(name="kos.small", ram=512, vcpus=1, disk=2, is_public=True)
    if not conn.image.find_image("kos-tiny"):
        conn.create_image(
            "kos-tiny",
            filename=os.environ["KOS_TINY_IMAGE"],
            disk_format="qcow2",
            container_format="bare",
            visibility="public",
            wait=True,
        )
    vtype = conn.block_storage.find_type("fake")
    if not vtype:
        conn.block_storage.create_type(name="fake", extra_specs={"volume_backend_name": "fake"})
    public = conn.network.find_network("public")
    if not public:
        public = conn.network.create_network(
            name="public",
            is_router_external=True,
            is_shared=False,
            provider_network_type="flat",
            provider_physical_network="public",
        )
        # TEST-NET-3: documentation range, nothing real behind it.
        conn.network.create_subnet(
            name="public-subnet",
            network_id=public.id,
            ip_version=4,
            cidr="203.0.113.0/24",
            gateway_ip="203.0.113.1",
            enable_dhcp=False,
            allocation_pools=[{"start": "203.0.113.10", "end": "203.0.113.250"}],
        )
    demo = conn.identity.find_project("demo")
    conn.set_compute_quotas(demo.id, **DEMO_QUOTAS)
    conn.set_network_quotas(demo.id, **DEMO_NETWORK_QUOTAS)
    conn.set_volume_quotas(demo.id, **DEMO_VOLUME_QUOTAS)
    print("resources done")


def compute_ready():
    conn = admin()
    up = [s for s in conn.compute.services() if s.binary == "nova-compute" and s.state == "up"]
    providers = list(conn.placement.resource_providers())
    sys.exit(0 if up and providers else 1)


if __name__ == "__main__":
    {"catalog": catalog, "resources": resources, "compute-ready": compute_ready}[sys.argv[1]]()
