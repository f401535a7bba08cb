# csbm — the two commands: `make demo` and `make test`. Both build the virtual
# environment from the pinned requirements.lock first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export CSBM_TEST_PG_URL ?= $(PG_URL)

.PHONY: venv demo test lint typecheck unit bench soak clean messages browser

$(STAMP): requirements.lock pyproject.toml $(wildcard src/csbm/locales/*/LC_MESSAGES/csbm.po)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/pybabel compile --use-fuzzy -d src/csbm/locales -D csbm >/dev/null
	touch $(STAMP)

venv: $(STAMP)

# The live demo network on 127.0.0.1 until Ctrl-C (README, "The live demo"); e.g.
# `make demo DEMO_ARGS=--reset` starts clean, `DEMO_ARGS=--once` runs the offline tour.
DEMO_ARGS ?=
demo: $(STAMP)
	$(BIN)/csbm demo $(DEMO_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy --strict

unit: $(STAMP)
	$(BIN)/pytest -n 2 -q

# The browser tests drive Debian's chromium (Playwright cannot download browsers here).
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ; } \
	  || echo "chromium could not be installed: the browser tests will fail"

test: browser lint unit

bench: $(STAMP)
	$(BIN)/python -m bench

soak: $(STAMP)
	$(BIN)/python -m bench --soak

# Re-extract the messages and merge them into the OSCE-language catalogues.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ -o src/csbm/locales/csbm.pot --project csbm src
	$(BIN)/pybabel update --no-fuzzy-matching -i src/csbm/locales/csbm.pot -d src/csbm/locales -D csbm
	$(BIN)/python -c 'import sys; from babel.messages.pofile import read_po, write_po; p = sys.argv[1]; c = read_po(open(p, "rb"), locale="en"); [setattr(m, "string", m.string or m.id) for m in c if m.id]; write_po(open(p, "wb"), c, width=76)' src/csbm/locales/en/LC_MESSAGES/csbm.po
	$(BIN)/pybabel compile -d src/csbm/locales -D csbm

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache bench/results
