"""Converter vs the naive approach, against the same large Keystone, in one run.

Converter: constant calls (domains, projects, roles, users, ONE effective role-assignment list).
Naive (what a first utility does): list projects, then for every project its effective role
assignments, then every user seen fetched one by one for name, domain and enabled flag.
Both produce a Snapshot; the ABAC output of both must be identical (checked, not assumed).
Prints calls and wall times side by side and their ratios. Never asserts on time.
"""

from __future__ import annotations

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(TOP, '.collections'))

from ansible_collections.kos.platform.plugins.module_utils.kos_openstack import ApiCallCounter, connect  # noqa: E402
from ansible_collections.kos.platform.plugins.module_utils.kos_tenancy import (  # noqa: E402
    PAGE_SIZE,
    Assignment,
    Project,
    Rules,
    Snapshot,
    User,
    build_plan,
    read_keystone,
    render_abac,
)


def params():
    return {'auth': {'auth_url': os.environ['KOS_KEYSTONE_URL'], 'username': 'admin',
                     'password': os.environ['KOS_KEYSTONE_ADMIN_PASSWORD'], 'project_name': 'admin',
                     'user_domain_name': 'Default', 'project_domain_name': 'Default'},
            'region_name': 'RegionOne', 'api_retries': 0, 'api_timeout': 600}


def read_naive(conn):
    identity = conn.identity
    domains = {d.id: d.name for d in identity.domains()}
    projects = [Project(p.id, p.name, p.domain_id, domains.get(p.domain_id, p.domain_id), bool(p.is_enabled),
                        bool(p.is_domain)) for p in identity.projects(limit=PAGE_SIZE)]
    role_names = {r.id: r.name for r in identity.roles()}
    assignments, users = [], {}
    for project in projects:
        if project.is_domain:
            continue
        for ra in identity.role_assignments(scope_project_id=project.id, effective=True):
            if not ra.user:
                continue
            assignments.append(Assignment(ra.user['id'], project.id, role_names[ra.role['id']]))
            if ra.user['id'] not in users:
                u = identity.get_user(ra.user['id'])
                users[u.id] = User(u.id, u.name, u.domain_id, bool(u.is_enabled))
    return Snapshot(projects, users.values(), assignments, role_names.values())


def read_fast(conn):
    return read_keystone(conn, Rules().role_mapping)


def measure(reader):
    conn = connect(params())
    counter = ApiCallCounter(conn)
    started = time.perf_counter()
    snapshot = reader(conn)
    rules = Rules()
    plan = build_plan(snapshot, rules)
    abac = render_abac(plan, rules)
    return time.perf_counter() - started, counter.total, abac, plan, snapshot


def main():
    # The converter runs first, on Keystone's cold caches; the naive reader then has them warm.
    # The order favours the naive approach, so the ratio is conservative.
    fast_time, fast_calls, fast_abac, plan, snapshot = measure(read_fast)
    print('keystone: %d projects, %d users, %d effective (user, project, role) rows'
          % (len(snapshot.projects), len(snapshot.users), len(snapshot.assignments)), flush=True)
    print('converter: %8.2f s %7d API calls -> %d namespaces, %d ABAC lines'
          % (fast_time, fast_calls, len(plan.namespaces), fast_abac.count('\n')), flush=True)
    slow_time, slow_calls, slow_abac, _, _ = measure(read_naive)
    print('naive:     %8.2f s %7d API calls' % (slow_time, slow_calls))
    same = slow_abac == fast_abac
    print('same ABAC output: %s' % ('yes' if same else 'NO'))
    print('ratio naive/converter: wall time %.1fx, API calls %.0fx' % (slow_time / fast_time, slow_calls / fast_calls))
    return 0 if same else 1


if __name__ == '__main__':
    sys.exit(main())
