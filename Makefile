# kos.platform: the two commands that matter are `make lab` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= .venv
PYTHON ?= python3
TOP := $(abspath .)
export PATH := $(TOP)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(TOP)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(TOP)/.collections
export ANSIBLE_ROLES_PATH := $(TOP)/roles
COLLECTION_LINK := .collections/ansible_collections/kos/platform
PLAYBOOKS := site.yml $(wildcard playbooks/*.yml playbooks/images/*.yml)
ROLE ?=

.PHONY: help setup lint syntax unit sanity units molecule test-role integration test lab lab-down bench build changelog clean \
	live-install live-molecule live-integration
help:
	@echo "make setup      virtualenv with pinned requirements, collection importable from the checkout"
	@echo "make test       every test: lint, syntax, unit, molecule scenarios, integration suites"
	@echo "make lab        build lab images, start the lab, run site.yml on it, print a summary"
	@echo "make lab-down   remove everything the lab made"
	@echo "make test-role ROLE=x   one role's molecule scenario"
	@echo "make bench      benchmarks (ratios measured in one run)"

setup: $(VENV)/.kos-stamp $(COLLECTION_LINK)

$(VENV)/.kos-stamp: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../.. $@

lint: setup
	yamllint -s .
	ruff check plugins tests
	ansible-lint --profile production --offline -q
	antsibull-changelog lint

syntax: setup
	@for p in $(PLAYBOOKS); do \
	  echo "syntax-check $$p"; \
	  ansible-playbook -i inventories/sample --syntax-check $$p >/dev/null; \
	done

# Two pytest-xdist workers, a test file per worker at a time (tests of one file share fixtures and
# paths); each worker has its own Ansible fact cache (tests/conftest.py).
unit: setup
	pytest -q -n 2 --dist loadfile --durations=15 tests/unit

# ansible-test as collection maintainers run it, without Docker (tests/bin/ansible-test).
sanity: setup
	tests/bin/ansible-test sanity

units: setup
	tests/bin/ansible-test units

molecule: setup
	tests/bin/molecule-all

test-role: setup
	@test -n "$(ROLE)" || { echo "usage: make test-role ROLE=<role>"; exit 2; }
	tests/bin/molecule-all $(ROLE)

integration: setup
	tests/bin/integration-all

# The static checks first (they fail in minutes), side by side with the unit tests, ansible-test
# sanity and the live suites' installs (lint used one of the two cores for 3.5 minutes before);
# ansible-test units after them (sanity and units share ansible-test's copy of the tree); then the
# live suites beside the molecule scenarios: they use separate addresses, ports and container names,
# and spend most of their time waiting on daemons, not on the CPU.
# Each step prints its start time, so that a CI log shows where the time went.
test:
	@echo "== make test: lint, syntax, unit, sanity, live-install at $$(date +%T)"
	$(MAKE) -j4 lint syntax unit sanity live-install
	@echo "== make test: units at $$(date +%T)"
	$(MAKE) units
	@echo "== make test: molecule, integration at $$(date +%T)"
	@mkdir -p .cache && touch .cache/live-started
	@$(MAKE) -j2 live-molecule live-integration || { python3 tests/bin/failure_digest.py .cache/live-started; exit 1; }
	@echo "== make test: passed at $$(date +%T)"

# The live suites' installs (packages and virtualenvs; no daemon is started) beside the static checks:
# lint and syntax use one core, and the test cloud's install is mostly downloads. Not after setup:
# the cloud has a virtualenv of its own, so it installs while setup makes the checkout's. A failed
# install does not stop make test here: the cloud suite installs again and its failure is reported
# with every other live failure (the molecule scenarios still run).
live-install:
	@tests/integration/cloud/cloud.sh install || echo "== live-install: the test cloud's install failed; the cloud suite tries again and reports it"

# make test's live part in two streams of about the same length (measured on the 2-core machine, in
# a clean-clone run of 2026-12-01: the molecule scenarios two at a time about 53 minutes, then the images suite
# (3 minutes); the cloud, Keystone and lab suites one after another 63 minutes; both cores busy
# throughout, so moving a suite between the streams moves its minutes, it saves none). Every suite and
# scenario stops its own daemons; both streams run to their end and report every failure.
live-molecule: setup
	@rc=0; tests/bin/molecule-all || rc=1; tests/bin/integration-all images || rc=1; exit $$rc

live-integration: setup
	@found=$$(for d in tests/integration/*/run.sh; do basename "$$(dirname "$$d")"; done | sort | tr '\n' ' '); \
	  [ "$$found" = "cloud images keystone lab " ] || { echo "make test runs cloud images keystone lab, but tests/integration has: $$found (add the new suite to live-integration or live-molecule)"; exit 1; }
	tests/bin/integration-all cloud keystone lab

lab: setup
	tests/lab/lab.sh up

lab-down: setup
	tests/lab/lab.sh down

bench: setup
	tests/bin/bench-all

build: setup
	ansible-galaxy collection build --force --output-path .cache/dist

changelog: setup
	antsibull-changelog release

clean:
	rm -rf .cache .pytest_cache .ruff_cache
