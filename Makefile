# adamw-rms developer tasks.  `make test` bootstraps everything it needs on first use:
#   - a virtualenv in $(VENV) with the package installed editable, plus the [test] extra
#   - node_modules/ (KaTeX) from package-lock.json, if npm is available
# Targets: derive test test-slow notebooks figures bench accuracy realnet lint clean  (see `make help`)

VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
PIP     := $(VENV)/bin/pip
PYTEST  := $(PY) -m pytest
EXTRAS  ?= test,sim,torch,plot,notebooks,distributed
# The torch extra takes a range; the venv gets this pinned version, installed before the extras
# so that the range is already satisfied (no resolver upgrade, no multi-GB CUDA wheels where
# the pinned version resolves to a CPU build). Empty: let the extra's range decide.
TORCH_PIN ?= torch==2.13.0
# Notebooks and figures: small (seconds; what CI runs) or full (the committed figures).
NOTEBOOK_SIZE ?= small

VENV_STAMP := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp

.DEFAULT_GOAL := help
.PHONY: help venv node-deps derive test test-slow notebooks figures bench accuracy realnet lint clean

help:
	@echo "make derive     regenerate derivations/ (adamw-rms derive)"
	@echo "make test       fast tests (-m 'not slow'), incl. KaTeX/pdflatex checks"
	@echo "make test-slow  heavy sweeps (-m slow)"
	@echo "make notebooks  execute notebooks/*.py (NOTEBOOK_SIZE=small|full; small by default)"
	@echo "make figures    render docs/figures/*.png at full size (seeded, byte-stable)"
	@echo "make bench      benchmarks/run.py"
	@echo "make accuracy   measure every formula on the grids -> docs/accuracy.md (~7 min on 2 cores)"
	@echo "make realnet    train small real networks with the monitor -> docs/real-networks.md (~5 min on 2 cores)"
	@echo "make lint       ruff check + ruff format --check"
	@echo "make clean      remove venv, node_modules and caches"

# ---- bootstrap ---------------------------------------------------------------------------------

venv: $(VENV_STAMP)

# Re-installs whenever pyproject.toml changes (new deps / extras / entry points).
$(VENV_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(if $(and $(TORCH_PIN),$(findstring torch,$(EXTRAS))),$(PIP) install --quiet '$(TORCH_PIN)')
	$(PIP) install --quiet -e '.[$(EXTRAS)]'
	touch $@

node-deps: $(NODE_STAMP)

# npm is optional for local work: without it the KaTeX test skips with a visible reason
# (and fails under CI=true). No stamp is written then, so it is retried next time.
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "*** npm not found: skipping node_modules (KaTeX checks will be skipped)."; \
		echo "*** Install Node.js + npm (e.g. apt-get install nodejs npm) to enable them."; \
	fi

# ---- tasks -------------------------------------------------------------------------------------

derive: venv
	$(VENV)/bin/adamw-rms derive

test: venv node-deps
	$(PYTEST) -m "not slow"

# pytest exits 5 when nothing is collected; no slow tests yet is not a failure.
test-slow: venv
	$(PYTEST) -m slow; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "(no slow tests collected)"; exit 0; fi; \
	exit $$rc

notebooks: venv
	ADAMW_RMS_SIZE=$(NOTEBOOK_SIZE) $(PYTEST) -m notebook tests/test_notebooks.py --durations=0

figures: venv
	$(PY) -m adamw_rms.figures --size full --out docs/figures

bench: venv
	$(PY) benchmarks/run.py

accuracy: venv
	$(VENV)/bin/adamw-rms accuracy --size full

realnet: venv
	$(PY) -m adamw_rms.realnet --size full --out docs

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) node_modules build dist .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -name '*.egg-info' -type d -prune -exec rm -rf {} +
