"""The scenario's cluster model and helpers, shared by the live BGP tests.

The model is derived from molecule.yml with the same code the preflight role runs, so the tests
expect exactly what the router and the Calico stand-in were generated from.
"""

import json
import os
import subprocess
import sys
import time

import pytest
import testinfra
import yaml

SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOP = os.path.abspath(os.path.join(SCENARIO, "..", "..", "..", ".."))
COLLECTIONS = os.path.join(TOP, ".collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

from ansible_collections.kos.platform.plugins.module_utils import kos_bird, kos_model  # noqa: E402

ROUTER = "bgp-router-1"


def _load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _model():
    scenario = _load(os.path.join(SCENARIO, "molecule.yml"))
    inventory = scenario["provisioner"]["inventory"]
    variables = dict(_load(os.path.join(TOP, "roles", "preflight", "defaults", "main.yml")))
    variables.update(inventory["group_vars"]["all"])
    groups = {}
    for platform in scenario["platforms"]:
        for group in platform.get("groups", []):
            groups.setdefault(group, []).append(platform["name"])
    model_input = {
        "cluster": {k[len("cluster_"):]: v for k, v in variables.items() if k.startswith("cluster_")},
        "groups": groups,
        "hosts": {name: dict(values) for name, values in inventory["host_vars"].items()},
    }
    bgp_defaults = _load(os.path.join(TOP, "roles", "bgp_router", "defaults", "main.yml"))
    bgp_defaults.update({k: v for k, v in variables.items() if k.startswith("bgp_router_")})
    return kos_model.derive(model_input), bgp_defaults


MODEL, ROUTER_VARS = _model()
PLAN = kos_bird.router_plan(MODEL, ROUTER, {"pod_prefix_match": ROUTER_VARS["bgp_router_pod_prefix_match"]})
HOLD_TIME = ROUTER_VARS["bgp_router_hold_time"]


def host(name):
    return testinfra.get_host("docker://" + name)


def wait_for(check, timeout, interval=0.2):
    """Poll check() until it returns a true value or timeout seconds pass; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def birdc(name, *args):
    return host(name).check_output("birdc -r " + " ".join(args))


def protocols(name=ROUTER):
    return kos_bird.parse_protocols(birdc(name, "show", "protocols"))


def kernel_routes(name=ROUTER):
    """{prefix: sorted next-hop addresses} of the routes BIRD put in the kernel."""
    routes = json.loads(host(name).check_output("ip -4 -j route show proto bird"))
    result = {}
    for route in routes:
        prefix = route["dst"] if "/" in route["dst"] else route["dst"] + "/32"
        hops = [hop["gateway"] for hop in route.get("nexthops", [])] or [route.get("gateway")]
        result[prefix] = sorted(hops)
    return result


def all_established():
    state = protocols()
    return all(state.get(p["protocol"], {}).get("info", "").startswith("Established") for p in PLAN["peers"])


def playbook(path, *extra):
    """Run a playbook against the scenario's inventory; returns (rc, output)."""
    env = dict(os.environ)
    env.setdefault("ANSIBLE_CONFIG", os.path.join(TOP, "ansible.cfg"))
    env["ANSIBLE_COLLECTIONS_PATH"] = COLLECTIONS
    env["ANSIBLE_ROLES_PATH"] = os.path.join(TOP, "roles")
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_NOCOLOR"] = "1"
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
               "-i", os.environ["MOLECULE_INVENTORY_FILE"], path] + list(extra)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    return done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="session", autouse=True)
def sessions_up():
    """Every test starts from a converged fabric (bounded wait)."""
    assert wait_for(all_established, 30), "sessions not Established within 30 s: %s" % protocols()
