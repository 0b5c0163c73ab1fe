# Two commands for a newcomer: `make run` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every package comes from uv.lock (exact versions and hashes): a fresh clone gets what CI tested.
# uv itself is pinned here and installed into .uv/ by pip; it never downloads a Python of its own.
UV_VERSION := 0.13.8
UV := .uv/bin/uv
export UV_PYTHON_DOWNLOADS := never
SYNC := $(UV) sync --locked --python $(PYTHON) --extra dev

.PHONY: run test test-faults lint install upgrade system-deps services testbed testbed-down bench clean

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/pip install -q uv==$(UV_VERSION)

$(STAMP): pyproject.toml uv.lock | $(UV)
	$(SYNC)
	touch $(STAMP)

install: $(STAMP)

# Newest versions the ranges in pyproject.toml allow, into uv.lock; then the whole suite on them.
upgrade: | $(UV)
	$(UV) lock --upgrade --python $(PYTHON)
	$(SYNC)
	touch $(STAMP)
	$(MAKE) test

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

# The suite runs in two processes side by side (pytest-xdist, each module kept in one process): about 28 min
# instead of 43-51 on 2 cores, since most tests wait on SSH logins and real commands. TEST_WORKERS=0 runs it in
# this process (a single file: .venv/bin/pytest FILE).
TEST_WORKERS ?= 2
test: install system-deps services lint
	$(BIN)/pytest -ra --durations=40 -n $(TEST_WORKERS) --dist loadscope

# The fault suite alone (it also runs inside `make test`), then its table into docs/reliability.md.
test-faults: install system-deps services
	rm -rf test-artifacts/faults
	$(BIN)/pytest -ra -n $(TEST_WORKERS) --dist loadscope tests/faults; status=$$?; $(BIN)/python -m tests.faults.report; exit $$status

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
	$(SYNC) --extra bench
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .uv .mypy_cache .ruff_cache .pytest_cache
