"""Unit test of the allowed-address-pair comparison (kos_infra_port)."""

from ansible_collections.kos.platform.plugins.module_utils.kos_infra_port import pairs_differ


def test_address_pairs_compared_with_the_mac_neutron_fills_in():
    mac = "fa:16:3e:00:00:01"
    have = [{"ip_address": "10.244.0.0/16", "mac_address": mac}, {"ip_address": "10.96.0.0/16", "mac_address": mac}]
    assert not pairs_differ(["10.96.0.0/16", "10.244.0.0/16"], have, mac)
    assert pairs_differ(["10.244.0.0/16"], have, mac)
    assert pairs_differ(["10.244.0.0/16", "10.96.0.0/16"], [dict(p, mac_address="other") for p in have], mac)


# -- adoption and teardown of ports an interrupted run left untagged (issue 18) ----------------
# Ports here are dicts shaped as Neutron's API returns them (GET /v2.0/ports), not a cloud.
from ansible_collections.kos.platform.plugins.module_utils.kos_infra_port import (  # noqa: E402
    address_holder,
    adoptable,
    teardown_ports,
)

TAG = "kos-cluster=c1"
WANT = {"name": "c1-cp1", "fixed_ip": "198.18.0.11", "allowed_address_pairs": []}


def port(pid, name, ip, tags=(), owner=""):
    return {"id": pid, "name": name, "fixed_ips": [{"ip_address": ip}], "tags": list(tags), "device_owner": owner}


def test_untagged_port_with_expected_name_and_address_is_adopted():
    assert adoptable(port("p1", "c1-cp1", "198.18.0.11"), WANT, TAG)


def test_ports_of_others_are_not_adopted():
    assert not adoptable(port("p2", "other-cp1", "198.18.0.11"), WANT, TAG)  # other name
    assert not adoptable(port("p3", "c1-cp1", "198.18.0.99"), WANT, TAG)  # other address
    assert not adoptable(port("p4", "c1-cp1", "198.18.0.11", owner="network:dhcp"), WANT, TAG)  # Neutron's own
    assert not adoptable(port("p5", "c1-cp1", "198.18.0.11", tags=[TAG]), WANT, TAG)  # already ours: found by tag


def test_without_a_fixed_address_the_name_is_enough():
    assert adoptable(port("p1", "c1-cp1", "198.18.0.57"), dict(WANT, fixed_ip=None), TAG)


def test_address_held_by_another_owner_is_named_not_adopted():
    other = port("p9", "someone-else", "198.18.0.11")
    assert address_holder([port("p1", "c1-cp1", "198.18.0.11"), other], WANT, TAG) is other
    assert address_holder([port("p1", "c1-cp1", "198.18.0.11")], WANT, TAG) is None
    assert address_holder([other], dict(WANT, fixed_ip=None), TAG) is None


def test_teardown_takes_tagged_and_cluster_network_ports_never_neutrons_own():
    tagged = [port("t1", "c1-cp1", "198.18.0.11", tags=[TAG])]
    members = [
        port("t1", "c1-cp1", "198.18.0.11", tags=[TAG]),
        port("u1", "c1-cp2", "198.18.0.12"),  # untagged: creation ran, tagging did not
        port("d1", "", "198.18.0.2", owner="network:dhcp"),
        port("r1", "", "198.18.0.1", owner="network:router_interface"),
    ]
    assert sorted(p["id"] for p in teardown_ports(tagged, members)) == ["t1", "u1"]
    # A decoy on another network is never in either list, so never removed.
    assert teardown_ports([], []) == []


def test_untagged_resources_with_the_ownership_mark_are_the_clusters():
    """The description is set in the create request, so a resource whose tagging step never ran is
    still recognisably the cluster's; others' resources (other mark, no mark, tagged for another
    cluster) are not."""
    from ansible_collections.kos.platform.plugins.module_utils.kos_infra_resource import (
        ownership_mark,
        untagged_marked,
    )

    mark = ownership_mark("c1")
    ours = {"id": "n1", "name": "c1-net", "description": mark, "tags": []}
    decoys = [
        {"id": "n2", "name": "c1-net", "description": "", "tags": []},
        {"id": "n3", "name": "c1-net", "description": ownership_mark("c2"), "tags": []},
        {"id": "n4", "name": "c1-net", "description": mark, "tags": ["kos-cluster=c1"]},  # found by tag
        {"id": "n5", "name": "c10-net", "description": ownership_mark("c10"), "tags": []},
    ]
    assert untagged_marked([ours] + decoys, mark) == [ours]
    assert untagged_marked([ours] + decoys, mark, name="other") == []
