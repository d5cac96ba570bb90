"""Triton model repository from a bundle: `REPO/<model>/config.pbtxt` + `REPO/<model>/<version>/<artefact>`.

    REPO/<model>/config.pbtxt              backend, tensors (dynamic H/W as -1), batching, instances, parameters
    REPO/<model>/<version>/model.onnx      onnxruntime / python backends
    REPO/<model>/<version>/model.xml+.bin  openvino backend
    REPO/<model>/<version>/libedgeattn_openvino.so  a custom-op bundle's compiled kernels (openvino backend only;
                                           config.pbtxt's CPU_EXTENSION_PATH names it by absolute path)
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
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from ..bundle import sha256_file
from ..errors import InvalidOptionError
from .options import RepositoryOptions, check_counts
from .pbtxt import check_config, config_text
from .source import BundleSource
from .tensors import ServedTensors, served_tensors
from ..native import LIBRARY
from .triton_backends import TritonBackend, choose_backend, triton_backend, triton_backend_names
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
    name = opts.model_name or bundle.served_name
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
    ext = bundle.extension
    if ext is not None:  # the library loads only into this OpenVINO release, on this CPU architecture
        params["edgeattn.extension_arch"] = str(ext.get("arch", ""))
        params["edgeattn.extension_openvino"] = str(ext.get("openvino", ""))
    return params


def backend_for(bundle: BundleSource, opts: RepositoryOptions) -> tuple[type[TritonBackend], str]:
    """The backend class and the one line that says why it was chosen (or warns about a forced one)."""
    m = bundle.manifest
    target = m["target"]
    if bundle.extension is not None and not opts.backend:  # compiled custom ops exist for OpenVINO only
        name, why = "openvino", ("backend openvino: the bundle's custom ops run on its compiled OpenVINO kernels "
                                 "(CPU_EXTENSION_PATH), which no other Triton backend can load")
    else:
        name, why = choose_backend(target, str(m.get("precision", "fp32")), m.get("tolerances") or {}, opts.backend)
    backend = triton_backend(name)
    for src in backend.files.values():
        if bundle.hashed(src) is None:
            if src == "@engine":
                raise InvalidOptionError(
                    "the tensorrt backend serves the engine built on the device, and this bundle lists no "
                    "model.engine in device_files: on the device, build it with python -m edgeattn.tensorrt.build "
                    f"{bundle.folder} (or run build_engine.sh, then python -m edgeattn.tensorrt.build "
                    f"{bundle.folder} --record-trtexec to record its engine in the bundle), then run serve "
                    "export there, or pick --backend onnxruntime")
            raise InvalidOptionError(f"the {backend.name} backend needs {src}, which this {target!r} bundle does "
                                     f"not ship; export with --target openvino or pick --backend onnxruntime")
    return backend, why


def extension_path(opts: RepositoryOptions, bundle: BundleSource) -> Path:
    """Where the repository holds the bundle's compiled OpenVINO extension: REPO/<model>/<version>/<library>, as an
    absolute path (what openvino_backend's CPU_EXTENSION_PATH must be; move the repository and rewrite it)."""
    name = PurePosixPath(bundle.extension["file"]).name
    return Path(opts.output).resolve() / model_name_for(bundle, opts) / str(opts.version) / name


def _extension_parameters(bundle: BundleSource, backend: type[TritonBackend], opts: RepositoryOptions) -> dict:
    """openvino_backend loads a CPU extension library named by the model's CPU_EXTENSION_PATH parameter."""
    if bundle.extension is None:
        return {}
    if backend.name != "openvino":
        raise InvalidOptionError(f"bundle {bundle.model} has edgeattn custom ops whose compiled kernels exist for "
                                 f"OpenVINO only; the {backend.name} backend cannot run them: use --backend openvino")
    return {"CPU_EXTENSION_PATH": str(extension_path(opts, bundle))}


def triton_config_for(bundle: BundleSource, opts: RepositoryOptions,
                      say: Callable[[str], None] | None = None) -> tuple[str, type[TritonBackend]]:
    """The config.pbtxt text (already checked against Triton's schema) and the backend class it uses; `say`
    hears why that backend."""
    check_counts(opts)
    backend, why = backend_for(bundle, opts)
    if say is not None:
        say(why)
    tensors = served_tensors(bundle.manifest, bundle.onnx_path)
    params = {**backend.parameters(opts, str(bundle.manifest.get("precision", "fp32"))),
              **_extension_parameters(bundle, backend, opts), **_metadata(bundle, backend.runtime)}
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
    names.add(LIBRARY)  # a custom-op bundle's compiled kernels (openvino backend's CPU_EXTENSION_PATH)
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


def write_triton_repository(bundle: BundleSource, opts: RepositoryOptions,
                            say: Callable[[str], None] | None = None) -> Path:
    """Write REPO/<model>/<version>/, config.pbtxt and the manifest copy; other versions and files stay; return
    REPO/<model>. `say` hears which backend and why."""
    text, backend = triton_config_for(bundle, opts, say)  # every check before anything is written
    name = model_name_for(bundle, opts)

    def fill(version: Path) -> None:
        for dst, src in backend.files.items():
            bundle.copy_hashed(src, version / dst)
        if bundle.extension is not None:  # the compiled custom ops, where CPU_EXTENSION_PATH points
            bundle.copy_hashed(bundle.extension["file"], version / extension_path(opts, bundle).name)
        if "model.py" in backend.extra_files:
            shutil.copyfile(PYTHON_MODEL, version / "model.py")

    top = {MANIFEST_COPY: bundle.manifest_path.read_bytes(), "config.pbtxt": text.encode("utf-8")}
    return publish_version(Path(opts.output) / name, opts.version, fill, top, _marker, _version_files(),
                           what="a Triton model folder edgeattn wrote")
