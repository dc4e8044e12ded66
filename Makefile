# emotion-assets: `make demo` and `make test` set everything up on a fresh machine (pip only).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

export EMOTION_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(EMOTION_DATA_DIR)/dagster_home
export EMOTION_SHARED_AUDIO ?= $(abspath $(CURDIR)/../shared/audio)
export GX_ANALYTICS_ENABLED := false
DEMO_DATE ?= 2024-06-03
UI_HOST ?= 127.0.0.1
UI_PORT ?= 3000

.PHONY: setup demo test ui run bench lint format backfill sql clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

$(DAGSTER_HOME)/dagster.yaml: deploy/dagster.yaml $(STAMP)
	@mkdir -p $(DAGSTER_HOME)
	cp deploy/dagster.yaml $@
	$(BIN)/dagster instance migrate >/dev/null  # create the SQLite storage before runs race to

setup: $(STAMP) $(DAGSTER_HOME)/dagster.yaml

demo: setup  ## set up, then run every asset on the bundled samples and show the tables
	$(BIN)/python -m emotion_assets.demo --date $(DEMO_DATE)

test: setup  ## set up, then run the whole test suite
	$(BIN)/python -m pytest -q -p no:cacheprovider

# As `make demo`: with EMOTION_MODEL unset and the real model unavailable, runs use the tiny one.
ui: export EMOTION_ALLOW_TINY_FALLBACK ?= 1
ui: setup  ## the Dagster UI (and daemon: schedules, sensors, backfills) on 127.0.0.1
	@test -n "$$EMOTION_MODEL" || echo "!! EMOTION_MODEL is unset: runs fall back to the TINY RANDOM MODEL (meaningless scores) when iic/emotion2vec_plus_large cannot be loaded; each such run says so in its log and metadata (README, Model)."
	$(BIN)/dagster dev -h $(UI_HOST) -p $(UI_PORT) -w workspace.yaml

bench: setup  ## the speed and memory benchmark (full-size model, ~20-30 min)
	$(BIN)/python -m bench.run

run: setup  ## make run DAY=2024-06-03: materialize every asset of one day, here and now
	$(BIN)/dagster job execute -m emotion_assets.definitions -j emotion_pipeline --tags '{"dagster/partition": "$(DAY)"}'

backfill: setup  ## make backfill FROM=2024-06-01 TO=2024-06-07 (needs `make ui` running)
	$(BIN)/dagster job backfill -w workspace.yaml -j emotion_pipeline --from $(FROM) --to $(TO) --noprompt

sql: setup  ## make sql Q="SELECT * FROM recording_emotion_summary"
	$(BIN)/python -m emotion_assets.warehouse "$(Q)"

lint: setup
	$(BIN)/ruff check emotion_assets emotion_assets_tests bench
	$(BIN)/ruff format --check emotion_assets emotion_assets_tests bench

format: setup
	$(BIN)/ruff format emotion_assets emotion_assets_tests bench
	$(BIN)/ruff check --fix emotion_assets emotion_assets_tests bench

clean:  ## remove everything the pipeline wrote (raw/ and samples are kept)
	rm -rf data/processed data/lake data/clips data/reports data/embeddings data/warehouse.duckdb* data/dagster_home
