"""etcdctl STAND-IN for tests/unit/roles/test_etcd_upgrade_check.py (a mock: no etcd runs in unit
tests). Answers `endpoint status --cluster -w json` in etcdctl 3.4/3.5's JSON shape, one entry per
URL of --endpoints, with the versions of KOS_STANDIN_VERSIONS (comma-separated, in that order)."""

import json
import os
import sys


def main(argv):
    endpoints = next(a.split("=", 1)[1] for a in argv if a.startswith("--endpoints=")).split(",")
    versions = os.environ["KOS_STANDIN_VERSIONS"].split(",")
    if argv[-4:] != ["status", "--cluster", "-w", "json"]:
        sys.stderr.write("etcdctl stand-in: only 'endpoint status --cluster -w json' is replayed\n")
        return 2
    out = [{"Endpoint": url, "Status": {"header": {"member_id": 1000 + i}, "version": version, "leader": 1000}}
           for i, (url, version) in enumerate(zip(endpoints, versions, strict=True))]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
