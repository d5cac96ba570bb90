"""python -m edgeattn.verify BUNDLE: integrity, then parity of the shipped files (numpy + a runtime, no torch)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..cli import ArgumentParser, parse_runtimes, run_cli, threads_arg
from ..errors import EXIT_OK, InvalidOptionError

EPILOG = """checks, in order (docs/trust.md):
  1. manifest.json: strict JSON, valid against docs/manifest.schema.json (else exit 2, naming the field)
  2. with --trust KEY.pub: the signature bundle.sig is by that key and covers every file, manifest.json included
     (missing, another key, a file added, removed or changed: exit 2)
  3. every file's SHA-256 and size against manifest.json (one changed byte: exit 2, naming the file)
  4. the reference cases (readable, complete, float32, finite)
  5. the bar: the installed tolerance table's, or the bundle's where stricter, never looser; every file a model
     loads (ONNX external data, an IR's .bin) must be hashed (else exit 2)
  6. each runtime loads the SHIPPED artefact (model.onnx; model.xml+bin; model.engine) as a private copy of the
     bytes hashed (made in TMPDIR while hashing, removed afterwards), runs every case and is compared with the
     bundled PyTorch outputs
  without --trust the report says "integrity-checked, not authenticated"

examples:
  python -m edgeattn.verify artifacts/lga_mobilenet
  python -m edgeattn.verify artifacts/lga_mobilenet --runtimes ort,openvino --threads 2 --json verify.json
  python -m edgeattn.verify artifacts/lga_mobilenet --trust signing.pub
  python -m edgeattn.verify artifacts/lga_mobilenet --runtimes ort,openvino --html report.html
"""


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser("verify", epilog=EPILOG,
                       description="Verify an edgeattn bundle: integrity of every file, then parity of the "
                                "shipped model files against the bundled reference outputs.")
    p.add_argument("bundle", type=Path, help="bundle folder (with manifest.json), as python -m edgeattn.export wrote")
    p.add_argument("--runtimes", help="comma-separated: ort, openvino, tensorrt, reference (aliases: onnxruntime, ov, "
                   "trt; default: the bundle's own, e.g. tensorrt for a trt bundle)")
    p.add_argument("--threads", type=threads_arg(), help="threads for the runtimes (default: each one's own)")
    p.add_argument("--trust", type=Path, metavar="KEY.pub", help="public key (PEM, ECDSA) the bundle must be signed "
                   "with (export --sign-key); refuses an unsigned bundle, another key, or any file added, removed "
                   "or changed after signing (needs the extra edgeattn[sign])")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the result as JSON")
    p.add_argument("--html", type=Path, metavar="FILE", help="also write one self-contained HTML page: the table, "
                   "and per runtime and case a heat map of |runtime - reference| and a histogram of the errors "
                   "against the bar (no network needed to view it)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--polygraphy", action="store_true", help="print the `polygraphy run` command for each reference "
                   "case (run inside the bundle; it checks model.onnx with Polygraphy's ONNX Runtime runner) and exit")
    return p


def _not_a_bundle(folder: Path) -> None:
    """A folder without manifest.json that holds bundles (export's --output DIR): name them instead of only
    refusing. Nothing else is verified in the user's place (exit 2, one line)."""
    from ..bundle.layout import MANIFEST

    if not folder.is_dir() or (folder / MANIFEST).exists():
        return
    found = sorted(p.parent for p in folder.glob(f"*/{MANIFEST}") if not p.parent.name.endswith(".failed"))
    if len(found) == 1:
        raise InvalidOptionError(f"{str(folder)!r} is not a bundle but holds one, {str(found[0])!r}: run "
                                 f"python -m edgeattn.verify {found[0]}")
    if found:
        raise InvalidOptionError(f"{str(folder)!r} is not a bundle but holds {len(found)}: "
                                 f"{', '.join(str(f) for f in found)}; pass one of them")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        from .._atomic import atomic_write_text, check_output_file
        from .bundle import _stderr, verify_bundle
        from .compare import format_table

        if args.json is not None:  # before any work: a new or regular file (never a link, folder or FIFO)
            check_output_file(args.json, "--json", "pass --json with a new or regular file in a writable folder")
        if args.polygraphy:
            from .polygraphy import polygraphy_commands

            print("\n".join(polygraphy_commands(args.bundle)))
            return EXIT_OK
        _not_a_bundle(args.bundle)
        runtimes = (list(parse_runtimes(args.runtimes, ("ort", "openvino", "tensorrt", "reference", "torch")))
                    if args.runtimes is not None else None)
        maps = None
        if args.html is not None:
            from .html import ErrorMaps

            check_output_file(args.html, "--html", "pass --html with a new or regular file in a writable folder")
            maps = ErrorMaps()
        result = verify_bundle(args.bundle, runtimes=runtimes, threads=args.threads,
                               progress=None if args.quiet else _stderr, trust=args.trust, observe=maps)
        print(format_table(result.rows, title=f"verify {args.bundle} ({result.model}, target {result.target}, "
                                              f"precision {result.precision}) vs the bundled PyTorch outputs"))
        if result.integrity.unlisted:
            print(f"files not in the manifest (not used): {', '.join(result.integrity.unlisted)}")
        print(result.authenticity)
        print(result.label)
        if maps is not None:
            from .html import write_html

            print(f"report: {write_html(result, maps, args.html)}")
        if args.json is not None:
            atomic_write_text(args.json, json.dumps(result.to_dict(), indent=2, sort_keys=True, default=str) + "\n")
        return result.exit_code

    return run_cli("verify", body, interrupted="nothing was verified")


if __name__ == "__main__":
    sys.exit(main())
