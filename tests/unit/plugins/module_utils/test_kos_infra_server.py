"""Unit test of a building server's deadline (kos_infra_server.build_deadline). The replacement of a
server whose build request was lost runs live in tests/integration/cloud/test_faults.py."""

import datetime
import types

import pytest

from ansible_collections.kos.platform.plugins.module_utils.kos_infra_server import build_deadline

NOW = datetime.datetime(2026, 12, 1, 21, 30, 0, tzinfo=datetime.timezone.utc).timestamp()


def server(created):
    return types.SimpleNamespace(created_at=created)


@pytest.mark.parametrize(
    "created, deadline",
    [
        ("2026-12-01T21:29:00Z", NOW - 60 + 300),  # a minute old: four minutes left
        ("2026-12-01T21:29:00+00:00", NOW - 60 + 300),
        ("2026-12-01T22:29:00+01:00", NOW - 60 + 300),  # another zone, the same instant
        ("2026-12-01T21:29:00.500000Z", NOW - 59.5 + 300),
        ("2026-12-01T21:29:00", NOW - 60 + 300),  # no zone: Nova's times are UTC
        ("2026-12-01T21:20:00Z", NOW - 600 + 300),  # older than the timeout: its time is up
        ("2026-12-01T21:40:00Z", NOW + 300),  # Nova's clock ahead: never more than the timeout from now
        ("", NOW + 300),  # unreadable or missing: the whole timeout from now
        ("yesterday", NOW + 300),
        (None, NOW + 300),
    ],
)
def test_a_building_server_has_the_timeout_from_its_creation(created, deadline):
    assert build_deadline(server(created), NOW, 300) == pytest.approx(deadline)


def test_a_server_without_a_creation_time_gets_the_whole_timeout():
    assert build_deadline(types.SimpleNamespace(), NOW, 120) == NOW + 120


# -- the wait for servers an earlier run left in BUILD --------------------------------------------
# A stand-in for Nova's server listing (a mock, named as one): the live test makes a lost build on the
# test cloud, but a server deleted by somebody else in the seconds this run waits cannot be timed there.
class Listings:
    """conn.compute.servers(details=True): one prepared listing per poll, the last one repeated."""

    def __init__(self, *polls):
        self.polls = list(polls)

    def servers(self, details=True):
        assert details
        return [types.SimpleNamespace(id=i, name=i, status=st) for i, st in self.polls[0].items()]

    def advance(self):
        if len(self.polls) > 1:
            self.polls.pop(0)


def waiter(listings):
    from ansible_collections.kos.platform.plugins.module_utils.kos_infra_server import Servers

    ctx = types.SimpleNamespace(conn=types.SimpleNamespace(compute=listings), timeout=300, poll=0, check_mode=False)
    return Servers(ctx)


def test_the_wait_returns_the_built_and_the_late_and_drops_the_gone(monkeypatch):
    listings = Listings(
        {"built": "BUILD", "late": "BUILD", "gone": "BUILD", "slow": "BUILD"},
        {"built": "ACTIVE", "late": "BUILD", "slow": "BUILD"},
        {"built": "ACTIVE", "late": "BUILD", "slow": "ACTIVE"},
    )
    clock = iter(range(1000, 2000))
    monkeypatch.setattr("time.time", lambda: next(clock))
    monkeypatch.setattr("time.sleep", lambda _s: listings.advance())
    deadlines = {"built": 1500, "late": 1000, "gone": 1500, "slow": 1500}
    done, late = waiter(listings)._wait_servers(deadlines, late_ok=True)
    assert sorted(s.id for s in done) == ["built", "slow"]
    assert late == ["late"]  # its time was up at the first poll; "gone" is in neither list


def test_without_late_ok_a_late_server_fails_the_run(monkeypatch):
    from ansible_collections.kos.platform.plugins.module_utils.kos_infra_resource import ProvisionError

    listings = Listings({"a": "BUILD"})
    clock = iter(range(1000, 2000))
    monkeypatch.setattr("time.time", lambda: next(clock))
    monkeypatch.setattr("time.sleep", lambda _s: None)
    with pytest.raises(ProvisionError, match=r"servers not ACTIVE after 300s: a \(rerun to continue\)"):
        waiter(listings)._wait_servers({"a": 1002})
