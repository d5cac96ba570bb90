"""An arm64 Debian userland that qemu-user runs Python in, made from Debian's packages without running ARM code.

debootstrap's first stage (`--foreign`) resolves and downloads the packages of a minimal system with Python;
unpacking every .deb with `dpkg -x` then gives a tree that `qemu-aarch64-static -L ROOT` runs programs from
(the second stage would configure the packages under emulation, which takes minutes and changes nothing
Python needs). qemu-user passes the host's /proc through, and ONNX Runtime's cpuinfo library crashes on an
x86 /proc/cpuinfo; with `-L ROOT` qemu opens ROOT/proc/cpuinfo first, so an ARM one is written there (a
Cortex-A78AE, Orin's CPU), with the MIDR register files OpenVINO reads.

Built into a temporary folder and renamed into place when complete, so an interrupted build leaves nothing that
looks usable; a stamp records what was built.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import EdgeAttnError, MissingDependencyError

__all__ = ["QEMU", "find_qemu", "debian_mirror", "ensure_userland", "SetupError"]

QEMU = "qemu-aarch64-static"
STAMP = ".edgeattn-userland.json"
_FORMAT = 1

# One Cortex-A78AE core (implementer 0x41, part 0xd42): what Jetson Orin's CPU reports.
_CPUINFO_CORE = """processor\t: {n}
BogoMIPS\t: 62.50
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x1
CPU part\t: 0xd42
CPU revision\t: 1
"""
_MIDR = "0x00000000411fd421\n"
_CORES = 4


class SetupError(EdgeAttnError):
    """The emulation could not be set up (qemu, Debian packages, wheels): exit 2, one line."""


def find_qemu() -> str:
    path = shutil.which(QEMU)
    if path is None:
        raise MissingDependencyError(
            f"{QEMU} not found: install Debian's qemu-user-static and debootstrap (`make emulate-deps`, or "
            "`apt-get install qemu-user-static debootstrap` as root)")
    return path


def debian_mirror(suite: str) -> str:
    """The Debian mirror apt on this machine already uses for `suite` (deb822 or one-line format)."""
    texts = []
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        try:
            texts.append(path.read_text())
        except OSError:
            continue
    for text in texts:
        for block in re.split(r"\n\s*\n", text):  # deb822 stanzas
            uris = re.search(r"^URIs:\s*(\S+)", block, re.M)
            suites = re.search(r"^Suites:\s*(.+)$", block, re.M)
            if uris and suites and suite in suites.group(1).split() and "security" not in uris.group(1):
                return uris.group(1)
        for m in re.finditer(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s", text, re.M):
            if m.group(2) == suite:
                return m.group(1)
    return "http://deb.debian.org/debian"


def _write_cpu_files(root: Path) -> None:
    (root / "proc").mkdir(exist_ok=True)
    (root / "proc" / "cpuinfo").write_text("\n".join(_CPUINFO_CORE.format(n=n) for n in range(_CORES)))
    for n in range(_CORES):
        regs = root / "sys" / "devices" / "system" / "cpu" / f"cpu{n}" / "regs" / "identification"
        regs.mkdir(parents=True, exist_ok=True)
        (regs / "midr_el1").write_text(_MIDR)


def ensure_userland(cache: Path, suite: str, python: str, progress=print,  # noqa: ANN001
                    mirror: str | None = None) -> Path:
    """The userland for (suite, python) under `cache`, built once; returns its root. `mirror`: the Debian mirror
    (default: the one apt uses here)."""
    root = cache / f"debian-{suite}-arm64"
    want = {"format": _FORMAT, "suite": suite, "python": python}
    stamp = root / STAMP
    if stamp.is_file() and json.loads(stamp.read_text()) == want:
        return root
    debootstrap = shutil.which("debootstrap") or (Path("/usr/sbin/debootstrap") if Path(
        "/usr/sbin/debootstrap").is_file() else None)
    if debootstrap is None:
        raise MissingDependencyError("debootstrap not found: install Debian's debootstrap and qemu-user-static "
                                     "(`make emulate-deps`, or `apt-get install debootstrap qemu-user-static`)")
    mirror = mirror or debian_mirror(suite)
    cache.mkdir(parents=True, exist_ok=True)
    progress(f"  building the arm64 Debian {suite} userland (once) from {mirror} ...")
    work = Path(tempfile.mkdtemp(prefix=".userland-", dir=cache))
    try:
        proc = subprocess.run(
            [str(debootstrap), "--foreign", "--arch=arm64", "--variant=minbase",
             f"--include=python3,libpython{python}", suite, str(work), mirror],
            capture_output=True, text=True)
        if proc.returncode != 0:
            tail = " ".join((proc.stdout + proc.stderr).strip().splitlines()[-2:])
            raise SetupError(f"no Debian packages reachable: debootstrap {suite} arm64 from {mirror} failed "
                             f"({tail[:300]}); check the network or the mirror in /etc/apt/sources.list*")
        debs = sorted((work / "var" / "cache" / "apt" / "archives").glob("*.deb"))
        if not debs:
            raise SetupError(f"no Debian packages reachable: debootstrap fetched no .deb from {mirror}")
        for deb in debs:
            subprocess.run(["dpkg-deb", "-x", str(deb), str(work)], check=True, capture_output=True)
        for deb in debs:
            deb.unlink()  # the unpacked tree is what runs; the archives would double the cache
        if not (work / "usr" / "bin" / f"python{python}").exists():
            raise SetupError(f"Debian {suite} has no python{python} for arm64 (it has "
                             f"{', '.join(p.name for p in (work / 'usr' / 'bin').glob('python3.*')) or 'none'})")
        _write_cpu_files(work)
        (work / STAMP).write_text(json.dumps(want))
        if stamp.is_file() and json.loads(stamp.read_text()) == want:
            return root  # a parallel run finished first: keep theirs
        if root.exists():  # an older userland (another stamp): replaced
            shutil.rmtree(root)
        try:
            work.rename(root)
        except OSError:  # a parallel run finished first: keep theirs
            if not (root / STAMP).is_file():
                raise
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return root
