# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app instrument_share
STAMP := $(VENV)/.installed
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard instrument_share/translations/*/LC_MESSAGES/messages.po))
PORT ?= 5000
export PORT  # PLATFORM_URL's default follows it (config.py)
PDF_FONT ?= /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
export PDF_FONT
AXE_PREFIX := .cache/axe
AXE_JS := $(AXE_PREFIX)/node_modules/axe-core/axe.min.js

.PHONY: run test install lint translations-extract

# The web server and one scheduler; Ctrl-C stops both.
run: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	@echo "instrument-share is at http://127.0.0.1:$(PORT)/ (mail goes to instance/mail/)"
	@$(FLASK) scheduler & scheduler=$$!; \
	trap 'kill $$scheduler 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

# In parallel, one pytest-xdist worker per CPU and one more (many tests wait
# on a server, a socket or a lease), each on a database of its own, handed
# one test at a time (README, "Tests"); PYTEST_ARGS='-n 0 ...' runs in one
# process.
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(len(os.sched_getaffinity(0)) + 1)')
test: install
	$(BIN)/pytest -n $(TEST_WORKERS) --maxschedchunk 1 $(PYTEST_ARGS)

install: $(STAMP) $(CATALOGUES) $(PDF_FONT) $(AXE_JS)

# Receipts and statements are PDFs in an open CJK font, Noto Sans CJK
# (Debian's fonts-noto-cjk), installed here when it is missing; without it
# they answer 503 and the printable pages still work. PDF_FONT names another.
$(PDF_FONT):
	@if command -v apt-get >/dev/null; then \
		sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q fonts-noto-cjk || \
		echo "could not install fonts-noto-cjk: PDF receipts will answer 503 until it is"; \
	else echo "no apt-get: install Noto Sans CJK and set PDF_FONT for PDF receipts"; fi

# axe-core for the browser journeys' accessibility checks (issue #19), from
# npm into a git-ignored folder, never committed nor served; npm comes from
# apt-get when it is missing. Without either, the journeys install it on
# first use or skip (REQUIRE_BROWSER=1: fail).
.PHONY: axe
axe: $(AXE_JS)
$(AXE_JS):
	@if ! command -v npm >/dev/null && command -v apt-get >/dev/null; then \
		sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q npm || true; \
	fi
	@if command -v npm >/dev/null; then \
		npm install --prefix $(AXE_PREFIX) --no-audit --no-fund --silent axe-core@4 || \
		echo "could not install axe-core: the accessibility journeys will try again"; \
	else echo "no npm: the accessibility journeys need axe-core (npm install --prefix $(AXE_PREFIX) axe-core@4)"; fi

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Compiled catalogues are build output, made here and never committed.
%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --statistics -i $< -o $@

translations-extract: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ --no-location --sort-output \
		-o instrument_share/translations/messages.pot .
	$(BIN)/pybabel update -i instrument_share/translations/messages.pot \
		-d instrument_share/translations --no-fuzzy-matching

# Mutation testing of the rule modules (issue #21): mutmut against the fast
# tests that cover each (setup.cfg, [mutmut]), on SQLite, then the score per
# module (README, "Mutation testing"); `make mutation MODULE=booking/conflicts.py`
# for one. Not part of `make test` nor of CI.
MUTATION_JOBS ?= 2
.PHONY: mutation
mutation: install
	$(BIN)/python mutation/run.py --jobs $(MUTATION_JOBS) $(MODULE)

# PNGs of the main pages at 1366 and 390 px into docs/screenshots/ (README,
# "Screenshots"): the demo region seeded into the test database, each role
# signed in, overflow checked as the pictures are taken. Without
# SCREENSHOTS=1 (`make test`) the module only checks overflow.
.PHONY: screenshots
screenshots: install
	SCREENSHOTS=1 REQUIRE_BROWSER=1 $(BIN)/pytest -n 0 -p no:cacheprovider -q \
		tests/browser/test_screenshots.py::test_screenshots_of_the_main_pages

lint: install
	$(BIN)/ruff check instrument_share tests migrations
