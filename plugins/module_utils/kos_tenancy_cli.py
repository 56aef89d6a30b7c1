# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""Command line for the Keystone tenancy converter (cron, Jenkins).

    python -m ansible_collections.kos.platform.plugins.module_utils.kos_tenancy_cli \\
        --cloud admin-system --abac-file abac.jsonl --manifests-dir tenancy/ [--config rules.yml]
        [--check] [--diff] [--prune] [--json]

Credentials come from clouds.yaml (--cloud) or the OS_* environment, as for the openstack CLI.
The rules file (YAML or JSON) takes the module's option names: role_mapping, skip_projects,
namespace_format, namespace_prefix, namespace_overrides, sticky_namespaces,
project_group_permission, level_cluster_roles, include_disabled, protected_namespaces,
keystone_auth_sync_data_types, abac_discovery.

Exit status: 0 nothing to change, 2 files changed (or would change with --check), 1 error.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys

from ansible_collections.kos.platform.plugins.module_utils.kos_openstack import (
    ApiCallCounter,
    OpenStackConnectError,
    connect,
    explain_error,
    openstack_errors,
)
from ansible_collections.kos.platform.plugins.module_utils.kos_tenancy import (
    Rules,
    TenancyError,
    convert,
    read_keystone,
    write_files,
)

RULE_KEYS = ('role_mapping', 'skip_projects', 'namespace_format', 'namespace_prefix', 'namespace_overrides',
             'sticky_namespaces', 'project_group_permission', 'level_cluster_roles', 'include_disabled',
             'protected_namespaces', 'keystone_auth_sync_data_types', 'abac_discovery')


def load_rules(path):
    if not path:
        return Rules()
    with open(path, encoding='utf-8') as handle:
        text = handle.read()
    try:
        data = json.loads(text)
    except ValueError:
        import yaml  # the controller has PyYAML (ansible-core needs it)
        data = yaml.safe_load(text)
    data = data or {}
    unknown = sorted(set(data) - set(RULE_KEYS))
    if unknown:
        raise TenancyError('%s: unknown keys %s (known: %s)' % (path, ', '.join(unknown), ', '.join(RULE_KEYS)))
    return Rules(**data)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='kos-tenancy', description=__doc__.split('\n\n', 1)[0])
    parser.add_argument('--cloud', help='cloud name in clouds.yaml (default: OS_* environment)')
    parser.add_argument('--config', help='rules file (YAML or JSON, module option names)')
    parser.add_argument('--abac-file')
    parser.add_argument('--manifests-dir')
    parser.add_argument('--keystone-auth-file')
    parser.add_argument('--resource-quotas', action='store_true')
    parser.add_argument('--prune', action='store_true')
    parser.add_argument('--check', action='store_true', help='report, write nothing')
    parser.add_argument('--diff', action='store_true', help='print unified diffs of the files')
    parser.add_argument('--json', action='store_true', help='print the result as JSON')
    parser.add_argument('--mode', default='0644')
    args = parser.parse_args(argv)
    if not (args.abac_file or args.manifests_dir or args.keystone_auth_file):
        parser.error('one of --abac-file, --manifests-dir, --keystone-auth-file is required')
    return args


def main(argv=None, out=sys.stdout, err=sys.stderr):
    args = parse_args(argv)
    params = {'cloud': args.cloud}
    try:
        rules = load_rules(args.config)
        conn = connect(params)
        counter = ApiCallCounter(conn)
        snapshot = read_keystone(conn, rules.role_mapping, with_quotas=args.resource_quotas,
                                 project_filter=lambda p: rules.skips(p) is None)
        plan, changes, summary = convert(snapshot, rules, abac_file=args.abac_file,
                                         manifests_dir=args.manifests_dir,
                                         keystone_auth_file=args.keystone_auth_file, prune=args.prune)
        if changes and not args.check:
            write_files(changes, mode=int(args.mode, 8))
    except (TenancyError, OpenStackConnectError, OSError) as exc:
        err.write('kos-tenancy: error: %s\n' % exc)
        return 1
    except openstack_errors() as exc:
        err.write('kos-tenancy: error: %s\n' % explain_error(exc, params))
        return 1
    for message in summary['warnings']:
        err.write('kos-tenancy: warning: %s\n' % message)
    if args.diff:
        for change in changes:
            d = change.diff()
            out.writelines(difflib.unified_diff(d['before'].splitlines(True), d['after'].splitlines(True),
                                                d['before_header'], d['after_header']))
    summary['files'] = [{'path': c.path, 'action': c.action} for c in changes]
    summary['changed'] = bool(changes)
    summary['api_calls'] = counter.total
    if args.json:
        out.write(json.dumps(summary, indent=2, sort_keys=True) + '\n')
    else:
        verb = 'would ' if args.check else ''
        out.write('%d namespaces, %d projects skipped, %d orphaned, %d pruned; %s%s %d files; %d API calls\n' % (
            len(summary['namespaces']), len(summary['skipped_projects']), len(summary['orphaned_namespaces']),
            len(summary['pruned_namespaces']), verb, 'change' if args.check else 'changed', len(changes),
            counter.total))
        for change in changes:
            out.write('  %s %s\n' % (change.action, change.path))
    return 2 if changes else 0


if __name__ == '__main__':
    raise SystemExit(main())
