"""Drift on a converged lab host is found and repaired, even though unchanged layers are skipped.

site.yml skips a layer whose gate (plugins/action/layer_state.py) finds the host as the layer's last
converge left it. This guards that fast path against skipping real drift: on one host, a managed
file is edited (host_base: chrony's configuration), a managed service is stopped (container_runtime:
containerd) and a certificate is removed (pki: the etcd health-check client's). The next site.yml
run must repair exactly those, report changed for their repairs only and only on that host, and
the run after it must change nothing.
"""

import re

from lab_helpers import LAB_HOSTS, failures, recap, run, site

HOST = "kos-lab-cp2"
CHRONY_CONF = "/etc/chrony/chrony.conf"
CERT = "/etc/kubernetes/pki/etcd/healthcheck-client.crt"
# The layer that owns each drift, and the task (or handler) of that layer that may repair it.
DRIFT_LAYERS = ["kos.platform.host_base", "kos.platform.container_runtime", "kos.platform.pki"]
REPAIRS = {
    "kos.platform.host_base : Configure chrony",
    "kos.platform.pki : Put each changed key and certificate in place together",
}
# The service task that restarts chrony after its configuration was repaired.
ALLOWED = REPAIRS | {"kos.platform.host_base : Run chrony"}


def changed_tasks(output):
    """{host: {task name}} of every task and handler that reported changed."""
    found, task = {}, None
    for line in output.splitlines():
        header = re.match(r"^(?:TASK|RUNNING HANDLER) \[(.*)\] \**\s*$", line)
        if header:
            task = header.group(1)
            continue
        result = re.match(r"^changed: \[([^\]]+)\]", line)
        if result and task:
            found.setdefault(result.group(1).split(" -> ")[0], set()).add(task)
    return found


def host(*argv):
    return run("docker", "exec", HOST, *argv)


def test_drift_is_repaired_and_reported_on_its_host_only(lab_up):
    assert lab_up.returncode == 0, failures(lab_up.stdout + lab_up.stderr) + "\n...\n" + lab_up.stdout[-2000:]
    cert = host("cat", CERT)
    assert cert.returncode == 0 and "BEGIN CERTIFICATE" in cert.stdout, cert.stderr
    chrony = host("cat", CHRONY_CONF).stdout
    assert chrony, "%s is missing on %s" % (CHRONY_CONF, HOST)

    # The drift: an edited file, a stopped service, a removed certificate.
    assert host("sh", "-c", "echo '# drift' >> %s" % CHRONY_CONF).returncode == 0
    assert host("systemctl", "stop", "containerd").returncode == 0
    assert host("rm", "-f", CERT).returncode == 0
    assert host("systemctl", "is-active", "containerd").stdout.strip() != "active"

    repair = site()
    assert repair.returncode == 0, failures(repair.stdout + repair.stderr) + "\n...\n" + repair.stdout[-2000:]
    stats = recap(repair.stdout)
    assert sorted(stats) == LAB_HOSTS
    changed = changed_tasks(repair.stdout)
    assert set(changed) == {HOST}, "changed on other hosts than %s: %s" % (HOST, changed)
    tasks = changed[HOST]
    detail = "changed on %s: %s\n%s" % (HOST, sorted(tasks), repair.stdout[-6000:])
    # Each drifted layer ran and repaired its drift; no other layer changed anything.
    assert {t.split(" : ")[0] for t in tasks} == set(DRIFT_LAYERS), detail
    assert REPAIRS <= tasks, detail
    runtime = {t for t in tasks if t.startswith("kos.platform.container_runtime : ")}
    assert len(runtime) == 1 and "containerd" in runtime.pop().lower(), detail
    assert {t for t in tasks if not t.startswith("kos.platform.container_runtime : ")} <= ALLOWED, detail
    assert [h for h, s in stats.items() if s["changed"]] == [HOST]

    # Repaired: the file as the role writes it, the service running, the same certificate back.
    assert host("cat", CHRONY_CONF).stdout == chrony
    assert host("systemctl", "is-active", "containerd").stdout.strip() == "active"
    assert host("cat", CERT).stdout == cert.stdout

    again = site()
    assert again.returncode == 0, failures(again.stdout + again.stderr) + "\n...\n" + again.stdout[-2000:]
    assert {h: s["changed"] for h, s in recap(again.stdout).items() if s["changed"]} == {}, again.stdout[-6000:]
