import pytest

from ._bundle import copy_bundle, export_trt_bundle


@pytest.fixture(scope="session")
def _exported_trt_bundle(tmp_path_factory):
    return export_trt_bundle(tmp_path_factory.mktemp("trt-export"))


@pytest.fixture
def trt_bundle(_exported_trt_bundle, tmp_path):
    """A fresh copy of a real `--target trt` bundle (lga_mobilenet, 32x32, one stand-in plugin library)."""
    return copy_bundle(_exported_trt_bundle, tmp_path / "lga_mobilenet")
