"""Removing named hosts' OpenStack resources (openstack_infra state=absent with hosts, issue 15):
which server, ports, volumes and floating IPs belong to a host of the cluster, and the refusals of
a bad request before the cloud is contacted.

The resources are openstacksdk's own resource classes built with the fields the cloud returns (no
cloud here: deleting them for real is tests/integration/cloud/test_node_remove_openstack.py).
"""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args
from openstack.block_storage.v3.volume import Volume
from openstack.compute.v2.server import Server
from openstack.network.v2.floating_ip import FloatingIP
from openstack.network.v2.port import Port

from ansible_collections.kos.platform.plugins.module_utils import kos_openstack
from ansible_collections.kos.platform.plugins.module_utils.kos_infra_floating_ip import host_floating_ips
from ansible_collections.kos.platform.plugins.module_utils.kos_infra_port import host_ports
from ansible_collections.kos.platform.plugins.module_utils.kos_infra_resource import ownership_mark
from ansible_collections.kos.platform.plugins.module_utils.kos_infra_server import host_servers
from ansible_collections.kos.platform.plugins.module_utils.kos_infra_volume import host_volumes
from ansible_collections.kos.platform.plugins.modules import openstack_infra

CLUSTER = "c1"
TAG = "kos-cluster=c1"
MARK = ownership_mark(CLUSTER)


def names(resources):
    return sorted(r.name for r in resources)


def test_servers_of_the_host_and_the_cluster_only():
    servers = [
        Server(id="s1", name="n1", metadata={"kos_cluster": CLUSTER}),
        Server(id="s2", name="n2", metadata={"kos_cluster": CLUSTER}),  # another host of the cluster
        Server(id="s3", name="n1", metadata={"kos_cluster": "c2"}),  # same name, another cluster
        Server(id="s4", name="n1", metadata={}),  # same name, another owner
        Server(id="s5", name="n1x", metadata={"kos_cluster": CLUSTER}),  # a name that only starts alike
    ]
    assert [s.id for s in host_servers(servers, CLUSTER, ["n1"])] == ["s1"]
    assert [s.id for s in host_servers(servers, CLUSTER, ["n1", "n2"])] == ["s1", "s2"]
    assert host_servers(servers, CLUSTER, ["n9"]) == []


def test_volumes_by_cluster_and_host_metadata():
    volumes = [
        Volume(id="v1", name="c1-n1-etcd", metadata={"kos_cluster": CLUSTER, "kos_host": "n1"}),
        Volume(id="v2", name="c1-n2-etcd", metadata={"kos_cluster": CLUSTER, "kos_host": "n2"}),
        Volume(id="v3", name="c1-n1-etcd", metadata={"kos_cluster": "c2", "kos_host": "n1"}),  # other cluster
        Volume(id="v4", name="c1-n1-etcd", metadata={}),  # same name, no owner mark
        Volume(id="v5", name="c1-n1-data", metadata={"kos_cluster": CLUSTER}),  # the cluster's, no host
    ]
    assert [v.id for v in host_volumes(volumes, CLUSTER, ["n1"])] == ["v1"]
    assert host_volumes(volumes, CLUSTER, []) == []


def port(pid, name, tags=(), description="", device_id="", owner="compute:nova"):
    return Port(id=pid, name=name, tags=list(tags), description=description, device_id=device_id,
                device_owner=owner)


def test_ports_by_name_or_by_the_hosts_server_and_only_the_clusters():
    ports = [
        port("p1", "c1-n1", tags=[TAG], device_id="s1"),
        port("p2", "c1-n1", description=MARK),  # left untagged by an interrupted run: ours by the mark
        port("p3", "extra", tags=[TAG], device_id="s1"),  # the cluster's, bound to n1's server
        port("p4", "c1-n2", tags=[TAG], device_id="s2"),  # another host
        port("p5", "c1-n1"),  # same name, another owner (no tag, no mark)
        port("p6", "c1-n1", tags=["kos-cluster=c2"], description=ownership_mark("c2")),  # another cluster
        port("p7", "other", device_id="s1"),  # bound to n1's server but not the cluster's
        port("p8", "c1-n1", tags=[TAG], owner="network:router_interface"),  # Neutron's own
    ]
    got = host_ports(ports, CLUSTER, ["n1"], {"s1"}, TAG, MARK)
    assert sorted(p.id for p in got) == ["p1", "p2", "p3"]
    assert sorted(p.id for p in host_ports(ports, CLUSTER, ["n2"], {"s2"}, TAG, MARK)) == ["p4"]
    # The server already gone (a re-run after a failure): the ports are still found by name.
    assert sorted(p.id for p in host_ports(ports, CLUSTER, ["n1"], set(), TAG, MARK)) == ["p1", "p2"]


def test_floating_ips_on_the_hosts_ports_only():
    ips = [
        FloatingIP(id="f1", port_id="p1", floating_ip_address="198.18.90.1"),
        FloatingIP(id="f2", port_id="p4", floating_ip_address="198.18.90.2"),
        FloatingIP(id="f3", port_id=None, floating_ip_address="198.18.90.3"),  # unassociated
    ]
    assert [ip.id for ip in host_floating_ips(ips, {"p1", "p2"})] == ["f1"]
    assert host_floating_ips(ips, set()) == []


# -- the request, refused before any connection (connect fails the test if called) -------------


@pytest.fixture
def no_cloud(monkeypatch):
    def connect(params):
        raise kos_openstack.OpenStackConnectError("the module tried to connect: bad input must fail before")

    monkeypatch.setattr(kos_openstack, "connect", connect)


def run(args, capsys):
    base = dict(
        cluster_name=CLUSTER,
        var_prefix="openstack_infra_",
        auth={"auth_url": "http://127.0.0.1:9/v3", "password": "s3cret"},
        inventory_groups={"etcd": ["cp1"], "kube_control_plane": ["cp1"], "kube_node": ["n1", "n2"]},
        keypair={"name": "c1-deploy"},
        state="absent",
    )
    base.update(args)
    with patch_module_args(base):
        with pytest.raises(SystemExit):
            openstack_infra.main()
    return json.loads(capsys.readouterr().out)


def test_every_problem_of_the_request_at_once(no_cloud, capsys):
    out = run({"hosts": ["n1", "typo1", "typo2"], "timeout": 0}, capsys)
    assert out["failed"]
    assert out["problems"] == [
        "openstack_infra_timeout: 0 is below the minimum of 1",
        "openstack_infra_hosts: typo1 is not a host of the groups etcd, kube_control_plane, kube_node "
        "(the hosts kos.platform provisions)",
        "openstack_infra_hosts: typo2 is not a host of the groups etcd, kube_control_plane, kube_node "
        "(the hosts kos.platform provisions)",
    ]


@pytest.mark.parametrize(
    "args, problem",
    [
        # an empty list must never read as "the whole cluster"
        ({"hosts": []}, "openstack_infra_hosts: empty; name at least one host"),
        ({"hosts": ["n1"], "state": "present"}, "openstack_infra_hosts: only with state=absent"),
        ({"hosts": ["n1"], "inventory_groups": {}}, "openstack_infra_hosts: inventory_groups is empty"),
    ],
)
def test_requests_refused_before_the_cloud(no_cloud, capsys, args, problem):
    out = run(args, capsys)
    assert out["failed"] and any(p.startswith(problem) for p in out["problems"]), out


def test_a_good_request_reaches_the_cloud(no_cloud, capsys):
    out = run({"hosts": ["n1", "n1"]}, capsys)
    assert out["failed"] and "the module tried to connect" in out["msg"], out
