"""Strict JSON schemas of the configuration files kubeadm reads, generated from upstream's Go types.

The structs below are transcribed field by field (json name and Go type, comments dropped) from:
  kubeadm.k8s.io/v1beta4: kubernetes/kubernetes cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go
      at commit 1329935739c3aa007d23cb9a4dadfee9d59ff79b (the v1beta4 of 1.32 and later: timeouts,
      encryptionAlgorithm, certificateValidityPeriod, imagePullSerial, UpgradeConfiguration), the API
      kubeadm 1.35, 1.36 and 1.37 read.
  kubeadm.k8s.io/v1beta3: derived from v1beta4 by undoing the changes listed in v1beta4/doc.go ("A list
      of changes since v1beta3") and kubernetes/kubernetes#125029 (extraArgs maps; timeoutForControlPlane
      in apiServer; discovery.timeout; no dryRun, timeouts, extraEnvs, encryptionAlgorithm, certificate
      validity periods, proxy, dns.disabled, imagePullSerial, Reset/UpgradeConfiguration). kubeadm 1.36 is
      the last to read it: kubernetes/kubernetes#136016 removed it, listed in CHANGELOG/CHANGELOG-1.37.md
      @ v1.37.0-alpha.1 (df0a31e010ea), not in the v1.36.0 notes; kos.platform renders v1beta4.
  kubelet.config.k8s.io/v1beta1: staging/src/k8s.io/kubelet/config/v1beta1/types.go at commit
      001332b0422071acf4860769f18e34b5e9b7c1bc, every KubeletConfiguration field in file order. The newest
      version the index holds; no release tag is stored for it, and it is on the 1.37 line after
      v1.37.0-alpha.1 (its TypeMeta carries the json:"" tag of kubernetes/kubernetes#138260, listed in the
      CHANGELOG-1.37.md v1.37.0-alpha.1 notes) with 1.36's memoryReservationPolicy and tlsCurvePreferences.
      Fields newer than 1.35 are listed in KUBELET_SINCE.
  kubeproxy.config.k8s.io/v1alpha1: staging/src/k8s.io/kube-proxy/config/v1alpha1/types.go at commit
      ce3490900116b936d61ee08888436fda1f7abe49 (with nftables, 1.29+).
  Shared types: k8s.io/api core/v1 Taint and EnvVar, k8s.io/component-base logs/api/v1
      LoggingConfiguration, tracing/api/v1 TracingConfiguration, config/v1alpha1
      ClientConnectionConfiguration, cmd/kubeadm/app/apis/bootstraptoken/v1 BootstrapToken.

Strict: additionalProperties false on every struct; enums where upstream declares the values; a field
from another apiVersion is unknown there. Run `python -m tests.unit.upstream.config_types` to rewrite
tests/schemas/ (test_upstream_schemas.py fails when the committed files differ from this module).
"""

import json
import os
import sys

DURATION = {"type": "string", "pattern": r"^(0|-?([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$"}
SCALARS = {
    "string": {"type": "string"}, "bool": {"type": "boolean"}, "int": {"type": "integer"},
    "int32": {"type": "integer"}, "int64": {"type": "integer"}, "float64": {"type": "number"},
    "float32": {"type": "number"}, "metav1.Duration": DURATION, "metav1.Time": {"type": "string"},
    "v1.ResourceList": {"type": "object", "additionalProperties": {"type": ["string", "number"]}},
    # flushFrequency is a TimeOrMetaDuration: a duration string or nanoseconds.
    "logsapi.TimeOrMetaDuration": {"anyOf": [DURATION, {"type": "integer"}]},
}
ENUMS = {
    "EncryptionAlgorithmType": ["ECDSA-P256", "RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P384"],
    "corev1.PullPolicy": ["Always", "IfNotPresent", "Never"],
    "corev1.HostPathType": ["", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket",
                            "CharDevice", "BlockDevice"],
    "corev1.TaintEffect": ["NoSchedule", "PreferNoSchedule", "NoExecute"],
    "KubeletAuthorizationMode": ["AlwaysAllow", "Webhook"],
    "ResourceChangeDetectionStrategy": ["Get", "Cache", "Watch"],
    "ImagePullCredentialsVerificationPolicy": ["NeverVerify", "NeverVerifyPreloadedImages",
                                               "NeverVerifyAllowlistedImages", "AlwaysVerify"],
    "MemoryReservationPolicy": ["None", "TieredReservation"],
    "ProxyMode": ["", "iptables", "ipvs", "nftables", "kernelspace"],
    "LocalMode": ["", "ClusterCIDR", "NodeCIDR", "BridgeInterface", "InterfaceNamePrefix"],
}


