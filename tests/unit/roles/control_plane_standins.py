"""STAND-INS (mocks, named as such) for tests/unit/roles/test_kubernetes_control_plane_reconfigure.py: kubeadm,
crictl and kube-apiserver's /readyz cannot run here (no Kubernetes server binaries or images).

Run as `python control_plane_standins.py kubeadm|crictl|readyz ...` with KOS_STANDIN_ROOT set to the test's
scratch directory. Every call is appended to <root>/events.log (one JSON object a line), so the test sees
what ran, in which order, and with which configuration.

- kubeadm: `init phase upload-config kubeadm --config F` stores F's ClusterConfiguration in
  <root>/kubeadm-config.yaml (the kubeadm-config ConfigMap); `init phase control-plane apiserver --config F`
  writes <dir of F>/../manifests/kube-apiserver.yaml as kubeadm's getAPIServerCommand does
  (cmd/kubeadm/app/phases/controlplane/manifests.go @ ad7cb45bb24a21d7f391c10985d0af850471f426: the etcd flags
  from etcd.external, advertise-address and secure-port from InitConfiguration.localAPIEndpoint, extraArgs
  over the defaults, sorted), then, as the kubelet would, replaces the running kube-apiserver container.
  <root>/kubeadm-fail makes it fail with a message on stderr, as kubeadm does.
- crictl: `ps --quiet --state running --name ^kube-apiserver$` prints the container id in <root>/container.
- readyz: an HTTPS server on 127.0.0.1, .2 and .3 (port argv[2], certificate <root>/pki/readyz.crt) that answers
  GET /readyz with 200 "ok", or 500 for the addresses listed in <root>/readyz-fail.
"""

import http.server
import json
import os
import ssl
import sys
import threading

import yaml

ROOT = os.environ.get("KOS_STANDIN_ROOT", "")
ADDRESSES = ("127.0.0.1", "127.0.0.2", "127.0.0.3")


def event(**fields):
    with open(os.path.join(ROOT, "events.log"), "a", encoding="utf-8") as handle:
        handle.write(json.dumps(fields, sort_keys=True) + "\n")


def args(items):
    """kubeadm v1beta4 extraArgs [{name, value}] (or a v1beta3 mapping) as {name: value}."""
    if isinstance(items, dict):
        return dict(items)
    return {item["name"]: item["value"] for item in items or []}


def apiserver_manifest(init, cluster):
    """The kube-apiserver static Pod, with the flags getAPIServerCommand derives from the configuration."""
    endpoint = init.get("localAPIEndpoint", {})
    pki = cluster.get("certificatesDir", "/etc/kubernetes/pki")
    flags = {"advertise-address": endpoint.get("advertiseAddress", ""),
             "secure-port": str(endpoint.get("bindPort", 6443)),
             "service-cluster-ip-range": cluster.get("networking", {}).get("serviceSubnet", ""),
             "client-ca-file": pki + "/ca.crt", "tls-cert-file": pki + "/apiserver.crt",
             "tls-private-key-file": pki + "/apiserver.key", "authorization-mode": "Node,RBAC"}
    external = cluster["etcd"]["external"]
    flags["etcd-servers"] = ",".join(external["endpoints"])
    if external.get("caFile"):
        flags["etcd-cafile"] = external["caFile"]
    if external.get("certFile") and external.get("keyFile"):
        flags["etcd-certfile"] = external["certFile"]
        flags["etcd-keyfile"] = external["keyFile"]
    flags.update(args(cluster.get("apiServer", {}).get("extraArgs")))
    command = ["kube-apiserver"] + ["--%s=%s" % (name, value) for name, value in sorted(flags.items())]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "kube-apiserver", "namespace": "kube-system",
                         "annotations": {"kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint":
                                         "%s:%s" % (flags["advertise-address"], flags["secure-port"])}},
            "spec": {"hostNetwork": True, "containers": [{"name": "kube-apiserver", "command": command}]}}


def kubeadm(argv):
    config = next(word.split("=", 1)[1] for word in argv if word.startswith("--config="))
    with open(config, encoding="utf-8") as handle:
        docs = {doc["kind"]: doc for doc in yaml.safe_load_all(handle) if doc}
    init, cluster = docs["InitConfiguration"], docs["ClusterConfiguration"]
    event(tool="kubeadm", argv=argv, config=config, node=init["nodeRegistration"]["name"],
          advertise=init["localAPIEndpoint"]["advertiseAddress"])
    if os.path.exists(os.path.join(ROOT, "kubeadm-fail")):
        sys.stderr.write("error execution phase control-plane/apiserver: stand-in failure\n")
        return 1
    words = [word for word in argv if not word.startswith("-")]
    if words == ["init", "phase", "upload-config", "kubeadm"]:
        with open(os.path.join(ROOT, "kubeadm-config.yaml"), "w", encoding="utf-8") as handle:
            yaml.safe_dump(cluster, handle)
        return 0
    if words == ["init", "phase", "control-plane", "apiserver"]:
        manifests = os.path.join(os.path.dirname(os.path.dirname(config)), "manifests")
        os.makedirs(manifests, exist_ok=True)
        with open(os.path.join(manifests, "kube-apiserver.yaml"), "w", encoding="utf-8") as handle:
            yaml.safe_dump(apiserver_manifest(init, cluster), handle)
        # The kubelet sees the changed manifest and starts a new container.
        path = os.path.join(ROOT, "container")
        with open(path, encoding="utf-8") as handle:
            old = handle.read().strip()
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(old + "0")
        return 0
    sys.stderr.write("kubeadm stand-in: %s is not replayed\n" % " ".join(words))
    return 2


def crictl(argv):
    event(tool="crictl", argv=argv)
    if argv[:1] == ["ps"] and "^kube-apiserver$" in argv:
        with open(os.path.join(ROOT, "container"), encoding="utf-8") as handle:
            print(handle.read().strip())
        return 0
    sys.stderr.write("crictl stand-in: %s is not replayed\n" % " ".join(argv))
    return 2


class Readyz(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        address = self.server.server_address[0]
        failing = []
        if os.path.exists(os.path.join(ROOT, "readyz-fail")):
            with open(os.path.join(ROOT, "readyz-fail"), encoding="utf-8") as handle:
                failing = handle.read().split()
        status = 500 if address in failing else 200
        event(tool="readyz", path=self.path, address=address, status=status)
        body = b"[-]etcd failed: reason withheld\n" if status != 200 else b"ok"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        return


def readyz(port):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(ROOT, "pki", "readyz.crt"), os.path.join(ROOT, "pki", "readyz.key"))
    servers = []
    for address in ADDRESSES:
        server = http.server.ThreadingHTTPServer((address, port), Readyz)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    with open(os.path.join(ROOT, "readyz.ready"), "w", encoding="utf-8") as handle:
        handle.write("listening\n")
    threading.Event().wait()


def main(argv):
    if argv[0] == "kubeadm":
        return kubeadm(argv[1:])
    if argv[0] == "crictl":
        return crictl(argv[1:])
    if argv[0] == "readyz":
        readyz(int(argv[1]))
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
