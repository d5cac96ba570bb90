"""The `--goals-only` part of `python -m edgeattn.bench`: the ratios of edgeattn's export paths over the
routes a user could take instead (see bench/goals.py), printed and written to goals.json / goals.md."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .._atomic import atomic_write_text, check_output_dir
from ..cli import check_range, check_threads, names_arg, parse_runtimes, run_cli
from ..errors import InvalidOptionError, unknown

#: --goal-rounds / --goal-repeats upper bounds (docs/limits.md): the defaults are 10 and 1
MAX_ROUNDS, MAX_REPEATS = 1000, 100

__all__ = ["add_goal_arguments", "main_goals"]


def add_goal_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("goal ratios of the export paths against the routes a user could take instead")
    g.add_argument("--goals-only", action="store_true", help="measure only the goal ratios: export paths vs "
                   "CCNet-style routes, LGA scaling and conv-pair anchor, flow models vs eager/torch.compile, "
                   "custom-op vs standard-op graphs, the compiled custom-op kernels (candidates interleaved in one "
                   "process)")
    g.add_argument("--goal-groups", type=names_arg("--goal-groups"),
                   default=("criss_cross", "lga", "flow", "custom_ops", "native"),
                   help="comma-separated from criss_cross, lga, flow, custom_ops, native (default: all; native "
                   "needs `make native`)")
    g.add_argument("--goal-rounds", type=int, default=10, help="interleaved rounds per group (default 10)")
    g.add_argument("--goal-repeats", type=int, default=1, metavar="N",
                   help="whole runs of the goal groups; with N > 1 each goal reports the median of the N runs' "
                   "values, their range as the spread, and its verdict on the median (default 1)")


def _markdown(rows: list[dict], meta: dict) -> str:
    out = ["# edgeattn goal ratios", "",
           f"Machine: {meta['cpu']}, {meta['logical_cpus']} logical CPUs; {meta['threads']} threads; "
           f"{meta['rounds']} interleaved rounds per group"
           + (f", {meta['repeats']} whole runs (value = median of the runs, spread = their range)"
              if meta.get("repeats", 1) > 1 else "") + "; tools: "
           + ", ".join(f"{k} {v}" for k, v in meta["tools"].items()) + ".", "",
           f"| goal | value | {'spread of the runs' if meta.get('repeats', 1) > 1 else 'per-round spread'} | target "
           "| verdict | detail |", "|---|---|---|---|---|---|"]
    for r in rows:
        value = "-" if r["value"] is None else f"{r['value']:.2f}"
        spread = "-" if not r["spread"] else f"{r['spread'][0]:.2f}-{r['spread'][1]:.2f}"
        verdict = "not measured" if r["met"] is None else ("met" if r["met"] else "MISSED")
        out.append(f"| {r['goal']} | {value} | {spread} | {r['target']} | {verdict} | {r['detail']} |")
    return "\n".join(out) + "\n"


def main_goals(args: argparse.Namespace) -> int:
    def body() -> int:
        from .goals import GROUPS, GoalConfig, format_goals, merge_runs, run_goals
        from .harness import BenchConfig, _meta
        from .runners import KNOWN_RUNTIMES

        for g in args.goal_groups:
            if g not in GROUPS:
                raise unknown("goal group", g, tuple(GROUPS))
        for option, value, least, most in (("--goal-rounds", args.goal_rounds, 3, MAX_ROUNDS),
                                           ("--goal-repeats", args.goal_repeats, 1, MAX_REPEATS),
                                           ("--threads", args.threads, 1, None), ("--warmup", args.warmup, 0, None)):
            if value < least:
                raise InvalidOptionError(f"{option} must be >= {least}, got {value}")
            if most is not None:
                check_range(value, option, least, most, why=" (each one times every candidate of every group)")
        check_threads(args.threads)
        runtimes = tuple(r for r in parse_runtimes(args.runtimes, KNOWN_RUNTIMES) if r in ("ort", "openvino"))
        if not runtimes:
            raise InvalidOptionError("--goals-only needs ort and/or openvino in --runtimes")
        check_output_dir(args.output, ("goals.json", "goals.md"))
        config = GoalConfig(threads=args.threads, rounds=args.goal_rounds, warmup=args.warmup, runtimes=runtimes,
                            channels=args.channels)
        meta = {**_meta(BenchConfig(threads=args.threads, channels=args.channels)), "rounds": args.goal_rounds,
                "repeats": args.goal_repeats}
        runs = []
        for i in range(args.goal_repeats):
            prefix = f"[run {i + 1}/{args.goal_repeats}] " if args.goal_repeats > 1 else ""
            runs.append(run_goals(config, args.goal_groups,
                                  log=lambda s, p=prefix: print(p + s, file=sys.stderr, flush=True)))
        rows = merge_runs(runs)
        out = Path(args.output)
        atomic_write_text(out / "goals.json", json.dumps({"meta": meta, "goals": rows}, indent=2) + "\n")
        atomic_write_text(out / "goals.md", _markdown(rows, meta))
        for line in format_goals(rows):
            print(line)
        print(f"reports: {out / 'goals.json'}, {out / 'goals.md'}")
        return 0

    return run_cli("bench", body, interrupted="no goal report written")
