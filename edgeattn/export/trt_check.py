"""Check the engine an export folder holds against a saved PyTorch reference, on the device.

    python -m edgeattn.export.trt_check ARTEFACT_DIR --reference ref.npz

`python -m edgeattn.parity --load-reference` rebuilds and re-exports the model and builds its own engine; this
checks the very `model.engine` that `trt_build` (or build_engine.sh) wrote, on the reference cases whose model,
batch and size the engine accepts (its optimisation profile from trt_recipe.json), with the tolerance table's
`<precision>/tensorrt` entry. Exit status: 0 passed, 1 a case failed, 2 bad input or no usable case.

The case selection and reporting run here; loading the engine needs TensorRT + a GPU (UNVERIFIED until then).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import EdgeAttnError, InvalidOptionError
from .tensorrt import ENGINE_NAME, TrtRecipe, profile_shapes, read_recipe

__all__ = ["usable_cases", "check_engine", "main"]


def usable_cases(recipe: TrtRecipe, reference) -> list[str]:
    """The reference's sizes ("HxW") for the recipe's model that lie inside the engine's profile."""
    shapes = profile_shapes(recipe)
    out = []
    for (model, size), case in sorted(reference.cases.items()):
        if model != recipe.model or sorted(case.inputs) != sorted(recipe.input_names):
            continue
        if all(all(lo <= d <= hi for lo, d, hi in zip(shapes[n].min, case.inputs[n].shape, shapes[n].max))
               for n in recipe.input_names):
            out.append(size)
    return out


def check_engine(folder: Path, reference_path: Path, progress=print) -> int:
    from ..models import get_model_spec
    from ..verify import compare, format_table
    from ..parity.reference_io import load_reference
    from ..runtimes import RuntimeOptions, load_runtime

    recipe = read_recipe(folder)
    reference = load_reference(reference_path)
    sizes = usable_cases(recipe, reference)
    if not sizes:
        raise InvalidOptionError(
            f"{reference_path} has no case for {recipe.model} that fits the engine's profile "
            f"({profile_shapes(recipe)}); save the reference at the export size (--sizes {recipe.size[0]}x"
            f"{recipe.size[1]} --batch {recipe.batch})")
    task = get_model_spec(recipe.model).task
    rows = []
    with load_runtime("tensorrt", Path(folder) / ENGINE_NAME, RuntimeOptions(precision=recipe.precision)) as rt:
        for size in sizes:
            case = reference.cases[(recipe.model, size)]
            row = compare(case.output, rt.infer(case.inputs), runtime="tensorrt", precision=recipe.precision,
                          task=task, exact=case.exact)
            row.size = size
            rows.append(row)
    progress(format_table(rows, title=f"{Path(folder) / ENGINE_NAME} vs {reference_path}"))
    failed = any(r.status == "failed" for r in rows)
    progress("ENGINE PARITY FAILED" if failed else "ENGINE PARITY PASSED")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m edgeattn.export.trt_check",
                                description="Check an export folder's model.engine against a saved PyTorch reference")
    p.add_argument("folder", type=Path, help="export folder with model.engine and trt_recipe.json")
    p.add_argument("--reference", type=Path, required=True, help="ref.npz from python -m edgeattn.parity "
                   "--save-reference")
    args = p.parse_args(argv)
    try:
        return check_engine(args.folder, args.reference)
    except EdgeAttnError as exc:
        print(f"edgeattn.export.trt_check: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
