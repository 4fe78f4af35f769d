# SPDX-License-Identifier: GPL-3.0-or-later
# opsmodes.maintenance: every target builds what it needs under build/, from the repo's own files.
#   make demo   a real maintenance window against emulated servers on loopback
#   make test   everything CI checks
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

BUILD := $(CURDIR)/build
COLLECTIONS := $(BUILD)/collections
COLLECTION := $(COLLECTIONS)/ansible_collections/opsmodes/maintenance

# The oldest supported ansible-core (2.16) runs on Python 3.10 to 3.12, the newest needs 3.12+.
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

.PHONY: help demo bench test-esri test test-matrix venvs ansible-test-ready collection postgresql units sanity integration lint docs functional molecule package clean

help:
	@echo "make demo   start emulated UCS and ArcGIS servers and run a maintenance window against them"
	@echo "make test   unit, sanity, lint, doc and integration tests on the oldest and newest ansible-core"
	@echo "make test-matrix  sanity, units and integration on every ansible-core from the oldest to the newest"
	@echo "make bench  benchmarks against hand-written uri playbooks, written to bench/RESULTS.md"
	@echo "make test-esri  Esri's own client (arcgis 2.4.4, ~640 MB) against the ArcGIS emulator; not part of make test"
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

# The tests run PostgreSQL servers of their own on 127.0.0.1 (tests/support/postgresql.py), from the
# server binaries found as it finds them: `pg_config --bindir`, the highest /usr/lib/postgresql/*/bin,
# then initdb on PATH. Where there are none, Debian's postgresql package is installed (as root).
# Debian's own cluster, which its package would make and start on port 5432, is not made
# (create_main_cluster = false in /etc/postgresql-common/createcluster.conf, set before the server
# package installs): the tests need none, and nothing of Debian's is left listening.
PG_BINDIRS = { pg_config --bindir 2>/dev/null || :; ls -dvr /usr/lib/postgresql/*/bin 2>/dev/null || :; \
	if p=$$(command -v initdb); then dirname "$$p"; dirname "$$(readlink -f "$$p")"; fi; }
PG_FOUND = for d in $$($(PG_BINDIRS)); do \
	if [ -x "$$d/initdb" ] && [ -x "$$d/pg_ctl" ] && [ -x "$$d/postgres" ]; then echo "$$d"; exit 0; fi; done; exit 1
postgresql:
	@if d=$$($(PG_FOUND)); then echo "PostgreSQL server binaries: $$d"; exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
		echo "PostgreSQL server binaries not found (pg_config --bindir, /usr/lib/postgresql/*/bin, PATH), and the" \
			"tests need them: run \`make postgresql\` as root on Debian, or install PostgreSQL's server" >&2; exit 1; fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update; \
	apt-get install -y --no-install-recommends postgresql-common; \
	pg_conftool /etc/postgresql-common/createcluster.conf set create_main_cluster false; \
	apt-get install -y --no-install-recommends postgresql; \
	d=$$($(PG_FOUND)) || { echo "Debian's postgresql package is in, but no server binaries are found" >&2; exit 1; }; \
	echo "PostgreSQL server binaries: $$d"

# A real maintenance window against emulated servers; only the newest ansible-core is needed.
demo: $(VENV_NEWEST)/.installed collection
	cd $(COLLECTION) && PYTHONPATH=$(COLLECTIONS) ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) ANSIBLE_NOCOLOR=1 \
		$(VENV_NEWEST)/bin/python docs/demo/demo.py

# Benchmarks (bench/run.py); BENCH_ARGS="--only modules --rounds 3" and the like run a part.
BENCH_ARGS ?=
bench: $(VENV_NEWEST)/.installed collection postgresql
	cd $(COLLECTION) && PYTHONPATH=$(COLLECTIONS) ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) \
		$(VENV_NEWEST)/bin/python bench/run.py $(BENCH_ARGS)
	cp $(COLLECTION)/bench/RESULTS.md bench/RESULTS.md

# Esri's own client against the ArcGIS emulator (tests/esri/check_client.py): optional, neither in
# `make test` nor in CI, for arcgis 2.4.4 is about 640 MB. Its venv is rebuilt when
# tests/esri/requirements.txt changes; PYTHON_ESRI=... picks the Python (arcgis 2.4.4 needs 3.11 to 3.14).
PYTHON_ESRI ?= $(call find_python,3.12 3.11)
test-esri:
	@test -n "$(PYTHON_ESRI)" || { echo "No Python 3.11 or 3.12 found for arcgis 2.4.4: set PYTHON_ESRI" >&2; exit 1; }
	cmp -s tests/esri/requirements.txt $(BUILD)/venv/esri/requirements.txt || { rm -rf $(BUILD)/venv/esri \
		&& $(PYTHON_ESRI) -m venv $(BUILD)/venv/esri \
		&& $(BUILD)/venv/esri/bin/pip install --quiet --disable-pip-version-check -r tests/esri/requirements.txt \
		&& cp tests/esri/requirements.txt $(BUILD)/venv/esri/requirements.txt; }
	$(BUILD)/venv/esri/bin/python tests/esri/check_client.py

units: ansible-test-ready collection postgresql
	$(foreach v,$(VENVS),cd $(COLLECTION) && $(BUILD)/venv/$(v)/bin/ansible-test units --venv --python $(TEST_PY_$(v)) --requirements --color no;)

sanity: ansible-test-ready collection
	$(foreach v,$(VENVS),cd $(COLLECTION) && $(BUILD)/venv/$(v)/bin/ansible-test sanity --venv --python $(TEST_PY_$(v)) --requirements --color no;)

# ansible-test integration (tests/integration/targets): run in place from the collection copy, so
# the collection is found as the ansible_collections tree the copy sits in, and --venv makes a venv
# from this ansible-core for --python with tests/integration/requirements.txt (requests) in it.
# The targets start their emulators on 127.0.0.1 through setup_emulators and stop them again.
integration: ansible-test-ready collection
	$(foreach v,$(VENVS),cd $(COLLECTION) && $(BUILD)/venv/$(v)/bin/ansible-test integration --venv --python $(TEST_PY_$(v)) --requirements --color no;)

# Every ansible-core minor from the oldest to the newest supported, each in its own venv with a
# Python it supports: sanity, units and integration. Slow; `make test` keeps the two ends.
# MATRIX="2.18 2.19" runs a part; the results land in $(BUILD)/test-matrix.txt.
MATRIX ?= 2.16 2.17 2.18 2.19 2.20 2.21
MATRIX_PYTHON_2.16 = 3.11
MATRIX_PYTHON_2.17 = 3.11
MATRIX_PYTHON_2.18 = 3.12 3.11
MATRIX_PYTHON_2.19 = 3.12 3.11
MATRIX_PYTHON_2.20 = 3.13
MATRIX_PYTHON_2.21 = 3.13
next_minor = $(shell python3 -c 'import sys; print(int(sys.argv[1].split(".")[1]) + 1)' $(1))
$(BUILD)/venv/core-%/.installed: tests/requirements/common.txt requirements.txt
	@test -n "$(call find_python,$(MATRIX_PYTHON_$*))" || { echo "No Python $(MATRIX_PYTHON_$*) for ansible-core $*" >&2; exit 1; }
	rm -rf $(BUILD)/venv/core-$*
	$(call find_python,$(MATRIX_PYTHON_$*)) -m venv $(BUILD)/venv/core-$*
	$(BUILD)/venv/core-$*/bin/pip install --quiet --disable-pip-version-check "ansible-core>=$*.0,<2.$(call next_minor,$*)" -r tests/requirements/common.txt
	$(BUILD)/venv/core-$*/bin/python tests/tools/prime_ansible_test.py
	touch $@

test-matrix: collection $(foreach c,$(MATRIX),$(BUILD)/venv/core-$(c)/.installed)
	rm -f $(BUILD)/test-matrix.txt
	$(foreach c,$(MATRIX),py=$$($(BUILD)/venv/core-$(c)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
		core=$$($(BUILD)/venv/core-$(c)/bin/python -c 'from ansible.release import __version__; print(__version__)'); \
		row="| $$core | $$py |"; \
		for t in sanity units integration; do \
			start=$$(date +%s); \
			if (cd $(COLLECTION) && $(BUILD)/venv/core-$(c)/bin/ansible-test $$t --venv --python $$py --requirements --color no); \
			then r=pass; else r=FAIL; fi; \
			row="$$row $$r ($$(( $$(date +%s) - start )) s) |"; \
		done; echo "$$row" >> $(BUILD)/test-matrix.txt;)
	@echo "| ansible-core | Python | sanity | units | integration |"; echo "| --- | --- | --- | --- | --- |"; cat $(BUILD)/test-matrix.txt
	! grep -q FAIL $(BUILD)/test-matrix.txt

lint: venvs collection
	cd $(COLLECTION) && PATH=$(VENV_NEWEST)/bin:$$PATH ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) ansible-lint --profile production --offline
	$(VENV_NEWEST)/bin/antsibull-changelog lint
	$(VENV_NEWEST)/bin/antsibull-changelog lint-changelog-yaml --strict changelogs/changelog.yaml
	cd $(COLLECTION) && $(VENV_NEWEST)/bin/antsibull-changelog generate && cmp CHANGELOG.md $(CURDIR)/CHANGELOG.md \
		|| { echo "CHANGELOG.md is not what antsibull-changelog generates from changelogs/changelog.yaml" >&2; exit 1; }
	python3 tests/tools/spdx.py
	$(VENV_NEWEST)/bin/python -m pycodestyle --max-line-length=120 --select=E501 $$(git ls-files -co --exclude-standard '*.py')

# Every plugin and the role must render with ansible-doc, on both ends of the supported range
# (tests/tools/check_docs.py fails where ansible-doc only warns), and the docsite must lint.
docs: venvs collection
	$(foreach v,$(VENVS),ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) $(BUILD)/venv/$(v)/bin/python tests/tools/check_docs.py $(BUILD)/venv/$(v)/bin/ansible-doc $(COLLECTION);)
	cd $(COLLECTION) && PATH=$(VENV_NEWEST)/bin:$$PATH ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) antsibull-docs lint-collection-docs --plugin-docs .

# The role with molecule: each scenario under extensions/molecule starts its emulators itself.
molecule: venvs collection postgresql
	cd $(COLLECTION) && PATH=$(VENV_NEWEST)/bin:$$PATH ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) ANSIBLE_NOCOLOR=1 \
		ANSIBLE_FORCE_COLOR=0 NO_COLOR=1 PY_COLORS=0 molecule test --all

# Modules run by ansible-playbook against the emulators over loopback, on both ansible-cores.
functional: venvs collection postgresql
	$(foreach v,$(VENVS),cd $(COLLECTION) && ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) PYTHONPATH=$(COLLECTIONS) PATH=$(BUILD)/venv/$(v)/bin:$$PATH \
		$(BUILD)/venv/$(v)/bin/python -m pytest tests/functional -n $(PYTEST_WORKERS) -p no:cacheprovider -q;)

# galaxy-importer, what Galaxy and Automation Hub run on every upload, in a venv of its own: it
# bounds the ansible-core and ansible-lint it runs, pinned in tests/requirements/galaxy-importer.txt.
VENV_IMPORTER := $(BUILD)/venv/importer
$(VENV_IMPORTER)/.installed: tests/requirements/galaxy-importer.txt
	@test -n "$(PYTHON_NEWEST)" || { echo "No Python for galaxy-importer: set PYTHON_NEWEST (3.12+)" >&2; exit 1; }
	rm -rf $(VENV_IMPORTER)
	$(PYTHON_NEWEST) -m venv $(VENV_IMPORTER)
	$(VENV_IMPORTER)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements/galaxy-importer.txt
	touch $@

# The tarball users get: built, installed with --force where nothing else is, and every plugin
# rendered from there; no build output, and no development-only file, in it. Then galaxy-importer
# imports it as Galaxy would (tests/galaxy-importer.cfg: ansible-doc, ansible-lint and the changelog
# check, not ansible-test), and any WARNING or ERROR line it logs fails the target, as it exits 0
# on those; its log is $(BUILD)/galaxy-importer.txt.
package: venvs $(VENV_IMPORTER)/.installed collection
	rm -rf $(BUILD)/dist $(BUILD)/installed
	mkdir -p $(BUILD)/installed
	cd $(COLLECTION) && $(VENV_NEWEST)/bin/ansible-galaxy collection build --output-path $(BUILD)/dist
	tar -tzf $(BUILD)/dist/opsmodes-maintenance-*.tar.gz > $(BUILD)/package-contents.txt
	! grep -E '(^|/)(build|tests/output|tests/tools|tests/esri|bench|docs/demo|\.git|\.ci|__pycache__)/|(^|/)Makefile$$' $(BUILD)/package-contents.txt
	grep -qx 'tests/emulators/serve.py' $(BUILD)/package-contents.txt
	grep -qx 'LICENSES/GPL-3.0-or-later.txt' $(BUILD)/package-contents.txt
	grep -qx 'LICENSES/BSD-2-Clause.txt' $(BUILD)/package-contents.txt
	grep -qx 'CHANGELOG.md' $(BUILD)/package-contents.txt
	python3 tests/tools/check_release.py $(BUILD)/package-contents.txt
	$(VENV_NEWEST)/bin/ansible-galaxy collection install --offline --force -p $(BUILD)/installed $(BUILD)/dist/opsmodes-maintenance-*.tar.gz
	ANSIBLE_COLLECTIONS_PATH=$(BUILD)/installed $(VENV_NEWEST)/bin/python tests/tools/check_docs.py $(VENV_NEWEST)/bin/ansible-doc \
		$(BUILD)/installed/ansible_collections/opsmodes/maintenance
	cd $(BUILD) && PATH=$(VENV_IMPORTER)/bin:$$PATH GALAXY_IMPORTER_CONFIG=$(CURDIR)/tests/galaxy-importer.cfg \
		$(VENV_IMPORTER)/bin/python -m galaxy_importer.main $(BUILD)/dist/opsmodes-maintenance-*.tar.gz 2>&1 \
		| tee $(BUILD)/galaxy-importer.txt
	@if grep -E '^(WARNING|ERROR|CRITICAL):' $(BUILD)/galaxy-importer.txt >/dev/null; then \
		echo "galaxy-importer: Galaxy and Automation Hub would show these on the import:" >&2; \
		grep -E '^(WARNING|ERROR|CRITICAL):' $(BUILD)/galaxy-importer.txt >&2; exit 1; fi
	@echo "package: $$(ls $(BUILD)/dist) builds, installs, renders and imports"

# Each step's whole output goes to build/test-logs/<step>.log; the screen gets one verdict line per
# step and an overall one, and the end of the log of a step that failed. Every step runs, whatever
# an earlier one gave, so that one run tells all that fails.
TEST_STEPS := units sanity integration lint docs package functional molecule
TEST_LOGS := $(BUILD)/test-logs
test:
	@mkdir -p $(TEST_LOGS); failed=""; \
	for step in $(TEST_STEPS); do \
		start=$$(date +%s); \
		if $(MAKE) --no-print-directory $$step > $(TEST_LOGS)/$$step.log 2>&1; then verdict=pass; \
		else verdict=FAIL; failed="$$failed $$step"; fi; \
		printf '%-12s %-4s %5d s   %s\n' $$step $$verdict $$(( $$(date +%s) - start )) $(TEST_LOGS)/$$step.log; \
		if [ $$verdict = FAIL ]; then tail -n 150 $(TEST_LOGS)/$$step.log | sed 's/^/    | /'; fi; \
	done; \
	if [ -n "$$failed" ]; then echo "make test: FAIL:$$failed"; exit 1; fi; \
	echo "make test: pass, all $(words $(TEST_STEPS)) steps"

clean:
	rm -rf $(BUILD)
