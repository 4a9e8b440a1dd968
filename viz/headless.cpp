// Running VTK without a display: VTK 9.1 on Debian is built for X only (no OSMesa, no EGL),
// and aborts when it cannot connect to an X server. So before any render window exists we
// check $DISPLAY and, if it is unusable, run this very command line again under xvfb-run, as a
// supervised child (run_under_xvfb). Also here: SIGINT/SIGTERM handling of the renderer
// (SignalScope, check_interrupted) and files written under a temporary name (PendingFile).
//
// Process tree without a display:
//
//   attnflow render ...            (supervisor: waits, forwards signals, reaps, cleans up)
//     `- xvfb-run (sh)             own process group G, TMPDIR = a private folder
//          |- Xvfb :N              (group G)
//          `- attnflow render ...  (renderer, group G, DISPLAY=:N; reports its pid back)
//
// On SIGINT/SIGTERM the supervisor sends the signal to the renderer, which stops between
// frames (no partial file under a final name) and exits 130/143; xvfb-run then stops Xvfb and
// removes its folder. If the renderer has not reported yet, or anything lingers, the whole
// group G gets the signal, then SIGKILL. The supervisor is a child subreaper, so Xvfb (orphaned
// when xvfb-run exits) is reaped here too; when no descendant is left it removes the private
// TMPDIR (which holds xvfb-run's folder) and exits 128 + signal.
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "viz/render_internal.hpp"

#if defined(ATTNFLOW_HAVE_X11)
#include <X11/Xlib.h>
#endif

extern char** environ;

namespace attnflow::viz {
namespace fs = std::filesystem;

static constexpr const char* kMarker = "ATTNFLOW_RENDER_UNDER_XVFB";
// File descriptor (inherited through xvfb-run) on which the renderer reports its pid to the
// supervisor; the renderer keeps it open to notice when the supervisor has gone.
static constexpr const char* kReportFd = "ATTNFLOW_RENDER_REPORT_FD";

namespace {

std::atomic<int> g_signal{0};
int g_report_fd = -1;
struct sigaction g_old_int, g_old_term;

extern "C" void on_render_signal(int s) {
  int none = 0;
  g_signal.compare_exchange_strong(none, s);
}

const char* signal_name(int s) { return s == SIGINT ? "SIGINT" : s == SIGTERM ? "SIGTERM" : "a signal"; }

// Renderer side of the supervision: report our pid, keep the descriptor (close-on-exec).
void report_to_supervisor() {
  const char* m = std::getenv(kMarker);
  const char* v = std::getenv(kReportFd);
  if (!m || !*m || !v || !*v) return;
  char* end = nullptr;
  const long fd = std::strtol(v, &end, 10);
  unsetenv(kReportFd);
  if (!end || *end || fd < 3 || fd > 1 << 20 || fcntl(static_cast<int>(fd), F_GETFD) < 0) return;
  g_report_fd = static_cast<int>(fd);
  fcntl(g_report_fd, F_SETFD, FD_CLOEXEC);
  const std::string line = std::to_string(getpid()) + "\n";
  if (write(g_report_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    close(g_report_fd);
    g_report_fd = -1;
  }
}

// The supervisor has exited (the read end of the report pipe is closed).
bool supervisor_gone() {
  if (g_report_fd < 0) return false;
  pollfd p{g_report_fd, 0, 0};
  return poll(&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL));
}

std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string p = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
  for (std::size_t start = 0; start <= p.size();) {
    std::size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string cand = end > start ? p.substr(start, end - start) : std::string(".");
    cand += '/';
    cand += name;
    if (access(cand.c_str(), X_OK) == 0) return cand;
    start = end + 1;
  }
  return {};
}

}  // namespace

Interrupted::Interrupted(int s)
    : std::runtime_error(std::string("interrupted by ") + signal_name(s)), sig(s) {}

SignalScope::SignalScope() {
  struct sigaction sa {};
  sa.sa_handler = on_render_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // X, HDF5 and file I/O carry on; the loops poll the flag
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
  report_to_supervisor();
}

