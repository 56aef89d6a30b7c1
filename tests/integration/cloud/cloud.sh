#!/usr/bin/env bash
# The test cloud: real OpenStack APIs and schedulers (Keystone, Glance, Placement, Nova, Neutron
# with ML2/OVN, Cinder) on this one machine, with a fake hypervisor (nova fake driver) and fake
# block storage (cinder fake driver). Servers never run: never send traffic to their addresses.
#
# Usage: cloud.sh install|bootstrap|start|stop|status|clouds-yaml|purge-queue NAME
#   install    Debian packages (apt) and the OpenStack services (PyPI, own venv under .cache/)
#   bootstrap  once: databases, cells, catalog, flavor, image, volume type, network, demo project
#              (starts the cloud and leaves it running)
#   start      starts every process (bootstraps first if needed), waits until usable
#   stop       stops every process this script started, by the PID it recorded
#   status     lists the recorded processes and whether they run
#   purge-queue NAME  drops the messages waiting in RabbitMQ queue NAME and prints how many (a fault
#              for the tests: an RPC cast lost, as when the service that sent it died)
# State (configs, databases, logs, pids) lives in .cache/cloud/ under the checkout.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
V=${KOS_CLOUD_VENV:-$top/.cache/cloud-venv}
S=${KOS_CLOUD_STATE:-$top/.cache/cloud}
ETC=$S/etc
LOG=$S/log
RUN=$S/run
CLOUD_HOST=kos-test-cloud            # nova/neutron/cinder host and OVN chassis name (not a real host)
PW=kos-test-secret                   # every password of this throw-away cloud
DB="mysql+pymysql://kos:$PW@127.0.0.1:3306"
RABBIT="rabbit://guest:guest@127.0.0.1:5672/"
KS=http://127.0.0.1:5000
# sudo: cinder-volume starts its privsep daemon through sudo, as in a deployment.
APT_PACKAGES="mariadb-server rabbitmq-server memcached openvswitch-switch ovn-central ovn-host qemu-utils sudo"
PIP_PACKAGES="keystone==30.0.0 glance==33.0.0 nova==34.0.0 neutron==29.0.0 cinder==29.0.0
  openstack-placement==16.0.0 gunicorn==27.0.1 PyMySQL==1.2.4 python-memcached==1.62
  oslo.cache[dogpile]==4.3.0 python-openstackclient==10.5.0"
SP=$V/lib/python3.11/site-packages

