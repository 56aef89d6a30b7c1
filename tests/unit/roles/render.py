"""Render a role's template with its defaults and the repository's filter plugins, like Ansible."""

import os

import jinja2
import yaml
from ansible.plugins.filter.core import FilterModule as CoreFilters

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def role_defaults(role):
    with open(os.path.join(TOP, "roles", role, "defaults", "main.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def render(role, template, variables):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(TOP, "roles", role, "templates")),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, keep_trailing_newline=True)
    env.filters.update(CoreFilters().filters())
    values = role_defaults(role)
    values.update({"ansible_managed": "Ansible managed"})
    values.update(variables)
    return env.get_template(template).render(**values)
