#pragma once
// SIGINT/SIGTERM: the command line's (or the Python module's) signal handler only sets a flag;
// integrators poll it between steps and the pair loops between blocks of rows, so any run stops
// within a fraction of a second and closes its output cleanly.
#include <atomic>

namespace attnflow {

// Thrown when a signal is pending; the simulation closes its output and reports where it stopped.
struct Interrupted {
  int signal;
};

extern std::atomic<int> g_pending_signal;  // 0, or the number of the pending signal

inline bool interrupt_pending() { return g_pending_signal.load(std::memory_order_relaxed) != 0; }
// Throws Interrupted if a signal is pending.
inline void check_interrupt() {
  if (const int sig = g_pending_signal.load(std::memory_order_relaxed)) throw Interrupted{sig};
}

}  // namespace attnflow
