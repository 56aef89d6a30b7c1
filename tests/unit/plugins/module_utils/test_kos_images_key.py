"""Input keys of the image pipelines (plugins/module_utils/kos_images_key.py)."""

import os

import pytest

from ansible_collections.kos.platform.plugins.module_utils.kos_images_key import (
    InputKeyError,
    input_key,
    tree_digest,
)


@pytest.fixture
def elements(tmp_path):
    root = tmp_path / 'elements'
    (root / 'kos-node' / 'install.d').mkdir(parents=True)
    script = root / 'kos-node' / 'install.d' / '50-kos'
    script.write_text('#!/bin/sh\necho kos\n')
    script.chmod(0o755)
    (root / 'kos-node' / 'element-deps').write_text('debian-minimal\n')
    (root / '.git').mkdir()
    (root / '.git' / 'HEAD').write_text('ref: main\n')
    return root


PARTS = dict(elements=['debian-minimal', 'kos-node'], env={'DIB_RELEASE': 'bookworm'}, packages=[])


def test_same_inputs_same_key_in_any_order_of_dict_keys(elements):
    key = input_key(PARTS, [str(elements)])
    assert len(key) == 64 and int(key, 16) >= 0
    reordered = dict(reversed(list(PARTS.items())))
    assert input_key(reordered, [str(elements)]) == key


def test_every_input_changes_the_key(elements):
    key = input_key(PARTS, [str(elements)])
    assert input_key(dict(PARTS, env={'DIB_RELEASE': 'trixie'}), [str(elements)]) != key
    assert input_key(dict(PARTS, elements=['kos-node', 'debian-minimal']), [str(elements)]) != key
    assert input_key(dict(PARTS, packages=['curl']), [str(elements)]) != key
    script = elements / 'kos-node' / 'install.d' / '50-kos'
    script.write_text('#!/bin/sh\necho kos 2\n')
    changed = input_key(PARTS, [str(elements)])
    assert changed != key
    script.chmod(0o644)  # the execute bit decides whether diskimage-builder runs it
    assert input_key(PARTS, [str(elements)]) != changed


def test_git_metadata_and_the_root_location_do_not_count(elements, tmp_path):
    key = input_key(PARTS, [str(elements)])
    (elements / '.git' / 'HEAD').write_text('ref: other\n')
    assert input_key(PARTS, [str(elements)]) == key
    moved = tmp_path / 'elsewhere'
    os.rename(elements, moved)
    assert input_key(PARTS, [str(moved)]) == key


def test_a_renamed_file_or_a_new_file_changes_the_digest(elements):
    before = tree_digest([str(elements)])
    (elements / 'kos-node' / 'package-installs.yaml').write_text('curl:\n')
    assert tree_digest([str(elements)]) != before


def test_missing_input_path_is_named(tmp_path):
    with pytest.raises(InputKeyError, match='%s does not exist' % (tmp_path / 'nope')):
        input_key(PARTS, [str(tmp_path / 'nope')])


def test_values_that_are_not_data_are_refused():
    with pytest.raises(InputKeyError, match='not plain data'):
        input_key({'x': object()}, [])
    with pytest.raises(InputKeyError, match='not plain data'):
        input_key({'x': float('nan')}, [])
