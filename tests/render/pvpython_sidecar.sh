#!/usr/bin/env bash
# Test: the XDMF 2 sidecar of a run opens in ParaView 5.11 with N points and T time steps.
#
#   pvpython_sidecar.sh RUN.xdmf2 N T CACHE_DIR
#
# N and/or T may be "auto": then they are read from RUN.h5 next to the sidecar
# (/particles/tokens_view/position/value is [T][N][3]) with Debian's /usr/bin/python3 + h5py.
#
# ParaView is NOT installed (Debian's python3-paraview conflicts with python3-vtk9, and apt
# would remove libvtk9-dev, SPEC section 8). Instead `apt-get download paraview
# python3-paraview` into CACHE_DIR, `dpkg -x` them into CACHE_DIR/prefix, and run that
# pvpython under xvfb-run with LD_LIBRARY_PATH / PYTHONPATH pointing into the prefix.
# Exit codes: 0 pass, 1 the sidecar does not load as expected, 77 skipped (ParaView cannot be
# set up here: no network, missing libraries...; the reason is printed), 2 usage.
set -u
if (($# != 4)); then
  echo "usage: $0 RUN.xdmf2 N T CACHE_DIR" >&2
  exit 2
fi
XDMF=$(realpath "$1") N=$2 T=$3 CACHE=$4
skip() { echo "SKIP: $*"; exit 77; }

[[ -s "$XDMF" ]] || { echo "FAIL: $XDMF does not exist"; exit 1; }
if [[ "$N" == auto || "$T" == auto ]]; then
  H5=${XDMF%.xdmf2}.h5
  shape=$(/usr/bin/python3 -c 'import sys, h5py
print(*h5py.File(sys.argv[1], "r")["particles/tokens_view/position/value"].shape[:2])' "$H5") ||
    { echo "FAIL: cannot read the frame and token counts from $H5"; exit 1; }
  read -r t_auto n_auto <<<"$shape"
  [[ "$N" == auto ]] && N=$n_auto
  [[ "$T" == auto ]] && T=$t_auto
  echo "expecting N=$N points and T=$T time steps (from $H5)"
fi
command -v xvfb-run >/dev/null || skip "xvfb-run not found (Debian packages xvfb, xauth)"
command -v dpkg >/dev/null && command -v apt-get >/dev/null || skip "not a Debian system (no apt-get/dpkg)"

mkdir -p "$CACHE" || skip "cannot create $CACHE"
CACHE=$(realpath "$CACHE")
PREFIX=$CACHE/prefix
if [[ ! -x "$PREFIX/usr/bin/pvpython" ]]; then
  (
    cd "$CACHE" || exit 1
    rm -f ./*.deb
    if ! apt-get download paraview python3-paraview >download.log 2>&1; then
      cat download.log
      exit 1
    fi
  ) || skip "apt-get download paraview python3-paraview failed (no network or no apt lists; try apt-get update)"
  rm -rf "$PREFIX.tmp"
  mkdir -p "$PREFIX.tmp"
  for deb in "$CACHE"/paraview_*.deb "$CACHE"/python3-paraview_*.deb; do
    [[ -f "$deb" ]] || skip "downloaded package missing: $deb"
    dpkg -x "$deb" "$PREFIX.tmp" || skip "dpkg -x $deb failed"
  done
  rm -rf "$PREFIX"
  mv "$PREFIX.tmp" "$PREFIX"
  rm -f "$CACHE"/*.deb  # the unpacked prefix is the cache
fi
[[ -x "$PREFIX/usr/bin/pvpython" ]] || skip "no usr/bin/pvpython in the unpacked packages"

LIB=$PREFIX/usr/lib/x86_64-linux-gnu
export LD_LIBRARY_PATH="$LIB:$LIB/paraview-5.11${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PYTHONPATH="$PREFIX/usr/lib/python3/dist-packages${PYTHONPATH:+:$PYTHONPATH}"

# ParaView's own library dependencies must be installed as ordinary Debian packages.
missing=$(ldd "$PREFIX/usr/bin/pvpython" "$LIB"/paraview-5.11/libvtkPVCore*.so* 2>/dev/null |
  awk '/not found/ {print $1}' | sort -u | tr '\n' ' ')
[[ -z "$missing" ]] || skip "ParaView needs libraries that are not installed: $missing (see apt-cache depends paraview)"

SCRIPT=$CACHE/check_sidecar.py
cat >"$SCRIPT" <<'PY'
import sys
from paraview.simple import OpenDataFile

path, want_n, want_t = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
reader = OpenDataFile(path)
if reader is None:
    print("OpenDataFile returned None for", path)
    sys.exit(3)
print("reader:", reader.GetXMLName())
steps = reader.TimestepValues
steps = list(steps) if hasattr(steps, "__len__") else ([steps] if steps is not None else [])
counts = []
for t in (steps or [0.0]):
    reader.UpdatePipeline(t)
    counts.append(reader.GetDataInformation().GetNumberOfPoints())
print("time steps:", len(steps), "points per step:", sorted(set(counts)))
print("RESULT points=%d steps=%d" % (min(counts), len(steps)))
arrays = list(reader.PointData.keys())
print("point arrays:", arrays)
# attnflow sidecars carry per-token arrays (token_id always; phase / momentum when present).
need_arrays = "token_id" not in arrays and "/particles/tokens/id" in open(path).read()
sys.exit(0 if (len(steps) == want_t and all(c == want_n for c in counts) and not need_arrays) else 1)
PY

out=$(xvfb-run -a -s "-screen 0 1280x1024x24 -noreset" \
  "$PREFIX/usr/bin/pvpython" "$SCRIPT" "$XDMF" "$N" "$T" 2>&1)
rc=$?
echo "$out" | grep -v '^$' | tail -n 20
if grep -qE "error while loading shared libraries|cannot open shared object file|No module named 'paraview'" <<<"$out" &&
  ! grep -q "RESULT" <<<"$out"; then
  skip "pvpython cannot start here (missing libraries or modules, see above)"
fi
if ((rc != 0)); then
  echo "FAIL: $XDMF: expected $N points in each of $T time steps (pvpython exit $rc)"
  exit 1
fi
echo "PASS: $XDMF has $N points x $T time steps in ParaView 5.11"
