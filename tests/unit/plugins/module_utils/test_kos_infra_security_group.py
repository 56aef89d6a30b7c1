"""Unit tests of the security group rule comparison (kos_infra_security_group); the rules created
in a cloud are checked against the test cloud in tests/integration/cloud."""

from ansible_collections.kos.platform.plugins.module_utils.kos_infra_plan import plan
from ansible_collections.kos.platform.plugins.module_utils.kos_infra_security_group import desired_rule_keys, rule_key

from .test_kos_infra_plan import params


def test_rule_key_reads_openstacksdk_and_neutron_names():
    sdk = {"direction": "ingress", "ether_type": "IPv4", "protocol": "tcp", "port_range_min": 22,
           "port_range_max": 22, "remote_ip_prefix": "192.0.2.0/24", "remote_group_id": None}
    api = dict(sdk, ethertype="IPv4")
    del api["ether_type"]
    assert rule_key(sdk) == rule_key(api) == ("ingress", "IPv4", "tcp", 22, 22, "192.0.2.0/24", None)


def test_desired_rules_keep_default_egress_and_resolve_groups():
    p = plan(params())
    keys = desired_rule_keys(p["security_groups"]["etcd"], {"etcd": "id-e", "control_plane": "id-c"})
    assert ("egress", "IPv4", None, None, None, None, None) in keys
    assert ("egress", "IPv6", None, None, None, None, None) in keys
    assert ("ingress", "IPv4", "tcp", 2379, 2379, None, "id-c") in keys
    assert len(keys) == 5