def _fields(text):
    """'jsonName GoType' per line -> [(name, type)]; '...Struct' inlines another struct."""
    return [tuple(line.split()) if not line.strip().startswith("...") else (line.strip(), None)
            for line in text.strip().splitlines()]


# Types shared by every API version (k8s.io/api, component-base, bootstraptoken/v1).
SHARED = {
    "corev1.Taint": _fields("""
        key string
        value string
        effect corev1.TaintEffect
        timeAdded metav1.Time"""),
    "corev1.EnvVar": _fields("""
        name string
        value string
        valueFrom corev1.EnvVarSource"""),
    "corev1.EnvVarSource": _fields("""
        fieldRef corev1.ObjectFieldSelector
        resourceFieldRef corev1.ResourceFieldSelector
        configMapKeyRef corev1.KeySelector
        secretKeyRef corev1.KeySelector"""),
    "corev1.ObjectFieldSelector": _fields("""
        apiVersion string
        fieldPath string"""),
    "corev1.ResourceFieldSelector": _fields("""
        containerName string
        resource string
        divisor string"""),
    "corev1.KeySelector": _fields("""
        name string
        key string
        optional bool"""),
    "bootstraptokenv1.BootstrapToken": _fields("""
        token string
        description string
        ttl metav1.Duration
        expires metav1.Time
        usages []string
        groups []string"""),
    "logsapi.LoggingConfiguration": _fields("""
        format string
        flushFrequency logsapi.TimeOrMetaDuration
        verbosity int32
        vmodule []logsapi.VModuleItem
        options logsapi.FormatOptions"""),
    "logsapi.VModuleItem": _fields("""
        filePattern string
        verbosity int32"""),
    "logsapi.FormatOptions": _fields("""
        text logsapi.TextOptions
        json logsapi.JSONOptions"""),
    "logsapi.TextOptions": _fields("""
        splitStream bool
        infoBufferSize string"""),
    "logsapi.JSONOptions": _fields("""
        splitStream bool
        infoBufferSize string"""),
    "tracingapi.TracingConfiguration": _fields("""
        endpoint string
        samplingRatePerMillion int32"""),
    "componentbaseconfigv1alpha1.ClientConnectionConfiguration": _fields("""
        kubeconfig string
        acceptContentTypes string
        contentType string
        qps float32
        burst int32"""),
}

# cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go @ 1329935739c3aa007d23cb9a4dadfee9d59ff79b
KUBEADM_V1BETA4 = {
    "InitConfiguration": _fields("""
        bootstrapTokens []bootstraptokenv1.BootstrapToken
        dryRun bool
        nodeRegistration NodeRegistrationOptions
        localAPIEndpoint APIEndpoint
        certificateKey string
        skipPhases []string
        patches Patches
        timeouts Timeouts"""),
    "ClusterConfiguration": _fields("""
        etcd Etcd
        networking Networking
        kubernetesVersion string
        controlPlaneEndpoint string
        apiServer APIServer
        controllerManager ControlPlaneComponent
        scheduler ControlPlaneComponent
        dns DNS
        proxy Proxy
        certificatesDir string
        imageRepository string
        featureGates map[string]bool
        clusterName string
        encryptionAlgorithm EncryptionAlgorithmType
        certificateValidityPeriod metav1.Duration
        caCertificateValidityPeriod metav1.Duration"""),
    "ControlPlaneComponent": _fields("""
        extraArgs []Arg
        extraVolumes []HostPathMount
        extraEnvs []EnvVar"""),
    "APIServer": _fields("""
        ...ControlPlaneComponent
        certSANs []string"""),
    "DNS": _fields("""
        ...ImageMeta
        disabled bool"""),
    "Proxy": _fields("""
        disabled bool"""),
    "ImageMeta": _fields("""
        imageRepository string
        imageTag string"""),
    "APIEndpoint": _fields("""
        advertiseAddress string
        bindPort int32"""),
    "NodeRegistrationOptions": _fields("""
        name string
        criSocket string
        taints []corev1.Taint
        kubeletExtraArgs []Arg
        ignorePreflightErrors []string
        imagePullPolicy corev1.PullPolicy
        imagePullSerial bool"""),
    "Networking": _fields("""
        serviceSubnet string
        podSubnet string
        dnsDomain string"""),
    "Etcd": _fields("""
        local LocalEtcd
        external ExternalEtcd"""),
    "LocalEtcd": _fields("""
        ...ImageMeta
        dataDir string
        extraArgs []Arg
        extraEnvs []EnvVar
        serverCertSANs []string
        peerCertSANs []string"""),
    "ExternalEtcd": _fields("""
        endpoints []string
        caFile string
        certFile string
        keyFile string"""),
    "JoinConfiguration": _fields("""
        dryRun bool
        nodeRegistration NodeRegistrationOptions
        caCertPath string
        discovery Discovery
        controlPlane JoinControlPlane
        skipPhases []string
        patches Patches
        timeouts Timeouts"""),
    "JoinControlPlane": _fields("""
        localAPIEndpoint APIEndpoint
        certificateKey string"""),
    "Discovery": _fields("""
        bootstrapToken BootstrapTokenDiscovery
        file FileDiscovery
        tlsBootstrapToken string"""),
    "BootstrapTokenDiscovery": _fields("""
        token string
        apiServerEndpoint string
        caCertHashes []string
        unsafeSkipCAVerification bool"""),
    "FileDiscovery": _fields("""
        kubeConfigPath string"""),
    "HostPathMount": _fields("""
        name string
        hostPath string
        mountPath string
        readOnly bool
        pathType corev1.HostPathType"""),
    "Patches": _fields("""
        directory string"""),
    "ResetConfiguration": _fields("""
        cleanupTmpDir bool
        certificatesDir string
        criSocket string
        dryRun bool
        force bool
        ignorePreflightErrors []string
        skipPhases []string
        unmountFlags []string
        timeouts Timeouts"""),
    "Arg": _fields("""
        name string
        value string"""),
    "EnvVar": _fields("""
        ...corev1.EnvVar"""),
    "Timeouts": _fields("""
        controlPlaneComponentHealthCheck metav1.Duration
        kubeletHealthCheck metav1.Duration
        kubernetesAPICall metav1.Duration
        etcdAPICall metav1.Duration
        tlsBootstrap metav1.Duration
        discovery metav1.Duration
        upgradeManifests metav1.Duration"""),
    "UpgradeApplyConfiguration": _fields("""
        kubernetesVersion string
        allowExperimentalUpgrades bool
        allowRCUpgrades bool
        certificateRenewal bool
        dryRun bool
        etcdUpgrade bool
        forceUpgrade bool
        ignorePreflightErrors []string
        patches Patches
        printConfig bool
        SkipPhases []string"""),
    "UpgradeDiffConfiguration": _fields("""
        kubernetesVersion string
        contextLines int"""),
    "UpgradeNodeConfiguration": _fields("""
        certificateRenewal bool
        dryRun bool
        etcdUpgrade bool
        ignorePreflightErrors []string
        skipPhases []string
        patches Patches"""),
    "UpgradePlanConfiguration": _fields("""
        kubernetesVersion string
        allowExperimentalUpgrades bool
        allowRCUpgrades bool
        dryRun bool
        ignorePreflightErrors []string
        printConfig bool"""),
    "UpgradeConfiguration": _fields("""
        apply UpgradeApplyConfiguration
        diff UpgradeDiffConfiguration
        node UpgradeNodeConfiguration
        plan UpgradePlanConfiguration
        timeouts Timeouts"""),
}
KUBEADM_KINDS_V1BETA4 = ["InitConfiguration", "ClusterConfiguration", "JoinConfiguration", "ResetConfiguration",
                         "UpgradeConfiguration"]


