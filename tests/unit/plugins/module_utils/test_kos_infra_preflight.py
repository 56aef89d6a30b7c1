"""Unit test of the quota arithmetic of the preflight (kos_infra_preflight)."""

from ansible_collections.kos.platform.plugins.module_utils.kos_infra_preflight import quota_shortfalls


def test_quota_shortfalls():
    limits = {"instances": (10, 8), "cores": (-1, 50), "ram": (4096, 0)}
    assert quota_shortfalls(limits, {"instances": 3, "cores": 100, "ram": 4096}) == [("instances", 3, 2, 10)]
    assert quota_shortfalls(limits, {"instances": 0, "volumes": 5}) == []
