#!/usr/bin/env bash
# edgeattn on a CPU host: export and validate on ONNX Runtime + OpenVINO, or prepare a folder for a Jetson.
#
# Usage: edgeattn-cpu [--dry-run] COMMAND MODEL [extra python -m edgeattn.export arguments]
#   validate MODEL ...  export for OpenVINO and check parity on ONNX Runtime and OpenVINO against PyTorch
#   jetson MODEL ...    export for TensorRT (model.onnx, audit, trt_recipe.json, build_engine.sh) and save the
#                       PyTorch reference (ref.npz) into the same folder: copy that folder to the device
#   --dry-run           print the commands instead of running them
# Environment: EDGEATTN_OUTPUT (default /work/artifacts; mount a host folder there)
set -euo pipefail

PYTHON="${PYTHON:-python}"
OUTPUT="${EDGEATTN_OUTPUT:-/work/artifacts}"
DRY_RUN=0

die() {
  echo "edgeattn-cpu: $*" >&2
  exit 2
}

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
}

run() {
  printf '+'
  printf ' %q' "$@"
  printf '\n'
  if [ "$DRY_RUN" -eq 0 ]; then
    "$@"
  fi
}

if [ "${1:-}" = "--dry-run" ]; then
  DRY_RUN=1
  shift
fi
case "${1:-}" in
  "" | -h | --help) usage; exit 0 ;;
  validate | jetson) COMMAND="$1" ;;
  *) die "unknown command '$1' (expected validate or jetson; see --help)" ;;
esac
[ -n "${2:-}" ] || die "$COMMAND needs a model name (python -m edgeattn.export --list-models)"
MODEL="$2"
shift 2

case "$COMMAND" in
  validate)
    run "$PYTHON" -m edgeattn.export --model "$MODEL" --target openvino --runtimes ort,openvino \
      --output "$OUTPUT" "$@"
    ;;
  jetson)
    run "$PYTHON" -m edgeattn.export --model "$MODEL" --target trt --no-parity --output "$OUTPUT" "$@"
    # the reference is taken at the export size and batch, so it also fits a static engine
    SIZE="HxW-of-trt_recipe.json"
    BATCH="batch-of-trt_recipe.json"
    if [ "$DRY_RUN" -eq 0 ]; then
      RECIPE="$("$PYTHON" -c 'import json, sys; r = json.load(open(sys.argv[1])); print("%dx%d %d" % (*r["size"], r["batch"]))' \
        "$OUTPUT/$MODEL/trt_recipe.json")"
      read -r SIZE BATCH <<< "$RECIPE"
    fi
    run "$PYTHON" -m edgeattn.parity --model "$MODEL" --runtimes torch --sizes "$SIZE" --batch "$BATCH" \
      --save-reference "$OUTPUT/$MODEL/ref.npz" --output "$OUTPUT/$MODEL/reference"
    echo "edgeattn-cpu: copy $OUTPUT/$MODEL to the Jetson and run the edgeattn-jetson container on it"
    ;;
esac
