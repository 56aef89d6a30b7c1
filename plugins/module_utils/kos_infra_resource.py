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


def ownership_mark(cluster):
    """The description a cluster's Neutron resources carry from their create request on.

    This Neutron refuses tags in create requests, so the tag comes in a second request that a
    lost service can prevent; the description is set in the create request itself, so even an
    untagged resource is recognisably the cluster's (and is adopted or torn down by it).
    """
    return "kos.platform cluster %s" % cluster


def _attr(res, key):
    return res.get(key) if isinstance(res, dict) else getattr(res, key, None)


def untagged_marked(resources, mark, name=None):
    """Resources with the cluster's ownership mark but no cluster tag (optionally of one name)."""
    return [
        r
        for r in resources
        if _attr(r, "description") == mark
        and not any(t.startswith("kos-cluster=") for t in _attr(r, "tags") or [])
        and (name is None or _attr(r, "name") == name)
    ]


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
    def mark(self):
        """The description every Neutron resource of the cluster is created with (one request)."""
        return ownership_mark(self.ctx.cluster) if self.ctx.cluster else None

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

    @property
    def project_id(self):
        """The token's project. Every Neutron listing is scoped to it: Neutron lists every project's
        resources to an admin, and another project's cluster of the same name carries the same tag
        (a teardown with an admin's clouds.yaml entry deleted that cluster's network, ports and
        security groups)."""
        if "project_id" not in self._lookups:
            self._lookups["project_id"] = self.conn.current_project_id
        return self._lookups["project_id"]

    def _tagged(self, listing, **query):
        return list(listing(tags=self.tag, project_id=self.project_id, **query))

    def _create_tagged(self, create, delete, **attrs):
        """Create a Neutron resource, then tag it (this Neutron refuses tags in POST).

        The tag is what makes it ours: if tagging fails, the resource is deleted again, so a
        failed run leaves no untagged orphan that teardown could not find.
        """
        attrs.pop("tags", None)
        attrs.setdefault("description", self.mark)
        res = create(**attrs)
        try:
            self.conn.network.set_tags(res, [self.tag])
        except Exception:
            delete(res)
            raise
        res.tags = [self.tag]
        return res

    def _find_or_adopt(self, listing, name, what, **query):
        """The cluster's resource of this name: by tag, else an untagged one carrying the cluster's
        ownership mark (an interrupted run created it but never tagged it), which is tagged now."""
        found = next(iter(self._tagged(listing, name=name, **query)), None)
        if found is not None:
            return found
        left = untagged_marked(listing(name=name, project_id=self.project_id, **query), self.mark, name)
        if not left:
            return None
        res = left[0]
        self._change("adopt %s %s (left untagged by an interrupted run)" % (what, name))
        if not self.check_mode:
            self.conn.network.set_tags(res, [self.tag])
            res.tags = [self.tag]
        return res

    def _owned(self, listing, **query):
        """Teardown's view: tagged resources plus untagged ones carrying the ownership mark."""
        out = {r.id: r for r in self._tagged(listing, **query)}
        for r in untagged_marked(listing(project_id=self.project_id, **query), self.mark):
            out.setdefault(r.id, r)
        return list(out.values())

    def _existing_servers(self):
        """The cluster's servers by name (one listing per run, shared by preflight and servers)."""
        if "servers" not in self._lookups:
            self._lookups["servers"] = {
                s.name: s
                for s in self.conn.compute.servers(details=True)
                if (s.metadata or {}).get("kos_cluster") == self.plan["cluster"]
            }
        return self._lookups["servers"]
