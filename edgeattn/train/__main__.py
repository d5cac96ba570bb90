"""python -m edgeattn.train: train a registered model on synthetic task data and save a checkpoint;
`--eval`: the held-out task metric of shipped or given weights against the task's target."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from ..cli import ArgumentParser, print_error, run_cli, threads_arg
from ..errors import EXIT_FAILED, EXIT_OK, InvalidOptionError
from ..export.config import size_arg

EPILOG = """examples:
  python -m edgeattn.train --model lga_mobilenet --steps 200
  python -m edgeattn.train --model lga_dehaze --steps 300 --output checkpoints/lga_dehaze.pt
  python -m edgeattn.export --model lga_mobilenet --checkpoint checkpoints/lga_mobilenet.pt --target openvino
  python -m edgeattn.train --eval --model lga_mobilenet                 # the shipped weights, held-out set
  python -m edgeattn.train --eval --model lga_dehaze --weights checkpoints/lga_dehaze.pt --eval-samples 32

The commands that made the shipped weights are in edgeattn/models/weights/<model>.json and docs/trained-weights.md.

what the statuses mean for train: 0 trained and saved (--eval: the target was reached); 1 --eval: the target was
not reached, or training diverged (NaN loss; nothing saved); 2 bad input (nothing written).
"""


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        "train",
        description="Train a registered model for a few minutes on CPU on seeded synthetic task data "
        "(segmentation scenes, hazy/clean pairs, frame pairs with flow), print the task metric on held-out "
        "samples before and after, and save a state-dict checkpoint that the export CLI loads, with a JSON "
        "record beside it. With --eval, measure the held-out metric of weights instead.",
        epilog=EPILOG)
    p.add_argument("--model", help="registered model name (python -m edgeattn.export --list-models)")
    p.add_argument("--steps", type=int, default=200, help="optimiser steps (default: 200)")
    p.add_argument("--batch", type=int, default=4, help="batch size (default: 4)")
    p.add_argument("--size", type=size_arg, metavar="HxW", help="training and held-out resolution, HxW or N "
                   "for NxN (default: 96x96 "
                   "segmentation, 96x128 dehazing and flow; --eval of shipped weights: their training size)")
    p.add_argument("--lr", type=float, default=1e-3, help="AdamW peak learning rate (default: 1e-3)")
    p.add_argument("--edge-loss-weight", type=float, default=0.5, help="weight of LGA's edge loss (default: 0.5)")
    p.add_argument("--eval-samples", type=int, help="held-out samples for the metric (default: 16; --eval: the count "
                   "recorded with the weights, 64 for the shipped ones, so the re-check reproduces the record)")
    p.add_argument("--eval-seed", type=int, help="seed of the held-out set (default: 1000, or the one recorded with "
                   "the weights; training data come from --seed)")
    p.add_argument("--seed", type=int, default=0, help="seed of the init and of the training data (default: 0)")
    p.add_argument("--output", type=Path, metavar="FILE", help="checkpoint file (default: checkpoints/<model>.pt); "
                   "FILE with .json is written beside it")
    p.add_argument("--fp16", action="store_true", help="store floating tensors as float16 (loaded back as float32; "
                   "the recorded metrics are those of the stored weights)")
    p.add_argument("--shared-backbone", metavar="MODEL", help="segmentation: start the MobileNetV2 backbone from "
                   "MODEL's shipped weights, keep it frozen, and store only the other weights")
    p.add_argument("--init-from", type=Path, metavar="FILE", help="start from this checkpoint's weights (fine-tuning); "
                   "its sha256 and JSON record are copied into the new record")
    p.add_argument("--threads", type=threads_arg(), help="PyTorch threads")
    p.add_argument("--eval", action="store_true", help="do not train: print the held-out metric of --weights (default: "
                   "the shipped weights) and whether the task's target is reached")
    p.add_argument("--weights", type=Path, metavar="FILE", help="with --eval: a checkpoint to evaluate instead of the "
                   "shipped weights")
    p.add_argument("--list-weights", action="store_true", help="print the shipped weights (metrics, recipe, time, "
                   "size, sha256) as a Markdown table and exit")
    return p


def _weights_table() -> str:
    from ..models.pretrained import pretrained_models, weights_info

    rows = ["| model | held-out metrics (samples, size) | target | reached | steps x batch @ size | train time "
            "(wall / CPU) | file (fp16) | sha256 |", "|---|---|---|---|---|---|---|---|"]
    for name in pretrained_models():
        r = weights_info(name).raw
        h, rec, t = r["held_out"], r["recipe"], dict(r["train_time"])
        steps, parent = str(rec["steps"]), (r.get("init_from") or {}).get("record")
        while parent:  # a fine-tune: count the runs it started from
            steps = f"{parent['recipe']['steps']} + {steps}"
            t = {k: t[k] + parent["train_time"][k] for k in ("wall_s", "cpu_s")}
            parent = (parent.get("init_from") or {}).get("record")
        metrics = ", ".join(f"{k} {v:.4g}" for k, v in h["metrics"].items())
        shared = f" + {r['shared_from']['model']}'s backbone" if r.get("shared_from") else ""
        rows.append(f"| `{name}` | {metrics} ({h['samples']}, {h['size'][0]}x{h['size'][1]}) | {h['target']}: "
                    f"{h['score']:.4g} | {'yes' if h['passed'] else '**no**'} | {steps} x {rec['batch']} @ "
                    f"{rec['size'][0]}x{rec['size'][1]} | {t['wall_s'] / 60:.0f} / {t['cpu_s'] / 60:.1f} min | "
                    f"{r['bytes'] / 1e6:.2f} MB{shared} | `{r['sha256'][:12]}` |")
    return "\n".join(rows)


def _eval(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_weights

    result = evaluate_weights(args.model, args.weights, size=args.size, samples=args.eval_samples,
                              seed=args.eval_seed, threads=args.threads)
    print(result.summary())
    return EXIT_OK if result.passed else EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list_weights:
        print(_weights_table())
        return 0
    if not args.model:
        parser.error("--model is required (python -m edgeattn.export --list-models lists them)")

    def body() -> int:
        if args.weights is not None and not args.eval:
            raise InvalidOptionError("--weights needs --eval (to continue training from a checkpoint, pass "
                                     "--init-from FILE)")
        if args.eval:
            return _eval(args)
        from .config import TrainConfig
        from .evaluate import HELD_OUT_SEED
        from .loop import train

        command = "python -m edgeattn.train " + shlex.join(sys.argv[1:] if argv is None else argv)
        config = TrainConfig(model=args.model, steps=args.steps, batch=args.batch, size=args.size, lr=args.lr,
                             edge_loss_weight=args.edge_loss_weight,
                             eval_samples=16 if args.eval_samples is None else args.eval_samples,
                             eval_seed=HELD_OUT_SEED if args.eval_seed is None else args.eval_seed,
                             seed=args.seed, output=args.output, threads=args.threads,
                             fp16=args.fp16, shared_backbone=args.shared_backbone, init_from=args.init_from,
                             command=command)
        try:
            result = train(config, progress=lambda msg: print(msg, flush=True))
        except FloatingPointError as exc:  # training diverged: a failed run, not bad input
            print_error("train", str(exc))
            return EXIT_FAILED
        m = result.metric
        verdict = "improved" if result.improved else "did not improve"
        print(f"{m}: {result.before[m]:.4f} -> {result.after[m]:.4f} ({verdict}); checkpoint: {result.checkpoint}")
        if result.held_out is not None:
            print(result.held_out.summary().splitlines()[-1])
        return 0

    return run_cli("train", body, interrupted="no checkpoint was written")


if __name__ == "__main__":
    sys.exit(main())