def _v1beta3():
    """v1beta4 with the changes of v1beta4/doc.go and kubernetes/kubernetes#125029 undone."""
    drop = {
        "InitConfiguration": {"dryRun", "timeouts"},
        "JoinConfiguration": {"dryRun", "timeouts"},
        "ClusterConfiguration": {"proxy", "encryptionAlgorithm", "certificateValidityPeriod",
                                 "caCertificateValidityPeriod"},
        "ControlPlaneComponent": {"extraEnvs"},
        "LocalEtcd": {"extraEnvs"},
        "DNS": {"disabled"},
        "NodeRegistrationOptions": {"imagePullSerial"},
    }
    retype = {"extraArgs": "map[string]string", "kubeletExtraArgs": "map[string]string"}
    add = {"APIServer": [("timeoutForControlPlane", "metav1.Duration")],
           "Discovery": [("timeout", "metav1.Duration")]}
    structs = {}
    for name, fields in KUBEADM_V1BETA4.items():
        if name in ("ResetConfiguration", "UpgradeConfiguration", "Timeouts", "Proxy", "EnvVar", "Arg") \
                or name.startswith("Upgrade"):
            continue
        kept = [(f, retype.get(f, t)) for f, t in fields if f not in drop.get(name, set())]
        structs[name] = kept + add.get(name, [])
    return structs


KUBEADM_KINDS_V1BETA3 = ["InitConfiguration", "ClusterConfiguration", "JoinConfiguration"]

