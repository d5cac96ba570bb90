"""python -m edgeattn.export: export a registered model for a deployment target and prove parity."""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

from ..cli import ArgumentParser, choice_arg, run_cli, threads_arg
from ..errors import EXIT_FAILED, EXIT_NOT_VERIFIED, EXIT_OK
from .config import PRECISIONS, SIZE_HELP, ExportConfig, size_arg
from .next_steps import next_commands
from .onnx import EXPORTERS
from .simplify import SIMPLIFIERS
from .targets import TARGETS

EPILOG = """targets:
{targets}

examples:
  python -m edgeattn.export --model lga_mobilenet --target openvino --runtimes ort,openvino
  python -m edgeattn.export --model lga_mobilenet --pretrained --target ort
  python -m edgeattn.export --model lga_mobilenet --target ort --input-size 256x512 --dynamic --parity-size 200x328
  python -m edgeattn.export --model lga_mobilenet --target trt --precision fp16
  python -m edgeattn.export --model lga_mobilenet --target trt --dynamic --min-size 128x128 --max-size 512x1024
  python -m edgeattn.export --model my_pkg.nets:build_ccnet --checkpoint ccnet.pth --input-size 512x1024 --target trt
  python -m edgeattn.export --model path/to/nets.py:build_ccnet --input-size 257x513 --target openvino
  python -m edgeattn.export --model lga_mobilenet --pretrained --target ort --precision int8
  python -m edgeattn.export --model lga_mobilenet --target openvino --precision int8 --keep-float auto
  python -m edgeattn.export --model lga_mobilenet --pretrained --target trt --device jetson-orin-jp6
  python -m edgeattn.export --list-models
  python -m edgeattn.export --list-devices

the bundle: DIR/<model>/ holds the model files, manifest.json (SHA-256 of every file, the weights' hash, the
tolerances) and reference/ inputs and outputs computed from the exported weights (docs/bundle-format.md). After
writing it, the CLI verifies the staged bundle exactly as `python -m edgeattn.verify DIR/<model>` would.

what the statuses mean for export: 0 published and PASSED (or --no-parity: reference written, not checked);
1 FAILED: the new bundle is kept apart in DIR/<model>.failed/ and a previous DIR/<model>/ is untouched (also a
lower precision over its --max-drop bound); 1 also for a user model whose conversion does not reproduce the
original (the message names the module; nothing is written); 2: nothing is published; 3: published, but a
requested runtime could not run here.
"""



