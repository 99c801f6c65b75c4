#!/usr/bin/env bash
# Issue 13's check on a lent GPU (one GPU, at most 5 minutes): a single-rank NCCL smoke test, CUDA IPC between two
# processes on that GPU, and the CUDA IPC channel's throughput and round trip beside raw device copies. Prints one
# JSON object; exit 0 all passed, 1 a check failed, 2 no bundle, 3 no usable GPU. See docs/cuda.md.
#
#   bin/stoker gpu-check --prepare          # build machine: target/gpu-check (classes, test jars, JRE)
#   benchmarks/gpu-comm-check.sh --sim      # build machine: the same checks on the CUDA simulator (small sizes)
#   benchmarks/gpu-comm-check.sh            # GPU machine (carry target/gpu-check)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUNDLE="$ROOT/target/gpu-check"
FLAGS=(-XX:+IgnoreUnrecognizedVMOptions --add-modules=jdk.incubator.vector
  --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/java.lang=ALL-UNNAMED -Dio.netty.tryReflectionSetAccessible=true)

mode="real"
case "${1:-}" in
  --sim) mode="sim" ;;
  "") ;;
  -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
  *) echo "gpu-comm-check: unknown option '$1' (use --sim, or nothing on a GPU machine)" >&2; exit 2 ;;
esac

if [[ ! -d "$BUNDLE/classes/gpu-runtime-tests" ]]; then
  echo "gpu-comm-check: no bundle in $BUNDLE; run bin/stoker gpu-check --prepare on a build machine and carry" \
       "target/gpu-check to the GPU machine" >&2
  exit 2
fi
java="$BUNDLE/jre/bin/java"
[[ -x "$java" ]] || java="$(command -v java)" || { echo "gpu-comm-check: no Java in the bundle or on the PATH" >&2; exit 2; }
cp="$BUNDLE/classes/gpu-runtime:$BUNDLE/classes/gpu-runtime-tests:$BUNDLE/lib/*"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
args=(-Djava.io.tmpdir="$tmp" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn)
if [[ "$mode" == "sim" ]]; then
  sim="$ROOT/gpu-runtime/target/cudasim/libstoker-cudasim.so"
  [[ -f "$sim" ]] || { echo "gpu-comm-check: no simulator at $sim; build gpu-runtime's tests first" \
      "(mvn -pl gpu-runtime -am test-compile)" >&2; exit 2; }
  args+=(-Dstoker.cuda=sim -Dstoker.cuda.sim.library="$sim")
  extra=(--quick)
else
  args+=(-Dstoker.cuda=real)
  extra=()
fi
set +e
timeout "${STOKER_GPU_COMM_CHECK_TIMEOUT:-300}" "$java" "${FLAGS[@]}" "${args[@]}" -cp "$cp" \
  io.stoker.runtime.channel.GpuCommCheckMain "${extra[@]}"
rc=$?
set -e
if (( rc == 124 )); then echo '{"error":"timed out after '"${STOKER_GPU_COMM_CHECK_TIMEOUT:-300}"' s"}'; fi
exit "$rc"
