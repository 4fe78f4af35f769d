# opsmodes.maintenance: every target builds what it needs under build/, from the repo's own files.
#   make demo   a real maintenance window against emulated servers on loopback
#   make test   everything CI checks
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

BUILD := $(CURDIR)/build
COLLECTIONS := $(BUILD)/collections
COLLECTION := $(COLLECTIONS)/ansible_collections/opsmodes/maintenance

# The oldest supported ansible-core (2.17) runs on Python 3.10 to 3.12, the newest needs 3.12+.
# A Python is looked up in pyenv's versions first, then on PATH; override with PYTHON_OLDEST=...
find_python = $(firstword $(foreach v,$(1),$(wildcard $(shell pyenv root 2>/dev/null)/versions/$(v).*/bin/python3) $(shell command -v python$(v) 2>/dev/null)))
PYTHON_OLDEST ?= $(call find_python,3.11 3.12 3.10)
PYTHON_NEWEST ?= $(call find_python,3.13 3.12)

VENV_OLDEST := $(BUILD)/venv/oldest
VENV_NEWEST := $(BUILD)/venv/newest
VENVS := oldest newest

# Python version ansible-test runs its sanity and unit tests under, per venv.
TEST_PY_oldest = $(shell $(VENV_OLDEST)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
TEST_PY_newest = $(shell $(VENV_NEWEST)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')

PYTEST_WORKERS ?= 2

.PHONY: help demo bench test venvs ansible-test-ready collection units sanity lint docs functional molecule package clean

help:
	@echo "make demo   start emulated UCS and ArcGIS servers and run a maintenance window against them"
	@echo "make test   unit, sanity, lint, doc and integration tests on the oldest and newest ansible-core"
	@echo "make bench  benchmarks against hand-written uri playbooks, written to bench/RESULTS.md"
	@echo "make clean  remove build/"

PYTHON_oldest = $(PYTHON_OLDEST)
PYTHON_newest = $(PYTHON_NEWEST)
$(BUILD)/venv/%/.installed: tests/requirements/core-%.txt tests/requirements/common.txt requirements.txt
	@test -n "$(PYTHON_$*)" || { echo "No Python found for the $* ansible-core: set PYTHON_OLDEST (3.10-3.12) or PYTHON_NEWEST (3.12+)" >&2; exit 1; }
	rm -rf $(BUILD)/venv/$*
	$(PYTHON_$*) -m venv $(BUILD)/venv/$*
	$(BUILD)/venv/$*/bin/pip install --quiet --disable-pip-version-check -r tests/requirements/core-$*.txt
	touch $@

venvs: $(VENV_OLDEST)/.installed $(VENV_NEWEST)/.installed

# ansible-test bootstraps pip in its venvs from a host outside the package registries.
ansible-test-ready: venvs
	$(foreach v,$(VENVS),$(BUILD)/venv/$(v)/bin/python tests/tools/prime_ansible_test.py;)

# ansible-test wants the collection at .../ansible_collections/opsmodes/maintenance: a fresh copy
# of the files git knows (tracked, or new and not ignored), as they are in the work tree. The copy
# gets a repository of its own, or ansible-test would list files through this one, which ignores
# build/.
collection:
	rm -rf $(COLLECTION)
	mkdir -p $(COLLECTION)
	{ git ls-files -co --exclude-standard | sort -u | comm -23 - <(git ls-files --deleted | sort -u); } \
		| tar -cf - -T - | tar -xf - -C $(COLLECTION)
	git -C $(COLLECTION) init --quiet

# A real maintenance window against emulated servers; only the newest ansible-core is needed.
demo: $(VENV_NEWEST)/.installed collection
	cd $(COLLECTION) && PYTHONPATH=$(COLLECTIONS) ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) ANSIBLE_NOCOLOR=1 \
		$(VENV_NEWEST)/bin/python docs/demo/demo.py

# Benchmarks (bench/run.py); BENCH_ARGS="--only modules --rounds 3" and the like run a part.
BENCH_ARGS ?=
bench: $(VENV_NEWEST)/.installed collection
	cd $(COLLECTION) && PYTHONPATH=$(COLLECTIONS) ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) \
		$(VENV_NEWEST)/bin/python bench/run.py $(BENCH_ARGS)
	cp $(COLLECTION)/bench/RESULTS.md bench/RESULTS.md

