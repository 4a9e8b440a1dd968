#!/usr/bin/env bash
# Test driver for `attnflow render` (see render_tests.cmake). Environment: RENDER (the render
# command, e.g. "/path/attnflow render"), PROBE (attnflow_png_probe), OUT (a fresh output
# directory for this test). Arguments: segments separated by a lone "--":
#   run ARGS...            run RENDER ARGS -o $OUT; it must exit 0
#   files K                $OUT holds exactly K frame_*.png
#   png NAME PROBE-ARGS... PROBE $OUT/NAME PROBE-ARGS must pass (size, pixel counts, colours)
#   webp NAME --frames N   the animated WebP $OUT/NAME has N frames
#   fail CODE ARGS...      RENDER ARGS must exit with CODE and print "attnflow render:" on stderr
#   headless ARGS...       with DISPLAY unset, RENDER ARGS -o $OUT must say it re-runs under
#                          xvfb-run and still write $OUT/frame_0000.png
set -u
: "${RENDER:?}" "${PROBE:?}" "${OUT:?}"
read -r -a RENDER_CMD <<<"$RENDER"
rm -rf "$OUT"
mkdir -p "$OUT"
status=0
failed() { echo "FAIL: $*"; status=1; }

segments=()
cur=()
for a in "$@"; do
  if [[ "$a" == "--" ]]; then
    segments+=("$(printf '%q ' "${cur[@]}")"); cur=()
  else
    cur+=("$a")
  fi
done
((${#cur[@]})) && segments+=("$(printf '%q ' "${cur[@]}")")

for seg in "${segments[@]}"; do
  eval "set -- $seg"
  kind=$1; shift
  case "$kind" in
    run)
      echo "+ ${RENDER_CMD[*]} $* -o $OUT"
      "${RENDER_CMD[@]}" "$@" -o "$OUT"
      rc=$?
      [[ $rc == 0 ]] || failed "render exited with $rc"
      ;;
    files)
      n=$(find "$OUT" -maxdepth 1 -name 'frame_*.png' | wc -l)
      echo "frames written: $n (want $1)"
      [[ "$n" == "$1" ]] || failed "expected $1 frame files, found $n"
      ;;
    png|webp)
      name=$1; shift
      if [[ ! -s "$OUT/$name" ]]; then failed "$OUT/$name missing"; continue; fi
      "$PROBE" "$OUT/$name" "$@" || failed "probe of $name"
      ;;
    fail)
      want=$1; shift
      err=$("${RENDER_CMD[@]}" "$@" -o "$OUT/fail" 2>&1 >/dev/null)
      rc=$?
      echo "+ render $* -> exit $rc: $(echo "$err" | grep -v 're-running under xvfb' | head -n 2)"
      [[ $rc == "$want" ]] || failed "expected exit $want, got $rc"
      grep -q "attnflow render" <<<"$err" || failed "no error message for: $*"
      ;;
    headless)
      err=$(env -u DISPLAY "${RENDER_CMD[@]}" "$@" -o "$OUT" 2>&1 >/dev/null)
      rc=$?
      echo "$err"
      [[ $rc == 0 ]] || failed "headless render exited with $rc"
      grep -q "xvfb-run" <<<"$err" || failed "no message about xvfb-run"
      [[ -s "$OUT/frame_0000.png" ]] || failed "no frame written"
      ;;
    *) echo "check.sh: unknown segment '$kind'"; exit 2 ;;
  esac
done
exit $status
