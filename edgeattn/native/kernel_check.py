"""Run the compiled kernels on prepared cases and report their error: what a test runs INSIDE the emulated ARM64
userland (edgeattn.emulate.run_inside), where neither torch nor onnx exist. Device side: numpy + OpenVINO.

    python -m edgeattn.native.kernel_check OUT.json CASES_DIR LIBRARY

CASES_DIR/cases.json lists {"name", "xml", "inputs": [npz, ...], "hint"}: an IR of one custom op (written on the
host), input files, each holding the feeds and `expected`, the numpy reference path's output computed on the host,
and the INFERENCE_PRECISION_HINT to compile with ("f32" when absent; "default": none, the CPU's own default, f16 on
ARM). OUT.json gets the machine, the OpenVINO version, the CPU's SIMD levels and per input the max abs error and the
precision that ran.
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

__all__ = ["main"]


def _cpu_features() -> dict[str, bool]:
    """The SIMD levels this process's CPU reports (CPUID, as numpy reads it; under qemu: the emulated model's),
    which decide the kernel block the library picks."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # numpy < 2
        from numpy.core._multiarray_umath import __cpu_features__ as features
    keep = ("AVX512F", "AVX2", "FMA3", "AVX", "SSE42", "ASIMD", "ASIMDHP")
    return {k: bool(features[k]) for k in keep if k in features}


def main(argv: list[str]) -> int:
    import numpy as np

    from .._openvino import import_openvino

    out, cases_dir, library = Path(argv[0]), Path(argv[1]), argv[2]
    ov = import_openvino()
    core = ov.Core()
    core.add_extension(library)
    rows = []
    for case in json.loads((cases_dir / "cases.json").read_text())["cases"]:
        hint = case.get("hint", "f32")
        config = {"INFERENCE_NUM_THREADS": 2, **({} if hint == "default" else {"INFERENCE_PRECISION_HINT": hint})}
        compiled = core.compile_model(core.read_model(str(cases_dir / case["xml"])), "CPU", config)
        raw = compiled.get_property("INFERENCE_PRECISION_HINT")  # what runs (ARM's default would be f16)
        executed = raw.get_type_name() if hasattr(raw, "get_type_name") else str(raw)
        for name in case["inputs"]:
            with np.load(cases_dir / name) as data:
                feeds = {k: data[k] for k in data.files if k != "expected"}
                expected = data["expected"]
            got = np.asarray(compiled(feeds)[0])
            rows.append({"case": case["name"], "inputs": name, "shape": list(got.shape), "executed": executed,
                         "max_abs": float(np.abs(got - expected).max()) if got.shape == expected.shape else None})
    out.write_text(json.dumps({"machine": platform.machine(), "openvino": ov.__version__,
                               "cpu_features": _cpu_features(), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
