#!/usr/bin/env bash
# edgeattn on a CPU host: export and validate on ONNX Runtime + OpenVINO, or export a bundle for a Jetson.
#
# Usage: edgeattn-cpu [--dry-run] COMMAND MODEL [extra python -m edgeattn.export arguments]
#   validate MODEL ...  export for OpenVINO and verify the bundle on ONNX Runtime and OpenVINO
#   jetson MODEL ...    export the TensorRT bundle (model.onnx, trt_recipe.json, build_engine.sh, the reference
#                       inputs/outputs computed from the exported weights, manifest.json): copy that folder to the
#                       device and run the edgeattn-jetson container on it
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
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
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
    run "$PYTHON" -m edgeattn.export --model "$MODEL" --target trt --output "$OUTPUT" "$@"
    echo "edgeattn-cpu: copy $OUTPUT/$MODEL to the Jetson and run the edgeattn-jetson container on it"
    ;;
esac
