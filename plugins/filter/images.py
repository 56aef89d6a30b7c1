# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""Filters of the image pipelines: Packer templates and diskimage-builder arguments as data, and the
build input key (see plugins/module_utils/kos_images_packer.py and kos_images_key.py, which hold and
document the logic)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kos.platform.plugins.module_utils import kos_images_key as key
from ansible_collections.kos.platform.plugins.module_utils import kos_images_packer as packer


def _wrap(func, name):
    def run(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (packer.PackerSpecError, key.InputKeyError) as exc:
            raise AnsibleFilterError('%s: %s' % (name, exc)) from exc
    run.__name__ = name
    run.__doc__ = func.__doc__
    return run


class FilterModule:
    def filters(self):
        return {
            'packer_openstack_template': _wrap(packer.openstack_template, 'packer_openstack_template'),
            'packer_dib_template': _wrap(packer.dib_template, 'packer_dib_template'),
            'dib_command': _wrap(packer.dib_command, 'dib_command'),
            'dib_environment': _wrap(packer.dib_environment, 'dib_environment'),
            'image_build_name': _wrap(packer.image_name, 'image_build_name'),
            'image_input_key': _wrap(key.input_key, 'image_input_key'),
        }
