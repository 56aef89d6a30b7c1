"""The collection builds, installs, and documents itself (ansible-doc) from the installed copy."""

import glob
import os
import subprocess

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("collection")
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(TOP, "ansible.cfg"))
    subprocess.run(["ansible-galaxy", "collection", "build", "--force", "--output-path", str(work)], cwd=TOP,
                   env=env, check=True, capture_output=True, text=True)
    tarballs = glob.glob(str(work / "kos-platform-*.tar.gz"))
    assert len(tarballs) == 1
    target = work / "installed"
    subprocess.run(["ansible-galaxy", "collection", "install", "--offline", "--no-deps", "--force", "-p", str(target),
                    tarballs[0]], cwd=str(work), env=env, check=True, capture_output=True, text=True)
    # Only the installed copy (and the ansible bundle) on the path, not the checkout.
    config = work / "ansible.cfg"
    config.write_text("[defaults]\ninterpreter_python = auto_silent\n")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(target), ANSIBLE_CONFIG=str(config))
    env.pop("ANSIBLE_ROLES_PATH", None)
    return target, env


def plugin_names(kind, pattern):
    return sorted(os.path.splitext(os.path.basename(p))[0] for p in glob.glob(os.path.join(TOP, "plugins", kind,
                                                                                           pattern)))


def test_installed_collection_has_the_roles(installed):
    target, _ = installed
    roles = os.listdir(target / "ansible_collections" / "kos" / "platform" / "roles")
    assert "preflight" in roles and "lab" in roles


@pytest.mark.parametrize("name", [n for n in plugin_names("filter", "*.yml")])
def test_filter_documentation(installed, name):
    _, env = installed
    out = subprocess.run(["ansible-doc", "-t", "filter", "kos.platform." + name], env=env, capture_output=True,
                         text=True, check=True).stdout
    assert "kos.platform." + name in out and "EXAMPLES" in out.upper()


@pytest.mark.parametrize("name", [n for n in plugin_names("modules", "*.py") if n != "__init__"])
def test_module_documentation(installed, name):
    _, env = installed
    out = subprocess.run(["ansible-doc", "-t", "module", "kos.platform." + name], env=env, capture_output=True,
                         text=True, check=True).stdout
    assert "kos.platform." + name in out and "RETURN" in out.upper()


def test_installed_collection_derives_the_model(installed):
    _, env = installed
    proc = subprocess.run(["ansible-playbook", "-i", os.path.join(TOP, "inventories", "sample"),
                           os.path.join(TOP, "tests", "unit", "playbooks", "model.yml")],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "10.96.0.10" in proc.stdout
