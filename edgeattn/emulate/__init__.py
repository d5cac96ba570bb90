"""Verify a bundle on an emulated ARM64 device: `python -m edgeattn.emulate BUNDLE --device PROFILE`.

The host builds (once, cached) an arm64 Debian userland (`userland.py`) and the device profile's aarch64 wheels
with edgeattn's device install (`packages.py`), then runs `inside.py` there under qemu-user (`run.py`), which
runs `edgeattn.verify` and reports what ran. The in-emulation part is device side: standard library, numpy and
the runtimes; this package's `__init__` imports nothing so that it can be imported there.

What emulation proves: the ARM64 CPU builds of the runtimes at the device's versions load and compute the bundle
within tolerance, and the device install works without PyTorch. What it does not: speed (qemu is 10-50x slower),
the GPU, TensorRT.
"""
