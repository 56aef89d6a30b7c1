# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""Options shared by every kos.platform module that talks to OpenStack (see module_utils/kos_openstack.py)."""


class ModuleDocFragment:
    DOCUMENTATION = r'''
options:
  cloud:
    description:
      - Name of a cloud in C(clouds.yaml), or a dict with a complete cloud configuration
        (then I(auth), I(auth_type), I(region_name), I(validate_certs), I(ca_cert),
        I(client_cert), I(client_key) and I(api_timeout) must not be set).
      - Without I(cloud) and I(auth) the C(OS_*) environment variables are used.
    type: raw
  auth:
    description:
      - Authentication data for the auth plugin, for the default C(password) plugin
        I(auth_url), I(username), I(password), I(user_domain_name), and a scope
        (I(project_name) with I(project_domain_name), or I(system_scope=all)).
      - Only I(password), I(token) and I(application_credential_secret) are masked in
        results; names stay readable.
    type: dict
    suboptions:
      auth_url: {description: Keystone URL (with /v3)., type: str}
      username: {description: User name., type: str}
      user_id: {description: User ID., type: str}
      password: {description: Password., type: str}
      token: {description: Token (auth_type C(token))., type: str}
      application_credential_id: {description: Application credential ID., type: str}
      application_credential_name: {description: Application credential name., type: str}
      application_credential_secret: {description: Application credential secret., type: str}
      project_name: {description: Project scope by name., type: str}
      project_id: {description: Project scope by ID., type: str}
      project_domain_name: {description: Domain of I(project_name)., type: str}
      project_domain_id: {description: Domain ID of I(project_name)., type: str}
      user_domain_name: {description: Domain of I(username)., type: str}
      user_domain_id: {description: Domain ID of I(username)., type: str}
      domain_name: {description: Domain scope by name., type: str}
      domain_id: {description: Domain scope by ID., type: str}
      default_domain_name: {description: Default for the user and project domains., type: str}
      default_domain_id: {description: Default ID for the user and project domains., type: str}
      system_scope: {description: System scope (C(all))., type: str}
      trust_id: {description: Trust to scope to., type: str}
  auth_type:
    description: Keystone auth plugin name (default C(password)).
    type: str
  region_name:
    description: Region to use from the service catalog.
    type: str
  interface:
    description: Endpoint interface to use from the service catalog.
    type: str
    default: public
    choices: [public, internal, admin]
    aliases: [endpoint_type]
  validate_certs:
    description: Verify TLS certificates of the OpenStack APIs.
    type: bool
    aliases: [verify]
  ca_cert:
    description: CA bundle to verify the OpenStack APIs with.
    type: str
    aliases: [cacert]
  client_cert:
    description: Client certificate for mutual TLS.
    type: str
    aliases: [cert]
  client_key:
    description: Key of I(client_cert).
    type: str
    aliases: [key]
  api_timeout:
    description: Socket timeout of each API request in seconds.
    type: int
  api_retries:
    description:
      - How often a request is retried when the connection fails or the API answers
        with a retriable status (503 and similar), with backoff.
    type: int
    default: 3
requirements:
  - python >= 3.9
  - openstacksdk >= 1.0
notes:
  - Connection, retries and error messages come from one base class,
    C(kos.platform.plugins.module_utils.kos_openstack.KosOpenStackModule).
'''