units: ansible-test-ready collection
	$(foreach v,$(VENVS),cd $(COLLECTION) && $(BUILD)/venv/$(v)/bin/ansible-test units --venv --python $(TEST_PY_$(v)) --requirements --color no;)

sanity: ansible-test-ready collection
	$(foreach v,$(VENVS),cd $(COLLECTION) && $(BUILD)/venv/$(v)/bin/ansible-test sanity --venv --python $(TEST_PY_$(v)) --requirements --color no;)

lint: venvs collection
	cd $(COLLECTION) && PATH=$(VENV_NEWEST)/bin:$$PATH ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) ansible-lint --profile production --offline
	$(VENV_NEWEST)/bin/antsibull-changelog lint

# Every plugin and the role must render with ansible-doc, on both ends of the supported range.
docs: venvs collection
	$(foreach v,$(VENVS),for plugin in $$(cd $(COLLECTION)/plugins/modules && ls *.py | sed 's/\.py$$//'); do \
		ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) $(BUILD)/venv/$(v)/bin/ansible-doc opsmodes.maintenance.$$plugin > /dev/null || exit 1; \
		echo "ansible-doc ($(v)): opsmodes.maintenance.$$plugin renders"; done; \
		ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) $(BUILD)/venv/$(v)/bin/ansible-doc -t role opsmodes.maintenance.window > /dev/null; \
		echo "ansible-doc ($(v)): role opsmodes.maintenance.window renders";)

# The role with molecule: each scenario under extensions/molecule starts its emulators itself.
molecule: venvs collection
	cd $(COLLECTION) && PATH=$(VENV_NEWEST)/bin:$$PATH ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) ANSIBLE_NOCOLOR=1 molecule test --all

# Modules run by ansible-playbook against the emulators over loopback, on both ansible-cores.
functional: venvs collection
	$(foreach v,$(VENVS),cd $(COLLECTION) && ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) PYTHONPATH=$(COLLECTIONS) PATH=$(BUILD)/venv/$(v)/bin:$$PATH \
		$(BUILD)/venv/$(v)/bin/python -m pytest tests/functional -n $(PYTEST_WORKERS) -p no:cacheprovider -q;)

# The tarball users get: built, installed where nothing else is, and its plugins rendered from there.
package: venvs collection
	rm -rf $(BUILD)/dist $(BUILD)/installed
	cd $(COLLECTION) && $(VENV_NEWEST)/bin/ansible-galaxy collection build --output-path $(BUILD)/dist
	! tar -tzf $(BUILD)/dist/opsmodes-maintenance-*.tar.gz | grep -E '(^|/)(build|tests/output|\.git|__pycache__)/'
	$(VENV_NEWEST)/bin/ansible-galaxy collection install --offline -p $(BUILD)/installed $(BUILD)/dist/opsmodes-maintenance-*.tar.gz
	ANSIBLE_COLLECTIONS_PATH=$(BUILD)/installed $(VENV_NEWEST)/bin/ansible-doc opsmodes.maintenance.ucs_server_mode opsmodes.maintenance.arcgis_site_mode > /dev/null
	ANSIBLE_COLLECTIONS_PATH=$(BUILD)/installed $(VENV_NEWEST)/bin/ansible-doc -t role opsmodes.maintenance.window > /dev/null
	@echo "package: $$(ls $(BUILD)/dist) builds, installs and renders"

test: units sanity lint docs package functional molecule

clean:
	rm -rf $(BUILD)
