#include "sim/core/integrator.hpp"

#include "sim/core/parallel.hpp"

#include <cmath>
#include <sstream>

namespace attnflow {

std::atomic<int> g_pending_signal{0};

void check_finite(const State& s, std::int64_t step, double t, const Comm* comm,
                  Index first_token) {
  // Parallel scan (a NaN or Inf anywhere makes the sum non-finite: x * 0 is NaN for both).
  const Index n = s.u.size();
  const double* u = s.u.data();
  double probe = 0;
  if (fork_threads(n >= (1 << 18))) {
#pragma omp parallel for simd reduction(+ : probe) schedule(static)
    for (Index k = 0; k < n; ++k) probe += u[k] * 0.0;
  } else {
#pragma omp simd reduction(+ : probe)
    for (Index k = 0; k < n; ++k) probe += u[k] * 0.0;
  }
  // Distributed: every rank learns whether any rank holds a non-finite value, so all stop at
  // this step (the rank that holds it names the token; the others say where it was).
  const bool bad_here = !(probe == 0);
  if (comm && comm->max(bad_here ? 1 : 0) != 0 && !bad_here) {
    std::ostringstream os;
    os.precision(10);
    os << "non-finite state at step " << step << ", t = " << t << " (on another rank)";
    throw NumericalError(os.str());
  }
  if (!bad_here) return;
  const Index nd = s.shape.block();
  for (Index k = 0; k < s.u.size(); ++k) {
    if (std::isfinite(s.u[k])) continue;
    const bool mom = k >= nd;
    const Index kk = mom ? k - nd : k;
    std::ostringstream os;
    os.precision(10);
    os << "non-finite state at step " << step << ", t = " << t << ": token " << first_token + kk / s.shape.d
       << (mom ? " momentum" : " position") << " component " << kk % s.shape.d << " = "
       << s.u[k];
    throw NumericalError(os.str());
  }
}

std::int64_t steps_for(double span, double dt) {
  const double n = std::ceil(span / dt - 1e-9);
  if (!(n >= 1) || !(n < 9.0e15)) {
    std::ostringstream os;
    os << "cannot split an interval of " << span << " into steps of dt = " << dt << " ("
       << n << " steps)";
    throw NumericalError(os.str());
  }
  return static_cast<std::int64_t>(n);
}

namespace {
// The loop both advance() variants share: n equal steps of h covering [t, t1].
template <class Step>
void equal_steps(const Model& m, State& s, double& t, double t1, double dt, StepStats& st,
                 Step&& one_step) {
  const double span = t1 - t;
  if (span <= 0) return;
  const std::int64_t n = steps_for(span, dt);
  const double h = span / static_cast<double>(n);
  const double t_start = t;
  for (std::int64_t k = 0; k < n; ++k) {
    if (m.comm()) agree_on_signals(*m.comm());  // all ranks stop at the same step
    check_interrupt();
    const double tk = t_start + static_cast<double>(k) * h;
    one_step(tk, h);
    m.retract(s);
    ++st.steps;
    check_finite(s, st.steps, tk + h, m.comm(), m.rows().offset);
  }
  t = t1;
}
}  // namespace

void Integrator::advance(Flow& m, State& s, double& t, double t1, StepStats& st) {
  equal_steps(m, s, t, t1, spec_.dt, st, [&](double tk, double h) { step(m, s, tk, h); });
}

void advance_layers(LayerMap& m, State& s, double& t, double t1, double dt, StepStats& st) {
  equal_steps(m, s, t, t1, dt, st, [&](double tk, double h) { m.layer(tk, h, s); });
}

void advance_model(Model& m, Integrator& in, State& s, double& t, double t1, double dt,
                   StepStats& st) {
  if (auto* f = dynamic_cast<Flow*>(&m))
    in.advance(*f, s, t, t1, st);
  else
    advance_layers(dynamic_cast<LayerMap&>(m), s, t, t1, dt, st);
}

}  // namespace attnflow
