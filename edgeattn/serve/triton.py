"""Triton model repository from a bundle: `REPO/<model>/config.pbtxt` + `REPO/<model>/<version>/<artefact>`.

    REPO/<model>/config.pbtxt              backend, tensors (dynamic H/W as -1), batching, instances, parameters
    REPO/<model>/<version>/model.onnx      onnxruntime / python backends
    REPO/<model>/<version>/model.xml+.bin  openvino backend
    REPO/<model>/<version>/model.plan      tensorrt backend (the engine built on the device, from device_files)
    REPO/<model>/<version>/model.py        python backend only (edgeattn/serve/triton_python_model.py)
    REPO/<model>/edgeattn-manifest.json    the bundle's manifest, byte for byte (Triton ignores the file)

The manifest also travels inside config.pbtxt as `parameters` (what a client reads back from the server's model
config): `edgeattn.manifest` (the whole manifest, compact JSON), `edgeattn.manifest_sha256`, `edgeattn.model`,
`edgeattn.weights_sha256`, `edgeattn.precision`, `edgeattn.runtime` (the tolerance `serve check` judges with).
A new model folder is built in a staging folder and swapped in whole; into an existing one (edgeattn's: its
config.pbtxt carries edgeattn's parameters) only `<version>/`, config.pbtxt and the manifest copy are written,
so other versions, other models and files edgeattn does not know stay as they are (edgeattn/serve/versions.py).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from ..bundle import sha256_file
from ..errors import InvalidOptionError
from .options import RepositoryOptions, check_counts
from .pbtxt import check_config, config_text
from .source import BundleSource
from .tensors import ServedTensors, served_tensors
from .triton_backends import DEFAULT_BACKEND, TritonBackend, triton_backend, triton_backend_names
from .versions import publish_version

__all__ = ["write_triton_repository", "triton_config_for", "model_name_for", "MANIFEST_COPY", "PYTHON_MODEL",
           "DEFAULT_MAX_BATCH"]

MANIFEST_COPY = "edgeattn-manifest.json"
# max_batch_size when the bundle's batch axis has no upper bound: large enough for the dynamic batcher to merge a
# few requests, small enough for a 2-core CPU instance. --max-batch-size sets another.
DEFAULT_MAX_BATCH = 8
PYTHON_MODEL = Path(__file__).with_name("triton_python_model.py")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def model_name_for(bundle: BundleSource, opts: RepositoryOptions) -> str:
    name = opts.model_name or bundle.model.replace(":", "_").replace("/", "_")
    if not _NAME.match(name) or len(name) > 128:
        raise InvalidOptionError(f"model name {name!r} cannot be a repository folder name; pass --model-name with "
                                 "letters, digits, '_', '-', '.' (at most 128)")
    return name


def _batch_size(tensors: ServedTensors, opts: RepositoryOptions) -> int:
    if not tensors.dynamic_batch:
        if opts.max_batch_size:
            raise InvalidOptionError(
                f"--max-batch-size {opts.max_batch_size}: the bundle's batch axis is static "
                f"({tensors.max_batch}), so the server cannot batch requests; re-export with a dynamic batch "
                "or leave --max-batch-size out")
        return 0
    if opts.max_batch_size is None:
        return tensors.max_batch or DEFAULT_MAX_BATCH
    if opts.max_batch_size == 0:  # no Triton batching: the (dynamic) batch axis stays in dims as -1
        return 0
    if opts.max_batch_size < 1 or (tensors.max_batch is not None and opts.max_batch_size > tensors.max_batch):
        raise InvalidOptionError(f"--max-batch-size {opts.max_batch_size} is outside the batch range the bundle "
                                 f"was exported for (1..{tensors.max_batch or 'any'}); pass a value in it")
    return opts.max_batch_size


def _metadata(bundle: BundleSource, runtime: str) -> dict[str, str]:
    m = bundle.manifest
    params = {
        "edgeattn.format": str(m.get("format", "")),
        "edgeattn.model": bundle.model,
        "edgeattn.task": str(m.get("task", "")),
        "edgeattn.target": str(m.get("target", "")),
        "edgeattn.precision": str(m.get("precision", "")),
        "edgeattn.runtime": runtime,
        "edgeattn.weights_sha256": str((m.get("weights") or {}).get("sha256", "")),
        "edgeattn.manifest_sha256": sha256_file(bundle.manifest_path),
        "edgeattn.manifest": json.dumps(m, sort_keys=True, separators=(",", ":")),
    }
    engine = (m.get("device_files") or {}).get("model.engine")
    if isinstance(engine, dict) and engine.get("tensorrt"):
        # A plan runs only under the TensorRT version (and GPU architecture) that built it: Triton's TensorRT
        # backend must carry this version.
        params["edgeattn.tensorrt"] = str(engine["tensorrt"])
    return params


def _backend_for(bundle: BundleSource, opts: RepositoryOptions) -> type[TritonBackend]:
    target = bundle.manifest["target"]
    backend = triton_backend(opts.backend or DEFAULT_BACKEND.get(target, "onnxruntime"))
    for src in backend.files.values():
        if bundle.hashed(src) is None:
            if src == "@engine":
                raise InvalidOptionError(
                    "the tensorrt backend serves the engine built on the device, and this bundle lists no "
                    "model.engine in device_files: run the bundle's build_engine.sh on the device (it records the "
                    "engine in manifest.json), then run serve export there, or pick --backend onnxruntime")
            raise InvalidOptionError(f"the {backend.name} backend needs {src}, which this {target!r} bundle does "
                                     f"not ship; export with --target openvino or pick --backend onnxruntime")
    return backend


def triton_config_for(bundle: BundleSource, opts: RepositoryOptions) -> tuple[str, type[TritonBackend]]:
    """The config.pbtxt text (already checked against Triton's schema) and the backend class it uses."""
    check_counts(opts)
    backend = _backend_for(bundle, opts)
    tensors = served_tensors(bundle.manifest, bundle.onnx_path)
    params = {**backend.parameters(opts, str(bundle.manifest.get("precision", "fp32"))),
              **_metadata(bundle, backend.runtime)}
    text = config_text(name=model_name_for(bundle, opts), backend=backend.name,
                       default_model_filename=backend.default_model_filename, tensors=tensors,
                       max_batch_size=_batch_size(tensors, opts), queue_delay_us=opts.queue_delay_us,
                       instances=opts.instances, kind=backend.kind, parameters=params)
    check_config(text)
    return text, backend


def _version_files() -> frozenset[str]:
    """Every name edgeattn writes into a Triton version folder, whatever the backend."""
    names = set()
    for backend in map(triton_backend, triton_backend_names()):
        names.update(backend.files)
        names.update(backend.extra_files)
    return frozenset(names)


def _marker(folder: Path) -> str | None:
    """An existing model folder is edgeattn's when its config.pbtxt carries edgeattn's manifest hash."""
    config = folder / "config.pbtxt"
    if config.is_symlink() or not config.is_file():
        return "no config.pbtxt written by edgeattn"
    with open(config, "rb") as f:
        head = f.read(1 << 22)
    if b'"edgeattn.manifest_sha256"' not in head:
        return "its config.pbtxt was not written by edgeattn"
    return None


def write_triton_repository(bundle: BundleSource, opts: RepositoryOptions) -> Path:
    """Write REPO/<model>/<version>/, config.pbtxt and the manifest copy; other versions and files stay; return
    REPO/<model>."""
    text, backend = triton_config_for(bundle, opts)  # every check before anything is written
    name = model_name_for(bundle, opts)

    def fill(version: Path) -> None:
        for dst, src in backend.files.items():
            bundle.copy_hashed(src, version / dst)
        if "model.py" in backend.extra_files:
            shutil.copyfile(PYTHON_MODEL, version / "model.py")

    top = {MANIFEST_COPY: bundle.manifest_path.read_bytes(), "config.pbtxt": text.encode("utf-8")}
    return publish_version(Path(opts.output) / name, opts.version, fill, top, _marker, _version_files(),
                           what="a Triton model folder edgeattn wrote")
