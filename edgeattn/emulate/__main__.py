"""python -m edgeattn.emulate BUNDLE --device PROFILE: verify a bundle on an emulated ARM64 device."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..cli import ArgumentParser, parse_runtimes, run_cli, threads_arg

EPILOG = """what it does (set-up once, cached in ~/.cache/edgeattn/emulate or $EDGEATTN_EMULATE_CACHE):
  1. an arm64 Debian userland from Debian's packages (debootstrap's first stage + dpkg -x; no ARM code runs)
  2. the profile's aarch64 wheels (numpy, onnxruntime, openvino) and this checkout's edgeattn, installed as
     pip install 'edgeattn[device]' would (no torch, no onnx)
  3. python -m edgeattn.verify BUNDLE inside it, under qemu-aarch64-static; the verdict is verify's

what it proves: the device's ARM64 CPU runtimes, at its versions, load and compute this bundle within tolerance,
and the device install works without PyTorch. What it does not: speed (timings are emulation speed), the GPU,
TensorRT (the Jetson images verify that on the device: docker/jetson).

needs: qemu-user-static and debootstrap (Debian packages; `make emulate-deps` installs them as root), the
Debian mirror apt uses, and the package index for the aarch64 wheels.

examples:
  python -m edgeattn.emulate artifacts/lga_mobilenet --device jetson-orin-jp6
  python -m edgeattn.emulate artifacts/lga_mobilenet --device arm64-cpu --runtimes ort,openvino --json arm.json
"""


def build_parser() -> argparse.ArgumentParser:
    from ..devices import profile_names

    p = ArgumentParser("emulate", epilog=EPILOG,
                       description="Verify a bundle under emulated ARM64 with a device profile's runtime versions.")
    p.add_argument("bundle", type=Path, help="bundle folder (with manifest.json)")
    p.add_argument("--device", required=True, metavar="PROFILE",
                   help=f"device profile: {', '.join(profile_names())} (python -m edgeattn.export --list-devices)")
    p.add_argument("--runtimes", help="comma-separated: ort, openvino (default: the bundle's own runtimes that the "
                   "profile has)")
    p.add_argument("--threads", type=threads_arg(), default=2, help="threads for the runtimes (default 2)")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the report as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


def _print_report(report: dict) -> None:
    print(f"device {report['device']} emulated: machine {report.get('machine')}, Python {report.get('python')}, "
          + ", ".join(f"{k} {v}" for k, v in sorted(report.get("packages", {}).items())))
    print(f"torch importable: {report.get('torch_importable')}, onnx importable: {report.get('onnx_importable')}")
    for note in report["emulation"]["notes"]:
        print(f"differs from the device: {note}")
    verify = report.get("verify")
    if verify:
        from ..verify.compare import Comparison, format_table

        rows = [Comparison(**{k: v for k, v in r.items() if k in Comparison.__dataclass_fields__})
                for r in verify["rows"]]
        print(format_table(rows, title=f"verify {verify['bundle']} under emulation ({verify['model']}, precision "
                                       f"{verify['precision']})"))
    if report.get("modules_outside"):
        print(f"modules loaded from outside the emulated install: {', '.join(report['modules_outside'])}")
    print(report["emulation"]["timing_note"] + f" (this run: {report['emulation']['seconds']} s)")
    if report.get("error"):
        print(f"verify: error: {report['error']}")
    print({"passed": "PASSED", "failed": "FAILED", "not_verified": "NOT VERIFIED"}.get(report.get("verdict"), "ERROR"))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        from .._atomic import atomic_write_text, check_writable_dir
        from ..devices import get_profile
        from ..errors import InvalidOptionError
        from .run import emulate

        profile = get_profile(args.device)
        if args.json is not None:
            if args.json.is_dir():
                raise InvalidOptionError(f"--json {str(args.json)!r} is a folder; pass a file path")
            check_writable_dir(args.json.parent if str(args.json.parent) else Path("."),
                               hint="pass --json with a file in a writable folder")
        runtimes = list(parse_runtimes(args.runtimes, ("ort", "openvino"))) if args.runtimes else None
        progress = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
        result = emulate(args.bundle, profile, runtimes=runtimes, threads=args.threads, progress=progress)
        _print_report(result.report)
        if args.json is not None:
            atomic_write_text(args.json, json.dumps(result.report, indent=2, sort_keys=True, default=str) + "\n")
        if result.report.get("error"):
            from ..cli import print_error

            print_error("emulate", result.report["error"])
        return result.exit_code

    return run_cli("emulate", body, interrupted="nothing was verified (the cache keeps only finished set-ups)")


if __name__ == "__main__":
    sys.exit(main())
