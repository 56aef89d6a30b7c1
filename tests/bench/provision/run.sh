#!/usr/bin/env bash
# Benchmark "provision": on the test cloud (real OpenStack APIs, fake hypervisor and block
# storage), time kos.platform.openstack_infra provisioning 3 and 30 servers in parallel and a
# serial loop of openstack.cloud.server over 30 servers, in the same run; print the ratios.
# The cloud is stopped by PID when the benchmark ends, whatever happens.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
cloud=$top/tests/integration/cloud/cloud.sh
cd "$top"
"$cloud" install
trap '"$cloud" stop' EXIT
"$cloud" start
export PATH="$top/.venv/bin:$PATH"
python "$here/bench.py" "$("$cloud" clouds-yaml)"
