"""The matrix of invalid cluster models, written as an operator would write them.

Each case is data (no code), so the same case runs through kos_model directly
(test_invalid_models.py) and through ``ansible-playbook site.yml`` (test_site_matrix.py):

``set``     group variables (group_vars/all) to set, with their YAML types
``unset``   group variables to delete from the base model
``hosts``   {host: {variable: value or None to delete}}
``groups``  {group: [members]} replacing a group's members
``extra``   variables passed as ``-e @file.json`` (JSON types)
``cli``     ``-e key=value`` arguments (Ansible gives them to the play as strings)
``message`` the exact message preflight must print (one of possibly several)

Addresses are documentation ranges (RFC 5737): nothing ever connects to them.
"""

import copy
import json
import os

import yaml

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

BASE_VARS = {
    "cluster_name": "kos-matrix",
    "cluster_domain": "cluster.local",
    "cluster_kubernetes_version": "1.37.1",
    "cluster_artifact_mirror": "https://artifactory.example.com/artifactory",
    "cluster_node_cidr": "192.0.2.0/24",
    "cluster_pod_cidr": "10.244.0.0/16",
    "cluster_pod_block_prefix": 24,
    "cluster_service_cidr": "10.96.0.0/16",
    "cluster_external_ip_cidrs": ["198.51.100.0/26"],
    "cluster_loadbalancer_ip_cidrs": ["198.51.100.64/26"],
    "cluster_as_number": 64512,
    "cluster_as_mode": "global",
    "cluster_node_to_node_mesh": True,
    "cluster_api_port": 6443,
    "cluster_keystone_auth": True,
    "cluster_authorization_mode": "RBAC",
    "keystone_auth_keystone_url": "https://keystone.example.com:5000/v3",
}

# group -> host -> host variables; k8s_cluster is made of kube_control_plane and kube_node.
BASE_GROUPS = {
    "etcd": {"cp1": {}, "cp2": {}, "cp3": {}},
    "kube_control_plane": {"cp1": {"node_ip": "192.0.2.11"}, "cp2": {"node_ip": "192.0.2.12"},
                           "cp3": {"node_ip": "192.0.2.13"}},
    "kube_node": {"node1": {"node_ip": "192.0.2.21"}, "node2": {"node_ip": "192.0.2.22"}},
    "bgp_routers": {"tor1": {"node_ip": "192.0.2.5", "bgp_router_as_number": 65000}},
    "image_builders": {"builder1": {"node_ip": "192.0.2.31"}},
}
FIRST_HOST = "cp1"
HOST_KEYS = ("node_ip", "ansible_host", "node_name", "node_rack", "node_as_number", "node_pod_block",
             "bgp_router_as_number", "bgp_router_racks")
MAGIC = ("groups", "hostvars", "inventory_hostname", "omit", "playbook_dir", "role_path")


def C(case_id, message, **change):
    return dict(id=case_id, message=message, **change)


