"""`serve check`: the bundle's reference inputs through a running server (KServe v2), judged like verify.

1. The bundle's integrity (edgeattn.bundle; exit 2 on a changed file).
2. The server: live, the model ready, its metadata naming the bundle's inputs/outputs; where the server reports
   the model config edgeattn wrote (Triton), its manifest hash must be this bundle's (else exit 2: wrong pair).
3. Each reference case is sent `concurrency` times at once (each request its own connection); every answer is
   compared with the bundled PyTorch outputs under the tolerance stored in the bundle for the runtime the server
   runs (`edgeattn.runtime` in the served config, or --runtime), raised only by the stored fp32 floor, with
   edgeattn.verify's comparison. Verdicts and exit statuses are verify's: PASSED 0, FAILED 1, NOT VERIFIED 3
   (no server answered / the model is not ready: nothing was checked).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..bundle import input_names, output_names, read_case
from ..errors import IntegrityError, InvalidOptionError
from ..verify import ALIASES, Comparison, Tolerance, VerifyResult, compare, runtime_precision, unavailable
from ..verify.tolerances import tolerance_key
from .kserve import KServeClient, ServerError, split_url
from .source import BundleSource, open_bundle
from .triton import _NAME

__all__ = ["CheckOptions", "check_server", "MAX_CONCURRENCY"]

MAX_CONCURRENCY = 64
MAX_TIMEOUT_S = 3600


@dataclass(frozen=True)
class CheckOptions:
    url: str
    bundle: Path
    protocol: str = "http"
    model_name: str | None = None  # default: the bundle's model name (as serve export names the folder)
    version: str = ""  # default: the server's latest
    runtime: str | None = None  # tolerance key; default: the served config's edgeattn.runtime, else from platform
    concurrency: int = 1
    timeout_s: float = 60.0


def _runtime_from(config: dict | None, metadata: dict) -> str | None:
    params = (config or {}).get("parameters") or {}
    rt = (params.get("edgeattn.runtime") or {}).get("string_value")
    if rt:
        return rt
    platform = str(metadata.get("platform", "")).lower()
    for needle, runtime in (("openvino", "openvino"), ("tensorrt", "tensorrt"), ("onnx", "ort")):
        if needle in platform:
            return runtime
    return None


def _tolerance(bundle: BundleSource, runtime: str) -> tuple[str, Tolerance, tuple[str, float] | None]:
    m = bundle.manifest
    precision = runtime_precision(runtime, m["precision"])
    key = tolerance_key(precision, runtime)
    stored = m["tolerances"].get(key)
    if stored is None:
        raise InvalidOptionError(f"bundle {str(bundle.folder)!r} stores no tolerance for {key} (it has "
                                 f"{', '.join(sorted(m['tolerances'])) or 'none'}); pass --runtime with one of those")
    try:
        tol = Tolerance.from_dict(stored)
        bar = (stored["task_metric"], float(stored["task_threshold"])) if stored.get("task_metric") else None
    except (KeyError, TypeError, ValueError):
        raise IntegrityError(f"{bundle.folder}/manifest.json: tolerances[{key!r}] is malformed") from None
    return precision, tol, bar


def _result(bundle: BundleSource, label: str, rows: list[Comparison]) -> VerifyResult:
    statuses = {r.status for r in rows}
    verdict = "failed" if "failed" in statuses else "not_verified" if statuses - {"passed"} or not rows else "passed"
    m = bundle.manifest
    return VerifyResult(bundle=bundle.folder, verdict=verdict, runtimes=[label], rows=rows, model=m["model"],
                        target=m["target"], precision=m["precision"])


def check_server(opts: CheckOptions, progress: Callable[[str], None] | None = None) -> VerifyResult:
    say = progress or (lambda _msg: None)
    address = split_url(opts.url, opts.protocol)
    if not 1 <= opts.concurrency <= MAX_CONCURRENCY:
        raise InvalidOptionError(f"--concurrency {opts.concurrency}: pass 1..{MAX_CONCURRENCY}")
    if opts.version and not (opts.version.isdigit() and len(opts.version) <= 18):
        raise InvalidOptionError(f"--model-version {opts.version[:40]!r}: pass a version number (digits), or leave it "
                                 "out for the server's latest")
    if opts.model_name is not None and (not _NAME.match(opts.model_name) or len(opts.model_name) > 128):
        raise InvalidOptionError(f"--model-name {opts.model_name[:80]!r}: a served model name has letters, digits, "
                                 "'_', '-', '.' (as serve export writes it)")
    if not 0 < opts.timeout_s <= MAX_TIMEOUT_S:  # NaN fails too
        raise InvalidOptionError(f"--timeout {opts.timeout_s}: pass a number of seconds in (0, {MAX_TIMEOUT_S}]")
    bundle = open_bundle(opts.bundle)
    ins, outs = input_names(bundle.manifest), output_names(bundle.manifest)
    cases = [read_case(bundle.folder, e, ins, outs, bundle.manifest) for e in bundle.manifest["reference"]["cases"]]
    if not cases:
        raise IntegrityError(f"bundle {str(bundle.folder)!r} has no reference case to check against (re-export it)")
    model = opts.model_name or bundle.served_name
    client = KServeClient(address, opts.protocol, opts.timeout_s)
    label = f"{opts.protocol}://{address}/{model}"

    def not_verified(why: str) -> VerifyResult:
        rows = []
        for c in cases:
            row = unavailable(label, why)
            row.size = c.name
            rows.append(row)
        return _result(bundle, label, rows)

    try:
        if not client.live():
            return not_verified(f"the server at {address} is not live")
        if not client.ready(model, opts.version):
            return not_verified(f"model {model!r} is not ready on {address} (is it in the repository? pass "
                                "--model-name if it was exported under another name)")
        metadata = client.metadata(model, opts.version)
        config = client.config(model, opts.version)
    except ServerError as exc:
        return not_verified(f"no answer from {opts.protocol}://{address}: {str(exc).splitlines()[0][:200]}")
    finally:
        client.close()
    served_hash = (((config or {}).get("parameters") or {}).get("edgeattn.manifest_sha256") or {}).get("string_value")
    from ..bundle import sha256_file

    if served_hash and served_hash != sha256_file(bundle.manifest_path):
        raise InvalidOptionError(f"model {model!r} on {address} was exported from another bundle (its manifest "
                                 f"SHA-256 is {served_hash[:12]}..., this bundle's differs); pass the bundle it "
                                 "was made from, or re-export the repository from this one")
    runtime = opts.runtime or _runtime_from(config, metadata)
    if runtime is None:
        raise InvalidOptionError("cannot tell which runtime the server runs (no edgeattn.runtime in its config, "
                                 f"platform {metadata.get('platform')!r}); pass --runtime ort|openvino|tensorrt")
    runtime = ALIASES.get(runtime, runtime)
    precision, tol, bar = _tolerance(bundle, runtime)
    label = f"{runtime}@{opts.protocol}://{address}/{model}"
    served_in = {t["name"] for t in metadata.get("inputs", [])}
    served_out = {t["name"] for t in metadata.get("outputs", [])}
    if not set(ins) <= served_in or not set(outs) <= served_out:
        raise InvalidOptionError(f"model {model!r} on {address} has inputs {sorted(served_in)} and outputs "
                                 f"{sorted(served_out)}; the bundle has {ins} and {outs}: not the same model")

    def one(job: tuple[int, int]) -> tuple[int, int, dict[str, np.ndarray] | str, float]:
        case_i, k = job
        c = KServeClient(address, opts.protocol, opts.timeout_s)
        t0 = time.perf_counter()
        try:
            got = c.infer(model, cases[case_i].inputs, outs, opts.version)
            missing = [n for n in outs if got.get(n) is None]
            if missing:
                return case_i, k, f"the answer holds no output {', '.join(missing)}", time.perf_counter() - t0
            return case_i, k, got, time.perf_counter() - t0
        except ServerError as exc:
            return case_i, k, str(exc).splitlines()[0][:300] if str(exc) else "error", time.perf_counter() - t0
        finally:
            c.close()

    rows: list[Comparison] = []
    task = bundle.manifest["task"]
    for case_i, case in enumerate(cases):
        say(f"  {label}: case {case.name} x{opts.concurrency} ...")
        with ThreadPoolExecutor(max_workers=opts.concurrency) as pool:
            answers = list(pool.map(one, [(case_i, k) for k in range(opts.concurrency)]))
        for _, k, got, _seconds in answers:
            size = case.name if opts.concurrency == 1 else f"{case.name}#{k}"
            if isinstance(got, str):
                rows.append(Comparison(runtime=label, status="failed", precision=precision, size=size,
                                       reason=f"the server answered an error: {got}"))
                continue
            for out in outs:
                fl = case.floor.get(out)
                floor = (fl["max_abs"], fl["mean_abs"]) if isinstance(fl, dict) and "max_abs" in fl else None
                row = compare(case.outputs[out], np.asarray(got[out]), runtime=label, precision=precision,
                              task=task, floor=floor, tolerance=tol, task_threshold=bar)
                row.size = size if len(outs) == 1 else f"{size}:{out}"
                rows.append(row)
    return _result(bundle, label, rows)
