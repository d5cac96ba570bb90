"""The engine check of a bundle: is model.engine the one built from this bundle, and does it pass verify?

    python -m edgeattn.tensorrt.check BUNDLE

1. Without TensorRT (runs anywhere): manifest.json lists model.engine under `device_files`, its SHA-256 matches,
   it was built from the model.onnx the manifest hashes (`built_from`), its header's plan hash and precision agree,
   and every reference case of the bundle fits the engine's optimisation profile (from trt_recipe.json).
2. Then what `python -m edgeattn.verify BUNDLE --runtimes tensorrt` does (`verify_bundle`): integrity of every file,
   and parity of the engine on the bundle's reference inputs under the tolerance stored at export time (needs
   TensorRT and a GPU).

Exit statuses as every edgeattn CLI (edgeattn/errors.py): 0 passed, 1 parity failed, 2 bad input or integrity,
3 NOT VERIFIED (TensorRT or the GPU missing), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..bundle import MANIFEST, sha256_file
from ..cli import ArgumentParser, run_cli
from ..errors import IntegrityError, InvalidOptionError
from .build import check_shipped_files
from .engine_file import read_engine
from .recipe import ENGINE_NAME, RECIPE_NAME, TrtRecipe, format_profile, profile_shapes, read_recipe

__all__ = ["cases_outside_profile", "check_engine_files", "main"]


def cases_outside_profile(recipe: TrtRecipe, cases: list[dict]) -> list[str]:
    """Names of the manifest's reference cases ({name, batch, size: [H, W]}) the engine's profile cannot take."""
    shapes = profile_shapes(recipe)
    out = []
    for case in cases:
        batch, (h, w) = int(case.get("batch", 1)), case["size"]
        for p in shapes.values():
            dims = (batch, p.opt[1], int(h), int(w))
            if not all(lo <= d <= hi for lo, d, hi in zip(p.min, dims, p.max)):
                out.append(str(case.get("name", f"{batch}x{h}x{w}")))
                break
    return out


def check_engine_files(bundle: Path, engine_name: str = ENGINE_NAME) -> dict:
    """Step 1 above; returns the engine header. Raises IntegrityError / InvalidOptionError (exit 2)."""
    bundle = Path(bundle)
    manifest = check_shipped_files(bundle)
    if RECIPE_NAME not in manifest["files"]:
        raise IntegrityError(f"{bundle} ships no {RECIPE_NAME}: export it with --target trt")
    recipe = read_recipe(bundle)
    engine = bundle / engine_name
    if not engine.is_file():
        raise InvalidOptionError(f"{engine} does not exist: build it on the device first "
                                 f"(python -m edgeattn.tensorrt.build {bundle})")
    if engine_name in manifest["files"]:  # built at export time (TensorRT was there): shipped, hash checked above
        header = read_engine(engine).metadata
        _check_precision_and_profile(bundle, engine, header, recipe, manifest)
        return header
    entry = (manifest.get("device_files") or {}).get(engine_name)
    if not isinstance(entry, dict):
        raise IntegrityError(f"{engine} is not recorded under device_files in {bundle / MANIFEST}: build it with "
                             f"python -m edgeattn.tensorrt.build {bundle} (build_engine.sh alone does not record it)")
    if sha256_file(engine) != entry.get("sha256"):
        raise IntegrityError(f"{engine} differs from the SHA-256 recorded under device_files: rebuild it")
    onnx_sha = manifest["files"]["model.onnx"]["sha256"]
    if entry.get("built_from") != onnx_sha:
        raise IntegrityError(f"{engine} was built from another model.onnx (sha256 {str(entry.get('built_from'))[:12]}"
                             f"..., this bundle's is {onnx_sha[:12]}...): rebuild it")
    header = read_engine(engine).metadata  # checks the plan's own hash when the file has edgeattn's header
    _check_precision_and_profile(bundle, engine, header, recipe, manifest)
    return header


def _check_precision_and_profile(bundle: Path, engine: Path, header: dict, recipe: TrtRecipe, manifest: dict) -> None:
    if header.get("precision") and header["precision"] != recipe.precision:
        raise IntegrityError(f"{engine} was built for {header['precision']}, the bundle is {recipe.precision}: "
                             "rebuild it")
    cases = (manifest.get("reference") or {}).get("cases") or []
    outside = cases_outside_profile(recipe, cases)
    if outside:
        raise InvalidOptionError(f"reference cases {', '.join(outside)} lie outside the engine's profile "
                                 f"({format_profile(profile_shapes(recipe))}); export with --dynamic and a "
                                 "--max-size that covers every --parity-size")


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser("tensorrt.check",
                       description="Check a bundle's model.engine: recorded and built from this bundle's model.onnx, "
                       "then verified on TensorRT against the bundle's reference "
                       "(python -m edgeattn.verify BUNDLE --runtimes tensorrt).")
    p.add_argument("bundle", type=Path, help="bundle folder with model.engine (built on this device)")
    p.add_argument("--no-verify", action="store_true", help="only step 1 (no TensorRT needed); the Jetson entrypoint "
                   "then runs python -m edgeattn.verify BUNDLE --runtimes tensorrt itself")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        try:
            header = check_engine_files(args.bundle)
        except (json.JSONDecodeError, KeyError, TypeError) as exc:  # a manifest edited by hand
            raise IntegrityError(f"{args.bundle / MANIFEST} is malformed (bad or missing entry: {exc}); export the "
                                 "bundle again") from None
        print(f"{args.bundle / ENGINE_NAME}: recorded, built from this bundle's model.onnx"
              + (f" (TensorRT {header['tensorrt']}, {header.get('device') or '?'})" if header.get("tensorrt") else ""))
        if args.no_verify:
            return 0
        from ..verify import verify_bundle
        from ..verify.compare import format_table

        result = verify_bundle(args.bundle, runtimes=["tensorrt"], progress=lambda m: print(m, file=sys.stderr))
        print(format_table(result.rows, title=f"verify {args.bundle} on tensorrt vs the bundled PyTorch outputs"))
        print(result.label)
        return result.exit_code

    return run_cli("tensorrt.check", body, interrupted="nothing was checked")


if __name__ == "__main__":
    sys.exit(main())
