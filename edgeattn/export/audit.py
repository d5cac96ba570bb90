"""Op audit: op counts, per-target support check, and a lint for export-hostile constructs.

Findings are `error` (the target cannot run the graph) or `warning` (it runs, but the construct is slow,
data-dependent or unportable). The audit reports node names so a user can find the offending layer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from ..tensorrt.audit import CHECKED_OPS as TRT_CHECKED_OPS
from ..tensorrt.audit import trt_issues
from ..tensorrt.operators import TRT_TARGET_VERSION
from ..tensorrt.tables import OPS_SINCE, TRT_CUSTOM_OPS, TRT_TABLES, trt_table
from .support_tables import HOSTILE_OPS, HOSTILE_PREFIXES, OPSET_RANGE, RESTRICTED, SOURCES, UNSUPPORTED

__all__ = ["Finding", "AuditReport", "audit", "audit_shipped", "MAX_RANK"]

MAX_RANK = 4


@dataclass(frozen=True)
class Finding:
    severity: str  # error | warning
    rule: str  # unsupported | restricted | type | hostile | rank | inf-constant | opset | custom-domain | table
    op: str
    node: str
    message: str


@dataclass
class AuditReport:
    target: str
    opset: int
    op_counts: dict[str, int]
    findings: list[Finding] = field(default_factory=list)
    source: str = ""
    file: str = ""  # the audited file's name and SHA-256 (audit_shipped): what the proof covers
    sha256: str = ""

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def hostile(self) -> list[Finding]:
        """Findings of the export-hostile lint (independent of the target)."""
        return [f for f in self.findings if f.rule in ("hostile", "rank", "inf-constant")]

    def to_dict(self) -> dict:
        return {
            "target": self.target,
            "opset": self.opset,
            "source": self.source,
            "op_counts": dict(sorted(self.op_counts.items())),
            "findings": [asdict(f) for f in self.findings],
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            **({"file": self.file, "sha256": self.sha256} if self.file else {}),
        }

    def summary(self) -> str:
        ops = sum(self.op_counts.values())
        text = f"audit[{self.target}]: {ops} nodes, {len(self.op_counts)} op types, "
        text += f"{len(self.errors)} errors, {len(self.warnings)} warnings"
        lines = [text] + [f"  {f.severity}: {f.op} ({f.node or 'graph'}): {f.message}" for f in self.findings[:20]]
        if len(self.findings) > 20:
            lines.append(f"  ... {len(self.findings) - 20} more in manifest.json")
        return "\n".join(lines)


def _default_opset(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def _all_nodes(graph: onnx.GraphProto):
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _all_nodes(attr.g)
            for g in attr.graphs:
                yield from _all_nodes(g)


def _has_inf(tensor: onnx.TensorProto) -> bool:
    if tensor.data_type not in (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE,
                                onnx.TensorProto.BFLOAT16):
        return False
    try:
        return bool(np.isinf(numpy_helper.to_array(tensor)).any())
    except Exception:  # an unreadable tensor is reported by onnx.checker, not here
        return False


def _trt_table_note(version: tuple[int, int]) -> Finding | None:
    """Say which parser table judged the graph when the device's TensorRT has no table of its own
    (tensorrt/tables.py transcribes 10.3, 10.16 and 11.4)."""
    if version in TRT_TABLES:
        return None
    table = trt_table(version)
    have, want = table.name, ".".join(map(str, version))
    return Finding("warning", "table", "", "", f"no ONNX parser table of TensorRT {want} is transcribed: the graph "
                   f"was audited against TensorRT {have}'s ({table.source}), with the version-dependent rules judged "
                   f"for {want}; a finding {want} no longer has, or a restriction it added, is not known here")


def _trt_op_finding(op: str, node: str, version: tuple[int, int]) -> Finding | None:
    """An op the judged TensorRT's parser does not import but a later one does (OPS_SINCE): an error naming the
    TensorRT that added it."""
    since = OPS_SINCE.get(op)
    if since is None or trt_table(version).supports(op) or version >= since:
        return None
    want = ".".join(map(str, version))
    return Finding("error", "unsupported", op, node, f"TensorRT {want}'s ONNX parser does not import {op} (added in "
                   f"TensorRT {since[0]}.{since[1]}); export without it or target a device with that TensorRT")


def audit(model: onnx.ModelProto, target: str, trt_version: tuple[int, int] | None = None) -> AuditReport:
    """Findings of `model` for `target`; `trt_version` (from --device) picks the TensorRT the trt rules judge for
    and its parser table (default: TRT_TARGET_VERSION, JetPack 6's 10.3; tables for 10.3, 10.16, 11.4)."""
    opset = _default_opset(model)
    nodes = list(_all_nodes(model.graph))
    report = AuditReport(target=target, opset=opset, op_counts=dict(Counter(n.op_type for n in nodes)),
                         source=SOURCES.get(target, ""))
    add = report.findings.append
    version = (trt_version or TRT_TARGET_VERSION) if target == "trt" else None
    unsupported = UNSUPPORTED.get(target, {})
    restricted = RESTRICTED.get(target, {})
    lo, hi = OPSET_RANGE.get(target, (1, 10**6))
    if version is not None:  # the parser table of the TensorRT judged for (tensorrt/tables.py)
        table = trt_table(version)
        unsupported = {op: f"not supported by TensorRT {table.name}'s ONNX parser" for op in table.unsupported_ops}
        restricted, (lo, hi), report.source = table.restrictions, table.opset_range, table.source
    if not lo <= opset <= hi:
        add(Finding("error", "opset", "", "", f"opset {opset} is outside what {target} accepts ({lo}..{hi}); "
                    f"export with --opset {min(max(opset, lo), hi)}"))
    shape_values = {o for n in nodes if n.op_type == "Shape" for o in n.output}
    for n in nodes:
        late = _trt_op_finding(n.op_type, n.name, version) if version is not None else None
        if late is not None:
            add(late)
            continue
        if version is not None and n.op_type in TRT_CUSTOM_OPS:
            continue  # TensorRT's own op, imported by op_type by the judged TensorRT's parser
        if n.domain not in ("", "ai.onnx"):
            add(Finding("warning", "custom-domain", n.op_type, n.name,
                        f"custom op {n.domain}::{n.op_type} needs a kernel/plugin registered in the runtime"))
            continue
        if n.op_type in unsupported and not (version and version >= OPS_SINCE.get(n.op_type, (10**6, 0))):
            add(Finding("error", "unsupported", n.op_type, n.name, unsupported[n.op_type]))
        elif n.op_type in restricted and not (target == "trt" and n.op_type in TRT_CHECKED_OPS):
            # ops whose conditions trt_audit can decide get findings only when violated
            add(Finding("warning", "restricted", n.op_type, n.name, restricted[n.op_type]))
        if n.op_type in HOSTILE_OPS:
            add(Finding("warning", "hostile", n.op_type, n.name, HOSTILE_OPS[n.op_type]))
        elif n.op_type == "Gather" and n.input and n.input[0] in shape_values:
            pass  # indexing a Shape vector (dynamic-size arithmetic), not a gather over data
        elif n.op_type.startswith(HOSTILE_PREFIXES):
            add(Finding("warning", "hostile", n.op_type, n.name, "data-dependent indexing or randomness"))
        if n.op_type == "Constant":
            for attr in n.attribute:
                if attr.type == onnx.AttributeProto.TENSOR and _has_inf(attr.t):
                    add(Finding("warning", "inf-constant", n.op_type, n.name, "+-inf constant (use a finite mask)"))
    for init in model.graph.initializer:
        if _has_inf(init):
            add(Finding("warning", "inf-constant", "initializer", init.name, "+-inf constant (use a finite mask)"))
    _check_ranks(model, add)
    if version is not None:
        note = _trt_table_note(version)
        if note is not None:
            add(note)
        report.findings.extend(Finding(*issue) for issue in trt_issues(model, nodes, version))
    return report


def audit_shipped(path: Path, target: str, trt_version: tuple[int, int] | None = None) -> AuditReport:
    """Audit the ONNX file as it will ship (after every rewrite: precision, Q/DQ, float16 islands) and record its
    name and SHA-256; an error there refuses the export (ExportError), as the first audit's would."""
    from ..bundle.hashing import sha256_file
    from ..errors import ExportError

    path = Path(path)
    report = audit(onnx.load(str(path), load_external_data=False), target, trt_version)
    report.file, report.sha256 = path.name, sha256_file(path)
    if report.errors:
        lines = "; ".join(f"{f.op} {f.node}: {f.message}" for f in report.errors[:3])
        raise ExportError(f"the {path.name} that would ship cannot run on {target} ({len(report.errors)} errors): "
                          f"{lines}")
    return report


def _check_ranks(model: onnx.ModelProto, add) -> None:
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # shape inference is best effort (custom ops stop it)
        inferred = model
    values = [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]
    for v in values:
        t = v.type.tensor_type
        if t.HasField("shape") and len(t.shape.dim) > MAX_RANK:
            add(Finding("warning", "rank", "tensor", v.name,
                        f"rank-{len(t.shape.dim)} tensor (edge runtimes handle rank <= {MAX_RANK} best)"))
