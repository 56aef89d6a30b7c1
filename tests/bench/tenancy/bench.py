"""Converter vs the naive approach, against the same large Keystone, in one run.

Converter (effective='converter', the default): paged lists (domains, projects, users, groups),
the mapped roles, the implication rules, ONE raw role-assignment list and the member list of
each group holding an assignment; effectiveness resolved in the converter (resolve_effective).
Converter asking Keystone (effective='keystone', the earlier design): the same lists and ONE
GET /v3/role_assignments?effective.
Naive (what a first utility does): list projects, then for every project its effective role
assignments, then every user seen fetched one by one for name, domain and enabled flag.
All produce a Snapshot; the ABAC output of all three must be identical (checked, not assumed).
Prints calls and wall times side by side, their ratios, and where the converter's time goes
(seconds per request path, the rest is client-side work). Never asserts on time.
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


def read_keystone_effective(conn):
    return read_keystone(conn, Rules().role_mapping, effective='keystone')


class RequestTimer:
    """Seconds spent waiting for Keystone, per method and path (IDs folded to {id}): the sum of the
    requests' times and the span from the first start to the last end (parallel requests overlap)."""

    def __init__(self, conn):
        self.by_path = {}
        self.spans = {}
        session = conn.session
        original = session.request

        def timed_request(url, method, *args, **kwargs):
            started = time.perf_counter()
            try:
                return original(url, method, *args, **kwargs)
            finally:
                path = str(url).split('?', 1)[0].split('/v3', 1)[-1]
                key = '%s %s' % (method, '/'.join('{id}' if len(part) == 32 else part for part in path.split('/')))
                ended = time.perf_counter()
                calls, seconds = self.by_path.get(key, (0, 0.0))
                self.by_path[key] = (calls + 1, seconds + ended - started)
                first, last = self.spans.get(key, (started, ended))
                self.spans[key] = (min(first, started), max(last, ended))

        session.request = timed_request

    def span(self, key):
        first, last = self.spans[key]
        return last - first


def measure(reader):
    conn = connect(params())
    counter = ApiCallCounter(conn)
    timer = RequestTimer(conn)
    started = time.perf_counter()
    snapshot = reader(conn)
    rules = Rules()
    plan = build_plan(snapshot, rules)
    abac = render_abac(plan, rules)
    return time.perf_counter() - started, counter.total, abac, plan, snapshot, timer


def main():
    # The converter runs first, on Keystone's cold caches; the other readers then have them warm.
    # The order favours them, so the ratios are conservative.
    fast_time, fast_calls, fast_abac, plan, snapshot, timer = measure(read_fast)
    print('keystone: %d projects, %d users, %d effective (user, project, mapped role) rows'
          % (len(snapshot.projects), len(snapshot.users), len(snapshot.assignments)), flush=True)
    print('converter:  %8.2f s %7d API calls -> %d namespaces, %d ABAC lines'
          % (fast_time, fast_calls, len(plan.namespaces), fast_abac.count('\n')), flush=True)
    print('  where its time goes (per request path: summed request time, and the span from first start to '
          'last end; parallel requests overlap, so their sum exceeds their span):')
    busy = 0.0
    for key, (calls, seconds) in sorted(timer.by_path.items(), key=lambda item: -item[1][1]):
        print('    %8.2f s summed, %8.2f s span, %5d x %s' % (seconds, timer.span(key), calls, key))
        busy += min(seconds, timer.span(key))
    print('    %8.2f s left for the converter itself (reading JSON, resolving, planning, rendering)'
          % max(0.0, fast_time - busy), flush=True)
    slow_time, slow_calls, slow_abac, _, _, _ = measure(read_naive)
    print('naive:      %8.2f s %7d API calls' % (slow_time, slow_calls))
    same = slow_abac == fast_abac
    print('same ABAC output (naive, converter): %s' % ('yes' if same else 'NO'))
    print('ratio naive/converter: wall time %.1fx, API calls %.0fx' % (slow_time / fast_time, slow_calls / fast_calls),
          flush=True)
    if os.environ.get('BENCH_KEYSTONE_EFFECTIVE', '1') == '1':
        # The earlier design: the same lists plus Keystone's own effective listing (minutes on its own).
        eff_time, eff_calls, eff_abac, _, _, eff_timer = measure(read_keystone_effective)
        print('converter asking Keystone for the effective listing: %8.2f s %5d API calls '
              '(GET /role_assignments?effective: %.2f s)'
              % (eff_time, eff_calls, eff_timer.by_path.get('GET /role_assignments', (0, 0.0))[1]))
        print('same ABAC output (Keystone effective, converter): %s' % ('yes' if eff_abac == fast_abac else 'NO'))
        print('ratio Keystone-effective/converter: wall time %.1fx' % (eff_time / fast_time))
        same = same and eff_abac == fast_abac
    return 0 if same else 1


if __name__ == '__main__':
    sys.exit(main())
