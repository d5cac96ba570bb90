"""Writing one model version into a server repository, leaving everything else in it alone.

    <model>/                  absent or empty: built whole in a staging folder and swapped in (never half there)
    <model>/<version>/        present: replaced only if it holds nothing but the files edgeattn writes there
    <model>/<other versions>  never touched; nor are files edgeattn does not know
    <model>/<top files>       (config.pbtxt, edgeattn-manifest.json) rewritten atomically, config last

An existing `<model>/` is written into only when `marker` recognises it as edgeattn's (Triton: a config.pbtxt
carrying edgeattn's parameters; OVMS: edgeattn-manifest.json): a model folder of someone else's is refused with
one line, exit status 2. The model folder is locked (`.<model>.lock`) for the whole write, so two exports of
different versions do not interleave their top files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .._atomic import atomic_write_bytes, refuse_special
from ..bundle.ownership import refuse_foreign, walk_entries
from ..bundle.publishing import OutputLock, publish

__all__ = ["publish_version", "version_reason"]

_HINT = "move it away or pass another --output/--model-name"


def version_reason(allowed: frozenset[str]) -> Callable[[Path], str | None]:
    """Owned rule of a version folder: only `allowed` names at its top (plus `__pycache__/`, which Triton's Python
    backend writes beside model.py)."""

    def reason(folder: Path) -> str | None:
        files, other = walk_entries(folder)
        foreign = [f for f in files if f not in allowed and f.split("/")[0] != "__pycache__"] + other
        if foreign:
            return f"it holds files edgeattn does not write into a version folder: {', '.join(foreign[:4])}"
        return None

    return reason


def _appeared(folder: Path) -> str:
    return "it was filled by another process while this export ran; run the export again"


def _is_empty_folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and not any(path.iterdir())


def publish_version(model_dir: Path, version: int, fill: Callable[[Path], None], top: dict[str, bytes],
                    marker: Callable[[Path], str | None], allowed: frozenset[str], what: str) -> Path:
    """Write `<model_dir>/<version>/` (filled by `fill(folder)`) and the `top` files (in order; put the file the
    server reads first last). Returns model_dir."""
    model_dir = Path(model_dir)
    if not (model_dir.is_symlink() or model_dir.exists()) or _is_empty_folder(model_dir):
        # new model: staged whole and swapped in (the publish lock is the model's lock)
        with publish(model_dir, hint=_HINT, owned=_appeared, what=what) as pub:
            version_dir = pub.staging / str(version)
            version_dir.mkdir()
            fill(version_dir)
            for name, data in top.items():
                (pub.staging / name).write_bytes(data)
        return model_dir
    with OutputLock(model_dir):
        refuse_foreign(model_dir, what, marker, _HINT)  # a link, a file or someone's folder: refused, untouched
        for name in top:  # before any work: links, folders and FIFOs where a top file goes are refused
            refuse_special(model_dir / name, "repository file", _HINT)
        with publish(model_dir / str(version), hint=_HINT, owned=version_reason(allowed),
                     what="a version folder edgeattn wrote") as pub:
            fill(pub.staging)
        for name, data in top.items():
            atomic_write_bytes(model_dir / name, data)
    return model_dir
