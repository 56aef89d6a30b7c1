"""Fixtures for the tests against the test cloud (started by run.sh through cloud.sh).

Playbooks run as subprocesses with the JSON callback, so tests read each task's result and the
play's stats. Nothing here connects to the fake servers: the test cloud never runs them.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
INVENTORY = os.path.join(HERE, "inventory")
CLUSTER = "kos-itest"
TAG = "kos-cluster=" + CLUSTER


def clouds_yaml():
    return subprocess.run([os.path.join(HERE, "cloud.sh"), "clouds-yaml"], check=True, capture_output=True,
                          text=True).stdout.strip()


class PlaybookResult:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        # The JSON document starts on a line of its own (profile_tasks may print around it).
        start = 0 if proc.stdout.startswith("{") else proc.stdout.find("\n{") + 1
        try:
            self.data = json.JSONDecoder().raw_decode(proc.stdout[start:])[0] if start >= 0 else {}
        except json.JSONDecodeError:
            self.data = {}
        self.stats = self.data.get("stats", {}).get("localhost", {})

    @property
    def changed(self):
        return self.stats.get("changed", -1)

    def results(self, name_part):
        """The localhost results of every task whose name contains name_part."""
        out = []
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                if name_part in task["task"]["name"]:
                    out.append(task["hosts"].get("localhost", {}))
        return out

    def failure_messages(self):
        """Every failed task's message, on any host (localhost's plain, another host's prefixed with its name:
        deliver.yml runs one host per target cloud)."""
        msgs = []
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                for host, res in task["hosts"].items():
                    if res.get("failed") or res.get("unreachable"):
                        msg = res.get("msg", "")
                        msgs.append(msg if host == "localhost" else "%s: %s" % (host, msg))
        return " | ".join(str(m) for m in msgs)

    def __repr__(self):
        return "rc=%s stats=%s failures=%s stderr=%s" % (self.rc, self.stats, self.failure_messages(),
                                                          self.stderr[-2000:])


STANDIN = os.path.join(TOP, "tests", "integration", "images", "artifactory_standin.py")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def artifactory_standin(root, user, password):
    """The Artifactory stand-in on a free loopback port (its URL), files under root; stopped by its PID,
    pass or fail."""
    port = free_port()
    log = open(root / "standin.log", "w")
    proc = subprocess.Popen([sys.executable, STANDIN, "--port", str(port), "--root", str(root / "data"),
                             "--user", user, "--password", password], stdout=log, stderr=subprocess.STDOUT)
    url = "http://127.0.0.1:%d" % port
    try:
        for _attempt in range(50):
            try:
                urllib.request.urlopen(url + "/api/system/ping", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("the Artifactory stand-in did not answer on %s" % url)
        yield url
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(10)
        log.close()


@pytest.fixture(scope="session")
def cloud_config(tmp_path_factory):
    path = clouds_yaml()
    with open(path) as fh:
        clouds = yaml.safe_load(fh)
    # The cloud inventory reads every cloud of its clouds.yaml: give it the demo project only.
    demo_only = tmp_path_factory.mktemp("clouds") / "clouds.yaml"
    demo_only.write_text(yaml.safe_dump({"clouds": {"kos-demo": clouds["clouds"]["kos-demo"]}}))
    return {"all": path, "demo_only": str(demo_only)}


@pytest.fixture(scope="session")
def public_key(tmp_path_factory):
    key = tmp_path_factory.mktemp("ssh") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return (key.parent / "id_ed25519.pub").read_text().strip()


def connect(path, cloud):
    import openstack
    from openstack.config import loader

    config = loader.OpenStackConfig(config_files=[path])
    return openstack.connection.Connection(config=config.get_one(cloud=cloud))


@pytest.fixture(scope="session")
def conn(cloud_config):
    return connect(cloud_config["all"], "kos-demo")


@pytest.fixture(scope="session")
def admin(cloud_config):
    return connect(cloud_config["all"], "kos-admin")


@pytest.fixture(scope="session")
def run_playbook(cloud_config, public_key):
    def run(playbook, extra=None, check=False, inventory=INVENTORY):
        env = dict(os.environ)
        env.update(ANSIBLE_CONFIG=os.path.join(TOP, "ansible.cfg"), OS_CLIENT_CONFIG_FILE=cloud_config["all"],
                   ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
                   ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, ".collections"))
        env.pop("OS_CLOUD", None)
        variables = {"openstack_infra_keypair": {"public_key": public_key}}
        variables.update(extra or {})
        cmd = ["ansible-playbook", "-i", inventory, os.path.join(TOP, "playbooks", playbook),
               "-e", json.dumps(variables)]
        if check:
            cmd.append("--check")
        proc = subprocess.run(cmd, cwd=TOP, env=env, capture_output=True, text=True, timeout=900)
        return PlaybookResult(proc)

    return run


def cluster_resources(conn):
    """Everything in the demo project that belongs to the test cluster, as sorted name lists."""
    return {
        "servers": sorted(s.name for s in conn.compute.servers(details=True)
                          if (s.metadata or {}).get("kos_cluster") == CLUSTER),
        "volumes": sorted(v.name for v in conn.block_storage.volumes(details=True)
                          if (v.metadata or {}).get("kos_cluster") == CLUSTER),
        "networks": sorted(n.name for n in conn.network.networks(tags=TAG)),
        "subnets": sorted(n.name for n in conn.network.subnets(tags=TAG)),
        "routers": sorted(n.name for n in conn.network.routers(tags=TAG)),
        "ports": sorted(n.name for n in conn.network.ports(tags=TAG)),
        "security_groups": sorted(n.name for n in conn.network.security_groups(tags=TAG)),
        "floating_ips": sorted(n.floating_ip_address for n in conn.network.ips(tags=TAG)),
        "server_groups": sorted(g.name for g in conn.compute.server_groups() if g.name.startswith(CLUSTER + "-")),
        "keypairs": sorted(k.name for k in conn.compute.keypairs() if k.name.startswith(CLUSTER + "-")),
    }


def nothing_left(conn):
    return {k: v for k, v in cluster_resources(conn).items() if v}
