# MeltwaterBench Explorer. `make serve` installs, builds the demo and serves the dashboard;
# `make test` runs the test suite. Everything goes into a local virtual environment (.venv).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5006
# server processes (`make serve PROCS=2`): the cores to give a class, docs/reliability.md
PROCS ?= 1
# sessions each process builds before its first page (`make serve PROCS=2 POOL=20` for a class
# of 30); empty: the dashboard's default (2)
POOL ?=
SIZE ?= default

.PHONY: install demo rest extras serve test browser lint bench notebooks clean-data

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

DEMO_MODELS := unet,mar_interp,pmw_threshold,sar_running_mean
# every baseline, the optional ones too, so the dashboard shows the full table
EVAL_MODELS := $(DEMO_MODELS),linear_dem,random_forest

# Each step is idempotent: a second run finds everything done and returns at once.
# `demo` builds what the page needs to open: the demo, its cube, the four models on the test
# split's days (what `evaluate` scores, and where the opening story day is chosen), their
# evaluation (melt area on the scored days only: the other days are not precomputed yet), then
# every day of the season the page opens on (`meltwater_dashboard.opening`). The other seasons
# are left to `rest`, the melt area of every day to the full evaluation of `extras`.
PRECOMPUTE := $(BIN)/meltwater precompute --source demo --models $(DEMO_MODELS) --ablations none
demo: install
	$(BIN)/meltwater demo --size $(SIZE)
	$(BIN)/meltwater cube --source demo
	$(PRECOMPUTE) --split test
	@[ -f data/results/demo_test.nc ] || \
		$(BIN)/meltwater evaluate --source demo --split test --models $(DEMO_MODELS) --area-days split
	$(PRECOMPUTE) --years $$($(BIN)/python -m meltwater_dashboard.opening demo)

# Every other day of the four models (and each completed season's summary): the cube complete.
# `serve` runs it in the background, first part of `extras`; the page says which seasons are
# still being computed and picks them up as they are written.
rest: demo
	$(PRECOMPUTE)

# The full table: the UNet's input ablations and its TTA spread (unc_unet) on the test split's
# days (the dashboard computes other days live, on demand), then every model, the optional
# baselines and the ablations evaluated. The results file is replaced atomically and the served
# dashboard re-reads it when it changes, so `serve` runs this in the background, after `rest`.
extras: rest
	@[ -f data/results/.demo_test_full ] || { \
		$(BIN)/meltwater precompute --source demo --models unet --ablations all --uncertainty 4 --split test && \
		$(BIN)/meltwater evaluate --source demo --split test --models $(EVAL_MODELS) --ablations all && \
		touch data/results/.demo_test_full; }

# `-o demo`: the background run does not check the demo again (serve has just built it).
serve: demo
	@echo "the other seasons and the full results table are computed in the background (log: data/extras.log)"
	@$(MAKE) --no-print-directory -o demo extras > data/extras.log 2>&1 &
	$(if $(POOL),MELTWATER_SESSION_POOL=$(POOL) )$(BIN)/python -m panel serve dashboard/app.py --setup dashboard/warm.py --unused-session-lifetime 120000 --num-procs $(PROCS) --address 127.0.0.1 --port $(PORT) --allow-websocket-origin=localhost:$(PORT) --allow-websocket-origin=127.0.0.1:$(PORT)

# Debian's chromium for the browser tests (skipped with a reason when it is absent).
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "chromium could not be installed: browser tests will be skipped"; fi

test: lint browser
	$(BIN)/python -m pytest -n 2

# ruff (lint + format) and mypy over the library and the dashboard (dashboard/ is checked as the
# package it is installed as, meltwater_dashboard, through a link under build/).
lint: install
	$(BIN)/ruff check src tests dashboard benchmarks
	$(BIN)/ruff format --check src tests dashboard benchmarks
	@mkdir -p build/typecheck && ln -sfn ../../dashboard build/typecheck/meltwater_dashboard
	$(BIN)/mypy

bench: install
	$(BIN)/python -m benchmarks.inference
	$(BIN)/python -m benchmarks.dashboard

notebooks: demo
	$(BIN)/python -m pip install --quiet -e '.[classroom]'
	$(BIN)/jupyter lab notebooks/

clean-data:
	rm -rf data
