// Internal interfaces of the renderer: option records and the parts render_main drives.
#pragma once

#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <vtkSmartPointer.h>

#include "viz/run_data.hpp"

class vtkAxis;
class vtkColorTransferFunction;
class vtkContextView;
class vtkImageData;
class vtkTable;

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

// A sweep file (sim/io/sweep_file.hpp): heat map of the ensemble mean of a statistic over
// (key, t) or (key 1, key 2) at one frame, with the level-set contour; or, with curves,
// mean +/- 2 stderr against t at up to max_curves grid points. Writes opt.output.
struct SweepOptions {
  std::string input, statistic;  // statistic "": the first recorded
  // output: the PNG to write; if empty, output_dir/phase_<statistic>.png (curves_<...>.png)
  std::string output, output_dir;
  bool dry_run = false;  // read and validate only; returns the path that would be written
  double level = 0.5;
  double time = std::numeric_limits<double>::quiet_NaN();  // two keys: frame nearest; NaN: last
  bool curves = false, quiet = false;
  std::size_t max_curves = 6;
  int width = 900, height = 700;
};
std::vector<std::string> render_sweep(const SweepOptions& opt);

// A mean-field density run (Run::has_density): DIR/density.png, the heat map of rho over
// (t, theta); with particles, the histogram of their angles (bins bins) per stored frame drawn
// over it as contour lines (viz/density_plot.cpp). Returns the path written.
struct DensityOptions {
  Run* particles = nullptr;  // Run::has_angles()
  std::size_t bins = 64;
  bool log = false;  // colour and overlay levels in log10(rho), 4 decades below the maximum
  int width = 900, height = 650;
  bool quiet = false;
};
std::string render_density(Run& run, const DensityOptions& opt, const std::string& dir);

// Chart helpers of plots.cpp, sweep_plots.cpp and density_plot.cpp (defined in plots.cpp).
vtkSmartPointer<vtkContextView> make_view(int width, int height);  // white, offscreen
// Renders the view and writes it as PNG (under a temporary name, renamed when complete).
void save_view(vtkContextView* view, const std::string& path);
void style_axis(vtkAxis* a, const std::string& title, int font = 15);  // labels font - 2
vtkSmartPointer<vtkColorTransferFunction> viridis(double lo, double hi);
// The level sets of a point-centred image at the given levels, as a two-column table (x, y)
// of point pairs for a vtkPlotLine with SetPolyLine(false); no rows if nothing is crossed.
vtkSmartPointer<vtkTable> contour_segments(vtkImageData* img, const std::vector<double>& levels,
                                           const std::string& label);
std::string fmt(const char* format, double v);  // snprintf of one number
std::string safe_file_part(std::string s);     // letters, digits, - _ . kept; others _

// Grid of the given PNGs (all the same size) scaled to cell_width pixels wide; cols = 0:
// about square. Written with VTK image filters (vtkImageResize, vtkImageAppend).
void write_montage(const std::vector<std::string>& pngs, int cols, int cell_width,
                   const std::string& out);

// Animated WebP of the given PNGs at fps frames per second (libwebp's WebPAnimEncoder).
bool animation_supported();
void write_animation(const std::vector<std::string>& pngs, double fps, const std::string& out);

// Display handling (headless.cpp).
bool display_usable();
// Runs `xvfb-run ... /proc/self/exe <same argv>` as a child in its own process group and
// supervises it: SIGINT/SIGTERM are forwarded to the renderer (then to the whole group, then
// SIGKILL if it lingers), every descendant (xvfb-run, Xvfb, renderer) is reaped, and the
// private TMPDIR given to xvfb-run is removed. Returns the exit code: the renderer's, or
// 128 + signal when interrupted, or 4 when xvfb-run cannot start the renderer.
int run_under_xvfb();

// Interruption (headless.cpp). render_main installs SIGINT/SIGTERM handlers that only record
// the signal; the long loops (frames, montage cells, animation frames, plots, heat maps)
// call check_interrupted() between items, which throws Interrupted. A renderer started by
// run_under_xvfb() also stops when its supervising parent has gone away.
struct Interrupted : std::runtime_error {
  explicit Interrupted(int s);
  int sig;
};
class SignalScope {  // installs the handlers for the lifetime of render_main
 public:
  SignalScope();
  ~SignalScope();
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;
};
int pending_signal();           // 0 or the first SIGINT/SIGTERM received
bool interruption_requested();  // a signal arrived, or the supervising parent is gone
void check_interrupted();       // throws Interrupted if interruption_requested()

// An output file written under a temporary name in the same directory and renamed to its
// final name by commit(): an interrupted or failed write never leaves a partial file under
// the final name (the destructor removes the temporary file unless committed).
class PendingFile {
 public:
  explicit PendingFile(std::string final_path);
  ~PendingFile();
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;
  const std::string& temp() const { return temp_; }
  void commit();  // rename temp -> final; throws OutputError
 private:
  std::string final_, temp_;
  bool done_ = false;
};

}  // namespace attnflow::viz
