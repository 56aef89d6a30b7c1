"""Unit test of the allowed-address-pair comparison (kos_infra_port)."""

from ansible_collections.kos.platform.plugins.module_utils.kos_infra_port import pairs_differ


def test_address_pairs_compared_with_the_mac_neutron_fills_in():
    mac = "fa:16:3e:00:00:01"
    have = [{"ip_address": "10.244.0.0/16", "mac_address": mac}, {"ip_address": "10.96.0.0/16", "mac_address": mac}]
    assert not pairs_differ(["10.96.0.0/16", "10.244.0.0/16"], have, mac)
    assert pairs_differ(["10.244.0.0/16"], have, mac)
    assert pairs_differ(["10.244.0.0/16", "10.96.0.0/16"], [dict(p, mac_address="other") for p in have], mac)
