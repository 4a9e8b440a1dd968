// PNG frames of the token cloud: VTK glyphs (or point sprites for very large N) coloured
// through a lookup table, a colour bar, the faint unit sphere / circle, optional trails,
// a camera fixed from the bounds of all frames, and a text overlay.
#include <vtkActor.h>
#include <vtkCamera.h>
#include <vtkCellArray.h>
#include <vtkColorTransferFunction.h>
#include <vtkDoubleArray.h>
#include <vtkGlyph3D.h>
#include <vtkLookupTable.h>
#include <vtkMath.h>
#include <vtkNew.h>
#include <vtkPNGWriter.h>
#include <vtkPointData.h>
#include <vtkPointGaussianMapper.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkPolyDataMapper.h>
#include <vtkProperty.h>
#include <vtkRegularPolygonSource.h>
#include <vtkRenderWindow.h>
#include <vtkRenderer.h>
#include <vtkScalarBarActor.h>
#include <vtkSphereSource.h>
#include <vtkTextActor.h>
#include <vtkTextProperty.h>
#include <vtkWindowToImageFilter.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <numbers>

#include "viz/render_internal.hpp"

namespace attnflow::viz {
namespace {

// Colour maps as control points (position in [0,1], r, g, b in [0,1]).
struct Stop {
  double x, r, g, b;
};
// "turbo"-like rainbow (Google's Turbo, sampled): distinguishes tokens by index.
const std::vector<Stop> kTurbo = {
    {0.00, 0.190, 0.072, 0.232}, {0.10, 0.276, 0.396, 0.867}, {0.20, 0.153, 0.681, 0.969},
    {0.30, 0.098, 0.898, 0.726}, {0.40, 0.393, 0.993, 0.373}, {0.50, 0.642, 0.990, 0.234},
    {0.60, 0.883, 0.867, 0.218}, {0.70, 0.995, 0.644, 0.176}, {0.80, 0.943, 0.366, 0.068},
    {0.90, 0.772, 0.160, 0.010}, {1.00, 0.480, 0.016, 0.011}};
// Viridis (sampled): magnitudes such as speed.
const std::vector<Stop> kViridis = {
    {0.00, 0.267, 0.005, 0.329}, {0.25, 0.229, 0.322, 0.546}, {0.50, 0.128, 0.567, 0.551},
    {0.75, 0.369, 0.789, 0.383}, {1.00, 0.993, 0.906, 0.144}};

vtkSmartPointer<vtkLookupTable> make_lut(const std::string& quantity, double lo, double hi) {
  vtkNew<vtkColorTransferFunction> ctf;
  vtkSmartPointer<vtkLookupTable> lut = vtkSmartPointer<vtkLookupTable>::New();
  const int n = 256;
  lut->SetNumberOfTableValues(n);
  if (quantity == "phase") {  // cyclic hue wheel for angles
    for (int i = 0; i < n; ++i) {
      double rgb[3];
      double h = static_cast<double>(i) / n;
      vtkMath::HSVToRGB(h, 0.75, 0.95, rgb, rgb + 1, rgb + 2);
      lut->SetTableValue(i, rgb[0], rgb[1], rgb[2], 1.0);
    }
  } else {
    const auto& stops = quantity == "index" ? kTurbo : kViridis;
    for (const auto& s : stops) ctf->AddRGBPoint(s.x, s.r, s.g, s.b);
    for (int i = 0; i < n; ++i) {
      double rgb[3];
      ctf->GetColor(static_cast<double>(i) / (n - 1), rgb);
      lut->SetTableValue(i, rgb[0], rgb[1], rgb[2], 1.0);
    }
  }
  lut->SetTableRange(lo, hi);
  lut->Build();
  return lut;
}

}  // namespace

std::vector<std::string> render_frames(Run& run, const FrameOptions& opt,
                                       const std::string& dir) {
  namespace fs = std::filesystem;
  const std::size_t T = run.frames(), N = run.tokens();
  const auto& X = run.view_positions();  // [T][N][3]
  std::vector<double> S = run.token_scalar(opt.color);
  const bool is_phase = opt.color == "phase";
  if (is_phase) {  // wrap angles into [0, 2 pi) for the cyclic colour map
    const double tau = 2 * std::numbers::pi;
    for (double& s : S) s = std::fmod(std::fmod(s, tau) + tau, tau);
  }

  // Scalar range over all frames (the colours mean the same thing in every frame).
  double lo = 0, hi = 1;
  if (is_phase) {
    hi = 2 * std::numbers::pi;
  } else if (!S.empty()) {
    lo = *std::min_element(S.begin(), S.end());
    hi = *std::max_element(S.begin(), S.end());
    if (!(std::isfinite(lo) && std::isfinite(hi))) lo = 0, hi = 1;
    if (hi <= lo) hi = lo + 1;
  }
  auto lut = make_lut(opt.color, lo, hi);

  // Geometry of the scene.
  const bool on_sphere = run.space() == "sphere";
  const bool flat = run.dim() > 0 && run.dim() <= 2;
  double b[6] = {1e300, -1e300, 1e300, -1e300, 1e300, -1e300};
  for (std::size_t p = 0; p < T * N; ++p)
    for (int k = 0; k < 3; ++k) {
      b[2 * k] = std::min(b[2 * k], X[p * 3 + k]);
      b[2 * k + 1] = std::max(b[2 * k + 1], X[p * 3 + k]);
    }
  if (on_sphere)
    for (int k = 0; k < (flat ? 2 : 3); ++k) {
      b[2 * k] = std::min(b[2 * k], -1.0);
      b[2 * k + 1] = std::max(b[2 * k + 1], 1.0);
    }
  double extent = std::max({b[1] - b[0], b[3] - b[2], b[5] - b[4]});
  if (!(extent > 0)) extent = 1;
  for (int k = 0; k < (flat ? 2 : 3); ++k) {  // degenerate axes still get some room
    if (b[2 * k + 1] - b[2 * k] < 1e-9 * extent) {
      b[2 * k] -= 0.5 * extent;
      b[2 * k + 1] += 0.5 * extent;
    }
  }
  double radius = opt.point_radius;
  if (radius <= 0)
    radius = extent * std::max(0.004, 0.028 * std::min(1.0, std::cbrt(20.0 / std::max<std::size_t>(N, 1))));

  // Renderer and window (offscreen: the caller made sure an X display exists).
  vtkNew<vtkRenderer> ren;
  ren->SetBackground(1.0, 1.0, 1.0);
  // The colour bar gets its own strip on the right so that tokens never hide behind it.
  const double split = 0.84;
  ren->SetViewport(0.0, 0.0, split, 1.0);
  vtkNew<vtkRenderer> side;
  side->SetBackground(1.0, 1.0, 1.0);
  side->SetViewport(split, 0.0, 1.0, 1.0);
  side->InteractiveOff();
  vtkNew<vtkRenderWindow> win;
  win->AddRenderer(side);
  win->SetOffScreenRendering(1);
  win->SetMultiSamples(0);  // MSAA costs ~4x on llvmpipe for no visible gain at 800 px
  win->SetSize(opt.width, opt.height);
  win->AddRenderer(ren);

  // Tokens.
  vtkNew<vtkPoints> pts;
  pts->SetDataTypeToDouble();
  pts->SetNumberOfPoints(static_cast<vtkIdType>(N));
  vtkNew<vtkDoubleArray> scal;
  scal->SetName(opt.color.c_str());
  scal->SetNumberOfTuples(static_cast<vtkIdType>(N));
  vtkNew<vtkPolyData> cloud;
  cloud->SetPoints(pts);
  cloud->GetPointData()->SetScalars(scal);
  vtkNew<vtkActor> tokens;
  if (N <= 20000) {
    vtkNew<vtkSphereSource> ball;
    ball->SetRadius(radius);
    int res = N <= 500 ? 20 : (N <= 5000 ? 12 : 8);
    ball->SetThetaResolution(res);
    ball->SetPhiResolution(res);
    vtkNew<vtkGlyph3D> glyph;
    glyph->SetInputData(cloud);
    glyph->SetSourceConnection(ball->GetOutputPort());
    glyph->ScalingOff();
    glyph->OrientOff();
    glyph->SetColorModeToColorByScalar();
    vtkNew<vtkPolyDataMapper> m;
    m->SetInputConnection(glyph->GetOutputPort());
    m->SetLookupTable(lut);
    m->SetScalarRange(lo, hi);
    m->SetScalarModeToUsePointData();
    m->ScalarVisibilityOn();
    tokens->SetMapper(m);
  } else {  // very large clouds: shaded sprites instead of meshes
    vtkNew<vtkPointGaussianMapper> m;
    m->SetInputData(cloud);
    m->SetScaleFactor(radius);
    m->SetSplatShaderCode(nullptr);
    m->SetLookupTable(lut);
    m->SetScalarRange(lo, hi);
    m->ScalarVisibilityOn();
    tokens->SetMapper(m);
  }
  tokens->GetProperty()->SetSpecular(0.3);
  tokens->GetProperty()->SetSpecularPower(20);
  ren->AddActor(tokens);

  // Trails: one polyline per token through its last `trail` stored frames.
  vtkNew<vtkPolyData> trails;
  vtkNew<vtkPoints> tpts;
  tpts->SetDataTypeToDouble();
  vtkNew<vtkDoubleArray> tscal;
  vtkNew<vtkCellArray> tlines;
  trails->SetPoints(tpts);
  trails->SetLines(tlines);
  trails->GetPointData()->SetScalars(tscal);
  if (opt.trail > 0) {
    vtkNew<vtkPolyDataMapper> m;
    m->SetInputData(trails);
    m->SetLookupTable(lut);
    m->SetScalarRange(lo, hi);
    m->ScalarVisibilityOn();
    vtkNew<vtkActor> a;
    a->SetMapper(m);
    a->GetProperty()->SetLineWidth(2.0);
    a->GetProperty()->SetOpacity(0.7);
    a->GetProperty()->LightingOff();
    ren->AddActor(a);
  }

  // The unit sphere (faint) or unit circle of sphere runs.
  if (on_sphere && flat) {
    vtkNew<vtkRegularPolygonSource> circle;
    circle->SetNumberOfSides(256);
    circle->SetRadius(1.0);
    circle->GeneratePolygonOff();
    vtkNew<vtkPolyDataMapper> m;
    m->SetInputConnection(circle->GetOutputPort());
    vtkNew<vtkActor> a;
    a->SetMapper(m);
    a->GetProperty()->SetColor(0.6, 0.6, 0.65);
    a->GetProperty()->SetLineWidth(1.5);
    a->GetProperty()->LightingOff();
    ren->AddActor(a);
  } else if (on_sphere) {
    vtkNew<vtkSphereSource> s;
    s->SetRadius(1.0);
    s->SetThetaResolution(72);
    s->SetPhiResolution(36);
    vtkNew<vtkPolyDataMapper> m;
    m->SetInputConnection(s->GetOutputPort());
    vtkNew<vtkActor> a;
    a->SetMapper(m);
    a->GetProperty()->SetColor(0.55, 0.62, 0.75);
    a->GetProperty()->SetOpacity(0.12);
    a->GetProperty()->SetSpecular(0.0);
    ren->AddActor(a);
    // Meridians and parallels as thin lines, to read the sphere's orientation.
    vtkNew<vtkPoints> gp;
    vtkNew<vtkCellArray> gl;
    const int seg = 96;
    const double pi = std::numbers::pi;
    for (int m = 0; m < 12; ++m) {  // meridians, every 30 degrees
      double phi = m * pi / 6;
      gl->InsertNextCell(seg + 1);
      for (int k = 0; k <= seg; ++k) {
        double th = k * pi / seg;
        gl->InsertCellPoint(gp->InsertNextPoint(std::sin(th) * std::cos(phi),
                                                std::sin(th) * std::sin(phi), std::cos(th)));
      }
    }
    for (int p = 1; p < 6; ++p) {  // parallels, every 30 degrees of latitude
      double th = p * pi / 6;
      gl->InsertNextCell(seg + 1);
      for (int k = 0; k <= seg; ++k) {
        double phi = 2 * pi * k / seg;
        gl->InsertCellPoint(gp->InsertNextPoint(std::sin(th) * std::cos(phi),
                                                std::sin(th) * std::sin(phi), std::cos(th)));
      }
    }
    vtkNew<vtkPolyData> grid;
    grid->SetPoints(gp);
    grid->SetLines(gl);
    vtkNew<vtkPolyDataMapper> gm;
    gm->SetInputData(grid);
    vtkNew<vtkActor> ga;
    ga->SetMapper(gm);
    ga->GetProperty()->SetColor(0.5, 0.56, 0.68);
    ga->GetProperty()->SetOpacity(0.3);
    ga->GetProperty()->LightingOff();
    ren->AddActor(ga);
  }

  // Colour bar and text.
  vtkNew<vtkScalarBarActor> bar;
  bar->SetLookupTable(lut);
  // The title is a separate text actor above the bar (VTK's bar title can overlap labels).
  vtkNew<vtkTextActor> bar_title;
  bar_title->SetInput(is_phase ? "phase (rad)" : opt.color.c_str());
  bar_title->GetTextProperty()->SetColor(0.1, 0.1, 0.1);
  bar_title->GetTextProperty()->SetFontSize(std::max(11, opt.height / 45));
  bar_title->GetTextProperty()->SetJustificationToCentered();
  bar_title->GetTextProperty()->SetVerticalJustificationToTop();
  bar_title->GetPositionCoordinate()->SetCoordinateSystemToNormalizedViewport();
  bar_title->GetPositionCoordinate()->SetValue(0.45, 0.965);
  side->AddActor2D(bar_title);
  bar->SetNumberOfLabels(opt.color == "index" ? std::min<int>(5, std::max<int>(2, static_cast<int>(N))) : 5);
  bar->SetLabelFormat(opt.color == "index" ? "%.0f" : "%-#6.3g");
  bar->SetMaximumWidthInPixels(static_cast<int>((1.0 - split) * opt.width * 0.9));
  bar->SetPosition(0.04, 0.06);
  bar->SetWidth(0.92);
  bar->SetHeight(0.84);
  bar->SetBarRatio(0.3);
  bar->UnconstrainedFontSizeOn();
  for (vtkTextProperty* tp : {bar->GetLabelTextProperty()}) {
    tp->SetColor(0.1, 0.1, 0.1);
    tp->SetFontSize(std::max(10, opt.height / 50));
    tp->ShadowOff();
    tp->ItalicOff();
    tp->BoldOff();
  }
  side->AddActor2D(bar);

  vtkNew<vtkTextActor> label;
  label->GetTextProperty()->SetColor(0.05, 0.05, 0.05);
  label->GetTextProperty()->SetFontSize(std::max(12, opt.height / 40));
  label->GetTextProperty()->SetVerticalJustificationToTop();
  label->GetPositionCoordinate()->SetCoordinateSystemToNormalizedViewport();
  label->GetPositionCoordinate()->SetValue(0.02, 0.98);
  ren->AddActor2D(label);

  // Camera fixed for all frames, from the bounds of every frame.
  vtkCamera* cam = ren->GetActiveCamera();
  const double cx = 0.5 * (b[0] + b[1]), cy = 0.5 * (b[2] + b[3]), cz = 0.5 * (b[4] + b[5]);
  cam->SetFocalPoint(cx, cy, cz);
  if (flat) {
    cam->SetPosition(cx, cy, cz + 10 * extent);
    cam->SetViewUp(0, 1, 0);
    cam->ParallelProjectionOn();
  } else {
    cam->SetPosition(cx + 1.0 * extent, cy - 1.6 * extent, cz + 0.9 * extent);
    cam->SetViewUp(0, 0, 1);
  }
  double rb[6] = {b[0] - radius, b[1] + radius, b[2] - radius, b[3] + radius,
                  b[4] - radius, b[5] + radius};
  ren->ResetCamera(rb);
  cam->Zoom(flat ? 0.95 : 1.15);

  vtkNew<vtkWindowToImageFilter> grab;
  grab->SetInput(win);
  grab->SetInputBufferTypeToRGB();
  grab->ReadFrontBufferOff();
  vtkNew<vtkPNGWriter> png;
  png->SetInputConnection(grab->GetOutputPort());

  std::vector<std::string> written;
  for (std::size_t k = 0; k < opt.frames.size(); ++k) {
    check_interrupted();
    const std::size_t f = opt.frames[k];
    for (std::size_t i = 0; i < N; ++i) {
      const double* x = &X[(f * N + i) * 3];
      pts->SetPoint(static_cast<vtkIdType>(i), x[0], x[1], x[2]);
      scal->SetValue(static_cast<vtkIdType>(i), S[f * N + i]);
    }
    pts->Modified();
    scal->Modified();
    cloud->Modified();

    if (opt.trail > 0) {
      tpts->Reset();
      tscal->Reset();
      tlines->Reset();
      const std::size_t first = f >= opt.trail ? f - opt.trail : 0;
      const std::size_t len = f - first + 1;
      if (len >= 2) {
        for (std::size_t i = 0; i < N; ++i) {
          tlines->InsertNextCell(static_cast<vtkIdType>(len));
          for (std::size_t g = first; g <= f; ++g) {
            const double* x = &X[(g * N + i) * 3];
            tlines->InsertCellPoint(tpts->InsertNextPoint(x[0], x[1], x[2]));
            tscal->InsertNextValue(S[g * N + i]);
          }
        }
      }
      tpts->Modified();
      tscal->Modified();
      tlines->Modified();
      trails->Modified();
    }

    std::string text = run.name() + "\nt = " + fmt("%.4g", run.times()[f]) + "   step " +
                       std::to_string(run.steps()[f]) + "   frame " + std::to_string(f + 1) +
                       "/" + std::to_string(T) + "\nN = " + std::to_string(N) +
                       (run.dim() ? ", d = " + std::to_string(run.dim()) : std::string()) +
                       (run.space().empty() ? std::string() : ", " + run.space());
    label->SetInput(text.c_str());

    win->Render();
    check_interrupted();  // a signal during the render: this frame is not written
    grab->Modified();
    char name[32];
    std::snprintf(name, sizeof name, "frame_%04zu.png", k);
    std::string path = (fs::path(dir) / name).string();
    PendingFile out(path);  // written under a temporary name, renamed when complete
    png->SetFileName(out.temp().c_str());
    png->Write();
    if (png->GetErrorCode() != 0 || !fs::exists(out.temp()))
      throw OutputError("cannot write " + path);
    out.commit();
    written.push_back(path);
    if (!opt.quiet && opt.frames.size() > 20 && (k + 1) % 20 == 0)
      std::cerr << "  rendered " << (k + 1) << "/" << opt.frames.size() << " frames\r"
                << std::flush;
  }
  if (!opt.quiet && opt.frames.size() > 20) std::cerr << std::string(40, ' ') << "\r";
  return written;
}

}  // namespace attnflow::viz
