"""What OpenVINO actually computes in: read back from the compiled model, never assumed from the request.

OpenVINO's CPU plugin treats INFERENCE_PRECISION_HINT as a hint. On a CPU without FP16 arithmetic but with
AVX512-BF16 (this development machine) a request for f16 compiles to bf16; the compiled model's own
INFERENCE_PRECISION_HINT property says what it will run. edgeattn records that, labels the run with it, and
judges it with that precision's tolerance (bf16 keeps 8 mantissa bits against fp16's 11).

`fp16-weights` is a separate option: weights stored as float16 in model.bin (half the size), decompressed and
computed in f32 (INFERENCE_PRECISION_HINT f32); its only error is the rounding of the weights.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["ExecutedPrecision", "executed_precision", "OV_HINTS", "FROM_OV"]

OV_HINTS = {"fp32": "f32", "fp16": "f16", "bf16": "bf16", "fp16-weights": "f32"}
FROM_OV = {"float32": "fp32", "f32": "fp32", "float16": "fp16", "f16": "fp16", "bfloat16": "bf16", "bf16": "bf16"}


@dataclass(frozen=True)
class ExecutedPrecision:
    requested: str  # fp16 | bf16 | fp32 | fp16-weights
    hint: str  # what was passed as INFERENCE_PRECISION_HINT
    executed: str  # what the compiled model reports: fp32 | fp16 | bf16
    device_capabilities: tuple[str, ...]
    substituted: bool
    note: str

    def to_dict(self) -> dict:
        return asdict(self)


def executed_precision(model, requested: str, device: str = "CPU", extensions: tuple[str, ...] = ()
                       ) -> ExecutedPrecision:
    """Compile `model` (openvino.Model or path) with the hint for `requested` and read back what will run;
    `extensions`: libraries its layers need (the compiled custom-op kernels of a --custom-ops IR)."""
    import openvino as ov

    core = ov.Core()
    for lib in extensions:
        core.add_extension(lib)
    hint = OV_HINTS[requested]
    compiled = core.compile_model(model, device, {"INFERENCE_PRECISION_HINT": hint})
    raw = compiled.get_property("INFERENCE_PRECISION_HINT")
    executed = FROM_OV.get(getattr(raw, "get_type_name", lambda: str(raw))(), None) or FROM_OV.get(
        str(raw).split("'")[1] if "'" in str(raw) else str(raw), str(raw))
    caps = tuple(core.get_property(device, "OPTIMIZATION_CAPABILITIES"))
    wanted = "fp32" if requested == "fp16-weights" else requested
    substituted = executed != wanted
    if substituted:
        note = (f"requested {wanted}, but OpenVINO's {device} plugin executes {executed} on this CPU "
                f"(capabilities: {', '.join(caps)}); judged as {executed} with {executed}'s tolerance")
    elif requested == "fp16-weights":
        note = "weights stored as float16, computed in f32"
    else:
        note = f"executes {executed} as requested"
    return ExecutedPrecision(requested, hint, executed, caps, substituted, note)
