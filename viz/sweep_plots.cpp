// Sweep files (sim/io/sweep_file.hpp): phase diagrams and curves of ensemble statistics.
//
//   one swept key:  heat map of the ensemble mean of a statistic over (key, t), the contour of
//                   the level set mean = level (vtkContourFilter) and a colour bar;
//   two swept keys: heat map over (key 1, key 2) at one frame (the last, or --time T);
//   --curves:       mean against t at a few grid points with a band of mean +/- 2 stderr.
// Each is drawn in an offscreen vtkContextView (vtkChartHistogram2D / vtkChartXY) and saved
// as PNG under a temporary name, renamed when complete (PendingFile).
#include <vtkAxis.h>
#include <vtkBrush.h>
#include <vtkChartHistogram2D.h>
#include <vtkChartLegend.h>
#include <vtkChartXY.h>
#include <vtkColorLegend.h>
#include <vtkColorTransferFunction.h>
#include <vtkContextScene.h>
#include <vtkContextView.h>
#include <vtkDoubleArray.h>
#include <vtkImageData.h>
#include <vtkNew.h>
#include <vtkPen.h>
#include <vtkPlotArea.h>
#include <vtkPlotLine.h>
#include <vtkRect.h>
#include <vtkTable.h>
#include <vtkTextProperty.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "sim/io/sweep_file.hpp"
#include "viz/render_internal.hpp"

namespace attnflow::viz {
namespace {
namespace fs = std::filesystem;

const unsigned char kPalette[][3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},
                                     {214, 39, 40},  {148, 103, 189}, {140, 86, 75},
                                     {227, 119, 194}, {127, 127, 127}, {188, 189, 34},
                                     {23, 190, 207}};

// Coordinate of a swept value on its axis: log10 for log-spaced axes.
double coord(const SweepData& s, std::size_t k, double v) {
  return s.log.size() > k && s.log[k] ? std::log10(v) : v;
}
std::string axis_title(const SweepData& s, std::size_t k) {
  return s.log.size() > k && s.log[k] ? "log10 " + s.keys[k] : s.keys[k];
}

// Uniform spacing of a coordinate list (the image's spacing); 1 for a single value.
double spacing_of(const std::vector<double>& c) {
  if (c.size() < 2) return 1.0;
  const double d = (c.back() - c.front()) / static_cast<double>(c.size() - 1);
  return d != 0 ? d : 1.0;
}

// Image [nx][ny] of values; cell (i, j) centred on (x[i], y[j]) (vtkPlotHistogram2D draws a
// pixel over [origin + i*spacing, origin + (i+1)*spacing]).
struct Grid2 {
  std::vector<double> x, y, v;  // v[j * nx + i]
  std::string xtitle, ytitle, title;
};

void draw_heatmap(const Grid2& g, const std::string& stat, double level, int width, int height,
                  const std::string& path) {
  const int nx = static_cast<int>(g.x.size()), ny = static_cast<int>(g.y.size());
  const double dx = spacing_of(g.x), dy = spacing_of(g.y);
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : g.v)
    if (std::isfinite(v)) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  if (!std::isfinite(lo)) throw InputError("no finite values of " + stat + " to draw");
  if (hi <= lo) hi = lo + 1;

  auto fill = [&](vtkImageData* img, double ox, double oy) {
    img->SetDimensions(nx, ny, 1);
    img->SetOrigin(ox, oy, 0);
    img->SetSpacing(dx, dy, 1);
    img->AllocateScalars(VTK_DOUBLE, 1);
    for (int j = 0; j < ny; ++j)
      for (int i = 0; i < nx; ++i)
        *static_cast<double*>(img->GetScalarPointer(i, j, 0)) =
            g.v[static_cast<std::size_t>(j) * nx + i];
  };
  vtkNew<vtkImageData> img;  // pixels centred on the grid values
  fill(img, g.x.front() - dx / 2, g.y.front() - dy / 2);

  auto ctf = viridis(lo, hi);

  auto view = make_view(width, height);
  vtkNew<vtkChartHistogram2D> chart;
  view->GetScene()->AddItem(chart);
  chart->SetInputData(img);
  chart->SetTransferFunction(ctf);
  // Margins so that the axis and chart titles are not clipped by the image border.
  chart->SetAutoSize(false);
  chart->SetSize(vtkRectf(10.0f, 22.0f, static_cast<float>(width - 20),
                          static_cast<float>(height - 36)));
  chart->SetTitle(g.title);
  chart->GetTitleProperties()->SetFontSize(17);
  style_axis(chart->GetAxis(vtkAxis::BOTTOM), g.xtitle, 16);
  style_axis(chart->GetAxis(vtkAxis::LEFT), g.ytitle, 16);
  if (auto* legend = vtkColorLegend::SafeDownCast(chart->GetLegend())) {
    legend->SetTitle("mean " + stat);
    legend->GetLabelProperties()->SetFontSize(13);
  }

