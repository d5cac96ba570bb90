"""A small latency benchmark of a bundle's shipped model on the device, without PyTorch.

    python -m edgeattn.tensorrt.bench BUNDLE [--runtime tensorrt] [--warmup 10] [--iters 50] [--output DIR]

The Jetson entrypoint's `bench` step: it times the artefact the bundle ships (model.engine for tensorrt) on the
bundle's own reference inputs, one row per reference case, with the harness's timer (`edgeattn.runtimes.timer`:
warm-up, then median / p90 / min over the timed runs). The figure is end to end per call: host-to-device copy,
execution, device-to-host copy. The full model x runtime x size sweep is `python -m edgeattn.bench`, which needs
PyTorch; this needs numpy and the runtime only. Any registered runtime works (ort/openvino on a CPU host).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .._atomic import atomic_write_text, check_output_dir
from ..runtimes.timer import measure
from .._bounded import read_bounded
from ..bundle.schema import MAX_JSON_BYTES
from ..cli import ArgumentParser, check_range, parse_runtimes, run_cli, threads_arg
from ..errors import IntegrityError

__all__ = ["bench_bundle", "format_rows", "main", "MAX_WARMUP", "MAX_ITERS"]

#: the bounds of python -m edgeattn.bench's --warmup and --iters (bench/harness.py; docs/limits.md)
MAX_WARMUP, MAX_ITERS = 10_000, 100_000


def _reference_inputs(bundle: Path, manifest: dict) -> list[tuple[str, dict[str, np.ndarray]]]:
    cases = (manifest.get("reference") or {}).get("cases") or []
    if not cases:
        raise IntegrityError(f"{bundle / 'manifest.json'} lists no reference cases: export the bundle again")
    from ..bundle import input_names, read_npz
    from ..bundle.npz_bounds import case_shape_rules

    out = []
    for case in cases:
        path = bundle / str(case.get("inputs", ""))
        name = str(case.get("name", path.parent.name))
        try:
            batch, size = int(case["batch"]), (int(case["size"][0]), int(case["size"][1]))
        except (KeyError, TypeError, ValueError, IndexError):
            raise IntegrityError(f"reference case {name}: batch and size must be integers; export the bundle "
                                 "again") from None
        rules, _ = case_shape_rules(manifest, batch, size)
        try:  # headers checked against the manifest before any array is loaded (bundle/npz_bounds.py)
            feeds = read_npz(path, input_names(manifest), f"reference case {name}", rules)
        except IntegrityError as exc:
            raise IntegrityError(f"reference inputs {path} are unreadable or wrong ({exc}); copy the bundle "
                                 "again") from None
        out.append((name, feeds))
    return out


def bench_bundle(bundle: Path, runtime: str = "tensorrt", warmup: int = 10, iters: int = 50,
                 threads: int | None = None) -> list[dict]:
    """One row per reference case: {case, runtime, precision, shape, median_ms, p90_ms, min_ms, mean_ms, fps, ...}."""
    from ..runtimes import RuntimeOptions, load_runtime

    check_range(warmup, "--warmup", 0, MAX_WARMUP)
    check_range(iters, "--iters", 1, MAX_ITERS)
    bundle = Path(bundle)
    try:
        manifest = json.loads(read_bounded(bundle / "manifest.json", MAX_JSON_BYTES).decode("utf-8"))
    except (OSError, ValueError) as exc:  # FileTooLarge is a ValueError
        why = exc.strerror if isinstance(exc, OSError) else f"not JSON: {exc}"
        raise IntegrityError(f"cannot read {bundle / 'manifest.json'} ({why}): is {bundle} a bundle?") from None
    precision = str(manifest.get("precision", "fp32"))
    cases = _reference_inputs(bundle, manifest)
    rows = []
    with load_runtime(runtime, bundle, RuntimeOptions(threads=threads, precision=precision)) as rt:
        for name, feeds in cases:
            t = measure(lambda feeds=feeds: rt.infer(feeds), warmup=warmup, iters=iters)
            shape = "x".join(str(d) for d in next(iter(feeds.values())).shape)
            rows.append({"case": name, "runtime": runtime, "precision": precision, "artefact": rt.path.name,
                         "input_shape": shape, **t.to_dict()})
    return rows


def format_rows(rows: list[dict]) -> str:
    head = "| case | runtime | precision | artefact | input | median ms | p90 ms | min ms | fps | iters |"
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        lines.append(f"| {r['case']} | {r['runtime']} | {r['precision']} | {r['artefact']} | {r['input_shape']} | "
                     f"{r['median_ms']:.3f} | {r['p90_ms']:.3f} | {r['min_ms']:.3f} | {r['fps']:.1f} | {r['iters']} |")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser("tensorrt.bench",
                       description="Time a bundle's shipped model on its own reference inputs (end to end per call, "
                       "copies included); numpy and the runtime only, no PyTorch.")
    p.add_argument("bundle", type=Path, help="bundle folder (model.engine built on this device for tensorrt)")
    p.add_argument("--runtime", default="tensorrt", help="runtime to time: tensorrt (alias trt), ort, openvino "
                   "(default: tensorrt)")
    p.add_argument("--warmup", type=int, default=10, help="untimed runs first (default: 10)")
    p.add_argument("--iters", type=int, default=50, help="timed runs per case (default: 50)")
    p.add_argument("--threads", type=threads_arg(), default=None, help="CPU runtimes' thread count (default: theirs)")
    p.add_argument("--output", type=Path, default=None, help="write results.json and results.md here")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        (runtime,) = parse_runtimes(args.runtime, ("tensorrt", "ort", "openvino", "reference"), flag="--runtime")
        if args.output is not None:  # before the timing runs
            check_output_dir(args.output, ("results.json", "results.md"))
        rows = bench_bundle(args.bundle, runtime, args.warmup, args.iters, args.threads)
        table = format_rows(rows)
        print(table)
        if args.output is not None:
            args.output.mkdir(parents=True, exist_ok=True)
            atomic_write_text(args.output / "results.json", json.dumps({"bundle": str(args.bundle), "rows": rows},
                                                                       indent=2) + "\n")
            atomic_write_text(args.output / "results.md", table + "\n")
            print(f"wrote {args.output / 'results.json'} and results.md")
        return 0

    return run_cli("tensorrt.bench", body, interrupted="no results written")


if __name__ == "__main__":
    sys.exit(main())
