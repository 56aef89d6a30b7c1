"""Real flag names of the control-plane components, for the flags kos.platform passes through kubeadm.

kube-apiserver (kubernetes/kubernetes):
  pkg/kubeapiserver/options/authorization.go @ 4e880891c5c6cd9ffb97864046ad29e4863fb24a (the newest version
      the upstream index holds; no v1.35+ one is stored) BuiltInAuthorizationOptions.AddFlags and
      Validate: a known mode, each mode once, ABAC needs --authorization-policy-file and the policy file
      needs ABAC, Webhook needs --authorization-webhook-config-file and that file needs Webhook.
      --authorization-config (structured authorization, 1.29+) and its exclusion of the mode, policy and
      webhook flags come from the same function in later releases, which the index does not hold
      (kubernetes.io "Authorization" reference, "Configuring the API Server using an Authorization
      Config File"): kos.platform never sets it.
  pkg/kubeapiserver/options/authentication.go  BuiltInAuthenticationOptions.AddFlags
  staging/src/k8s.io/apiserver/pkg/server/options/serving.go, etcd.go, audit.go  (generic flags)
  cmd/kube-apiserver/app/options/options.go  (apiserver-specific flags)
kube-controller-manager: cmd/kube-controller-manager/app/options (cloud-provider, allocate-node-cidrs ...).
kubelet: cmd/kubelet/app/options/options.go (node-ip, cloud-provider, hostname-override ...).
Only the option groups kos.platform touches are listed; a flag outside them is reported, so a new one
is added here with its source file.
"""

APISERVER_AUTHORIZATION = frozenset({
    "authorization-mode", "authorization-webhook-config-file", "authorization-webhook-version",
    "authorization-webhook-cache-authorized-ttl", "authorization-webhook-cache-unauthorized-ttl",
    "authorization-policy-file", "authorization-config"})
APISERVER_AUTHENTICATION = frozenset({
    "anonymous-auth", "authentication-config", "authentication-token-webhook-config-file",
    "authentication-token-webhook-cache-ttl", "authentication-token-webhook-version", "client-ca-file",
    "enable-bootstrap-token-auth", "token-auth-file", "oidc-issuer-url", "oidc-client-id", "oidc-ca-file",
    "oidc-username-claim", "oidc-username-prefix", "oidc-groups-claim", "oidc-groups-prefix",
    "oidc-required-claim", "oidc-signing-algs", "requestheader-username-headers",
    "requestheader-group-headers", "requestheader-extra-headers-prefix", "requestheader-client-ca-file",
    "requestheader-allowed-names", "requestheader-uid-headers", "service-account-key-file",
    "service-account-lookup", "service-account-issuer", "service-account-jwks-uri",
    "service-account-max-token-expiration", "service-account-extend-token-expiration", "api-audiences"})
APISERVER_GENERIC = frozenset({
    "advertise-address", "bind-address", "secure-port", "tls-cert-file", "tls-private-key-file",
    "tls-cipher-suites", "tls-min-version", "tls-sni-cert-key", "etcd-servers", "etcd-cafile",
    "etcd-certfile", "etcd-keyfile", "etcd-prefix", "audit-log-path", "audit-log-maxage",
    "audit-log-maxbackup", "audit-log-maxsize", "audit-policy-file", "audit-log-format",
    "audit-webhook-config-file", "encryption-provider-config", "enable-admission-plugins",
    "disable-admission-plugins", "admission-control-config-file", "allow-privileged", "feature-gates",
    "profiling", "event-ttl", "max-requests-inflight", "max-mutating-requests-inflight",
    "kubelet-client-certificate", "kubelet-client-key", "kubelet-certificate-authority",
    "kubelet-preferred-address-types", "service-cluster-ip-range", "service-node-port-range",
    "runtime-config", "proxy-client-cert-file", "proxy-client-key-file", "enable-aggregator-routing",
    "endpoint-reconciler-type", "storage-backend", "v", "request-timeout", "goaway-chance"})
APISERVER = APISERVER_AUTHORIZATION | APISERVER_AUTHENTICATION | APISERVER_GENERIC
CONTROLLER_MANAGER = frozenset({
    "cloud-provider", "cloud-config", "allocate-node-cidrs", "cluster-cidr", "node-cidr-mask-size",
    "node-cidr-mask-size-ipv4", "node-cidr-mask-size-ipv6", "configure-cloud-routes", "controllers",
    "feature-gates", "profiling", "terminated-pod-gc-threshold", "bind-address", "v",
    "cluster-signing-duration", "node-monitor-grace-period", "use-service-account-credentials"})
SCHEDULER = frozenset({"bind-address", "feature-gates", "profiling", "config", "v", "leader-elect"})
KUBELET = frozenset({
    "node-ip", "cloud-provider", "hostname-override", "node-labels", "register-with-taints",
    "provider-id", "v", "root-dir", "cert-dir", "image-credential-provider-config",
    "image-credential-provider-bin-dir"})
KNOWN = {"apiServer": APISERVER, "controllerManager": CONTROLLER_MANAGER, "scheduler": SCHEDULER,
         "kubelet": KUBELET}


def unknown_flag_errors(component, args):
    """Flags that the component does not define: it would refuse to start with them."""
    return ["%s: --%s is not a flag of this component" % (component, name)
            for name in sorted(args) if name not in KNOWN[component]]


def apiserver_authorization_errors(args):
    """BuiltInAuthorizationOptions.Validate (pkg/kubeapiserver/options/authorization.go)."""
    errors = []
    if "authorization-config" in args:
        clash = sorted(APISERVER_AUTHORIZATION - {"authorization-config"} & set(args))
        if clash:
            errors.append("--authorization-config cannot be used with %s" % clash)
        return errors
    modes = [mode for mode in str(args.get("authorization-mode", "AlwaysAllow")).split(",") if mode]
    known = {"AlwaysAllow", "AlwaysDeny", "ABAC", "Webhook", "RBAC", "Node"}
    errors += ["authorization-mode %r is not one of %s" % (mode, sorted(known)) for mode in modes if mode not in known]
    if len(set(modes)) != len(modes):
        errors.append("authorization-mode has a duplicate mode: %s" % ",".join(modes))
    if "ABAC" in modes and not args.get("authorization-policy-file"):
        errors.append("authorization-mode ABAC's authorization-policy-file must be set")
    if "ABAC" not in modes and args.get("authorization-policy-file"):
        errors.append("authorization-policy-file set without ABAC in authorization-mode")
    if "Webhook" in modes and not args.get("authorization-webhook-config-file"):
        errors.append("authorization-mode Webhook's authorization-webhook-config-file must be set")
    if "Webhook" not in modes and args.get("authorization-webhook-config-file"):
        errors.append("authorization-webhook-config-file set without Webhook in authorization-mode")
    return errors
