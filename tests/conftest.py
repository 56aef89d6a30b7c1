"""Make the checkout importable as ansible_collections.kos.platform for every test."""

import os
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(TOP, ".collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "kos", "platform")

if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(os.path.join("..", "..", ".."), LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

# pytest-xdist (make unit runs two workers): each worker keeps its own Ansible fact cache, since the
# jsonfile cache plugin rewrites a host's file in place and a reader in the other worker could see half
# of it. Subprocesses (ansible-playbook) inherit the variable; the environment wins over ansible.cfg.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if _WORKER:
    os.environ.setdefault("ANSIBLE_CACHE_PLUGIN_CONNECTION", os.path.join(TOP, ".cache", "facts-" + _WORKER))
