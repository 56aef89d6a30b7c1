"""Seed a large Keystone through Keystone's own Python backend, in-process (fast, real data).

Run with the keystone venv's python, before gunicorn starts:
    seed_backend.py KEYSTONE_CONF PROJECTS USERS DIRECT_GRANTS GROUPS GROUP_SIZE GROUP_GRANTS INHERITED

The managers (resource, identity, assignment) write exactly what the REST API would write,
without HTTP, tokens and policy checks, so 30,000 objects take a minute instead of twelve.
Deterministic: the same parameters give the same names, memberships and grants.
"""

import random
import sys
import time
import uuid

import keystone.conf
import sqlalchemy
from keystone.common import provider_api, sql
from keystone.server import backends


@sqlalchemy.event.listens_for(sqlalchemy.engine.Engine, 'connect')
def _fast_sqlite(dbapi_connection, _record):
    # Seeding only: no fsync per commit (a crash here just means seeding again).
    cursor = dbapi_connection.cursor()
    cursor.execute('PRAGMA synchronous=OFF')
    cursor.execute('PRAGMA journal_mode=MEMORY')
    cursor.close()


def in_batches(items, action, size=500):
    """Apply action to every item, one database transaction per batch (a commit per 500, not per row).

    Keystone's managers open their sessions through the same enginefacade context, so they join
    the outer transaction.
    """
    items = list(items)
    results = []
    for start in range(0, len(items), size):
        with sql.session_for_write():
            results.extend(action(item) for item in items[start:start + size])
    return results


def main(argv):
    conf_file = argv[1]
    n_projects, n_users, n_direct, n_groups, group_size, n_group_grants, n_inherited = map(int, argv[2:9])
    CONF = keystone.conf.CONF
    keystone.conf.configure()
    sql.initialize()
    CONF(args=[], project='keystone', default_config_files=[conf_file])
    backends.load_backends()
    apis = provider_api.ProviderAPIs
    resource, identity, assignment = apis.resource_api, apis.identity_api, apis.assignment_api
    rng = random.Random(20240601)
    started = time.time()

    roles = {r['name']: r['id'] for r in apis.role_api.list_roles()}
    weighted = [roles['reader']] * 5 + [roles['member']] * 4 + [roles['admin']]

    domain_id = uuid.UUID(int=rng.getrandbits(128)).hex
    resource.create_domain(domain_id, {'id': domain_id, 'name': 'bench', 'enabled': True})
    projects = [uuid.UUID(int=rng.getrandbits(128)).hex for _ in range(n_projects)]
    in_batches(enumerate(projects), lambda item: resource.create_project(item[1], {
        'id': item[1], 'name': 'tenant-%04d' % item[0], 'domain_id': domain_id, 'parent_id': domain_id,
        'is_domain': False, 'enabled': True, 'description': ''}))
    print('seed: %d projects in %.0f s' % (n_projects, time.time() - started), flush=True)

    users = in_batches(range(n_users), lambda i: identity.create_user(
        {'name': 'user-%05d' % i, 'domain_id': domain_id, 'enabled': True})['id'])
    print('seed: %d users in %.0f s' % (n_users, time.time() - started), flush=True)

    groups = in_batches(range(n_groups), lambda i: identity.create_group(
        {'name': 'group-%03d' % i, 'domain_id': domain_id})['id'])
    memberships = [(uid, gid) for gid in groups for uid in rng.sample(users, group_size)]
    in_batches(memberships, lambda m: identity.add_user_to_group(m[0], m[1]))
    print('seed: %d groups x %d members in %.0f s' % (n_groups, group_size, time.time() - started), flush=True)

    done = set()
    while len(done) < n_direct:
        key = (rng.choice(users), rng.choice(projects), rng.choice(weighted))
        done.add(key)
    in_batches(sorted(done), lambda key: assignment.create_grant(key[2], user_id=key[0], project_id=key[1]))
    group_done = set()
    while len(group_done) < n_group_grants:
        group_done.add((rng.choice(groups), rng.choice(projects), rng.choice(weighted)))
    in_batches(sorted(group_done), lambda key: assignment.create_grant(key[2], group_id=key[0], project_id=key[1]))
    for uid in rng.sample(users, n_inherited):
        assignment.create_grant(roles['reader'], user_id=uid, domain_id=domain_id, inherited_to_projects=True)
    print('seed: %d user + %d group + %d inherited grants in %.0f s'
          % (n_direct, n_group_grants, n_inherited, time.time() - started), flush=True)


if __name__ == '__main__':
    main(sys.argv)
