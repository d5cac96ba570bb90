#!/usr/bin/env bash
# edgeattn on Jetson: build the TensorRT engine from a shipped export folder, check parity against the saved
# PyTorch reference, run the benchmark. The export folder comes from the host:
#   python -m edgeattn.export --model NAME --target trt            -> model.onnx, trt_recipe.json, build_engine.sh
#   python -m edgeattn.parity --model NAME --save-reference ref.npz -> ref.npz (inputs + PyTorch outputs)
#
# Usage: edgeattn-jetson [all|build|check|parity|bench|shell] [--dry-run]
#   all      build, check, parity, bench (default)
#   build    model.engine via the TensorRT Python API (EDGEATTN_BUILDER=python, default; calibrates INT8) or
#            via trtexec (EDGEATTN_BUILDER=trtexec: runs the folder's build_engine.sh)
#   check    the built model.engine against the reference (python -m edgeattn.export.trt_check; exit 1 if it fails)
#   parity   python -m edgeattn.parity --load-reference --runtimes tensorrt (re-exports the model on the device and
#            builds its own engine from that ONNX; exit 1 if parity fails)
#   bench    python -m edgeattn.bench --runtimes tensorrt
#   shell    an interactive shell
#   --dry-run  print the commands instead of running them
# Environment:
#   EDGEATTN_MODEL_DIR   export folder (default /models/model, i.e. mount it at /models/model)
#   EDGEATTN_REFERENCE   saved reference (default $EDGEATTN_MODEL_DIR/ref.npz)
#   EDGEATTN_OUTPUT      where reports go (default $EDGEATTN_MODEL_DIR/results)
#   EDGEATTN_PARITY_ARGS, EDGEATTN_BENCH_ARGS  extra arguments for the parity and bench CLIs
set -euo pipefail

PYTHON="${PYTHON:-python3}"
MODEL_DIR="${EDGEATTN_MODEL_DIR:-/models/model}"
REFERENCE="${EDGEATTN_REFERENCE:-$MODEL_DIR/ref.npz}"
OUTPUT="${EDGEATTN_OUTPUT:-$MODEL_DIR/results}"
BUILDER="${EDGEATTN_BUILDER:-python}"
DRY_RUN=0
STEP=all

die() {
  echo "edgeattn-jetson: $*" >&2
  exit 2
}

usage() {
  sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'
}

for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    -h | --help) usage; exit 0 ;;
    all | build | check | parity | bench | shell) STEP="$arg" ;;
    *) die "unknown argument '$arg' (expected all, build, check, parity, bench, shell or --dry-run; see --help)" ;;
  esac
done

run() {
  printf '+'
  printf ' %q' "$@"
  printf '\n'
  if [ "$DRY_RUN" -eq 0 ]; then
    "$@"
  fi
}

recipe_field() {
  "$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
    "$MODEL_DIR/trt_recipe.json" "$1"
}

check_folder() {
  [ -d "$MODEL_DIR" ] || die "export folder $MODEL_DIR does not exist: mount it (-v /host/artifacts/NAME:$MODEL_DIR)"
  for f in model.onnx trt_recipe.json build_engine.sh; do
    [ -f "$MODEL_DIR/$f" ] || die "$MODEL_DIR/$f is missing: export on the host with --target trt and copy the folder"
  done
}

step_build() {
  case "$BUILDER" in
    python) run "$PYTHON" -m edgeattn.export.trt_build "$MODEL_DIR" ;;
    trtexec) run "$MODEL_DIR/build_engine.sh" ;;
    *) die "EDGEATTN_BUILDER must be python or trtexec, got '$BUILDER'" ;;
  esac
}

check_reference() {
  [ -f "$REFERENCE" ] || [ "$DRY_RUN" -eq 1 ] || die "reference $REFERENCE is missing: save it on the host with" \
    "python -m edgeattn.parity --model $MODEL --save-reference ref.npz and copy it into the export folder"
}

step_check() {
  check_reference
  run "$PYTHON" -m edgeattn.export.trt_check "$MODEL_DIR" --reference "$REFERENCE"
}

step_parity() {
  check_reference
  local extra=()
  read -r -a extra <<< "${EDGEATTN_PARITY_ARGS:-}"
  run "$PYTHON" -m edgeattn.parity --model "$MODEL" --runtimes tensorrt --precision "$PRECISION" \
    --load-reference "$REFERENCE" --output "$OUTPUT/parity" "${extra[@]+"${extra[@]}"}"
}

step_bench() {
  local extra=()
  read -r -a extra <<< "${EDGEATTN_BENCH_ARGS:-}"
  run "$PYTHON" -m edgeattn.bench --models "$MODEL" --runtimes tensorrt --output "$OUTPUT/bench" \
    "${extra[@]+"${extra[@]}"}"
}

if [ "$STEP" = shell ]; then
  exec bash
fi
check_folder
MODEL="$(recipe_field model)"
PRECISION="$(recipe_field precision)"
echo "edgeattn-jetson: $STEP for $MODEL ($PRECISION) in $MODEL_DIR"
case "$STEP" in
  build) step_build ;;
  check) step_check ;;
  parity) step_parity ;;
  bench) step_bench ;;
  all) step_build; step_check; step_parity; step_bench ;;
esac
