# Lensflow: `make demo` and `make test` work on a fresh machine with only python3.
# Both bootstrap .venv from the pinned requirements.lock.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
UV     := $(VENV)/bin/uv
# Debian packages the project needs (installed when missing and running as root).
APT_PACKAGES := fonts-wqy-microhei espeak-ng sox postgresql graphviz chromium chromium-driver

.PHONY: demo test fuzz drill cluster studio lint bench install system-deps lock clean

install: system-deps $(STAMP)

# uv installs the hashed locks (seconds, where pip takes minutes); pip only bootstraps uv itself, by hash.
$(STAMP): requirements.lock requirements-dev.lock requirements-bootstrap.txt
	@start=$$(date +%s); \
	if [ ! -x $(PY) ]; then \
	  $(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	    echo "python3 -m venv failed: installing python3-venv"; \
	    apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }; \
	fi; \
	$(PY) -m pip install --disable-pip-version-check -q --require-hashes -r requirements-bootstrap.txt && \
	$(UV) pip install -q --python $(PY) --require-hashes -r requirements.lock -r requirements-dev.lock && \
	echo "installed the locked dependencies in $$(( $$(date +%s) - start )) s"
	@touch $(STAMP)

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing Debian packages:$$missing (run: sudo apt-get install$$missing)"; exit 1; fi; \
	fi
	@# npm (for the Mermaid parser the tests use) may come from Node's own packages: only its absence matters
	@if ! command -v npm >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; \
	  else echo "npm is missing (run: sudo apt-get install nodejs npm)"; exit 1; fi; \
	fi

DEMO := out/demo

demo: install
	rm -rf $(DEMO)/data  # every demo starts with an empty wallet, journal and catalogue
	$(PY) cli.py validate flows/
	$(PY) cli.py tree flows/glance_pay.yaml
	$(PY) cli.py preview flows/glance_pay.yaml --out $(DEMO)/preview
	$(PY) cli.py graph flows/glance_pay.yaml --format svg --out $(DEMO)/glance_pay.svg
	$(PY) cli.py explore flows/ --min-coverage 90
	$(PY) cli.py test flows/
	LENSFLOW_DATA=$(DEMO)/data $(PY) cli.py simulate flows/translate.yaml --scenario docs/examples/translate.scenario.yaml --out $(DEMO)/translate
	LENSFLOW_DATA=$(DEMO)/data $(PY) cli.py simulate flows/transcribe_meeting.yaml --scenario docs/examples/meeting.events.yaml --out $(DEMO)/meeting
	LENSFLOW_DATA=$(DEMO)/data $(PY) cli.py simulate flows/teleprompter.yaml --scenario docs/examples/teleprompter.events.yaml --out $(DEMO)/teleprompter --no-audio
	LENSFLOW_DATA=$(DEMO)/data $(PY) cli.py simulate flows/capture.yaml --scenario docs/examples/capture.scenario.yaml --out $(DEMO)/capture
	LENSFLOW_DATA=$(DEMO)/data $(PY) cli.py simulate flows/ask.yaml --scenario docs/examples/ask.scenario.yaml --out $(DEMO)/ask
	LENSFLOW_DATA=$(DEMO)/data $(PY) cli.py simulate flows/ask.yaml --scenario docs/examples/ask_offline.scenario.yaml --out $(DEMO)/ask_offline
	LENSFLOW_DATA=$(DEMO)/data $(PY) cli.py simulate flows/glance_pay.yaml --scenario docs/examples/glance_pay.scenario.yaml --out $(DEMO)/pay
	LENSFLOW_DATA=$(DEMO)/data $(PY) cli.py simulate flows/navigate.yaml --scenario docs/examples/navigate.scenario.yaml --out $(DEMO)/navigate --no-audio
	LENSFLOW_DATA=$(DEMO)/data $(PY) cli.py simulate flows/navigate.yaml --scenario docs/examples/navigate_offroute.scenario.yaml --out $(DEMO)/reroute --no-audio
	LENSFLOW_DATA=$(DEMO)/data $(PY) cli.py simulate flows/price_compare.yaml --scenario docs/examples/price_compare.scenario.yaml --out $(DEMO)/price
	LENSFLOW_DATA=$(DEMO)/data $(PY) cli.py simulate flows/read_text.yaml --scenario docs/examples/read_sign.scenario.yaml --out $(DEMO)/read_sign
	LENSFLOW_DATA=$(DEMO)/data $(PY) cli.py simulate flows/read_text.yaml --scenario docs/examples/read_sign_spoken.scenario.yaml --out $(DEMO)/read_spoken
	$(PY) cli.py report $(DEMO)/translate $(DEMO)/meeting $(DEMO)/teleprompter $(DEMO)/capture $(DEMO)/ask $(DEMO)/ask_offline $(DEMO)/pay $(DEMO)/price $(DEMO)/navigate $(DEMO)/reroute $(DEMO)/read_sign $(DEMO)/read_spoken

