# Two entry points, each creating .venv and installing first:
#   make run   -> export lga_mobilenet, run it on ONNX Runtime and OpenVINO, print the parity table
#   make test  -> the test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install clean lint

$(STAMP): pyproject.toml requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m edgeattn.export --model lga_mobilenet --target openvino --runtimes ort,openvino --output artifacts

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check edgeattn tests

clean:
	rm -rf $(VENV) artifacts .pytest_cache
