"""kos.platform.layer_unchanged (plugins/filter/layers.py), the gate of every layer play of site.yml.

It reads this run's verdicts from the files the survey and the record tasks leave in the run's local
temporary directory (plugins/plugin_utils/layer_run.py) instead of hostvars: each hostvars[host] is a
whole get_vars of the host in the controller's main process. A host without a file falls back to
hostvars."""

import pytest

from ansible_collections.kos.platform.plugins.filter.layers import layer_unchanged
from ansible_collections.kos.platform.plugins.plugin_utils import layer_run


class NoHostvars(dict):
    def __getitem__(self, key):
        raise AssertionError("hostvars[%s] read although this run's files have the verdict" % key)


@pytest.fixture(name="run_dir")
def fixture_run_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(layer_run.C, "DEFAULT_LOCAL_TMP", str(tmp_path), raising=False)
    return tmp_path


def test_the_verdicts_come_from_the_runs_files_without_hostvars(run_dir):
    layer_run.save_survey("k1", ["etcd", "host_base"])
    layer_run.save_survey("k2/odd name", ["etcd"])
    assert layer_unchanged(["k1", "k2/odd name"], NoHostvars(), "etcd") is True
    assert layer_unchanged(["k1", "k2/odd name"], NoHostvars(), "host_base") is False
    layer_run.mark_ran("k2/odd name")  # a layer's record task ran there: the survey is stale for it
    assert layer_unchanged(["k1"], NoHostvars(), "etcd") is True
    assert layer_unchanged(["k1", "k2/odd name"], NoHostvars(), "etcd") is False
    layer_run.clear("k2/odd name")  # a new survey of the host starts from nothing
    assert layer_run.verdict("k2/odd name") is None
    assert sorted(p.name for p in (run_dir / "kos-layer-run").iterdir()) == ["k1.survey"]


def test_a_host_without_the_runs_files_is_read_from_hostvars(run_dir):
    layer_run.save_survey("k1", ["etcd"])
    hostvars = {"k3": {"__kos_layer_survey": {"unchanged": ["etcd"]}},
                "k4": {"__kos_layer_survey": {"unchanged": ["etcd"]}, "__kos_layer_recorded": {"changed": True}}}
    assert layer_unchanged(["k1", "k3"], hostvars, "etcd") is True
    assert layer_unchanged(["k1", "k4"], hostvars, "etcd") is False
    assert layer_unchanged(["k1", "k5"], hostvars, "etcd") is False  # no survey at all
    # Other registered names: hostvars only.
    with pytest.raises(AssertionError):
        layer_unchanged(["k1"], NoHostvars(), "etcd", survey="other_survey")
    assert layer_unchanged([], NoHostvars(), "etcd") is False
