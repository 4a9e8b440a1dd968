// Internal interfaces of the renderer: option records and the parts render_main drives.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "viz/h5_reader.hpp"

namespace attnflow::viz {

// Failure of an output step (cannot write a file, rendering failed): exit code 4.
struct OutputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Invalid request discovered while rendering (unknown observable...): exit code 2.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct FrameOptions {
  std::vector<std::size_t> frames;  // stored frame indices to render, in order
  std::string color = "index";
  std::size_t trail = 0;
  int width = 800, height = 800;
  double point_radius = 0;  // 0: automatic
  bool quiet = false;
};

// Renders the chosen frames of one run to dir/frame_%04d.png; returns the paths written.
std::vector<std::string> render_frames(Run& run, const FrameOptions& opt, const std::string& dir);

struct PlotOptions {
  std::vector<std::string> observables;  // already resolved ("all" expanded)
  bool log_y = false;
  int width = 900, height = 600;
};

// One PNG per observable: dir/plot_<name>.png with a line per run; returns the paths.
std::vector<std::string> render_plots(const std::vector<Run*>& runs, const PlotOptions& opt,
                                      const std::string& dir);

// Heat map(s) of /analysis/matrices/<name>: dir/heatmap_<name>[_hK].png; returns the paths.
std::vector<std::string> render_heatmap(Run& run, const std::string& name, int width,
                                        int height, const std::string& dir);

// Grid of the given PNGs (all the same size) scaled to cell_width pixels wide; cols = 0:
// about square. Written with VTK image filters (vtkImageResize, vtkImageAppend).
void write_montage(const std::vector<std::string>& pngs, int cols, int cell_width,
                   const std::string& out);

// Animated WebP of the given PNGs at fps frames per second (libwebp's WebPAnimEncoder).
bool animation_supported();
void write_animation(const std::vector<std::string>& pngs, double fps, const std::string& out);

// Display handling (headless.cpp).
bool display_usable();
// Replaces the process by `xvfb-run ... /proc/self/exe <same argv>`; returns only on
// failure (exit code to use, message already printed).
int reexec_under_xvfb();

}  // namespace attnflow::viz