  // The level set mean = level, from the point-centred image, as segments of a vtkPlotLine.
  vtkSmartPointer<vtkTable> seg;  // outlives the render
  if (level > lo && level < hi && nx > 1 && ny > 1) {
    vtkNew<vtkImageData> pimg;
    fill(pimg, g.x.front(), g.y.front());
    seg = contour_segments(pimg, {level}, "mean = " + fmt("%g", level));
    if (seg->GetNumberOfRows() > 0) {
      vtkNew<vtkPlotLine> line;
      line->SetPolyLine(false);  // every pair of points is one segment
      line->SetInputData(seg, 0, 1);
      line->SetColor(255, 255, 255, 255);
      line->SetWidth(3.0);
      chart->AddPlot(line);
    }
  }
  // Axes exactly over the image.
  for (int a : {vtkAxis::BOTTOM, vtkAxis::LEFT}) chart->GetAxis(a)->SetBehavior(vtkAxis::FIXED);
  chart->GetAxis(vtkAxis::BOTTOM)->SetRange(g.x.front() - dx / 2, g.x.back() + dx / 2);
  chart->GetAxis(vtkAxis::LEFT)->SetRange(g.y.front() - dy / 2, g.y.back() + dy / 2);
  save_view(view, path);
}

}  // namespace

