# musiclm — one entry point for setup, the demo, tests and benchmarks.
#   make demo   set up, then render a small captioned corpus (and its report)
#   make test   set up, then run the test suite
# GPU users: choose your own torch build, e.g.  make setup TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build on disk on our machines; an unpinned `torch` would pull a multi-GB CUDA build.
TORCH  ?= torch==2.13.0
DEMO   ?= out/demo_corpus

.PHONY: setup demo test test-fast lint bench melodies clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/install_system_deps.sh
	bash scripts/install_system_deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

demo: setup
	$(BIN)/musiclm data synth $(DEMO) --clips 12 --seconds 10 --seed 0 --workers 2
	$(BIN)/musiclm data report $(DEMO) --out $(DEMO)/report > /dev/null
	@echo "listen: $(DEMO)/audio/0000/*.flac   captions: $(DEMO)/manifest.jsonl   report: $(DEMO)/report/report.md"

test: setup
	$(BIN)/pytest -q

test-fast: setup
	$(BIN)/pytest -q -m "not slow"

lint: setup
	$(BIN)/ruff check src tests benchmarks

bench: setup
	$(BIN)/python benchmarks/synth_speed.py

# Re-extract the bundled melody cache from music21's corpus (minutes).
melodies: setup
	$(BIN)/musiclm data melodies

clean:
	rm -rf out .pytest_cache
