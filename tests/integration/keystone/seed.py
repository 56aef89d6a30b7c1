"""Seed data of the Keystone tenancy suite, created through the real Keystone API."""

from __future__ import annotations

import os

import openstack

URL = os.environ.get('KOS_KEYSTONE_URL', 'http://127.0.0.1:35357/v3')
PASSWORD = os.environ.get('KOS_KEYSTONE_ADMIN_PASSWORD', 'kos-test-admin')
USER_PASSWORD = 'kos-test-user-pw'


def admin_auth(url=URL, password=PASSWORD):
    return {'auth_url': url, 'username': 'admin', 'password': password, 'project_name': 'admin',
            'user_domain_name': 'Default', 'project_domain_name': 'Default'}


def admin_connection():
    return openstack.connect(auth=admin_auth(), auth_type='password', region_name='RegionOne')


def role_id(conn, name):
    return conn.identity.find_role(name, ignore_missing=False).id


def seed(conn):
    """Creates the tenancy fixture; returns {'projects': {name: id}, 'users': {...}, 'groups': {...}}."""
    idn = conn.identity
    acme = idn.create_domain(name='acme', description='second domain of the tenancy suite')
    default = idn.get_domain('default')
    ids = {'domains': {'Default': default.id, 'acme': acme.id}, 'projects': {}, 'users': {}, 'groups': {}}

    def project(name, domain, parent=None, **kw):
        p = idn.create_project(name=name, domain_id=domain, parent_id=parent, **kw)
        ids['projects'][name] = p.id
        return p

    def user(name, domain, enabled=True):
        u = idn.create_user(name=name, domain_id=domain, password=USER_PASSWORD, is_enabled=enabled)
        ids['users'][name] = u.id
        return u

    web = project('web-shop', default.id)
    lake = project('Data_Lake', default.id)
    project('service', default.id)
    analytics = project('analytics', acme.id)
    ml = project('analytics-ml', acme.id, parent=analytics.id)
    ids['projects']['admin'] = idn.find_project('admin', domain_id=default.id).id
    ids['ml'] = ml.id

    alice, bob, carol = user('alice', default.id), user('bob', default.id), user('carol', default.id)
    reserved = user('system:node-x', default.id)
    dave, erin, frank = user('dave', acme.id), user('erin', acme.id, enabled=False), user('frank', acme.id)

    shop_devs = idn.create_group(name='shop-devs', domain_id=default.id)
    ml_team = idn.create_group(name='ml-team', domain_id=acme.id)
    ids['groups'] = {'shop-devs': shop_devs.id, 'ml-team': ml_team.id}
    for u in (bob, carol):
        idn.add_user_to_group(u, shop_devs)
    idn.add_user_to_group(frank, ml_team)

    admin, member, reader = (role_id(conn, r) for r in ('admin', 'member', 'reader'))
    idn.assign_project_role_to_user(web, alice, admin)
    idn.assign_project_role_to_user(web, bob, reader)
    idn.assign_project_role_to_group(web, shop_devs, member)
    idn.assign_project_role_to_user(web, reserved, member)
    idn.assign_project_role_to_user(lake, alice, reader)
    idn.assign_project_role_to_user(analytics, erin, member)
    # Inherited: dave on every project of the acme domain, ml-team on analytics' subtree only.
    idn.assign_domain_role_to_user(acme, dave, member, inherited=True)
    idn.assign_project_role_to_group(analytics, ml_team, reader, inherited=True)
    return ids


if __name__ == '__main__':
    import json
    print(json.dumps(seed(admin_connection()), indent=2))
