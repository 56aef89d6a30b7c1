"""The scenario's cluster model and helpers, shared by the live data-centre tests.

The model is derived from molecule.yml with the same code the preflight role runs, so the tests
expect exactly what the routers and the stand-ins were generated from.
"""

import json
import os
import subprocess
import sys
import time

import netaddr
import pytest
import testinfra
import yaml

SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOP = os.path.abspath(os.path.join(SCENARIO, "..", "..", "..", ".."))
COLLECTIONS = os.path.join(TOP, ".collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

from ansible_collections.kos.platform.plugins.module_utils import kos_bird, kos_model  # noqa: E402

SPINE = "bgp-spine"
CLIENT = "bgp-client"


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
    hosts = {name: dict(values) for name, values in inventory["host_vars"].items()}
    for name in groups["bgp_routers"]:
        hosts[name]["bgp_router_upstream_peers"] = variables["bgp_router_upstream_peers"]
    model_input = {
        "cluster": {k[len("cluster_"):]: v for k, v in variables.items() if k.startswith("cluster_")},
        "groups": groups,
        "hosts": hosts,
    }
    bgp_defaults = _load(os.path.join(TOP, "roles", "bgp_router", "defaults", "main.yml"))
    bgp_defaults.update({k: v for k, v in variables.items() if k.startswith("bgp_router_")})
    return kos_model.derive(model_input), bgp_defaults, groups


MODEL, ROUTER_VARS, GROUPS = _model()
ROUTERS = GROUPS["bgp_routers"]
NODES = list(MODEL["nodes"])
PLANS = {router: kos_bird.router_plan(MODEL, router, {
    "pod_prefix_match": ROUTER_VARS["bgp_router_pod_prefix_match"],
    "max_local_service_routes": ROUTER_VARS["bgp_router_max_local_service_routes"]}) for router in ROUTERS}
HOLD_TIME = ROUTER_VARS["bgp_router_hold_time"]
SERVICE = netaddr.IPNetwork(MODEL["networks"]["service"])
WEB_IP = str(SERVICE[20])          # a Service every node backs (ECMP)
LOCAL_IP = str(SERVICE[100])       # a Local Service, endpoint on the first control plane only
LOCAL_NODE = GROUPS["kube_control_plane"][0]
DNS_IP = MODEL["service_ips"]["dns"]
POD_IPS = {name: str(netaddr.IPNetwork(node["pod_block"])[1]) for name, node in MODEL["nodes"].items()}


def host(name):
    return testinfra.get_host("docker://" + name)


def wait_for(check, timeout, interval=0.2):
    """Poll check() until it returns a true value or timeout seconds pass; returns the last value."""
    return watch(check, timeout, interval)[0]


def watch(check, timeout, interval=0.1):
    """Poll check() until it returns a true value or timeout seconds pass.

    Returns (value, unmet): the last value, and the monotonic time at which the last poll that still saw
    the condition unmet *started*. A bound on how fast something happens is checked against that start, not
    against the end of the poll that saw it happen: each poll is a `docker exec` that takes seconds on a
    loaded machine, and only a poll that began after the deadline and still saw the old state proves the
    deadline missed."""
    deadline = time.monotonic() + timeout
    unmet = None
    while True:
        began = time.monotonic()
        value = check()
        if value:
            return value, unmet
        unmet = began
        if time.monotonic() >= deadline:
            return value, unmet
        time.sleep(interval)


def birdc(name, *args):
    return host(name).check_output("birdc -r " + " ".join(args))


def protocols(name):
    return kos_bird.parse_protocols(birdc(name, "show", "protocols"))


def kernel_routes(name):
    """{prefix: sorted next-hop addresses} of the routes BIRD put in the kernel of host name."""
    routes = json.loads(host(name).check_output("ip -4 -j route show proto bird"))
    result = {}
    for route in routes:
        prefix = route["dst"] if "/" in route["dst"] else (
            route["dst"] + "/32" if route["dst"] != "default" else "0.0.0.0/0")
        hops = [hop["gateway"] for hop in route.get("nexthops", [])] or [route.get("gateway")]
        result[prefix] = sorted(hops)
    return result


def established(name, expected):
    state = protocols(name)
    return all(state.get(p, {}).get("info", "").startswith("Established") for p in expected)


def router_sessions(router):
    plan = PLANS[router]
    return [p["protocol"] for p in plan["peers"]] + [u["protocol"] for u in plan["upstream"]]


def all_established():
    return all(established(r, router_sessions(r)) for r in ROUTERS)


# The client's probes: one python3 run inside the client container per batch (stdlib only).
CLIENT_TOOL = r'''
import json, socket, ssl, struct, sys
def recvall(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise OSError("connection closed")
        data += chunk
    return data
def http(ip, port):
    s = socket.create_connection((ip, port), timeout=2)
    s.sendall(b"GET / HTTP/1.0\r\nHost: kos\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.split(b"\r\n\r\n", 1)[1].decode().strip()
def https(ip, port, path):
    # Like curl -k: the client does not hold the test CA (the control planes' own check verifies it).
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    s = context.wrap_socket(socket.create_connection((ip, port), timeout=2), server_hostname=ip)
    s.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (path, ip)).encode())
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    head, body = data.split(b"\r\n\r\n", 1)
    return "%s %s" % (head.split(b" ")[1].decode(), body.decode().strip())
def dns(ip, name, tcp):
    query = struct.pack(">HHHHHH", 0x4b05, 0x0100, 1, 0, 0, 0)
    query += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    if tcp:
        s = socket.create_connection((ip, 53), timeout=2)
        s.sendall(struct.pack(">H", len(query)) + query)
        reply = recvall(s, struct.unpack(">H", recvall(s, 2))[0])
        s.close()
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2)
        s.sendto(query, (ip, 53))
        reply = s.recv(4096)
    answers = struct.unpack(">H", reply[6:8])[0]
    return {"rcode": reply[3] & 15, "answers": answers, "address": socket.inet_ntoa(reply[-4:]) if answers else None}
results = []
for op in json.loads(sys.argv[1]):
    try:
        if op[0] == "http":
            results.append(http(op[1], op[2]))
        elif op[0] == "https":
            results.append(https(op[1], op[2], op[3]))
        else:
            results.append(dns(op[1], op[2], op[0] == "dns_tcp"))
    except Exception as exc:
        results.append("error: %s" % exc)
print(json.dumps(results))
'''


def client(*ops):
    """Run probes from the client: ("http", ip, port) -> body; ("https", ip, port, path) -> "status body";
    ("dns_udp"|"dns_tcp", ip, name) -> dict."""
    done = subprocess.run(["docker", "exec", CLIENT, "python3", "-c", CLIENT_TOOL, json.dumps(list(ops))],
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout)


def http_many(ip, count):
    return client(*[("http", ip, 8080)] * count)


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
    assert wait_for(all_established, 60), "sessions not Established within 60 s: %s" % {
        r: protocols(r) for r in ROUTERS}
