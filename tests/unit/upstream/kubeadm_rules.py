"""kubeadm's own validation rules, ported from upstream Go to Python for rendered files and command lines.

Each rule names the upstream function it follows. Sources (kubernetes/kubernetes, the exact commits read
through the upstream index; no file of a v1.35+ release tag is stored there, so these are the newest
versions it holds, all of the v1beta4 API that kubeadm 1.35-1.37 read):
  cmd/kubeadm/app/apis/kubeadm/validation/validation.go @ 00d24de699fe4409b5829a5e51b73c1fc7bcba12 (the newest
      stored version: v1beta4 UpgradeConfiguration.{apply,node}.imagePullPolicy and ValidateCertValidity,
      1.32+): ValidateMixedArguments / isAllowedFlag, ValidateClusterConfiguration,
      ValidateInitConfiguration, ValidateJoinConfiguration, ValidateEtcd, ValidateNetworking,
      ValidateDiscovery, ValidateCertificateKey, ValidateNodeRegistrationOptions, ValidateExtraArgs
  cmd/kubeadm/app/constants/constants.go @ 00886ac01fec52a2bd3a35ef4b3c8e87b8bbb3b3 (release-1.32 line, the
      newest stored): MinimumAddressesInServiceSubnet (10), MinimumAddressesInPodSubnet (14),
      MaximumBitsForServiceSubnet (20), PodSubnetNodeMaskMaxDiff (16), CertificateKeySize (32)
  cmd/kubeadm/app/preflight/checks.go @ 66b0a0c17dff44e3ce1b2a2a95d8c1667e1277bf: ExternalEtcdVersionCheck, run by
      `kubeadm init` (RunInitNodeChecks) when etcd is external, fails below MinExternalEtcdVersion
      ("this version of kubeadm only supports external etcd version >= ..."); the minimum is
      MinExternalEtcdVersion "3.5.24-0" of constants.go @ 00886ac01fec (release-1.32 line, the newest stored;
      kubeadm 1.35-1.37 map their own releases to etcd 3.6, CHANGELOG-1.36.md @ v1.36.0 #135701)
  staging/src/k8s.io/cluster-bootstrap/token/api/types.go  BootstrapTokenPattern
Rules that are kos.platform's reading of kubeadm's design (not an upstream validation function) say so.
"""

import ipaddress
import re
from urllib.parse import urlsplit

VALIDATION_GO = ("kubernetes/kubernetes cmd/kubeadm/app/apis/kubeadm/validation/validation.go "
                 "@ 00d24de699fe4409b5829a5e51b73c1fc7bcba12")

# isAllowedFlag: the only flags kubeadm accepts next to --config ("can not mix '--config' with arguments"),
# besides any --skip-*: CfgPath, IgnorePreflightErrors, DryRun, KubeconfigPath, NodeName, KubeconfigDir,
# UploadCerts, "print-join-command", "rootfs", "v", "log-file", "yes" at 00d24de699fe.
ALLOWED_WITH_CONFIG = frozenset({
    "config", "ignore-preflight-errors", "dry-run", "kubeconfig", "node-name", "kubeconfig-dir",
    "upload-certs", "print-join-command", "rootfs", "v", "log-file", "yes"})

# The flags a `kubeadm init phase` subcommand defines at all (cobra refuses any other: "unknown flag"): its
# InheritFlags, besides the root command's --rootfs and klog's -v. getUploadConfigPhaseFlags in
# cmd/kubeadm/app/cmd/phases/init/uploadconfig.go @ 819ecd4dbe6afbaa4f6227d22b9c46938d48e603 and
# getControlPlanePhaseFlags("apiserver") in cmd/kubeadm/app/cmd/phases/init/controlplane.go
# @ cb6ff2d8ce3595f88570f82c7d0e6d98910afd3c; names from cmd/kubeadm/app/cmd/options/constant.go
# @ 2d58ef7868e6 (options.Patches was "experimental-patches" there, "patches" since kubeadm 1.22).
PHASE_FLAGS = {
    ("init", "phase", "upload-config", "kubeadm"): frozenset({"config", "kubeconfig"}),
    ("init", "phase", "control-plane", "apiserver"): frozenset({
        "config", "cert-dir", "kubernetes-version", "image-repository", "patches", "dry-run",
        "apiserver-advertise-address", "control-plane-endpoint", "apiserver-bind-port", "apiserver-extra-args",
        "feature-gates", "service-cidr"}),
}
ROOT_FLAGS = frozenset({"rootfs", "v"})

