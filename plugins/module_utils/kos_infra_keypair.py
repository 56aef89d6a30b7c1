# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""The deploy keypair: created (and owned by the cluster) when a public key is given, else it
must exist. A keypair with another key is an error: servers keep the key they were built with.
"""

from __future__ import annotations

from ansible_collections.kos.platform.plugins.module_utils.kos_infra_resource import InfraResource, ProvisionError


class Keypairs(InfraResource):
    """The cluster's deploy keypair."""

    def ensure(self):
        kp = self.plan["keypair"]
        if not kp["public_key"]:
            return
        have = self.conn.compute.find_keypair(kp["name"], ignore_missing=True)
        if have is None:
            self._change("create keypair %s" % kp["name"])
            if not self.check_mode:
                self.conn.compute.create_keypair(name=kp["name"], public_key=kp["public_key"])
        elif have.public_key.split()[:2] != kp["public_key"].split()[:2]:
            raise ProvisionError(
                "keypair %s exists with another public key; servers keep the key they were "
                "created with, so rename the keypair or delete it first" % kp["name"]
            )

    def teardown(self, note, name):
        conn = self.conn
        if name and conn.compute.find_keypair(name, ignore_missing=True) is not None:
            note("keypair", name)
            if not self.check_mode:
                conn.compute.delete_keypair(name)
