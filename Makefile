# The README's two commands are `make book` and `make test`; each creates or updates .venv by itself and
# reinstalls only when requirements.txt or pyproject.toml changed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# torch's CPU-only wheels, used when no CUDA GPU is present (PyPI's Linux wheels bundle CUDA: several GB).
# --no-index keeps any other configured index from offering a CUDA build instead.
TORCH_CPU_WHEELS ?= https://download.pytorch.org/whl/cpu/torch/
PYTEST_ARGS ?=

.PHONY: book test notebooks lab bench clean

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c "import torch" 2>/dev/null || { \
	  if nvidia-smi -L >/dev/null 2>&1; then $(BIN)/pip install "torch>=2.2"; \
	  else $(BIN)/pip install --retries 1 --no-deps --no-index --find-links $(TORCH_CPU_WHEELS) "torch>=2.2"; fi; }
	$(BIN)/pip install -r requirements.txt -e ".[pretrained]"
	@touch $@

## Build the rendered book from the committed notebook outputs into _build/html.
book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "Book built: open _build/html/index.html"

## Debian's chromium for the browser test of the built book (driven by the playwright package; never
## `playwright install`, which downloads its own browsers).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi

## Run every test: unit tests, nbval over notebooks/ (strict), the book build and its checks in a browser.
## One thread per test process (xdist already uses every core): more threads than cores makes torch's OpenMP
## threads spin against each other, which made the training cells 10x slower on 2 cores.
test: $(STAMP) $(CHROMIUM)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/python -m pytest -n auto --dist loadscope --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg \
	  tests notebooks $(PYTEST_ARGS)

## Re-execute every notebook in place (after changing attnlab or a chapter); commit the outputs.
## One thread, as in `make test`, so that the committed outputs come from the same arithmetic nbval repeats.
notebooks: $(STAMP)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=600 \
	  --ExecutePreprocessor.store_widget_state=False notebooks/*.ipynb

## JupyterLab on the chapters.
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

## Benchmarks: ratios against references measured in the same run; writes book/benchmarks/ (JSON, figures, the
## results page's tables). `make bench BENCH_ARGS="--only mha"` runs one.
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf _build
