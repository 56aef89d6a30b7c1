# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""The base of every resource kind the provisioner manages (in the manner of openstack.cloud's
module_utils/resource.py, which serves many modules from one find / create / update / delete
state machine).

A run shares one context (``kos_infra.Provisioner``): the connection, the plan, check mode,
timeouts, the list of changes and the lookups preflight made. Each resource kind
(``kos_infra_<kind>.py``) subclasses ``InfraResource`` and reads that context through it, so a
kind knows how to find, create, compare and delete its own objects and nothing else.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor


class ProvisionError(Exception):
    """A problem found while talking to the cloud, already phrased for the operator."""


class InfraResource:
    """One resource kind, working on the shared context of a run."""

    def __init__(self, ctx):
        self.ctx = ctx

    # The shared context, read through the kind.
    @property
    def conn(self):
        return self.ctx.conn

    @property
    def plan(self):
        return self.ctx.plan

    @property
    def check_mode(self):
        return self.ctx.check_mode

    @property
    def timeout(self):
        return self.ctx.timeout

    @property
    def poll(self):
        return self.ctx.poll

    @property
    def tag(self):
        return self.ctx.tag

    @property
    def _lookups(self):
        return self.ctx._lookups

    # -- helpers shared by every kind -----------------------------------------------------
    def _change(self, text):
        self.ctx.changes.append(("would " if self.check_mode else "") + text)

    def _parallel(self, func, items):
        items = list(items)
        if not items:
            return []
        with ThreadPoolExecutor(max_workers=min(self.ctx.parallelism, len(items))) as pool:
            return list(pool.map(func, items))

    def _tagged(self, listing, **query):
        return [r for r in listing(tags=self.tag, **query)]

    def _create_tagged(self, create, delete, **attrs):
        """Create a Neutron resource, then tag it (this Neutron refuses tags in POST).

        The tag is what makes it ours: if tagging fails, the resource is deleted again, so a
        failed run leaves no untagged orphan that teardown could not find.
        """
        attrs.pop("tags", None)
        res = create(**attrs)
        try:
            self.conn.network.set_tags(res, [self.tag])
        except Exception:
            delete(res)
            raise
        res.tags = [self.tag]
        return res

    def _existing_servers(self):
        """The cluster's servers by name (one listing per run, shared by preflight and servers)."""
        if "servers" not in self._lookups:
            self._lookups["servers"] = {
                s.name: s
                for s in self.conn.compute.servers(details=True)
                if (s.metadata or {}).get("kos_cluster") == self.plan["cluster"]
            }
        return self._lookups["servers"]
