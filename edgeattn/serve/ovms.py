"""OpenVINO Model Server repository from a bundle: `REPO/config.json` + `REPO/models/<model>/<version>/...`.

    REPO/config.json                       model_config_list; base_path relative to config.json ("models/<model>")
    REPO/models/<model>/<version>/model.xml+.bin   openvino bundles (the shipped IR)
    REPO/models/<model>/<version>/model.onnx       other bundles (OVMS compiles the ONNX itself)
    REPO/models/<model>/edgeattn-manifest.json     the bundle's manifest (OVMS reads only numeric version folders)
    REPO/models/<model>/<version>/libedgeattn_openvino.so
                                                   a custom-op bundle's compiled kernels: OVMS loads a CPU extension
                                                   server-wide from its command line (`--cpu_extension PATH`, see
                                                   `ovms_server_args`), config.json has no field for it

plugin_config pins what the OpenVINO runtime edgeattn verified with: INFERENCE_PRECISION_HINT (f32 for an fp32
bundle; the CPU plugin would otherwise run bf16 on AVX512-BF16 CPUs), NUM_STREAMS, INFERENCE_NUM_THREADS.
OVMS's config.json has no free-form field, so the manifest travels as the file beside the versions.
An existing config.json keeps its other models; this model's entry is replaced. An existing model folder keeps its
other versions and unknown files (edgeattn/serve/versions.py).
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

from .._atomic import atomic_write_text, refuse_special
from .._bounded import read_bounded
from ..errors import InvalidOptionError
from ..native import LIBRARY
from .options import RepositoryOptions, check_counts
from .source import BundleSource
from .tensors import served_tensors
from .triton import MANIFEST_COPY, model_name_for
from .versions import publish_version

__all__ = ["write_ovms_repository", "ovms_entry", "ovms_server_args", "OV_PRECISION_HINT"]

OV_PRECISION_HINT = {"fp32": "f32", "bf16": "bf16", "fp16": "f16"}


def _files(bundle: BundleSource) -> tuple[str, ...]:
    if bundle.hashed("model.xml") is not None and bundle.hashed("model.bin") is not None:
        return ("model.xml", "model.bin")
    return ("model.onnx",)


def ovms_entry(bundle: BundleSource, opts: RepositoryOptions) -> dict:
    """One model_config_list entry for this bundle."""
    check_counts(opts)
    if opts.backend not in (None, "openvino"):
        raise InvalidOptionError(f"--backend {opts.backend}: OpenVINO Model Server runs only OpenVINO; "
                                 "leave --backend out with --server ovms")
    served_tensors(bundle.manifest, bundle.onnx_path)  # the manifest agrees with its graph and OVMS's dtypes
    if opts.max_batch_size is not None:
        raise InvalidOptionError("--max-batch-size does not apply to --server ovms: OVMS serves the batch sizes the "
                                 "model accepts (its batch axis stays as exported)")
    name = model_name_for(bundle, opts)
    plugin = {"NUM_STREAMS": str(opts.streams)}
    precision = str(bundle.manifest.get("precision", "fp32"))
    if precision in OV_PRECISION_HINT:
        plugin["INFERENCE_PRECISION_HINT"] = OV_PRECISION_HINT[precision]
    if opts.threads:
        plugin["INFERENCE_NUM_THREADS"] = str(opts.threads)
    # Dims the model leaves free stay free ("auto" would reload the model for every new shape).
    return {"config": {"name": name, "base_path": f"models/{name}", "target_device": "CPU",
                       "nireq": opts.instances, "plugin_config": plugin}}


def _marker(folder: Path) -> str | None:
    copy = folder / MANIFEST_COPY
    return None if copy.is_file() and not copy.is_symlink() else f"no {MANIFEST_COPY} written by edgeattn"


def ovms_server_args(repo: Path, name: str, bundle: BundleSource, version: int) -> list[str]:
    """The OVMS command-line arguments this model needs beyond --config_path: its compiled custom ops, if any."""
    if bundle.extension is None:
        return []
    lib = Path(repo).resolve() / "models" / name / str(version) / PurePosixPath(bundle.extension["file"]).name
    return ["--cpu_extension", str(lib)]


def write_ovms_repository(bundle: BundleSource, opts: RepositoryOptions) -> Path:
    """Write REPO/models/<model>/ atomically, then REPO/config.json (atomically); return REPO."""
    entry = ovms_entry(bundle, opts)
    name = entry["config"]["name"]
    repo = Path(opts.output)
    config_path = repo / "config.json"
    others = []
    refuse_special(config_path, "OVMS config.json", "move it away or pass another --output")
    if config_path.exists():
        if config_path.stat().st_size > 16 << 20:
            raise InvalidOptionError(f"{config_path} is larger than 16 MiB: not an OVMS config.json edgeattn can "
                                     "extend; pass another --output")
        try:
            existing = json.loads(read_bounded(config_path, 16 << 20).decode("utf-8"))  # may have grown since
            others = [e for e in existing.get("model_config_list", []) if e.get("config", {}).get("name") != name]
        except (OSError, ValueError, AttributeError):
            raise InvalidOptionError(f"{config_path} exists but is not an OVMS config.json; pass another --output "
                                     "or remove it") from None

    def fill(version: Path) -> None:
        for rel in _files(bundle):
            bundle.copy_hashed(rel, version / rel)
        if bundle.extension is not None:  # the compiled custom ops, loaded server-wide (ovms_server_args)
            bundle.copy_hashed(bundle.extension["file"], version / PurePosixPath(bundle.extension["file"]).name)

    publish_version(repo / "models" / name, opts.version, fill, {MANIFEST_COPY: bundle.manifest_path.read_bytes()},
                    _marker, frozenset({"model.xml", "model.bin", "model.onnx", LIBRARY}),
                    what="an OVMS model folder edgeattn wrote")
    config = {"model_config_list": [*others, entry]}
    atomic_write_text(config_path, json.dumps(config, indent=2) + "\n")
    return repo
