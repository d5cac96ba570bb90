"""`import edgeattn` needs only torch and onnx; optional backends are imported when used."""

import subprocess
import sys

OPTIONAL = ("onnxruntime", "openvino", "tensorrt", "onnxslim", "onnxsim", "onnxruntime_extensions")
BLOCK = f"import sys\nfor m in {OPTIONAL!r}:\n    sys.modules[m] = None\n"


def test_import_without_optional_backends():
    code = BLOCK + (
        "import edgeattn, edgeattn.export, edgeattn.parity, edgeattn.runtimes\n"
        "m = edgeattn.create_model('lga_mobilenet', depth=1)\n"
        "from edgeattn.runtimes import runtime_class\n"
        "ok, why = runtime_class('ort').available()\n"
        "print(ok, why)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "False" in proc.stdout and "edgeattn[ort]" in proc.stdout


def test_missing_simplifier_names_the_extra(tmp_path):
    code = BLOCK + (
        "from edgeattn.export.__main__ import main\n"
        f"raise SystemExit(main(['--model', 'lga_mobilenet', '--input-size', '64x64', '--output', r'{tmp_path}']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "edgeattn[simplify]" in proc.stderr and "Traceback" not in proc.stderr
