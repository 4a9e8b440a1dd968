// Dormand-Prince 5(4), adaptive (Boost.Odeint runge_kutta_dopri5 + controlled stepper).
// Error control: |err_i| <= atol + rtol |u_i| (odeint's default_error_checker, max norm).
// Frame times are hit exactly by shortening the last step before each frame.
// On the sphere the accepted state is renormalised; the FSAL derivative is then stale, so the
// stepper is reset (one extra RHS evaluation per step) rather than reusing it.
// A step size below integrator.dt_min stops the run with exit 3.
#include <cmath>
#include <optional>
#include <sstream>

#include <boost/numeric/odeint.hpp>
#include <boost/numeric/odeint/external/eigen/eigen.hpp>

#include "sim/core/registry.hpp"

namespace attnflow {
namespace {

namespace ode = boost::numeric::odeint;
using Controlled = ode::controlled_runge_kutta<ode::runge_kutta_dopri5<Vec>>;

class Dopri5 : public Integrator {
 public:
  explicit Dopri5(const IntegratorSpec& s)
      : Integrator(s),
        stepper_(ode::make_controlled(s.atol, s.rtol, ode::runge_kutta_dopri5<Vec>())),
        dt_(s.dt) {}
  std::string kind() const override { return "dopri5"; }
  int order() const override { return 5; }
  
  void step(Flow&, State&, double, double) override {
    throw Error("dopri5 is adaptive; use advance()");
  }
  Index checkpoint_size(const Shape&) const override { return 1; }
  std::vector<double> save_checkpoint() const override { return {dt_}; }
  void restore_checkpoint(const std::vector<double>& c) override {
    if (!c.empty()) dt_ = c[0];
  }
  void advance(Flow& m, State& s, double& t, double t1, StepStats& st) override {
    const Shape shape = s.shape;
    auto sys = [&m, shape](const Vec& u, Vec& du, double tt) {
      du.resize(u.size());
      m.eval(tt, ConstStateView{shape, u.data()}, StateView{shape, du.data()});
    };
    const double eps = 1e-13 * std::max(1.0, std::abs(t1));
    while (t1 - t > eps) {
      check_interrupt();
      double h = std::min(dt_, t1 - t);
      const bool last = h >= t1 - t;
      double tt = t;
      if (stepper_.try_step(sys, s.u, tt, h) == ode::success) {
        t = last ? t1 : tt;
        ++st.steps;
        if (m.space() == Space::Sphere) {
          m.retract(s);
          stepper_.reset();
        }
        check_finite(s, st.steps, t);
        // Do not let a shortened final step shrink the next one.
        if (!last || h > dt_) dt_ = h;
      } else {
        ++st.rejected;
        dt_ = h;
        if (!std::isfinite(dt_) || dt_ < spec_.dt_min) {
          std::ostringstream os;
          os.precision(10);
          os << "dopri5 step size underflow at step " << st.steps << ", t = " << t << ": dt = "
             << dt_ << " < integrator.dt_min = " << spec_.dt_min;
          throw NumericalError(os.str());
        }
      }
    }
    t = t1;
  }

 private:
  Controlled stepper_;
  double dt_;
};

const bool registered = IntegratorRegistry::add(
    {"dopri5", "Dormand-Prince 5(4), adaptive (rtol, atol), Boost.Odeint",
     /*adaptive=*/true, /*needs_second_order=*/false, /*separable_order=*/false,
     /*rhs_per_step=*/6,
     [](const IntegratorSpec& s) { return std::make_unique<Dopri5>(s); },
     {"adaptive 5(4)", "Dormand & Prince, J. Comput. Appl. Math. 6 (1980); Boost.Odeint",
      "steps chosen by rtol, atol; dt is the first trial step; no layers, no save_every; a step below dt_min stops the run (exit 3)"}});

}  // namespace
}  // namespace attnflow
