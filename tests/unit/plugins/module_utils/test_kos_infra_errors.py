"""Error messages of the provisioner name the service, endpoint and operation that failed, and what
the operator can do (issue 18), without a cloud.

The exceptions are the real openstacksdk / keystoneauth classes. HTTP errors are built by
openstacksdk's own ``raise_from_response`` from a recorded-response stand-in: a ``requests.Response``
filled in here with what Nova and Neutron answered on the test cloud (status, URL, body), not a
live request.
"""

import json

import pytest
import requests
from keystoneauth1 import exceptions as ksa_exc
from openstack import exceptions as sdk_exc

from ansible_collections.kos.platform.plugins.module_utils import kos_openstack
from ansible_collections.kos.platform.plugins.module_utils.kos_infra import Provisioner
from ansible_collections.kos.platform.plugins.module_utils.kos_infra_server import port_gone

PARAMS = {"auth": {"auth_url": "http://keystone.example:5000/v3"}}
CATALOG = [
    {"type": "identity", "endpoints": [{"url": "http://keystone.example:5000/v3"}]},
    {"type": "compute", "endpoints": [{"url": "http://cloud.example/compute/v2.1"}]},
    {"type": "network", "endpoints": [{"url": "http://cloud.example/networking"}]},
    {"type": "block-storage", "endpoints": [{"url": "http://cloud.example/volume/v3/abc"}]},
    {"type": "image", "endpoints": [{"url": "http://cloud.example/image"}]},
]


def recorded_response(method, url, status, body):
    """A recorded-response stand-in: a requests.Response as the cloud sent it (no request is made)."""
    resp = requests.Response()
    resp.status_code = status
    resp.url = url
    resp._content = json.dumps(body).encode()
    resp.headers["Content-Type"] = "application/json"
    resp.request = requests.Request(method, url).prepare()
    return resp


def http_error(method, url, status, body):
    with pytest.raises(sdk_exc.HttpException) as caught:
        sdk_exc.raise_from_response(recorded_response(method, url, status, body))
    return caught.value


def test_service_from_catalog_beats_guessing():
    assert kos_openstack.service_of_url("http://cloud.example/networking/v2.0/ports", CATALOG) == (
        "Neutron",
        "http://cloud.example/networking",
    )
    assert kos_openstack.service_of_url("http://cloud.example/compute/v2.1/servers", CATALOG)[0] == "Nova"
    assert kos_openstack.service_of_url("http://cloud.example/volume/v3/abc/volumes", CATALOG)[0] == "Cinder"


def test_service_from_default_port_without_catalog():
    assert kos_openstack.service_of_url("http://127.0.0.1:9696/v2.0/ports")[0] == "Neutron"
    assert kos_openstack.service_of_url("http://127.0.0.1:8774/v2.1/servers")[0] == "Nova"
    assert kos_openstack.service_of_url("http://127.0.0.1:8776/v3/p/volumes")[0] == "Cinder"
    assert kos_openstack.service_of_url("http://127.0.0.1:9292/v2/images")[0] == "Glance"
    assert kos_openstack.service_of_url("http://127.0.0.1:1/x") == (None, "http://127.0.0.1:1")


def test_refused_connection_to_neutron_names_neutron_not_keystone():
    exc = ksa_exc.ConnectFailure(
        "Unable to establish connection to http://127.0.0.1:9696/v2.0/ports: Connection refused"
    )
    msg = kos_openstack.explain_error(exc, PARAMS, operation="ensure ports", service="Neutron")
    assert msg.startswith("cannot reach Neutron at http://127.0.0.1:9696 during ensure ports"), msg
    assert "Keystone" not in msg and "re-run" in msg and "wait" in msg, msg


def test_refused_connection_to_nova_names_nova():
    exc = ksa_exc.ConnectFailure("Unable to establish connection to http://cloud.example/compute/v2.1/servers: x")
    msg = kos_openstack.explain_error(exc, PARAMS, operation="create servers", catalog=CATALOG)
    assert "cannot reach Nova at http://cloud.example/compute/v2.1 during create servers" in msg, msg


def test_nova_500_caused_by_neutron_names_both_and_the_request():
    body = {"computeFault": {"code": 500, "message": "Neutron server returns request_ids: failed to bind port"}}
    exc = http_error("POST", "http://127.0.0.1:8774/v2.1/servers", 500, body)
    msg = kos_openstack.explain_error(exc, PARAMS, operation="create servers and wait for ACTIVE", service="Nova")
    assert msg.startswith("Nova at http://127.0.0.1:8774 failed during create servers and wait for ACTIVE"), msg
    assert "(POST /v2.1/servers)" in msg and "HTTP 500" in msg and "Neutron server returns" in msg, msg
    assert "wait until it answers again" in msg and "re-run" in msg, msg