# cluster-bootstrap BootstrapTokenPattern; a certificate key is hex of CertificateKeySize (32) bytes.
TOKEN = re.compile(r"\A[a-z0-9]{6}\.[a-z0-9]{16}\Z")
CERTIFICATE_KEY_BYTES = 32
CA_CERT_HASH = re.compile(r"\Asha256:[0-9a-f]{64}\Z")
MIN_SERVICE_ADDRESSES, MIN_POD_ADDRESSES = 10, 14
MAX_SERVICE_HOST_BITS, POD_NODE_MASK_MAX_DIFF = 20, 16
DNS1123_SUBDOMAIN = re.compile(r"\A[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")

# constants.MinExternalEtcdVersion ("3.5.24-0", constants.go @ 00886ac01fec) checked by ExternalEtcdVersionCheck.
MIN_EXTERNAL_ETCD = (3, 5, 24)

# Flags that hold a secret: never on a command line (visible in ps and in Ansible's task output).
SECRET_FLAGS = frozenset({"certificate-key", "token", "discovery-token", "tls-bootstrap-token"})
SECRET_VALUE = re.compile(r"[a-z0-9]{6}\.[a-z0-9]{16}|\b[0-9a-fA-F]{64}\b")

# kube-apiserver flags whose value is one node's own (kubeadm fills them from InitConfiguration /
# JoinConfiguration.controlPlane localAPIEndpoint: cmd/kubeadm/app/phases/controlplane/manifests.go
# getAPIServerCommand sets advertise-address and secure-port from it). In ClusterConfiguration, which
# kubeadm stores in the kubeadm-config ConfigMap for every control plane, they would give every API
# server the first one's address.
PER_NODE_APISERVER_FLAGS = frozenset({"advertise-address", "secure-port", "bind-address"})


def flags(argv):
    """{name: value} of the --flags of a command line (value None for a bare switch)."""
    found = {}
    for word in argv:
        if word.startswith("--"):
            name, _, value = word[2:].partition("=")
            found[name] = value if "=" in word else None
    return found


def command_line_errors(argv):
    """ValidateMixedArguments / isAllowedFlag, and no secret on the command line."""
    errors = []
    given = flags(argv)
    if "config" in given:
        mixed = sorted(name for name in given if name not in ALLOWED_WITH_CONFIG and not name.startswith("skip-"))
        if mixed:
            errors.append("can not mix '--config' with arguments %s (isAllowedFlag, %s)" % (mixed, VALIDATION_GO))
    words = tuple(word for word in argv[1:] if not word.startswith("-"))
    for phase, known in PHASE_FLAGS.items():
        unknown = sorted(set(given) - known - ROOT_FLAGS) if words[:len(phase)] == phase else []
        if unknown:
            errors.append("unknown flag(s) %s for `kubeadm %s` (its InheritFlags)" % (unknown, " ".join(phase)))
    for name in sorted(SECRET_FLAGS & set(given)):
        errors.append("--%s puts a secret on the command line; it belongs in the 0600 config file" % name)
    if any(SECRET_VALUE.search(word) for word in argv):
        errors.append("a bootstrap token or certificate key is on the command line")
    return errors


def args(items, where):
    """extraArgs / kubeletExtraArgs as {name: value}; v1beta4 lists [{name, value}], v1beta3 maps."""
    if isinstance(items, dict):
        return dict(items)
    result = {}
    for index, item in enumerate(items or []):
        if not item.get("name"):  # ValidateExtraArgs
            raise ValueError("%s: argument %d has no name" % (where, index))
        result[item["name"]] = item.get("value")
    return result


