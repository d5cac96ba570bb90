"""The part of `edgeattn.emulate` that runs INSIDE the emulated ARM64 userland (device side: stdlib + numpy +
runtimes). It records what it runs on (machine, Python, package versions, whether torch/onnx are importable,
every module file it loaded) and runs `edgeattn.verify` on the bundle; the host reads the JSON it writes.

    python3.11 -m edgeattn.emulate.inside OUT.json BUNDLE [--runtimes ort,openvino] [--threads N]
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import platform
import sys
from pathlib import Path

PACKAGES = ("edgeattn", "numpy", "onnxruntime", "openvino", "torch", "onnx")


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def main(argv: list[str]) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="edgeattn.emulate.inside")
    p.add_argument("out", type=Path)
    p.add_argument("bundle", type=Path)
    p.add_argument("--runtimes")
    p.add_argument("--threads", type=int)
    args = p.parse_args(argv)
    report: dict = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "packages": {n: _version(n) for n in PACKAGES if _version(n) is not None},
        "torch_importable": _importable("torch"),
        "onnx_importable": _importable("onnx"),
    }
    status = 2
    try:
        from ..errors import EdgeAttnError
        from ..verify import verify_bundle

        runtimes = args.runtimes.split(",") if args.runtimes else None
        try:
            result = verify_bundle(args.bundle, runtimes=runtimes, threads=args.threads,
                                   progress=lambda m: print(m, file=sys.stderr, flush=True))
            report["verify"] = result.to_dict()
            report["verdict"] = result.verdict
            status = result.exit_code
        except EdgeAttnError as exc:  # integrity failures, bad options: verify's one-line error and status
            report["error"] = " ".join(str(exc).split())
            report["verdict"] = "error"
            status = exc.exit_code
    finally:
        report["exit_status"] = status
        report["modules"] = sorted({str(getattr(m, "__file__", "")) for m in list(sys.modules.values())
                                    if getattr(m, "__file__", None)})
        args.out.write_text(json.dumps(report, indent=1, default=str))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
