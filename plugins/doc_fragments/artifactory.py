# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""Options shared by every kos.platform module that talks to Artifactory (see module_utils/kos_artifactory.py)."""


class ModuleDocFragment:
    DOCUMENTATION = r'''
options:
  username:
    description: Artifactory user (HTTP basic auth, and C(docker login) for its Docker registry).
    type: str
  password:
    description: Password or identity token of I(username).
    type: str
  api_key:
    description: Artifactory API key, sent as C(X-JFrog-Art-Api) (instead of I(password)).
    type: str
  access_token:
    description:
      - Artifactory access token, sent as a C(Bearer) authorization header (instead of I(password) or I(api_key)).
    type: str
  validate_certs:
    description: Verify TLS certificates.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for one HTTP response.
    type: int
    default: 60
  retries:
    description: Attempts for a request that fails in transport or with HTTP 429/500/502/503/504.
    type: int
    default: 3
'''
