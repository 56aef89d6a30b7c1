#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)

from __future__ import annotations

DOCUMENTATION = r'''
module: artifact_upload
short_description: Upload a file (a VM or bare-metal image) to an Artifactory generic repository
version_added: 0.1.0
description:
  - Deploys I(src) to C(<url>/<repository>/<path>) with HTTP PUT and the C(X-Checksum-Sha256),
    C(X-Checksum-Sha1) and C(X-Checksum) (md5) headers, so Artifactory refuses a body that does
    not match and stores the checksums with the artifact.
  - Idempotent. A C(HEAD) first reads the checksums Artifactory holds (C(X-Checksum-*)
    headers); when the sha256 matches the local file nothing is sent and C(changed=false).
    A different artifact at the path is replaced only with I(force=true); otherwise the module fails.
  - Before sending the file, a deploy by checksum (header C(X-Checksum-Deploy) set to C(true), no body)
    is tried; when Artifactory already stores the same binary anywhere, nothing is sent again.
  - I(properties) are set with the deploy (matrix parameters C(;key=value)); on an unchanged file
    that lacks them they are set with C(PUT api/storage/...?properties=).
  - Check mode reports what would be uploaded, nothing is sent but the C(HEAD).
author: kos.platform developers (@kos-platform)
extends_documentation_fragment:
  - kos.platform.artifactory
options:
  src:
    description: Local file to upload.
    type: path
    required: true
  url:
    description: Artifactory base URL, e.g. C(https://artifactory.example.com/artifactory).
    type: str
    required: true
  repository:
    description: Key of the generic repository, e.g. C(vm-images).
    type: str
    required: true
  path:
    description: Path of the artifact inside the repository, e.g. C(billing/1.4.2/billing-1.4.2.qcow2).
    type: str
    required: true
  force:
    description: Replace an artifact with other content at the same path.
    type: bool
    default: false
  properties:
    description: Artifactory properties of the artifact (e.g. the pipeline's input key), name to value.
    type: dict
    default: {}
'''

EXAMPLES = r'''
- name: Upload the VM image
  kos.platform.artifact_upload:
    src: /var/tmp/images/billing-1.4.2.qcow2
    url: https://artifactory.example.com/artifactory
    repository: vm-images
    path: billing/1.4.2/billing-1.4.2.qcow2
    username: "{{ artifactory_user }}"
    password: "{{ artifactory_password }}"
'''

RETURN = r'''
url:
  description: URL of the artifact.
  returned: always
  type: str
checksums:
  description: sha256, sha1 and md5 of the local file.
  returned: always
  type: dict
uploaded:
  description: Whether the file was (or, in check mode, would be) sent.
  returned: always
  type: bool
previous:
  description: Checksums Artifactory held before (null when there was no artifact).
  returned: always
  type: dict
by_checksum:
  description: Whether Artifactory took the artifact by checksum, without the file being sent.
  returned: always
  type: bool
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six.moves.urllib.parse import quote

from ansible_collections.kos.platform.plugins.module_utils.kos_artifactory import (
    ArtifactoryClient,
    ArtifactoryError,
    artifact_url,
    artifactory_argument_spec,
    checksum_deploy,
    deploy,
    file_checksums,
    get_properties,
    set_properties,
    stored_checksums,
)


def main():
    module = AnsibleModule(
        argument_spec=artifactory_argument_spec(
            src=dict(type='path', required=True),
            url=dict(type='str', required=True),
            repository=dict(type='str', required=True),
            path=dict(type='str', required=True),
            force=dict(type='bool', default=False),
            properties=dict(type='dict', default={}),
        ),
        mutually_exclusive=[('password', 'api_key', 'access_token')],
        supports_check_mode=True,
    )
    p = module.params
    if not os.path.isfile(p['src']):
        module.fail_json(msg='src %s is not a file' % p['src'])
    try:
        url = artifact_url(p['url'], p['repository'], p['path'], quote)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    props = dict((str(k), str(v)) for k, v in (p['properties'] or {}).items())
    sums = file_checksums(p['src'])
    client = ArtifactoryClient(p)
    result = dict(changed=False, url=url, checksums=sums, uploaded=False, previous=None, by_checksum=False)
    try:
        previous = stored_checksums(client, url)
        result['previous'] = previous
        if previous and previous.get('sha256') == sums['sha256']:
            if props:
                held = get_properties(client, p['url'], p['repository'], p['path'])
                if any(held.get(k) != [v] for k, v in props.items()):
                    result['changed'] = True
                    if not module.check_mode:
                        set_properties(client, p['url'], p['repository'], p['path'], props)
            module.exit_json(**result)
        if previous and not p['force']:
            module.fail_json(msg='%s holds other content (sha256 %s, local %s); set force=true to replace it'
                             % (url, previous.get('sha256'), sums['sha256']), **result)
        result.update(changed=True, uploaded=True)
        if not module.check_mode:
            if checksum_deploy(client, url, sums, props):
                result['by_checksum'] = True
            else:
                stored = deploy(client, url, p['src'], sums, props)
                got = (stored.get('checksums') or {}).get('sha256')
                if got and got != sums['sha256']:
                    module.fail_json(msg='Artifactory stored sha256 %s, expected %s' % (got, sums['sha256']),
                                     **result)
    except (ArtifactoryError, ValueError) as exc:
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
