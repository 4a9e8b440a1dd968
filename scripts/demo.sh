#!/usr/bin/env bash
# make demo: run the quickstart scenario, verify its claims, render it when the renderer exists.
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
"$BUILD/attnflow" check scenarios/quickstart.toml
OUT=out/quickstart.h5
echo
echo "trajectory:       $OUT  (H5MD; open with h5py or any HDF5 tool)"
echo "ParaView sidecar: out/quickstart.xdmf2  (File > Open, or OpenDataFile in pvpython)"
if [ -x scripts/demo_render.sh ] && "$BUILD/attnflow" --help | grep -q render; then
  bash scripts/demo_render.sh "$OUT" "$BUILD"
fi
