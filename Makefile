# Two entry points, each creating .venv and installing first:
#   make run   -> export lga_mobilenet (shipped trained weights) as a verified bundle, checked on ONNX Runtime and OpenVINO
#   make test  -> the test suite (also makes the Triton test environment, see triton-env)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# A second, separate environment for the real Triton server the serve tests start (tests/serve): nvidia-pytriton
# needs numpy < 2 (the main one has numpy 2) and an interpreter with a shared libpython its backend stub can load,
# which Debian's /usr/bin/python3 is (a pyenv build was not). Made once (~20 s, ~450 MB), then only the stamp is read.
TRITON_PYTHON ?= /usr/bin/python3
TRITON_VENV := .venv-triton
TRITON_STAMP := $(TRITON_VENV)/.installed

.PHONY: run test install triton-env browser clean lint

$(STAMP): pyproject.toml requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

$(TRITON_STAMP): requirements/triton.txt
	@test -x $(TRITON_PYTHON) || { echo "triton-env: $(TRITON_PYTHON) not found; install Debian's python3 and python3-venv, or pass TRITON_PYTHON=/path/to/python3 (one with a shared libpython)"; exit 2; }
	rm -rf $(TRITON_VENV)
	$(TRITON_PYTHON) -m venv $(TRITON_VENV)
	$(TRITON_VENV)/bin/python -m pip install --quiet -r requirements/triton.txt
	$(TRITON_VENV)/bin/python -c "import pytriton, onnxruntime, numpy; assert numpy.__version__ < '2'"
	touch $(TRITON_STAMP)

triton-env: $(TRITON_STAMP)

run: $(STAMP)
	$(PY) -m edgeattn.export --model lga_mobilenet --pretrained --target openvino --runtimes ort,openvino --output artifacts

# Debian's chromium, for the test that opens verify's HTML report in a real headless browser and screenshots it.
# Installed only when missing (apt-get, as root or through sudo); without it that test is skipped, saying how.
CHROMIUM ?= chromium
browser:
	@command -v $(CHROMIUM) >/dev/null 2>&1 || { \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	  || echo "browser: could not install chromium (apt-get install chromium as root); the HTML report test will be skipped"; }

test: $(STAMP) $(TRITON_STAMP) browser
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check edgeattn tests

clean:
	rm -rf $(VENV) $(TRITON_VENV) artifacts .pytest_cache
