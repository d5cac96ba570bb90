import pytest

from edgeattn.export.__main__ import main as export_main


@pytest.fixture(scope="session")
def small_bundle(tmp_path_factory):
    """One small real bundle (lga_mobilenet 64x128, target openvino: model.onnx and model.xml), exported once per
    session on the host; the emulated runs read it (the userland and wheels are cached across sessions)."""
    out = tmp_path_factory.mktemp("emulate-bundle")
    assert export_main(["--model", "lga_mobilenet", "--input-size", "64x128", "--target", "openvino", "--no-parity",
                        "--threads", "2", "--output", str(out)]) == 0
    return out / "lga_mobilenet"