def _host_port(endpoint):
    """kubeadmutil.ParseHostPort: host (IP or DNS-1123 subdomain) with an optional valid port."""
    host, port = endpoint, None
    match = re.fullmatch(r"\[(.+)\](?::(\d+))?|([^:]+)(?::(\d+))?", endpoint)
    if match:
        host = match.group(1) or match.group(3)
        port = match.group(2) or match.group(4)
    elif endpoint.count(":") > 1:
        host = endpoint
    if port is not None and not 0 < int(port) < 65536:
        raise ValueError("port %s is not valid" % port)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not DNS1123_SUBDOMAIN.match(host or ""):
            raise ValueError("%r is neither an IP address nor a DNS-1123 subdomain" % host) from None
    return host, port


def _subnet_errors(path, value, minimum):
    errors = []
    nets = []
    for part in str(value).split(","):
        try:
            if "/" not in part:  # Go's net.ParseCIDR needs the prefix length
                raise ValueError(part)
            nets.append(ipaddress.ip_network(part, strict=True))
        except ValueError:
            return ["%s: couldn't parse subnet %r (ValidateIPNetFromString)" % (path, value)]
    if len(nets) > 2 or (len(nets) == 2 and nets[0].version == nets[1].version):
        errors.append("%s: expected one CIDR or two CIDRs from each family (ValidateIPNetFromString)" % path)
    errors += ["%s: subnet %s is too small, the minimum is %d addresses" % (path, net, minimum)
               for net in nets if net.num_addresses < minimum]
    return errors


def cluster_configuration_errors(cluster):
    """ValidateClusterConfiguration (the parts kos.platform can get wrong) + the per-node rule."""
    errors = []
    try:
        if cluster.get("controlPlaneEndpoint"):
            _host_port(cluster["controlPlaneEndpoint"])
    except ValueError as exc:  # ValidateHostPort
        errors.append("controlPlaneEndpoint: endpoint is not valid: %s" % exc)
    if not str(cluster.get("certificatesDir", "/etc/kubernetes/pki")).startswith("/"):
        errors.append("certificatesDir: path is not absolute (ValidateAbsolutePath)")
    networking = cluster.get("networking", {})
    if not DNS1123_SUBDOMAIN.match(networking.get("dnsDomain", "cluster.local")):
        errors.append("networking.dnsDomain: not a DNS-1123 subdomain (ValidateNetworking)")
    if networking.get("serviceSubnet"):
        subnet_errors = _subnet_errors("networking.serviceSubnet", networking["serviceSubnet"],
                                       MIN_SERVICE_ADDRESSES)
        errors += subnet_errors
        if not subnet_errors:
            for part in networking["serviceSubnet"].split(","):  # ValidateServiceSubnetSize
                net = ipaddress.ip_network(part)
                if net.max_prefixlen - net.prefixlen > MAX_SERVICE_HOST_BITS:
                    errors.append("networking.serviceSubnet: specified service subnet is too large; for %d-bit "
                                  "addresses, the mask must be >= %d (ValidateServiceSubnetSize)"
                                  % (net.max_prefixlen, net.max_prefixlen - MAX_SERVICE_HOST_BITS))
    controller_args = args(cluster.get("controllerManager", {}).get("extraArgs"), "controllerManager.extraArgs")
    if networking.get("podSubnet"):
        subnet_errors = _subnet_errors("networking.podSubnet", networking["podSubnet"], MIN_POD_ADDRESSES)
        errors += subnet_errors
        if not subnet_errors and controller_args.get("allocate-node-cidrs") != "false":
            for part in networking["podSubnet"].split(","):  # ValidatePodSubnetNodeMask
                net = ipaddress.ip_network(part)
                flag = "node-cidr-mask-size-ipv%d" % (6 if net.version == 6 else 4)
                node_mask = int(controller_args.get(flag, 64 if net.version == 6 else 24))
                if net.prefixlen > node_mask or node_mask - net.prefixlen > POD_NODE_MASK_MAX_DIFF:
                    errors.append("networking.podSubnet: mask %d does not fit node mask %d (ValidatePodSubnetNodeMask)"
                                  % (net.prefixlen, node_mask))
    errors += etcd_errors(cluster.get("etcd", {}))
    for name in cluster.get("apiServer", {}).get("certSANs", []):  # ValidateCertSANs
        if not (DNS1123_SUBDOMAIN.match(name) or DNS1123_SUBDOMAIN.match(name.removeprefix("*."))):
            try:
                ipaddress.ip_address(name)
            except ValueError:
                errors.append("apiServer.certSANs: %r is not a valid IP address or DNS name" % name)
    apiserver_args = args(cluster.get("apiServer", {}).get("extraArgs"), "apiServer.extraArgs")
    for name in sorted(PER_NODE_APISERVER_FLAGS & set(apiserver_args)):
        errors.append("apiServer.extraArgs.%s is one node's value in cluster-wide ClusterConfiguration (stored in "
                      "the kubeadm-config ConfigMap, read by every control plane); set it in localAPIEndpoint" % name)
    return errors


