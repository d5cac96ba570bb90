"""Skips for optional backends are decided here, in one place, from marks.

- @pytest.mark.tensorrt: needs the TensorRT Python package (and a GPU). Enable: pip install
  'edgeattn[tensorrt]' on a GPU machine that reaches NVIDIA's package index (the Jetson images have no PyTorch,
  so they run the entrypoint's device steps instead of pytest).
- @pytest.mark.gpu: needs a CUDA device visible to PyTorch. Enable: run on a machine with an NVIDIA GPU and
  a CUDA build of torch.
- @pytest.mark.triton: starts a real Triton server from the separate test environment. Enable: `make triton-env`
  (`make test` does it: .venv-triton from /usr/bin/python3 with requirements/triton.txt), or set
  EDGEATTN_TRITON_PYTHON to a Python that has nvidia-pytriton and onnxruntime.
- @pytest.mark.native: needs edgeattn's compiled OpenVINO extension for this machine. Enable: `make native`
  (`make test` does it).
- @pytest.mark.native_arm64: needs the ARM64 build of that extension. Enable: `make native-aarch64` (needs Debian's
  g++-aarch64-linux-gnu).
- @pytest.mark.emulate: runs bundles under emulated ARM64 (edgeattn.emulate). Needs Debian's qemu-user-static and
  debootstrap (`make emulate-deps`; `make test` does it as root), the Debian mirror and the package index; the
  userland and wheels are cached in ~/.cache/edgeattn/emulate ($EDGEATTN_EMULATE_CACHE).
- @pytest.mark.x86_levels: runs this interpreter under qemu-x86_64 with CPU models without AVX-512 (the x86-64
  library's AVX2 and baseline blocks). Needs Debian's qemu-user-static (`make emulate-deps`; `make test` does it
  as root) on an x86-64 host.
- @pytest.mark.browser: opens a page in Debian's headless chromium. Enable: `make browser` (`make test` does it:
  apt-get install chromium, as root), or set EDGEATTN_CHROMIUM to a chromium/chrome binary.
- @pytest.mark.slow: runs by default; deselect with -m 'not slow'.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def triton_python() -> Path | None:
    """The Python of the Triton test environment (EDGEATTN_TRITON_PYTHON, else a made .venv-triton), or None."""
    env = os.environ.get("EDGEATTN_TRITON_PYTHON")
    if env:
        return Path(env)
    venv = ROOT / ".venv-triton"
    return venv / "bin" / "python" if (venv / ".installed").is_file() else None


def chromium() -> str | None:
    """The headless browser for the HTML report test: EDGEATTN_CHROMIUM, else chromium on PATH."""
    import shutil

    return os.environ.get("EDGEATTN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def _skip_reasons() -> dict[str, str]:
    reasons = {}
    if importlib.util.find_spec("tensorrt") is None:
        reasons["tensorrt"] = ("TensorRT is not installed: pip install 'edgeattn[tensorrt]' on a GPU machine with "
                               "NVIDIA's package index (the Jetson images run the device steps, not pytest)")
    if not torch.cuda.is_available():
        reasons["gpu"] = "no CUDA GPU visible to PyTorch: run on a machine with an NVIDIA GPU and CUDA torch"
    if triton_python() is None:
        reasons["triton"] = ("no Triton test environment: run `make triton-env` (`make test` does it; it makes "
                             ".venv-triton from /usr/bin/python3 with requirements/triton.txt) or set "
                             "EDGEATTN_TRITON_PYTHON to a Python with nvidia-pytriton and onnxruntime")
    from edgeattn.native import LIBRARY, build_dir, host_arch

    if not (build_dir() / host_arch() / LIBRARY).is_file():
        reasons["native"] = f"edgeattn's OpenVINO extension is not built for {host_arch()}: run `make native`"
    if not (build_dir() / "aarch64" / LIBRARY).is_file():
        reasons["native_arm64"] = ("edgeattn's OpenVINO extension is not built for aarch64: run `make native-aarch64` "
                                   "(needs apt-get install g++-aarch64-linux-gnu)")
    import shutil

    sbin = "/usr/sbin:/sbin:" + os.environ.get("PATH", "")
    if shutil.which("qemu-aarch64-static") is None or shutil.which("debootstrap", path=sbin) is None:
        reasons["emulate"] = ("no ARM64 emulation here: install Debian's qemu-user-static and debootstrap "
                              "(`make emulate-deps` as root; `make test` does it)")
    if shutil.which("qemu-x86_64-static") is None or host_arch() != "x86_64":
        reasons["x86_levels"] = ("no x86-64 CPU-model emulation here: needs an x86-64 host and Debian's "
                                 "qemu-user-static (`make emulate-deps` as root; `make test` does it)")
    if chromium() is None:
        reasons["browser"] = ("no chromium: run `make browser` (`make test` does it: apt-get install chromium, as "
                              "root) or set EDGEATTN_CHROMIUM to a chromium/chrome binary")
    return reasons


_REASONS = _skip_reasons()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for mark, reason in _REASONS.items():
            # a marker, not `mark in item.keywords`: keywords also hold folder names (tests/tensorrt/)
            if item.get_closest_marker(mark) is not None:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def _deterministic_torch():
    """Each test starts from the same global seed and a small thread count (CI has 2 cores)."""
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def triton_env_python() -> Path:
    """The Triton test environment's Python (tests using it carry @pytest.mark.triton, so it exists)."""
    path = triton_python()
    if path is None:  # the mark skips such tests; a test without the mark must not quietly skip here
        pytest.fail("a test uses the Triton environment without @pytest.mark.triton: " + _REASONS["triton"])
    return path
