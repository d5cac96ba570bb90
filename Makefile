# Two entry points, each creating .venv and installing first:
#   make run   -> export lga_mobilenet (shipped trained weights) as a verified bundle, checked on ONNX Runtime and OpenVINO
#   make test  -> the test suite (also makes the Triton test environment, see triton-env, and installs the ARM64
#                 emulation's Debian packages, see emulate-deps)
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

.PHONY: run test install triton-env emulate-deps clean lint

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

# ARM64 emulation (python -m edgeattn.emulate, tests/emulate): Debian's qemu-user-static and debootstrap. Installed
# with apt when missing and run as root (CI); otherwise one line says so and the emulate tests skip with that reason.
# The userland and the aarch64 wheels are built by the first emulated run and cached in ~/.cache/edgeattn/emulate.
emulate-deps:
	@if command -v qemu-aarch64-static >/dev/null && PATH="/usr/sbin:/sbin:$$PATH" command -v debootstrap >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			qemu-user-static debootstrap >/dev/null; \
	else echo "emulate-deps: qemu-user-static/debootstrap missing and not root: run 'sudo make emulate-deps' (the emulate tests skip until then)"; fi

run: $(STAMP)
	$(PY) -m edgeattn.export --model lga_mobilenet --pretrained --target openvino --runtimes ort,openvino --output artifacts

test: $(STAMP) $(TRITON_STAMP) emulate-deps
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check edgeattn tests

clean:
	rm -rf $(VENV) $(TRITON_VENV) artifacts .pytest_cache
