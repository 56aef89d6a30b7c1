"""Reset: after playbooks/reset.yml the host has exactly the units, packages, accounts, groups, host name,
fstab swap lines and files under /etc /var/lib /opt /usr/local that it had before the host layers were converged, no
platform process runs, and the etcd data was archived to the controller first.

The listing before is taken by prepare.yml (list_host.sh, on the fresh host); the refusals without
or with a wrong reset_confirm are checked there too, while the platform runs."""

import os
import pathlib
import subprocess
import tarfile

testinfra_hosts = ["ansible://reset-host"]
HERE = pathlib.Path(__file__).resolve().parent.parent
PLATFORM_PROCESSES = {"etcd", "containerd", "containerd-shim", "chronyd", "bird", "kubelet", "dockerd"}


def sections(text):
    out, current = {}, None
    for line in text.splitlines():
        if line.startswith("## "):
            current = line[3:]
            out[current] = set()
        elif current and line.strip():
            out[current].add(line.strip())
    return out


def listing_before(host):
    path = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / f"before-{host.backend.host}.txt"
    assert path.is_file(), f"{path} missing: prepare.yml lists the host before the host layers"
    return sections(path.read_text())


def listing_now(host):
    script = (HERE / "list_host.sh").read_text()
    result = host.run(script)
    assert result.rc == 0, result.stderr
    return sections(result.stdout)


def test_units_packages_accounts_and_files_are_as_before(host):
    before, now = listing_before(host), listing_now(host)
    assert "hostname fresh-image-7" in before["os"] and "fstab /swapfile none swap sw 0 0" in before["os"]
    for part in ("units", "packages", "users", "groups", "files", "os"):
        assert now[part] - before[part] == set(), f"{part} left by the platform"
        assert before[part] - now[part] == set(), f"{part} of the fresh image removed by the reset"


def test_no_platform_process_runs(host):
    running = set(host.run("ps -eo comm=").stdout.split())
    assert running & PLATFORM_PROCESSES == set()


def test_the_etcd_data_was_archived_to_the_controller_first(host):
    backups = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "reset-backups" / host.backend.host
    archives = sorted(backups.glob("kos-reset-etcd-*.tar.gz"))
    assert len(archives) == 1, f"expected one etcd archive in {backups}, found {archives}"
    with tarfile.open(archives[0]) as tar:
        members = [m for m in tar.getmembers() if m.isfile() and "/member/" in m.name]
        assert any(m.name.endswith("member/snap/db") for m in members), "no etcd database in the archive"
        data = b"".join(tar.extractfile(m).read() for m in members)
    assert b"/reset/kept-in-backup" in data, "the key written before the reset is not in the archive"


def test_no_archive_is_left_on_the_host(host):
    assert host.run("ls /var/tmp/kos-reset-* 2>/dev/null").stdout.strip() == ""


def test_the_playbook_refuses_without_confirmation():
    """The command an operator types, without reset_confirm: refused before any host is touched."""
    top = HERE.parents[3]
    env = dict(os.environ)
    env.pop("ANSIBLE_VERBOSITY", None)
    result = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(top / "playbooks" / "reset.yml"),
         "-e", "reset_confirm="],
        capture_output=True, text=True, env=env, cwd=top, check=False, timeout=300,
    )
    assert result.returncode != 0
    # ansible-core prints a failed task's message on stderr; YAML's line wrapping undone.
    out = " ".join((result.stdout + result.stderr).split())
    assert "reset refuses to run" in out
    assert "-e reset_confirm=molecule-reset" in out
