// attnflow render: PNG frames, animation, montage, plots and heat maps of attnflow runs,
// drawn with VTK 9.1 (offscreen render windows; see docs/render.md for examples).
//
//   attnflow render RUN.h5 [RUN2.h5 ...] [-o DIR] [options]
//
// Input: run files in the H5MD 1.1 layout of SPEC section 4, read through sim/io/h5md_reader.hpp.
// Output directory: -o DIR, default "<first RUN without .h5>_render". With several runs the
// frames of each run go to DIR/<run file stem>/; plots always compare all runs.
//
// Frames (the default action unless --plot/--heatmap is given alone):
//   --frames all|I,J,...   stored frame indices; negative ones count from the end (-1 = last)
//   --times T1,T2,...      times; each picks the nearest stored frame
//   --max-frames K         without --frames/--times: K frames evenly spaced (default 60)
//   --color Q              index (default) | speed (|momentum|, else |dx/dt|) | phase |
//                          NAME (any /particles/tokens/NAME/value, [T][N] or its norm)
//   --trail K              polylines through each token's last K stored frames (default 0)
//   --size WxH             image size in pixels (default 800x800)
//   --point-radius R       glyph radius in scene units (default: from extent and N)
//   Writes DIR/frame_0000.png, frame_0001.png, ... Each frame: tokens_view positions as
//   spheres coloured by Q with a colour bar, the unit sphere drawn faintly for sphere runs
//   with d >= 3 (a circle for d = 2), a camera fixed across frames from the bounds of all
//   frames, and the run name, time, step and frame number in the upper-left corner.
//   --animate/--no-animate DIR/animation.webp, an animated WebP of the frames (default on
//                          when more than one frame is rendered); --fps F (default 10)
//   --montage/--no-montage DIR/montage.png, a grid of the frames (default on when more than
//                          one frame); --montage-cols C (default: about square),
//                          --montage-width W (width of one cell in pixels, default 320),
//                          --montage-frames K (at most K evenly spaced frames, default 16)
//
// Plots and heat maps:
//   --plot all|NAME,...    DIR/plot_NAME.png: /observables/NAME against time, one line per
//                          run; fitted exponentials of /analysis/fits/NAME drawn dashed
//   --log                  logarithmic y axis (non-positive values are left out)
//   --heatmap NAME         DIR/heatmap_NAME.png (DIR/heatmap_NAME_hK.png per head K) of the
//                          matrix /analysis/matrices/NAME, [N][N] or [H][N][N]
//   --quiet                print nothing but errors
//
// Sweep files (sim/io/sweep_file.hpp, detected with is_sweep_file; viz/sweep_plots.cpp):
//   attnflow render SWEEP.h5 [-o OUT.png | -o DIR] [--statistic NAME] [--level L]
//                            [--time T] [--curves] [--size WxH]
//   one swept key: heat map of the ensemble mean of NAME (default: the first statistic) over
//   (key, t) with a colour bar and the contour mean = L (default 0.5, drawn if crossed);
//   two keys: heat map over (key 1, key 2) at the frame nearest T (default the last);
//   --curves: mean +/- 2 stderr against t at up to 6 evenly spaced grid points.
//   Default output: DIR/phase_NAME.png or DIR/curves_NAME.png, DIR = SWEEP_render.
//
// Mean-field density runs (a file with /fields/density, H5mdReader::density_field;
// viz/density_plot.cpp): drawn where a particle run's frames would be, as DIR/density.png, a
// space-time heat map of rho with t across, theta in [0, 2 pi) up (ticks 0, pi/2, pi, 3pi/2,
// 2pi), viridis with a colour bar, the run name as title. Frame options are refused for it.
//   attnflow render DENSITY.h5 [-o DIR] [--particles P.h5 [--bins B]] [--size WxH]
//   --particles P.h5       over the heat map, the histogram of P's token angles at each of P's
//                          own stored frames (a density with unit mass on [0, 2 pi), like rho)
//                          as white contour lines on a black rim at a few round levels of rho,
//                          named in the title. P: a run on the circle (d = 2 positions, angle
//                          atan2(y, x)) or an oscillator run (/particles/tokens/phase mod 2 pi).
//   --bins B               histogram bins (default 64, 2 <= B <= 4096)
//   --size WxH             default 900x650
//
// Display: VTK 9.1 on Debian renders only through X. Without a usable $DISPLAY, render_main
// re-runs the current program under `xvfb-run -a -s "-screen 0 1280x1024x24 -noreset"`
// (marker variable ATTNFLOW_RENDER_UNDER_XVFB prevents loops) and says so on stderr. It runs
// it as a child and supervises it (viz/headless.cpp): SIGINT/SIGTERM are forwarded, Xvfb is
// stopped and xvfb-run's temporary folder removed before render_main returns.
//
// Signals: SIGINT/SIGTERM stop the renderer between frames (exit 130/143). Every output file
// is written under a temporary name and renamed when complete, so an interrupted render
// leaves no partial PNG or WebP under a final name.
#pragma once

#include <string>
#include <vector>

namespace attnflow::viz {

// Entry point of `attnflow render RUN.h5 [-o DIR] [...]`. args are the arguments after
// the word "render" (argv-style, without program name). Returns the process exit code:
// 0 ok, 2 invalid input/options (message on stderr), 4 I/O failure (unreadable/malformed file),
// 130/143 interrupted by SIGINT/SIGTERM.
int render_main(const std::vector<std::string>& args);

}  // namespace attnflow::viz