def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be in 0..{2**32 - 1} (numpy and torch seeds), got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    targets = "\n".join(f"  {t.name:<9} {t.description}\n            needs: {t.needs}" for t in TARGETS.values())
    p = ArgumentParser(
        "export",
        description="Export an edgeattn model (export path: standard ONNX ops) for a deployment target, audit its "
        "ops for that target, and check the deployed artefact against PyTorch on deterministic inputs.",
        epilog=EPILOG.format(targets=targets),
    )
    p.add_argument("--model", help="registered model name (see --list-models), or your own model as "
                   "pkg.module:factory or path/to/file.py:factory (converted automatically; needs --input-size)")
    p.add_argument("--name", help="user models: the bundle's name (its folder under --output and the name in "
                   "manifest.json; default: the factory function's name)")
    p.add_argument("--input-name", default="image", help="user models: name of the one image input (default: image)")
    p.add_argument("--input-channels", type=int, default=3, help="user models: channels of that input (default: 3)")
    p.add_argument("--target", default="onnx", type=choice_arg("target", TARGETS),
                   help=f"one of {', '.join(TARGETS)} (default: onnx)")
    p.add_argument("--input-size", type=size_arg, metavar="HxW",
                   help=f"export input size, {SIZE_HELP} (default: the model's)")
    p.add_argument("--batch", type=int, default=1, help="batch size of the export and parity inputs (default: 1)")
    p.add_argument("--dynamic", action="store_true", help="make batch, height and width symbolic in the graph")
    p.add_argument("--opset", type=int, help="ONNX opset (default: 17 with the torchscript exporter, 18 with dynamo, "
                   "which writes >= 18 only; TensorRT 10.3 accepts <= 20)")
    p.add_argument("--precision", default="fp32", type=choice_arg("precision", PRECISIONS),
                   help=f"one of {', '.join(PRECISIONS)} (default: fp32). int8: "
                   "ort (Q/DQ), openvino (NNCF), trt (Q/DQ ONNX); fp16: trt (float16 ONNX with float32 islands), "
                   "openvino (what executes is read back: bf16 on CPUs without fp16); bf16, fp16-weights (fp16 "
                   "weights, f32 compute): openvino. See docs/precision.md")
    p.add_argument("--simplify", default="onnxslim", type=choice_arg("simplifier", SIMPLIFIERS),
                   help=f"one of {', '.join(SIMPLIFIERS)} (default: onnxslim)")
    p.add_argument("--exporter", default="torchscript", type=choice_arg("exporter", EXPORTERS),
                   help=f"torch.onnx exporter, one of {', '.join(EXPORTERS)} "
                   "(default: torchscript; docs/cli.md says why)")
    p.add_argument("--output", type=Path, default=Path("artifacts"), metavar="DIR",
                   help="artefacts go to DIR/<model>/ (default: artifacts)")
    p.add_argument("--checkpoint", type=Path, metavar="FILE",
                   help="state dict to load (.pt/.pth via torch.load(weights_only=True), or .safetensors); "
                   "default: seeded random initialisation")
    p.add_argument("--pretrained", action="store_true", help="load the model's shipped trained weights "
                   "(edgeattn/models/weights/; docs/trained-weights.md) instead of random initialisation")
    p.add_argument("--runtimes", help="comma-separated runtimes that verify the staged bundle (ort, openvino, "
                   "reference, tensorrt); default: the target's own runtime (ort for trt: the engine is built on "
                   "the device)")
    p.add_argument("--parity-size", type=size_arg, action="append", default=[], metavar="HxW", dest="parity_sizes",
                   help="also check parity at this size (repeatable; needs --dynamic)")
    p.add_argument("--no-parity", action="store_true", help="skip verifying the bundle (the reference is still "
                   "written; verify it later with python -m edgeattn.verify)")
    p.add_argument("--sign-key", type=Path, metavar="KEY.pem", help="sign the bundle with this ECDSA private key "
                   "(PEM; OpenSSF model-signing, offline): bundle.sig covers every file, manifest.json included; "
                   "devices check it with python -m edgeattn.verify BUNDLE --trust KEY.pub (needs edgeattn[sign])")
    p.add_argument("--threads", type=threads_arg(), help="threads for PyTorch and the runtimes during parity")
    p.add_argument("--seed", type=_seed, default=0, help="seed of the random init and of the parity inputs")
    p.add_argument("--custom-ops", action="store_true", help="export criss-cross and PatchMatch attention as one "
                   "edgeattn-domain node each (runs on ort with onnxruntime-extensions, openvino, reference; "
                   "trt only with a --trt-plugin implementing it); fp32, and on openvino also fp16/bf16/"
                   "fp16-weights; not with --precision int8)")
    trt = p.add_argument_group("TensorRT (--target trt; written into trt_recipe.json and build_engine.sh)")
    trt.add_argument("--workspace", type=int, default=1024, metavar="MIB", dest="workspace_mib",
                     help="builder workspace memory pool limit in MiB (default: 1024)")
    trt.add_argument("--dla-core", type=int, metavar="N", help="build for Jetson DLA core N (needs --precision fp16 "
                     "or int8 and a static graph); unsupported layers fall back to the GPU")
    trt.add_argument("--min-size", type=size_arg, metavar="HxW", help="dynamic profile minimum (needs --dynamic; "
                     "default: the model's minimum input)")
    trt.add_argument("--max-size", type=size_arg, metavar="HxW", help="dynamic profile maximum (needs --dynamic; "
                     "default: twice --input-size)")
    trt.add_argument("--max-batch", type=int, metavar="N", help="dynamic profile maximum batch (default: --batch)")
    trt.add_argument("--trt-plugin", action="append", default=[], metavar="LIB", dest="trt_plugins",
                     help="TensorRT plugin library for custom ops (repeatable; copied into the bundle, hashed there)")
    prec = p.add_argument_group("lower precisions (--precision int8; the accuracy flags also for trt fp16)")
    prec.add_argument("--keep-float", default="auto", metavar="auto|none|NAMES",
                      help="what stays in float: auto (attention-sensitive ops + blocks the sensitivity measurement "
                      "flags), none (quantize everything), or comma-separated block names, node names or op types")
    prec.add_argument("--calibration", default="auto", help="auto (measure minmax, entropy, percentile on the task "
                      "metric and keep the best), minmax, entropy or percentile (default: auto)")
    prec.add_argument("--calib-samples", type=int, default=8, metavar="N", help="calibration samples (default: 8)")
    prec.add_argument("--eval-samples", type=int, default=8, metavar="N",
                      help="held-out (and selection) samples for the task metric (default: 8)")
    prec.add_argument("--max-drop", type=float, metavar="X", help="largest task-metric drop accepted against fp32 "
                      "(default per task: mIoU 0.02, PSNR 0.5 dB, EPE +0.25 px); over it: exit 1, bundle kept apart")
    prec.add_argument("--int8-weights", default="per-channel",
                      type=choice_arg("int8 weight scheme", ("per-channel", "per-tensor")),
                      help="int8 weight scales (default per-channel; per-tensor breaks depthwise convs, to compare)")
    p.add_argument("--device", metavar="PROFILE", help="shape the export for a device profile (see --list-devices): "
                   "the ONNX IR version and opset its ONNX Runtime loads (refused, exit 2, where it cannot), the "
                   "TensorRT audit and build of its TensorRT version; the manifest names the profile")
    p.add_argument("--list-models", action="store_true", help="list registered models and exit")
    p.add_argument("--list-devices", action="store_true", help="list device profiles with their sources and exit")
    p.add_argument("--list-targets", action="store_true", help="list targets and exit")
    return p


