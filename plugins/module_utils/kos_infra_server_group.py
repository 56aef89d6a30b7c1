# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""Server groups, one per role (``<cluster>-<role>``): they carry no tag or metadata, so the
name is the ownership mark. A policy cannot change on an existing group.
"""

from __future__ import annotations

from ansible_collections.kos.platform.plugins.module_utils.kos_infra_resource import InfraResource, ProvisionError


class ServerGroups(InfraResource):
    """One server group per role, with the role's scheduling policy."""

    def ensure(self):
        conn = self.conn
        found = {}
        for g in conn.compute.server_groups():
            found.setdefault(g.name, g)
        out = {}
        for name, g in self.plan["server_groups"].items():
            have = found.get(name)
            if have is not None:
                policy = have.policy or (have.policies or [None])[0]
                if policy != g["policy"]:
                    raise ProvisionError(
                        "server group %s exists with policy %s, the plan wants %s: a server group's policy "
                        "cannot change; tear the cluster down or set the policy back" % (name, policy, g["policy"])
                    )
                out[name] = have
                continue
            self._change("create server group %s (%s)" % (name, g["policy"]))
            out[name] = None if self.check_mode else conn.compute.create_server_group(name=name, policy=g["policy"])
        return out

    def teardown(self, note, names):
        conn = self.conn
        for g in conn.compute.server_groups():
            if g.name in names:
                note("server group", g.name)
                if not self.check_mode:
                    conn.compute.delete_server_group(g)
