"""host_base on lab hosts: what the role promises, read back from the hosts."""

import pytest

testinfra_hosts = ["ansible://all"]


@pytest.mark.parametrize("package", ["conntrack", "ipset", "iptables", "socat", "chrony"])
def test_prerequisites_installed(host, package):
    assert host.package(package).is_installed


def test_chrony_runs_without_sources(host):
    service = host.service("chrony")
    assert service.is_running
    assert service.is_enabled
    conf = host.file("/etc/chrony/chrony.conf").content_string
    assert "pool " not in conf and "server " not in conf


def test_apt_fetches_no_translated_descriptions(host):
    # host_base_apt_translations: false (default): the setting is in place before the package lists
    # were refreshed, so no Translation file was fetched.
    conf = host.file("/etc/apt/apt.conf.d/90kos-no-translations")
    assert conf.content_string == 'Acquire::Languages "none";\n'
    assert conf.mode == 0o644
    assert host.run("apt-config dump Acquire::Languages").stdout.strip().endswith('"none";')
    lists = host.run("ls /var/lib/apt/lists").stdout.split()
    assert any(name.endswith("_Packages") for name in lists), lists
    assert not any("Translation" in name for name in lists), lists


@pytest.mark.parametrize("name,value", [
    ("net.ipv4.ip_forward", 1),
    ("net.ipv4.conf.all.rp_filter", 1),
    ("net.ipv4.conf.default.rp_filter", 1),
])
def test_net_sysctls_live_and_persisted(host, name, value):
    assert host.sysctl(name) == value
    assert f"{name}={value}" in host.file("/etc/sysctl.d/90-kos-net.conf").content_string


def test_kernel_wide_settings_left_alone(host):
    # host_base_kernel_settings is false in molecule: nothing may reach the shared kernel.
    assert not host.file("/etc/sysctl.d/91-kos-kernel.conf").exists
    modules = host.file("/etc/modules-load.d/kos.conf").content_string.split()
    assert modules == ["overlay", "br_netfilter"]


def test_etc_hosts_holds_the_hosts_own_name_only(host):
    # host_base_etc_hosts_scope: host (default): adding a node must not change the other hosts' files.
    own = {"host-base-node": "198.18.1.11 host-base-node", "host-base-worker": "198.18.1.12 host-base-worker"}
    hosts = host.file("/etc/hosts").content_string
    block = hosts.split("# BEGIN kos.platform cluster hosts", 1)[1].split("# END kos.platform cluster hosts", 1)[0]
    name = host.backend.get_hostname()
    assert block.split("\n")[1:-1] == [own[name]]


def test_hostname_is_the_node_name(host):
    # The containers started as fresh-image-N (molecule.yml): only the role can have renamed them.
    name = host.backend.get_hostname()
    assert host.check_output("hostname") == name
    assert host.file("/etc/hostname").content_string.strip() == name


def test_swap_lines_commented_out(host):
    # prepare.yml put an active swap line into /etc/fstab; the role must have turned it into a comment
    # (and left the line that was already a comment alone). Swap itself is never on in a container.
    lines = host.file("/etc/fstab").content_string.splitlines()
    assert "# /swap.img none swap sw 0 0  # disabled by kos.platform (kubelet)" in lines
    assert "#/old-swap none swap sw 0 0" in lines
    for line in lines:
        fields = line.split()
        assert not (fields and not fields[0].startswith("#") and len(fields) > 2 and fields[2] == "swap"), line


def test_time_sync_daemon_answers(host):
    # chrony runs and answers on its command socket; with no sources (no NTP traffic from tests) it
    # cannot synchronise, which is what it must report rather than a fake source.
    out = host.check_output("chronyc -n sources")
    assert "Number of sources = 0" in out or out.strip().splitlines()[0].startswith("MS")
