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
