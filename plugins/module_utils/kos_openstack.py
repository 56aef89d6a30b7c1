# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""One base for every kos.platform module that talks to OpenStack.

Connection, authentication, retries, error handling and check mode live here once, in the
manner of openstack.cloud's OpenStackModule; modules only declare options and write run().

API (kept small on purpose):

``openstack_argument_spec()``
    The shared options (documented by the doc fragment ``kos.platform.openstack``).
``connect(params)``
    An ``openstack.connection.Connection`` from those options (clouds.yaml name or dict,
    ``auth`` dict, or OS_* environment), with connect/status-code retries.
``ApiCallCounter(conn)``
    Counts the HTTP requests a connection makes (token requests included).
``explain_error(exc, params)``
    A one-line, operator-readable message for an SDK/keystoneauth exception.
``KosOpenStackModule``
    Subclass it, set ``argument_spec`` / ``module_kwargs``, implement ``run()`` returning a
    result dict. ``self.conn`` connects lazily on first use; ``self.check_mode``,
    ``self.diff_mode``, ``self.params``, ``self.fail(msg)``, ``self.warn(msg)`` are there.
    Any OpenStack error raised from run() becomes a clean ``fail_json``.
"""

from __future__ import annotations

import copy
import re
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import openstack
    from keystoneauth1 import exceptions as ksa_exc
    from openstack import exceptions as sdk_exc

    HAS_OPENSTACKSDK = True
    OPENSTACKSDK_IMPORT_ERROR = None
except ImportError as _import_error:  # pragma: no cover - depends on the target host
    HAS_OPENSTACKSDK = False
    OPENSTACKSDK_IMPORT_ERROR = _import_error

# The auth dict has explicit keys so that only the secrets are masked in results (a blanket
# no_log on the dict would also mask every project or domain name equal to the user name).
_AUTH_OPTIONS = dict(
    auth_url=dict(type='str'),
    username=dict(type='str'),
    user_id=dict(type='str'),
    password=dict(type='str', no_log=True),
    token=dict(type='str', no_log=True),
    application_credential_id=dict(type='str'),
    application_credential_name=dict(type='str'),
    application_credential_secret=dict(type='str', no_log=True),
    project_name=dict(type='str'),
    project_id=dict(type='str'),
    project_domain_name=dict(type='str'),
    project_domain_id=dict(type='str'),
    user_domain_name=dict(type='str'),
    user_domain_id=dict(type='str'),
    domain_name=dict(type='str'),
    domain_id=dict(type='str'),
    default_domain_name=dict(type='str'),
    default_domain_id=dict(type='str'),
    system_scope=dict(type='str'),
    trust_id=dict(type='str'),
)

_SHARED_SPEC = dict(
    cloud=dict(type='raw'),
    auth=dict(type='dict', options=_AUTH_OPTIONS),
    auth_type=dict(type='str'),
    region_name=dict(type='str'),
    interface=dict(type='str', default='public', choices=['public', 'internal', 'admin'],
                   aliases=['endpoint_type']),
    validate_certs=dict(type='bool', aliases=['verify']),
    ca_cert=dict(type='str', aliases=['cacert']),
    client_cert=dict(type='str', aliases=['cert']),
    client_key=dict(type='str', no_log=False, aliases=['key']),
    api_timeout=dict(type='int'),
    api_retries=dict(type='int', default=3),
)


def openstack_argument_spec(**extra):
    """The shared connection options plus a module's own ``extra`` options."""
    spec = copy.deepcopy(_SHARED_SPEC)
    spec.update(extra)
    return spec


class OpenStackConnectError(Exception):
    """Raised when the options cannot form a connection (before any request is made)."""