def etcd_errors(etcd):
    """ValidateEtcd: local xor external; cert/key both or none; cert+key need the CA; https with certs."""
    errors = []
    local, external = etcd.get("local"), etcd.get("external")
    if local is None and external is None:
        return ["etcd: either .Etcd.Local or .Etcd.External is required (ValidateEtcd)"]
    if local is not None and external is not None:
        return ["etcd: .Etcd.Local and .Etcd.External are mutually exclusive (ValidateEtcd)"]
    if external is not None:
        ca, cert, key = (external.get(k, "") for k in ("caFile", "certFile", "keyFile"))
        if bool(cert) != bool(key):
            errors.append("etcd.external: either both or none of certFile and keyFile must be set (ValidateEtcd)")
        if cert and key and not ca:
            errors.append("etcd.external: setting certFile and keyFile requires caFile (ValidateEtcd)")
        require_https = bool(ca or cert or key)
        for url in external.get("endpoints") or []:
            scheme = urlsplit(url).scheme
            if not scheme:
                errors.append("etcd.external.endpoints: %s: the URL without scheme is not allowed" % url)
            elif require_https and scheme != "https":
                errors.append("etcd.external.endpoints: %s: the URL must be using the HTTPS scheme" % url)
        for name, path in (("caFile", ca), ("certFile", cert), ("keyFile", key)):
            if path and not path.startswith("/"):
                errors.append("etcd.external.%s: path is not absolute" % name)
    return errors


def _api_endpoint_errors(endpoint, where):
    errors = []
    try:  # ValidateAPIEndpoint: advertiseAddress is an IP, bindPort a valid port
        ipaddress.ip_address(endpoint.get("advertiseAddress", ""))
    except ValueError:
        errors.append("%s.advertiseAddress: ip address is not valid" % where)
    if not 0 < int(endpoint.get("bindPort", 6443)) < 65536:
        errors.append("%s.bindPort: port number is not valid" % where)
    return errors


def _certificate_key_errors(key, where):
    if not key:
        return []
    try:
        size = len(bytes.fromhex(key))
    except ValueError:
        return ["%s: certificate key decoding error (ValidateCertificateKey)" % where]
    if size != CERTIFICATE_KEY_BYTES:
        return ["%s: invalid certificate key size %d, the key must be an AES key of size %d"
                % (where, size, CERTIFICATE_KEY_BYTES)]
    return []


def _node_registration_errors(registration):
    errors = []
    name = registration.get("name", "")
    if not name or not DNS1123_SUBDOMAIN.match(name):
        errors.append("nodeRegistration.name: %r is not a DNS-1123 subdomain" % name)
    if urlsplit(registration.get("criSocket", "")).scheme != "unix":  # ValidateSocketPath
        errors.append("nodeRegistration.criSocket: only URL scheme \"unix\" is supported")
    args(registration.get("kubeletExtraArgs"), "nodeRegistration.kubeletExtraArgs")
    return errors


