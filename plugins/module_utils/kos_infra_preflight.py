# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""Preflight: every problem the cloud would raise, found before anything is created.

Images, flavors, networks (existing and external), availability zones, keypair and quotas (Nova,
Cinder, Neutron) are read once; each problem names the variable the operator sets. What was
found is kept in the run's lookups, so the resource kinds do not look it up again.
"""

from __future__ import annotations

from ansible_collections.kos.platform.plugins.module_utils.kos_infra_resource import InfraResource


def quota_shortfalls(limits, needs):
    """[(resource, needed, free, limit)] for each need the limits cannot meet (-1 = unlimited)."""
    short = []
    for resource, needed in needs.items():
        if needed <= 0 or resource not in limits:
            continue
        limit, used = limits[resource]
        if limit is None or limit < 0:
            continue
        free = limit - used
        if needed > free:
            short.append((resource, needed, free, limit))
    return short


class Preflight(InfraResource):
    """Reads the cloud and returns problems; changes nothing."""

    def run(self, var):
        """Every problem that can be known before creating anything, as operator messages.

        ``var(option, key=None)`` names the variable an operator sets.
        """
        conn, p = self.conn, self.plan
        problems = []
        images, flavors = {}, {}
        for server in p["servers"]:
            if server["image"] not in images:
                images[server["image"]] = conn.image.find_image(server["image"], ignore_missing=True)
                if images[server["image"]] is None:
                    problems.append("image %r not found in the cloud (%s)" % (server["image"], server["image_var"]))
            if server["flavor"] not in flavors:
                flavors[server["flavor"]] = conn.compute.find_flavor(server["flavor"], ignore_missing=True)
                if flavors[server["flavor"]] is None:
                    problems.append("flavor %r not found in the cloud (%s)" % (server["flavor"], server["flavor_var"]))
            volume_image = (server["volume"] or {}).get("image")
            if volume_image and volume_image not in images:
                images[volume_image] = conn.image.find_image(volume_image, ignore_missing=True)
                if images[volume_image] is None:
                    problems.append(
                        "image %r not found in the cloud (%s)" % (volume_image, server["volume"]["image_var"])
                    )
        net = p["network"]
        if net["existing"]:
            found = conn.network.find_network(net["existing"], ignore_missing=True)
            if found is None:
                problems.append("network %r not found in the cloud (%s.existing)" % (net["existing"], var("network")))
            elif (
                net["existing_subnet"]
                and conn.network.find_subnet(net["existing_subnet"], network_id=found.id, ignore_missing=True) is None
            ):
                problems.append(
                    "subnet %r not found on network %r (%s.existing_subnet)"
                    % (net["existing_subnet"], net["existing"], var("network"))
                )
            self._lookups["network"] = found
        needs_external = net["router"] or any(s["floating_ip"] for s in p["servers"])
        if needs_external:
            if not net["external"]:
                problems.append("%s.external_network is required for the router and floating IPs" % var("network"))
            else:
                ext = conn.network.find_network(net["external"], ignore_missing=True)
                if ext is None:
                    problems.append(
                        "external network %r not found in the cloud (%s.external_network)"
                        % (net["external"], var("network"))
                    )
                elif not ext.is_router_external:
                    problems.append(
                        "network %r is not external (router:external) (%s.external_network)"
                        % (net["external"], var("network"))
                    )
                self._lookups["external"] = ext
        zones = {s["availability_zone"] for s in p["servers"] if s["availability_zone"]}
        if zones:
            known = {z.name for z in conn.compute.availability_zones() if z.state.get("available", True)}
            for zone in sorted(zones - known):
                problems.append("availability zone %r not found in the cloud (%s)" % (zone, var("availability_zones")))
        if (
            not p["keypair"]["public_key"]
            and conn.compute.find_keypair(p["keypair"]["name"], ignore_missing=True) is None
        ):
            problems.append(
                "keypair %r not found and no public key given to create it (%s.public_key)"
                % (p["keypair"]["name"], var("keypair"))
            )
        self._lookups["images"], self._lookups["flavors"] = images, flavors
        # Quotas too, whatever was found above: a run reports every problem at once (a server whose
        # flavor is missing counts as an instance, its cores and RAM are unknown).
        problems.extend(self._quota_problems(flavors, var))
        return problems

    def _quota_problems(self, flavors, var):
        conn, p = self.conn, self.plan
        existing = self._existing_servers()
        new = [s for s in p["servers"] if s["name"] not in existing]
        sized = [flavors[s["flavor"]] for s in new if flavors.get(s["flavor"]) is not None]
        needs = {
            "instances": len(new),
            "cores": sum(f.vcpus for f in sized),
            "ram": sum(f.ram for f in sized),
        }
        lim = conn.compute.get_limits().absolute
        limits = {
            "instances": (lim.instances, lim.instances_used),
            "cores": (lim.total_cores, lim.total_cores_used),
            "ram": (lim.total_ram, lim.total_ram_used),
        }
        problems = []
        vars_ = {
            "instances": "the number of hosts in the inventory groups",
            "cores": var("flavors"),
            "ram": var("flavors"),
            "volumes": "%s, %s" % (var("etcd_volume"), var("boot_volume")),
            "gigabytes": "%s.size, %s.size" % (var("etcd_volume"), var("boot_volume")),
            "ports": "the number of hosts",
            "floatingips": var("floating_ip_groups"),
            "security_groups": "the groups of hosts",
            "server_groups": "the groups of hosts",
        }
        for res, needed, free, limit in quota_shortfalls(limits, needs):
            problems.append(
                "quota too small: %s needs %d more %s, the project has %d free of %d (%s)"
                % (p["cluster"], needed, res, max(free, 0), limit, vars_[res])
            )
        vols = [s["volume"] for s in p["servers"] if s["volume"]]
        # Boot volumes of the servers to create (Nova creates them; they go with their server).
        boot_vols = [s["boot_volume"] for s in new if s.get("boot_volume")]
        if vols or boot_vols:
            have = {
                v.name
                for v in conn.block_storage.volumes(details=True)
                if (v.metadata or {}).get("kos_cluster") == p["cluster"]
            }
            new_vols = [v for v in vols if v["name"] not in have]
            if new_vols or boot_vols:
                vl = conn.block_storage.get_limits().absolute
                vlimits = {
                    "volumes": (vl.max_total_volumes, vl.total_volumes_used),
                    "gigabytes": (vl.max_total_volume_gigabytes, vl.total_gigabytes_used),
                }
                vneeds = {
                    "volumes": len(new_vols) + len(boot_vols),
                    "gigabytes": sum(v["size"] for v in new_vols + boot_vols),
                }
                for res, needed, free, limit in quota_shortfalls(vlimits, vneeds):
                    problems.append(
                        "quota too small: %s needs %d more volume %s, the project has %d free of %d (%s)"
                        % (p["cluster"], needed, res, max(free, 0), limit, vars_[res])
                    )
        project_id = conn.current_project_id
        q = conn.network.get_quota(project_id, details=True)
        have_ports = {x.name for x in self._tagged(conn.network.ports)}
        have_fips = len(self._tagged(conn.network.ips))
        have_sgs = {x.name for x in self._tagged(conn.network.security_groups)}
        nneeds = {
            "ports": sum(1 for s in p["servers"] if s["port"]["name"] not in have_ports),
            "floatingips": max(0, sum(1 for s in p["servers"] if s["floating_ip"]) - have_fips),
            "security_groups": sum(1 for g in p["security_groups"].values() if g["name"] not in have_sgs),
        }
        nlimits = {}
        attrs = {"ports": "ports", "floatingips": "floating_ips", "security_groups": "security_groups"}
        for res in nneeds:
            detail = getattr(q, attrs[res], None)
            if isinstance(detail, dict):
                nlimits[res] = (detail.get("limit"), detail.get("used", 0) + detail.get("reserved", 0))
        for res, needed, free, limit in quota_shortfalls(nlimits, nneeds):
            problems.append(
                "quota too small: %s needs %d more %s, the project has %d free of %d (%s)"
                % (p["cluster"], needed, res, max(free, 0), limit, vars_[res])
            )
        return problems
