// Line plots of observables (vtkChartXY) and heat maps of matrices (vtkChartHistogram2D),
// each drawn in an offscreen vtkContextView and saved as PNG; and the chart helpers that the
// other charts (sweep_plots.cpp, density_plot.cpp) share.
#include <vtkAxis.h>
#include <vtkBrush.h>
#include <vtkChartHistogram2D.h>
#include <vtkChartLegend.h>
#include <vtkChartXY.h>
#include <vtkColorTransferFunction.h>
#include <vtkContextScene.h>
#include <vtkContextView.h>
#include <vtkContourFilter.h>
#include <vtkDoubleArray.h>
#include <vtkIdList.h>
#include <vtkImageData.h>
#include <vtkNew.h>
#include <vtkPNGWriter.h>
#include <vtkPen.h>
#include <vtkPlot.h>
#include <vtkPolyData.h>
#include <vtkRect.h>
#include <vtkRenderWindow.h>
#include <vtkRenderer.h>
#include <vtkStringArray.h>
#include <vtkTable.h>
#include <vtkTextProperty.h>
#include <vtkWindowToImageFilter.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "viz/render_internal.hpp"

namespace attnflow::viz {
namespace {
namespace fs = std::filesystem;

// Tableau-10 colours, one per run.
const unsigned char kPalette[][3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},
                                     {214, 39, 40},  {148, 103, 189}, {140, 86, 75},
                                     {227, 119, 194}, {127, 127, 127}, {188, 189, 34},
                                     {23, 190, 207}};

}  // namespace

// --- chart helpers (declared in render_internal.hpp) -----------------------------------------

vtkSmartPointer<vtkContextView> make_view(int width, int height) {
  auto view = vtkSmartPointer<vtkContextView>::New();
  view->GetRenderer()->SetBackground(1.0, 1.0, 1.0);
  view->GetRenderWindow()->SetOffScreenRendering(1);
  view->GetRenderWindow()->SetSize(width, height);
  return view;
}

void save_view(vtkContextView* view, const std::string& path) {
  view->GetRenderWindow()->Render();
  vtkNew<vtkWindowToImageFilter> grab;
  grab->SetInput(view->GetRenderWindow());
  grab->SetInputBufferTypeToRGB();
  grab->ReadFrontBufferOff();
  grab->Update();
  check_interrupted();
  PendingFile out(path);  // renamed to `path` only when complete
  vtkNew<vtkPNGWriter> png;
  png->SetInputConnection(grab->GetOutputPort());
  png->SetFileName(out.temp().c_str());
  png->Write();
  if (png->GetErrorCode() != 0 || !fs::exists(out.temp())) throw OutputError("cannot write " + path);
  out.commit();
}

void style_axis(vtkAxis* a, const std::string& title, int font) {
  a->SetTitle(title);
  a->GetTitleProperties()->SetFontSize(font);
  a->GetTitleProperties()->BoldOff();
  a->GetLabelProperties()->SetFontSize(font - 2);
}

vtkSmartPointer<vtkColorTransferFunction> viridis(double lo, double hi) {
  auto ctf = vtkSmartPointer<vtkColorTransferFunction>::New();
  const double vir[5][3] = {{0.267, 0.005, 0.329}, {0.229, 0.322, 0.546},
                            {0.128, 0.567, 0.551}, {0.369, 0.789, 0.383},
                            {0.993, 0.906, 0.144}};
  for (int k = 0; k < 5; ++k)
    ctf->AddRGBPoint(lo + (hi - lo) * k / 4.0, vir[k][0], vir[k][1], vir[k][2]);
  ctf->SetNanColor(0.6, 0.6, 0.6);
  ctf->Build();
  return ctf;
}

