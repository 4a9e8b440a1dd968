#!/usr/bin/env bash
# Renders a run (the quickstart of `make demo`): PNG frames, an animated WebP, a montage and
# plots of every observable, then prints where they are.
#
#   scripts/demo_render.sh OUT.h5 BUILD_DIR
#
# Uses BUILD_DIR/attnflow render (or BUILD_DIR/viz/attnflow_render_tool when the executable
# was built without the renderer). Works without a display: render re-runs itself under
# xvfb-run. Exit code: that of `attnflow render` (0 ok, 2 bad input, 4 I/O failure).
set -euo pipefail
if (($# != 2)); then
  echo "usage: $0 OUT.h5 BUILD_DIR" >&2
  exit 2
fi
H5=$1
BUILD=$2
if [[ ! -s "$H5" ]]; then
  echo "demo_render: $H5 does not exist (run the simulation first)" >&2
  exit 2
fi

if [[ -x "$BUILD/attnflow" ]] && "$BUILD/attnflow" render --help >/dev/null 2>&1; then
  RENDER=("$BUILD/attnflow" render)
elif [[ -x "$BUILD/viz/attnflow_render_tool" ]]; then
  RENDER=("$BUILD/viz/attnflow_render_tool")
else
  echo "demo_render: no renderer in $BUILD (configure with -DATTNFLOW_WITH_VTK=ON)" >&2
  exit 2
fi

DIR=${H5%.h5}_render
rm -rf "$DIR"
"${RENDER[@]}" "$H5" -o "$DIR" --max-frames 60 --quiet
"${RENDER[@]}" "$H5" -o "$DIR" --plot all --quiet

frames=("$DIR"/frame_*.png)
echo "render: ${#frames[@]} frames in $DIR/ (first ${frames[0]##*/}, last ${frames[-1]##*/})"
echo "render: last frame  ${frames[-1]}"
[[ -f "$DIR/animation.webp" ]] && echo "render: animation   $DIR/animation.webp (open it in a web browser)"
[[ -f "$DIR/montage.png" ]] && echo "render: montage     $DIR/montage.png"
for p in "$DIR"/plot_*.png; do
  [[ -f "$p" ]] && echo "render: plot        $p"
done
exit 0
