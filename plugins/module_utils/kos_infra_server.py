# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""Servers: created together, then one poll loop waits for all; a server in ERROR is deleted
(and reported), so a rerun builds it again. A server an earlier run left in BUILD is waited for until
its build time (``openstack_infra_timeout`` from its creation) is up, then deleted and created again:
Nova never ends a build whose request was lost (nova-api died between recording the build request
and casting it to nova-conductor), and such a server stays in BUILD forever. Ownership: tag and
metadata ``kos_cluster``.
"""

from __future__ import annotations

import datetime
import time

from ansible_collections.kos.platform.plugins.module_utils.kos_infra_resource import InfraResource, ProvisionError


def port_gone(exc):
    """True for Nova's answer to a server create whose port was deleted meanwhile."""
    text = str(exc)
    return "Port id" in text and "could not be found" in text


def host_servers(servers, cluster, hosts):
    """The servers of ``hosts`` that are the cluster's: named after the host and carrying the
    metadata ``kos_cluster=<cluster>`` (a same-named server of another owner or cluster is not)."""
    wanted = set(hosts)
    return [s for s in servers if s.name in wanted and (s.metadata or {}).get("kos_cluster") == cluster]


def build_deadline(server, now, timeout):
    """The time (epoch seconds) by which ``server``, found in BUILD, must be ACTIVE: ``timeout``
    after Nova created it, and never later than ``timeout`` from ``now``. Nova's ``created`` is
    UTC (ISO 8601, ``2026-12-01T21:20:00Z``); without a readable one the server gets the whole
    ``timeout`` from now. The controller's clock is compared with Nova's: a server of a cloud whose
    clock runs behind by more than the timeout is replaced at once (it only ever applies to a
    server still in BUILD)."""
    text = getattr(server, "created_at", None) or ""
    try:
        created = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return now + timeout
    if created.tzinfo is None:
        created = created.replace(tzinfo=datetime.timezone.utc)
    return min(now + timeout, created.timestamp() + timeout)


