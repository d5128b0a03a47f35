# catalogue-pdl — two commands on a fresh machine: `make run`, then `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SAMPLE ?= data/samples/prf_2025_20250115.xlsx
ENTRIES ?= $(sort $(wildcard data/samples/saisies/saisie_*.xlsx data/samples/saisies/lheo/saisie_*.xml))
# The local PostgreSQL of these machines; tests skip it when unreachable (CI requires it).
CATALOGUE_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export CATALOGUE_TEST_POSTGRES_URL
PREFECT_PORT ?= 4200

.PHONY: install run test test-slow lint clean prefect-server

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installation de l'environnement dans $(VENV) (journal : $(VENV)/install.log)…"
	@{ $(BIN)/python -m pip install --disable-pip-version-check --upgrade pip \
	  && $(BIN)/python -m pip install --disable-pip-version-check -e '.[dev]'; } \
	  > $(VENV)/install.log 2>&1 || { tail -n 40 $(VENV)/install.log; exit 1; }
	@$(BIN)/python -c "import pipelines, prefect, pandera, python_calamine"
	@touch $(STAMP)

## run: ingest the sample extraction, then the organisations' sample entries, into the default
## SQLite store (var/) as a Prefect flow; validate what passes every rule (standing in for the
## Carif-Oref's offer service); publish a release of every feed; show the store
run: $(STAMP)
	@$(BIN)/catalogue ingest --flow $(SAMPLE) $(ENTRIES); code=$$?; test $$code -le 1 || exit $$code
	@$(BIN)/catalogue approve --all-valid --by "make run (démonstration)"
	@$(BIN)/catalogue publish
	@$(BIN)/catalogue status
	@echo "Store : var/catalogue.db — flux publiés : var/current/ — rapport : var/current/rapport/index.html — quarantaine : var/quarantaine/"

## test: the test suite (SQLite, and PostgreSQL when reachable)
test: $(STAMP)
	@$(BIN)/pytest -q -m "not slow"; code=$$?; \
	if [ $$code -eq 5 ]; then echo "pytest n'a collecté aucun test (code 5) : échec." >&2; exit 1; fi; \
	exit $$code

test-slow: $(STAMP)
	@$(BIN)/pytest -q -m slow

## prefect-server: a local Prefect server (UI, API, scheduler) on 127.0.0.1:$(PREFECT_PORT), its
## database in var/.prefect; then export PREFECT_API_URL=http://127.0.0.1:$(PREFECT_PORT)/api
prefect-server: $(STAMP)
	@mkdir -p var/.prefect
	PREFECT_HOME=$(CURDIR)/var/.prefect PREFECT_SERVER_ANALYTICS_ENABLED=false \
	  $(BIN)/prefect server start --host 127.0.0.1 --port $(PREFECT_PORT)

lint: $(STAMP)
	@$(BIN)/ruff check pipelines schemas tests benchmarks

clean:
	rm -rf var .pytest_cache

.PHONY: bench bench-quick

## bench: the benchmark (not part of `make test`; hours at 500k: see benchmarks/README.md):
## every stage at 10k, 100k and 500k sessions, 3 runs, against floors and a naive baseline,
## written to benchmarks/RESULTS.md; BENCH_ARGS="--sizes 100000 --runs 1" to narrow it
bench: $(STAMP)
	@$(BIN)/python -m benchmarks.bench $(BENCH_ARGS)

## bench-quick: the CI smoke benchmark (N=10k, SQLite), written to var/bench/RESULTS-quick.md;
## exits 1 when a ratio is past its generous threshold
bench-quick: $(STAMP)
	@$(BIN)/python -m benchmarks.bench --quick $(BENCH_ARGS)
