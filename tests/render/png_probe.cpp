// attnflow_png_probe: checks images written by `attnflow render` (test helper).
//
//   attnflow_png_probe FILE.png [--size W H] [--bg R G B] [--nonbg MIN MAX]
//                               [--color R G B MINCOUNT] [--tol T]...
//   attnflow_png_probe FILE.webp --frames N
//
// --size: exact image size. --nonbg: number of pixels differing from the background colour
// (default white) by more than the tolerance (default 10 per channel) lies in [MIN, MAX].
// --color: at least MINCOUNT pixels within the tolerance of (R, G, B). --frames: an
// animated WebP with exactly N frames. Prints what it measured; exit 0 if every check
// passes, 1 if one fails, 2 on usage errors or unreadable files.
#include <vtkImageData.h>
#include <vtkNew.h>
#include <vtkPNGReader.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#if defined(ATTNFLOW_HAVE_WEBP)
#include <webp/demux.h>
#endif

namespace {

int usage() {
  std::cerr << "usage: attnflow_png_probe FILE.png [--size W H] [--bg R G B] [--nonbg MIN MAX]"
               " [--color R G B MINCOUNT] [--tol T]\n"
               "       attnflow_png_probe FILE.webp --frames N\n";
  return 2;
}

int webp_frames(const std::string& path) {
#if defined(ATTNFLOW_HAVE_WEBP)
  std::ifstream f(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (bytes.empty()) return -1;
  WebPData data{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
  WebPDemuxer* d = WebPDemux(&data);
  if (!d) return -1;
  int n = static_cast<int>(WebPDemuxGetI(d, WEBP_FF_FRAME_COUNT));
  WebPDemuxDelete(d);
  return n;
#else
  (void)path;
  return -1;
#endif
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  std::string path = argv[1];
  std::vector<std::string> a(argv + 2, argv + argc);
  auto num = [&](std::size_t i) -> long {
    if (i >= a.size()) {
      std::exit(usage());
    }
    return std::strtol(a[i].c_str(), nullptr, 10);
  };

  if (a[0] == "--frames") {
    long want = num(1);
    int n = webp_frames(path);
    std::cout << path << ": " << n << " frames\n";
    if (n < 0) return 2;
    return n == want ? 0 : 1;
  }

  vtkNew<vtkPNGReader> reader;
  if (!reader->CanReadFile(path.c_str())) {
    std::cerr << path << ": not a readable PNG\n";
    return 2;
  }
  reader->SetFileName(path.c_str());
  reader->Update();
  vtkImageData* img = reader->GetOutput();
  int dims[3];
  img->GetDimensions(dims);
  const int nc = img->GetNumberOfScalarComponents();
  const auto* px = static_cast<const unsigned char*>(img->GetScalarPointer());
  const long npix = static_cast<long>(dims[0]) * dims[1];

  long tol = 10;
  int bg[3] = {255, 255, 255};
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] == "--tol") tol = num(i + 1);
    if (a[i] == "--bg")
      for (int c = 0; c < 3; ++c) bg[c] = static_cast<int>(num(i + 1 + c));
  }
  auto near = [&](long p, const int* rgb) {
    for (int c = 0; c < 3; ++c)
      if (std::labs(static_cast<long>(px[p * nc + c]) - rgb[c]) > tol) return false;
    return true;
  };

  bool ok = true;
  std::cout << path << ": " << dims[0] << "x" << dims[1] << ", " << nc << " channels\n";
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] == "--size") {
      long w = num(i + 1), h = num(i + 2);
      bool pass = w == dims[0] && h == dims[1];
      std::cout << "  size " << dims[0] << "x" << dims[1] << " (want " << w << "x" << h << ")"
                << (pass ? "" : "  FAIL") << "\n";
      ok = ok && pass;
      i += 2;
    } else if (a[i] == "--nonbg") {
      long lo = num(i + 1), hi = num(i + 2);
      long count = 0;
      for (long p = 0; p < npix; ++p) count += !near(p, bg);
      bool pass = count >= lo && count <= hi;
      std::cout << "  non-background pixels " << count << " (want " << lo << ".." << hi << ")"
                << (pass ? "" : "  FAIL") << "\n";
      ok = ok && pass;
      i += 2;
    } else if (a[i] == "--color") {
      int rgb[3] = {static_cast<int>(num(i + 1)), static_cast<int>(num(i + 2)),
                    static_cast<int>(num(i + 3))};
      long want = num(i + 4);
      long count = 0;
      for (long p = 0; p < npix; ++p) count += near(p, rgb);
      bool pass = count >= want;
      std::cout << "  pixels near (" << rgb[0] << "," << rgb[1] << "," << rgb[2] << ") " << count
                << " (want >= " << want << ")" << (pass ? "" : "  FAIL") << "\n";
      ok = ok && pass;
      i += 4;
    } else if (a[i] == "--tol") {
      ++i;
    } else if (a[i] == "--bg") {
      i += 3;
    } else {
      return usage();
    }
  }
  return ok ? 0 : 1;
}
