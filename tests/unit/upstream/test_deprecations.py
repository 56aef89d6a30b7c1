"""What the roles offer and render avoids what upstream deprecated or removed in the supported minors.

Sources (kubernetes/kubernetes release notes read through the upstream index):
  CHANGELOG/CHANGELOG-1.35.md @ v1.35.0 (8a84988bd671): "Marked ipvs mode in kube-proxy as deprecated, which
      will be removed in a future version" (#134539).
  CHANGELOG/CHANGELOG-1.37.md @ v1.37.0-alpha.1 (df0a31e010ea): kubeadm warns that kube-proxy's ipvs mode is
      deprecated since v1.35 (#139067); a KubeProxyIPVS feature gate prepares "deactivating and then
      removing the ipvs mode" (#139397).
"""

import os

import yaml

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def role_file(role, *parts):
    with open(os.path.join(TOP, "roles", role, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_kube_proxy_mode_offers_no_deprecated_ipvs():
    spec = role_file("kubernetes_control_plane", "meta", "argument_specs.yml")
    option = spec["argument_specs"]["main"]["options"]["kubernetes_control_plane_proxy_mode"]
    assert option.get("choices") == ["iptables", "nftables"], option
    default = role_file("kubernetes_control_plane", "defaults", "main.yml")["kubernetes_control_plane_proxy_mode"]
    assert default in option["choices"] and option["default"] == default
