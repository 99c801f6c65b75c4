#!/usr/bin/env bash
# Spark GPU discovery script (spark.{executor,worker}.resource.gpu.discoveryScript): prints the GPUs this process
# may use as Spark's resource JSON, e.g. {"name":"gpu","addresses":["0","1"]}. Stoker pins actors to the addresses
# Spark then assigns each executor.
#
# Honours CUDA_VISIBLE_DEVICES when set (a scheduler already narrowed the devices; indexes or UUIDs are passed on
# as they are). Without nvidia-smi or GPUs it prints an empty address list, so Spark reports too few GPUs instead of
# failing on a malformed reply.
set -euo pipefail

addresses=()
if [[ -n "${CUDA_VISIBLE_DEVICES:-}" && "${CUDA_VISIBLE_DEVICES}" != "NoDevFiles" ]]; then
  IFS=',' read -r -a addresses <<< "${CUDA_VISIBLE_DEVICES}"
elif command -v nvidia-smi >/dev/null 2>&1; then
  while IFS= read -r idx; do
    idx="${idx//[[:space:]]/}"
    [[ -n "$idx" ]] && addresses+=("$idx")
  done < <(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null || true)
fi

json=""
for a in "${addresses[@]+"${addresses[@]}"}"; do
  json+="${json:+,}\"${a}\""
done
echo "{\"name\":\"gpu\",\"addresses\":[${json}]}"
