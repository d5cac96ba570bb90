"""The conversion table: one row per module a converter knows (converted or not), plus the hostile inventory."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .hostile import HostileModule

__all__ = ["ConversionRow", "format_table", "rows_to_json"]


@dataclass(frozen=True)
class ConversionRow:
    path: str  # module path in the model ("decode_head.cca")
    original: str  # class path of the reference module
    replacement: str  # class path of the export-path module ("-" when not converted)
    converter: str  # registry name ("ccnet.criss_cross")
    matched_by: str  # "class path" | "vendored copy (class name + parameter names)"
    params_copied: int  # tensors loaded with load_state_dict(strict=True); 0 when not converted
    calls: int  # forward calls of this module seen during the example forward
    max_abs: float | None  # max abs error of the replacement on the captured activations
    max_rel: float | None  # max_abs / max |reference output|
    status: str  # "converted" | "MISMATCH" | "not converted" | "unchecked"
    note: str  # what the conversion changes, or why it was not converted / not checked


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.2e}"


def _short(cls: str) -> str:
    return cls.rsplit(".", 1)[-1] if cls != "-" else cls


def format_table(rows: list[ConversionRow], hostile: list[HostileModule], whole: str = "") -> str:
    head = ("module", "original", "replacement", "matched by", "params (strict)", "max abs", "max rel", "status")
    body = [(r.path, _short(r.original), _short(r.replacement), r.matched_by.split(" ")[0],
             str(r.params_copied), _fmt(r.max_abs), _fmt(r.max_rel), r.status) for r in rows]
    lines = []
    if body:
        widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
        lines += ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in [head, *body]]
        lines += [f"  {r.path}: {r.note}" for r in rows if r.note]
    else:
        lines.append("no module with a converter found")
    if hostile:
        lines.append("export-hostile modules without a converter (left as they are):")
        lines += [f"  {h.path} ({_short(h.cls)}): {'; '.join(h.reasons)}" for h in hostile]
    if whole:
        lines.append(whole)
    return "\n".join(lines)


def rows_to_json(rows: list[ConversionRow], hostile: list[HostileModule]) -> dict:
    return {"modules": [asdict(r) for r in rows],
            "hostile": [{"path": h.path, "class": h.cls, "reasons": list(h.reasons)} for h in hostile]}
