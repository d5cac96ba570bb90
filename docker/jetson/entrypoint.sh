#!/usr/bin/env bash
# edgeattn on Jetson: check a shipped bundle, build its TensorRT engine, verify the engine against the bundle's own
# reference, run a small benchmark. No PyTorch on this side. The bundle comes from the host:
#   python -m edgeattn.export --model NAME --target trt   (or: edgeattn-cpu jetson NAME) -> artifacts/NAME/
#
# Usage: edgeattn-jetson [all|integrity|build|verify|bench|shell] [--dry-run]
#   all        integrity, build, verify, bench (default)
#   integrity  every shipped file against manifest.json: python -m edgeattn.tensorrt.build BUNDLE --check-only
#   build      model.engine, recorded under device_files in manifest.json:
#              EDGEATTN_BUILDER=python (default): python -m edgeattn.tensorrt.build BUNDLE (checks hashes, then
#              dlopens the bundle's plugin libraries and builds with the installed TensorRT, 10.x or 11.x);
#              EDGEATTN_BUILDER=trtexec: BUNDLE/build_engine.sh, then python -m edgeattn.tensorrt.build --record-trtexec
#   verify     the engine was built from this bundle (python -m edgeattn.tensorrt.check BUNDLE --no-verify), then
#              python -m edgeattn.verify BUNDLE --runtimes tensorrt (exit 1 failed, 3 NOT VERIFIED)
#   bench      python -m edgeattn.tensorrt.bench BUNDLE: the engine on the bundle's reference cases
#              (10 warm-up + 50 timed runs per case; the full sweep is python -m edgeattn.bench on a host)
#   shell      an interactive shell
#   --dry-run  print the commands instead of running them
# Environment:
#   EDGEATTN_BUNDLE      the bundle folder (default /models/model: mount it there)
#   EDGEATTN_OUTPUT      where verify.json and bench results go (default /models/results; outside the bundle)
#   EDGEATTN_BUILDER     python | trtexec
#   EDGEATTN_BENCH_ARGS  extra arguments for the bench (e.g. "--iters 200")
# Exit status: that of the first step that fails (0 passed, 1 failed, 2 bad input/integrity, 3 NOT VERIFIED).
set -euo pipefail

PYTHON="${PYTHON:-python3}"
BUNDLE="${EDGEATTN_BUNDLE:-/models/model}"
OUTPUT="${EDGEATTN_OUTPUT:-/models/results}"
BUILDER="${EDGEATTN_BUILDER:-python}"
DRY_RUN=0
STEP=all

die() {
  echo "edgeattn-jetson: $*" >&2
  exit 2
}

usage() {
  sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'
}

for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    -h | --help) usage; exit 0 ;;
    all | integrity | build | verify | bench | shell) STEP="$arg" ;;
    *) die "unknown argument '$arg' (expected all, integrity, build, verify, bench, shell or --dry-run; see --help)" ;;
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

check_bundle() {
  [ -d "$BUNDLE" ] || die "bundle $BUNDLE does not exist: mount it (-v /host/artifacts/NAME:$BUNDLE)"
  for f in manifest.json model.onnx trt_recipe.json build_engine.sh; do
    [ -f "$BUNDLE/$f" ] || die "$BUNDLE/$f is missing: export on the host with --target trt and copy the whole folder"
  done
}

step_integrity() {
  run "$PYTHON" -m edgeattn.tensorrt.build "$BUNDLE" --check-only
}

step_build() {
  case "$BUILDER" in
    python) run "$PYTHON" -m edgeattn.tensorrt.build "$BUNDLE" ;;
    trtexec)
      run "$BUNDLE/build_engine.sh"
      run "$PYTHON" -m edgeattn.tensorrt.build "$BUNDLE" --record-trtexec
      ;;
    *) die "EDGEATTN_BUILDER must be python or trtexec, got '$BUILDER'" ;;
  esac
}

step_verify() {
  run mkdir -p "$OUTPUT"
  run "$PYTHON" -m edgeattn.tensorrt.check "$BUNDLE" --no-verify
  run "$PYTHON" -m edgeattn.verify "$BUNDLE" --runtimes tensorrt --json "$OUTPUT/verify.json"
}

step_bench() {
  local extra=()
  read -r -a extra <<< "${EDGEATTN_BENCH_ARGS:-}"
  run "$PYTHON" -m edgeattn.tensorrt.bench "$BUNDLE" --runtime tensorrt --warmup 10 --iters 50 \
    --output "$OUTPUT/bench" "${extra[@]+"${extra[@]}"}"
}

if [ "$STEP" = shell ]; then
  exec bash
fi
[ "$BUILDER" = python ] || [ "$BUILDER" = trtexec ] || die "EDGEATTN_BUILDER must be python or trtexec, got '$BUILDER'"
check_bundle
echo "edgeattn-jetson: $STEP for $BUNDLE"
case "$STEP" in
  integrity) step_integrity ;;
  build) step_build ;;
  verify) step_verify ;;
  bench) step_bench ;;
  all) step_integrity; step_build; step_verify; step_bench ;;
esac