def init_configuration_errors(init):
    """ValidateInitConfiguration (node registration, local API endpoint, certificate key)."""
    return (_node_registration_errors(init.get("nodeRegistration", {}))
            + _api_endpoint_errors(init.get("localAPIEndpoint", {}), "localAPIEndpoint")
            + _certificate_key_errors(init.get("certificateKey", ""), "certificateKey"))


def join_configuration_errors(join):
    """ValidateJoinConfiguration: discovery, node registration, control plane, caCertPath."""
    errors = _node_registration_errors(join.get("nodeRegistration", {}))
    discovery = join.get("discovery", {})
    token, file = discovery.get("bootstrapToken"), discovery.get("file")
    if token is None and file is None:
        errors.append("discovery: bootstrapToken or file must be set (ValidateDiscovery)")
    if token is not None and file is not None:
        errors.append("discovery: bootstrapToken and file cannot both be set (ValidateDiscovery)")
    if token is not None:
        if not token.get("apiServerEndpoint"):
            errors.append("discovery.bootstrapToken: APIServerEndpoint is not set")
        elif ":" not in token["apiServerEndpoint"]:  # net.SplitHostPort
            errors.append("discovery.bootstrapToken.apiServerEndpoint: missing port in address")
        if not token.get("caCertHashes") and not token.get("unsafeSkipCAVerification"):
            errors.append("discovery.bootstrapToken.caCertHashes: token-based discovery without caCertHashes")
        if not TOKEN.match(token.get("token", "")):
            errors.append("discovery.bootstrapToken.token: the bootstrap token is invalid")
        if not TOKEN.match(discovery.get("tlsBootstrapToken", token.get("token", ""))):
            errors.append("discovery.tlsBootstrapToken: the bootstrap token is invalid")
        errors += ["discovery.bootstrapToken.caCertHashes: %r is not sha256:<hex>" % h
                   for h in token.get("caCertHashes") or [] if not CA_CERT_HASH.match(h)]
    plane = join.get("controlPlane")
    if plane is not None:
        errors += _api_endpoint_errors(plane.get("localAPIEndpoint", {}), "controlPlane.localAPIEndpoint")
        errors += _certificate_key_errors(plane.get("certificateKey", ""), "controlPlane.certificateKey")
    path = join.get("caCertPath", "/etc/kubernetes/pki/ca.crt")
    if not path.startswith("/") or not path.endswith(".crt"):
        errors.append("caCertPath: the ca certificate path must be an absolute path")
    return errors


def control_plane_endpoint_errors(cluster, control_plane_addresses):
    """kos.platform rule (kubeadm's HA design, ClusterConfiguration.ControlPlaneEndpoint in v1beta4
    types.go: "In a cluster with more than one control plane instances, this field should be assigned
    the address of the external load balancer in front of the control plane instances"): with more than
    one control plane, the endpoint must not be one of them, or that one host is a single point of failure."""
    endpoint = cluster.get("controlPlaneEndpoint", "")
    if len(control_plane_addresses) < 2:
        return []
    if not endpoint:
        return ["controlPlaneEndpoint is empty with %d control planes: every kubelet would use the first one"
                % len(control_plane_addresses)]
    host, _ = _host_port(endpoint)
    if host in control_plane_addresses:
        return ["controlPlaneEndpoint %s is the address of one of the %d control planes (a single point of "
                "failure); use the API virtual IP or load balancer" % (endpoint, len(control_plane_addresses))]
    return []


def external_etcd_version_errors(version):
    """ExternalEtcdVersionCheck: `kubeadm init` with external etcd refuses an etcd server below the minimum."""
    match = re.match(r"^v?(\d+)\.(\d+)\.(\d+)", str(version))
    if not match:
        return ["external etcd version %r is not a version (ExternalEtcdVersionCheck)" % (version,)]
    if tuple(int(part) for part in match.groups()) < MIN_EXTERNAL_ETCD:
        return ["this version of kubeadm only supports external etcd version >= %s. Current version: %s "
                "(ExternalEtcdVersionCheck, cmd/kubeadm/app/preflight/checks.go)"
                % (".".join(str(part) for part in MIN_EXTERNAL_ETCD), version)]
    return []
