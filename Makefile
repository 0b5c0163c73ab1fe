# Two commands for a newcomer: `make run` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-faults lint install system-deps services testbed testbed-down bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/setupwizard serve

system-deps:
	@scripts/install-system-deps.sh

services:
	@scripts/ensure-services.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install system-deps services lint
	$(BIN)/pytest -ra

# The fault suite alone (it also runs inside `make test`), then its table into docs/reliability.md.
test-faults: install system-deps services
	rm -rf test-artifacts/faults
	$(BIN)/pytest -ra tests/faults; status=$$?; $(BIN)/python -m tests.faults.report; exit $$status

testbed: install
	@if [ "$$(id -u)" -ne 0 ]; then echo "make testbed needs root (network namespaces, chroot): run it with sudo" >&2; exit 1; fi
	@scripts/install-system-deps.sh
	$(BIN)/setupwizard testbed up

testbed-down: install
	$(BIN)/setupwizard testbed down

# All five benchmarks of issue E and a profile, against fresh testbed hosts: rewrites bench/results.md.
# Needs root (the testbed) and PostgreSQL + Redis (`make services`); takes a while. Subsets and a
# quick validation run: `sudo .venv/bin/python -m bench [--quick] [throughput latency connect scale peers profile]`.
bench: install system-deps services
	@if [ "$$(id -u)" -ne 0 ]; then echo "make bench needs root (the testbed): run it with sudo" >&2; exit 1; fi
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
