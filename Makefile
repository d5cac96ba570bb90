# Two entry points, each creating .venv and installing first:
#   make run   -> export lga_mobilenet (shipped trained weights) as a verified bundle, checked on ONNX Runtime and OpenVINO
#   make test  -> the test suite (also makes the Triton test environment, see triton-env, installs the ARM64
#                 emulation's and cross compiler's Debian packages and chromium, see emulate-deps, cross-deps, browser)
# Both build edgeattn's compiled custom-op kernels first (make native; cached, rebuilt when a source changes).
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

.PHONY: run test install triton-env emulate-deps browser cross-deps native-arm64-for-tests clean lint native \
	native-aarch64

# edgeattn/native: the OpenVINO extension library (compiled EdgeAttnCrissCross / EdgeAttnPatchMatch), built with
# CMake against the openvino wheel's own CMake config, into build/native/<arch>/ (gitignored). For ARM64:
# Debian's cross compiler (apt-get install g++-aarch64-linux-gnu) and the aarch64 wheel of the same OpenVINO
# release, downloaded once into NATIVE_CACHE (outside the checkout) and unpacked under build/.
NATIVE_SRC := edgeattn/native/CMakeLists.txt $(wildcard edgeattn/native/src/*.cpp edgeattn/native/src/*.hpp)
NATIVE_LIB := libedgeattn_openvino.so
HOST_ARCH := $(shell uname -m)
NATIVE_CACHE ?= $(HOME)/.cache/edgeattn
NATIVE_JOBS ?= 2
OV_CMAKE = $(shell $(PY) -c "import openvino.utils as u; print(u.get_cmake_path())")
OV_RELEASE = $(shell $(PY) -c "import openvino; print(openvino.__version__.split('-')[0])")
ARM64_OV := build/native/aarch64-openvino

build/native/$(HOST_ARCH)/$(NATIVE_LIB): $(NATIVE_SRC) $(STAMP)
	mkdir -p build/native
	cmake -S edgeattn/native -B build/native/$(HOST_ARCH)/cmake -DCMAKE_BUILD_TYPE=Release \
	  -DOpenVINO_DIR=$(OV_CMAKE) -DTBB_DIR=$(OV_CMAKE) \
	  -DCMAKE_LIBRARY_OUTPUT_DIRECTORY=$(CURDIR)/build/native/$(HOST_ARCH) > build/native/$(HOST_ARCH).cmake.log
	cmake --build build/native/$(HOST_ARCH)/cmake -j $(NATIVE_JOBS)

native: build/native/$(HOST_ARCH)/$(NATIVE_LIB)

$(ARM64_OV)/.unpacked: $(STAMP)
	@command -v aarch64-linux-gnu-g++ >/dev/null || { echo "native-aarch64: aarch64-linux-gnu-g++ not found; apt-get install g++-aarch64-linux-gnu"; exit 2; }
	$(PY) -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux_2_35_aarch64 \
	  --python-version 3.11 openvino==$(OV_RELEASE) -d $(NATIVE_CACHE)/wheels
	rm -rf $(ARM64_OV) && mkdir -p $(ARM64_OV)
	$(PY) -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2], [n for n in zipfile.ZipFile(sys.argv[1]).namelist() if n.startswith(('openvino/include/', 'openvino/cmake/', 'openvino/libs/'))])" \
	  $$(ls $(NATIVE_CACHE)/wheels/openvino-$(OV_RELEASE)-*aarch64.whl | head -1) $(ARM64_OV)
	touch $@

build/native/aarch64/$(NATIVE_LIB): $(NATIVE_SRC) edgeattn/native/cmake/aarch64.cmake $(ARM64_OV)/.unpacked
	mkdir -p build/native
	cmake -S edgeattn/native -B build/native/aarch64/cmake -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/edgeattn/native/cmake/aarch64.cmake \
	  -DOpenVINO_DIR=$(CURDIR)/$(ARM64_OV)/openvino/cmake -DTBB_DIR=$(CURDIR)/$(ARM64_OV)/openvino/cmake \
	  -DCMAKE_SHARED_LINKER_FLAGS=-Wl,-rpath-link,$(CURDIR)/$(ARM64_OV)/openvino/libs \
	  -DCMAKE_LIBRARY_OUTPUT_DIRECTORY=$(CURDIR)/build/native/aarch64 > build/native/aarch64.cmake.log
	cmake --build build/native/aarch64/cmake -j $(NATIVE_JOBS)

native-aarch64: build/native/aarch64/$(NATIVE_LIB)

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

run: $(STAMP) native
	$(PY) -m edgeattn.export --model lga_mobilenet --pretrained --target openvino --runtimes ort,openvino --output artifacts

# Debian's chromium, for the test that opens verify's HTML report in a real headless browser and screenshots it.
# Installed only when missing (apt-get, as root or through sudo); without it that test is skipped, saying how.
CHROMIUM ?= chromium
browser:
	@command -v $(CHROMIUM) >/dev/null 2>&1 || { \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	  || echo "browser: could not install chromium (apt-get install chromium as root); the HTML report test will be skipped"; }

# The ARM64 build of the kernels, which tests/native runs under emulation: Debian's cross compiler, installed with
# apt when missing and run as root (CI), then `make native-aarch64` (cached); otherwise one line says so and the
# ARM64 kernel tests skip with that reason.
cross-deps:
	@if command -v aarch64-linux-gnu-g++ >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			g++-aarch64-linux-gnu >/dev/null; \
	else echo "cross-deps: g++-aarch64-linux-gnu missing and not root: run 'sudo make cross-deps' (the ARM64 kernel tests skip until then)"; fi

native-arm64-for-tests: cross-deps
	@if command -v aarch64-linux-gnu-g++ >/dev/null; then $(MAKE) --no-print-directory native-aarch64; fi

test: $(STAMP) $(TRITON_STAMP) emulate-deps browser native native-arm64-for-tests
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check edgeattn tests

clean:
	rm -rf $(VENV) $(TRITON_VENV) artifacts .pytest_cache build/native