SignalScope::~SignalScope() {
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
  if (g_report_fd >= 0) close(g_report_fd);
  g_report_fd = -1;
}

int pending_signal() { return g_signal.load(); }

bool interruption_requested() {
  if (g_signal.load() != 0) return true;
  if (!supervisor_gone()) return false;
  on_render_signal(SIGTERM);  // treated as SIGTERM
  return true;
}

void check_interrupted() {
  if (interruption_requested()) throw Interrupted(g_signal.load());
}

PendingFile::PendingFile(std::string final_path) : final_(std::move(final_path)) {
  const fs::path p(final_);
  std::string name(1, '.');
  name += p.filename().string();
  name += ".part-";
  name += std::to_string(getpid());
  temp_ = (p.parent_path() / name).string();
}

PendingFile::~PendingFile() {
  if (done_) return;
  std::error_code ec;
  fs::remove(temp_, ec);
}

void PendingFile::commit() {
  std::error_code ec;
  fs::rename(temp_, final_, ec);
  if (ec) throw OutputError("cannot write " + final_ + ": " + ec.message());
  done_ = true;
}

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

int run_under_xvfb() {
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
  const std::string xvfb_run = find_on_path("xvfb-run");
  if (xvfb_run.empty()) {
    std::cerr << "attnflow render: no X display and no xvfb-run on PATH; install the Debian "
                 "packages xvfb and xauth, or set DISPLAY\n";
    return 4;
  }

  // A private TMPDIR for xvfb-run (its Xauthority folder goes there): removed below whatever
  // happens to xvfb-run.
  const char* tmp_env = std::getenv("TMPDIR");
  const std::string tmp_base = tmp_env && *tmp_env ? tmp_env : "/tmp";
  std::string tmpl = tmp_base + "/attnflow-render.XXXXXX";
  if (!mkdtemp(tmpl.data())) {
    std::cerr << "attnflow render: cannot create a temporary folder in " << tmp_base << ": "
              << std::strerror(errno) << "\n";
    return 4;
  }
  const std::string private_tmp = tmpl;
  auto remove_private_tmp = [&] {
    std::error_code ec;
    fs::remove_all(private_tmp, ec);
  };

  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) != 0) {
    std::cerr << "attnflow render: pipe: " << std::strerror(errno) << "\n";
    remove_private_tmp();
    return 4;
  }
  fcntl(pfd[0], F_SETFL, O_NONBLOCK);

  // Everything the child needs is built before fork (no allocation between fork and exec).
  std::vector<std::string> cmd = {xvfb_run, "-a", "-s", "-screen 0 1280x1024x24 -noreset", self};
  cmd.insert(cmd.end(), argv.begin() + 1, argv.end());
  std::vector<char*> cargv;
  for (auto& s : cmd) cargv.push_back(s.data());
  cargv.push_back(nullptr);
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const std::string key = kv.substr(0, kv.find('='));
    if (key != "TMPDIR" && key != kMarker && key != kReportFd) env.push_back(kv);
  }
  env.push_back("TMPDIR=" + private_tmp);
  env.push_back(std::string(kMarker) + "=1");
  env.push_back(std::string(kReportFd) + "=" + std::to_string(pfd[1]));
  std::vector<char*> cenv;
  for (auto& s : env) cenv.push_back(s.data());
  cenv.push_back(nullptr);

  // Signals are taken synchronously (sigtimedwait) from here on; SIGCHLD must not be ignored.
  sigset_t wait_set, old_mask;
  sigemptyset(&wait_set);
  sigaddset(&wait_set, SIGINT);
  sigaddset(&wait_set, SIGTERM);
  sigaddset(&wait_set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &wait_set, &old_mask);
  struct sigaction dfl {}, old_chld;
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGCHLD, &dfl, &old_chld);
  auto restore = [&] {
    close(pfd[0]);
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    sigaction(SIGCHLD, &old_chld, nullptr);
    sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    remove_private_tmp();
  };
  if (const int s = pending_signal()) {  // interrupted before anything started
    close(pfd[1]);
    restore();
    return 128 + s;
  }
  // Orphans of xvfb-run (Xvfb after xvfb-run exits) become our children, so we reap them.
  prctl(PR_SET_CHILD_SUBREAPER, 1);

  const char* d = std::getenv("DISPLAY");
  std::cerr << "attnflow render: "
            << (d && *d ? "cannot open X display " + std::string(d) : std::string("no X display"))
            << "; re-running under xvfb-run -a (virtual X server)" << std::endl;

  const pid_t child = fork();
  if (child < 0) {
    std::cerr << "attnflow render: fork: " << std::strerror(errno) << "\n";
    close(pfd[1]);
    restore();
    return 4;
  }
  if (child == 0) {
    setpgid(0, 0);
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    fcntl(pfd[1], F_SETFD, 0);  // the renderer inherits the report pipe
    execve(cargv[0], cargv.data(), cenv.data());
    static const char msg[] = "attnflow render: cannot execute xvfb-run\n";
    [[maybe_unused]] ssize_t w = write(2, msg, sizeof msg - 1);
    _exit(127);
  }
  setpgid(child, child);  // also here: no race with the signal forwarding below
  close(pfd[1]);

  using Clock = std::chrono::steady_clock;
  pid_t renderer = -1;
  std::string report;
  auto read_report = [&] {
    char buf[64];
    ssize_t k;
    while ((k = read(pfd[0], buf, sizeof buf)) > 0) report.append(buf, static_cast<std::size_t>(k));
    if (renderer < 0 && report.find('\n') != std::string::npos) {
      const long v = std::strtol(report.c_str(), nullptr, 10);
      if (v > 1) renderer = static_cast<pid_t>(v);
    }
  };
  int sig = 0, stage = 0, child_status = 0;
  Clock::time_point t_sig;
  for (;;) {
    read_report();
    bool all_gone = false;
    for (;;) {  // reap xvfb-run and any orphan handed to us
      int st = 0;
      const pid_t w = waitpid(-1, &st, WNOHANG);
      if (w > 0) {
        if (w == child) child_status = st;
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      all_gone = w < 0 && errno == ECHILD;
      break;
    }
    if (all_gone) break;
    timespec ts{0, 50 * 1000 * 1000};
    siginfo_t si;
    int s = sigtimedwait(&wait_set, &si, &ts);
    // A signal taken by another thread (where it is not blocked) ran the handler instead.
    if (s != SIGINT && s != SIGTERM && sig == 0 && pending_signal() != 0) s = pending_signal();
    if (s == SIGINT || s == SIGTERM) {
      read_report();
      if (sig == 0) {
        sig = s;
        t_sig = Clock::now();
        stage = 1;
        // The renderer stops between frames and xvfb-run cleans up after it; before the
        // renderer exists, the group (xvfb-run, xauth, Xvfb) gets the signal.
        if (renderer > 0 && getpgid(renderer) == child) kill(renderer, s);
        else kill(-child, s);
      } else {  // a second signal: no more patience
        kill(-child, SIGKILL);
        stage = 3;
      }
    }
    if (sig != 0) {
      const double waited = std::chrono::duration<double>(Clock::now() - t_sig).count();
      if (stage == 1 && waited > 1.5) {
        kill(-child, SIGTERM);
        stage = 2;
      }
      if (stage == 2 && waited > 3.0) {
        kill(-child, SIGKILL);
        stage = 3;
      }
    }
  }
  restore();
  if (sig != 0) {
    std::cerr << "attnflow render: interrupted by " << signal_name(sig)
              << "; the renderer and the virtual X server are stopped\n";
    return 128 + sig;
  }
  if (WIFSIGNALED(child_status)) return 128 + WTERMSIG(child_status);
  const int code = WIFEXITED(child_status) ? WEXITSTATUS(child_status) : 4;
  if (renderer < 0 && code != 0) {
    std::cerr << "attnflow render: xvfb-run failed (exit " << code
              << ") before the renderer started; install the Debian packages xvfb and xauth, "
                 "or set DISPLAY\n";
    return 4;
  }
  return code;
}

}  // namespace attnflow::viz
