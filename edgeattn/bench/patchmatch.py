"""python -m edgeattn.bench.patchmatch: PatchMatch attention vs dense vs exact k-NN, custom vs standard ops.

Reports (never asserts):
  1. latency (median of --reps after one warm-up) and peak memory of one attention call in PyTorch eager at
     64^2, 128^2, 256^2 feature maps: PatchMatch (export path), dense softmax(QK^T)V, exact k-NN (the oracle).
     Peak memory is the growth of the process's max RSS, measured in a fresh subprocess per cell, and the
     largest single intermediate tensor (shape-level, from a dispatch mode). Cells whose (HW)^2 score matrix
     would exceed --max-dense-gib are skipped and marked with the memory they would need.
  2. custom-op graph vs standard-op graph latency on ONNX Runtime and OpenVINO (f32) for criss-cross and
     PatchMatch attention layers.
  3. PatchMatch recall against exact k-NN as a function of n_iters.
Threads are fixed (--threads) for PyTorch, ONNX Runtime and OpenVINO alike. Timings on shared machines
vary by +-10-30 %; compare ratios from the same run.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from .._atomic import atomic_write_text, check_output_file
from .._resources import HEADROOM, available_memory
from ..cli import ArgumentParser, choice_arg, float_arg, int_arg, names_arg, print_error, threads_arg

__all__ = ["main", "knn_recall"]

SIZES = (64, 128, 256)
CM, C = 16, 64  # match channels (q, k) and value channels of the layer-level comparison
METHODS = ("patchmatch", "dense", "exact_knn")
TABLES = ("layer", "custom", "recall")
# Bounds of the flags (docs/limits.md), checked at parse time: a rep is one timed call per cell (each cell a fresh
# process); a side of 1024 is 16x the largest default map (PatchMatch's maps grow as side^2, the dense cells as
# side^4 and are skipped by --max-dense-gib); 1024 GiB is more (HW)^2 scores than any host here holds.
MAX_REPS, MAX_N_ITERS, MIN_SIDE, MAX_SIDE, MAX_SIZES, MAX_DENSE_GIB = 1000, 100, 4, 1024, 8, 1024.0

_side = int_arg("--sizes", MIN_SIDE, MAX_SIDE, " (each feature-map side)")


def _sizes(text: str) -> tuple[int, ...]:
    """--sizes: comma-separated sides, each MIN_SIDE..MAX_SIDE, at most MAX_SIZES of them."""
    sides = tuple(_side(s.strip()) for s in text.split(",") if s.strip())
    if not 1 <= len(sides) <= MAX_SIZES:
        raise argparse.ArgumentTypeError(f"--sizes takes 1..{MAX_SIZES} comma-separated sides, got {len(sides)}; "
                                         f"pass e.g. --sizes {','.join(map(str, SIZES))}")
    return sides


_sizes.__name__ = "sizes"


def _tables(text: str) -> tuple[str, ...]:
    """--only: comma-separated names out of TABLES, at least one."""
    names = tuple(choice_arg("table", TABLES)(n) for n in names_arg("--only")(text))
    if not names:
        raise argparse.ArgumentTypeError(f"--only is empty: name at least one of {', '.join(TABLES)}")
    return names


_tables.__name__ = "tables"


def _median_ms(fn: Callable[[], object], reps: int) -> tuple[float, float]:
    fn()  # warm-up
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times), (max(times) - min(times))


def _dense(q, k, v, mask, params):  # noqa: ANN001, ANN202 - same signature as patchmatch_attend
    b, c, h, w = v.shape
    qt = q.flatten(2).transpose(1, 2)  # (B, HW, Cm)
    attn = torch.softmax(torch.matmul(qt, k.flatten(2)) / q.shape[1] ** 0.5, dim=-1)  # (B, HW, HW)
    return torch.matmul(attn, v.flatten(2).transpose(1, 2)).transpose(1, 2).reshape(b, c, h, w)


def _method(name: str) -> Callable:
    from ..nn.patchmatch import exact_knn_attend, patchmatch_attend

    return {"patchmatch": patchmatch_attend, "dense": _dense, "exact_knn": exact_knn_attend}[name]


def _one_cell(method: str, size: int, reps: int, threads: int, n_iters: int) -> dict:
    """Run in a fresh process: latency, max-RSS growth, largest intermediate of one attention call."""
    from torch.utils._python_dispatch import TorchDispatchMode

    from ..ops.patchmatch import PatchMatchParams

    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(1, CM, size, size, generator=g), torch.randn(1, CM, size, size, generator=g)
    v, mask = torch.randn(1, C, size, size, generator=g), None
    params = PatchMatchParams(n_iters=n_iters)
    fn = _method(method)

    class Peak(TorchDispatchMode):
        largest = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
            out = func(*args, **(kwargs or {}))
            for t in out if isinstance(out, tuple | list) else (out,):
                if isinstance(t, torch.Tensor):
                    Peak.largest = max(Peak.largest, t.numel() * t.element_size())
            return out

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with torch.inference_mode():
        med, spread = _median_ms(lambda: fn(q, k, v, mask, params), reps)
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with Peak():
            fn(q, k, v, mask, params)
    return {"method": method, "size": size, "ms": med, "spread_ms": spread, "rss_growth_mib": (rss1 - rss0) / 1024,
            "largest_tensor_mib": Peak.largest / 2**20}


def layer_table(reps: int, threads: int, n_iters: int, max_dense_gib: float, sizes=SIZES) -> list[dict]:
    rows = []
    have = available_memory()
    for size in sizes:
        for method in METHODS:
            need_gib = (size * size) ** 2 * 4 / 2**30
            if method != "patchmatch" and need_gib > max_dense_gib:
                rows.append({"method": method, "size": size, "skipped": f"needs {need_gib:.0f} GiB for (HW)^2 scores"})
                continue
            if method != "patchmatch" and have is not None and need_gib * 2**30 > have / HEADROOM:
                rows.append({"method": method, "size": size, "skipped": f"needs {need_gib:.1f} GiB for (HW)^2 "
                             f"scores, more than 1/{HEADROOM} of the {have / 2**30:.1f} GiB available"})
                continue
            cmd = [sys.executable, "-m", "edgeattn.bench.patchmatch", "--cell", method, str(size), "--reps", str(reps),
                   "--threads", str(threads), "--n-iters", str(n_iters)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if out.returncode != 0:
                rows.append({"method": method, "size": size, "skipped": (out.stderr.strip().splitlines() or ["?"])[-1]})
            else:
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return rows


def _graphs(layer: str, folder: Path, size: int) -> tuple[dict[str, np.ndarray], dict[str, Path]]:
    from ..export.onnx import export_onnx
    from ..export.openvino import convert_to_openvino
    from ..export.simplify import simplify
    from ..nn import CrissCrossAttention, PatchMatchAttention
    from ..ops import custom_opsets, enable_custom_ops

    torch.manual_seed(0)
    if layer == "criss_cross":
        module: torch.nn.Module = torch.nn.Sequential(CrissCrossAttention(C).eval())
        with torch.no_grad():
            module[0].gamma.fill_(0.5)
        inputs = {"x": torch.randn(1, C, size, size)}
    else:
        module = torch.nn.Sequential(PatchMatchAttention(C, match_channels=CM).eval())
        inputs = {"x": torch.randn(1, C, size, size)}
    paths = {}
    for kind in ("standard", "custom"):
        if kind == "custom":
            enable_custom_ops(module)
        proto = export_onnx(module.eval(), tuple(inputs.values()), input_names=list(inputs), output_name="y",
                            custom_opsets=custom_opsets() if kind == "custom" else None)
        proto = simplify(proto, "onnxslim")
        d = folder / f"{layer}-{kind}"
        d.mkdir(parents=True, exist_ok=True)
        (d / "model.onnx").write_bytes(proto.SerializeToString())
        convert_to_openvino(d / "model.onnx", d)
        paths[kind] = d
    return {k: v.numpy() for k, v in inputs.items()}, paths


def custom_op_table(reps: int, threads: int, sizes: dict[str, int]) -> list[dict]:
    from ..runtimes import RuntimeOptions, load_runtime

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for layer, size in sizes.items():
            feeds, paths = _graphs(layer, Path(tmp), size)
            for runtime in ("ort", "openvino"):
                row = {"layer": layer, "size": size, "runtime": runtime}
                for kind, folder in paths.items():
                    with load_runtime(runtime, folder, RuntimeOptions(threads=threads)) as rt:
                        row[f"{kind}_ms"], _ = _median_ms(lambda rt=rt, feeds=feeds: rt.infer(feeds), reps)
                row["custom_over_standard"] = row["custom_ms"] / row["standard_ms"]
                rows.append(row)
    return rows


def knn_recall(found: tuple, exact: tuple, h: int, w: int, patch_size: int) -> float:
    """Fraction of the exact k nearest matches of the searched (band) pixels that PatchMatch found."""
    r = patch_size // 2
    inner = torch.zeros(h, w, dtype=torch.bool)
    inner[r : h - r, r : w - r] = True
    f_flat = (found[1] * w + found[2]).long()[:, :, inner.flatten()]  # (B, k, band pixels)
    e_flat = (exact[1] * w + exact[2]).long()[:, :, inner.flatten()]
    return (e_flat.unsqueeze(2) == f_flat.unsqueeze(1)).any(2).float().mean().item()


def recall_table(sizes=(32, 64), iters=(0, 1, 2, 3, 5, 8)) -> list[dict]:
    from ..data.synthetic import make_image
    from ..nn.patchmatch import exact_knn_field, patchmatch_knn
    from ..ops.patchmatch import PatchMatchParams

    rows = []
    for size in sizes:
        img = torch.from_numpy(make_image(np.random.default_rng(0), size, size))[None]  # coherent features
        g = torch.Generator().manual_seed(0)
        noise = torch.randn(1, 8, size, size, generator=g)  # incoherent features: PatchMatch's worst case
        for feat_name, q in (("image", img), ("noise", noise)):
            exact = exact_knn_field(q, q, None, PatchMatchParams())
            for n in iters:
                found = patchmatch_knn(q, q, None, PatchMatchParams(n_iters=n))
                rows.append({"size": size, "features": feat_name, "n_iters": n,
                             "recall": knn_recall(found, exact, size, size, 3)})
    return rows


def _print(title: str, rows: list[dict]) -> None:
    print(f"\n## {title}")
    if not rows:
        return
    keys = list(dict.fromkeys(k for r in rows for k in r))
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        cells = [f"{r[k]:.3g}" if isinstance(r.get(k), float) else str(r.get(k, "")) for k in keys]
        print("| " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> int:
    p = ArgumentParser("bench.patchmatch", description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=threads_arg(), default=2)
    p.add_argument("--reps", type=int_arg("--reps", 1, MAX_REPS), default=5,
                   help=f"timed calls per cell after one warm-up (1..{MAX_REPS}, default 5)")
    p.add_argument("--n-iters", type=int_arg("--n-iters", 0, MAX_N_ITERS), default=5,
                   help=f"PatchMatch propagation iterations (0..{MAX_N_ITERS}, default 5)")
    p.add_argument("--max-dense-gib", type=float_arg("--max-dense-gib", 0, MAX_DENSE_GIB), default=2.0,
                   help=f"skip dense / exact k-NN cells needing more (0..{MAX_DENSE_GIB:g}, default 2; cells "
                   f"needing more than 1/{HEADROOM} of the available memory are skipped too)")
    p.add_argument("--sizes", type=_sizes, default=SIZES, help=f"feature-map sides of the layer table, comma-"
                   f"separated (each {MIN_SIDE}..{MAX_SIDE}, at most {MAX_SIZES}; default "
                   f"{','.join(map(str, SIZES))})")
    p.add_argument("--only", type=_tables, default=TABLES,
                   help=f"which tables, comma-separated ({', '.join(TABLES)}; default all)")
    p.add_argument("--json", type=Path, help="also write all rows here")
    p.add_argument("--cell", nargs=2, metavar=("METHOD", "SIZE"), help=argparse.SUPPRESS)  # internal: one subprocess
    args = p.parse_args(argv)
    if args.cell:
        try:
            args.cell = (choice_arg("method", METHODS)(args.cell[0]), int_arg("--cell SIZE", MIN_SIDE, MAX_SIDE)(
                args.cell[1]))
        except argparse.ArgumentTypeError as exc:
            p.error(f"argument --cell: {exc}")
    if args.json:
        from ..errors import EdgeAttnError

        try:
            check_output_file(args.json, "--json")
        except EdgeAttnError as exc:
            print_error("bench.patchmatch", str(exc))
            return exc.exit_code
    if args.cell:
        print(json.dumps(_one_cell(args.cell[0], args.cell[1], args.reps, args.threads, args.n_iters)))
        return 0
    torch.set_num_threads(args.threads)
    only = set(args.only)
    out: dict[str, list[dict]] = {}
    if "layer" in only:
        out["layer"] = layer_table(args.reps, args.threads, args.n_iters, args.max_dense_gib, args.sizes)
        _print(f"attention call, PyTorch eager, {args.threads} threads, Cm={CM}, C={C}, k=3, p=3, "
               f"n_iters={args.n_iters}", out["layer"])
    if "custom" in only:
        out["custom"] = custom_op_table(args.reps, args.threads, {"criss_cross": 64, "patchmatch": 32})
        _print(f"custom-op graph vs standard-op graph (one layer, C={C}), {args.threads} threads", out["custom"])
    if "recall" in only:
        out["recall"] = recall_table()
        _print("PatchMatch recall vs exact k-NN (k=3, p=3)", out["recall"])
    if args.json:
        atomic_write_text(args.json, json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
