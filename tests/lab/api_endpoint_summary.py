"""The API endpoint part of the `make lab` summary: the mode, the VIP, and on each router which
control planes it learned the VIP from right now (BIRD's table: the ones whose /readyz answers).
Usage: api_endpoint_summary.py INVENTORY"""

import importlib.util
import json
import os
import re
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _endpoint_module():
    path = os.path.join(TOP, "plugins", "module_utils", "kos_api_endpoint.py")
    spec = importlib.util.spec_from_file_location("kos_api_endpoint", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _members(inventory, group):
    entry = inventory.get(group) or {}
    hosts = list(entry.get("hosts") or [])
    for child in entry.get("children") or []:
        hosts += [h for h in _members(inventory, child) if h not in hosts]
    return hosts


def _learned_from(router, prefix, control_planes):
    """The control planes whose VIP session's route for prefix is in the router's BIRD table."""
    done = subprocess.run(["docker", "exec", router, "birdc", "-r", "show", "route", prefix],
                          capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        return None, (done.stderr or done.stdout).strip().splitlines()[-1:] or ["birdc failed"]
    protocols = set(re.findall(r"\[(kos_api_\w+)", done.stdout))
    return [cp for cp in control_planes if "kos_api_" + re.sub(r"[^A-Za-z0-9_]", "_", cp) in protocols], None


def main(inventory_path):
    done = subprocess.run(["ansible-inventory", "-i", inventory_path, "--list"], capture_output=True, text=True,
                          timeout=120, check=False)
    if done.returncode != 0:
        print("API endpoint: unknown (ansible-inventory failed: %s)" % done.stderr.strip()[-300:])
        return 1
    inventory = json.loads(done.stdout)
    control_planes = _members(inventory, "kube_control_plane")
    hostvars = inventory.get("_meta", {}).get("hostvars", {}).get(control_planes[0] if control_planes else "", {})
    cluster = {k[len("cluster_"):]: v for k, v in hostvars.items() if k.startswith("cluster_")}
    mode = _endpoint_module().mode(cluster)
    port = cluster.get("api_port") or 6443
    if mode == "local_proxy":
        print("API endpoint: local_proxy (HAProxy on 127.0.0.1:%s of every Kubernetes host)"
              % (cluster.get("api_local_proxy_port") or 6444))
        return 0
    if mode != "bgp_vip":
        print("API endpoint: %s at %s" % (mode, cluster.get("api_endpoint") or "(not set)"))
        return 0
    vip = cluster["api_vip"]
    prefix = "%s/%d" % (vip, 128 if ":" in vip else 32)
    print("API endpoint: bgp_vip, VIP %s (https://%s:%s), announced by every control plane whose /readyz answers:"
          % (prefix, vip, port))
    for router in sorted(_members(inventory, "bgp_routers")):
        announcing, problem = _learned_from(router, prefix, control_planes)
        if problem:
            print("  %-20s VIP unknown (%s)" % (router, problem[0]))
        else:
            print("  %-20s VIP learned from %s" % (router, " ".join(announcing) or "no control plane"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