def connect(params):
    """Build a Connection from the shared options.

    ``cloud`` may be a clouds.yaml name or a full cloud dict (then the other auth options
    must be unset, as in openstack.cloud). Without ``cloud`` and ``auth`` the OS_*
    environment is used. No request is sent here: the first API call authenticates.
    """
    if not HAS_OPENSTACKSDK:
        raise OpenStackConnectError('openstacksdk is required (pip install openstacksdk)')
    cloud = params.get('cloud')
    retries = params.get('api_retries')
    retries = 3 if retries is None else retries
    common = dict(connect_retries=retries, status_code_retries=retries)
    if isinstance(cloud, dict):
        clashing = [k for k in ('auth', 'auth_type', 'region_name', 'validate_certs', 'ca_cert',
                                'client_cert', 'client_key', 'api_timeout') if params.get(k) is not None]
        if clashing:
            raise OpenStackConnectError(
                'cloud is a dict, so these options must not be set as well: %s' % ', '.join(clashing))
        config = dict(cloud)
        config.update(common)
    else:
        auth = {k: v for k, v in (params.get('auth') or {}).items() if v is not None} or None
        config = dict(
            cloud=cloud, auth_type=params.get('auth_type'), auth=auth,
            region_name=params.get('region_name'), interface=params.get('interface') or 'public',
            verify=params.get('validate_certs'), cacert=params.get('ca_cert'),
            cert=params.get('client_cert'), key=params.get('client_key'),
            api_timeout=params.get('api_timeout'), **common)
        config = {k: v for k, v in config.items() if v is not None}
    try:
        return openstack.connect(**config)
    except (sdk_exc.SDKException, ksa_exc.ClientException) as exc:
        raise OpenStackConnectError(explain_error(exc, params)) from exc


def _auth_url(params):
    auth = params.get('auth') or {}
    cloud = params.get('cloud')
    if isinstance(cloud, dict):
        auth = cloud.get('auth') or auth
    return auth.get('auth_url') or (cloud if isinstance(cloud, str) else None) or 'the configured cloud'


# The service behind each catalog type, by the name operators know it by.
SERVICE_NAMES = {
    'identity': 'Keystone', 'compute': 'Nova', 'network': 'Neutron', 'volume': 'Cinder',
    'volumev2': 'Cinder', 'volumev3': 'Cinder', 'block-storage': 'Cinder', 'block-store': 'Cinder',
    'image': 'Glance', 'placement': 'Placement',
}
# Without a catalog: the services' registered default ports and the path prefixes of
# deployments that serve them under one host (devstack's /identity, /compute, ...).
_DEFAULT_PORTS = {5000: 'identity', 35357: 'identity', 8774: 'compute', 9696: 'network',
                  8776: 'volume', 9292: 'image', 8778: 'placement'}
_PATH_PREFIXES = {'identity': 'identity', 'compute': 'compute', 'networking': 'network', 'network': 'network',
                  'volume': 'volume', 'volumev3': 'volume', 'image': 'image', 'placement': 'placement'}
_URL_RE = re.compile(r'https?://[^\s\'"<>]+')


def _origin(url):
    parts = urlsplit(url)
    return '%s://%s' % (parts.scheme, parts.netloc)


def service_of_url(url, catalog=None):
    """(service name, endpoint) of a request URL: from the catalog when given, else by port/path.

    ``catalog`` is Keystone's catalog as a list of ``{type, endpoints: [{url}]}`` (what
    keystoneauth's ``service_catalog.catalog`` holds). Returns (None, origin) when unknown.
    """
    if not url:
        return None, None
    best = None
    for entry in catalog or []:
        for ep in entry.get('endpoints') or []:
            base = (ep.get('url') or '').rstrip('/')
            if base and (url == base or url.startswith(base + '/') or _origin(url) == _origin(base)):
                # The longest matching base wins (several services may share one host).
                score = len(base) if url.startswith(base) else 0
                if best is None or score > best[0]:
                    best = (score, entry.get('type'), base)
    if best is not None:
        return SERVICE_NAMES.get(best[1], best[1]), best[2]
    parts = urlsplit(url)
    kind = _DEFAULT_PORTS.get(parts.port)
    if kind is None:
        first = parts.path.strip('/').split('/', 1)[0]
        kind = _PATH_PREFIXES.get(first)
    return SERVICE_NAMES.get(kind), _origin(url)


def _request_of(exc):
    """(method, url, status) of the failed request, from the exception or those it wraps."""
    seen = 0
    while exc is not None and seen < 10:
        response = getattr(exc, 'response', None)
        if response is not None and getattr(response, 'url', None):
            request = getattr(response, 'request', None)
            return (getattr(request, 'method', None), response.url, getattr(response, 'status_code', None))
        url = getattr(exc, 'url', None)
        if isinstance(url, str) and url:
            return getattr(exc, 'method', None), url, getattr(exc, 'http_status', None)
        found = _URL_RE.search(str(exc))
        if found:
            return None, found.group(0).rstrip(':.,'), None
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None, None, None


