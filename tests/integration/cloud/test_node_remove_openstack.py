"""Removing a node deletes its OpenStack resources (issue 15): playbooks/node_remove.yml with
``node_remove_openstack=true`` on the test cloud.

A small cluster (kos-itest-rm: rcp1-rcp3, each an etcd member with an etcd volume and a floating
IP, on 198.18.82.0/24 behind a router) is provisioned next to decoys of another owner in the same
project that share the removed host's names: a server ``rcp3`` of another cluster, a port
``kos-itest-rm-rcp3`` without the tag or mark on another network, a volume
``kos-itest-rm-rcp3-etcd`` of another cluster for host rcp3, an untagged floating IP. Removing rcp3
must delete exactly its server, port, etcd volume and floating IP, and nothing of rcp1, rcp2, the
cluster's shared resources or the decoys; ``--check`` first lists the same and deletes nothing; a
second run changes nothing.

The playbook runs with ``--limit localhost`` (the inventory names localhost for that): the servers
never run (fake hypervisor), so the cluster-side plays (kubectl, etcd, routers), which need real
hosts and are tested elsewhere, are left out and nothing is sent to the servers' addresses. The
preflight, the refusals, the printed plan and the OpenStack play run as for an operator.
Leaves the project as it found it (test_provision.py expects it empty at its end).
"""

import json
import os
import subprocess
import time

import pytest
from conftest import HERE, TOP, PlaybookResult

CLUSTER = "kos-itest-rm"
TAG = "kos-cluster=" + CLUSTER
INVENTORY = os.path.join(HERE, "inventory-remove")
HOSTS = ["rcp1", "rcp2", "rcp3"]
GONE = "rcp3"
DECOY_CIDR = "198.18.83.0/24"
TASK = "Delete the server, ports, etcd volume and floating IP of each host"


def owner(res):
    return (res.metadata or {}).get("kos_cluster")


def snapshot(conn):
    """Every server, port, volume and floating IP of the project, by id (name, owner fields)."""
    return {
        "servers": {s.id: (s.name, owner(s)) for s in conn.compute.servers(details=True)},
        "ports": {p.id: (p.name, p.network_id) for p in conn.network.ports() if p.device_owner != "network:dhcp"},
        "volumes": {v.id: (v.name, owner(v)) for v in conn.block_storage.volumes(details=True)},
        "floating_ips": {ip.id: (ip.floating_ip_address, ip.port_id) for ip in conn.network.ips()},
        "networks": {n.id: n.name for n in conn.network.networks()},
        "security_groups": {g.id: g.name for g in conn.network.security_groups()},
        "routers": {r.id: r.name for r in conn.network.routers()},
    }


@pytest.fixture(scope="module")
def run_node_remove(cloud_config, public_key):
    """node_remove.yml as the conftest runs playbooks, plus --limit localhost (see the docstring)."""

    def run(check=False):
        env = dict(os.environ)
        env.update(ANSIBLE_CONFIG=os.path.join(TOP, "ansible.cfg"), OS_CLIENT_CONFIG_FILE=cloud_config["all"],
                   ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
                   ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, ".collections"))
        env.pop("OS_CLOUD", None)
        variables = {"openstack_infra_keypair": {"public_key": public_key}, "node_remove_hosts": GONE,
                     "node_remove_openstack": True}
        cmd = ["ansible-playbook", "-i", INVENTORY, os.path.join(TOP, "playbooks", "node_remove.yml"),
               "-e", json.dumps(variables), "--limit", "localhost"] + (["--check"] if check else [])
        proc = subprocess.run(cmd, cwd=TOP, env=env, capture_output=True, text=True, timeout=900, check=False)
        return PlaybookResult(proc)

    return run


