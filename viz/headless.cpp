// Running VTK without a display: VTK 9.1 on Debian is built for X only (no OSMesa, no EGL),
// and aborts when it cannot connect to an X server. So before any render window exists we
// check $DISPLAY and, if it is unusable, re-execute this very process under xvfb-run.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "viz/render_internal.hpp"

#if defined(ATTNFLOW_HAVE_X11)
#include <X11/Xlib.h>
#endif

namespace attnflow::viz {

static constexpr const char* kMarker = "ATTNFLOW_RENDER_UNDER_XVFB";

bool display_usable() {
  const char* d = std::getenv("DISPLAY");
  if (!d || !*d) return false;
#if defined(ATTNFLOW_HAVE_X11)
  Display* dpy = XOpenDisplay(nullptr);
  if (!dpy) return false;
  XCloseDisplay(dpy);
#endif
  return true;
}

int reexec_under_xvfb() {
  if (const char* m = std::getenv(kMarker); m && *m) {
    std::cerr << "attnflow render: no usable X display even under xvfb-run (DISPLAY="
              << (std::getenv("DISPLAY") ? std::getenv("DISPLAY") : "") << ")\n";
    return 4;
  }
  // The original command line, exactly as this process received it.
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> argv;
  for (std::size_t start = 0; start < raw.size();) {
    std::size_t end = raw.find('\0', start);
    if (end == std::string::npos) end = raw.size();
    argv.emplace_back(raw.substr(start, end - start));
    start = end + 1;
  }
  if (argv.empty()) {
    std::cerr << "attnflow render: cannot read /proc/self/cmdline to re-run under xvfb-run\n";
    return 4;
  }
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    std::cerr << "attnflow render: cannot resolve /proc/self/exe\n";
    return 4;
  }
  self[n] = '\0';

  std::vector<std::string> cmd = {"xvfb-run", "-a", "-s", "-screen 0 1280x1024x24 -noreset",
                                  self};
  cmd.insert(cmd.end(), argv.begin() + 1, argv.end());
  std::vector<char*> cargv;
  for (auto& s : cmd) cargv.push_back(s.data());
  cargv.push_back(nullptr);

  setenv(kMarker, "1", 1);
  const char* d = std::getenv("DISPLAY");
  std::cerr << "attnflow render: "
            << (d && *d ? "cannot open X display " + std::string(d) : std::string("no X display"))
            << "; re-running under xvfb-run -a (virtual X server)" << std::endl;
  execvp("xvfb-run", cargv.data());
  std::cerr << "attnflow render: cannot run xvfb-run (" << std::strerror(errno)
            << "); install the Debian packages xvfb and xauth, or set DISPLAY\n";
  return 4;
}

}  // namespace attnflow::viz
