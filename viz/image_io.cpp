// Montage (VTK image filters) and animated WebP (Debian's libwebp) from rendered PNG frames.
#include <vtkImageAppend.h>
#include <vtkImageData.h>
#include <vtkImageResize.h>
#include <vtkImageConstantPad.h>
#include <vtkNew.h>
#include <vtkPNGReader.h>
#include <vtkPNGWriter.h>
#include <vtkSmartPointer.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "viz/render_internal.hpp"

#if defined(ATTNFLOW_HAVE_WEBP)
#include <webp/encode.h>
#include <webp/mux.h>
#endif

namespace attnflow::viz {
namespace {

vtkSmartPointer<vtkImageData> read_png(const std::string& path) {
  vtkNew<vtkPNGReader> r;
  if (!r->CanReadFile(path.c_str())) throw OutputError("cannot read back " + path);
  r->SetFileName(path.c_str());
  r->Update();
  auto img = vtkSmartPointer<vtkImageData>::New();
  img->DeepCopy(r->GetOutput());
  if (img->GetNumberOfScalarComponents() < 3 || img->GetScalarType() != VTK_UNSIGNED_CHAR)
    throw OutputError(path + ": expected an 8-bit RGB PNG");
  return img;
}

}  // namespace

void write_montage(const std::vector<std::string>& pngs, int cols, int cell_width,
                   const std::string& out) {
  if (pngs.empty()) return;
  const int n = static_cast<int>(pngs.size());
  if (cols <= 0) cols = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n))));
  cols = std::min(cols, n);
  const int rows = (n + cols - 1) / cols;

  auto first = read_png(pngs.front());
  int dims[3];
  first->GetDimensions(dims);
  const int cw = cell_width;
  const int ch = std::max(1, static_cast<int>(std::lround(static_cast<double>(dims[1]) * cw / dims[0])));
  const int ncomp = first->GetNumberOfScalarComponents();
  const int gap = 4;  // white gutter around each cell

  // One cell: read, scale to cw x ch, pad with a white gutter.
  auto cell = [&](const std::string* path) {
    check_interrupted();
    vtkSmartPointer<vtkImageData> src;
    if (path) {
      src = read_png(*path);
    } else {  // blank cell to complete the last row
      src = vtkSmartPointer<vtkImageData>::New();
      src->SetDimensions(dims[0], dims[1], 1);
      src->AllocateScalars(VTK_UNSIGNED_CHAR, ncomp);
      std::memset(src->GetScalarPointer(), 255,
                  static_cast<std::size_t>(dims[0]) * dims[1] * ncomp);
    }
    vtkNew<vtkImageResize> resize;
    resize->SetInputData(src);
    resize->SetResizeMethodToOutputDimensions();
    resize->SetOutputDimensions(cw, ch, 1);
    resize->InterpolateOn();
    vtkNew<vtkImageConstantPad> pad;
    pad->SetInputConnection(resize->GetOutputPort());
    pad->SetOutputWholeExtent(-gap, cw - 1 + gap, -gap, ch - 1 + gap, 0, 0);
    pad->SetConstant(255);
    pad->Update();
    auto img = vtkSmartPointer<vtkImageData>::New();
    img->DeepCopy(pad->GetOutput());
    img->SetExtent(0, cw - 1 + 2 * gap, 0, ch - 1 + 2 * gap, 0, 0);
    return img;
  };

  // VTK images start at the bottom row: append the grid rows bottom-up.
  vtkNew<vtkImageAppend> column;
  column->SetAppendAxis(1);
  for (int r = rows - 1; r >= 0; --r) {
    vtkNew<vtkImageAppend> row;
    row->SetAppendAxis(0);
    for (int c = 0; c < cols; ++c) {
      int i = r * cols + c;
      row->AddInputData(cell(i < n ? &pngs[static_cast<std::size_t>(i)] : nullptr));
    }
    row->Update();
    auto rimg = vtkSmartPointer<vtkImageData>::New();
    rimg->DeepCopy(row->GetOutput());
    column->AddInputData(rimg);
  }
  check_interrupted();
  PendingFile file(out);  // renamed to `out` only when complete
  vtkNew<vtkPNGWriter> w;
  w->SetInputConnection(column->GetOutputPort());
  w->SetFileName(file.temp().c_str());
  w->Write();
  if (w->GetErrorCode() != 0 || !std::filesystem::exists(file.temp()))
    throw OutputError("cannot write " + out);
  file.commit();
}

