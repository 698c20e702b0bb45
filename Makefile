# Lensflow: `make demo` and `make test` work on a fresh machine with only python3.
# Both bootstrap .venv from the pinned requirements.lock.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Debian packages the project needs (installed when missing and running as root).
APT_PACKAGES := fonts-wqy-microhei espeak-ng sox postgresql

.PHONY: demo test lint bench install system-deps lock clean

install: system-deps $(STAMP)

$(STAMP): requirements.lock
	@if [ ! -x $(PY) ]; then \
	  $(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	    echo "python3 -m venv failed: installing python3-venv"; \
	    apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }; \
	fi
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.lock
	@touch $(STAMP)

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing Debian packages:$$missing (run: sudo apt-get install$$missing)"; exit 1; fi; \
	fi

demo: install
	$(PY) cli.py validate flows/
	$(PY) cli.py tree flows/glance_pay.yaml
	$(PY) cli.py run flows/translate.yaml --events docs/examples/translate.events.yaml
	$(PY) cli.py preview flows/glance_pay.yaml --out out/demo/preview
	$(PY) cli.py simulate flows/translate.yaml --scenario docs/examples/translate.scenario.yaml --out out/demo/simulator
	LENSFLOW_DATA=out/demo/data $(PY) cli.py run flows/transcribe_meeting.yaml --events docs/examples/meeting.events.yaml
	LENSFLOW_DATA=out/demo/data $(PY) cli.py run flows/teleprompter.yaml --events docs/examples/teleprompter.events.yaml

test: install
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: install
	$(PY) -m ruff check .

bench: install
	$(PY) bench/validate_bench.py
	$(PY) bench/runtime_bench.py
	$(PY) bench/hud_latency_bench.py
	$(PY) bench/routing_bench.py
	$(PY) bench/agent_bench.py

# Refresh the lock after editing requirements.in / requirements-dev.in.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install -q -r requirements.in -r requirements-dev.in
	.lock-venv/bin/pip freeze --exclude-editable > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