def _is_connect_failure(exc):
    seen = 0
    while exc is not None and seen < 10:
        if type(exc).__name__ in ('ConnectFailure', 'ConnectTimeout', 'ConnectionError', 'NewConnectionError'):
            return True
        if 'Unable to establish connection' in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _advice(status, text, service):
    low = text.lower()
    if 'quota' in low or status == 413:
        return 'check the project\'s quota (openstack quota show), raise it or free resources, then re-run'
    if status is None or status >= 500 or status in (502, 503, 504):
        return ('%s failed or is restarting: wait until it answers again (check its logs), then re-run: '
                'the next run adopts what this one created' % service)
    if status == 409:
        return 're-run: the next run adopts or replaces what this one left; if it persists, check the named resource'
    if status == 404:
        return 're-run: something this run used was deleted meanwhile'
    if status == 403:
        return 'the account lacks a role this operation needs (or a policy forbids it)'
    return 're-run after fixing the cause above'


def explain_error(exc, params=None, operation=None, service=None, catalog=None):
    """Turn an openstacksdk / keystoneauth exception into one clear sentence.

    Names the service (from the failed request's URL, matched against ``catalog`` when given,
    else by the services' default ports and paths, else ``service``: the one the caller was
    talking to), the endpoint, the ``operation`` the caller was doing and what the operator can do.
    """
    where = _auth_url(params or {})
    if not HAS_OPENSTACKSDK:
        return '%s: %s' % (type(exc).__name__, exc)
    method, url, status = _request_of(exc)
    status = status or getattr(exc, 'status_code', None) or getattr(exc, 'http_status', None)
    named, endpoint = service_of_url(url, catalog)
    auth_url = where if '://' in str(where) else None
    if url and auth_url and _origin(url) == _origin(auth_url):
        named, endpoint = 'Keystone', auth_url
    named = named or service
    during = ' during %s' % operation if operation else ''
    request = ' (%s %s)' % (method, urlsplit(url).path) if method and url else ''
    if named and named != 'Keystone' or (operation and named):
        if isinstance(exc, ksa_exc.EndpointNotFound):
            return ('%s has no endpoint in the Keystone catalog of %s%s: check region_name and interface, '
                    'or ask the cloud operator whether %s is deployed' % (named, where, during, named))
        if _is_connect_failure(exc):
            return ('cannot reach %s at %s%s%s: %s is down or unreachable: wait until it answers again, then '
                    're-run (the next run adopts what this one created)'
                    % (named, endpoint or url or 'its catalog endpoint', during, request, named))
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        code = ' HTTP %s' % status if status else ''
        values = (named, endpoint or 'its catalog endpoint', during, request, code, detail,
                  _advice(status, str(exc), named))
        return '%s at %s failed%s%s:%s %s; %s' % values
    if isinstance(exc, (ksa_exc.ConnectFailure, ksa_exc.ConnectTimeout)):
        return 'cannot reach Keystone at %s: %s' % (where, exc)
    if isinstance(exc, ksa_exc.Unauthorized) or (
            isinstance(exc, sdk_exc.HttpException) and getattr(exc, 'status_code', None) == 401):
        return 'Keystone at %s rejected the credentials (HTTP 401): check username, password and domain' % where
    if isinstance(exc, (ksa_exc.Forbidden, sdk_exc.ForbiddenException)):
        return 'Keystone at %s refused the request (HTTP 403): the account needs the admin or reader role ' \
               'system-wide to list role assignments: %s' % (where, exc)
    if isinstance(exc, ksa_exc.MissingRequiredOptions):
        return 'incomplete OpenStack credentials: %s' % exc
    if isinstance(exc, sdk_exc.ConfigException):
        return 'OpenStack configuration error: %s' % exc
    if isinstance(exc, ksa_exc.EndpointNotFound):
        return 'service not found in the Keystone catalog of %s: %s' % (where, exc)
    return '%s: %s' % (type(exc).__name__, exc)