std::vector<std::string> render_sweep(const SweepOptions& opt) {
  const SweepData s = read_sweep(opt.input, false);
  if (s.statistics.empty()) throw InputError(opt.input + ": the sweep stores no statistics");
  std::string stat = opt.statistic.empty() ? s.statistics.front() : opt.statistic;
  const int si = s.statistic(stat);
  if (si < 0) {
    std::string avail;
    for (const auto& n : s.statistics) avail += (avail.empty() ? "" : ", ") + n;
    throw InputError("--statistic: " + opt.input + " stores no statistic '" + stat +
                     "' (available: " + avail + ")");
  }
  const std::size_t G = s.points(), F = s.frames(), A = s.keys.size();
  if (G == 0 || F == 0) throw InputError(opt.input + ": the sweep has no points or no frames");
  if (A == 0 || A > 2)
    throw InputError(opt.input + ": " + std::to_string(A) +
                     " swept keys; phase diagrams are drawn for one or two");
  const auto& mean = s.mean[static_cast<std::size_t>(si)];
  const auto& se = s.stderr_[static_cast<std::size_t>(si)];
  auto done = [&](std::size_t g) { return s.done.empty() || s.done[g]; };
  std::size_t missing = 0;
  for (std::size_t g = 0; g < G; ++g) missing += done(g) ? 0 : 1;
  if (missing == G) throw InputError(opt.input + ": no grid point is complete yet");
  if (missing > 0 && !opt.quiet)
    std::fprintf(stderr, "attnflow render: %zu of %zu grid points are not done (drawn grey)\n",
                 missing, G);
  const std::string ens = std::to_string(s.size) + " systems per point";
  std::vector<std::string> written;
  if (A == 2 && opt.curves && std::isfinite(opt.time))
    throw InputError("--time is for the heat map, not --curves");
  if (A == 1 && std::isfinite(opt.time) && !opt.curves)
    throw InputError("--time is for sweeps over two keys (one key: time is the y axis)");
  const std::string out =
      !opt.output.empty()
          ? opt.output
          : (fs::path(opt.output_dir) /
             ((opt.curves ? "curves_" : "phase_") + safe_file_part(stat) + ".png"))
                .string();
  if (A == 2 && std::isfinite(opt.time)) {
    const auto& t = s.times.front();
    if (opt.time < t.front() - 1e-9 * (1 + std::abs(t.front())) ||
        opt.time > t.back() + 1e-9 * (1 + std::abs(t.back())))
      throw InputError("--time: t = " + fmt("%g", opt.time) + " is outside [" +
                       fmt("%g", t.front()) + ", " + fmt("%g", t.back()) + "]");
  }
  if (opt.dry_run) return {out};

  if (opt.curves) {
    check_interrupted();
    // At most opt.max_curves done points, evenly spaced over the grid.
    std::vector<std::size_t> pts;
    std::vector<std::size_t> ok;
    for (std::size_t g = 0; g < G; ++g)
      if (done(g)) ok.push_back(g);
    const std::size_t K = std::min<std::size_t>(opt.max_curves, ok.size());
    for (std::size_t c = 0; c < K; ++c) {
      std::size_t i = K == 1 ? 0 : (c * (ok.size() - 1) + (K - 1) / 2) / (K - 1);
      if (pts.empty() || pts.back() != ok[i]) pts.push_back(ok[i]);
    }
    auto view = make_view(opt.width, opt.height);
    vtkNew<vtkChartXY> chart;
    view->GetScene()->AddItem(chart);
    chart->SetAutoSize(false);
    chart->SetSize(vtkRectf(6.0f, 10.0f, static_cast<float>(opt.width - 12),
                            static_cast<float>(opt.height - 16)));
    chart->SetTitle(stat + ": ensemble mean +/- 2 stderr (" + ens + ")");
    chart->GetTitleProperties()->SetFontSize(17);
    style_axis(chart->GetAxis(vtkAxis::BOTTOM), "t", 16);
    style_axis(chart->GetAxis(vtkAxis::LEFT), "mean " + stat, 16);
    std::vector<vtkSmartPointer<vtkTable>> keep;
    for (std::size_t c = 0; c < pts.size(); ++c) {
      const std::size_t g = pts[c];
      std::string label;
      for (std::size_t k = 0; k < A; ++k)
        label += (k ? ", " : "") + s.keys[k] + " = " + fmt("%.4g", s.grid[g][k]);
      auto table = vtkSmartPointer<vtkTable>::New();
      vtkNew<vtkDoubleArray> t, m, lo, hi;
      t->SetName("t");
      m->SetName(label.c_str());
      lo->SetName("lo");
      hi->SetName("hi");
      for (std::size_t f = 0; f < F; ++f) {
        const double mv = mean[g * F + f], sv = se[g * F + f], tv = s.times[g][f];
        if (!std::isfinite(mv) || !std::isfinite(tv)) continue;
        const double band = std::isfinite(sv) ? 2 * sv : 0;
        t->InsertNextValue(tv);
        m->InsertNextValue(mv);
        lo->InsertNextValue(mv - band);
        hi->InsertNextValue(mv + band);
      }
      if (t->GetNumberOfTuples() == 0) continue;
      table->AddColumn(t);
      table->AddColumn(m);
      table->AddColumn(lo);
      table->AddColumn(hi);
      keep.push_back(table);
      const unsigned char* col = kPalette[c % 10];
      auto* area = vtkPlotArea::SafeDownCast(chart->AddPlot(vtkChart::AREA));
      area->SetInputData(table);
      area->SetInputArray(0, "t");
      area->SetInputArray(1, "lo");
      area->SetInputArray(2, "hi");
      area->SetColor(col[0], col[1], col[2], 70);
      area->SetLegendVisibility(false);
      vtkPlot* line = chart->AddPlot(vtkChart::LINE);
      line->SetInputData(table, 0, 1);
      line->SetColor(col[0], col[1], col[2], 255);
      line->SetWidth(2.5);
    }
    if (keep.empty()) throw InputError("--curves: no finite values of " + stat);
    chart->SetShowLegend(true);
    chart->GetLegend()->SetHorizontalAlignment(vtkChartLegend::LEFT);
    chart->GetLegend()->SetVerticalAlignment(vtkChartLegend::TOP);
    chart->GetLegend()->GetLabelProperties()->SetFontSize(14);
    save_view(view, out);
    written.push_back(out);
    return written;
  }

  check_interrupted();
  Grid2 g2;
  if (A == 1) {
    for (double v : s.axes[0]) g2.x.push_back(coord(s, 0, v));
    g2.y = s.times.front();
    g2.v.assign(g2.x.size() * F, std::numeric_limits<double>::quiet_NaN());
    if (g2.x.size() != G) throw InputError(opt.input + ": grid and axis sizes differ");
    for (std::size_t i = 0; i < G; ++i)
      if (done(i))
        for (std::size_t f = 0; f < F; ++f) g2.v[f * G + i] = mean[i * F + f];
    g2.xtitle = axis_title(s, 0);
    g2.ytitle = "t";
    g2.title = stat + ": ensemble mean (" + ens + ")";
  } else {
    const std::size_t n0 = s.axes[0].size(), n1 = s.axes[1].size();
    if (n0 * n1 != G) throw InputError(opt.input + ": grid and axis sizes differ");
    std::size_t f = F - 1;
    if (std::isfinite(opt.time)) {
      const auto& t = s.times.front();
      for (std::size_t k = 0; k < F; ++k)
        if (std::abs(t[k] - opt.time) < std::abs(t[f] - opt.time)) f = k;
    }
    for (double v : s.axes[0]) g2.x.push_back(coord(s, 0, v));
    for (double v : s.axes[1]) g2.y.push_back(coord(s, 1, v));
    g2.v.assign(G, std::numeric_limits<double>::quiet_NaN());
    for (std::size_t i0 = 0; i0 < n0; ++i0)
      for (std::size_t i1 = 0; i1 < n1; ++i1) {
        const std::size_t g = i0 * n1 + i1;
        if (done(g)) g2.v[i1 * n0 + i0] = mean[g * F + f];
      }
    g2.xtitle = axis_title(s, 0);
    g2.ytitle = axis_title(s, 1);
    g2.title = stat + ": ensemble mean at t = " + fmt("%g", s.times.front()[f]) + " (" + ens + ")";
  }
  const bool crosses = [&] {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (double v : g2.v)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    return opt.level > lo && opt.level < hi;
  }();
  if (crosses) g2.title += ", white: mean = " + fmt("%g", opt.level);
  draw_heatmap(g2, stat, opt.level, opt.width, opt.height, out);
  written.push_back(out);
  return written;
}

}  // namespace attnflow::viz
