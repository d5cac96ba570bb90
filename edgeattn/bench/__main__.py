"""python -m edgeattn.bench: latency, memory and compute efficiency per model x runtime x size, and the
attention-module resolution sweep; writes results.json, results.md and PNG plots."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._atomic import check_output_dir
from ..cli import ArgumentParser, names_arg, parse_runtimes, run_cli, threads_arg
from ..errors import InvalidOptionError
from ..export.config import sizes_arg

EPILOG = """examples:
  python -m edgeattn.bench --output docs/bench                       # everything, as in docs/benchmarks.md
  python -m edgeattn.bench --models lga_mobilenet --no-sweep --iters 30
  python -m edgeattn.bench --no-models --modules lga,nonlocal,criss_cross --sweep-sizes 64x64,128x128
  python -m edgeattn.bench --models lga_mobilenet --sizes 256x512 --budget 3 --no-sweep   # quick look
  python -m edgeattn.bench --goals-only --output bench-goals         # export paths vs what a user would run instead
  python -m edgeattn.bench --goals-only --goal-rounds 15 --goal-repeats 3 --output bench-goals   # settled verdicts
  python -m edgeattn.bench --models lga_mobilenet --runtimes ort --precisions fp32,int8 --no-sweep   # INT8 vs fp32

Timings are in-process medians after warm-up with fixed thread counts; docs/parity-and-benchmark.md says what
each column means.
A case that cannot run (a runtime missing here, an export error) is a row with its reason, not a failure: the
benchmark exits 0 once its reports are written. results.json is rewritten after every case, so an interrupted run
keeps what it measured (marked incomplete).
"""



def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser("bench", description=" ".join(__doc__.split()), epilog=EPILOG)
    p.add_argument("--models", type=names_arg("--models"), default=(),
                   help="comma-separated models or 'all' (default: all)")
    p.add_argument("--runtimes", default="torch,ort,openvino",
                   help="comma-separated from torch, ort, openvino, tensorrt (aliases: pytorch, onnxruntime, ov, trt; "
                   "default: torch,ort,openvino)")
    p.add_argument("--sizes", type=sizes_arg, default=(), metavar="HxW[,HxW]", help="model input sizes, "
                   "comma-separated; "
                   "each HxW, or N for NxN (default: each "
                   "model's default)")
    p.add_argument("--threads", type=threads_arg(), default=2, help="threads for every backend (default 2)")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs before timing (default 2)")
    p.add_argument("--iters", type=int, default=20, help="timed runs at most (default 20)")
    p.add_argument("--budget", type=float, default=10.0, metavar="SECONDS", help="stop timing a case after this "
                   "many seconds, with at least 3 runs (default 10; 0 = always --iters)")
    p.add_argument("--output", type=Path, default=Path("bench-report"), metavar="DIR", help="default: bench-report")
    p.add_argument("--no-models", action="store_true", help="skip the model benchmark")
    p.add_argument("--no-sweep", action="store_true", help="skip the attention-module sweep")
    p.add_argument("--modules", type=names_arg("--modules"), default=(),
                   help="attention modules for the sweep (default: all)")
    p.add_argument("--sweep-sizes", type=sizes_arg, default=None, metavar="HxW[,HxW]",
                   help="feature maps of the sweep (default 32x32,64x64,64x128,128x256)")
    p.add_argument("--channels", type=int, default=128, help="channels of the sweep's feature maps (default 128)")
    p.add_argument("--ceiling-size", type=int, default=2048, help="n of the n^3 MatMul ceiling (default 2048)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    from .goals_cli import add_goal_arguments

    add_goal_arguments(p)
    p.add_argument("--precisions", type=names_arg("--precisions"), default=("fp32",),
                   help="fp32 (default) or fp32,int8: also quantize "
                   "each model (as export --precision int8 --target ort does) and time INT8 against fp32 on ORT, "
                   "interleaved, with the task metric of both on held-out data")
    p.add_argument("--checkpoint-dir", type=Path, metavar="DIR", help="DIR/<model>.pt for models without shipped "
                   "trained weights (int8 rows); default: shipped weights, else random init (recorded)")
    return p


def _summary(result) -> str:  # noqa: ANN001 - a BenchResult
    """Median latency per case and runtime, as the terminal shows it after the run."""
    lines = []
    for title, rows in (("models", result.models), ("attention modules", result.modules)):
        if not rows:
            continue
        runtimes = list(dict.fromkeys(m.runtime for m in rows))
        cases = list(dict.fromkeys((m.name, m.size) for m in rows))
        width = max(len(f"{n} {s}") for n, s in cases)
        lines.append(f"{title}: median ms".ljust(width + 2) + "".join(f"{rt:>12}" for rt in runtimes))
        for n, s in cases:
            cells = []
            for rt in runtimes:
                m = next((r for r in rows if (r.name, r.size, r.runtime) == (n, s, rt)), None)
                cells.append("-" if m is None else f"{m.median_ms:.1f}" if m.median_ms is not None else m.status)
            lines.append(f"{n} {s}".ljust(width + 2) + "".join(f"{c:>12}" for c in cells))
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.goals_only:
        from .goals_cli import main_goals

        return main_goals(args)

    def body() -> int:
        from .harness import SWEEP_SIZES, BenchConfig, run
        from .report import targets, write_reports
        from .runners import KNOWN_RUNTIMES

        if args.ceiling_size < 16:
            raise InvalidOptionError(f"--ceiling-size must be >= 16, got {args.ceiling_size}")
        config = BenchConfig(models=args.models, runtimes=parse_runtimes(args.runtimes, KNOWN_RUNTIMES),
                             sizes=args.sizes, threads=args.threads,
                             warmup=args.warmup, iters=args.iters, budget_s=args.budget or None, output=args.output,
                             run_models=not args.no_models, sweep=not args.no_sweep, modules=args.modules,
                             sweep_sizes=args.sweep_sizes or SWEEP_SIZES, channels=args.channels,
                             ceiling_n=args.ceiling_size, plots=not args.no_plots,
                             precisions=tuple(p.lower() for p in args.precisions),
                             checkpoint_dir=args.checkpoint_dir)
        check_output_dir(args.output, ("results.json", "results.md", "sweep.png", "models.png"))
        # results.json/md are rewritten after every case: an interrupted run keeps what it measured.
        result = run(config, on_update=lambda partial: write_reports(partial, args.output, plots=False))
        paths = write_reports(result, args.output, plots=config.plots)
        print(_summary(result))
        for t in targets(result):
            value = "-" if t["value"] is None else f"{t['value']:.2f}"
            verdict = {None: "", True: " met", False: " MISSED"}[t["met"]]
            note = f" ({t['note']})" if t.get("note") else ""
            print(f"{t['target']}: {value} (goal {t['goal']}){verdict}{note}")
        print("reports: " + ", ".join(str(p) for p in paths))
        return 0

    def interrupted() -> str:
        if (args.output / "results.json").exists():
            return f"the cases measured so far are in {args.output / 'results.json'} and results.md, marked incomplete"
        return "no report written"

    return run_cli("bench", body, interrupted=interrupted)


if __name__ == "__main__":
    sys.exit(main())