LONG = "a" * 64
CASES = [
    # --- required variables, announced ranges, printed defaults -------------------------------
    C("name missing", "cluster_name is not set: name the cluster with a DNS label, e.g. kos-prod1 (it tags the "
      "cloud resources and names the cluster's CA directory on the controller, so there is no default)",
      unset=["cluster_name"]),
    C("name empty from -e", "cluster_name is not set: name the cluster with a DNS label, e.g. kos-prod1 (it tags "
      "the cloud resources and names the cluster's CA directory on the controller, so there is no default)",
      cli=["cluster_name="]),
    C("node cidr missing", "cluster_node_cidr is not set: give the node network in CIDR form, e.g. 192.0.2.0/24 "
      "(there is no default: it is the site's own network)", unset=["cluster_node_cidr"]),
    C("pod cidr missing with routers", "cluster_pod_cidr is not set: give the pod network in CIDR form, e.g. "
      "10.244.0.0/16 (there is no default while the model has BGP routers: the range is announced to them)",
      unset=["cluster_pod_cidr"]),
    C("service cidr missing with routers", "cluster_service_cidr is not set: give the service network in CIDR "
      "form, e.g. 10.96.0.0/16 (there is no default while the model has BGP routers: the range is announced to "
      "them)", unset=["cluster_service_cidr"]),
    C("kubespray cluster_name as domain", "cluster_name is 'cluster.local', a DNS domain: kubespray's cluster_name "
      "is the domain, here it names the cluster; set cluster_domain: cluster.local and a cluster_name such as "
      "kos-prod1", set={"cluster_name": "cluster.local"}, unset=["cluster_domain"]),
    # --- unknown variables that look like the model's ---------------------------------------
    C("typo pod cidr", "cluster_pod_cdir is not a variable of the cluster model: did you mean cluster_pod_cidr?",
      set={"cluster_pod_cdir": "10.244.0.0/16"}),
    C("typo service cidr", "cluster_servce_cidr is not a variable of the cluster model: did you mean "
      "cluster_service_cidr?", set={"cluster_servce_cidr": "10.96.0.0/16"}),
    C("typo name", "cluster_nmae is not a variable of the cluster model: did you mean cluster_name?",
      set={"cluster_nmae": "kos-x"}),
    C("typo domain", "cluster_domian is not a variable of the cluster model: did you mean cluster_domain?",
      set={"cluster_domian": "example.internal"}),
    C("typo as number", "cluster_as_numer is not a variable of the cluster model: did you mean cluster_as_number?",
      set={"cluster_as_numer": 64513}),
    C("typo api port from -e", "cluster_api_prot is not a variable of the cluster model: did you mean "
      "cluster_api_port?", cli=["cluster_api_prot=6443"]),
    C("typo keystone auth", "cluster_keystone_atuh is not a variable of the cluster model: did you mean "
      "cluster_keystone_auth?", set={"cluster_keystone_atuh": True}),
    C("typo mesh", "cluster_node_to_node_mes is not a variable of the cluster model: did you mean "
      "cluster_node_to_node_mesh?", set={"cluster_node_to_node_mes": False}),
    C("typo pod block", "cluster_pod_block_prefx is not a variable of the cluster model: did you mean "
      "cluster_pod_block_prefix?", extra={"cluster_pod_block_prefx": 26}),
    C("typo external cidrs", "cluster_external_ips_cidrs is not a variable of the cluster model: did you mean "
      "cluster_external_ip_cidrs?", set={"cluster_external_ips_cidrs": ["198.51.100.128/26"]}),
    C("unknown cluster variable", "cluster_colour is not a variable of the cluster model: remove it, or see "
      "roles/preflight/meta/argument_specs.yml for the model's variables", set={"cluster_colour": "blue"}),
    C("kubespray pods subnet", "kube_pods_subnet is kubespray's name; kos.platform reads cluster_pod_cidr: rename it "
      "(see inventories/sample)", set={"kube_pods_subnet": "10.233.64.0/18"}),
    C("kubespray service addresses", "kube_service_addresses is kubespray's name; kos.platform reads "
      "cluster_service_cidr: rename it (see inventories/sample)", set={"kube_service_addresses": "10.233.0.0/18"}),
    C("kubespray dns domain", "dns_domain is kubespray's name; kos.platform reads cluster_domain: rename it (see "
      "inventories/sample)", set={"dns_domain": "cluster.local"}),
    C("kubespray kube version", "kube_version is kubespray's name; kos.platform reads cluster_kubernetes_version: "
      "rename it (see inventories/sample)", cli=["kube_version=v1.37.1"]),
    C("kubespray apiserver port", "kube_apiserver_port is kubespray's name; kos.platform reads cluster_api_port: "
      "rename it (see inventories/sample)", set={"kube_apiserver_port": 6443}),
    C("kubespray node prefix", "kube_network_node_prefix is kubespray's name; kos.platform reads "
      "cluster_pod_block_prefix: rename it (see inventories/sample)", set={"kube_network_node_prefix": 24}),
    C("kubespray loadbalancer", "loadbalancer_apiserver is kubespray's name; kos.platform reads "
      "cluster_api_endpoint: rename it (see inventories/sample)",
      set={"loadbalancer_apiserver": {"address": "192.0.2.100", "port": 6443}}),
    C("kubespray network plugin", "kube_network_plugin is a kubespray setting that kos.platform does not have: "
      "remove it (see inventories/sample for the model's variables)", set={"kube_network_plugin": "calico"}),
    C("kubespray container manager", "container_manager is a kubespray setting that kos.platform does not have: "
      "remove it (see inventories/sample for the model's variables)", set={"container_manager": "containerd"}),
    C("kubespray global as", "global_as_num is kubespray's name; kos.platform reads cluster_as_number: rename it "
      "(see inventories/sample)", set={"global_as_num": 64512}),
    C("role variable typo", "etcd_data_dri is not a kos.platform variable: did you mean etcd_data_dir?",
      set={"etcd_data_dri": "/var/lib/etcd"}),
    C("role prefix typo", "calcio_version is not a kos.platform variable: did you mean calico_version?",
      set={"calcio_version": "v3.32.1"}),
    C("role prefix typo long", "ectd_backup_keep is not a kos.platform variable: did you mean etcd_backup_keep?",
      extra={"ectd_backup_keep": 7}),
    C("keystone url typo", "keystone_auth_keystone_ulr is not a kos.platform variable: did you mean "
      "keystone_auth_keystone_url?", set={"keystone_auth_keystone_ulr": "https://keystone.example.com:5000/v3"}),
    C("host variable typo", "node_rak is not a kos.platform variable: did you mean node_rack?",
      hosts={"node2": {"node_rak": "rack2"}}),
    C("router variable typo", "bgp_router_as_numbr is not a kos.platform variable: did you mean "
      "bgp_router_as_number?", hosts={"tor1": {"bgp_router_as_numbr": 65001}}),
    C("node ip typo", "node_pi is not a kos.platform variable: did you mean node_ip?",
      hosts={"node1": {"node_pi": "192.0.2.21"}}),
    # --- types: YAML, -e @file and -e key=value read the same way ---------------------------
    C("as number words from -e", "cluster_as_number is 'sixtyfour', not a whole number: give a private AS number "
      "such as 64512 (64512-65534 or 4200000000-4294967294)", cli=["cluster_as_number=sixtyfour"]),
    C("as number float", "cluster_as_number is 64512.5, not a whole number: give a private AS number such as 64512 "
      "(64512-65534 or 4200000000-4294967294)", set={"cluster_as_number": 64512.5}),
    C("as number bool", "cluster_as_number is True, not a whole number: give a private AS number such as 64512 "
      "(64512-65534 or 4200000000-4294967294)", extra={"cluster_as_number": True}),
    C("pod block prefix word", "cluster_pod_block_prefix is 'twenty-four', not a whole number: give a prefix "
      "length such as 24", cli=["cluster_pod_block_prefix=twenty-four"]),
    C("pod block prefix list", "cluster_pod_block_prefix is [24], not a whole number: give a prefix length such as "
      "24", set={"cluster_pod_block_prefix": [24]}),
    C("mesh not a boolean", "cluster_node_to_node_mesh is 'maybe', not a boolean: write true or false",
      cli=["cluster_node_to_node_mesh=maybe"]),
    C("keystone auth not a boolean", "cluster_keystone_auth is 'sure', not a boolean: write true or false",
      set={"cluster_keystone_auth": "sure"}),
    C("keystone auth number", "cluster_keystone_auth is 2, not a boolean: write true or false",
      extra={"cluster_keystone_auth": 2}),
    C("external cidrs a number", "cluster_external_ip_cidrs is 26, not a list: give a list of CIDRs such as "
      "[198.51.100.0/26], or [] for none", set={"cluster_external_ip_cidrs": 26}),
    C("loadbalancer cidrs a mapping", "cluster_loadbalancer_ip_cidrs is {'a': '198.51.100.64/26'}, not a list: "
      "give a list of CIDRs such as [198.51.100.0/26], or [] for none",
      extra={"cluster_loadbalancer_ip_cidrs": {"a": "198.51.100.64/26"}}),
    C("external cidrs string is one item, not characters", "cluster_external_ip_cidrs[0] is '198.51.100.0/33', "
      "not a CIDR: write it as ADDRESS/PREFIX, e.g. 198.51.100.0/26",
      cli=["cluster_external_ip_cidrs=198.51.100.0/33"]),
    C("external cidrs comma list from -e", "cluster_external_ip_cidrs[1] is 'x', not a CIDR: write it as "
      "ADDRESS/PREFIX, e.g. 198.51.100.0/26", cli=["cluster_external_ip_cidrs=198.51.100.0/26,x"]),
    C("external cidrs yaml list from -e", "cluster_external_ip_cidrs[0] (198.51.100.0/26) overlaps "
      "cluster_loadbalancer_ip_cidrs[0] (198.51.100.0/25): every cluster range must be disjoint; move one of them",
      cli=["cluster_loadbalancer_ip_cidrs=[198.51.100.0/25]"]),
    C("external peers a string", "cluster_external_bgp_peers[0] has no name: give {name, ip, as_number}",
      cli=["cluster_external_bgp_peers=spine1"]),
    C("external peers a mapping", "cluster_external_bgp_peers is {'name': 'spine1'}, not a list: give "
      "[{name, ip, as_number}] or []", set={"cluster_external_bgp_peers": {"name": "spine1"}}),
    C("api port a word", "cluster_api_port is 'https', not a TCP port: give a whole number from 1 to 65535, "
      "e.g. 6443",
      cli=["cluster_api_port=https"]),
    C("api port zero", "cluster_api_port is 0, not a TCP port: give a whole number from 1 to 65535, e.g. 6443",
      set={"cluster_api_port": 0}),
    C("api port too big from -e", "cluster_api_port is 70000, not a TCP port: give a whole number from 1 to 65535, "
      "e.g. 6443",
      cli=["cluster_api_port=70000"]),
    C("api port negative", "cluster_api_port is '-1', not a TCP port: give a whole number from 1 to 65535, "
      "e.g. 6443", cli=["cluster_api_port=-1"]),
    C("tenancy mapping a list", "tenancy_role_mapping is ['admin'], not a mapping: give {Keystone role: level}, "
      "e.g. {admin: admin, member: edit, reader: view}", set={"tenancy_role_mapping": ["admin"]}),
    # --- CIDRs ---------------------------------------------------------------------------------
    C("node cidr malformed", "cluster_node_cidr is '192.0.2.0', not a CIDR: write it as ADDRESS/PREFIX, e.g. "
      "10.244.0.0/16", set={"cluster_node_cidr": "192.0.2.0"}),
    C("pod cidr malformed", "cluster_pod_cidr is '10.244.0.0/40', not a CIDR: write it as ADDRESS/PREFIX, e.g. "
      "10.244.0.0/16", set={"cluster_pod_cidr": "10.244.0.0/40"}),
    C("service cidr a word", "cluster_service_cidr is 'auto', not a CIDR: write it as ADDRESS/PREFIX, e.g. "
      "10.244.0.0/16", cli=["cluster_service_cidr=auto"]),
    C("pod cidr host bits", "cluster_pod_cidr is 10.244.1.0/16, which has host bits set: use the network address "
      "10.244.0.0/16", set={"cluster_pod_cidr": "10.244.1.0/16"}),
    C("service cidr host bits", "cluster_service_cidr is 10.96.0.1/16, which has host bits set: use the network "
      "address 10.96.0.0/16", set={"cluster_service_cidr": "10.96.0.1/16"}),
    C("node cidr host bits", "cluster_node_cidr is 192.0.2.1/24, which has host bits set: use the network address "
      "192.0.2.0/24", set={"cluster_node_cidr": "192.0.2.1/24"}),
    C("pod overlaps service", "cluster_pod_cidr (10.96.0.0/16) overlaps cluster_service_cidr (10.96.0.0/12): every "
      "cluster range must be disjoint; move one of them",
      set={"cluster_pod_cidr": "10.96.0.0/16", "cluster_service_cidr": "10.96.0.0/12"}),
    C("node overlaps pod", "cluster_node_cidr (10.244.0.0/24) overlaps cluster_pod_cidr (10.244.0.0/16): every "
      "cluster range must be disjoint; move one of them", set={"cluster_node_cidr": "10.244.0.0/24"}),
    C("node overlaps external", "cluster_node_cidr (192.0.2.0/24) overlaps cluster_external_ip_cidrs[0] "
      "(192.0.2.128/25): every cluster range must be disjoint; move one of them",
      set={"cluster_external_ip_cidrs": ["192.0.2.128/25"]}),
    C("service overlaps loadbalancer", "cluster_service_cidr (10.96.0.0/16) overlaps "
      "cluster_loadbalancer_ip_cidrs[0] (10.96.128.0/24): every cluster range must be disjoint; move one of them",
      set={"cluster_loadbalancer_ip_cidrs": ["10.96.128.0/24"]}),
    C("external overlaps loadbalancer", "cluster_external_ip_cidrs[0] (198.51.100.0/26) overlaps "
      "cluster_loadbalancer_ip_cidrs[0] (198.51.100.0/27): every cluster range must be disjoint; move one of them",
      set={"cluster_loadbalancer_ip_cidrs": ["198.51.100.0/27"]}),
    C("two external ranges overlap", "cluster_external_ip_cidrs[0] (198.51.100.0/26) overlaps "
      "cluster_external_ip_cidrs[1] (198.51.100.32/27): every cluster range must be disjoint; move one of them",
      set={"cluster_external_ip_cidrs": ["198.51.100.0/26", "198.51.100.32/27"]}),
    C("pod and service families differ", "cluster_pod_cidr (fd00:10:244::/56) is IPv6 but cluster_service_cidr "
      "(10.96.0.0/16) is IPv4: use one address family for both", set={"cluster_pod_cidr": "fd00:10:244::/56"}),
    C("service range too small", "cluster_service_cidr 10.96.0.0/29 has 8 addresses; the API service uses the first "
      "and DNS the tenth: give at least a /28", set={"cluster_service_cidr": "10.96.0.0/29"}),
    C("pod block prefix shorter than pod cidr", "cluster_pod_block_prefix is 12, but a node's block must lie inside "
      "cluster_pod_cidr (/16) and hold pods: choose a value from 16 to 30", set={"cluster_pod_block_prefix": 12}),
    C("pod block prefix too long from -e", "cluster_pod_block_prefix is 31, but a node's block must lie inside "
      "cluster_pod_cidr (/16) and hold pods: choose a value from 16 to 30", cli=["cluster_pod_block_prefix=31"]),
    C("pod cidr too small for the hosts", "cluster_pod_cidr 10.244.0.0/23 holds 2 blocks of /24 but the cluster has "
      "5 Kubernetes hosts: widen cluster_pod_cidr or lengthen cluster_pod_block_prefix",
      set={"cluster_pod_cidr": "10.244.0.0/23"}),
    C("pinned block outside the pod cidr", "node_pod_block of node1 is '10.245.0.0/24': it must be a /24 network "
      "inside cluster_pod_cidr 10.244.0.0/16", hosts={"node1": {"node_pod_block": "10.245.0.0/24"}}),
    C("pinned block of the wrong size", "node_pod_block of node1 is '10.244.0.0/25': it must be a /24 network "
      "inside cluster_pod_cidr 10.244.0.0/16", hosts={"node1": {"node_pod_block": "10.244.0.0/25"}}),
    C("pinned block twice", "node_pod_block 10.244.7.0/24 is pinned on both node1 and node2: give each host its "
      "own block", hosts={"node1": {"node_pod_block": "10.244.7.0/24"}, "node2": {"node_pod_block": "10.244.7.0/24"}}),
    # --- names -----------------------------------------------------------------------------------
    C("name upper case", "cluster_name is 'Kos_Matrix': use a DNS label (lower-case letters, digits and '-', at "
      "most 63, e.g. kos-demo)", set={"cluster_name": "Kos_Matrix"}),
    C("name too long", "cluster_name is '%s': use a DNS label (lower-case letters, digits and '-', at most 63, "
      "e.g. kos-demo)" % LONG, set={"cluster_name": LONG}),
    C("name a number", "cluster_name is 42: use a DNS label (lower-case letters, digits and '-', at most 63, e.g. "
      "kos-demo)", set={"cluster_name": 42}),
    C("domain with underscore", "cluster_domain is 'cluster_local': use a DNS domain such as cluster.local",
      set={"cluster_domain": "cluster_local"}),
    C("domain label too long", "cluster_domain is '%s.local': its label '%s...' has 64 characters; a DNS label "
      "has at most 63; shorten it" % (LONG, "a" * 20), set={"cluster_domain": LONG + ".local"}),
    C("version malformed", "cluster_kubernetes_version is 'latest': give a release such as 1.31.4",
      set={"cluster_kubernetes_version": "latest"}),
    C("version a float", "cluster_kubernetes_version is 1.37: give a release such as 1.31.4",
      set={"cluster_kubernetes_version": 1.37}),
    C("node name not DNS", "host node1 would be Kubernetes node 'Node_1', not a DNS name: rename the host or set "
      "node_name (lower-case letters, digits, '-' and '.')", hosts={"node1": {"node_name": "Node_1"}}),
    C("node names collide", "hosts node1 and node2 both become Kubernetes node 'worker': node names must be unique; "
      "set node_name on one of them", hosts={"node1": {"node_name": "worker"}, "node2": {"node_name": "worker"}}),
    C("node name label too long", "node_name of node1 is too long for a host name: its label '%s...' has 64 "
      "characters; a DNS label has at most 63; rename it (or set node_name)" % ("a" * 20),
      hosts={"node1": {"node_name": LONG + ".example"}}),
    C("host name too long", "host name %s is too long for a host name: its label '%s...' has 64 characters; a DNS "
      "label has at most 63; rename it (or set node_name)" % (LONG, "a" * 20),
      groups={"image_builders": {LONG: {"node_ip": "192.0.2.31"}}}),
    # --- groups and inventory ----------------------------------------------------------------------
    C("etcd even", "group etcd has 2 members: etcd needs an odd count (1, 3, 5) for a quorum that survives "
      "failures; add or remove one host", groups={"etcd": {"cp1": {}, "cp2": {}}}),
    C("etcd four", "group etcd has 4 members: etcd needs an odd count (1, 3, 5) for a quorum that survives "
      "failures; add or remove one host", groups={"etcd": {"cp1": {}, "cp2": {}, "cp3": {}, "node1": {}}}),
    C("etcd empty", "group etcd is empty: put at least one host in it in the inventory", groups={"etcd": {}}),
    C("control plane empty", "group kube_control_plane is empty: put at least one host in it in the inventory",
      groups={"kube_control_plane": {}, "kube_node": {"cp1": {"node_ip": "192.0.2.11"},
                                                     "node1": {"node_ip": "192.0.2.21"}}}),
    C("router inside the cluster", "host node2 is in bgp_routers and in the Kubernetes groups: the external routers "
      "stand outside the cluster; remove it from one of them",
      groups={"bgp_routers": {"tor1": {"node_ip": "192.0.2.5", "bgp_router_as_number": 65000},
                              "node2": {"bgp_router_as_number": 65001}}}),
    C("inventory without hosts", "the inventory has no hosts: check the -i path (a typo there gives an empty "
      "inventory and no group_vars) or add the cluster's hosts to it", inventory_missing=True),
    # --- addresses ---------------------------------------------------------------------------------
    C("address missing", "host node1 has no address: set node_ip (or ansible_host) to its address in "
      "cluster_node_cidr", hosts={"node1": {"node_ip": None}}),
    C("address not an IP", "node_ip of node1 is '192.0.2.300', not an IP address: give its address in "
      "cluster_node_cidr", hosts={"node1": {"node_ip": "192.0.2.300"}}),
    C("address a host name", "node_ip of node2 is 'node2.example.com', not an IP address: give its address in "
      "cluster_node_cidr", hosts={"node2": {"node_ip": "node2.example.com"}}),
    C("address outside node cidr", "node_ip of node1 is 198.51.100.200, outside cluster_node_cidr 192.0.2.0/24: "
      "fix the address or widen cluster_node_cidr", hosts={"node1": {"node_ip": "198.51.100.200"}}),
    C("address inside external range", "node_ip of node1 is 198.51.100.10, inside cluster_external_ip_cidrs[0] "
      "(198.51.100.0/26): host addresses must lie outside the pod, service and external ranges",
      hosts={"node1": {"node_ip": "198.51.100.10"}}),
    C("addresses shared", "hosts cp1 and node1 share the address 192.0.2.11: give each host its own node_ip",
      hosts={"node1": {"node_ip": "192.0.2.11"}}),
    C("address from -e for every host", "hosts cp1 and cp2 share the address 192.0.2.99: give each host its own "
      "node_ip", cli=["node_ip=192.0.2.99"]),
    C("image builder on a node's address", "image builder builder1 has the address 192.0.2.21 of host node1: give "
      "each host its own address", hosts={"builder1": {"node_ip": "192.0.2.21"}}),
    C("image builder on the router's address", "image builder builder1 has the address 192.0.2.5 of host tor1: "
      "give each host its own address", hosts={"builder1": {"node_ip": "192.0.2.5"}}),
    C("image builder inside the pod range", "image builder builder1 has the address 10.244.3.7, inside "
      "cluster_pod_cidr (10.244.0.0/16): host addresses must lie outside the pod, service and external ranges",
      hosts={"builder1": {"node_ip": "10.244.3.7"}}),
    C("image builder inside the service range", "image builder builder1 has the address 10.96.0.10, inside "
      "cluster_service_cidr (10.96.0.0/16): host addresses must lie outside the pod, service and external ranges",
      hosts={"builder1": {"node_ip": "10.96.0.10"}}),
    C("image builder inside the load-balancer range", "image builder builder1 has the address 198.51.100.70, "
      "inside cluster_loadbalancer_ip_cidrs[0] (198.51.100.64/26): host addresses must lie outside the pod, "
      "service and external ranges", hosts={"builder1": {"node_ip": "198.51.100.70"}}),
    C("image builder address not an IP", "node_ip of image builder builder1 is 'builder', not an IP address: give "
      "its address", hosts={"builder1": {"node_ip": "builder"}}),
    # --- AS numbers (types; the BGP plan itself is checked in kos_routing's tests) -------------
    C("as number reserved", "cluster_as_number is 23456, a reserved AS number (0, 23456, 65535 and 4294967295 are "
      "reserved): give a private AS number such as 64512 (64512-65534 or 4200000000-4294967294)",
      set={"cluster_as_number": 23456}),
    C("as number zero from -e", "cluster_as_number is 0, a reserved AS number (0, 23456, 65535 and 4294967295 are "
      "reserved): give a private AS number such as 64512 (64512-65534 or 4200000000-4294967294)",
      cli=["cluster_as_number=0"]),
    C("as number too big", "cluster_as_number is 4294967296, outside 1-4294967295: give a private AS number such as "
      "64512 (64512-65534 or 4200000000-4294967294)", extra={"cluster_as_number": 4294967296}),
    C("as mode unknown", "cluster_as_mode is 'per_host': choose one of global, per_rack, per_node",
      cli=["cluster_as_mode=per_host"]),
    C("router as a word", "AS number of router tor1 is 'private', not a whole number: set bgp_router_as_number to a "
      "valid AS", hosts={"tor1": {"bgp_router_as_number": "private"}}),
    C("router as equal to the cluster's from -e", "router tor1 has AS 64512, the same as Kubernetes nodes: the "
      "routers peer over eBGP, so give bgp_router_as_number a different AS", cli=["bgp_router_as_number=64512"]),
    # --- authorization -------------------------------------------------------------------------------
    C("authorization mode unknown", "cluster_authorization_mode is 'AlwaysAllow': choose one of RBAC, ABAC, Webhook",
      set={"cluster_authorization_mode": "AlwaysAllow"}),
    C("authorization mode lower case", "cluster_authorization_mode is 'rbac': choose one of RBAC, ABAC, Webhook",
      cli=["cluster_authorization_mode=rbac"]),
    C("webhook without keystone", "cluster_authorization_mode is Webhook but cluster_keystone_auth is off: the "
      "webhook authorizer is k8s-keystone-auth; turn cluster_keystone_auth on or choose RBAC or ABAC",
      set={"cluster_authorization_mode": "Webhook"}, cli=["cluster_keystone_auth=false"]),
    # --- endpoints and URLs --------------------------------------------------------------------------
    C("api endpoint a URL", "cluster_api_endpoint is 'https://k8s.example.com:6443', a URL: give only the host name "
      "or address (k8s.example.com); the scheme is always https and the port is cluster_api_port (6443)",
      set={"cluster_api_endpoint": "https://k8s.example.com:6443"}),
    C("api endpoint a URL without port", "cluster_api_endpoint is 'https://k8s.example.com', a URL: give only the "
      "host name or address (k8s.example.com); the scheme is always https and the port is cluster_api_port",
      cli=["cluster_api_endpoint=https://k8s.example.com"]),
    C("api endpoint with a path", "cluster_api_endpoint is 'https://192.0.2.100/api', a URL: give only the host "
      "name or address (192.0.2.100); the scheme is always https and the port is cluster_api_port",
      set={"cluster_api_endpoint": "https://192.0.2.100/api"}),
    C("api endpoint with a port", "cluster_api_endpoint is 'k8s.example.com:6443', with a port: give only the host "
      "name or address (k8s.example.com) and set cluster_api_port: 6443",
      set={"cluster_api_endpoint": "k8s.example.com:6443"}),
    C("api endpoint address with a port", "cluster_api_endpoint is '192.0.2.100:443', with a port: give only the "
      "host name or address (192.0.2.100) and set cluster_api_port: 443", cli=["cluster_api_endpoint=192.0.2.100:443"]),
    C("mirror without scheme", "cluster_artifact_mirror is 'artifactory.example.com/artifactory', not an http(s) "
      "URL: write it with its scheme, e.g. https://artifactory.example.com/artifactory",
      set={"cluster_artifact_mirror": "artifactory.example.com/artifactory"}),
    C("mirror ftp", "cluster_artifact_mirror is 'ftp://mirror.example.com/k8s', not an http(s) URL: write it with "
      "its scheme, e.g. https://artifactory.example.com/artifactory",
      cli=["cluster_artifact_mirror=ftp://mirror.example.com/k8s"]),
    C("mirror scheme only", "cluster_artifact_mirror is 'https://', not an http(s) URL: write it with its scheme, "
      "e.g. https://artifactory.example.com/artifactory", set={"cluster_artifact_mirror": "https://"}),
    C("mirror a list", "cluster_artifact_mirror is ['https://a.example.com'], not a URL: write it with its scheme, "
      "e.g. https://artifactory.example.com/artifactory", set={"cluster_artifact_mirror": ["https://a.example.com"]}),
    C("keystone url without scheme", "keystone_auth_keystone_url is 'keystone.example.com:5000/v3', not an http(s) "
      "URL: give Keystone's v3 URL, the users' OS_AUTH_URL, e.g. https://keystone.example.com:5000/v3",
      set={"keystone_auth_keystone_url": "keystone.example.com:5000/v3"}),
    C("keystone url without v3", "keystone_auth_keystone_url is 'https://keystone.example.com:5000', not Keystone's "
      "v3 API: end it with /v3, e.g. https://keystone.example.com:5000/v3",
      cli=["keystone_auth_keystone_url=https://keystone.example.com:5000"]),
    C("keystone url with spaces", "keystone_auth_keystone_url is 'https://keystone example/v3', not an http(s) URL: "
      "give Keystone's v3 URL, the users' OS_AUTH_URL, e.g. https://keystone.example.com:5000/v3",
      set={"keystone_auth_keystone_url": "https://keystone example/v3"}),
    # --- tenancy role mapping (playbooks/tenancy.yml's variables) ----------------------------------
    C("tenancy maps onto cluster-admin", "tenancy_role_mapping maps Keystone role 'admin' onto 'cluster-admin': "
      "tenancy never grants cluster-admin or system: roles (they reach past every namespace); map it to admin, "
      "edit or view", set={"tenancy_role_mapping": {"admin": "cluster-admin", "member": "edit"}}),
    C("tenancy maps onto system:masters", "tenancy_role_mapping maps Keystone role 'operator' onto 'system:masters': "
      "tenancy never grants cluster-admin or system: roles (they reach past every namespace); map it to admin, "
      "edit or view", extra={"tenancy_role_mapping": {"operator": "system:masters"}}),
    C("tenancy maps onto a system: ClusterRole", "tenancy_role_mapping maps Keystone role 'reader' onto "
      "'system:aggregate-to-view': tenancy never grants cluster-admin or system: roles (they reach past every "
      "namespace); map it to admin, edit or view",
      set={"tenancy_role_mapping": {"reader": "system:aggregate-to-view"}}),
    C("tenancy mapping from -e", "tenancy_role_mapping maps Keystone role 'admin' onto 'cluster-admin': tenancy "
      "never grants cluster-admin or system: roles (they reach past every namespace); map it to admin, edit or view",
      cli=['tenancy_role_mapping={"admin":"cluster-admin"}']),
    C("tenancy maps onto an unknown level", "tenancy_role_mapping maps Keystone role 'member' onto 'editor', not a "
      "permission level: use admin, edit or view", set={"tenancy_role_mapping": {"member": "editor"}}),
    C("tenancy level bound to cluster-admin", "tenancy_level_cluster_roles maps level 'admin' onto 'cluster-admin': "
      "tenancy never grants cluster-admin or system: roles; bind a namespaced ClusterRole such as admin",
      set={"tenancy_level_cluster_roles": {"admin": "cluster-admin"}}),
    C("tenancy level bound to system:", "tenancy_level_cluster_roles maps level 'view' onto 'system:discovery': "
      "tenancy never grants cluster-admin or system: roles; bind a namespaced ClusterRole such as view",
      extra={"tenancy_level_cluster_roles": {"view": "system:discovery"}}),
]


