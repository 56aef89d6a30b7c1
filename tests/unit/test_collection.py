"""The collection as a user gets it: built, installed into an empty path next to exactly the
collections galaxy.yml declares (taken from the PyPI ansible bundle: Galaxy is unreachable here),
with Ansible's own copy of the bundle hidden. From that installed copy every plugin and role
documents itself (ansible-doc) and every playbook passes syntax-check. Also: the metadata says
what the code uses, and the defaults are safe (host keys checked)."""

import configparser
import glob
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
SELF = "kos.platform"
# Namespaces that are part of ansible-core or of this collection, never a dependency.
BUILTIN = {"ansible.builtin", "ansible.legacy", SELF}


def load_yaml(*parts):
    with open(os.path.join(TOP, *parts)) as handle:
        return yaml.safe_load(handle)


def bundle_root():
    """The ansible_collections directory of the PyPI `ansible` bundle in this Python."""
    import ansible_collections
    for path in ansible_collections.__path__:
        if os.path.isdir(os.path.join(path, "ansible", "posix")):
            return path
    pytest.fail("the PyPI ansible bundle is not installed in %s (make setup installs requirements.txt)" % BIN)


def bundle_version(root, fqcn):
    namespace, name = fqcn.split(".")
    with open(os.path.join(root, namespace, name, "MANIFEST.json")) as handle:
        info = json.load(handle)["collection_info"]
    return info["version"], info.get("dependencies") or {}


def galaxy(*argv, env, cwd):
    proc = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, "ansible-galaxy collection %s:\n%s%s" % (" ".join(argv), proc.stdout, proc.stderr)
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("collection")
    target = work / "installed"
    root = bundle_root()
    # Nothing but the target path: no checkout, no bundle on sys.path, no user collections.
    config = work / "ansible.cfg"
    config.write_text("[defaults]\ninterpreter_python = auto_silent\ncollections_path = %s\n"
                      "collections_scan_sys_path = false\n" % target)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(config), ANSIBLE_COLLECTIONS_PATH=str(target),
               ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", ANSIBLE_NOCOLOR="1", HOME=str(work),
               PATH=BIN + os.pathsep + env["PATH"])
    galaxy("build", "--force", "--output-path", str(work), TOP, env=env, cwd=str(work))
    tarballs = glob.glob(str(work / "kos-platform-*.tar.gz"))
    assert len(tarballs) == 1
    # The declared dependencies and theirs, copied from the bundle the way Galaxy would install them.
    pending = list(load_yaml("galaxy.yml")["dependencies"])
    done = set()
    while pending:
        fqcn = pending.pop()
        if fqcn in done:
            continue
        done.add(fqcn)
        namespace, name = fqcn.split(".")
        shutil.copytree(os.path.join(root, namespace, name), target / "ansible_collections" / namespace / name,
                        ignore=shutil.ignore_patterns("__pycache__", "tests"))
        pending.extend(bundle_version(root, fqcn)[1])
    # Without --no-deps: the resolver must find every dependency, in its declared range, in the target.
    galaxy("install", "--offline", "-p", str(target), tarballs[0], env=env, cwd=str(work))
    return target, env, done


def plugin_names(kind, pattern):
    return sorted(os.path.splitext(os.path.basename(p))[0] for p in glob.glob(os.path.join(TOP, "plugins", kind,
                                                                                           pattern)))


ROLES = sorted(os.path.basename(os.path.dirname(os.path.dirname(p)))
               for p in glob.glob(os.path.join(TOP, "roles", "*", "meta", "argument_specs.yml")))
PLAYBOOKS = ["site.yml"] + sorted(os.path.relpath(p, TOP) for p in glob.glob(os.path.join(TOP, "playbooks", "*.yml"))
                                  + glob.glob(os.path.join(TOP, "playbooks", "images", "*.yml")))


def test_only_the_declared_collections_are_installed(installed):
    target, env, deps = installed
    listed = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "list", "--format", "json"],
                            env=env, capture_output=True, text=True, check=True).stdout
    # ansible-core's own internal collections (ansible._protomatter) are not dependencies.
    names = {name for path in json.loads(listed).values() for name in path if not name.startswith("ansible._")}
    assert names == deps | {SELF}


