# neurocart — the two commands a newcomer types: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Debian packages the browser tests and the PDF report need (Chromium is never downloaded).
# fonts-noto-cjk: the Chinese glyphs of the PDF report and the figures.
SYSTEM_PACKAGES := chromium libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core fonts-noto-cjk

.PHONY: install system-deps axe test lint typecheck unit demo bench clean catalogues

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,omics]'
	touch $(STAMP)

install: $(STAMP)

system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
		echo "warning: missing Debian packages ($$missing); browser tests will be skipped"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# axe-core (npm) for the browser accessibility tests: installed here, never at test run time.
AXE_DIR := tests/e2e/axe
$(AXE_DIR)/node_modules/axe-core/axe.min.js: $(AXE_DIR)/package.json $(AXE_DIR)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		cd $(AXE_DIR) && npm ci --no-audit --no-fund --silent; \
	else echo "warning: npm missing; the accessibility tests will be skipped"; fi

axe: $(AXE_DIR)/node_modules/axe-core/axe.min.js

unit: $(STAMP) system-deps axe
	$(BIN)/pytest -n 2 -q

test: lint typecheck unit

# Message catalogues (docs/languages.md): extract every text (babel.cfg), merge it into the
# en and zh_CN .po files, compile the .mo files. Run after changing a text; commit all three.
LOCALE_DIR := src/neurocart/locale
LOCALES := en zh_CN
catalogues: $(STAMP)
	@mkdir -p build
	$(BIN)/pybabel -q extract -F babel.cfg -k Reason --sort-by-file --project neurocart \
		--copyright-holder "neurocart contributors" -o build/messages.pot src
	@for l in $(LOCALES); do \
		if [ -f $(LOCALE_DIR)/$$l/LC_MESSAGES/messages.po ]; then \
			$(BIN)/pybabel -q update -N -i build/messages.pot -d $(LOCALE_DIR) -l $$l; \
		else $(BIN)/pybabel -q init -i build/messages.pot -d $(LOCALE_DIR) -l $$l; fi; \
	done
	$(BIN)/pybabel compile -d $(LOCALE_DIR) --statistics

demo: $(STAMP)
	$(BIN)/neurocart demo

# every benchmark, then one markdown table of target, figure, spread and verdict
BENCH_DIR := build/bench
BENCHMARKS := calculators ingest simulate cohort monitor_engine startup monitor api_lists runtime board interop omics
bench: $(STAMP)
	@mkdir -p $(BENCH_DIR) && rm -f $(BENCH_DIR)/results.jsonl
	@for b in $(BENCHMARKS); do \
		echo "== benchmarks/$$b.py"; \
		NEUROCART_BENCH_RESULTS=$(BENCH_DIR)/results.jsonl $(BIN)/python benchmarks/$$b.py \
			|| NEUROCART_BENCH_RESULTS=$(BENCH_DIR)/results.jsonl \
				$(BIN)/python benchmarks/_harness.py failed $$b; \
	done
	$(BIN)/python benchmarks/_harness.py table $(BENCH_DIR)/results.jsonl $(BENCH_DIR)/table.md

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