def _quietly(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - cleanup must go on; the test itself reports failures
        print("cleanup: %s" % exc)


@pytest.fixture(scope="module")
def cluster(run_playbook, conn):
    made = {}
    try:
        # Another owner in the same project, with the removed host's names.
        made["net"] = conn.network.create_network(name="other-owner-rm-net")
        made["subnet"] = conn.network.create_subnet(network_id=made["net"].id, cidr=DECOY_CIDR, ip_version=4)
        made["port"] = conn.network.create_port(name="%s-%s" % (CLUSTER, GONE), network_id=made["net"].id,
                                                description="another owner's")
        made["server"] = conn.compute.create_server(
            name=GONE, flavor_id=conn.compute.find_flavor("kos.tiny", ignore_missing=False).id,
            image_id=conn.image.find_image("kos-tiny", ignore_missing=False).id,
            networks=[{"port": made["port"].id}], metadata={"kos_cluster": CLUSTER + "-other"})
        made["volume"] = conn.block_storage.create_volume(
            name="%s-%s-etcd" % (CLUSTER, GONE), size=1,
            metadata={"kos_cluster": CLUSTER + "-other", "kos_host": GONE})
        made["fip"] = conn.network.create_ip(floating_network_id=conn.network.find_network("public").id)
        res = run_playbook("provision.yml", inventory=INVENTORY)
        assert res.rc == 0, res
        conn.compute.wait_for_server(made["server"], wait=120)
        yield made
    finally:
        gone = run_playbook("teardown.yml", inventory=INVENTORY)
        assert gone.rc == 0, gone
        if "server" in made:
            _quietly(conn.compute.delete_server, made["server"])
            _quietly(conn.compute.wait_for_delete, made["server"], wait=120)
        for key, call in (("fip", conn.network.delete_ip), ("port", conn.network.delete_port),
                          ("subnet", conn.network.delete_subnet), ("net", conn.network.delete_network)):
            if key in made:
                _quietly(call, made[key], ignore_missing=True)
        if "volume" in made:
            deadline = time.time() + 120
            while time.time() < deadline and conn.block_storage.get_volume(made["volume"]).status == "creating":
                time.sleep(1)
            _quietly(conn.block_storage.delete_volume, made["volume"], ignore_missing=True)
            _quietly(conn.block_storage.wait_for_delete, made["volume"], wait=120)


def test_node_remove_deletes_exactly_the_hosts_server_ports_volume_and_floating_ip(cluster, run_node_remove, conn):
    before = snapshot(conn)
    server = next(s for s in conn.compute.servers(details=True)
                  if s.name == GONE and (s.metadata or {}).get("kos_cluster") == CLUSTER)
    ports = [p for p in conn.network.ports(tags=TAG) if p.name == "%s-%s" % (CLUSTER, GONE)]
    assert len(ports) == 1 and ports[0].device_id == server.id, ports
    fips = [ip for ip in conn.network.ips(tags=TAG) if ip.port_id == ports[0].id]
    volumes = [v for v in conn.block_storage.volumes(details=True)
               if (v.metadata or {}) == {"kos_cluster": CLUSTER, "kos_host": GONE, "kos_purpose": "etcd-data"}]
    assert len(fips) == 1 and len(volumes) == 1, (fips, volumes)
    expected = sorted(["server " + GONE, "port %s-%s" % (CLUSTER, GONE), "volume %s-%s-etcd" % (CLUSTER, GONE),
                       "floating IP " + fips[0].floating_ip_address])
    ids = {server.id, ports[0].id, volumes[0].id, fips[0].id}

    preview = run_node_remove(check=True)
    assert preview.rc == 0, preview
    assert sorted(preview.results(TASK)[0]["removed_by_host"][GONE]) == expected, preview.results(TASK)
    assert any("kos-cluster=" + CLUSTER in str(r.get("msg")) for r in preview.results("OpenStack part of the plan"))
    assert snapshot(conn) == before  # check mode deleted nothing

    res = run_node_remove()
    assert res.rc == 0, res
    assert sorted(res.results(TASK)[0]["removed_by_host"][GONE]) == expected
    after = snapshot(conn)
    for kind, items in before.items():
        # Exactly the host's four resources are gone; every other one (rcp1, rcp2, the network,
        # router and security groups, the decoys of the other owner) is still there, unchanged.
        # A port's binding may change when its server goes: ports compare by name and network.
        assert {k: v for k, v in items.items() if k not in ids} == after[kind], kind
    for key in ("server", "port", "volume", "fip", "net"):
        assert cluster[key].id in after[{"server": "servers", "port": "ports", "volume": "volumes",
                                         "fip": "floating_ips", "net": "networks"}[key]], key
    assert sorted(n for n, c in after["servers"].values() if c == CLUSTER) == ["rcp1", "rcp2"]

    again = run_node_remove()
    assert again.rc == 0, again
    assert again.results(TASK)[0]["removed_by_host"] == {GONE: []} and again.changed == 0, again
    assert snapshot(conn) == after
