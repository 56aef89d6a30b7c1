"""The day-two lab test's restart check (tests/integration/lab/test_lab_node_add_remove.py): a protocol
restarted when it is younger than before plus the time that passed, or gone, or in another state."""

import importlib.util
import os
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
LAB = os.path.join(TOP, "tests", "integration", "lab")
sys.path.insert(0, LAB)  # the test module imports lab_helpers
SPEC = importlib.util.spec_from_file_location("lab_day2", os.path.join(LAB, "test_lab_node_add_remove.py"))
day2 = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(day2)
sys.path.remove(LAB)


def reads(ages, at):
    found = {name: ("BGP", "start", age) for name, age in ages.items()}
    found[day2.STATUS] = ("status", at)
    return found


def test_a_protocol_that_kept_running_aged_by_the_time_that_passed():
    before = reads({"device1": 100.0, "node_a": 40.0}, 10.0)
    assert day2.restarted(before, reads({"device1": 130.4, "node_a": 70.2}, 40.0)) == []
    # up to 1 s younger than expected: the reads themselves
    assert day2.restarted(before, reads({"device1": 129.2, "node_a": 69.5}, 40.0)) == []


def test_a_restart_a_state_change_or_a_lost_protocol_is_reported():
    before = reads({"device1": 100.0, "node_a": 40.0, "node_b": 40.0}, 10.0)
    after = reads({"device1": 130.0, "node_a": 12.0}, 40.0)
    after["device1"] = ("Device", "start", 130.0)
    assert day2.restarted(before, after) == ["device1", "node_a", "node_b"]
    text = day2.explain("tor1", before, after)
    assert "30.0 s passed between the reads" in text and "node_a: age 40.0 s -> 12.0 s" in text
    assert "node_b: age 40.0 s -> gone" in text


def test_the_server_time_line_is_read_with_milliseconds():
    status = "BIRD 2.0.12\nCurrent server time is 2026-11-30 20:04:25.227\nLast reboot on 2026-11-30 20:04:24.672\n"
    assert day2.stamp(day2.STATUS_TIME.search(status).group(1)).microsecond == 227000
