"""python -m edgeattn.serve export|check: server repositories from a bundle, and the round trip through a server."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..cli import MAX_SERVER_THREADS, ArgumentParser, choice_arg, run_cli, threads_arg

EPILOG = """commands:
  export BUNDLE --server triton|ovms --output REPO
      check the bundle's integrity, then write the server's repository (atomically):
        triton: REPO/<model>/config.pbtxt + REPO/<model>/1/model.onnx | model.xml+bin | model.plan (+ model.py)
        ovms:   REPO/config.json + REPO/models/<model>/1/model.xml+bin | model.onnx
      config.pbtxt is checked against Triton's ModelConfig schema (tritonclient's model_config_pb2).
  check URL BUNDLE [--protocol http|grpc]
      send the bundle's reference inputs to a running KServe v2 server (Triton or OpenVINO Model Server) and
      compare the answers with the bundle's reference outputs under the bundle's stored tolerance.

verdicts (as python -m edgeattn.verify): check PASSED (0) when every answer is within the stored tolerance, FAILED (1)
when one is not or the server answered an error, NOT VERIFIED (3) when no server answered or the model is not
ready; bad input (2) also covers an integrity failure, a config Triton would reject and a mismatched bundle/repository.

examples:
  python -m edgeattn.serve export artifacts/lga_mobilenet --server triton --output model_repository
  python -m edgeattn.serve export artifacts/lga_mobilenet --server triton --backend python --output repo
  python -m edgeattn.serve export artifacts/lga_mobilenet --server ovms --output ovms_repo
  python -m edgeattn.serve check 127.0.0.1:8000 artifacts/lga_mobilenet
  python -m edgeattn.serve check 127.0.0.1:8001 artifacts/lga_mobilenet --protocol grpc --concurrency 8
"""


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser("serve", epilog=EPILOG,
                       description="Serve an edgeattn bundle behind Triton or OpenVINO Model Server.")
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export", help="write a Triton / OVMS model repository from a bundle")
    e.add_argument("bundle", type=Path, help="bundle folder (with manifest.json)")
    e.add_argument("--server", required=True, type=choice_arg("server", ("triton", "ovms")), help="triton or ovms")
    e.add_argument("--output", type=Path, required=True, metavar="REPO", help="repository folder (created)")
    e.add_argument("--model-name", help="name in the repository (default: the bundle's model; for a user model, "
                   "its bundle folder's name, as export --name set it)")
    e.add_argument("--backend", help="Triton backend: onnxruntime, openvino, tensorrt, python (default: the one that "
                                     "verifies: onnx/ort -> onnxruntime, trt -> tensorrt, openvino -> openvino, "
                                     "except fp32 bundles also verified on ort -> onnxruntime, as Triton's openvino "
                                     "backend cannot request f32; the choice and why are printed)")
    e.add_argument("--max-batch-size", type=int,
                   help="default: the bundle's largest batch (8 if unbounded; 0 for a static batch); 0 turns "
                        "Triton's batching off (the batch axis stays in dims)")
    e.add_argument("--queue-delay-us", type=int, default=2000, help="dynamic batching queue delay (default 2000)")
    e.add_argument("--instances", type=int, default=1, help="Triton instance_group count / OVMS nireq (default 1)")
    e.add_argument("--threads", type=threads_arg(allow_zero=True, limit=MAX_SERVER_THREADS), default=0,
                   help="intra-op threads per instance (default: the runtime's)")
    e.add_argument("--streams", type=int, default=1, help="OpenVINO streams (default 1)")
    e.add_argument("--version", type=int, default=1, help="model version folder (default 1)")
    c = sub.add_parser("check", help="round trip of the bundle's reference inputs through a running server")
    c.add_argument("url", help="host:port of the server's HTTP (default 8000) or gRPC (8001) endpoint")
    c.add_argument("bundle", type=Path, help="bundle folder the served model was exported from")
    c.add_argument("--protocol", type=choice_arg("protocol", ("http", "grpc")), default="http", help="http or grpc")
    c.add_argument("--model-name", help="served model name (default: the bundle's model)")
    c.add_argument("--model-version", default="", help="served version (default: the server's choice)")
    c.add_argument("--runtime", help="tolerance to judge with: ort, openvino, tensorrt (default: from the server)")
    c.add_argument("--concurrency", type=int, default=1, help="requests in flight per case (1..64, default 1)")
    c.add_argument("--timeout", type=float, default=60.0, help="seconds per request (default 60)")
    c.add_argument("--json", type=Path, metavar="FILE", help="also write the result as JSON (verify's form)")
    return p


def _export(args: argparse.Namespace) -> int:
    from .options import RepositoryOptions
    from .repository import export_repository

    opts = RepositoryOptions(bundle=args.bundle, output=args.output, server=args.server, model_name=args.model_name,
                             backend=args.backend, max_batch_size=args.max_batch_size,
                             queue_delay_us=args.queue_delay_us, instances=args.instances, threads=args.threads,
                             streams=args.streams, version=args.version)
    written = export_repository(opts, say=lambda line: print(
        line, file=sys.stderr if line.startswith("warning:") else sys.stdout, flush=True))
    print(f"wrote {written}")
    if args.server == "ovms":  # a CPU extension (compiled custom ops) is a server-wide command-line option
        from .ovms import ovms_server_args
        from .source import open_bundle
        from .triton import model_name_for

        bundle = open_bundle(args.bundle)
        extra = ovms_server_args(written, model_name_for(bundle, opts), bundle, opts.version)
        if extra:
            print(f"start OVMS with: --config_path {written.resolve() / 'config.json'} {' '.join(extra)}")
    return 0


def _check(args: argparse.Namespace) -> int:
    import json

    from .._atomic import atomic_write_text, check_output_file
    from ..verify import format_table
    from .check import CheckOptions, check_server

    if args.json is not None:  # before any work: a new or regular file (never a link, folder or FIFO)
        check_output_file(args.json, "--json", "pass --json with a new or regular file in a writable folder")

    opts = CheckOptions(url=args.url, bundle=args.bundle, protocol=args.protocol, model_name=args.model_name,
                        version=args.model_version, runtime=args.runtime, concurrency=args.concurrency,
                        timeout_s=args.timeout)
    result = check_server(opts, progress=lambda m: print(m, file=sys.stderr, flush=True))
    print(format_table(result.rows, title=f"serve check {args.url} {args.bundle} ({result.model}, precision "
                                          f"{result.precision}) vs the bundled PyTorch outputs"))
    print(result.label)
    if args.json is not None:
        atomic_write_text(args.json, json.dumps(result.to_dict(), indent=2, sort_keys=True, default=str) + "\n")
    return result.exit_code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_cli("serve", lambda: _export(args) if args.command == "export" else _check(args),
                   interrupted="nothing was published")


if __name__ == "__main__":
    sys.exit(main())
