"""python -m edgeattn.parity: cross-runtime parity of every model against PyTorch, as a readable report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._atomic import check_writable_dir
from ..cli import ArgumentParser, parse_runtimes, run_cli
from ..errors import InvalidOptionError
from ..export.config import sizes_arg

EPILOG = """runtimes:
  torch     PyTorch fp32 on this host: the reference row. Without --load-reference it is what the other
            rows are compared against and reports only its fp32 floor (status REFERENCE); with
            --load-reference it is compared with the saved PyTorch outputs like any runtime.
  ort       ONNX Runtime, CPU execution provider (fp32 only)
  openvino  OpenVINO CPU plugin, INFERENCE_PRECISION_HINT = --precision (bf16 is its default on AVX512-BF16 CPUs)
  tensorrt  (alias trt) reported unavailable where TensorRT and a GPU are absent
  reference onnx.reference.ReferenceEvaluator (slow, vendor-free)

examples:
  python -m edgeattn.parity --model all --runtimes torch,ort,openvino
  python -m edgeattn.parity --model all --scale 0.25                 # each default size / 4 per side: fast
  python -m edgeattn.parity --model lga_mobilenet --sizes 256x512,512x1024 --precision bf16 --runtimes openvino
  python -m edgeattn.parity --model lga_mobilenet --save-reference ref.npz      # on the PyTorch host
  python -m edgeattn.parity --load-reference ref.npz --runtimes ort,openvino    # on the target host

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
    p.add_argument("--sizes", type=sizes_arg, default=(), metavar="HxW[,HxW]", help="input sizes (default: each "
                   "model's default size, scaled by --scale)")
    p.add_argument("--scale", type=float, default=1.0, help="without --sizes: default size x SCALE per side, rounded "
                   "to a multiple of 32 (e.g. 0.25 for a quick run; default 1)")
    p.add_argument("--precision", default="fp32", help="fp32 | fp16 | bf16 | int8 (runtimes that cannot compute "
                   "in it are reported unavailable; default fp32)")
    p.add_argument("--threads", type=int, help="threads for PyTorch and every runtime (default: each one's own)")
    p.add_argument("--batch", type=int, help="batch size of the inputs (default 1)")
    p.add_argument("--seed", type=int, help="seed of the model init and inputs (default 0)")
    p.add_argument("--output", type=Path, default=Path("parity-report"), metavar="DIR",
                   help="where report.json and report.md go (default: parity-report)")
    p.add_argument("--save-reference", type=Path, metavar="FILE.npz", help="save inputs + PyTorch outputs")
    p.add_argument("--load-reference", type=Path, metavar="FILE.npz", help="compare against saved PyTorch outputs")
    p.add_argument("--no-localise", action="store_true", help="do not localise failures (saves one run per failure)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        from .report import format_text, write_reports
        from .runner import ParityConfig, run

        models = tuple(m.strip() for m in args.model.split(",") if m.strip())
        if "all" in models and len(models) > 1:
            raise InvalidOptionError("--model all cannot be combined with model names")
        runtimes = parse_runtimes(args.runtimes, ("torch", "ort", "openvino", "tensorrt", "reference"))
        config = ParityConfig(models=models, runtimes=runtimes, sizes=args.sizes, scale=args.scale,
                              precision=args.precision, threads=args.threads, batch=args.batch, seed=args.seed,
                              output=args.output, save_reference=args.save_reference,
                              load_reference=args.load_reference, localise=not args.no_localise, opset=args.opset)
        check_writable_dir(args.output)
        plan, rows = run(config)
        json_path, md_path = write_reports(rows, config, plan, args.output)
        print(format_text(rows))
        failed = any(r.comparison.status == "failed" for r in rows)
        print("PARITY FAILED" if failed else "PARITY PASSED")
        print(f"reports: {json_path}, {md_path}")
        return 1 if failed else 0

    return run_cli("parity", body, interrupted="no report written")


if __name__ == "__main__":
    sys.exit(main())
