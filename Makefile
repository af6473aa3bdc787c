# MegaCity entry points. `make run` brings the platform up natively; `make test` runs every test.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR):$(CURDIR)/libs

.PHONY: setup run test protos protos-check gateway gateway-check lint bench compose-config clean-state

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-local.txt requirements-ml.txt scripts/setup.sh
	bash scripts/setup.sh
	touch $@

setup: $(VENV)/.installed ## install system packages (nginx, wrk) and the Python venv

run: setup ## the whole platform on this machine: services, edge, embedded deps where needed
	$(PY) scripts/run_platform.py

test: setup ## unit + integration tests against real PostgreSQL, Redis and NATS
	$(PY) -m pytest -q $(PYTEST_ARGS)

protos: setup ## regenerate libs/mcproto from protos/
	$(PY) protos/build.py

protos-check: setup
	$(PY) protos/build.py --check

gateway: setup ## regenerate gateway configs from libs/megacity/zones.yaml
	$(PY) -m gateway generate

gateway-check: setup
	$(PY) -m gateway check

lint: setup ## ruff everywhere; mypy --strict on libs/megacity, mypy (default mode) on services and gateway
	$(VENV)/bin/ruff check libs services gateway scripts tests protos/build.py
	cd libs && ../$(VENV)/bin/mypy --config-file ../pyproject.toml --strict -p megacity
	$(VENV)/bin/mypy --config-file pyproject.toml services gateway

bench: setup ## benchmarks; results in bench/REPORT.md
	$(PY) -m bench

compose-config: setup ## validate docker-compose.yml (+ GPU overlay) with throwaway secrets, no Docker engine needed
	mkdir -p .state && bash deploy/compose-env.sh > .state/compose.env
	$$($(PY) -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")') \
	  --env-file .state/compose.env -f docker-compose.yml -f deploy/compose.gpu.yml config -q && echo "compose config ok"

clean-state: ## forget local platform state (embedded databases, logs)
	rm -rf .state
