"""The api_endpoint role's files, rendered from the model and checked by the daemons' own parsers.

BIRD 2 (`bird -p`) parses the VIP speaker's configuration and the router's bird.conf with the VIP
sessions included; HAProxy (`haproxy -c`) checks the local proxy's configuration. The live
announce/withdraw behaviour is the role's molecule scenario (roles/api_endpoint/molecule/default).
"""

import copy
import shutil
import subprocess

import pytest

from ansible_collections.kos.platform.plugins.module_utils import kos_bird, kos_model
from ansible_collections.kos.platform.tests.unit.plugins.module_utils.test_kos_model import good_input
from ansible_collections.kos.platform.tests.unit.roles.render import render

VIP = "198.51.100.200"


def model(**cluster):
    data = copy.deepcopy(good_input())
    data["cluster"].update(cluster)
    return kos_model.derive(data)


def need(binary, package):
    if not shutil.which(binary):
        pytest.fail("%s is not installed: apt-get install %s (.ci/run installs it)" % (binary, package))


def parse_with_bird(path):
    need("bird", "bird2")
    return subprocess.run(["bird", "-p", "-c", str(path)], capture_output=True, text=True, check=False)


def speaker(host="cp1", **variables):
    return render("api_endpoint", "speaker-bird.conf.j2",
                  dict(variables, kos_cluster=model(api_vip=VIP), inventory_hostname=host))


def test_speaker_announces_only_the_vip_on_its_own_port(tmp_path):
    text = speaker()
    assert "protocol static kos_api_vip {\n  disabled;\n  ipv4;\n  route 198.51.100.200/32 blackhole;" in text
    assert "local 192.0.2.11 port 1179 as 64512;" in text
    assert "neighbor 192.0.2.1 port 1179 as 65000;" in text
    assert "port 179 " not in text
    assert text.count("protocol bgp kos_api_") == 1
    path = tmp_path / "speaker.conf"
    path.write_text(text)
    done = parse_with_bird(path)
    assert done.returncode == 0, done.stderr


def test_speaker_password_is_rendered(tmp_path):
    text = speaker(api_endpoint_bgp_password="s3cret")
    assert 'password "s3cret";' in text
    path = tmp_path / "speaker.conf"
    path.write_text(text)
    assert parse_with_bird(path).returncode == 0


def test_router_accepts_the_vip_from_every_control_plane_in_its_bird_conf(tmp_path):
    cluster = model(api_vip=VIP)
    fragment = render("api_endpoint", "router-api-vip.conf.j2", {"kos_cluster": cluster, "inventory_hostname": "tor1"})
    assert fragment.count("protocol bgp kos_api_") == 3
    assert "if net = 198.51.100.200/32 then accept;" in fragment
    assert "local 192.0.2.1 port 1179 as 65000;\n  neighbor 192.0.2.12 port 1179 as 64512;" in fragment
    include_dir = tmp_path / "kos.d"
    include_dir.mkdir()
    (include_dir / "kos-api-vip.conf").write_text(fragment)
    plan = kos_bird.router_plan(cluster, "tor1", None)
    main = render("bgp_router", "bird.conf.j2", {"__bgp_router_plan": plan, "inventory_hostname": "tor1",
                                                 "__bgp_router_include_dir": str(include_dir)})
    main = main.replace("/etc/bird/kos[.]d", str(include_dir))
    assert 'include "%s/*.conf";' % include_dir in main
    config = tmp_path / "bird.conf"
    config.write_text(main)
    done = parse_with_bird(config)
    assert done.returncode == 0, done.stderr
    # The fragment really is read: a broken one fails the router's parse.
    (include_dir / "kos-api-vip.conf").write_text(fragment.replace("reject;", "reject"))
    assert parse_with_bird(config).returncode != 0


def test_health_check_verifies_tls_and_withdraws_on_failure():
    script = render("api_endpoint", "kos-api-vip-check.sh.j2",
                    {"kos_cluster": model(api_vip=VIP), "inventory_hostname": "cp1"})
    assert "URL='https://127.0.0.1:6443/readyz'" in script
    assert "--cacert '/etc/kubernetes/pki/ca.crt'" in script and "--insecure" not in script and " -k " not in script
    assert 'birdc -s "$SOCKET" enable kos_api_vip' in script and 'birdc -s "$SOCKET" disable kos_api_vip' in script
    need("sh", "dash")
    assert subprocess.run(["sh", "-n"], input=script, text=True, check=False).returncode == 0
    unit = render("api_endpoint", "kos-api-vip-check.service.j2", {"kos_cluster": model(api_vip=VIP)})
    assert "ExecStopPost=-/usr/sbin/birdc -s /run/kos-api-vip/bird.ctl disable kos_api_vip" in unit


def test_local_proxy_balances_over_every_api_server(tmp_path):
    cluster = model()
    text = render("api_endpoint", "haproxy.cfg.j2", {"kos_cluster": cluster, "inventory_hostname": "node1"})
    assert "bind 127.0.0.1:6444" in text
    for name, ip in (("cp1", "192.0.2.11"), ("cp2", "192.0.2.12"), ("cp3", "192.0.2.13")):
        assert "server %s %s:6443" % (name, ip) in text
    assert "option httpchk GET /readyz" in text
    need("haproxy", "haproxy")
    path = tmp_path / "haproxy.cfg"
    path.write_text(text.replace("  user haproxy\n  group haproxy\n", ""))
    done = subprocess.run(["haproxy", "-c", "-f", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    path.write_text(text.replace("balance leastconn", "balance fastest"))
    assert subprocess.run(["haproxy", "-c", "-f", str(path)], capture_output=True, check=False).returncode != 0