# staging/src/k8s.io/kubelet/config/v1beta1/types.go @ 001332b0422071acf4860769f18e34b5e9b7c1bc (the newest
# version the index holds: the 1.37 line after v1.37.0-alpha.1, see the module docstring), in file order.
KUBELET_V1BETA1 = {
    "KubeletConfiguration": _fields("""
        enableServer bool
        staticPodPath string
        podLogsDir string
        syncFrequency metav1.Duration
        fileCheckFrequency metav1.Duration
        httpCheckFrequency metav1.Duration
        staticPodURL string
        staticPodURLHeader map[string][]string
        address string
        port int32
        readOnlyPort int32
        tlsCertFile string
        tlsPrivateKeyFile string
        tlsCipherSuites []string
        tlsCurvePreferences []int32
        tlsMinVersion string
        rotateCertificates bool
        serverTLSBootstrap bool
        authentication KubeletAuthentication
        authorization KubeletAuthorization
        registryPullQPS int32
        registryBurst int32
        imagePullCredentialsVerificationPolicy ImagePullCredentialsVerificationPolicy
        preloadedImagesVerificationAllowlist []string
        eventRecordQPS int32
        eventBurst int32
        enableDebuggingHandlers bool
        enableContentionProfiling bool
        healthzPort int32
        healthzBindAddress string
        oomScoreAdj int32
        clusterDomain string
        clusterDNS []string
        streamingConnectionIdleTimeout metav1.Duration
        nodeStatusUpdateFrequency metav1.Duration
        nodeStatusReportFrequency metav1.Duration
        nodeLeaseDurationSeconds int32
        imageMinimumGCAge metav1.Duration
        imageMaximumGCAge metav1.Duration
        imageGCHighThresholdPercent int32
        imageGCLowThresholdPercent int32
        volumeStatsAggPeriod metav1.Duration
        kubeletCgroups string
        systemCgroups string
        cgroupRoot string
        cgroupsPerQOS bool
        cgroupDriver string
        cpuManagerPolicy string
        singleProcessOOMKill bool
        cpuManagerPolicyOptions map[string]string
        cpuManagerReconcilePeriod metav1.Duration
        draManagerReconcilePeriod metav1.Duration
        memoryManagerPolicy string
        topologyManagerPolicy string
        topologyManagerScope string
        topologyManagerPolicyOptions map[string]string
        qosReserved map[string]string
        runtimeRequestTimeout metav1.Duration
        hairpinMode string
        maxPods int32
        podCIDR string
        podPidsLimit int64
        resolvConf string
        runOnce bool
        cpuCFSQuota bool
        cpuCFSQuotaPeriod metav1.Duration
        nodeStatusMaxImages int32
        maxOpenFiles int64
        contentType string
        kubeAPIQPS int32
        kubeAPIBurst int32
        serializeImagePulls bool
        maxParallelImagePulls int32
        evictionHard map[string]string
        evictionSoft map[string]string
        evictionSoftGracePeriod map[string]string
        evictionPressureTransitionPeriod metav1.Duration
        evictionMaxPodGracePeriod int32
        evictionMinimumReclaim map[string]string
        mergeDefaultEvictionSettings bool
        podsPerCore int32
        enableControllerAttachDetach bool
        protectKernelDefaults bool
        makeIPTablesUtilChains bool
        iptablesMasqueradeBit int32
        iptablesDropBit int32
        featureGates map[string]bool
        failSwapOn bool
        memorySwap MemorySwapConfiguration
        containerLogMaxSize string
        containerLogMaxFiles int32
        containerLogMaxWorkers int32
        containerLogMonitorInterval metav1.Duration
        configMapAndSecretChangeDetectionStrategy ResourceChangeDetectionStrategy
        systemReserved map[string]string
        kubeReserved map[string]string
        reservedSystemCPUs string
        showHiddenMetricsForVersion string
        systemReservedCgroup string
        kubeReservedCgroup string
        enforceNodeAllocatable []string
        allowedUnsafeSysctls []string
        volumePluginDir string
        providerID string
        kernelMemcgNotification bool
        logging logsapi.LoggingConfiguration
        enableSystemLogHandler bool
        enableSystemLogQuery bool
        shutdownGracePeriod metav1.Duration
        shutdownGracePeriodCriticalPods metav1.Duration
        shutdownGracePeriodByPodPriority []ShutdownGracePeriodByPodPriority
        crashLoopBackOff CrashLoopBackOffConfig
        reservedMemory []MemoryReservation
        enableProfilingHandler bool
        enableDebugFlagsHandler bool
        seccompDefault bool
        memoryThrottlingFactor float64
        memoryReservationPolicy MemoryReservationPolicy
        registerWithTaints []corev1.Taint
        registerNode bool
        tracing tracingapi.TracingConfiguration
        localStorageCapacityIsolation bool
        containerRuntimeEndpoint string
        imageServiceEndpoint string
        failCgroupV1 bool
        userNamespaces UserNamespaces"""),
    "KubeletAuthorization": _fields("""
        mode KubeletAuthorizationMode
        webhook KubeletWebhookAuthorization"""),
    "KubeletWebhookAuthorization": _fields("""
        cacheAuthorizedTTL metav1.Duration
        cacheUnauthorizedTTL metav1.Duration"""),
    "KubeletAuthentication": _fields("""
        x509 KubeletX509Authentication
        webhook KubeletWebhookAuthentication
        anonymous KubeletAnonymousAuthentication"""),
    "KubeletX509Authentication": _fields("""
        clientCAFile string"""),
    "KubeletWebhookAuthentication": _fields("""
        enabled bool
        cacheTTL metav1.Duration"""),
    "KubeletAnonymousAuthentication": _fields("""
        enabled bool"""),
    "MemoryReservation": _fields("""
        numaNode int32
        limits v1.ResourceList"""),
    "ShutdownGracePeriodByPodPriority": _fields("""
        priority int32
        shutdownGracePeriodSeconds int64"""),
    "MemorySwapConfiguration": _fields("""
        swapBehavior string"""),
    "CrashLoopBackOffConfig": _fields("""
        maxContainerRestartPeriod metav1.Duration"""),
    "UserNamespaces": _fields("""
        idsPerPod int64"""),
}
# KubeletConfiguration fields newer than the oldest supported minor (1.35), with the release that added
# them (kubernetes/kubernetes CHANGELOG/CHANGELOG-1.36.md @ v1.36.0, 008b3652959c). The schema is one for
# 1.35-1.37, so it accepts these on 1.35 too; the roles render none of them.
KUBELET_SINCE = {"tlsCurvePreferences": "1.36 (#137115)", "memoryReservationPolicy": "1.36 (#137584)"}