log() { echo "[cloud $(date +%H:%M:%S)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------------------------------- install
install() {
  local missing=()
  for p in $APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    # Package scripts must not start the services: this harness starts them by hand.
    local policy_made=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
      policy_made=1
    fi
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
      --no-install-recommends "${missing[@]}" >/dev/null
    [ $policy_made -eq 1 ] && rm -f /usr/sbin/policy-rc.d
  fi
  local stamp="$V/.kos-cloud-stamp" want
  want=$(echo "$PIP_PACKAGES" | tr -s ' \n' ' ')
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "pip install the OpenStack services into $V (about 2 minutes)"
    python3 -m venv "$V"
    "$V/bin/pip" install -q --upgrade pip
    # shellcheck disable=SC2086
    "$V/bin/pip" install -q $PIP_PACKAGES
    echo "$want" > "$stamp"
  fi
}

# ----------------------------------------------------------------------------------- processes
# Every process runs in its own session (setsid), so its PID is also its process group: stop
# signals that group, which takes the workers a service forked with it, and nothing else.
spawn() {  # spawn NAME CMD... (environment passed through)
  local name=$1; shift
  if is_running "$name"; then return 0; fi
  setsid "$@" >>"$LOG/$name.log" 2>&1 < /dev/null 9>&- &   # 9: the lock, not for daemons
  echo $! > "$RUN/$name.pid"
}

# A process killed by a test stays a zombie until the machine's init reaps it, which on some
# machines takes seconds: kill -0 succeeds on a zombie, so it would count as running and never be
# started again (seen: nova-api killed by the fault suite, then `cloud.sh start` waited 180 s for it).
alive() {  # alive PID: the process exists and is not a zombie
  local st
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  st=${st##*) }
  [ -n "$st" ] && [ "${st:0:1}" != Z ]
}

is_running() {
  local f="$RUN/$1.pid"
  [ -f "$f" ] && alive "$(cat "$f")"
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local t=$1 what=$2; shift 2
  local end=$(( $(date +%s) + t ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || die "timed out after ${t}s waiting for $what (logs: $LOG)"
    sleep 0.5
  done
}

http_ok() { python3 - "$1" <<'EOF'
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=3)
except urllib.error.HTTPError as e:
    sys.exit(0 if e.code < 500 else 1)
except Exception:
    sys.exit(1)
EOF
}

# Start order matters: infrastructure, then Keystone, then the rest.
ALL_PROCS="mariadb epmd rabbitmq memcached ovsdb-server ovs-vswitchd ovn-nb ovn-sb ovn-northd
  ovn-controller keystone glance placement nova-api nova-conductor nova-scheduler nova-compute
  neutron-api neutron-rpc neutron-periodic neutron-ovn-maintenance cinder-api cinder-scheduler
  cinder-volume"

ovs_env() {
  export OVS_RUNDIR=$RUN/ovs OVS_LOGDIR=$LOG OVS_DBDIR=$S/ovs OVS_SYSCONFDIR=$S/ovs
  export OVN_RUNDIR=$RUN/ovn OVN_LOGDIR=$LOG OVN_DBDIR=$S/ovn OVN_SYSCONFDIR=$S/ovn
}
vsctl() { ovs-vsctl --db="unix:$RUN/ovs/db.sock" "$@"; }

start_infra() {
  ovs_env
  spawn mariadb /usr/sbin/mariadbd --no-defaults --datadir="$S/mysql" --socket="$RUN/mysql.sock" \
    --port=3306 --bind-address=127.0.0.1 --user=root --skip-name-resolve --max-connections=1000 \
    --innodb-buffer-pool-size=128M --pid-file="$RUN/mariadbd.pid-file" --log-error="$LOG/mariadb-error.log"
  spawn epmd /usr/bin/epmd -address 127.0.0.1
  HOME=$S/rabbitmq ERL_CRASH_DUMP=$LOG/rabbitmq-erl_crash.dump RABBITMQ_MNESIA_BASE=$S/rabbitmq/mnesia RABBITMQ_LOG_BASE=$LOG/rabbitmq \
    RABBITMQ_NODENAME=rabbit@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=5672 \
    RABBITMQ_DIST_PORT=25672 RABBITMQ_ENABLED_PLUGINS_FILE=$S/rabbitmq/enabled_plugins \
    RABBITMQ_CONFIG_FILE=$S/rabbitmq/rabbitmq RABBITMQ_PID_FILE=$RUN/rabbitmq.pid-file \
    ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    spawn rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server
  spawn memcached /usr/bin/memcached -l 127.0.0.1 -p 11211 -U 0 -m 64 -u nobody
  spawn ovsdb-server /usr/sbin/ovsdb-server "$S/ovs/conf.db" --remote="punix:$RUN/ovs/db.sock" \
    --remote=db:Open_vSwitch,Open_vSwitch,manager_options --pidfile="$RUN/ovs/ovsdb-server.pid" \
    --unixctl="$RUN/ovs/ovsdb-server.ctl" --no-chdir
  wait_for 20 "ovsdb-server" test -S "$RUN/ovs/db.sock"
  vsctl --no-wait init
  spawn ovs-vswitchd /usr/sbin/ovs-vswitchd "unix:$RUN/ovs/db.sock" --pidfile="$RUN/ovs/ovs-vswitchd.pid" \
    --unixctl="$RUN/ovs/ovs-vswitchd.ctl" --no-chdir
  spawn ovn-nb /usr/sbin/ovsdb-server "$S/ovn/ovnnb_db.db" --remote=ptcp:6641:127.0.0.1 \
    --remote="punix:$RUN/ovn/ovnnb_db.sock" --pidfile="$RUN/ovn/ovnnb_db.pid" \
    --unixctl="$RUN/ovn/ovnnb_db.ctl" --no-chdir
  spawn ovn-sb /usr/sbin/ovsdb-server "$S/ovn/ovnsb_db.db" --remote=ptcp:6642:127.0.0.1 \
    --remote="punix:$RUN/ovn/ovnsb_db.sock" --pidfile="$RUN/ovn/ovnsb_db.pid" \
    --unixctl="$RUN/ovn/ovnsb_db.ctl" --no-chdir
  wait_for 20 "OVN databases" test -S "$RUN/ovn/ovnsb_db.sock"
  spawn ovn-northd /usr/bin/ovn-northd --ovnnb-db="unix:$RUN/ovn/ovnnb_db.sock" \
    --ovnsb-db="unix:$RUN/ovn/ovnsb_db.sock" --pidfile="$RUN/ovn/ovn-northd.pid" \
    --unixctl="$RUN/ovn/ovn-northd.ctl" --no-chdir
  vsctl set open . external_ids:system-id="$CLOUD_HOST" external_ids:hostname="$CLOUD_HOST" \
    external_ids:ovn-remote=tcp:127.0.0.1:6642 external_ids:ovn-encap-type=geneve,vxlan \
    external_ids:ovn-encap-ip=127.0.0.1 external_ids:ovn-bridge-datapath-type=netdev \
    external_ids:ovn-bridge-mappings=public:br-ex,physnet1:br-vlan external_ids:ovn-cms-options=enable-chassis-as-gw
  vsctl --may-exist add-br br-ex -- set bridge br-ex datapath_type=netdev
  vsctl --may-exist add-br br-vlan -- set bridge br-vlan datapath_type=netdev
  spawn ovn-controller /usr/bin/ovn-controller "unix:$RUN/ovs/db.sock" \
    --pidfile="$RUN/ovn/ovn-controller.pid" --no-chdir
  wait_for 60 "MariaDB" test -S "$RUN/mysql.sock"
  wait_for 60 "RabbitMQ on 5672" python3 -c "import socket; socket.create_connection(('127.0.0.1', 5672), 1)"
}

gunicorn_spawn() {  # gunicorn_spawn NAME PORT MODULE [ENV=VAL...]
  local name=$1 port=$2 module=$3; shift 3
  spawn "$name" env "$@" PYTHONPATH="$ETC/wsgi" "$V/bin/gunicorn" --workers 1 --threads 4 \
    --worker-class gthread --bind "127.0.0.1:$port" --timeout 300 --graceful-timeout 5 --no-control-socket \
    --chdir "$ETC/wsgi" --name "$name" "$module:application"
}

start_keystone() {
  gunicorn_spawn keystone 5000 keystone_wsgi OS_KEYSTONE_CONFIG_FILES="$ETC/keystone/keystone.conf"
  wait_for 90 "Keystone" http_ok "$KS/v3"
}

start_services() {
  local n="$ETC/nova/nova.conf" q="--config-file $ETC/neutron/neutron.conf --config-file $ETC/neutron/ml2_conf.ini"
  local c="$ETC/cinder/cinder.conf"
  gunicorn_spawn glance 9292 glance_wsgi OS_GLANCE_CONFIG_DIR="$ETC/glance"
  gunicorn_spawn placement 8778 placement_wsgi OS_PLACEMENT_CONFIG_DIR="$ETC/placement"
  gunicorn_spawn nova-api 8774 nova_wsgi OS_NOVA_CONFIG_DIR="$ETC/nova"
  gunicorn_spawn neutron-api 9696 neutron_wsgi OS_NEUTRON_CONFIG_DIR="$ETC/neutron" \
    OS_NEUTRON_CONFIG_FILES="neutron.conf;ml2_conf.ini" ASGI_WORKERS=1
  gunicorn_spawn cinder-api 8776 cinder_wsgi
  spawn nova-conductor "$V/bin/nova-conductor" --config-file "$n"
  spawn nova-scheduler "$V/bin/nova-scheduler" --config-file "$n"
  spawn nova-compute "$V/bin/nova-compute" --config-file "$n"
  # shellcheck disable=SC2086
  spawn neutron-rpc "$V/bin/neutron-rpc-server" $q
  # shellcheck disable=SC2086
  spawn neutron-periodic "$V/bin/neutron-periodic-workers" $q
  # shellcheck disable=SC2086
  spawn neutron-ovn-maintenance "$V/bin/neutron-ovn-maintenance-worker" $q
  spawn cinder-scheduler "$V/bin/cinder-scheduler" --config-file "$c"
  # The volume driver of this cloud lives beside this script (kos_cloud_volume_driver.py).
  spawn cinder-volume env PYTHONPATH="$here" "$V/bin/cinder-volume" --config-file "$c"
  wait_for 180 "Glance" http_ok http://127.0.0.1:9292/
  wait_for 180 "Placement" http_ok http://127.0.0.1:8778/
  wait_for 180 "Nova API" http_ok http://127.0.0.1:8774/
  wait_for 180 "Neutron API" http_ok http://127.0.0.1:9696/
  wait_for 180 "Cinder API" http_ok http://127.0.0.1:8776/
}

# ------------------------------------------------------------------------------------- configs
ini_authtoken() {  # the [keystone_authtoken] and similar service-user sections
  cat <<EOF
auth_url = $KS
www_authenticate_uri = $KS
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $1
password = $PW
region_name = RegionOne
EOF
}

write_configs() {
  mkdir -p "$ETC"/{keystone,glance,placement,nova,neutron,cinder,wsgi} "$LOG" "$RUN"/{ovs,ovn} \
    "$S"/{ovs,ovn,rabbitmq,glance/images,nova,cinder,locks}
  local cache="[cache]
enabled = true
backend = oslo_cache.memcache_pool
memcache_servers = 127.0.0.1:11211"
  cat > "$ETC/keystone/keystone.conf" <<EOF
[DEFAULT]
log_file = $LOG/keystone-app.log
[database]
connection = $DB/keystone
[token]
provider = fernet
[fernet_tokens]
key_repository = $S/keystone/fernet-keys
[credential]
key_repository = $S/keystone/credential-keys
$cache
EOF
  cat > "$ETC/glance/glance-api.conf" <<EOF
[DEFAULT]
log_file = $LOG/glance-app.log
enabled_backends = file:file
workers = 1
[database]
connection = $DB/glance
[glance_store]
default_backend = file
[file]
filesystem_store_datadir = $S/glance/images
[os_glance_staging_store]
filesystem_store_datadir = $S/glance/staging
[os_glance_tasks_store]
filesystem_store_datadir = $S/glance/tasks
[paste_deploy]
flavor = keystone
[keystone_authtoken]
$(ini_authtoken glance)
memcached_servers = 127.0.0.1:11211
[oslo_concurrency]
lock_path = $S/locks
EOF
  cp "$V/etc/glance/glance-api-paste.ini" "$ETC/glance/"
  cat > "$ETC/placement/placement.conf" <<EOF
[DEFAULT]
log_file = $LOG/placement-app.log
[placement_database]
connection = $DB/placement
[api]
auth_strategy = keystone
[keystone_authtoken]
$(ini_authtoken placement)
memcached_servers = 127.0.0.1:11211
EOF
  cat > "$ETC/nova/nova.conf" <<EOF
[DEFAULT]
log_dir = $LOG
transport_url = $RABBIT
host = $CLOUD_HOST
my_ip = 127.0.0.1
state_path = $S/nova
instances_path = $S/nova/instances
compute_driver = fake.FakeDriverWithoutFakeNodes
vif_plugging_is_fatal = False
vif_plugging_timeout = 0
enabled_apis = osapi_compute
osapi_compute_workers = 1
metadata_workers = 1
[api]
auth_strategy = keystone
[wsgi]
api_paste_config = $ETC/nova/api-paste.ini
[api_database]
connection = $DB/nova_api
[database]
connection = $DB/nova
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = -1
[keystone_authtoken]
$(ini_authtoken nova)
memcached_servers = 127.0.0.1:11211
[placement]
$(ini_authtoken nova)
[neutron]
$(ini_authtoken nova)
[cinder]
os_region_name = RegionOne
$(ini_authtoken nova)
[glance]
region_name = RegionOne
[service_user]
# Cinder lets only Nova (a request carrying a service token) delete a server's volume attachment.
send_service_user_token = true
$(ini_authtoken nova)
[oslo_concurrency]
lock_path = $S/locks
[oslo_messaging_notifications]
driver = noop
[vnc]
enabled = false
[os_vif_ovs]
isolate_vif = false
$cache
EOF
  cat > "$ETC/neutron/neutron.conf" <<EOF
[DEFAULT]
log_dir = $LOG
transport_url = $RABBIT
host = $CLOUD_HOST
core_plugin = ml2
service_plugins = ovn-router
auth_strategy = keystone
api_workers = 1
rpc_workers = 1
rpc_state_report_workers = 0
# Port data changes (a floating IP associated) reach Nova's address cache, as in a real cloud.
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = true
[nova]
$(ini_authtoken nova)
[database]
connection = $DB/neutron
[keystone_authtoken]
$(ini_authtoken neutron)
memcached_servers = 127.0.0.1:11211
[oslo_concurrency]
lock_path = $S/locks
[oslo_messaging_notifications]
driver = noop
EOF
  cat > "$ETC/neutron/ml2_conf.ini" <<EOF
[ml2]
mechanism_drivers = ovn
# Geneve is OVN's own overlay and the tenant default; VXLAN (what many sites run) is the second
# tenant type and a provider type; VLAN provider networks on physnet1 (br-vlan, userspace OVS).
# With VXLAN enabled, OVN refuses segmentation IDs above 4095 for every overlay type.
type_drivers = flat,geneve,vxlan,vlan
tenant_network_types = geneve,vxlan
extension_drivers = port_security
overlay_ip_version = 4
[ml2_type_geneve]
vni_ranges = 1:4095
max_header_size = 38
[ml2_type_vxlan]
vni_ranges = 1:4095
[ml2_type_vlan]
network_vlan_ranges = physnet1:100:199
[ml2_type_flat]
flat_networks = public
[ovn]
ovn_nb_connection = tcp:127.0.0.1:6641
ovn_sb_connection = tcp:127.0.0.1:6642
ovn_metadata_enabled = false
enable_distributed_floating_ip = false
[securitygroup]
enable_security_group = true
EOF
  cp "$V/etc/neutron/api-paste.ini" "$ETC/neutron/"
  cp "$V/etc/nova/api-paste.ini" "$ETC/nova/"
  cat > "$ETC/cinder/cinder.conf" <<EOF
[DEFAULT]
log_dir = $LOG
transport_url = $RABBIT
host = $CLOUD_HOST
state_path = $S/cinder
auth_strategy = keystone
enabled_backends = fake
default_volume_type = fake
osapi_volume_workers = 1
api_paste_config = $V/etc/cinder/api-paste.ini
resource_query_filters_file = $V/etc/cinder/resource_filters.json
# Privileged helpers as a deployment runs them: oslo.privsep starts its daemon with sudo (the
# default prefix, sudo cinder-rootwrap, needs the venv on sudo's secure_path; the helper is named
# by its full path instead). Commands cinder runs with run_as_root need no helper: cinder-volume
# runs as root here, and oslo.concurrency skips the root helper for root.
rootwrap_config = $ETC/cinder/rootwrap.conf
image_conversion_dir = $S/cinder/conversion
[cinder_sys_admin]
helper_command = sudo $V/bin/privsep-helper --config-file $ETC/cinder/cinder.conf
[privsep_osbrick]
helper_command = sudo $V/bin/privsep-helper --config-file $ETC/cinder/cinder.conf
[fake]
# cinder's fake driver, with volumes kept as files so that images can be written into them
volume_driver = kos_cloud_volume_driver.FileBackedFakeVolumeDriver
volume_backend_name = fake
[database]
connection = $DB/cinder
[keystone_authtoken]
$(ini_authtoken cinder)
memcached_servers = 127.0.0.1:11211
[nova]
$(ini_authtoken cinder)
[oslo_concurrency]
lock_path = $S/locks
[oslo_messaging_notifications]
driver = noop
EOF
  cat > "$ETC/cinder/rootwrap.conf" <<EOF
[DEFAULT]
filters_path = $V/etc/cinder/rootwrap.d
exec_dirs = $V/bin,/usr/local/sbin,/usr/local/bin,/usr/sbin,/usr/bin,/sbin,/bin
use_syslog = False
EOF
  # WSGI entry files: several applications parse sys.argv, which holds gunicorn's own options.
  local svc mod argv
  for svc in keystone:keystone.wsgi.api glance:glance.wsgi.api placement:placement.wsgi.api \
             nova:nova.wsgi.osapi_compute neutron:neutron.wsgi.api cinder:cinder.wsgi.api; do
    mod=${svc#*:}; svc=${svc%%:*}
    argv="['$svc-api']"
    [ "$svc" = cinder ] && argv="['cinder-api', '--config-file', '$ETC/cinder/cinder.conf']"
    printf 'import sys\nsys.argv = %s\nfrom %s import application  # noqa: E402,F401\n' \
      "$argv" "$mod" > "$ETC/wsgi/${svc}_wsgi.py"
  done
  echo '[].' > "$S/rabbitmq/enabled_plugins"
  echo '[].' > "$S/rabbitmq/rabbitmq.config"
  write_clouds_yaml
}

write_clouds_yaml() {
  cat > "$S/clouds.yaml" <<EOF
# Written by tests/integration/cloud/cloud.sh: the local test cloud (fake hypervisor and storage).
clouds:
  kos-admin:
    auth: {auth_url: "$KS/v3", username: admin, password: $PW, project_name: admin,
           user_domain_name: Default, project_domain_name: Default}
    region_name: RegionOne
    identity_api_version: 3
  kos-demo:
    auth: {auth_url: "$KS/v3", username: demo, password: $PW, project_name: demo,
           user_domain_name: Default, project_domain_name: Default}
    region_name: RegionOne
    identity_api_version: 3
  kos-unreachable:
    auth: {auth_url: "http://127.0.0.1:9/v3", username: demo, password: $PW, project_name: demo,
           user_domain_name: Default, project_domain_name: Default}
    region_name: RegionOne
    identity_api_version: 3
    api_timeout: 5
EOF
  chmod 600 "$S/clouds.yaml"
}

# ----------------------------------------------------------------------------------- bootstrap
bootstrap() {
  [ -f "$S/bootstrapped" ] && { log "already bootstrapped"; return 0; }
  [ -x "$V/bin/nova-manage" ] || die "run '$0 install' first"
  log "bootstrap: state in $S"
  stop_all
  check_ports
  rm -rf "$S"
  write_configs
  ovs_env
  mariadb-install-db --no-defaults --datadir="$S/mysql" --user=root --auth-root-authentication-method=socket \
    --skip-test-db >"$LOG/mariadb-install.log" 2>&1
  ovsdb-tool create "$S/ovs/conf.db" /usr/share/openvswitch/vswitch.ovsschema
  ovsdb-tool create "$S/ovn/ovnnb_db.db" /usr/share/ovn/ovn-nb.ovsschema
  ovsdb-tool create "$S/ovn/ovnsb_db.db" /usr/share/ovn/ovn-sb.ovsschema
  start_infra
  local sql="" d
  for d in keystone glance placement nova_api nova nova_cell0 neutron cinder; do
    sql+="CREATE DATABASE IF NOT EXISTS $d; "
  done
  sql+="CREATE USER IF NOT EXISTS 'kos'@'127.0.0.1' IDENTIFIED BY '$PW'; GRANT ALL ON *.* TO 'kos'@'127.0.0.1'; FLUSH PRIVILEGES;"
  mariadb --socket="$RUN/mysql.sock" -uroot -e "$sql"

  local k="--config-file $ETC/keystone/keystone.conf"
  log "keystone db sync"
  # shellcheck disable=SC2086
  { "$V/bin/keystone-manage" $k db_sync
    "$V/bin/keystone-manage" $k fernet_setup --keystone-user root --keystone-group root
    "$V/bin/keystone-manage" $k credential_setup --keystone-user root --keystone-group root
    "$V/bin/keystone-manage" $k bootstrap --bootstrap-password "$PW" --bootstrap-admin-url "$KS/v3/" \
      --bootstrap-internal-url "$KS/v3/" --bootstrap-public-url "$KS/v3/" --bootstrap-region-id RegionOne
  } >>"$LOG/bootstrap.log" 2>&1
  start_keystone
  log "catalog and service users"
  OS_CLIENT_CONFIG_FILE="$S/clouds.yaml" "$V/bin/python" "$here/bootstrap.py" catalog >>"$LOG/bootstrap.log" 2>&1 \
    || die "catalog bootstrap failed, see $LOG/bootstrap.log"

  log "database schemas (a few minutes on 2 cores)"
  local n="--config-file $ETC/nova/nova.conf"
  # shellcheck disable=SC2086
  local jobs=() j
  {
    "$V/bin/glance-manage" --config-file "$ETC/glance/glance-api.conf" db_sync & jobs+=($!)
    "$V/bin/placement-manage" --config-file "$ETC/placement/placement.conf" db sync & jobs+=($!)
    "$V/bin/cinder-manage" --config-file "$ETC/cinder/cinder.conf" db sync & jobs+=($!)
    "$V/bin/neutron-db-manage" --config-file "$ETC/neutron/neutron.conf" \
      --config-file "$ETC/neutron/ml2_conf.ini" upgrade head & jobs+=($!)
    "$V/bin/nova-manage" $n api_db sync
    "$V/bin/nova-manage" $n cell_v2 map_cell0 --database_connection "$DB/nova_cell0"
    "$V/bin/nova-manage" $n cell_v2 create_cell --name cell1
    "$V/bin/nova-manage" $n db sync
  } >>"$LOG/bootstrap.log" 2>&1 || die "nova database sync failed, see $LOG/bootstrap.log"
  # Wait for these jobs only: a bare `wait` would also wait for the services started above.
  for j in "${jobs[@]}"; do wait "$j" || die "database sync failed, see $LOG/bootstrap.log"; done
  start_services
  wait_compute
  "$V/bin/nova-manage" $n cell_v2 discover_hosts --verbose >>"$LOG/bootstrap.log" 2>&1
  log "flavor, image, volume type, public network, demo project"
  qemu-img create -f qcow2 "$S/tiny.qcow2" 16M >/dev/null
  OS_CLIENT_CONFIG_FILE="$S/clouds.yaml" KOS_TINY_IMAGE="$S/tiny.qcow2" \
    "$V/bin/python" "$here/bootstrap.py" resources >>"$LOG/bootstrap.log" 2>&1 \
    || die "resource bootstrap failed, see $LOG/bootstrap.log"
  touch "$S/bootstrapped"
  log "bootstrapped"
}

wait_compute() {  # nova-compute registered and its resource provider known to placement
  wait_for 240 "nova-compute service and hypervisor" env OS_CLIENT_CONFIG_FILE="$S/clouds.yaml" \
    "$V/bin/python" "$here/bootstrap.py" compute-ready
}

# A port of ours answering while the process we recorded for it is gone means a process this
# script does not know (a lost PID file, or another program): refuse rather than use it.
PORTS="mariadb:3306 rabbitmq:5672 memcached:11211 ovn-nb:6641 ovn-sb:6642 keystone:5000 glance:9292
  placement:8778 nova-api:8774 neutron-api:9696 cinder-api:8776"
check_ports() {
  local entry name port
  for entry in $PORTS; do
    name=${entry%%:*}; port=${entry##*:}
    if ! is_running "$name" && python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; then
      die "port $port ($name) is taken by a process this harness did not record; stop it first"
    fi
  done
}

start() {
  if [ ! -f "$S/bootstrapped" ]; then bootstrap; return 0; fi
  check_ports
  write_configs   # configs follow this script; databases and keys stay
  ovs_env
  start_infra
  start_keystone
  start_services
  wait_compute
  log "cloud ready (clouds.yaml: $S/clouds.yaml)"
}

stop_all() {  # TERM every recorded process group at once, KILL what is left after 20 s
  local p pid pids=() i left
  for p in $ALL_PROCS; do
    [ -f "$RUN/$p.pid" ] || continue
    pid=$(cat "$RUN/$p.pid")
    if alive "$pid"; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for i in $(seq 1 100); do
    left=0
    for pid in "${pids[@]}"; do alive "$pid" && left=1; done
    [ $left -eq 0 ] && break
    sleep 0.2
  done
  # Forked workers share their service's process group: none may survive it.
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; done
  for p in $ALL_PROCS; do is_running "$p" || rm -f "$RUN/$p.pid"; done
}

purge_queue() {  # the cloud's own oslo.messaging stack (kombu) speaks AMQP to the cloud's RabbitMQ
  [ -n "${1:-}" ] || die "usage: cloud.sh purge-queue NAME"
  "$V/bin/python" -c 'import sys, kombu
try:
    with kombu.Connection(sys.argv[2]) as conn:
        print(conn.default_channel.queue_purge(sys.argv[1]))
except Exception as exc:  # a message, not a traceback: no such queue, or RabbitMQ down
    sys.exit("cloud.sh purge-queue %s: %s" % (sys.argv[1], exc))' "$1" "amqp://${RABBIT#rabbit://}"
}

status() {
  local p rc=0
  for p in $ALL_PROCS; do
    if is_running "$p"; then echo "running  $p (pid $(cat "$RUN/$p.pid"))"; else echo "stopped  $p"; rc=3; fi
  done
  return $rc
}

# One cloud at a time: install, start, stop and bootstrap of this checkout's cloud never overlap
# (make test installs beside the static checks; the cloud suite's own install then waits for it).
case ${1:-} in
  install|start|stop|bootstrap)
    mkdir -p "$(dirname "$S")"
    exec 9>"$S.lock"
    flock 9 ;;
esac

case ${1:-} in
  install) install ;;
  bootstrap) bootstrap ;;
  start) start ;;
  stop) stop_all; log "stopped" ;;
  status) status ;;
  clouds-yaml) echo "$S/clouds.yaml" ;;
  purge-queue) purge_queue "${2:-}" ;;
  *) echo "usage: $0 install|bootstrap|start|stop|status|clouds-yaml|purge-queue NAME" >&2; exit 2 ;;
esac
