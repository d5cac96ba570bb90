"""Device profiles as data: what a target device runs, each figure with the page or thread it comes from.

A profile shapes the export (the ONNX IR version and opset its runtimes load, the TensorRT version whose audit
table and recipe apply) and is what `edgeattn.emulate` reproduces on an x86 machine (an ARM64 userland with the
profile's runtime versions, from PyPI's aarch64 wheels). Figures are the device's; where the emulation cannot
use the device's exact package (NVIDIA's onnxruntime-gpu build for Jetson is not on PyPI, Debian 12 has only
Python 3.11), the `Emulation` says what it uses instead and `emulation_notes` say why.

Device side: standard library only (the emulated userland imports it to print what it reproduces).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DeviceProfile", "Emulation", "PROFILES", "SOURCES"]

#: the pages and threads the figures come from (key -> address); quoted per figure in `DeviceProfile.sources`
SOURCES = {
    "env": "docs/devices.md#sources (the team's checked facts, ../shared/ENVIRONMENT.md, 2026-11/12)",
    "jp6-release": "https://developer.nvidia.com/embedded/jetpack-sdk-62 (JetPack 6.2: L4T r36.4.3, Ubuntu 22.04, "
                   "CUDA 12.6, TensorRT 10.3)",
    "jp-python": "https://deepwiki.com/enyac-group/Elana/6.4-jetson-package-management (JP6 Python 3.10, "
                 "JP7 Python 3.12; wheels from pypi.jetson-ai-lab.io)",
    "jp6-ort": "https://github.com/ultralytics/ultralytics/pull/22807 (onnxruntime-gpu 1.20.0 and 1.23.0 wheels "
               "for JetPack 6 + Python 3.10) and https://github.com/ultralytics/ultralytics/issues/21463",
    "jp72-stack": "https://github.com/roboflow/inference/pull/2531 (read off a device flashed with JetPack 7.2.0: "
                  "L4T 39.2.0, CUDA 13.2, cuDNN 9.20, TensorRT 10.16.2.10, ONNX Runtime 1.24.2, Thor + Orin)",
    "trt11-jetson": "docs/tensorrt-jetson.md (TensorRT 11.4.1 supports JetPack >= 7.2.2, AGX Orin and Thor)",
    "ov-arm": "https://docs.openvino.ai/2026/about-openvino/release-notes-openvino/system-requirements.html "
              "(ARM64 CPU plugin; the PyPI aarch64 wheel is manylinux_2_35: glibc >= 2.35)",
    "pypi-aarch64": "PyPI aarch64 wheels, checked with `pip download --no-deps --only-binary=:all: --platform "
                    "manylinux2014_aarch64 --platform manylinux_2_35_aarch64 --python-version X.Y` (2026-12)",
    "ort-limits": "measured here (2026-12): one-node models of each IR version and opset loaded in that ONNX Runtime "
                  "build (under emulation for ARM64; tests/devices/test_limits.py re-checks max and max + 1); ORT's "
                  "own table: https://onnxruntime.ai/docs/reference/compatibility.html",
    "debian": "https://packages.debian.org/bookworm/python3 (Debian 12 ships Python 3.11 only)",
    "host": "requirements/dev.txt (the pinned x86-64 environment this project tests on)",
}


@dataclass(frozen=True)
class Emulation:
    """What `edgeattn.emulate` installs to reproduce a profile: a Debian arm64 userland and PyPI aarch64 wheels.

    `python` is the interpreter Debian has (the nearest to the device's where they differ); the wheel versions are
    the device's where PyPI has them for aarch64 and that Python, else the nearest, said in the profile's notes.
    """

    suite: str = "bookworm"
    python: str = "3.11"
    numpy: str = ""
    onnxruntime: str = ""
    openvino: str | None = None
    cpu: str = "cortex-a76"  # QEMU_CPU: an ARMv8.2 core without SVE (the default emulated CPU advertises SVE)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeviceProfile:
    """One target device: its software, the ONNX limits of its runtimes, its TensorRT, and the sources."""

    name: str
    title: str
    arch: str  # aarch64 | x86_64
    os: str
    python: str
    numpy: str
    onnxruntime: str
    max_ir_version: int  # the highest ONNX IR version its ONNX Runtime loads
    max_opset: int  # the highest ai.onnx opset its ONNX Runtime loads
    openvino: str | None = None  # None: not a runtime of this device
    tensorrt: str | None = None  # None: no TensorRT (CPU-only device)
    tensorrt_next: str | None = None  # a later TensorRT the same device can get (JetPack 7.2.2: 11.4.1)
    cuda: str | None = None
    sources: dict[str, str] = field(default_factory=dict)  # figure -> SOURCES key
    emulation: Emulation | None = None  # None: runs natively here (x86-cpu)

    @property
    def runtimes(self) -> tuple[str, ...]:
        """Runtimes a bundle for this device is verified on (tensorrt only on the device itself)."""
        return ("ort", "openvino") if self.openvino else ("ort",)

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


_JETSON_SOURCES = {"os": "jp6-release", "python": "jp-python", "tensorrt": "jp6-release", "cuda": "jp6-release",
                   "onnxruntime": "jp6-ort", "numpy": "pypi-aarch64", "openvino": "ov-arm",
                   "max_ir_version": "ort-limits", "max_opset": "ort-limits"}

PROFILES: dict[str, DeviceProfile] = {p.name: p for p in (
    DeviceProfile(
        name="jetson-orin-jp6", title="Jetson Orin, JetPack 6.1/6.2 (L4T r36.4)", arch="aarch64",
        os="Ubuntu 22.04 (L4T r36.4)", python="3.10", numpy="1.26.4", onnxruntime="1.20.0",
        max_ir_version=10, max_opset=21, openvino="2026.4.1", tensorrt="10.3", cuda="12.6",
        sources=dict(_JETSON_SOURCES),
        emulation=Emulation(numpy="1.26.4", onnxruntime="1.20.0", openvino="2026.4.1", notes=(
            "Python 3.11 (Debian 12 has no 3.10): the device has 3.10",
            "onnxruntime 1.20.0 from PyPI (CPU build): the device runs NVIDIA's onnxruntime-gpu 1.20.0 build, "
            "whose CPU provider is the same code; its CUDA/TensorRT providers are not emulated",
        ))),
    DeviceProfile(
        name="jetson-jp7", title="Jetson AGX Orin and Thor, JetPack 7.2 (L4T r39)", arch="aarch64",
        os="Ubuntu 24.04 (L4T r39)", python="3.12", numpy="2.2.6", onnxruntime="1.24.2",
        max_ir_version=13, max_opset=25, openvino="2026.4.1", tensorrt="10.16", tensorrt_next="11.4",
        cuda="13.2",
        sources={**_JETSON_SOURCES, "os": "jp72-stack", "tensorrt": "jp72-stack", "cuda": "jp72-stack",
                 "onnxruntime": "jp72-stack", "tensorrt_next": "trt11-jetson"},
        emulation=Emulation(numpy="2.2.6", onnxruntime="1.24.2", openvino="2026.4.1", notes=(
            "Python 3.11 (Debian 12 has no 3.12): the device has 3.12",
            "onnxruntime 1.24.2 from PyPI (CPU build): the device's 1.24.2 is a source build with the CUDA and "
            "TensorRT providers, which are not emulated",
        ))),
    DeviceProfile(
        name="arm64-cpu", title="ARM64 board or server (Debian 12 / Ubuntu 22.04+), ONNX Runtime and OpenVINO "
                                "from PyPI", arch="aarch64",
        os="Debian 12 or Ubuntu 22.04+ (glibc >= 2.35 for OpenVINO's wheel)", python="3.11", numpy="2.4.6",
        onnxruntime="1.32.0", max_ir_version=14, max_opset=28, openvino="2026.4.1",
        sources={"os": "ov-arm", "python": "debian", "numpy": "pypi-aarch64", "onnxruntime": "pypi-aarch64",
                 "openvino": "pypi-aarch64", "max_ir_version": "ort-limits", "max_opset": "ort-limits"},
        emulation=Emulation(numpy="2.4.6", onnxruntime="1.32.0", openvino="2026.4.1")),
    DeviceProfile(
        name="x86-cpu", title="x86-64 CPU (this project's test machine)", arch="x86_64",
        os="Debian 12", python="3.11", numpy="2.4.6", onnxruntime="1.32.0", max_ir_version=14, max_opset=28,
        openvino="2026.4.1",
        sources={"os": "host", "python": "host", "numpy": "host", "onnxruntime": "host", "openvino": "host",
                 "max_ir_version": "ort-limits", "max_opset": "ort-limits"}),
)}