class Servers(InfraResource):
    """One server per host, on its port, in its role's server group."""

    def replace_errored(self):
        """Delete the cluster's servers in ERROR (they are created again by ``ensure``).

        Runs before the ports step: deleting a server may delete its port too, and that step then
        re-creates it in the same run.
        """
        conn = self.conn
        existing = self._existing_servers()
        errored = [s for s in existing.values() if s.status == "ERROR"]
        for server in errored:
            self._change("delete server %s (status ERROR) to create it again" % server.name)
        if self.check_mode or not errored:
            return
        self._parallel(conn.compute.delete_server, errored)
        for server in errored:
            conn.compute.wait_for_delete(server, interval=self.poll, wait=self.timeout)
            existing.pop(server.name)

    def ensure(self, ports, sgroups):
        conn = self.conn
        self.replace_errored()
        existing = self._existing_servers()
        # Servers a run left in BUILD (it was interrupted, or Nova's API died meanwhile) are adopted once
        # they are ACTIVE: Nova refuses to attach volumes or change anything on a server still building
        # (409 "while it is in vm_state building"), which the steps after this one would meet. One still
        # in BUILD when its build time is up never will be (see the module's docstring): replaced.
        building = {s.id: s for s in existing.values() if s.status == "BUILD"}
        if building:
            now = time.time()
            deadlines = {i: build_deadline(s, now, self.timeout) for i, s in building.items()}
            if self.check_mode:
                stuck = [s for i, s in building.items() if deadlines[i] <= now]
            else:
                done, late = self._wait_servers(deadlines, late_ok=True)
                for server in done:
                    existing[server.name] = server
                stuck = [building[i] for i in late if i in building]
                for i in sorted(set(building) - set(late) - {s.id for s in done}):
                    # Deleted by somebody else while this run waited: created again below.
                    name = building[i].name
                    self._change("server %s was in BUILD and is gone (deleted meanwhile): create it again" % name)
                    existing.pop(name, None)
            self._replace_stuck(existing, stuck)
        images, flavors = self._lookups.get("images", {}), self._lookups.get("flavors", {})
        to_create = []
        result = {}
        for s in self.plan["servers"]:
            have = existing.get(s["name"])
            if have is None:
                to_create.append(s)
                continue
            result[s["name"]] = have
            if any((have.metadata or {}).get(k) != v for k, v in s["metadata"].items()):
                self._change("update metadata of server %s" % s["name"])
                if not self.check_mode:
                    conn.compute.set_server_metadata(have, **s["metadata"])
        for s in to_create:
            self._change(
                "create server %s (%s, %s, %s%s%s)"
                % (
                    s["name"],
                    s["flavor"],
                    s["image"],
                    s["server_group"],
                    ", zone %s" % s["availability_zone"] if s["availability_zone"] else "",
                    ", boot volume %d GiB" % s["boot_volume"]["size"] if s.get("boot_volume") else "",
                )
            )
        if self.check_mode or not to_create:
            return result

        def create(s):
            image = images.get(s["image"]) or conn.image.find_image(s["image"], ignore_missing=False)
            flavor = flavors.get(s["flavor"]) or conn.compute.find_flavor(s["flavor"], ignore_missing=False)
            attrs = dict(
                name=s["name"],
                flavor_id=flavor.id,
                networks=[{"port": ports[s["name"]].id}],
                key_name=self.plan["keypair"]["name"],
                metadata=s["metadata"],
                tags=[self.tag],
                scheduler_hints={"group": sgroups[s["server_group"]].id},
            )
            if s["availability_zone"]:
                attrs["availability_zone"] = s["availability_zone"]
            boot = s.get("boot_volume")
            if boot:
                # Boot from a volume Nova has Cinder create from the image; it goes with the server.
                mapping = dict(
                    boot_index=0,
                    uuid=image.id,
                    source_type="image",
                    destination_type="volume",
                    volume_size=boot["size"],
                    delete_on_termination=True,
                )
                if boot["volume_type"]:
                    mapping["volume_type"] = boot["volume_type"]
                attrs["block_device_mapping"] = [mapping]
            else:
                attrs["image_id"] = image.id
            try:
                return conn.compute.create_server(**attrs)
            except Exception as exc:  # noqa: BLE001 - only the one case below is handled
                if not port_gone(exc):
                    raise
            # Nova deleted the port with a server in ERROR: the port again, then the server.
            self._change("re-create port %s (Nova deleted it with a failed server)" % s["port"]["name"])
            port = self.ctx.ports.recreate(s)
            ports[s["name"]] = port
            attrs["networks"] = [{"port": port.id}]
            return conn.compute.create_server(**attrs)

        created = self._parallel(create, to_create)
        done = self._wait_servers({c.id for c in created})
        result.update({s.name: s for s in done})
        return result

    def _replace_stuck(self, existing, stuck):
        """Delete the servers whose build outlived its time (``ensure`` creates them again)."""
        for server in sorted(stuck, key=lambda s: s.name):
            self._change(
                "delete server %s: in BUILD since %s, longer than openstack_infra_timeout (%ss); its build "
                "never went on (a lost build request), create it again" % (server.name, server.created_at, self.timeout)
            )
            existing.pop(server.name, None)
        if self.check_mode or not stuck:
            return
        self._parallel(self.conn.compute.delete_server, stuck)
        for server in stuck:
            self.conn.compute.wait_for_delete(server, interval=self.poll, wait=self.timeout)

    def _wait_servers(self, ids, late_ok=False):
        """One listing per poll for all the servers; ERROR ones are deleted, then reported.

        ``ids``: server IDs, or a mapping of server ID to the time by which that one must be ACTIVE
        (all get ``openstack_infra_timeout`` from now otherwise). A server still building at its
        time fails the run, or with ``late_ok`` its ID is returned in the second list instead; with
        ``late_ok`` a server no longer listed (deleted meanwhile) is in neither list.
        """
        conn = self.conn
        if isinstance(ids, dict):
            pending = dict(ids)
        else:
            deadline = time.time() + self.timeout
            pending = dict.fromkeys(ids, deadline)
        done, failed, late = [], [], []
        while pending:
            listed = set()
            for s in conn.compute.servers(details=True):
                if s.id not in pending:
                    continue
                listed.add(s.id)
                if s.status == "ACTIVE":
                    done.append(s)
                    pending.pop(s.id)
                elif s.status == "ERROR":
                    failed.append(s)
                    pending.pop(s.id)
            now = time.time()
            if late_ok:
                for i in [i for i in pending if i not in listed]:
                    pending.pop(i)
            overdue = sorted(i for i, at in pending.items() if now > at)
            if overdue and not late_ok:
                raise ProvisionError(
                    "servers not ACTIVE after %ss: %s (rerun to continue)" % (self.timeout, ", ".join(sorted(pending)))
                )
            for i in overdue:
                pending.pop(i)
                late.append(i)
            if not pending:
                break
            time.sleep(self.poll)
        if failed:
            reasons = []
            for s in failed:
                fault = (conn.compute.get_server(s.id).fault or {}).get("message", "no fault message")
                reasons.append("%s: %s" % (s.name, fault))
                conn.compute.delete_server(s)
            raise ProvisionError("servers failed to build and were deleted (rerun to retry): %s" % "; ".join(reasons))
        if late_ok:
            return done, late
        return done

    def teardown(self, note, cluster):
        conn = self.conn
        servers = [s for s in conn.compute.servers(details=True) if (s.metadata or {}).get("kos_cluster") == cluster]
        self.delete(note, servers)

    def of_hosts(self, cluster, hosts):
        """The cluster's servers of the named hosts (see ``host_servers``)."""
        return host_servers(self.conn.compute.servers(details=True), cluster, hosts)

    def delete(self, note, servers):
        """Delete ``servers`` together, then wait until each is gone (within the timeout)."""
        conn = self.conn
        for s in servers:
            note("server", s.name)
        if not self.check_mode and servers:
            self._parallel(conn.compute.delete_server, servers)
            for s in servers:
                conn.compute.wait_for_delete(s, interval=self.poll, wait=self.timeout)
