// Mean-field density runs (/fields/density, H5mdReader::density_field): DIR/density.png, a
// space-time heat map of rho(t, theta) in an offscreen vtkChartHistogram2D: t on the
// horizontal axis, theta in [0, 2 pi) on the vertical one (ticks 0, pi/2, pi, 3pi/2, 2pi),
// viridis with a colour bar, the run name as title. With a particle run (--particles), the
// histogram of its token angles at each of its own stored frames (B bins, normalised as a
// density with unit mass on [0, 2 pi), like rho) is drawn over the map as contour lines
// (vtkContourFilter) at a few round levels of rho: white on a black rim, so that they show on
// dark and bright colours alike; the title names the particle file, B and the levels.
#include <vtkAxis.h>
#include <vtkChartHistogram2D.h>
#include <vtkColorLegend.h>
#include <vtkColorTransferFunction.h>
#include <vtkContextScene.h>
#include <vtkContextView.h>
#include <vtkDoubleArray.h>
#include <vtkImageData.h>
#include <vtkNew.h>
#include <vtkPlotLine.h>
#include <vtkRect.h>
#include <vtkStringArray.h>
#include <vtkTable.h>
#include <vtkTextProperty.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <numbers>

#include "viz/render_internal.hpp"

namespace attnflow::viz {
namespace {
namespace fs = std::filesystem;
constexpr double kTwoPi = 2 * std::numbers::pi;

// The columns of a heat map over the stored times t (increasing), evenly spaced from the
// first to the last: for each column the nearest stored frame (all of them for uniform times).
// The spacing of the columns is returned in dt (1 for a single frame).
std::vector<std::size_t> uniform_columns(const std::vector<double>& t, double& dt) {
  const std::size_t n = t.size();
  dt = n > 1 && t.back() > t.front() ? (t.back() - t.front()) / static_cast<double>(n - 1) : 1.0;
  std::vector<std::size_t> out(n);
  std::size_t k = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double want = t.front() + dt * static_cast<double>(i);
    while (k + 1 < n && std::abs(t[k + 1] - want) <= std::abs(t[k] - want)) ++k;
    out[i] = k;
  }
  return out;
}

// About four round levels (multiples of 1, 2 or 5 x 10^k) strictly inside (lo, hi).
std::vector<double> round_levels(double lo, double hi) {
  const double raw = (hi - lo) / 4, mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / mag, step = mag * (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10);
  std::vector<double> out;
  for (double k = std::floor(lo / step) + 1; k * step < hi; ++k) out.push_back(k * step);
  return out;
}

}  // namespace

