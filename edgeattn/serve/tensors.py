"""The served tensors of a bundle: names, data types and dims in the server's terms.

Inputs come from the manifest (the contract: shape at the export size plus the dynamic ranges); outputs come from
the graph itself (model.onnx, always in the bundle), whose symbolic dims say which output axes follow the input
size. Both are cross-checked so a manifest that disagrees with its graph is refused before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import IntegrityError, InvalidOptionError

__all__ = ["TensorSpec", "ServedTensors", "served_tensors", "TRITON_DTYPES", "KSERVE_DTYPES"]

# numpy dtype name -> Triton model_config DataType enum name / KServe v2 datatype.
TRITON_DTYPES = {
    "float32": "TYPE_FP32", "float16": "TYPE_FP16", "bfloat16": "TYPE_BF16", "float64": "TYPE_FP64",
    "int64": "TYPE_INT64", "int32": "TYPE_INT32", "int16": "TYPE_INT16", "int8": "TYPE_INT8", "uint8": "TYPE_UINT8",
    "bool": "TYPE_BOOL",
}
KSERVE_DTYPES = {
    "float32": "FP32", "float16": "FP16", "bfloat16": "BF16", "float64": "FP64", "int64": "INT64", "int32": "INT32",
    "int16": "INT16", "int8": "INT8", "uint8": "UINT8", "bool": "BOOL",
}
_ONNX_ELEM = {1: "float32", 10: "float16", 16: "bfloat16", 11: "float64", 7: "int64", 6: "int32", 5: "int16",
              3: "int8", 2: "uint8", 9: "bool"}


@dataclass(frozen=True)
class TensorSpec:
    """One served tensor. `dims` include the batch axis; -1 marks an axis the server must leave free."""

    name: str
    dtype: str  # numpy name, e.g. "float32"
    dims: tuple[int, ...]

    @property
    def triton_dtype(self) -> str:
        return TRITON_DTYPES[self.dtype]

    @property
    def kserve_dtype(self) -> str:
        return KSERVE_DTYPES[self.dtype]


@dataclass(frozen=True)
class ServedTensors:
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    max_batch: int | None  # the largest batch the bundle allows (dynamic max, or the static N); None: unbounded
    dynamic_batch: bool  # the batch axis is dynamic in the bundle (the server may batch requests together)


def _dtype(name: str, where: str) -> str:
    if name not in TRITON_DTYPES:
        raise InvalidOptionError(f"{where} has data type {name!r}, which Triton/KServe cannot carry; "
                                 f"supported: {', '.join(TRITON_DTYPES)}")
    return name


#: the largest static dim a served tensor may declare, and the most elements one tensor may hold (2 GiB of fp32 is
#: past what Triton's and ONNX's protobuf messages carry): a bundle declaring more is not one edgeattn exported
MAX_DIM = 1 << 16
MAX_ELEMENTS = 1 << 29


def _check_dims(name: str, dims: list[int] | tuple[int, ...], where: str) -> None:
    bad = [d for d in dims if d != -1 and not 1 <= d <= MAX_DIM]
    if bad or len(dims) > 8:
        raise IntegrityError(f"{where} {name!r} declares dims {list(dims)}: each must be 1..{MAX_DIM} (or dynamic) "
                             "and at most 8 of them; re-export the bundle")
    count = 1
    for d in dims:
        count *= max(d, 1)
    if count > MAX_ELEMENTS:
        raise IntegrityError(f"{where} {name!r} declares {count} elements (dims {list(dims)}), more than the "
                             f"{MAX_ELEMENTS} a served tensor may hold; re-export the bundle at a smaller size")


def _input_spec(entry: dict) -> tuple[TensorSpec, int | None, bool]:
    name = entry["name"]
    shape = [int(d) for d in entry["shape"]]
    _check_dims(name, shape, "manifest input")
    dynamic = entry.get("dynamic") or {}
    dims = list(shape)
    # NCHW: axis 0 batch, 2 height, 3 width (docs/bundle-format.md: layout "NCHW").
    for axis, key in ((0, "batch"), (2, "height"), (3, "width")):
        rng = dynamic.get(key)
        if rng is not None and axis < len(dims) and list(rng)[0] != list(rng)[1]:
            dims[axis] = -1
    batch = dynamic.get("batch")  # [min, max]; max null = no upper bound
    if batch is None:
        max_batch = shape[0]
    else:
        max_batch = None if batch[1] is None else int(batch[1])
    for key in ("batch", "height", "width"):  # dynamic ranges are written into configs too: bounded likewise
        rng = dynamic.get(key)
        if rng is not None:
            _check_dims(f"{name}.dynamic.{key}", [int(v) for v in rng if v is not None], "manifest input")
    return TensorSpec(name, _dtype(entry["dtype"], f"input {name!r}"), tuple(dims)), max_batch, dims[0] == -1


def _load_graph(onnx_path: Path):  # noqa: ANN202 - onnx.ModelProto
    import onnx

    try:
        return onnx.load(str(onnx_path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a broken bundle file
        raise IntegrityError(f"{onnx_path} is not a readable ONNX model ({exc}); re-export the bundle") from None


def _graph_io(vis) -> dict[str, tuple[str, tuple[int, ...]]]:  # noqa: ANN001 - ValueInfoProto list
    out = {}
    for vi in vis:
        t = vi.type.tensor_type
        dims = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else -1 for d in t.shape.dim)
        out[vi.name] = (_ONNX_ELEM.get(t.elem_type, f"onnx-elem-{t.elem_type}"), dims)
    return out


def _graph_outputs(onnx_path: Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    return _graph_io(_load_graph(onnx_path).graph.output)


def _check_graph_inputs(specs: list[TensorSpec], onnx_path: Path) -> None:
    """The manifest's input dims agree with model.onnx's: a static graph axis is the manifest's number."""
    graph = _graph_io(_load_graph(onnx_path).graph.input)
    for spec in specs:
        if spec.name not in graph:
            raise IntegrityError(f"manifest input {spec.name!r} is not an input of model.onnx (graph inputs: "
                                 f"{', '.join(graph)}); re-export the bundle")
        dims = graph[spec.name][1]
        if len(dims) != len(spec.dims) or any(g != -1 and g != m for g, m in zip(dims, spec.dims)):
            raise IntegrityError(f"manifest input {spec.name!r} has dims {list(spec.dims)}, model.onnx has "
                                 f"{list(dims)}; re-export the bundle")


