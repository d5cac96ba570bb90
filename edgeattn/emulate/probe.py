"""Runs INSIDE the emulated userland (device side): which of the given ONNX files this ONNX Runtime loads.

The device profiles' `max_ir_version`/`max_opset` are checked with it (tests/devices/test_limits.py): the host
writes one-node models of rising IR version and opset, the profile's own ONNX Runtime build says which it loads.

    python3.11 -m edgeattn.emulate.probe OUT.json MODEL.onnx ...
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    import onnxruntime as ort

    out, models = argv[0], argv[1:]
    loaded = {}
    for path in models:
        try:
            ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            loaded[path] = ""
        except Exception as exc:  # noqa: BLE001 - the refusal text is the result
            loaded[path] = " ".join(str(exc).split())[:300] or type(exc).__name__
    with open(out, "w") as f:
        json.dump({"onnxruntime": ort.__version__, "errors": loaded}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
