"""Every invalid model of the matrix (cases.py) stops in kos_model.validate with its exact message.

The same cases run through ``ansible-playbook site.yml`` in test_site_matrix.py; here they run
through the model directly, built the way roles/preflight/tasks/main.yml builds its input.
"""

import pytest

from ansible_collections.kos.platform.plugins.module_utils import kos_model

from .cases import CASES, model_input


def test_the_base_model_is_valid():
    base = model_input({})
    assert kos_model.validate(base) == []
    assert sorted(kos_model.derive(base)["nodes"]) == ["cp1", "cp2", "cp3", "node1", "node2"]


def test_the_matrix_holds_at_least_120_distinct_invalid_models():
    assert len(CASES) >= 120
    assert len({c["id"] for c in CASES}) == len(CASES)
    assert len({repr(sorted((k, repr(v)) for k, v in c.items() if k not in ("id", "message"))) for c in CASES}) \
        == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_invalid_model_is_reported_exactly(case):
    errors = kos_model.validate(model_input(case))
    assert case["message"] in errors, "\n".join(errors)