# --------------------------------------------------------------------------- model input
def _groups_of(case):
    groups = copy.deepcopy(BASE_GROUPS)
    for group, members in (case.get("groups") or {}).items():
        groups[group] = copy.deepcopy(members)
    for host, changes in (case.get("hosts") or {}).items():
        for members in groups.values():
            if host in members:
                for key, value in changes.items():
                    if value is None:
                        members[host].pop(key, None)
                    else:
                        members[host][key] = value
    return groups


def _group_vars(case):
    variables = dict(BASE_VARS)
    for key in case.get("unset") or ():
        variables.pop(key, None)
    variables.update(case.get("set") or {})
    return variables


def _extra(case):
    """-e @file values with their JSON types, then -e key=value values as the strings Ansible gives."""
    extra = dict(case.get("extra") or {})
    for item in case.get("cli") or ():
        key, _, value = item.partition("=")
        extra[key] = value
    return extra


def preflight_defaults():
    with open(os.path.join(TOP, "roles", "preflight", "defaults", "main.yml")) as handle:
        return yaml.safe_load(handle)


def model_input(case):
    """The input roles/preflight/tasks/main.yml builds, for the inventory the case describes."""
    if case.get("inventory_missing"):
        defaults = preflight_defaults()
        return {"cluster": {k[len("cluster_"):]: v for k, v in defaults.items() if k.startswith("cluster_")},
                "groups": {"all": [], "ungrouped": []}, "hosts": {}, "variables": sorted(defaults)}
    groups = _groups_of(case)
    extra = _extra(case)
    scope = dict(preflight_defaults())
    scope.update(_group_vars(case))
    names = list(scope) + list(MAGIC)
    hosts = {}
    order = []
    for members in groups.values():
        for host in members:
            if host not in order:
                order.append(host)
    for host in order:
        merged = {}
        for members in groups.values():
            merged.update(members.get(host) or {})
        merged = dict(dict(scope, **merged), **extra)
        picked = {k: merged[k] for k in HOST_KEYS if merged.get(k) not in (None, "")}
        found = sorted(k for k in merged if k.startswith(("node_", "bgp_router_")))
        if found:
            picked["variables"] = found
        hosts[host] = picked
        if host == FIRST_HOST:
            names += list(merged)
    scope.update(extra)
    names += list(extra)
    settings = preflight_defaults()["preflight_checked_settings"]
    all_groups = {g: list(m) for g, m in groups.items()}
    all_groups["k8s_cluster"] = [h for h in order if h in groups["kube_control_plane"] or h in groups["kube_node"]]
    all_groups["all"] = order
    all_groups["ungrouped"] = []
    return {
        "cluster": {k[len("cluster_"):]: v for k, v in scope.items() if k.startswith("cluster_")},
        "groups": all_groups,
        "hosts": hosts,
        "variables": sorted(set(names)),
        "settings": {k: scope[k] for k in settings if k in scope},
        "require_addresses": True,
    }


# --------------------------------------------------------------------------- inventory files
def write_inventory(case, directory):
    """hosts.yml and group_vars/all/cluster.yml for the case; returns (inventory path, extra arguments)."""
    os.makedirs(os.path.join(directory, "group_vars", "all"), exist_ok=True)
    if case.get("inventory_missing"):
        return os.path.join(directory, "no-such-inventory"), []
    groups = _groups_of(case)
    children = {group: {"hosts": {h: (v or None) for h, v in members.items()}} for group, members in groups.items()}
    children["k8s_cluster"] = {"children": {"kube_control_plane": None, "kube_node": None}}
    with open(os.path.join(directory, "hosts.yml"), "w") as handle:
        yaml.safe_dump({"all": {"children": children}}, handle, default_flow_style=False)
    with open(os.path.join(directory, "group_vars", "all", "cluster.yml"), "w") as handle:
        yaml.safe_dump(_group_vars(case), handle, default_flow_style=False)
    args = []
    if case.get("extra"):
        path = os.path.join(directory, "extra.json")
        with open(path, "w") as handle:
            json.dump(case["extra"], handle)
        args += ["-e", "@" + path]
    for item in case.get("cli") or ():
        args += ["-e", item]
    return os.path.join(directory, "hosts.yml"), args
