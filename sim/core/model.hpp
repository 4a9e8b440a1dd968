#pragma once
// Model concept: a right-hand side u' = F(t, u) on the token state (odeint's System concept),
// or a discrete layer map u <- L(u). Models are registered by name (sim/registry.hpp); one file
// per model under sim/models/.
//
// Counting: integrators call eval(), which counts RHS evaluations and attention-oracle calls
// (an oracle call = one pass of the attention operator over all token pairs).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/error.hpp"
#include "sim/core/spec.hpp"
#include "sim/core/state.hpp"

namespace attnflow {

struct Counters {
  std::int64_t rhs_evals = 0;
  std::int64_t oracle_calls = 0;
};

class Model {
 public:
  Model(Shape shape, Space space) : shape_(shape), space_(space) {}
  virtual ~Model() = default;

  virtual std::string kind() const = 0;
  Shape shape() const { return shape_; }
  Space space() const { return space_; }

  // --- continuous flows --------------------------------------------------------------------
  // ds = F(t, s). Same shape as s. Must not allocate O(N^2).
  virtual void rhs(double t, ConstStateView s, StateView ds) = 0;
  // Oracle calls made by one rhs() (attention passes); 0 for non-attention models.
  virtual int oracle_calls_per_rhs() const { return 1; }

  // --- discrete layer models (transformer blocks) ------------------------------------------
  virtual bool discrete() const { return false; }
  virtual void layer(double /*t*/, double /*h*/, State& /*s*/) {
    throw Error(kind() + " is a flow, not a layer map");
  }

  // --- observables the model defines (energy, Hamiltonian, ...) ----------------------------
  virtual std::vector<std::string> observables() const { return {}; }
  virtual double observable(const std::string& name, double /*t*/, ConstStateView /*s*/) {
    throw Error(kind() + " has no observable '" + name + "'");
  }

  // Called once on the initial state after [tokens] init (e.g. oscillator phases, momenta that
  // depend on model parameters). Draw randomness from Rng::stream(seed, "model.<purpose>").
  virtual void initialize(State& /*s*/) {}

  // --- output hooks --------------------------------------------------------------------------
  // Oscillator models whose x holds phases (d = 1) return true: the writer adds
  // /particles/tokens/phase (value[T][N]) and views tokens as (cos theta, sin theta, 0).
  virtual bool phase_state() const { return false; }
  // Time-independent per-token arrays written once as /particles/tokens/<name> (e.g. frequency).
  virtual std::vector<std::pair<std::string, Vec>> per_token_constants() const { return {}; }

  // Counted evaluation: what integrators call.
  void eval(double t, ConstStateView s, StateView ds) {
    ++counters.rhs_evals;
    counters.oracle_calls += oracle_calls_per_rhs();
    rhs(t, s, ds);
  }
  // Puts positions back on the manifold (row normalisation on the sphere). Integrators call it
  // after every accepted step.
  void retract(State& s) const;
  // In-place tangent projection of the rows of v at the rows of x: v_i -= <x_i, v_i> x_i.
  static void project_tangent(CMatMap x, MatMap v);

  Counters counters;

 protected:
  Shape shape_;
  Space space_;
};

// What a model's builder gets besides its own parameters.
struct BuildContext {
  Shape shape;
  Space space;
  std::uint64_t seed;
};

}  // namespace attnflow
