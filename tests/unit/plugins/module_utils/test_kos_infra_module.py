"""openstack_infra on bad input: every mistake ends in fail_json with a message naming the option,
before any connection to a cloud (connect is replaced by a function that fails the test if called:
there is nothing to reach here; the cloud side is tested in tests/integration/cloud)."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.kos.platform.plugins.module_utils import kos_infra_plan, kos_openstack
from ansible_collections.kos.platform.plugins.modules import openstack_infra


def good(**over):
    args = dict(
        cluster_name="kos-demo",
        var_prefix="openstack_infra_",
        auth={"auth_url": "http://127.0.0.1:9/v3", "password": "s3cret"},
        inventory_groups={"etcd": ["cp1"], "kube_control_plane": ["cp1"], "kube_node": ["n1"]},
        node_ips={"cp1": "198.18.0.11"},
        network={"cidr": "198.18.0.0/24", "external_network": "public"},
        flavors={"default": "m1.small"},
        images={"default": "rocky-9"},
        etcd_volume={"size": 10},
        keypair={"name": "kos-demo-deploy"},
    )
    args.update(over)
    return args


@pytest.fixture(autouse=True)
def no_cloud(monkeypatch):
    def connect(params):
        raise kos_openstack.OpenStackConnectError("the module tried to connect: bad input must fail before")

    monkeypatch.setattr(kos_openstack, "connect", connect)


def run(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            openstack_infra.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    "over, words",
    [
        # a volume size that is no number (Ansible's type check names option and type)
        ({"etcd_volume": {"size": "ten"}}, ["size", "etcd_volume", "int"]),
        ({"etcd_volume": {"size": -1}}, ["openstack_infra_etcd_volume.size", "negative"]),
        # a gateway that is no address
        ({"network": {"cidr": "198.18.0.0/24", "gateway_ip": "198.18.0.300"}},
         ["openstack_infra_network.gateway_ip", "'198.18.0.300' is not an IP address"]),
        ({"network": {"cidr": "198.18.0.0/24", "gateway_ip": "198.19.0.1"}},
         ["openstack_infra_network.gateway_ip", "outside 198.18.0.0/24"]),
        ({"network": {"cidr": "198.18.0.0/24", "dns_nameservers": ["dns.example"]}},
         ["openstack_infra_network.dns_nameservers", "'dns.example' is not an IP address"]),
        ({"network": {"cidr": "198.18.0.0/33"}}, ["openstack_infra_network.cidr", "is not a CIDR"]),
        ({"network": {"cidr": "198.18.0.0/24", "router": "perhaps"}}, ["router", "network", "bool"]),
        ({"network": {"cidr": "198.18.0.0/24", "cdir": "x"}}, ["network.cdir", "Unsupported"]),
        # per-group dicts: a typo in a group name and a policy Nova does not know
        ({"flavors": {"kube_nodes": "m1.large"}}, ["flavors.kube_nodes", "Unsupported"]),
        ({"server_group_policies": {"default": "spread"}}, ["server_group_policies", "spread", "anti-affinity"]),
        ({"inventory_groups": {"etcd": ["cp1"], "workers": ["n1"]}}, ["inventory_groups.workers", "Unsupported"]),
        ({"floating_ip_groups": ["routers"]}, ["floating_ip_groups", "routers", "bgp_routers"]),
        # numbers
        ({"api_port": "https"}, ["api_port", "int"]),
        ({"api_port": 70000}, ["openstack_infra_api_port", "not a TCP port"]),
        ({"timeout": 0}, ["openstack_infra_timeout", "minimum of 1"]),
        ({"parallelism": "many"}, ["parallelism", "int"]),
        # addresses of hosts
        ({"node_ips": {"cp1": "not-an-ip"}}, ["cp1", "not an address"]),
        ({"node_ips": {"cp1": 11}}, ["node_ip of cp1", "11", "not an address string"]),
        ({"operator_cidrs": ["10.0.0.1/8"]}, ["openstack_infra_operator_cidrs", "10.0.0.1/8"]),
        # keypair and cluster name
        ({"keypair": {"public_key": "ssh-ed25519 AAAA"}}, ["name", "keypair", "required"]),
        # (Ansible's own message for a string where a dict belongs does not name the option)
        ({"keypair": "kos-demo-deploy"}, ["dictionary requested"]),
    ],
)
def test_bad_input_fails_cleanly_before_connecting(over, words, capsys):
    result = run(good(**over), capsys)
    assert result.get("failed") is True, result
    assert "Traceback" not in json.dumps(result) and "exception" not in result, result
    assert "tried to connect" not in result["msg"]
    for word in words:
        assert word in result["msg"], (word, result["msg"])


def test_a_string_for_a_group_is_one_host_not_its_letters(capsys, monkeypatch):
    seen = {}
    real_plan = openstack_infra.plan

    def spy(params):
        seen["plan"] = real_plan(params)
        return seen["plan"]

    monkeypatch.setattr(openstack_infra, "plan", spy)
    result = run(good(inventory_groups={"etcd": "cp1", "kube_control_plane": "cp1"}), capsys)
    assert result["failed"] and "cannot use cloud" in result["msg"]  # stopped at the (absent) cloud
    assert [s["name"] for s in seen["plan"]["servers"]] == ["cp1"]


def test_plan_refuses_a_string_where_hosts_are_listed():
    # Called without the module's type conversion (the plan is a public function).
    with pytest.raises(kos_infra_plan.PlanError, match=r"inventory_groups\['etcd'\]: expected a list of host names"):
        kos_infra_plan.plan(dict(good(), inventory_groups={"etcd": "cp1"}))


def test_good_input_reaches_the_cloud(capsys):
    # The counterpart of the cases above: valid input passes every check and only then connects.
    result = run(good(), capsys)
    assert result["failed"] and "cannot use cloud" in result["msg"] and "tried to connect" in result["msg"]