vtkSmartPointer<vtkTable> contour_segments(vtkImageData* img, const std::vector<double>& levels,
                                           const std::string& label) {
  vtkNew<vtkContourFilter> cf;
  cf->SetInputData(img);
  for (std::size_t k = 0; k < levels.size(); ++k) cf->SetValue(static_cast<int>(k), levels[k]);
  cf->Update();
  vtkPolyData* pd = cf->GetOutput();
  vtkNew<vtkDoubleArray> sx, sy;
  sx->SetName("x");
  sy->SetName(label.c_str());
  vtkNew<vtkIdList> ids;
  for (vtkIdType c = 0; c < pd->GetNumberOfCells(); ++c) {
    pd->GetCellPoints(c, ids);
    for (vtkIdType k = 0; k + 1 < ids->GetNumberOfIds(); ++k) {
      double a[3], b[3];
      pd->GetPoint(ids->GetId(k), a);
      pd->GetPoint(ids->GetId(k + 1), b);
      sx->InsertNextValue(a[0]);
      sy->InsertNextValue(a[1]);
      sx->InsertNextValue(b[0]);
      sy->InsertNextValue(b[1]);
    }
  }
  auto seg = vtkSmartPointer<vtkTable>::New();
  seg->AddColumn(sx);
  seg->AddColumn(sy);
  return seg;
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string safe_file_part(std::string s) {
  for (char& c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) c = '_';
  return s;
}

std::vector<std::string> render_plots(const std::vector<Run*>& runs, const PlotOptions& opt,
                                      const std::string& dir) {
  std::vector<std::string> written;
  for (const auto& name : opt.observables) {
    check_interrupted();
    auto view = make_view(opt.width, opt.height);
    vtkNew<vtkChartXY> chart;
    view->GetScene()->AddItem(chart);
    // A small margin so that the axis titles are not clipped by the image border.
    chart->SetAutoSize(false);
    chart->SetSize(vtkRectf(6.0f, 10.0f, static_cast<float>(opt.width - 12),
                            static_cast<float>(opt.height - 16)));
    chart->SetTitle(name + (opt.log_y ? " (log scale)" : ""));
    chart->GetTitleProperties()->SetFontSize(18);
    style_axis(chart->GetAxis(vtkAxis::BOTTOM), "t");
    style_axis(chart->GetAxis(vtkAxis::LEFT), name);

    double ymin = std::numeric_limits<double>::infinity(), ymax = -ymin;
    std::size_t lines = 0, dropped = 0;
    std::vector<vtkSmartPointer<vtkTable>> keep;  // tables must outlive the render
    for (std::size_t r = 0; r < runs.size(); ++r) {
      auto it = runs[r]->observables().find(name);
      if (it == runs[r]->observables().end()) continue;
      const Observable& o = it->second;
      const unsigned char* c = kPalette[r % 10];
      const std::string label =
          runs.size() > 1 ? runs[r]->name() + " (" + fs::path(runs[r]->path()).filename().string() + ")"
                          : runs[r]->name();

      auto table = vtkSmartPointer<vtkTable>::New();
      vtkNew<vtkDoubleArray> tx, ty;
      tx->SetName("t");
      ty->SetName(label.c_str());
      for (std::size_t i = 0; i < o.value.size(); ++i) {
        double y = o.value[i];
        if (!std::isfinite(y) || !std::isfinite(o.time[i]) || (opt.log_y && y <= 0)) {
          ++dropped;
          continue;
        }
        tx->InsertNextValue(o.time[i]);
        ty->InsertNextValue(y);
        ymin = std::min(ymin, y);
        ymax = std::max(ymax, y);
      }
      if (tx->GetNumberOfTuples() == 0) continue;
      table->AddColumn(tx);
      table->AddColumn(ty);
      keep.push_back(table);
      vtkPlot* line = chart->AddPlot(vtkChart::LINE);
      line->SetInputData(table, 0, 1);
      line->SetColor(c[0], c[1], c[2], 255);
      line->SetWidth(2.5);
      ++lines;

      // Fitted exponential from `attnflow analyze`, dashed, over its fit window.
      auto ft = runs[r]->fits().find(name);
      if (ft != runs[r]->fits().end()) {
        const Fit& fit = ft->second;
        auto ftab = vtkSmartPointer<vtkTable>::New();
        vtkNew<vtkDoubleArray> fx, fy;
        fx->SetName("t");
        std::string fl = "fit " + (runs.size() > 1 ? runs[r]->name() + ": " : std::string()) +
                         "rate " + fmt("%.4g", fit.rate);
        fy->SetName(fl.c_str());
        const int n = 100;
        for (int i = 0; i <= n; ++i) {
          double t = fit.t0 + (fit.t1 - fit.t0) * i / n;
          double y = fit.amplitude * std::exp(-fit.rate * t);
          if (!std::isfinite(y) || (opt.log_y && y <= 0)) continue;
          fx->InsertNextValue(t);
          fy->InsertNextValue(y);
        }
        if (fx->GetNumberOfTuples() > 1) {
          ftab->AddColumn(fx);
          ftab->AddColumn(fy);
          keep.push_back(ftab);
          vtkPlot* fline = chart->AddPlot(vtkChart::LINE);
          fline->SetInputData(ftab, 0, 1);
          fline->SetColor(c[0] * 0.6, c[1] * 0.6, c[2] * 0.6, 255);
          fline->SetWidth(2.0);
          fline->GetPen()->SetLineType(vtkPen::DASH_LINE);
          ++lines;
        }
      }
    }
    if (lines == 0)
      throw InputError("--plot " + name + ": nothing to draw" +
                       (opt.log_y ? " (no positive values for --log)" : ""));
    if (dropped > 0 && opt.log_y)
      std::fprintf(stderr, "attnflow render: --log: left out %zu non-positive value(s) of %s\n",
                   dropped, name.c_str());
    if (opt.log_y) {
      vtkAxis* ay = chart->GetAxis(vtkAxis::LEFT);
      ay->SetLogScale(true);
    }
    chart->SetShowLegend(lines > 1);
    if (lines > 1) {
      chart->GetLegend()->SetHorizontalAlignment(vtkChartLegend::RIGHT);
      chart->GetLegend()->SetVerticalAlignment(vtkChartLegend::TOP);
      chart->GetLegend()->GetLabelProperties()->SetFontSize(13);
    }
    std::string path = (fs::path(dir) / ("plot_" + safe_file_part(name) + ".png")).string();
    save_view(view, path);
    written.push_back(path);
  }
  return written;
}

std::vector<std::string> render_heatmap(Run& run, const std::string& name, int width,
                                        int height, const std::string& dir) {
  Matrix m = run.matrix(name);
  std::vector<std::string> written;
  for (std::size_t h = 0; h < m.heads; ++h) {
    check_interrupted();
    vtkNew<vtkImageData> img;
    img->SetDimensions(static_cast<int>(m.cols), static_cast<int>(m.rows), 1);
    img->SetOrigin(0, 0, 0);
    img->SetSpacing(1, 1, 1);
    img->AllocateScalars(VTK_DOUBLE, 1);
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (std::size_t i = 0; i < m.rows; ++i)
      for (std::size_t j = 0; j < m.cols; ++j) {
        double v = m.at(h, i, j);
        if (!std::isfinite(v)) v = 0;
        // Row 0 at the top, as matrices are printed.
        *static_cast<double*>(
            img->GetScalarPointer(static_cast<int>(j), static_cast<int>(m.rows - 1 - i), 0)) = v;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    if (hi <= lo) hi = lo + 1;

    auto ctf = viridis(lo, hi);

    auto view = make_view(width, height);
    vtkNew<vtkChartHistogram2D> chart;
    view->GetScene()->AddItem(chart);
    chart->SetInputData(img);
    chart->SetTransferFunction(ctf);
    std::string title = name + (m.heads > 1 ? " (head " + std::to_string(h) + ")" : "") + ": " +
                        run.name();
    chart->SetTitle(title);
    chart->GetTitleProperties()->SetFontSize(18);
    style_axis(chart->GetAxis(vtkAxis::BOTTOM), "column j");
    style_axis(chart->GetAxis(vtkAxis::LEFT), "row i");
    // Ticks at cell centres, labelled with matrix indices (rows counted from the top).
    auto ticks = [](std::size_t n, bool flip) {
      std::pair<vtkSmartPointer<vtkDoubleArray>, vtkSmartPointer<vtkStringArray>> t{
          vtkSmartPointer<vtkDoubleArray>::New(), vtkSmartPointer<vtkStringArray>::New()};
      std::size_t step = 1;
      for (std::size_t s : {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000})
        if (n / s <= 10) {
          step = s;
          break;
        }
      for (std::size_t i = 0; i < n; i += step) {
        t.first->InsertNextValue(static_cast<double>(flip ? n - 1 - i : i) + 0.5);
        t.second->InsertNextValue(std::to_string(i));
      }
      return t;
    };
    auto [xp, xl] = ticks(m.cols, false);
    auto [yp, yl] = ticks(m.rows, true);
    chart->GetAxis(vtkAxis::BOTTOM)->SetCustomTickPositions(xp, xl);
    chart->GetAxis(vtkAxis::LEFT)->SetCustomTickPositions(yp, yl);
    std::string file = "heatmap_" + safe_file_part(name) +
                       (m.heads > 1 ? "_h" + std::to_string(h) : std::string()) + ".png";
    std::string path = (fs::path(dir) / file).string();
    save_view(view, path);
    written.push_back(path);
  }
  return written;
}

}  // namespace attnflow::viz