bool animation_supported() {
#if defined(ATTNFLOW_HAVE_WEBP)
  return true;
#else
  return false;
#endif
}

void write_animation(const std::vector<std::string>& pngs, double fps, const std::string& out) {
#if defined(ATTNFLOW_HAVE_WEBP)
  if (pngs.empty()) return;
  auto first = read_png(pngs.front());
  int dims[3];
  first->GetDimensions(dims);
  const int w = dims[0], h = dims[1];

  WebPAnimEncoderOptions eo;
  if (!WebPAnimEncoderOptionsInit(&eo)) throw OutputError("libwebp: version mismatch");
  eo.anim_params.loop_count = 0;  // loop forever
  eo.anim_params.bgcolor = 0xffffffff;
  WebPAnimEncoder* enc = WebPAnimEncoderNew(w, h, &eo);
  if (!enc) throw OutputError("libwebp: cannot create the animation encoder");
  WebPConfig cfg;
  WebPConfigInit(&cfg);
  cfg.quality = 88;
  cfg.method = 4;

  const double frame_ms = 1000.0 / fps;
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(w) * h * 3);
  std::string err;
  int k = 0;
  for (const auto& path : pngs) {
    if (interruption_requested()) break;  // the encoder is freed below, then Interrupted is thrown
    auto img = path == pngs.front() ? first : read_png(path);
    int d[3];
    img->GetDimensions(d);
    if (d[0] != w || d[1] != h) {
      err = path + " has a different size from the first frame";
      break;
    }
    const int nc = img->GetNumberOfScalarComponents();
    const auto* src = static_cast<const std::uint8_t*>(img->GetScalarPointer());
    for (int y = 0; y < h; ++y)  // VTK rows go bottom-up, WebP rows top-down
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c)
          rgb[(static_cast<std::size_t>(h - 1 - y) * w + x) * 3 + c] =
              src[(static_cast<std::size_t>(y) * w + x) * nc + c];
    WebPPicture pic;
    WebPPictureInit(&pic);
    pic.width = w;
    pic.height = h;
    pic.use_argb = 1;
    if (!WebPPictureImportRGB(&pic, rgb.data(), w * 3)) {
      err = "libwebp: cannot import " + path;
      break;
    }
    int ts = static_cast<int>(std::lround(k * frame_ms));
    bool ok = WebPAnimEncoderAdd(enc, &pic, ts, &cfg);
    WebPPictureFree(&pic);
    if (!ok) {
      err = std::string("libwebp: ") + WebPAnimEncoderGetError(enc);
      break;
    }
    ++k;
  }
  WebPData data;
  WebPDataInit(&data);
  if (err.empty() && !pending_signal()) {
    WebPAnimEncoderAdd(enc, nullptr, static_cast<int>(std::lround(k * frame_ms)), nullptr);
    if (!WebPAnimEncoderAssemble(enc, &data))
      err = std::string("libwebp: ") + WebPAnimEncoderGetError(enc);
  }
  WebPAnimEncoderDelete(enc);
  if (err.empty() && pending_signal()) {
    WebPDataClear(&data);
    check_interrupted();
  }
  if (err.empty()) {
    PendingFile file(out);  // renamed to `out` only when complete
    {
      std::ofstream f(file.temp(), std::ios::binary);
      f.write(reinterpret_cast<const char*>(data.bytes), static_cast<std::streamsize>(data.size));
      f.close();
      if (!f) err = "cannot write " + out;
    }
    if (err.empty()) {
      try {
        check_interrupted();
        file.commit();
      } catch (...) {
        WebPDataClear(&data);
        throw;
      }
    }
  }
  WebPDataClear(&data);
  if (!err.empty()) throw OutputError(err);
#else
  (void)pngs;
  (void)fps;
  (void)out;
  throw OutputError("animation needs libwebp (Debian package libwebp-dev) at build time");
#endif
}

}  // namespace attnflow::viz