std::string render_density(Run& run, const DensityOptions& opt, const std::string& dir) {
  const DensityField f = run.density();
  const std::size_t T = f.frames, M = f.cells;
  if (T == 0) throw InputError(run.path() + ": /fields/density has no frames");
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : f.value)
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!std::isfinite(lo)) throw InputError(run.path() + ": /fields/density has no finite values");
  // --log: colours (and overlay levels) in log10 rho over the 4 decades below the maximum.
  const double floor_v = opt.log ? std::max(hi, 1e-300) * 1e-4 : 0;
  auto scale = [&](double v) { return opt.log ? std::log10(std::max(v, floor_v)) : v; };
  if (opt.log) lo = scale(lo), hi = scale(hi);
  if (hi <= lo) hi = lo + 1;

  // The heat map: pixel (i, j) is cell j of the frame of column i (NaN drawn grey).
  double dt = 1;
  const auto cols = uniform_columns(f.time, dt);
  const double h = f.cell_width, t0 = f.time.front() - dt / 2, t1 = f.time.back() + dt / 2;
  vtkNew<vtkImageData> img;
  img->SetDimensions(static_cast<int>(T), static_cast<int>(M), 1);
  img->SetOrigin(t0, f.grid.front() - h / 2, 0);
  img->SetSpacing(dt, h, 1);
  img->AllocateScalars(VTK_DOUBLE, 1);
  for (std::size_t j = 0; j < M; ++j)
    for (std::size_t i = 0; i < T; ++i)
      *static_cast<double*>(img->GetScalarPointer(static_cast<int>(i), static_cast<int>(j), 0)) =
          scale(f.at(cols[i], j));
  auto ctf = viridis(lo, hi);

  auto view = make_view(opt.width, opt.height);
  vtkNew<vtkChartHistogram2D> chart;
  view->GetScene()->AddItem(chart);
  chart->SetInputData(img);
  chart->SetTransferFunction(ctf);
  style_axis(chart->GetAxis(vtkAxis::BOTTOM), "t", 16);
  style_axis(chart->GetAxis(vtkAxis::LEFT), "theta", 16);
  if (auto* legend = vtkColorLegend::SafeDownCast(chart->GetLegend())) {
    legend->SetTitle(opt.log ? "log10 rho" : "rho");
    legend->GetLabelProperties()->SetFontSize(13);
  }
  vtkNew<vtkDoubleArray> tick_pos;
  vtkNew<vtkStringArray> tick_label;
  const char* names[] = {"0", "pi/2", "pi", "3pi/2", "2pi"};
  for (int k = 0; k <= 4; ++k) {
    tick_pos->InsertNextValue(kTwoPi * k / 4);
    tick_label->InsertNextValue(names[k]);
  }
  chart->GetAxis(vtkAxis::LEFT)->SetCustomTickPositions(tick_pos, tick_label);

  // The particle histogram per stored frame of the particle run, with the first and last bins
  // repeated below 0 and above 2 pi so that the lines close across theta = 0.
  std::string title = run.name();
  vtkSmartPointer<vtkTable> seg;  // outlives the render
  if (opt.particles) {
    check_interrupted();
    Run& p = *opt.particles;
    const std::vector<double> angle = p.angles();  // [F][N]
    const std::size_t F = p.times().size(), N = F > 0 ? angle.size() / F : 0, B = opt.bins;
    if (N == 0) throw InputError(p.path() + ": no token angles to draw");
    const double bw = kTwoPi / static_cast<double>(B);
    double pdt = 1;
    const auto pcols = uniform_columns(p.times(), pdt);
    vtkNew<vtkImageData> hist;
    hist->SetDimensions(static_cast<int>(F), static_cast<int>(B + 2), 1);
    hist->SetOrigin(p.times().front(), -bw / 2, 0);
    hist->SetSpacing(pdt, bw, 1);
    hist->AllocateScalars(VTK_DOUBLE, 1);
    std::vector<double> count(B);
    for (std::size_t i = 0; i < F; ++i) {
      std::fill(count.begin(), count.end(), 0.0);
      double used = 0;
      for (std::size_t n = 0; n < N; ++n) {
        const double a = angle[pcols[i] * N + n];
        if (!std::isfinite(a)) continue;
        count[std::min(B - 1, static_cast<std::size_t>(a / bw))] += 1;
        used += 1;
      }
      for (std::size_t j = 0; j < B + 2; ++j)
        *static_cast<double*>(hist->GetScalarPointer(static_cast<int>(i), static_cast<int>(j), 0)) =
            scale(used > 0 ? count[(j + B - 1) % B] / (used * bw) : 0.0);
    }
    const std::vector<double> levels = round_levels(lo, hi);
    seg = contour_segments(hist, levels, "particle histogram");
    if (seg->GetNumberOfRows() == 0 && !opt.quiet)
      std::fprintf(stderr, "attnflow render: no overlay lines: the angle histogram of %s %s\n",
                   p.path().c_str(), F < 2 ? "has one frame" : "crosses none of the levels");
    if ((p.times().front() < t0 || p.times().back() > t1) && !opt.quiet)
      std::fprintf(stderr, "attnflow render: %s has frames outside the time range of %s; the "
                           "overlay is cut to it\n", p.path().c_str(), run.path().c_str());
    for (const auto& [width, grey] : {std::pair{4.5f, 0}, std::pair{2.0f, 255}}) {
      if (seg->GetNumberOfRows() == 0) break;
      vtkNew<vtkPlotLine> line;  // a black rim, then the white line on it
      line->SetPolyLine(false);  // every pair of points is one segment
      line->SetInputData(seg, 0, 1);
      line->SetColor(grey, grey, grey, 255);
      line->SetWidth(width);
      chart->AddPlot(line);
    }
    std::string at;
    for (double v : levels) at += (at.empty() ? "" : ", ") + fmt("%g", v);
    title += "\nwhite lines: angle histogram of " + fs::path(p.path()).filename().string() +
             " (N = " + std::to_string(N) + ", " + std::to_string(B) + " bins) at " +
             (opt.log ? "log10 rho = " : "rho = ") + at;
  }
  chart->SetTitle(title);
  chart->GetTitleProperties()->SetFontSize(16);
  // Margins so that the axis and chart titles are not clipped by the image border.
  const float top = opt.particles ? 66.0f : 36.0f;
  chart->SetAutoSize(false);
  chart->SetSize(vtkRectf(10.0f, 22.0f, static_cast<float>(opt.width - 20),
                          static_cast<float>(opt.height) - top));
  // Axes exactly over the image.
  for (int a : {vtkAxis::BOTTOM, vtkAxis::LEFT}) chart->GetAxis(a)->SetBehavior(vtkAxis::FIXED);
  chart->GetAxis(vtkAxis::BOTTOM)->SetRange(t0, t1);
  chart->GetAxis(vtkAxis::LEFT)->SetRange(0, kTwoPi);

  const std::string path = (fs::path(dir) / "density.png").string();
  save_view(view, path);
  return path;
}

}  // namespace attnflow::viz