def served_tensors(manifest: dict, onnx_path: Path) -> ServedTensors:
    """Inputs from the manifest, outputs from the graph (symbolic dims -> -1), checked against each other; a
    manifest whose inputs/outputs have the wrong types is one IntegrityError line."""
    try:
        return _served_tensors(manifest, onnx_path)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        raise IntegrityError(f"manifest.json: inputs/outputs are malformed ({type(exc).__name__}: "
                             f"{str(exc)[:120]}); re-export the bundle") from None


def _served_tensors(manifest: dict, onnx_path: Path) -> ServedTensors:
    specs, max_batches, dyn = [], [], []
    for entry in manifest["inputs"]:
        spec, mb, db = _input_spec(entry)
        specs.append(spec)
        max_batches.append(mb)
        dyn.append(db)
    if len(set(max_batches)) != 1 or len(set(dyn)) != 1:
        raise IntegrityError("the bundle's inputs disagree on the batch axis (static vs dynamic, or max batch); "
                             "re-export the bundle")
    graph = _graph_outputs(onnx_path)
    outputs = []
    for entry in manifest["outputs"]:
        name = entry["name"]
        if name not in graph:
            raise IntegrityError(f"manifest output {name!r} is not an output of model.onnx "
                                 f"(graph outputs: {', '.join(graph)}); re-export the bundle")
        dtype, dims = graph[name]
        if dtype != entry["dtype"]:
            raise IntegrityError(f"output {name!r}: manifest says {entry['dtype']}, model.onnx says {dtype}; "
                                 "re-export the bundle")
        if dyn[0] and dims and dims[0] != -1:
            raise IntegrityError(f"output {name!r} has a static batch axis in model.onnx while the inputs' is "
                                 "dynamic; re-export the bundle")
        # A symbolic channel axis (the exporter leaves some symbolic) takes the manifest's value: outputs are NCHW
        # and their channel count does not follow the input size (classes, RGB, flow components).
        shape = list(entry.get("shape") or [])
        if len(dims) == len(shape) and len(dims) >= 2 and dims[1] == -1:
            dims = (dims[0], int(shape[1]), *dims[2:])
        _check_dims(name, dims, "output")
        outputs.append(TensorSpec(name, _dtype(dtype, f"output {name!r}"), dims))
    _check_graph_inputs(specs, onnx_path)
    return ServedTensors(tuple(specs), tuple(outputs), max_batches[0], dyn[0])
