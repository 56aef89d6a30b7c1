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
