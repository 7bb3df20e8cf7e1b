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

.PHONY: book book-ko i18n test browser notebooks lab bench clean test-colab test-gpu cuda-present

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/pip || { sh tools/check_prereqs.sh $(PYTHON) && $(PYTHON) -m venv $(VENV); }
	@$(BIN)/python -c "import torch" 2>/dev/null || { \
	  if nvidia-smi -L >/dev/null 2>&1; then $(BIN)/pip install "torch>=2.2"; \
	  else $(BIN)/pip install --retries 1 --no-deps --no-index --find-links $(TORCH_CPU_WHEELS) "torch>=2.2"; fi; }
	$(BIN)/pip install -r requirements.txt -e ".[pretrained]"
	@touch $@

## Build the rendered book from the committed notebook outputs: English into _build/html, Korean into _build/html/ko.
book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@$(MAKE) --no-print-directory book-ko
	@echo "Book built: open _build/html/index.html (English) or _build/html/ko/index.html (한국어)"

## The Korean edition alone: the same sources with language ko (locale/ko/LC_MESSAGES/*.po), built in _build/ko and
## copied to _build/html/ko/, beside the English edition that its language switch links to.
book-ko: $(STAMP)
	$(BIN)/python tools/i18n.py config _build/ko
	$(BIN)/jupyter-book build . --config _build/ko/_config.yml --path-output _build/ko -W -n --keep-going
	@rm -rf _build/html/ko && mkdir -p _build/html && cp -r _build/ko/_build/html _build/html/ko

## After changing English prose: bring the Korean catalogues up to date (new messages empty, changed ones fuzzy with
## the previous English), then list what is left to translate. CONTRIBUTING.md, "The Korean edition".
i18n: $(STAMP)
	$(BIN)/python tools/i18n.py update

## The browser for the browser test of the built book, driven by the playwright package: $ATTNLAB_BROWSER, else
## Debian's chromium, Google Chrome or Chromium in their usual places (tools/find_browser.py). Where there is none it
## installs one and says so: Debian's chromium with apt-get, elsewhere playwright's own download.
## It also needs a font with Hangul (the glossary boxes, chapter 4's Korean): on Debian and Ubuntu, where fontconfig
## knows none, it installs Debian's fonts-noto-cjk with apt-get (as root, or through sudo); macOS has one.
CJK_FONT := fonts-noto-cjk
SUDO = $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser: $(STAMP)
	@if command -v apt-get >/dev/null 2>&1 && ! fc-list :lang=ko 2>/dev/null | grep -q .; then \
	  echo "No font with Hangul for the book's browser test; installing Debian's $(CJK_FONT) with apt-get"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $(CJK_FONT) >/dev/null; fi
	@$(BIN)/python tools/find_browser.py --install

## Run every test: unit tests, nbval over notebooks/ (strict), the book build and its checks in a browser.
## One thread per test process (xdist already uses every core): more threads than cores makes torch's OpenMP
## threads spin against each other, which made the training cells 10x slower on 2 cores. The longest units of work
## come first (xdist hands them out in this order): the book build and its browser checks, then the chapters (each
## runs in one kernel); the short unit tests fill the gaps. (pytest collects tests/test_book.py once.)
test: $(STAMP) browser
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/python -m pytest -n auto --dist loadscope --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg \
	  tests/test_book.py notebooks tests $(PYTEST_ARGS)

