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

install: $(STAMP) $(CATALOGUES) $(PDF_FONT)

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

lint: install
	$(BIN)/ruff check instrument_share tests migrations
