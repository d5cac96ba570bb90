"""Refusal over the accuracy bound: the bundle is kept apart, never in place of a good one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .apply import AccuracyBoundError, PrecisionOutcome

__all__ = ["rejected_folder", "keep_apart"]


def rejected_folder(final: Path, precision: str) -> Path:
    final = Path(final)
    return final.with_name(f"{final.name}.rejected-{precision}")


def keep_apart(stage: Path, final: Path, outcome: PrecisionOutcome) -> None:
    """Move the finished staging folder to `<model>.rejected-<precision>/` and raise AccuracyBoundError (exit 1).

    `<output>/<model>/` is left exactly as it was (a previous good bundle stays usable).
    """
    dest = rejected_folder(final, outcome.precision)
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(stage, dest)
    acc = outcome.manifest.get("accuracy", {})
    what = outcome.lines[-1] if outcome.lines else "the accuracy bound was not met"
    if acc:
        what = (f"{acc['metric']} dropped by {acc['drop']:.4f} (fp32 {acc['fp32']:.4f} -> {outcome.precision} "
                f"{acc['value']:.4f}), over the bound {acc['max_drop']:g}")
    raise AccuracyBoundError(
        f"export refused: {what}. The {outcome.precision} bundle is kept apart in {dest} for inspection; "
        f"{final} was not touched. Keep more in float (--keep-float auto or names from the sensitivity table), "
        "try another --calibration, or pass --max-drop if the loss is acceptable")