def test_installed_collection_has_the_roles(installed):
    target = installed[0]
    roles = os.listdir(target / "ansible_collections" / "kos" / "platform" / "roles")
    assert "preflight" in roles and "lab" in roles


def run_ansible_doc(env, kind, names):
    proc = subprocess.run([os.path.join(BIN, "ansible-doc"), "-t", kind] + ["kos.platform." + n for n in names],
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    return proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def docs(installed):
    """One ansible-doc run per plugin type (each run costs seconds): {type: (env, stdout, stderr)}."""
    env = installed[1]
    names = {"filter": plugin_names("filter", "*.yml"), "module": MODULES, "role": ROLES}
    return {kind: (env,) + run_ansible_doc(env, kind, items) for kind, items in names.items()}


def doc_of(docs, kind, name):
    env, stdout, stderr = docs[kind]

    def section(text):
        found = [sec for sec in re.split(r"^(?=> )", text, flags=re.M)
                 if re.match(r"> \S+:? \*?kos\.platform\.%s\b" % name, sec)]
        return found[0] if found else None

    if section(stdout) is None and stderr.strip():
        # One broken plugin stops a batch: ask for this one alone, so each test names its own failure.
        stdout, stderr = run_ansible_doc(env, kind, [name])
    errors = [line for line in stderr.splitlines() if "kos.platform.%s " % name in line + " "]
    assert not errors, "\n".join(errors)
    text = section(stdout)
    assert text, "ansible-doc -t %s printed nothing for kos.platform.%s:\n%s" % (kind, name, stderr[-2000:])
    return text


MODULES = [n for n in plugin_names("modules", "*.py") if n != "__init__"]


@pytest.mark.parametrize("name", plugin_names("filter", "*.yml"))
def test_filter_documentation(docs, name):
    assert "EXAMPLES" in doc_of(docs, "filter", name).upper()


@pytest.mark.parametrize("name", MODULES)
def test_module_documentation(docs, name):
    assert "RETURN" in doc_of(docs, "module", name).upper()


@pytest.mark.parametrize("name", ROLES)
def test_role_documentation(docs, name):
    text = doc_of(docs, "role", name)
    assert re.search(r"^ENTRY POINT: \*?main\*? - \S", text, re.M), text[:2000]


def test_playbook_syntax_with_the_declared_dependencies_only(installed):
    # Syntax-check resolves every module and role a playbook names: an undeclared collection fails here.
    target, env = installed[:2]
    copy = target / "ansible_collections" / "kos" / "platform"
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(TOP, "inventories", "sample"),
                           "--syntax-check"] + PLAYBOOKS, cwd=str(copy), env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_installed_collection_derives_the_model(installed):
    env = installed[1]
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(TOP, "inventories", "sample"),
                           os.path.join(TOP, "tests", "unit", "playbooks", "model.yml")],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "10.96.0.10" in proc.stdout


def used_collections():
    """Collections named by a fully qualified name anywhere the collection's users run code."""
    pattern = re.compile(r"\b([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*\b")
    files = [os.path.join(TOP, "site.yml"), os.path.join(TOP, "ansible.cfg")]
    for top in ("roles", "playbooks", "plugins"):
        for dirpath, _dummy, names in os.walk(os.path.join(TOP, top)):
            if "/molecule" in dirpath or "__pycache__" in dirpath:
                continue
            files += [os.path.join(dirpath, n) for n in names if n.endswith((".yml", ".yaml", ".py", ".j2",
                                                                             "Jenkinsfile"))]
    root = bundle_root()
    found = {}
    for path in files:
        with open(path, errors="replace") as handle:
            text = handle.read()
        if path.endswith(".py"):
            # `from ansible.utils.display import ...` is ansible-core's package, not the ansible.utils
            # collection (collections are imported as ansible_collections.<ns>.<name>).
            text = re.sub(r"(?m)^\s*(from|import)\s+ansible\.\S+.*$", "", text)
        for match in pattern.finditer(text):
            fqcn = "%s.%s" % match.groups()
            if fqcn not in BUILTIN and os.path.isdir(os.path.join(root, *match.groups())):
                found.setdefault(fqcn, os.path.relpath(path, TOP))
    return found


