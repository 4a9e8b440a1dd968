#pragma once
// Stepper concept. An integrator advances (t, state) of a Flow to a target time t1 using the
// model's counted right-hand side. Fixed-step integrators implement step(); the base class divides
// [t, t1] into equal steps no longer than dt (exactly dt when dt divides the interval).
// Adaptive integrators override advance(). After every accepted step the state is retracted
// onto the manifold (sphere) and checked for NaN/Inf.
//
// One file per integrator under integrators/, registered by name (sim/registry.hpp).
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/interrupt.hpp"
#include "sim/core/model.hpp"

namespace attnflow {

struct StepStats {
  std::int64_t steps = 0;     // accepted steps (or layers)
  std::int64_t rejected = 0;  // adaptive: rejected trial steps
};

// Throws NumericalError naming step, time and the first non-finite token. Distributed (comm):
// on every rank when any rank's rows are non-finite; s holds the rows from token first_token.
void check_finite(const State& s, std::int64_t step, double t, const Comm* comm = nullptr,
                  Index first_token = 0);

// The number of equal steps no longer than dt that cover `span` (what Integrator::advance takes).
// Throws NumericalError when it is not a sane count (validation rejects such scenarios first).
std::int64_t steps_for(double span, double dt);

// Layer maps: steps of width h <= dt from t to t1, one layer each, with the same retraction,
// NaN/Inf check and interrupt polling as Integrator::advance.
void advance_layers(LayerMap& m, State& s, double& t, double t1, double dt, StepStats& st);

class Integrator {
 public:
  explicit Integrator(const IntegratorSpec& spec) : spec_(spec) {}
  virtual ~Integrator() = default;
  virtual std::string kind() const = 0;
  // The order of accuracy; the conformance test (tests/unit/test_conformance.cpp) measures it.
  virtual int order() const = 0;
  // Advance s from t to t1; on return t == t1.
  virtual void advance(Flow& m, State& s, double& t, double t1, StepStats& st);
  // One step of size h from time t (fixed-step integrators).
  virtual void step(Flow& m, State& s, double t, double h) = 0;

  // Checkpointing: internal state that must survive a restart for a resumed run to be
  // bit-identical (adaptive step size, multistep history). Its size must not change during a
  // run: checkpoint_size(shape) values, stored with every frame.
  virtual Index checkpoint_size(const Shape&) const { return 0; }
  virtual std::vector<double> save_checkpoint() const { return {}; }
  virtual void restore_checkpoint(const std::vector<double>&) {}

 protected:
  IntegratorSpec spec_;
};

// Any model from t to t1: a Flow by the integrator, a LayerMap by layers of width <= dt.
void advance_model(Model& m, Integrator& in, State& s, double& t, double t1, double dt, StepStats& st);

}  // namespace attnflow
