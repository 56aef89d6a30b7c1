"""The API VIP live on the lab (issue 10 item 4): the three control planes announce it to the lab's
routers (kos-lab-tor1/tor2) while their /readyz answers, and a failing one is withdrawn alone.

kube-apiserver cannot run in the lab (no binaries), so /readyz is the api_endpoint role's API SERVER
STAND-IN (api_endpoint_readyz_standin in inventories/lab): a TLS server on 6443 with a certificate the
pki role issues from the lab's Kubernetes CA, which the VIP's health check verifies. Every wait is
bounded; HTTPS goes to the VIP only while a route to a lab control plane holds it. The lab is left as
converged: the stopped stand-in is started again (test_lab.py's changed=0 run came before this file).
"""

import json
import os
import re
import time

import yaml
from lab_helpers import TOP, run

with open(os.path.join(TOP, "inventories", "lab", "group_vars", "all", "cluster.yml"), encoding="utf-8") as _f:
    _CLUSTER = yaml.safe_load(_f)
with open(os.path.join(TOP, "inventories", "lab", "hosts.yml"), encoding="utf-8") as _f:
    _GROUPS = yaml.safe_load(_f)["all"]["children"]
VIP = _CLUSTER["cluster_api_vip"]
PREFIX = VIP + "/32"
PORT = _CLUSTER.get("cluster_api_port", 6443)
CONTROL_PLANES = {name: values["node_ip"] for name, values in _GROUPS["kube_control_plane"]["hosts"].items()}
ROUTERS = sorted(_GROUPS["bgp_routers"]["hosts"])
VICTIM = "kos-lab-cp2"
STANDIN = "kos-apiserver-readyz-standin.service"
# Health checks 2 s apart, 2 failures to withdraw, BGP updates: seconds. Generous bound, not a timing claim.
BOUND = 60


def wait_for(check, timeout=BOUND, interval=0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def docker(host, *argv):
    proc = run("docker", "exec", host, *argv)
    assert proc.returncode == 0, "%s: %s failed: %s" % (host, " ".join(argv), proc.stderr)
    return proc.stdout


def learned_from(router):
    """The control planes whose VIP session's route for the VIP is in the router's BIRD table."""
    protocols = set(re.findall(r"\[(kos_api_\w+)", docker(router, "birdc", "-r", "show", "route", PREFIX)))
    return sorted(cp for cp in CONTROL_PLANES if "kos_api_" + cp.replace("-", "_") in protocols)


def kernel_next_hops(router):
    routes = json.loads(docker(router, "ip", "-4", "-j", "route", "show", PREFIX, "proto", "bird") or "[]")
    if not routes:
        return []
    return sorted(hop["gateway"] for hop in routes[0].get("nexthops", [])) or [routes[0]["gateway"]]


def everywhere(control_planes):
    return all(learned_from(r) == sorted(control_planes) and
               kernel_next_hops(r) == sorted(CONTROL_PLANES[cp] for cp in control_planes) for r in ROUTERS)


# HTTPS from a router to the VIP, verified against the lab's Kubernetes CA with the VIP as the name.
_PROBE = r'''
import ssl, socket, sys
ip, port, cadata = sys.argv[1], int(sys.argv[2]), sys.stdin.read()
context = ssl.create_default_context(cadata=cadata)
with socket.create_connection((ip, port), timeout=5) as raw:
    with context.wrap_socket(raw, server_hostname=ip) as s:
        s.sendall(("GET /readyz HTTP/1.0\r\nHost: %s\r\n\r\n" % ip).encode())
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
head, body = data.split(b"\r\n\r\n", 1)
print(head.split(b" ")[1].decode(), body.decode())
'''


def readyz_through_vip(router):
    assert kernel_next_hops(router), "no route to the VIP on %s: no probe sent" % router
    with open(os.path.join(TOP, ".lab", "pki", "kubernetes", "ca.crt"), encoding="utf-8") as handle:
        ca = handle.read()
    proc = run("docker", "exec", "-i", router, "python3", "-c", _PROBE, VIP, str(PORT), input=ca)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_summary_shows_the_vip_and_the_control_planes_announcing_it(lab_up):
    out = lab_up.stdout
    summary = out[out.index("kos.platform lab summary"):]
    assert "API endpoint: bgp_vip, VIP %s (https://%s:%d)" % (PREFIX, VIP, PORT) in summary, summary
    for router in ROUTERS:
        assert re.search(r"^  %s +VIP learned from %s$" % (router, " ".join(sorted(CONTROL_PLANES))),
                         summary, re.M), summary


def test_every_control_plane_announces_the_vip_to_both_routers(lab_up):
    assert wait_for(lambda: everywhere(CONTROL_PLANES)), {r: (learned_from(r), kernel_next_hops(r)) for r in ROUTERS}
    for router in ROUTERS:
        assert readyz_through_vip(router) == "200 ok"


def test_a_failed_readyz_withdraws_the_vip_from_that_control_plane_only(lab_up):
    assert wait_for(lambda: everywhere(CONTROL_PLANES)), {r: learned_from(r) for r in ROUTERS}
    others = [cp for cp in CONTROL_PLANES if cp != VICTIM]
    try:
        docker(VICTIM, "systemctl", "stop", STANDIN)
        assert wait_for(lambda: everywhere(others)), {r: (learned_from(r), kernel_next_hops(r)) for r in ROUTERS}
        for router in ROUTERS:
            # Only the announcement goes: the victim's VIP session stays Established.
            state = docker(router, "birdc", "-r", "show", "protocols", "kos_api_" + VICTIM.replace("-", "_"))
            assert "Established" in state, state
            # The VIP keeps answering through the others.
            assert readyz_through_vip(router) == "200 ok"
        log = docker(VICTIM, "journalctl", "-t", "kos-api-vip", "--no-pager", "-n", "20")
        assert "withdrawing %s" % PREFIX in log, log
    finally:
        docker(VICTIM, "systemctl", "start", STANDIN)
    # Restored: announced again by all three, and the lab is as site.yml left it.
    assert wait_for(lambda: everywhere(CONTROL_PLANES)), {r: learned_from(r) for r in ROUTERS}
    assert docker(VICTIM, "systemctl", "is-active", STANDIN).strip() == "active"