def test_neutron_409_says_rerun_and_quota_says_check_quota():
    exc = http_error(
        "POST",
        "http://127.0.0.1:9696/v2.0/ports",
        409,
        {"NeutronError": {"message": "IP address 198.18.0.11 already allocated in subnet x"}},
    )
    msg = kos_openstack.explain_error(exc, PARAMS, operation="ensure ports")
    assert "Neutron at http://127.0.0.1:9696 failed during ensure ports (POST /v2.0/ports): HTTP 409" in msg, msg
    assert "already allocated" in msg and "re-run" in msg, msg
    exc = http_error(
        "POST",
        "http://127.0.0.1:8776/v3/p/volumes",
        413,
        {"overLimit": {"message": "VolumeLimitExceeded: Maximum number of volumes allowed (10) exceeded"}},
    )
    msg = kos_openstack.explain_error(exc, PARAMS, operation="ensure etcd volumes")
    assert msg.startswith("Cinder at http://127.0.0.1:8776"), msg
    assert "check the project's quota" in msg, msg


def test_missing_endpoint_names_the_service_of_the_step():
    msg = kos_openstack.explain_error(
        ksa_exc.EndpointNotFound(), PARAMS, operation="ensure etcd volumes", service="Cinder"
    )
    assert "Cinder has no endpoint in the Keystone catalog of http://keystone.example:5000/v3" in msg, msg
    assert "region_name" in msg


def test_keystone_itself_is_still_named_keystone():
    exc = ksa_exc.ConnectFailure("Unable to establish connection to http://keystone.example:5000/v3/auth/tokens: x")
    msg = kos_openstack.explain_error(exc, PARAMS, operation="ensure ports", service="Neutron")
    assert msg.startswith("cannot reach Keystone at http://keystone.example:5000/v3"), msg


def test_port_gone_recognises_novas_answer():
    exc = http_error(
        "POST",
        "http://127.0.0.1:8774/v2.1/servers",
        400,
        {"badRequest": {"code": 400, "message": "Port id 7c0e could not be found."}},
    )
    assert port_gone(exc)
    assert not port_gone(
        http_error("POST", "http://127.0.0.1:8774/v2.1/servers", 400, {"badRequest": {"message": "Invalid flavor"}})
    )


class Recorder:
    """Stands in for one resource kind: records the step the provisioner is in when called."""

    def __init__(self, prov, log, name, result=None):
        self.prov, self.log, self.name, self.result = prov, log, name, result

    def __getattr__(self, method):
        def call(*args, **kwargs):
            self.log.append((self.name, method, self.prov.service))
            return self.result

        return call


def test_errored_servers_are_replaced_before_the_ports_step():
    """A server in ERROR may take its port with it when deleted: the ports step must come after."""
    prov = Provisioner(None, {"tag": "kos-cluster=c1", "servers": []})
    log = []
    prov.networks = Recorder(prov, log, "networks", (None, None))
    for kind in ("security_groups", "server_groups", "keypairs", "ports", "servers", "volumes", "floating_ips"):
        setattr(prov, kind, Recorder(prov, log, kind, {}))
    prov.apply()
    calls = [entry[:2] for entry in log]
    assert calls.index(("servers", "replace_errored")) < calls.index(("ports", "ensure")), calls
    assert ("ports", "ensure", "Neutron") in log and ("servers", "ensure", "Nova") in log, log
    assert ("volumes", "ensure", "Cinder") in log, log


def test_a_nova_failure_caused_by_a_silent_neutron_names_neutron():
    """The probe is a stand-in for the HTTP check of each catalog endpoint (Neutron's is down)."""

    def probe(url):
        return "networking" not in url

    exc = http_error(
        "POST",
        "http://cloud.example/compute/v2.1/servers",
        500,
        {"computeFault": {"code": 500, "message": "Unexpected API Error."}},
    )
    msg = kos_openstack.explain_error(exc, PARAMS, operation="create servers", catalog=CATALOG)
    msg = kos_openstack.with_silent_services(msg, CATALOG, probe)
    assert msg.startswith("Nova at http://cloud.example/compute/v2.1 failed during create servers"), msg
    assert "[does not answer now: Neutron at http://cloud.example/networking; wait until it is back" in msg, msg
    failed = kos_openstack.with_silent_services(
        "servers failed to build and were deleted (rerun to retry): x", CATALOG, probe
    )
    assert "Neutron at http://cloud.example/networking" in failed
    # Already named as the one that cannot be reached: not repeated; all answering: message unchanged.
    down = "cannot reach Neutron at http://cloud.example/networking during ensure ports: ..."
    assert kos_openstack.with_silent_services(down, CATALOG, probe) == down
    assert kos_openstack.with_silent_services("x failed", CATALOG, lambda url: True) == "x failed"
