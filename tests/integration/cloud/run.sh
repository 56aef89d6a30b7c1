#!/usr/bin/env bash
# Integration suite "cloud": installs and starts the test cloud (real OpenStack APIs, fake
# hypervisor and block storage), runs the provisioning tests against it, and stops every process
# of the cloud by PID whether the tests pass or fail.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
cd "$top"
"$here/cloud.sh" install
trap '"$here/cloud.sh" stop' EXIT
"$here/cloud.sh" start
export PATH="$top/.venv/bin:$PATH"
pytest -q -p no:cacheprovider --durations=12 "$here" "$@"