# staging/src/k8s.io/kube-proxy/config/v1alpha1/types.go @ ce3490900116b936d61ee08888436fda1f7abe49
KUBEPROXY_V1ALPHA1 = {
    "KubeProxyIPTablesConfiguration": _fields("""
        masqueradeBit int32
        masqueradeAll bool
        localhostNodePorts bool
        syncPeriod metav1.Duration
        minSyncPeriod metav1.Duration"""),
    "KubeProxyIPVSConfiguration": _fields("""
        syncPeriod metav1.Duration
        minSyncPeriod metav1.Duration
        scheduler string
        excludeCIDRs []string
        strictARP bool
        tcpTimeout metav1.Duration
        tcpFinTimeout metav1.Duration
        udpTimeout metav1.Duration"""),
    "KubeProxyNFTablesConfiguration": _fields("""
        masqueradeBit int32
        masqueradeAll bool
        syncPeriod metav1.Duration
        minSyncPeriod metav1.Duration
        tableName string"""),
    "KubeProxyConntrackConfiguration": _fields("""
        maxPerCore int32
        min int32
        tcpEstablishedTimeout metav1.Duration
        tcpCloseWaitTimeout metav1.Duration
        tcpBeLiberal bool
        udpTimeout metav1.Duration
        udpStreamTimeout metav1.Duration"""),
    "KubeProxyWinkernelConfiguration": _fields("""
        networkName string
        sourceVip string
        enableDSR bool
        rootHnsEndpointName string
        forwardHealthCheckVip bool"""),
    "DetectLocalConfiguration": _fields("""
        bridgeInterface string
        interfaceNamePrefix string"""),
    "KubeProxyConfiguration": _fields("""
        featureGates map[string]bool
        clientConnection componentbaseconfigv1alpha1.ClientConnectionConfiguration
        logging logsapi.LoggingConfiguration
        hostnameOverride string
        bindAddress string
        healthzBindAddress string
        metricsBindAddress string
        bindAddressHardFail bool
        enableProfiling bool
        showHiddenMetricsForVersion string
        serviceProxyName string
        mode ProxyMode
        iptables KubeProxyIPTablesConfiguration
        ipvs KubeProxyIPVSConfiguration
        nftables KubeProxyNFTablesConfiguration
        winkernel KubeProxyWinkernelConfiguration
        detectLocalMode LocalMode
        detectLocal DetectLocalConfiguration
        clusterCIDR string
        nodePortAddresses []string
        oomScoreAdj int32
        conntrack KubeProxyConntrackConfiguration
        configSyncPeriod metav1.Duration
        portRange string"""),
}

# Required where the upstream validation demands it (ValidateExtraArgs: an argument has a name;
# core/v1 validation: a taint has key and effect; ValidateDiscoveryBootstrapToken: a token).
REQUIRED = {"Arg": ["name"], "corev1.Taint": ["key", "effect"], "BootstrapTokenDiscovery": ["token"],
            "HostPathMount": ["name", "hostPath", "mountPath"], "corev1.EnvVar": ["name"]}