def test_galaxy_declares_every_collection_the_code_uses():
    declared = set(load_yaml("galaxy.yml")["dependencies"])
    used = used_collections()
    assert used, "no fully qualified names found: the scan is broken"
    missing = {fqcn: where for fqcn, where in used.items() if fqcn not in declared and fqcn != "kos.platform"}
    assert not missing, "used but not declared in galaxy.yml dependencies: %s" % missing
    unused = declared - set(used)
    assert not unused, "declared in galaxy.yml but never used: %s" % sorted(unused)


def test_dependency_ranges_hold_the_tested_versions():
    from ansible.galaxy.dependency_resolution.versioning import meets_requirements
    root = bundle_root()
    declared = load_yaml("galaxy.yml")["dependencies"]
    assert declared, "galaxy.yml declares no dependencies"
    for fqcn, spec in declared.items():
        assert re.fullmatch(r">=\d+\.\d+\.\d+,<\d+\.\d+\.\d+", spec), "%s: give a range >=X.Y.Z,<N.0.0" % fqcn
        version = bundle_version(root, fqcn)[0]
        assert meets_requirements(version, spec), "%s %s (tested) is outside %s" % (fqcn, version, spec)


def test_requires_ansible_covers_what_the_roles_use():
    required = load_yaml("meta", "runtime.yml")["requires_ansible"]
    floor = tuple(int(x) for x in re.fullmatch(r">=(\d+)\.(\d+)\.\d+", required).groups())
    uses_end_role = subprocess.run(["grep", "-rlE", r"meta:\s*end_role", os.path.join(TOP, "roles")],
                                   capture_output=True, text=True, check=False).stdout.split()
    if uses_end_role:
        assert floor >= (2, 18), "meta: end_role needs ansible-core 2.18 (%s)" % uses_end_role[0]
    import ansible.release
    running = tuple(int(x) for x in ansible.release.__version__.split(".")[:2])
    assert running >= floor


def test_host_keys_are_checked_by_default():
    config = configparser.ConfigParser()
    config.read(os.path.join(TOP, "ansible.cfg"))
    assert config.get("defaults", "host_key_checking", fallback="true").lower() in ("true", "yes", "1"), \
        "ansible.cfg must not turn host key checking off"
    assert "StrictHostKeyChecking=no" not in config.get("ssh_connection", "ssh_args", fallback="")
    for path in glob.glob(os.path.join(TOP, "inventories", "**", "*.yml"), recursive=True):
        with open(path) as handle:
            text = handle.read()
        assert not re.search(r"StrictHostKeyChecking=no|host_key_checking:\s*(false|no)", text, re.I), path


def test_one_pytest_run_collects_every_test():
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "tests"], cwd=TOP, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def requirement_pins():
    pins = {}
    with open(os.path.join(TOP, "requirements.txt")) as handle:
        for line in handle:
            match = re.match(r"^([A-Za-z0-9_.\[\]-]+)==(\S+)", line.strip())
            if match:
                pins[match.group(1).split("[")[0].lower()] = match.group(2)
    return pins


def test_execution_environment_matches_the_controller_requirements():
    ee = load_yaml("execution-environment.yml")
    assert ee["version"] == 3
    deps = ee["dependencies"]
    # The same files the controller's virtualenv and CI use, not a second list that drifts.
    assert deps["python"] == "requirements.txt" and deps["system"] == "bindep.txt"
    pins = requirement_pins()
    assert deps["ansible_core"]["package_pip"] == "ansible-core==" + pins["ansible-core"]
    assert "ansible" in pins, "requirements.txt must pin the ansible bundle: it brings galaxy.yml's dependencies"


def test_bindep_lists_the_controller_packages():
    with open(os.path.join(TOP, "bindep.txt")) as handle:
        entries = [line.split("#")[0].strip() for line in handle if line.split("#")[0].strip()]
    names = {entry.split()[0] for entry in entries}
    for entry in entries:
        assert re.fullmatch(r"[a-z0-9][a-z0-9.+-]*( \[[a-z0-9:. !-]+\])?", entry), "not bindep syntax: %r" % entry
    # ssh for the hosts, git for the checkouts Jenkins and the playbooks make.
    assert {"git", "openssh-client", "openssh-clients"} <= names
