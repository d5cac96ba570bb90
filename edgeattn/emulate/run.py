"""Run `edgeattn.verify` on a bundle inside the emulated userland of a device profile, from the host.

Isolation both ways: the emulated interpreter is Debian's arm64 python started with -S -E -B (no site-packages,
no PYTHON* variables, no bytecode written), a clean environment, and a sys.path of exactly edgeattn's fresh
install, the profile's aarch64 packages and the userland's own standard library; the host only reads the JSON it
writes. Every module file the run loaded is checked to lie in those folders.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..devices import DeviceProfile
from ..errors import InvalidOptionError
from .cache import cache_root
from .packages import ensure_dependencies, install_edgeattn
from .userland import SetupError, ensure_userland, find_qemu

__all__ = ["EmulationResult", "emulate", "run_inside"]

TIMING_NOTE = ("timings are emulation speed (qemu-user on this x86 machine, often 10-50x slower than the device): "
               "they say nothing about the device's speed")

_BOOT = ("import sys; root, edge, site, module = sys.argv[1:5]; del sys.argv[1:5]; "
         "sys.path[:] = [edge, site] + [p for p in sys.path if p.startswith(root + '/')]; "
         "import runpy; runpy.run_module(module, run_name='__main__', alter_sys=True)")


@dataclass
class EmulationResult:
    report: dict  # what inside.py wrote, plus the profile, the emulation's notes and the host-side checks
    exit_code: int


def _outside(modules: list[str], allowed: list[Path], root: Path) -> list[str]:
    """Module files not in the allowed folders; a path like /usr/lib/... counts as the userland's when the
    userland has it (qemu -L serves the userland's file first)."""
    bad = []
    for f in modules:
        p = Path(f)
        if any(p.is_relative_to(a) for a in allowed):
            continue
        if p.is_absolute() and (root / p.relative_to("/")).exists():
            continue
        bad.append(f)
    return bad


def emulate(bundle: Path, profile: DeviceProfile, *, runtimes: list[str] | None = None, threads: int | None = None,
            progress=print) -> EmulationResult:  # noqa: ANN001
    """Verify `bundle` as `profile`'s device would, under emulation; set-up failures raise SetupError."""
    emu = profile.emulation
    if emu is None:
        raise InvalidOptionError(f"--device {profile.name} is {profile.arch}, this machine's own architecture: "
                                 f"verify natively with python -m edgeattn.verify {bundle}")
    bundle = Path(bundle).resolve()
    if not (bundle / "manifest.json").is_file():
        raise InvalidOptionError(f"{bundle} is not a bundle (no manifest.json): pass a folder written by "
                                 "python -m edgeattn.export")
    runtimes = list(runtimes or profile.runtimes)  # ONNX Runtime always, OpenVINO where the device runs it
    if runtimes:
        unknown = [r for r in runtimes if r not in profile.runtimes]
        if unknown:
            raise InvalidOptionError(f"--runtimes {','.join(unknown)}: {profile.name} runs "
                                     f"{', '.join(profile.runtimes)} under emulation (TensorRT needs the device)")
    report, seconds = run_inside(profile, "edgeattn.emulate.inside",
                                 [str(bundle), *(["--runtimes", ",".join(runtimes)] if runtimes else []),
                                  *(["--threads", str(threads)] if threads else [])], progress)
    report.update({
        "device": profile.name,
        "profile": profile.to_dict(),
        "emulation": {"qemu": find_qemu(), "cpu": emu.cpu, "debian": emu.suite, "python": emu.python,
                      "notes": list(emu.notes), "seconds": round(seconds, 1), "timing_note": TIMING_NOTE},
    })
    return EmulationResult(report=report, exit_code=int(report.get("exit_status", 2)))


def run_inside(profile: DeviceProfile, module: str, args: list[str], progress=print) -> tuple[dict, float]:  # noqa: ANN001
    """Run `python -m MODULE OUT.json ARGS...` in `profile`'s emulated userland; returns (the JSON it wrote, seconds).

    For edgeattn.emulate.inside the JSON's `modules` (every module file loaded) is replaced by `modules_outside`:
    those not in the fresh edgeattn install, the profile's packages or the userland (should be none)."""
    emu = profile.emulation
    assert emu is not None  # noqa: S101 - emulate() refuses native profiles first
    qemu = find_qemu()
    cache = cache_root()
    root = ensure_userland(cache, emu.suite, emu.python, progress)
    deps = ensure_dependencies(cache, profile, progress)
    with tempfile.TemporaryDirectory(prefix="edgeattn-emulate-") as tmp:
        edge = install_edgeattn(cache, emu.python)
        out = Path(tmp) / "inside.json"
        env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "LANG": "C.UTF-8", "QEMU_CPU": emu.cpu,
               "CI": "true"}  # CI=true: openvino_telemetry's own opt-out rule (edgeattn disables it too)
        cmd = [qemu, "-L", str(root), str(root / "usr" / "bin" / f"python{emu.python}"), "-S", "-E", "-B", "-c",
               _BOOT, str(root), str(edge), str(deps), module, str(out), *args]
        progress(f"  running {module} under qemu-aarch64 ({emu.cpu}) in Debian {emu.suite} arm64, "
                 f"Python {emu.python} ...")
        t0 = time.monotonic()
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              errors="replace")
        seconds = time.monotonic() - t0
        for line in proc.stderr.splitlines():
            progress(f"  | {line}")
        if not out.is_file():
            tail = " ".join(proc.stderr.strip().splitlines()[-2:])[:300]
            raise SetupError(f"the emulated Python exited with status {proc.returncode} before reporting "
                             f"({tail or 'no output'})")
        report = json.loads(out.read_text())
        if "modules" in report:
            report["modules_outside"] = _outside(report.pop("modules"), [Path(edge), deps, root], root)
    return report, seconds
