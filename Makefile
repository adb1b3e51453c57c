# Two commands on a fresh machine:  `make run` (the agent on its embedded defaults)  and  `make test`.
VENV ?= .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck unit deploy-test bench system-deps clean FORCE

# setup.py and the C source: pip builds the optional compiled module (parsers._speedups) when a C
# compiler is there (`make system-deps` installs one), and falls back to pure Python otherwise.
$(STAMP): pyproject.toml setup.py parsers/_speedups.c
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $(STAMP)

# The editable install builds the compiled parser module in place (parsers/_speedups.*.so), where
# `git clean -x` removes it: when it could be built (a C compiler and Python's headers), a missing
# module means installing again.
CAN_BUILD_EXT := $(shell command -v cc >/dev/null 2>&1 && $(PYTHON) -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null && echo yes)
ifeq ($(CAN_BUILD_EXT),yes)
ifeq ($(wildcard parsers/_speedups.*.so),)
$(STAMP): FORCE
endif
endif
FORCE:

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/logagent run

# System tools the tests use for real (Prometheus, journal files, mtail, ...): installed with apt when root.
system-deps:
	sh .ci/system-deps.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

unit: $(STAMP)
	$(VENV)/bin/pytest -q -m "not deploy"

typecheck: $(STAMP)
	$(VENV)/bin/mypy logagent parsers

test: system-deps lint typecheck unit

# The deployment stage (podman: the image as a sidecar, systemd + Ansible in a container).
deploy-test: $(STAMP) system-deps
	sh .ci/base-image.sh
	CONTAINERS_CONF=$${CONTAINERS_CONF:-$(CURDIR)/.ci/containers.conf} $(VENV)/bin/pytest -q -m deploy tests/deploy

bench: $(STAMP)
	$(VENV)/bin/python -m bench.tail

clean:
	rm -rf $(VENV) build *.egg-info parsers/*.so
