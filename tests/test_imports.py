"""`import edgeattn` needs only numpy (the device side: torch and onnx are the host extra); optional backends are
imported when used."""

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


# The device side (ARCHITECTURE.md "Two sides"): what a Jetson or an ARM64 board installs with
# `pip install 'edgeattn[device]'` (numpy + one runtime). It must import with torch and onnx absent and must not
# pull in any host-side module, even one that would import without torch (an arrow back up is the bug).
DEVICE_MODULES = ("edgeattn", "edgeattn.errors", "edgeattn.cli", "edgeattn.bundle", "edgeattn.bundle.schema",
                  "edgeattn.bundle.signing", "edgeattn.bundle.model_files", "edgeattn.bundle.model_copy",
                  "edgeattn.verify",
                  "edgeattn.verify.__main__", "edgeattn.verify.polygraphy", "edgeattn.runtimes",
                  "edgeattn.runtimes.timer", "edgeattn.tensorrt", "edgeattn.tensorrt.build",
                  "edgeattn.tensorrt.check", "edgeattn.tensorrt.bench", "edgeattn.tensorrt.cuda",
                  "edgeattn.tensorrt.engine_file", "edgeattn.tensorrt.modes", "edgeattn.tensorrt.recipe",
                  "edgeattn.serve.check", "edgeattn.devices", "edgeattn.emulate", "edgeattn.emulate.inside",
                  "edgeattn.emulate.probe")
HOST_PACKAGES = ("edgeattn.nn", "edgeattn.ops", "edgeattn.models", "edgeattn.convert", "edgeattn.export",
                 "edgeattn.precision", "edgeattn.parity", "edgeattn.bench", "edgeattn.train", "edgeattn.data",
                 "edgeattn.scenes", "edgeattn.tensorrt.audit", "edgeattn.tensorrt.operators",
                 "edgeattn.tensorrt.commands", "edgeattn.tensorrt.onnx_recipe", "edgeattn.tensorrt.qdq",
                 "edgeattn.tensorrt.tables")
HOST_LIBS = ("torch", "onnx", "onnxscript", "onnxslim", "onnxsim")


def test_device_side_imports_without_torch_or_onnx_and_no_host_module():
    code = (
        f"import importlib, sys\nfor m in {HOST_LIBS!r}:\n    sys.modules[m] = None\n"
        f"for m in {DEVICE_MODULES!r}:\n    importlib.import_module(m)\n"
        f"host = sorted(m for m in sys.modules if sys.modules[m] is not None and m.startswith({HOST_PACKAGES!r}))\n"
        "print('HOST', host)\n"
        "from edgeattn.verify.__main__ import main\n"
        "raise SystemExit(main(['--help']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "HOST []" in proc.stdout, proc.stdout