# The Mermaid parser the diagram tests check every generated diagram with (pinned by its lock file).
MERMAID := $(VENV)/mermaid/.installed
$(MERMAID): tests/mermaid/package-lock.json | $(STAMP)
	mkdir -p $(VENV)/mermaid && cp tests/mermaid/package.json tests/mermaid/package-lock.json $(VENV)/mermaid/
	cd $(VENV)/mermaid && npm ci --no-audit --no-fund --silent
	@touch $@

# The suite runs on every core (pytest-xdist; a test file stays on one worker, so a module's servers
# start once), then the drills run alone: their kill timings should measure the cluster, not the suite.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
test: install $(MERMAID)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest -n $(JOBS) --dist loadfile --ignore=tests/drills
	$(PY) -m pytest tests/drills

# The drills (tests/drills, docs/drills.md) run in `make test` at CI size, derandomized.
# fuzz: every drill with 10x the inputs and kills, new random inputs each run.
fuzz: install
	LENSFLOW_FUZZ=long $(PY) -m pytest tests/drills

# drill: the cluster kill drill alone (300 wearers, 3 workers, 2 gateways, SIGKILLs; docs/scale.md),
# ending with its one `drill:` line. The process kill drills at 20x run with `make fuzz`.
drill: install
	LENSFLOW_FUZZ=long LENSFLOW_FUZZ_SCALE=$${LENSFLOW_FUZZ_SCALE:-20} $(PY) -m pytest tests/drills/test_cluster_drill.py -s -p no:cacheprovider

# cluster: PostgreSQL, the Temporal dev server, 2 workers and 1 gateway on 127.0.0.1 until Ctrl-C (docs/scale.md)
cluster: install
	$(PY) cli.py cluster

studio: install
	$(PY) cli.py studio flows

lint: install
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports --no-cache

bench: install
	$(PY) bench/validate_bench.py
	$(PY) bench/runtime_bench.py
	$(PY) bench/compile_bench.py
	$(PY) bench/hud_latency_bench.py
	$(PY) bench/routing_bench.py
	$(PY) bench/text_scaling_bench.py
	$(PY) bench/agent_bench.py
	$(PY) bench/explore_bench.py
	$(PY) bench/bridge_bench.py
	$(PY) bench/ocr_bench.py
	$(PY) bench/tracing_bench.py
	$(PY) bench/studio_bench.py
	$(PY) bench/studio_help_bench.py

# Refresh the locks after editing requirements.in / requirements-dev.in: a fresh resolve for every
# platform, each pin with the hashes of its files; the pins already locked are kept where they still fit.
LOCK_FLAGS := --generate-hashes --universal --python-version 3.11 -q
lock: $(STAMP)
	$(UV) pip compile requirements.in $(LOCK_FLAGS) -o requirements.lock
	$(UV) pip compile requirements-dev.in $(LOCK_FLAGS) -c requirements.lock -o requirements-dev.lock
	$(UV) pip compile requirements-bootstrap.in $(LOCK_FLAGS) -o requirements-bootstrap.txt

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis
