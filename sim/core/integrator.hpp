#pragma once
// Stepper concept. An integrator advances (t, state) to a target time t1 using the model's
// counted right-hand side. Fixed-step integrators implement step(); the base class divides
// [t, t1] into equal steps no longer than dt (exactly dt when dt divides the interval).
// Adaptive integrators override advance(). After every accepted step the state is retracted
// onto the manifold (sphere) and checked for NaN/Inf.
//
// One file per integrator under integrators/, registered by name (sim/registry.hpp).
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/model.hpp"

namespace attnflow {

struct StepStats {
  std::int64_t steps = 0;     // accepted steps (or layers)
  std::int64_t rejected = 0;  // adaptive: rejected trial steps
  double last_dt = 0;         // adaptive: last accepted step size
};

// Raised between steps when SIGINT/SIGTERM arrived; the simulation closes its output cleanly.
struct Interrupted {
  int signal;
};
extern std::atomic<int> g_pending_signal;  // set by the CLI's signal handler

// Throws NumericalError naming step, time and the first non-finite token.
void check_finite(const State& s, std::int64_t step, double t);
// Throws Interrupted if a signal is pending.
void check_interrupt();

class Integrator {
 public:
  explicit Integrator(const IntegratorSpec& spec) : spec_(spec) {}
  virtual ~Integrator() = default;
  virtual std::string kind() const = 0;
  virtual int order() const = 0;
  virtual bool adaptive() const { return false; }
  // Advance s from t to t1; on return t == t1.
  virtual void advance(Model& m, State& s, double& t, double t1, StepStats& st);
  // One step of size h from time t (fixed-step integrators).
  virtual void step(Model& m, State& s, double t, double h) = 0;

  // Checkpointing: internal state that must survive a restart for a resumed run to be
  // bit-identical (adaptive step size, multistep history). Its size must not change during a
  // run: checkpoint_size(shape) values, stored with every frame.
  virtual Index checkpoint_size(const Shape&) const { return 0; }
  virtual std::vector<double> save_checkpoint() const { return {}; }
  virtual void restore_checkpoint(const std::vector<double>&) {}

 protected:
  IntegratorSpec spec_;
};

}  // namespace attnflow
