"""python -m edgeattn.parity: cross-runtime parity of every model against PyTorch, as a readable report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._atomic import check_output_dir
from ..bundle.tolerances import PRECISIONS
from ..cli import ArgumentParser, choice_arg, parse_runtimes, run_cli, threads_arg
from ..errors import EXIT_FAILED, EXIT_NOT_VERIFIED, EXIT_OK, InvalidOptionError
from ..export.config import sizes_arg

EPILOG = """runtimes:
  torch     PyTorch fp32 on this host: the reference row, what the other rows are compared against; it
            reports only its fp32 floor (status REFERENCE). Alone it compares nothing and is refused.
  ort       ONNX Runtime, CPU execution provider (fp32 only)
  openvino  OpenVINO CPU plugin, INFERENCE_PRECISION_HINT = --precision (bf16 is its default on AVX512-BF16 CPUs)
  tensorrt  (alias trt) reported unavailable where TensorRT and a GPU are absent
  reference onnx.reference.ReferenceEvaluator (slow, vendor-free)

examples:
  python -m edgeattn.parity --model all --runtimes torch,ort,openvino
  python -m edgeattn.parity --model all --scale 0.25                 # each default size / 4 per side: fast
  python -m edgeattn.parity --model lga_mobilenet --sizes 256x512,512x1024 --precision bf16 --runtimes openvino

checking on another host: export a bundle (python -m edgeattn.export) and run python -m edgeattn.verify BUNDLE
there; it judges the shipped files against references computed from the exported weights.
"""



def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        "parity",
        description="Export each model's ONNX graph (export path, static shapes, as `edgeattn.export` writes it), run "
        "it on each runtime and compare with PyTorch on deterministic inputs; localise failures to a module.",
        epilog=EPILOG)
    p.add_argument("--model", default="", help="a registered model, comma-separated models, or 'all' (default: all, "
                   "or the models in --load-reference)")
    p.add_argument("--runtimes", default="torch,ort,openvino", help="comma-separated (default: torch,ort,openvino)")
    p.add_argument("--sizes", type=sizes_arg, default=(), metavar="HxW[,HxW]",
                   help="input sizes, comma-separated; each HxW, "
                   "or N for NxN (default: each "
                   "model's default size, scaled by --scale)")
    p.add_argument("--scale", type=float, default=1.0, help="without --sizes: default size x SCALE per side, rounded "
                   "to a multiple of 32 (e.g. 0.25 for a quick run; default 1)")
    p.add_argument("--precision", default="fp32", type=choice_arg("precision", PRECISIONS),
                   help="fp32 | fp16 | bf16 | int8 (runtimes that cannot compute "
                   "in it are reported unavailable; default fp32)")
    p.add_argument("--threads", type=threads_arg(),
                   help="threads for PyTorch and every runtime (default: each one's own)")
    p.add_argument("--batch", type=int, help="batch size of the inputs (default 1)")
    p.add_argument("--seed", type=int, help="seed of the model init and inputs (default 0)")
    p.add_argument("--output", type=Path, default=Path("parity-report"), metavar="DIR",
                   help="where report.json and report.md go (default: parity-report)")
    # Removed: --load-reference re-exported the model and judged files that were never shipped. Kept as flags
    # only to answer with what replaces them.
    p.add_argument("--save-reference", metavar="FILE.npz", help=argparse.SUPPRESS)
    p.add_argument("--load-reference", metavar="FILE.npz", help=argparse.SUPPRESS)
    p.add_argument("--no-localise", action="store_true", help="do not localise failures (saves one run per failure)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        from .report import format_text, write_reports
        from .runner import ParityConfig, run

        if args.save_reference or args.load_reference:
            raise InvalidOptionError("--save-reference/--load-reference were removed: export a bundle (python -m "
                                     "edgeattn.export --model M --output DIR), copy DIR/M to the other host and run "
                                     "python -m edgeattn.verify DIR/M there")
        models = tuple(m.strip() for m in args.model.split(",") if m.strip())
        if "all" in models and len(models) > 1:
            raise InvalidOptionError("--model all cannot be combined with model names")
        runtimes = parse_runtimes(args.runtimes, ("torch", "ort", "openvino", "tensorrt", "reference"))
        config = ParityConfig(models=models, runtimes=runtimes, sizes=args.sizes, scale=args.scale,
                              precision=args.precision, threads=args.threads, batch=args.batch, seed=args.seed,
                              output=args.output, localise=not args.no_localise, opset=args.opset)
        check_output_dir(args.output, ("report.json", "report.md"))
        plan, rows = run(config)
        json_path, md_path = write_reports(rows, config, plan, args.output)
        print(format_text(rows))
        statuses = {r.comparison.status for r in rows}
        if "failed" in statuses:
            print("PARITY FAILED")
            code = EXIT_FAILED
        elif "unavailable" in statuses:
            print("PARITY NOT VERIFIED (a requested runtime could not run here; nothing failed)")
            code = EXIT_NOT_VERIFIED
        else:
            print("PARITY PASSED")
            code = EXIT_OK
        print(f"reports: {json_path}, {md_path}")
        return code

    return run_cli("parity", body, interrupted="no report written")


if __name__ == "__main__":
    sys.exit(main())
