# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""Cinder volumes for etcd data, one per etcd member, attached to its server. Ownership:
metadata ``kos_cluster`` (volumes carry no tags).
"""

from __future__ import annotations

import time

from ansible_collections.kos.platform.plugins.module_utils.kos_infra_resource import InfraResource, ProvisionError


def host_volumes(volumes, cluster, hosts):
    """The volumes of ``hosts`` that are the cluster's: metadata ``kos_cluster=<cluster>`` and
    ``kos_host`` one of the hosts (set when the volume was created for that host)."""
    wanted = set(hosts)
    return [
        v
        for v in volumes
        if (v.metadata or {}).get("kos_cluster") == cluster and (v.metadata or {}).get("kos_host") in wanted
    ]


class Volumes(InfraResource):
    """etcd data volumes, created in parallel and attached to their members."""

    def ensure(self, servers):
        conn = self.conn
        wanted = [s for s in self.plan["servers"] if s["volume"]]
        if not wanted:
            return
        have = {
            v.name: v
            for v in conn.block_storage.volumes(details=True)
            if (v.metadata or {}).get("kos_cluster") == self.plan["cluster"]
        }
        to_create = [s for s in wanted if s["volume"]["name"] not in have]
        for s in to_create:
            v = s["volume"]
            source = ", from image %s" % v["image"] if v.get("image") else ""
            self._change("create volume %s (%d GiB%s)" % (v["name"], v["size"], source))
        if not self.check_mode and to_create:

            def create(s):
                v = s["volume"]
                attrs = dict(
                    name=v["name"],
                    size=v["size"],
                    metadata={"kos_cluster": self.plan["cluster"], "kos_host": s["name"], "kos_purpose": "etcd-data"},
                )
                if v["volume_type"]:
                    attrs["volume_type"] = v["volume_type"]
                if v.get("image"):
                    # Seeded from an image: cinder-volume downloads and converts it into the volume.
                    image = self._lookups.get("images", {}).get(v["image"]) or conn.image.find_image(
                        v["image"], ignore_missing=False
                    )
                    attrs["image_id"] = image.id
                return conn.block_storage.create_volume(**attrs)

            created = self._parallel(create, to_create)
            for v in self._wait_volumes({v.id for v in created}, ("available",)):
                have[v.name] = v
        to_attach = []
        for s in wanted:
            vol = have.get(s["volume"]["name"])
            server = servers.get(s["name"])
            attached_to = {a.get("server_id") for a in (vol.attachments if vol is not None else []) or []}
            if server is not None and server.id in attached_to:
                continue
            self._change("attach volume %s to %s" % (s["volume"]["name"], s["name"]))
            if vol is not None and server is not None and not self.check_mode:
                to_attach.append((server, vol))
        if to_attach:
            self._parallel(lambda sv: conn.compute.create_volume_attachment(sv[0], volume_id=sv[1].id), to_attach)
            self._wait_volumes({v.id for _server, v in to_attach}, ("in-use",))

    def _wait_volumes(self, ids, statuses):
        conn = self.conn
        deadline = time.time() + self.timeout
        pending, done = set(ids), []
        while pending:
            for v in conn.block_storage.volumes(details=True):
                if v.id in pending and v.status in statuses:
                    done.append(v)
                    pending.discard(v.id)
                elif v.id in pending and v.status.startswith("error"):
                    raise ProvisionError(
                        "volume %s went to status %s (rerun to retry after deleting it)" % (v.name, v.status)
                    )
            if not pending:
                break
            if time.time() > deadline:
                raise ProvisionError(
                    "volumes not %s after %ss: %s" % ("/".join(statuses), self.timeout, ", ".join(sorted(pending)))
                )
            time.sleep(self.poll)
        return done

    def teardown(self, note, cluster):
        conn = self.conn
        volumes = [
            v for v in conn.block_storage.volumes(details=True) if (v.metadata or {}).get("kos_cluster") == cluster
        ]
        self.delete(note, volumes)

    def of_hosts(self, cluster, hosts):
        """The cluster's volumes of the named hosts (see ``host_volumes``)."""
        return host_volumes(self.conn.block_storage.volumes(details=True), cluster, hosts)

    def delete(self, note, volumes):
        """Delete ``volumes`` once detached (their servers deleted first), waiting within the timeout."""
        conn = self.conn
        for v in volumes:
            note("volume", v.name)
        if not self.check_mode and volumes:
            deadline = time.time() + self.timeout
            pending = {v.id for v in volumes}
            while pending:
                for v in conn.block_storage.volumes(details=True):
                    if v.id in pending and v.status in ("available", "error", "error_deleting"):
                        conn.block_storage.delete_volume(v)
                        pending.discard(v.id)
                if pending and time.time() > deadline:
                    raise ProvisionError("volumes still attached after %ss: %s" % (self.timeout, sorted(pending)))
                if pending:
                    time.sleep(self.poll)
            for v in volumes:
                conn.block_storage.wait_for_delete(v, interval=self.poll, wait=self.timeout)