def _probe(url, timeout=3):
    """True when something answers HTTP at ``url`` (any status); False when the connection fails."""
    import urllib.error

    from ansible.module_utils.urls import open_url

    try:
        open_url(url, timeout=timeout)
    except urllib.error.HTTPError:
        return True
    except Exception:  # noqa: BLE001 - refused, reset, timeout: it does not answer
        return False
    return True


def silent_services(catalog, probe=_probe):
    """The services of the catalog whose endpoint does not answer, as "Name at URL" (for messages).

    A failure reported by one service is often caused by another one it calls (Nova's 500 or a
    server in ERROR when Neutron is down): naming the one that is down tells the operator what to fix.
    """
    out = []
    for entry in catalog or []:
        name = SERVICE_NAMES.get(entry.get('type'))
        urls = sorted({(ep.get('url') or '').rstrip('/') for ep in entry.get('endpoints') or [] if ep.get('url')})
        if name and urls and not any(probe(u) for u in urls[:1]):
            out.append('%s at %s' % (name, urls[0]))
    return sorted(set(out))


def with_silent_services(msg, catalog, probe=_probe):
    """``msg`` plus the services that do not answer (the likely cause), if any."""
    down = [d for d in silent_services(catalog, probe) if d.split(' at ', 1)[0] not in msg.split(' failed')[0]]
    if not down:
        return msg
    return '%s [does not answer now: %s; wait until it is back, then re-run]' % (msg, ', '.join(down))


def catalog_of(conn):
    """Keystone's catalog of a connection (empty when it cannot be read: this is for messages only)."""
    try:
        return conn.session.auth.get_access(conn.session).service_catalog.catalog or []
    except Exception:  # noqa: BLE001 - a message helper must not raise
        return []


def openstack_errors():
    """The exception classes that mean 'OpenStack said no' (caught by the base)."""
    if not HAS_OPENSTACKSDK:
        return (OpenStackConnectError,)
    return (OpenStackConnectError, sdk_exc.SDKException, ksa_exc.ClientException)


class ApiCallCounter:
    """Counts the HTTP requests a Connection sends (per method and path, token requests included).

    Wraps the keystoneauth session's ``request`` on this instance only.
    """

    def __init__(self, conn):
        self.total = 0
        self.by_path = {}
        session = conn.session
        original = session.request

        def counting_request(url, method, *args, **kwargs):
            self.total += 1
            path = str(url).split('?', 1)[0]
            key = '%s %s' % (method, path)
            self.by_path[key] = self.by_path.get(key, 0) + 1
            return original(url, method, *args, **kwargs)

        session.request = counting_request


class KosOpenStackModule:
    """Base class: subclasses set ``argument_spec`` and ``module_kwargs`` and implement ``run()``."""

    argument_spec = {}
    module_kwargs = {}

    def __init__(self):
        kwargs = dict(supports_check_mode=True)
        kwargs.update(self.module_kwargs)
        self.ansible = AnsibleModule(argument_spec=openstack_argument_spec(**self.argument_spec), **kwargs)
        if not HAS_OPENSTACKSDK:
            self.ansible.fail_json(msg=missing_required_lib('openstacksdk'),
                                   exception=str(OPENSTACKSDK_IMPORT_ERROR))
        self.params = self.ansible.params
        self.check_mode = self.ansible.check_mode
        self.diff_mode = self.ansible._diff
        self.warn = self.ansible.warn
        self._conn = None
        self.api_calls = None

    @property
    def conn(self):
        """The Connection, made on first use (so option errors come before any request)."""
        if self._conn is None:
            self._conn = connect(self.params)
            self.api_calls = ApiCallCounter(self._conn)
        return self._conn

    def fail(self, msg, **kwargs):
        self.ansible.fail_json(msg=msg, **kwargs)

    def run(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self):
        try:
            result = self.run() or {}
        except openstack_errors() as exc:
            if isinstance(exc, OpenStackConnectError):
                self.fail(str(exc))
            self.fail(explain_error(exc, self.params))
        result.setdefault('changed', False)
        if self.api_calls is not None:
            result.setdefault('api_calls', self.api_calls.total)
        self.ansible.exit_json(**result)
