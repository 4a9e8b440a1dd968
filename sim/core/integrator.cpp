#include "sim/core/integrator.hpp"

#include <cmath>
#include <sstream>

namespace attnflow {

std::atomic<int> g_pending_signal{0};

void check_interrupt() {
  if (int sig = g_pending_signal.load()) throw Interrupted{sig};
}

void check_finite(const State& s, std::int64_t step, double t) {
  // Parallel scan (a NaN or Inf anywhere makes the sum non-finite: x * 0 is NaN for both).
  const Index n = s.u.size();
  const double* u = s.u.data();
  double probe = 0;
#pragma omp parallel for simd reduction(+ : probe) schedule(static) if (n >= (1 << 18))
  for (Index k = 0; k < n; ++k) probe += u[k] * 0.0;
  if (probe == 0) return;
  const Index nd = s.shape.block();
  for (Index k = 0; k < s.u.size(); ++k) {
    if (std::isfinite(s.u[k])) continue;
    const bool mom = k >= nd;
    const Index kk = mom ? k - nd : k;
    std::ostringstream os;
    os.precision(10);
    os << "non-finite state at step " << step << ", t = " << t << ": token " << kk / s.shape.d
       << (mom ? " momentum" : " position") << " component " << kk % s.shape.d << " = "
       << s.u[k];
    throw NumericalError(os.str());
  }
}

void Integrator::advance(Model& m, State& s, double& t, double t1, StepStats& st) {
  const double span = t1 - t;
  if (span <= 0) return;
  const auto n = static_cast<std::int64_t>(std::ceil(span / spec_.dt - 1e-9));
  const double h = span / static_cast<double>(n);
  const double t_start = t;
  for (std::int64_t k = 0; k < n; ++k) {
    check_interrupt();
    const double tk = t_start + static_cast<double>(k) * h;
    if (m.discrete())
      m.layer(tk, h, s);
    else
      step(m, s, tk, h);
    m.retract(s);
    ++st.steps;
    st.last_dt = h;
    check_finite(s, st.steps, tk + h);
  }
  t = t1;
}

}  // namespace attnflow