API_VERSIONS = {
    "kubeadm.k8s.io/v1beta4": (KUBEADM_V1BETA4, KUBEADM_KINDS_V1BETA4),
    "kubeadm.k8s.io/v1beta3": (_v1beta3(), KUBEADM_KINDS_V1BETA3),
    "kubelet.config.k8s.io/v1beta1": (KUBELET_V1BETA1, ["KubeletConfiguration"]),
    "kubeproxy.config.k8s.io/v1alpha1": (KUBEPROXY_V1ALPHA1, ["KubeProxyConfiguration"]),
}
SOURCES = {
    "kubeadm.k8s.io/v1beta4": "kubernetes/kubernetes cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go "
                              "@1329935739c3aa007d23cb9a4dadfee9d59ff79b (kubeadm 1.35-1.37)",
    "kubeadm.k8s.io/v1beta3": "kubernetes/kubernetes cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go "
                              "@1329935739c3aa007d23cb9a4dadfee9d59ff79b minus v1beta4/doc.go's changes since "
                              "v1beta3 (kubeadm up to 1.36; removed in 1.37 by kubernetes/kubernetes#136016)",
    "kubelet.config.k8s.io/v1beta1": "kubernetes/kubernetes staging/src/k8s.io/kubelet/config/v1beta1/types.go "
                                     "@001332b0422071acf4860769f18e34b5e9b7c1bc (1.37 line after v1.37.0-alpha.1)",
    "kubeproxy.config.k8s.io/v1alpha1": "kubernetes/kubernetes staging/src/k8s.io/kube-proxy/config/v1alpha1/"
                                        "types.go @ce3490900116b936d61ee08888436fda1f7abe49",
}


def _type_schema(go_type, structs):
    if go_type.startswith("[]"):
        return {"type": "array", "items": _type_schema(go_type[2:], structs)}
    if go_type.startswith("map[string]"):
        return {"type": "object", "additionalProperties": _type_schema(go_type[len("map[string]"):], structs)}
    if go_type in SCALARS:
        return dict(SCALARS[go_type])
    if go_type in ENUMS:
        return {"type": "string", "enum": ENUMS[go_type]}
    if go_type in structs or go_type in SHARED:
        return {"$ref": "#/$defs/" + go_type}
    raise KeyError("no schema for Go type %s" % go_type)


def _struct_properties(name, structs):
    fields = structs.get(name) or SHARED[name]
    properties = {}
    for field, go_type in fields:
        if field.startswith("..."):  # an inlined (embedded) struct
            properties.update(_struct_properties(field[3:], structs))
        else:
            properties[field] = _type_schema(go_type, structs)
    return properties


def _referenced(schema, found):
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if ref and ref.split("/")[-1] not in found:
            found.add(ref.split("/")[-1])
        for value in schema.values():
            _referenced(value, found)
    elif isinstance(schema, list):
        for value in schema:
            _referenced(value, found)


def schema(api_version, kind):
    """The strict JSON schema of one kind of one apiVersion."""
    structs, kinds = API_VERSIONS[api_version]
    if kind not in kinds:
        raise KeyError("%s has no kind %s" % (api_version, kind))
    top = {"$schema": "https://json-schema.org/draft/2020-12/schema",
           "title": "%s %s (strict, from upstream's Go types)" % (api_version, kind),
           "x-upstream-source": SOURCES[api_version],
           "type": "object", "additionalProperties": False,
           "properties": dict({"apiVersion": {"const": api_version}, "kind": {"const": kind}},
                              **_struct_properties(kind, structs)),
           "required": ["apiVersion", "kind"]}
    defs, pending = {}, set()
    _referenced(top, pending)
    while pending - set(defs):
        name = sorted(pending - set(defs))[0]
        definition = {"type": "object", "additionalProperties": False,
                      "properties": _struct_properties(name, structs)}
        if name in REQUIRED:
            definition["required"] = REQUIRED[name]
        defs[name] = definition
        _referenced(definition, pending)
    if defs:
        top["$defs"] = dict(sorted(defs.items()))
    return top


def schema_files():
    """{relative path under tests/schemas: schema} for every apiVersion and kind."""
    files = {}
    for api_version, (_, kinds) in API_VERSIONS.items():
        folder = api_version.replace("/", "_")
        for kind in kinds:
            files[os.path.join(folder, kind + ".json")] = schema(api_version, kind)
    return files


def dump(value):
    return json.dumps(value, indent=1, sort_keys=False, ensure_ascii=False) + "\n"


def main(root):
    for relative, value in schema_files().items():
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(dump(value))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "schemas"))
