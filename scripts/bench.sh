#!/usr/bin/env bash
# Kernel benchmarks + numpy/torch peers + agreement checks + report, in one command:
#   bash scripts/bench.sh [--quick] [--no-build] [BUILD_DIR (default build)]
# Full mode writes bench/results/{kernels,peers_numpy,peers_torch,bench}.json and bench.md;
# --quick (CI smoke test, small sizes) writes the same files to BUILD_DIR/bench/quick/.
# Env: BENCH_FILTER (passed as --benchmark_filter), OMP_NUM_THREADS (also the peers' --threads).
# Exits non-zero if any step fails, in particular if a peer disagrees with attnflow's dump.
set -euo pipefail

QUICK=0
BUILD_STEP=1
BUILD=build
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    --no-build) BUILD_STEP=0 ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "bench.sh: unknown option $arg" >&2; exit 2 ;;
    *) BUILD=$arg ;;
  esac
done

BUILD=$(realpath -m "$BUILD")   # relative to the caller's directory, before the cd below
cd "$(dirname "$0")/.."
PY=/usr/bin/python3             # Debian's interpreter: numpy + python3-torch
PEER=bench/peers/attention_rhs.py
BIN=$BUILD/bench/bench_kernels
THREADS=${OMP_NUM_THREADS:-$(nproc)}

if [ "$BUILD_STEP" = 1 ]; then
  if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release
  fi
  cmake --build "$BUILD" --target bench_kernels -j2
fi
[ -x "$BIN" ] || { echo "bench.sh: $BIN not found" >&2; exit 1; }

if [ "$QUICK" = 1 ]; then
  OUT=$BUILD/bench/quick
  KERNELS=$OUT/kernels.json
  FILTER=${BENCH_FILTER:-/N:1024/|^dgemm/n:1024}
  GB_ARGS=(--benchmark_filter="$FILTER" --benchmark_min_time=0.01)
  PEER_ARGS=(--n 256 1024 --d 3 16 --min-time 0.05)
else
  OUT=bench/results
  KERNELS=$BUILD/bench/kernels.json
  GB_ARGS=()
  if [ -n "${BENCH_FILTER:-}" ]; then GB_ARGS=(--benchmark_filter="$BENCH_FILTER"); fi
  PEER_ARGS=(--n 1024 4096 16384 65536 --d 2 3 16 64)
fi
mkdir -p "$OUT" "$(dirname "$KERNELS")"

# Peers: numpy always; torch when Debian's python3-torch is importable.
BACKENDS=(numpy)
if "$PY" -c 'import torch' 2>/dev/null; then
  BACKENDS+=(torch)
else
  echo "bench.sh: torch not importable by $PY; torch peer not run" >&2
fi

echo "== attnflow kernels: $BIN ${GB_ARGS[*]:-}" >&2
"$BIN" --benchmark_out="$KERNELS" --benchmark_out_format=json "${GB_ARGS[@]}" >&2

PEER_FILES=()
for b in "${BACKENDS[@]}"; do
  echo "== peer $b (threads $THREADS)" >&2
  "$PY" "$PEER" --backend "$b" "${PEER_ARGS[@]}" --threads "$THREADS" --out "$OUT/peers_$b.json" >&2
  PEER_FILES+=("$OUT/peers_$b.json")
done

# Agreement: each peer recomputes attnflow's right-hand side from attnflow's own dump.
DUMPS=$(mktemp -d)
trap 'rm -rf "$DUMPS"' EXIT
for nd in "512 3" "300 16"; do
  set -- $nd
  dir=$DUMPS/n$1_d$2
  "$BIN" --dump "$dir" --dump-n "$1" --dump-d "$2" >&2
  for b in "${BACKENDS[@]}"; do
    "$PY" "$PEER" --backend "$b" --threads "$THREADS" --check "$dir" >&2 ||
      { echo "bench.sh: $b peer disagrees with attnflow's dump (N=$1, d=$2)" >&2; exit 1; }
  done
done

"$PY" bench/report.py --kernels "$KERNELS" --peers "${PEER_FILES[@]}" \
  --json "$OUT/bench.json" --md "$OUT/bench.md"
if [ "$QUICK" = 0 ]; then cp "$KERNELS" "$OUT/kernels.json"; fi
cat "$OUT/bench.md"
