#!/usr/bin/env bash
# Scale run (not part of CI): synthesize a Llama-shaped bf16 checkpoint, then quantize it under a memory
# bound, recording wall time, peak RSS and throughput into bench/results/scale-<shape>.txt.
#   bench/scale-run.sh [WORKDIR] [SHAPE]        SHAPE = llama-7b (default, ~13.5 GB) | llama-1b | tiny
# Needs ~2.6x the checkpoint size of free disk in WORKDIR (input + output + per-matrix checkpoints).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${1:-/tmp/loftq-scale}
shape=${2:-llama-7b}
heap=${HEAP:-5g}
mkdir -p "$work" "$here/bench/results"
report="$here/bench/results/scale-$shape.txt"
need_gb=$(case "$shape" in llama-7b) echo 36;; llama-1b) echo 6;; *) echo 1;; esac)
free_gb=$(df -BG --output=avail "$work" | tail -1 | tr -dc 0-9)
if [ "$free_gb" -lt "$need_gb" ]; then
  echo "scale-run: $work has ${free_gb} GB free, $shape needs ~${need_gb} GB; try llama-1b" >&2
  exit 1
fi
"$here/loftq" --version >/dev/null   # build once, outside the timings
{
  echo "# loftq scale run: $shape, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, heap $heap"
  rm -rf "$work/model" "$work/out"
  echo "## synth"
  /usr/bin/time -f "wall %e s, peak RSS %M KB" "$here/loftq" synth --shape "$shape" --out "$work/model" --dtype bf16 2>&1 | grep -v WARNING
  echo "## quantize --bits 4 --rank 16 --iters 5 --max-memory 4g"
  LOFTQ_JAVA_OPTS="-Xmx$heap" /usr/bin/time -f "wall %e s, peak RSS %M KB" "$here/loftq" quantize --model "$work/model" \
    --out "$work/out" --bits 4 --rank 16 --iters 5 --max-memory 4g 2>&1 | grep -vE "WARNING|^\[[0-9]+/" | tail -4
  echo "## sizes"
  du -sb "$work/model" "$work/out"
} | tee "$report"