## Re-execute every notebook in place (after changing attnlab or a chapter); commit the outputs.
## One thread, as in `make test`, so that the committed outputs come from the same arithmetic nbval repeats.
notebooks: $(STAMP)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=600 \
	  --ExecutePreprocessor.store_widget_state=False notebooks/*.ipynb

## JupyterLab on the chapters; it prints the URL to open (with its token). As root (containers, cloud notebooks)
## it adds --allow-root. More options in LAB_ARGS, e.g. `make lab LAB_ARGS="--ip=0.0.0.0 --no-browser"`.
LAB_ARGS ?=
ALLOW_ROOT = $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
lab: $(STAMP)
	@echo "JupyterLab on notebooks/: open the http://localhost:8888/lab?token=... URL it prints below (Ctrl-C stops it)."
	$(BIN)/jupyter lab notebooks/ $(ALLOW_ROOT) $(LAB_ARGS)

## Benchmarks: ratios against references measured in the same run; writes book/benchmarks/ (JSON, figures, the
## results page's tables). `make bench BENCH_ARGS="--only mha"` runs one.
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

## Every chapter with Colab's versions (colab/constraints.txt: Colab's preinstalled packages, pinned) in a second
## virtual environment, $(COLAB_VENV): the pinned packages first (the "image"; reinstalled only when the
## constraints change), then attnlab from a copy of this tree the way a chapter's setup cell installs it (a
## regular install with the `pretrained` extra, no constraints), then colab/check_pins.py fails if that changed any
## pinned version, then nbval over every chapter (strict, as in `make test`) and the widget and training tests.
## The tests import the installed attnlab, not this tree: pytest's script (no `-m`: the current folder is not on
## sys.path), no `pythonpath`, importlib imports; the chapters' kernels start in notebooks/.
COLAB_PYTHON ?= $(PYTHON)
COLAB_VENV   := _build/colab-venv
COLAB_BIN    := $(COLAB_VENV)/bin
COLAB_PINS   := colab/constraints.txt
COLAB_STAMP  := $(COLAB_VENV)/.image
# The test tools, which Colab does not have; installed under the constraints, so they cannot move a pin.
COLAB_TOOLS  := nbval==0.11.0 pytest-xdist==3.8.0 hypothesis==6.170.17

$(COLAB_STAMP): $(COLAB_PINS)
	rm -rf $(COLAB_VENV)
	@sh tools/check_prereqs.sh $(COLAB_PYTHON)
	$(COLAB_PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_BIN)/python -m pip install -q -c $(COLAB_PINS) pip
	$(COLAB_BIN)/pip install -q --retries 1 --no-deps --no-index --find-links $(TORCH_CPU_WHEELS) \
	  "torch==$$(sed -n 's/^torch==\([^ #]*\).*/\1/p' $(COLAB_PINS))"
	$(COLAB_BIN)/pip install -q -r $(COLAB_PINS)
	$(COLAB_BIN)/pip install -q -c $(COLAB_PINS) $(COLAB_TOOLS)
	@touch $@

test-colab: $(COLAB_STAMP)
	rm -rf $(COLAB_VENV)/src && mkdir -p $(COLAB_VENV)/src
	tar --exclude=__pycache__ -cf - attnlab pyproject.toml README.md | tar -xf - -C $(COLAB_VENV)/src
	$(COLAB_BIN)/pip uninstall -q -y attnlab
	$(COLAB_BIN)/pip install -q "$(COLAB_VENV)/src[pretrained]"
	$(COLAB_BIN)/python colab/check_pins.py
	cd notebooks && $(abspath $(COLAB_BIN))/python -c "import attnlab, ipywidgets, torch; \
	  assert 'site-packages' in attnlab.__file__, attnlab.__file__; \
	  print('attnlab from', attnlab.__file__, '| ipywidgets', ipywidgets.__version__, '| torch', torch.__version__)"
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} PYDEVD_DISABLE_FILE_VALIDATION=1 $(COLAB_BIN)/pytest -o pythonpath= \
	  --import-mode=importlib -n auto --dist loadscope --nbval --nbval-current-env \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg tests/test_widgets.py tests/test_train.py notebooks $(PYTEST_ARGS)

## On a machine with a CUDA GPU (it stops at once, saying so, where there is none): the tests that take a device
## on the GPU, every chapter top to bottom on the GPU (nbval-lax: every assert must hold, printed numbers may
## differ), and the benchmarks' CUDA rows, written to $(GPU_OUT) (results.json, results.md, figures).
GPU_OUT ?= bench/results/gpu
GPU_WORKERS ?= 6
cuda-present:
	@nvidia-smi -L >/dev/null 2>&1 || { echo "make test-gpu: no CUDA device (nvidia-smi finds no NVIDIA GPU)." \
	  "Run it on a machine with an NVIDIA GPU; \`make test\` is the check for this machine." >&2; exit 1; }

test-gpu: cuda-present $(STAMP)
	@$(BIN)/python -c "import sys, torch; torch.cuda.is_available() or sys.exit('make test-gpu: torch ' + \
	  torch.__version__ + ' sees no CUDA device: install a CUDA build of torch in $(VENV) (pip install torch)'); \
	  print('make test-gpu on', torch.cuda.get_device_name(0), '| torch', torch.__version__)"
	$(BIN)/python -m pytest -n $(GPU_WORKERS) tests/test_on_device.py tests/test_device.py $(PYTEST_ARGS)
	OMP_NUM_THREADS=2 $(BIN)/python -m pytest -n $(GPU_WORKERS) --dist loadscope --nbval-lax --durations=20 notebooks \
	  $(PYTEST_ARGS)
	ATTNLAB_BENCH_DEVICES=cuda $(BIN)/python -m bench --out $(GPU_OUT) \
	  --only mha throughput relative_logits local_attention sequence_layers
	@echo "make test-gpu: passed; the CUDA rows are in $(GPU_OUT)/results.md"

clean:
	rm -rf _build
