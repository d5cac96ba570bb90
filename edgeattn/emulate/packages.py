"""The profile's aarch64 packages and edgeattn's device install, put in place from the x86 host by pip.

pip installs wheels for another platform with `--target DIR --platform ... --python-version ... --only-binary
=:all:`: nothing is built and no ARM code runs. What is installed is what `pip install 'edgeattn[device,...]'`
resolves on the device: edgeattn's own wheel (built from this checkout) with the extras, plus the profile's
versions as pins; torch and onnx come in only if the base install asked for them (the tests check it does not).

Two folders: the dependencies (cached per profile, pins and pyproject.toml, since they take a minute and
~250 MB) and edgeattn itself (installed fresh on every run, so the code verified is the code in the checkout).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..devices import DeviceProfile
from .userland import SetupError

__all__ = ["platform_args", "ensure_dependencies", "install_edgeattn", "package_root"]

_STAMP = ".edgeattn-site.json"
# Debian 12's glibc is 2.36: every manylinux tag up to it runs there (OpenVINO's aarch64 wheel is 2_35).
_GLIBC_MAX = 36


def platform_args(python: str) -> list[str]:
    tags = ["manylinux2014_aarch64", *(f"manylinux_2_{n}_aarch64" for n in range(17, _GLIBC_MAX + 1))]
    abi = "cp" + python.replace(".", "")
    return ["--only-binary=:all:", "--implementation", "cp", "--python-version", python, "--abi", abi,
            *[a for t in tags for a in ("--platform", t)]]


def package_root() -> Path:
    """The checkout edgeattn runs from (its pyproject.toml), which is what gets installed in the emulation."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file():
        raise SetupError(f"edgeattn is not running from a source checkout ({root} has no pyproject.toml): emulate "
                         "installs the checkout's own wheel; run it from a clone (pip install -e .)")
    return root


def _extras(profile: DeviceProfile) -> str:
    return "device,openvino" if profile.emulation and profile.emulation.openvino else "device"


def _pins(profile: DeviceProfile) -> list[str]:
    emu = profile.emulation
    assert emu is not None  # noqa: S101 - callers pass emulated profiles only
    pins = [f"numpy=={emu.numpy}", f"onnxruntime=={emu.onnxruntime}"]
    return pins + ([f"openvino=={emu.openvino}"] if emu.openvino else [])


def _pip(args: list[str], what: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True)
    if proc.returncode == 0:
        return
    text = proc.stdout + proc.stderr
    missing = re.search(r"No matching distribution found for (\S+)", text)
    if missing:
        raise SetupError(f"{missing.group(1)} does not exist for aarch64 ({what}) on the package index: pick a "
                         "version PyPI has an aarch64 wheel of (pip index versions PKG --platform "
                         "manylinux2014_aarch64 --only-binary=:all:) in edgeattn/devices/profiles.py")
    if re.search(r"(Could not fetch|Connection|Temporary failure|Max retries)", text):
        raise SetupError(f"the package index is not reachable ({what}): {text.strip().splitlines()[-1][:200]}")
    raise SetupError(f"pip could not install {what}: {' '.join(text.strip().splitlines()[-2:])[:300]}")


def _publish(built: Path, dest: Path) -> None:
    """Move a finished folder into place; if another process (a parallel test run) got there first, keep
    theirs (same inputs, same contents) rather than deleting a folder that may be in use."""
    try:
        built.rename(dest)
    except OSError:
        if not dest.is_dir():
            raise


def _wheel(root: Path, out: Path) -> Path:
    """edgeattn's wheel, built from the checkout by the host's pip (pure Python: py3-none-any)."""
    _pip(["wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", str(out), str(root)],
         "edgeattn's wheel from the checkout")
    wheels = sorted(out.glob("edgeattn-*.whl"))
    if not wheels:
        raise SetupError(f"building edgeattn's wheel from {root} wrote no wheel")
    return wheels[-1]


def ensure_dependencies(cache: Path, profile: DeviceProfile, progress=print) -> Path:  # noqa: ANN001
    """The profile's dependency folder: what pip resolves for edgeattn[device(,openvino)] with the pins."""
    emu = profile.emulation
    assert emu is not None  # noqa: S101
    root = package_root()
    key = {"profile": profile.name, "python": emu.python, "pins": _pins(profile), "extras": _extras(profile),
           "pyproject": hashlib.sha256((root / "pyproject.toml").read_bytes()).hexdigest()}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    site = cache / "sites" / f"{profile.name}-{digest}"
    if (site / _STAMP).is_file():
        return site
    progress(f"  installing {', '.join(_pins(profile))} for aarch64 / CPython {emu.python} (once) ...")
    site.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".site-", dir=site.parent))
    try:
        wheel = _wheel(root, work / "wheel")
        _pip(["install", "--quiet", "--no-compile", "--target", str(work / "site"), *platform_args(emu.python),
              f"{wheel}[{_extras(profile)}]", *_pins(profile)],
             f"{profile.name}'s packages ({', '.join(_pins(profile))}) for aarch64 / CPython {emu.python}")
        for dist in (work / "site").glob("edgeattn*"):  # edgeattn itself is installed fresh per run
            shutil.rmtree(dist) if dist.is_dir() else dist.unlink()
        (work / "site" / _STAMP).write_text(json.dumps(key, indent=1))
        _publish(work / "site", site)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return site


def _tree_digest(root: Path) -> str:
    """A digest of what edgeattn's wheel is built from (the package files and pyproject.toml)."""
    h = hashlib.sha256((root / "pyproject.toml").read_bytes())
    for path in sorted((root / "edgeattn").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


def install_edgeattn(cache: Path, python: str) -> Path:
    """This checkout's edgeattn, installed without dependencies (they are in the profile's folder): cached per
    content of the checkout, so that a test session builds the wheel once and every code change is picked up."""
    root = package_root()
    dest = cache / "edgeattn" / f"{python}-{_tree_digest(root)}"
    if (dest / _STAMP).is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    for old in dest.parent.glob(f"{python}-*"):  # earlier states of a checkout, unused for a day
        if time.time() - old.stat().st_mtime > 86400:
            shutil.rmtree(old, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix=".edgeattn-", dir=dest.parent))
    try:
        wheel = _wheel(root, work / "wheel")
        _pip(["install", "--quiet", "--no-compile", "--no-deps", "--target", str(work / "site"),
              *platform_args(python), str(wheel)], "edgeattn's wheel")
        (work / "site" / _STAMP).write_text(json.dumps({"wheel": wheel.name}))
        _publish(work / "site", dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest
