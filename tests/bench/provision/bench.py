"""Provisioning benchmark: parallel (kos.platform.openstack_infra) vs a serial openstack.cloud.server loop.

Usage: bench.py CLOUDS_YAML. Creates and deletes its own resources in the test cloud's demo
project; prints wall-clock times and their ratios (measured in this run, never asserted).
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import openstack
import yaml
from openstack.config import loader

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
CLOUD, IMAGE, FLAVOR = "kos-demo", "kos-tiny", "kos.tiny"


def connect(path):
    return openstack.connection.Connection(config=loader.OpenStackConfig(config_files=[path]).get_one(cloud=CLOUD))


def playbook(clouds, path, inventory, variables, check=True):
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=clouds, ANSIBLE_CONFIG=os.path.join(TOP, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, ".collections"))
    env.pop("OS_CLOUD", None)
    start = time.monotonic()
    proc = subprocess.run(["ansible-playbook", "-i", inventory, path, "-e", json.dumps(variables)], env=env,
                          cwd=TOP, capture_output=True, text=True)
    took = time.monotonic() - start
    if check and proc.returncode != 0:
        sys.exit("%s failed:\n%s\n%s" % (path, proc.stdout[-4000:], proc.stderr[-2000:]))
    return took


def cluster_inventory(tmp, name, count):
    path = os.path.join(tmp, name + ".yml")
    hosts = {"%s-n%02d" % (name, i): None for i in range(1, count + 1)}
    with open(path, "w") as fh:
        yaml.safe_dump({"all": {"children": {"kube_node": {"hosts": hosts}}, "vars": {
            "cluster_name": name, "cluster_node_cidr": "192.0.2.0/24", "cluster_pod_cidr": "10.244.0.0/16",
            "cluster_service_cidr": "10.96.0.0/16", "openstack_infra_cloud": CLOUD,
            "openstack_infra_images": {"default": IMAGE}, "openstack_infra_flavors": {"default": FLAVOR},
            "openstack_infra_server_group_policies": {"default": "soft-anti-affinity"},
            "openstack_infra_network": {"router": False}, "openstack_infra_etcd_volume": {"size": 0}}}}, fh)
    return path


def main():
    clouds = sys.argv[1]
    conn = connect(clouds)
    tmp = tempfile.mkdtemp(prefix="kos-bench-")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(tmp, "key")], check=True)
    with open(os.path.join(tmp, "key.pub")) as fh:
        keypair = {"openstack_infra_keypair": {"public_key": fh.read().strip()}}
    provision = os.path.join(TOP, "playbooks", "provision.yml")
    teardown = os.path.join(TOP, "playbooks", "teardown.yml")
    times = {}
    inventories = {n: cluster_inventory(tmp, "kos-bench%d" % n, n) for n in (3, 30)}
    serial_names = ["kos-bench-serial-%02d" % i for i in range(1, 31)]
    net = None
    try:
        for inv in inventories.values():  # leftovers of an interrupted run
            playbook(clouds, teardown, inv, keypair)
        for n, inv in inventories.items():
            times["parallel %d" % n] = playbook(clouds, provision, inv, keypair)
            print("parallel %2d servers (openstack_infra, network and ports included): %6.1f s"
                  % (n, times["parallel %d" % n]), flush=True)
            playbook(clouds, teardown, inv, keypair)
        # The serial baseline gets its network and keypair made beforehand (not timed).
        net = conn.network.create_network(name="kos-bench-serial-net")
        conn.network.create_subnet(network_id=net.id, ip_version=4, cidr="192.0.2.0/24", name="kos-bench-serial")
        public_key = keypair["openstack_infra_keypair"]["public_key"]
        conn.compute.create_keypair(name="kos-bench-serial", public_key=public_key)
        times["serial 30"] = playbook(clouds, os.path.join(HERE, "serial.yml"), "localhost,", {
            "bench_cloud": CLOUD, "bench_image": IMAGE, "bench_flavor": FLAVOR, "bench_network": net.name,
            "bench_keypair": "kos-bench-serial", "bench_names": serial_names})
        print("serial   30 servers (openstack.cloud.server loop, servers only):     %6.1f s" % times["serial 30"],
              flush=True)
    finally:
        for s in conn.compute.servers():
            if s.name in serial_names:
                conn.compute.delete_server(s)
        for s in conn.compute.servers():
            if s.name in serial_names:
                conn.compute.wait_for_delete(s, wait=600)
        if net is not None:
            ports = {p.id for p in conn.network.ports(network_id=net.id)}
            for ip in conn.network.ips():
                if ip.port_id in ports:  # openstack.cloud.server adds one when auto_ip is left on
                    conn.network.delete_ip(ip)
            for p in conn.network.ports(network_id=net.id):
                conn.network.delete_port(p)
            conn.network.delete_network(net)
        conn.compute.delete_keypair("kos-bench-serial", ignore_missing=True)
        for inv in inventories.values():
            playbook(clouds, teardown, inv, keypair, check=False)
    print("ratio serial 30 / parallel 30: %.2f" % (times["serial 30"] / times["parallel 30"]))
    print("ratio parallel 30 / parallel 3: %.2f (ten times the servers)" % (times["parallel 30"] / times["parallel 3"]))
    print("per server: parallel 30 %.2f s, serial 30 %.2f s" % (times["parallel 30"] / 30, times["serial 30"] / 30))


if __name__ == "__main__":
    main()
