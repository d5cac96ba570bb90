"""verify_bundle: integrity first, then parity of the SHIPPED files on each requested runtime.

numpy + the runtime only: nothing here imports torch (tested with torch made unimportable).

1. manifest.json is parsed strictly (no NaN/Infinity, no duplicate keys) and validated against its JSON Schema
   (docs/manifest.schema.json); device_files.json's unsigned records are merged in.
2. With `trust` (a public key): no link or special file anywhere, then the signature (bundle.sig) must be by that
   key and cover exactly the bundle's files, manifest.json included (device records excepted).
3. Every file listed in `files` / `device_files` is compared with its SHA-256 and size (one changed byte:
   IntegrityError, exit status 2, naming the file); files in neither are reported.
4. Every reference case is read (zero-byte, missing arrays, non-float32, NaN/Inf: IntegrityError).
5. Before any runtime starts: each runtime's bar is the installed tolerance table's entry, or the stored one where
   stricter (never looser), a stored fp32 floor is capped, and every file the artefact would load (ONNX external
   data, an IR's .bin) must be hashed in `files`.
6. Each runtime loads the shipped artefact (model.onnx; model.xml+bin for OpenVINO when shipped; model.engine for
   TensorRT) as a private copy of exactly the bytes whose hash was checked: the artefact and every file it loads
   are copied into a private temporary folder (0700, same layout, removed afterwards) while they are hashed, from
   one open file descriptor each (edgeattn.bundle.model_copy), so a file swapped in the bundle after the check is
   never what runs; a shipped extension library likewise (edgeattn.bundle.extensions). Every case runs; outputs
   are compared with the bundled PyTorch outputs.
7. Verdict: passed (every requested runtime ran every case and passed), failed (a row failed), not_verified
   (nothing failed, but a requested runtime could not run here).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..bundle import (IntegrityReport, check_integrity, input_names, output_names, read_case, read_manifest)
from ..bundle.extensions import verified_library
from ..bundle.hashing import list_tree
from ..bundle.model_copy import copy_model, private_model_tree
from ..bundle.model_files import check_model_files
from ..bundle.layout import MODEL_ENGINE, MODEL_ONNX, MODEL_XML
from ..errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_NOT_VERIFIED, EXIT_OK, IntegrityError, InvalidOptionError
from .compare import Comparison, compare, unavailable
from ..bundle.tolerances import Tolerance, check_floor, judged_tolerance, runtime_precision, tolerance_key
from ..cli import RUNTIME_ALIASES, check_threads

__all__ = ["VerifyResult", "verify_bundle", "DEFAULT_RUNTIMES", "ALIASES", "VERDICTS", "resolve_runtimes"]

Progress = Callable[[str], None]
Observer = Callable[[Comparison, np.ndarray, np.ndarray], None]

#: the runtimes that check a bundle of each target when none are requested: the target's own
DEFAULT_RUNTIMES = {"onnx": ("ort",), "ort": ("ort",), "openvino": ("openvino",), "trt": ("tensorrt",)}
ALIASES = RUNTIME_ALIASES  # the one runtime vocabulary (edgeattn/cli.py)
VERDICTS = {"passed": EXIT_OK, "failed": EXIT_FAILED, "not_verified": EXIT_NOT_VERIFIED}


def _quiet(msg: str) -> None:
    pass


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class VerifyResult:
    bundle: Path
    verdict: str  # passed | failed | not_verified
    runtimes: list[str]
    rows: list[Comparison] = field(default_factory=list)
    integrity: IntegrityReport = field(default_factory=IntegrityReport)
    model: str = ""
    target: str = ""
    precision: str = ""
    signature: Any = None  # a bundle.signing.SignatureReport with --trust; None: integrity-checked only

    @property
    def authenticity(self) -> str:
        """One line: what the signature check established (docs/trust.md)."""
        if self.signature is None:
            return "integrity-checked, not authenticated (no --trust: anyone who can edit the bundle can re-hash it)"
        unsigned = self.signature.unsigned
        return (f"authenticated: {self.signature.signed} files signed by the trusted key (sha256 "
                f"{self.signature.key[:16]}...)" + (f"; unsigned device records: {', '.join(sorted(unsigned))}"
                                                     if unsigned else ""))

    @property
    def passed(self) -> bool:
        return self.verdict == "passed"

    @property
    def exit_code(self) -> int:
        return VERDICTS.get(self.verdict, EXIT_BAD_INPUT)

    @property
    def label(self) -> str:
        return {"passed": "PASSED", "failed": "FAILED", "not_verified": "NOT VERIFIED"}[self.verdict]

    def to_dict(self) -> dict:
        return {"bundle": str(self.bundle), "verdict": self.verdict, "exit_status": self.exit_code,
                "model": self.model, "target": self.target, "precision": self.precision, "runtimes": self.runtimes,
                "integrity": self.integrity.to_dict(), "rows": [r.to_dict() for r in self.rows],
                "authenticity": self.authenticity,
                "signature": self.signature.to_dict() if self.signature is not None else {"authenticated": False}}


def resolve_runtimes(manifest: dict, runtimes: Sequence[str] | None) -> list[str]:
    """The runtimes to check with; `torch` is refused (verify judges shipped files; torch ships none)."""
    from ..runtimes import runtime_names
    from ..errors import unknown

    if runtimes is None:
        chosen = list(manifest.get("runtimes") or DEFAULT_RUNTIMES.get(manifest["target"], ("ort",)))
    else:
        chosen = [ALIASES.get(r.strip(), r.strip()) for r in runtimes if r.strip()]
        if not chosen:
            raise InvalidOptionError("--runtimes is empty: name at least one of " + ", ".join(runtime_names()))
    if "torch" in chosen:
        raise InvalidOptionError("--runtimes torch: verify judges the shipped files, and PyTorch runs none of them; "
                                 "the bundle's reference outputs already are PyTorch's. Use ort, openvino or tensorrt")
    for r in chosen:
        if r not in runtime_names():
            raise unknown("runtime", r, [n for n in runtime_names()])
    return list(dict.fromkeys(chosen))


def _artefact(folder: Path, manifest: dict, runtime: str) -> Path | None:
    listed = {**manifest["files"], **(manifest.get("device_files") or {})}
    if runtime == "tensorrt":
        names = [MODEL_ENGINE]
    elif runtime == "openvino":
        names = [MODEL_XML, MODEL_ONNX]
    else:
        names = [MODEL_ONNX]
    for n in names:
        if n in listed:  # only hashed files are ever loaded
            return folder / n
    return None


def _raise_if_out_of_memory(exc: BaseException, runtime: str) -> None:
    """Running out of memory is not a parity failure: ResourceError (one line, exit 2), not a FAILED row."""
    from ..cli import _allocation_failure
    from ..errors import ResourceError

    why = _allocation_failure(exc)
    if why is not None or isinstance(exc, MemoryError):
        raise ResourceError(f"out of memory in {runtime}: {why or 'an allocation failed'}; verify on a machine with "
                            "more free memory (nothing was judged)") from None


def _run(rt, feeds: dict[str, np.ndarray], outputs: list[str]) -> dict[str, np.ndarray]:  # noqa: ANN001
    if len(outputs) == 1:
        return {outputs[0]: np.asarray(rt.infer(feeds))}
    got = rt.infer_all(feeds)
    return {n: np.asarray(got[n]) for n in outputs}


def _bar(manifest: dict, key: str, folder: Path) -> tuple[Tolerance, tuple[str, float] | None]:
    stored = manifest["tolerances"].get(key)
    if stored is None:
        raise InvalidOptionError(f"bundle {str(folder)!r} stores no tolerance for {key} (it was exported for "
                                 f"{', '.join(sorted(manifest['tolerances'])) or 'no runtime'}); verify with one "
                                 "of those runtimes")
    return judged_tolerance(stored, key, manifest["task"], f"{folder}/manifest.json")


def _floor(case, out: str) -> tuple[float, float] | None:  # noqa: ANN001 - a ReferenceCase
    fl = case.floor.get(out)
    return (float(fl["max_abs"]), float(fl["mean_abs"])) if isinstance(fl, dict) else None


def _check_floors(cases: list, outs: list[str], tol: Tolerance, folder: Path) -> None:
    for c in cases:
        for out in outs:
            check_floor(_floor(c, out), tol, f"{folder}/manifest.json reference case {c.name} ({out})")


def verify_bundle(path: str | Path, runtimes: Sequence[str] | None = None, threads: int | None = None,
                  progress: Progress | None = None, trust: str | Path | None = None,
                  observe: Observer | None = None) -> VerifyResult:
    """Verify the bundle at `path` on `runtimes` (default: the target's own). With `trust` (a public key file) the
    bundle's signature is checked first. Raises IntegrityError (exit 2) for a bundle that fails the signature or
    integrity check, InvalidOptionError for bad options; else returns the verdict (docs/trust.md).
    `observe(row, reference, output)` sees every compared output (the HTML report's error maps)."""
    from ..runtimes import RuntimeOptions, load_runtime, runtime_class

    say = progress or _quiet
    check_threads(threads)  # 1..4 x the CPUs here (edgeattn/cli.py)
    folder = Path(path)
    if trust is not None:
        from ..bundle.signing import load_public_key

        load_public_key(Path(trust))  # a bad key file is bad input, found before anything is read
    manifest = read_manifest(folder)
    chosen = resolve_runtimes(manifest, runtimes)
    signature = None
    if trust is not None:
        from ..bundle.signing import verify_signature

        list_tree(folder)  # links and special files are refused before any file is opened
        signature = verify_signature(folder, manifest, Path(trust))
        say(f"signature: {signature.signed} files signed by the trusted key (sha256 {signature.key[:16]}...)")
    integrity = check_integrity(folder, manifest)
    say(f"integrity: {integrity.checked} files match manifest.json"
        + (f"; not in the manifest: {', '.join(integrity.unlisted)}" if integrity.unlisted else ""))
    ins, outs = input_names(manifest), output_names(manifest)
    cases = [read_case(folder, entry, ins, outs, manifest) for entry in manifest["reference"]["cases"]]
    if not cases:
        raise IntegrityError(f"bundle {str(folder)!r} has no reference case to verify against (re-export it)")
    task, precision = manifest["task"], manifest["precision"]
    custom_ops = bool((manifest.get("options") or {}).get("custom_ops", False))
    plans = []
    for name in chosen:  # every bar and every file a model loads is checked before the first runtime starts
        rt_precision = runtime_precision(name, precision)
        key = tolerance_key(rt_precision, name)
        tol, bar = _bar(manifest, key, folder)
        _check_floors(cases, outs, tol, folder)
        artefact = _artefact(folder, manifest, name)
        if artefact is not None:
            check_model_files(folder, manifest, artefact)
        try:
            lib = verified_library(folder, manifest, name)  # IntegrityError (a changed library) propagates
            libs, lib_why = ((str(lib),) if lib is not None else ()), None
        except InvalidOptionError as exc:  # built for another architecture: cannot run here
            libs, lib_why = (), str(exc)
        plans.append((name, rt_precision, tol, bar, artefact, libs, lib_why))
    rows: list[Comparison] = []
    copies: dict[Path, Path] = {}  # bundle artefact -> its private copy (runtimes may share one)
    with private_model_tree() as scratch:  # removed when verify ends, error or not
        for name, rt_precision, tol, bar, artefact, libs, lib_why in plans:
            ok, why = runtime_class(name).available()
            if ok and lib_why is not None:
                ok, why = False, lib_why
            if ok and artefact is None:
                ok, why = False, (f"the bundle holds no {MODEL_ENGINE} yet: build it on the device (build_engine.sh "
                                  "or python -m edgeattn.tensorrt.build), then verify" if name == "tensorrt"
                                  else f"the bundle ships no artefact {name} can load")
            if not ok:
                for c in cases:
                    row = unavailable(name, why, rt_precision)
                    row.size = c.name
                    rows.append(row)
                continue
            if artefact not in copies:  # exactly the hashed bytes (else IntegrityError, exit 2): what runs
                copies[artefact] = copy_model(folder, manifest, artefact, scratch)
            say(f"  loading {artefact.name} in {name} ({rt_precision}) ...")
            try:
                rt = load_runtime(name, copies[artefact], RuntimeOptions(threads=threads, precision=rt_precision,
                                                                custom_ops=custom_ops and not libs, extensions=libs))
            except Exception as exc:  # noqa: BLE001 - a runtime that cannot load the shipped file is a failed row
                _raise_if_out_of_memory(exc, name)
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
                for c in cases:
                    rows.append(Comparison(runtime=name, status="failed", precision=rt_precision, size=c.name,
                                           reason=f"{name} could not load {artefact.name}: {first}"))
                continue
            executed = getattr(rt, "executed_precision", rt_precision)
            if executed != rt_precision:  # OpenVINO substituted (fp16 -> bf16 here): judge what ran, say so
                say(f"  {name}: requested {rt_precision}, executes {executed}: judged as {executed}")
                key, rt_precision = tolerance_key(executed, name), executed
                if key not in manifest["tolerances"]:
                    rt.close()
                    raise InvalidOptionError(f"{name} executes {executed} here (not the bundle's {precision}) and the "
                                             f"bundle stores no tolerance for {key}; re-export it on this machine")
                try:
                    tol, bar = _bar(manifest, key, folder)
                    _check_floors(cases, outs, tol, folder)
                except BaseException:
                    rt.close()
                    raise
            try:
                for c in cases:
                    say(f"  {name}: case {c.name} ...")
                    try:
                        got = _run(rt, c.inputs, outs)
                    except Exception as exc:  # noqa: BLE001
                        _raise_if_out_of_memory(exc, name)
                        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
                        rows.append(Comparison(runtime=name, status="failed", precision=rt_precision, size=c.name,
                                               reason=f"{name} could not run case {c.name}: {first}"))
                        continue
                    for out in outs:
                        row = compare(c.outputs[out], got[out], runtime=name, precision=rt_precision, task=task,
                                      floor=_floor(c, out), tolerance=tol, task_threshold=bar)
                        row.size = c.name if len(outs) == 1 else f"{c.name}:{out}"
                        rows.append(row)
                        if observe is not None:
                            observe(row, c.outputs[out], got[out])
            finally:
                rt.close()
    statuses = {r.status for r in rows}
    verdict = "failed" if "failed" in statuses else "not_verified" if statuses - {"passed"} else "passed"
    return VerifyResult(bundle=folder, verdict=verdict, runtimes=chosen, rows=rows, integrity=integrity,
                        model=manifest["model"], target=manifest["target"], precision=precision,
                        signature=signature)
