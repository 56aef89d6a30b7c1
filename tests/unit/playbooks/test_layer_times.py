"""tests/lab/layer_times.py reads site.yml logs (profile_tasks) and marks the layers a gate skipped:
since eee7770 an unchanged layer ends at its gate (meta: end_play), so no task follows the gate's end task."""

import importlib.util
import os

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SPEC = importlib.util.spec_from_file_location("layer_times", os.path.join(TOP, "tests", "lab", "layer_times.py"))
layer_times = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(layer_times)


def stamp(elapsed):
    return "Monday 30 November 2026  07:49:24 +0000 (0:00:00.100)       0:00:%06.3f *******" % elapsed


GATE = "TASK [Layer gate - is the layer unchanged on this host (digest, files, services)] ***"
END = "TASK [Layer gate - end the layer when every host is unchanged] ***"
# Since the survey (site.yml's preflight), an unchanged layer ends at its first task, before its own gate.
SURVEY_END = "TASK [Layer gate - end the layer when the survey found every host unchanged] ***"
LOG = [
    "PLAY [Hosts - OS preparation] ***", GATE, stamp(1.0), "ok: [k1]", END, stamp(2.0), "skipping: [k1]",
    "TASK [kos.platform.host_base : Install the packages] ***", stamp(3.0), "changed: [k1]",
    "PLAY [PKI - cluster CAs] ***", GATE, stamp(13.0), "ok: [k1]", END, stamp(14.0),
    "PLAY [Etcd - TLS cluster] ***", GATE, stamp(14.5), "ok: [k1]", END, stamp(15.5),
    "PLAY [Routers - BIRD] ***", SURVEY_END, stamp(15.6),
    "PLAY [API endpoint] ***", SURVEY_END, stamp(15.7), GATE, stamp(15.8), "ok: [k1]", END, stamp(16.0),
    "skipping: [k1]", "TASK [kos.platform.api_endpoint : Render] ***", stamp(16.5), "changed: [k1]",
]


def test_a_layer_that_ended_at_its_gate_is_marked_unchanged_and_one_that_ran_is_not():
    plays, _tasks = layer_times.parse(LOG)
    notes = {play: note for play, _took, note in plays}
    assert notes == {"Hosts - OS preparation": "", "PKI - cluster CAs": "unchanged, skipped",
                     "Etcd - TLS cluster": "unchanged, skipped", "Routers - BIRD": "unchanged, skipped",
                     "API endpoint": ""}
