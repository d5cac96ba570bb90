#!/usr/bin/env bash
# edgeattn on a CPU host: export and validate on ONNX Runtime + OpenVINO, or prepare a folder for a Jetson.
#
# Usage: edgeattn-cpu [--dry-run] COMMAND MODEL [extra python -m edgeattn.export arguments]
#   validate MODEL ...  export an OpenVINO bundle and verify it on ONNX Runtime and OpenVINO
#   jetson MODEL ...    export a TensorRT bundle (model.onnx, audit, trt_recipe.json, build_engine.sh, reference/
#                       from the exported weights, manifest.json) and verify its files on ONNX Runtime here:
#                       copy that folder to the device
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
    # The bundle's reference is computed from the exported weights (--checkpoint if given) at the export size and
    # batch, so it also fits a static engine; export verifies the staged bundle's model.onnx on ONNX Runtime.
    run "$PYTHON" -m edgeattn.export --model "$MODEL" --target trt --runtimes ort --output "$OUTPUT" "$@"
    echo "edgeattn-cpu: copy $OUTPUT/$MODEL to the Jetson and run the edgeattn-jetson container on it"
    ;;
esac