def _list_models() -> str:
    from ..models import get_model_spec, list_models

    rows = [("model", "task", "default input", "attention", "description")]
    for name in list_models():
        s = get_model_spec(name)
        rows.append((name, s.task, f"{s.default_size[0]}x{s.default_size[1]}", s.attention or "-", s.description))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4] for r in rows)


def report_path(bundle: Path) -> Path:
    """Where export writes the HTML verification report: beside the bundle (DIR/<model>-report/verify.html), not
    inside it, so the bundle holds only the files its manifest hashes."""
    return bundle.with_name(bundle.name + "-report") / "verify.html"


def _report(result, config) -> str:  # noqa: ANN001 - ExportResult, ExportConfig
    """What was written and what to run next, printed after the verdict."""
    folder = result.folder
    files = sorted(result.manifest.get("files", {}))
    models = [f for f in files if not f.startswith("reference/")]
    refs = len([f for f in files if f.startswith("reference/")])
    lines = [f"bundle: {folder}", f"  model files: {', '.join(models)}",
             f"  reference: {refs} files under reference/ (inputs and PyTorch outputs from the exported weights)",
             "  manifest.json: SHA-256 of every file, the weights' hash, the tolerances, the verdict"]
    if config.sign_key is not None:
        lines.append(f"  bundle.sig: signature of every file by {config.sign_key} (check: verify --trust KEY.pub)")
    lines.append("next:")
    notes = {"on the Jetson": "   # or ./build_engine.sh there, then tensorrt.build --record-trtexec",
             "on the device": "   # numpy + the runtime, no PyTorch"}
    for label, command in next_commands(folder, result.manifest, config):
        lines.append(f"  {label + ':':<14} {command}{notes.get(label, '')}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list_models:
        print(_list_models())
        return 0
    if args.list_devices:
        from ..devices import format_table

        print(format_table())
        return 0
    if args.list_targets:
        print("\n".join(f"{t.name:<9} {t.description} (needs: {t.needs})" for t in TARGETS.values()))
        return 0
    if not args.model:
        parser.error("--model is required (see --list-models)")

    def body() -> int:
        config = ExportConfig(
            model=args.model, target=args.target, input_size=args.input_size, batch=args.batch, dynamic=args.dynamic,
            opset=args.opset, precision=args.precision, simplify=args.simplify, output=args.output,
            checkpoint=args.checkpoint, pretrained=args.pretrained, parity=not args.no_parity,
            input_name=args.input_name, input_channels=args.input_channels, name=args.name,
            runtimes=tuple(r.strip() for r in args.runtimes.split(",")) if args.runtimes is not None else None,
            parity_sizes=tuple(args.parity_sizes), threads=args.threads, exporter=args.exporter, seed=args.seed,
            custom_ops=args.custom_ops, device=args.device, sign_key=args.sign_key,
            workspace_mib=args.workspace_mib, dla_core=args.dla_core, min_size=args.min_size, max_size=args.max_size,
            max_batch=args.max_batch, trt_plugins=tuple(args.trt_plugins),
            keep_float=args.keep_float, calibration=args.calibration, calib_samples=args.calib_samples,
            eval_samples=args.eval_samples, max_drop=args.max_drop, int8_weights=args.int8_weights,
        )
        from ..verify import format_table, verify_bundle
        from ..verify.html import ErrorMaps, write_html
        from .pipeline import export

        maps = ErrorMaps()  # the verifier's error maps, for the HTML report
        result = export(config, verifier=functools.partial(verify_bundle, observe=maps))
        print(result.audit.summary())
        if config.target == "trt" and (result.folder / "model.engine").exists():
            print(f"TensorRT engine: {result.folder / 'model.engine'}")
        elif config.target == "trt":
            print("TensorRT engine: not built here (no TensorRT/GPU); engines are device-specific, so build it on "
                  "the device (see next)")
        if result.verification is not None:
            print(format_table(result.parity, title=f"verify {result.folder} vs its reference (PyTorch fp32 from the "
                                                     f"exported weights): {config.model} -> {config.target}"))
            print(result.verification.label)
            page = write_html(result.verification, maps, report_path(result.folder),
                              title=f"verify {result.folder}: {config.model} -> {config.target}")
            print(f"report: {page}   (open it in a browser: heat maps and histograms of the errors)")
        else:
            print("NOT CHECKED (--no-parity): the reference is in the bundle; verify it with python -m edgeattn.verify")
        print(_report(result, config))
        return {"passed": EXIT_OK, "failed": EXIT_FAILED, "not_verified": EXIT_NOT_VERIFIED}.get(result.verdict,
                                                                                                  EXIT_OK)

    return run_cli("export", body, interrupted="nothing was published")


if __name__ == "__main__":
    sys.exit(main())
