#pragma once
// Models: what is simulated. Two kinds, both registered by name (sim/core/registry.hpp), one file
// per model under sim/models/:
//
//   Flow      a right-hand side u' = F(t, u) on the token state (odeint's System concept),
//             advanced by an Integrator (sim/core/integrator.hpp);
//   LayerMap  a discrete block u <- L_h(t, u) (transformer layers, OSN blocks, poly-attention
//             blocks): one step = one layer of width h = integrator.dt.
//
// Every model has a shape (N tokens in d dimensions, optional momenta), a space (R^d or the
// sphere), counters (RHS evaluations, attention-oracle calls: an oracle call = one pass of an
// attention operator over all token pairs) and named observables (energy, Hamiltonian, order
// parameter, ...). Which observables a configuration offers is stated by its reader
// (ModelRecipe::observables), so that validation never has to build a model.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/comm.hpp"
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

  // The value of observable `name` (one of the recipe's observables) at time t.
  virtual double observable(const std::string& name, double /*t*/, ConstStateView /*s*/) {
    throw Error(kind() + " has no observable '" + name + "'");
  }
  // Called once per written frame, before its observables, for models that keep time averages
  // (Kuramoto's order_parameter_avg, coherence). A resumed run replays it over the stored frames.
  virtual void observe_frame(double /*t*/, ConstStateView /*s*/) {}
  virtual bool keeps_time_averages() const { return false; }

  // Called once on the initial state after [tokens] init (e.g. oscillator phases, task
  // encodings). `seed` is the run's seed (an ensemble system's own seed): draw the initial state's
  // randomness from Rng::stream(seed, "model.<purpose>"), the model's parameters from the seed it
  // was built with.
  virtual void initialize(State& /*s*/, std::uint64_t /*seed*/) {}

  // --- output hooks --------------------------------------------------------------------------
  // Oscillator models whose x holds phases (d = 1) return true: the writer adds
  // /particles/tokens/phase (value[T][N]) and views tokens as (cos theta, sin theta, 0).
  virtual bool phase_state() const { return false; }
  // Density models (sim/models/circle_density.cpp) whose x holds the M cell averages of a density
  // on the circle: the writer also exposes the state as the field /fields/density
  // (sim/io/h5md_layout.hpp) and views cell i at (cos theta_i, sin theta_i, rho_i).
  struct DensityField {
    double beta = 0;
    std::string normalization;  // "softmax" | "mean"
  };
  virtual const DensityField* density_field() const { return nullptr; }
  // Time-independent per-token arrays written once as /particles/tokens/<name> (e.g. frequency).
  virtual std::vector<std::pair<std::string, Vec>> per_token_constants() const { return {}; }

  // Puts positions back on the manifold (row normalisation on the sphere). Integrators call it
  // after every accepted step.
  void retract(State& s) const;
  // In-place tangent projection of the rows of v at the rows of x: v_i -= <x_i, v_i> x_i.
  static void project_tangent(CMatMap x, MatMap v);

  Counters counters;

  // --- distributed runs (attnflow-mpi; sim/core/comm.hpp) ---------------------------------
  // A model built for one rank of a distributed run holds that rank's rows only (shape().n =
  // rows().count); its rhs() computes them, exchanging what it needs with the other ranks
  // through comm() (the ring of key/value blocks, sums of moments). Serial: comm() is null
  // and rows() covers all tokens. Only models whose recipe says `distributed` are built so.
  void distribute(const Comm* comm, RowBlock rows) { comm_ = comm, rows_ = rows; }
  const Comm* comm() const { return comm_; }
  RowBlock rows() const { return comm_ ? rows_ : RowBlock{0, shape_.n, shape_.n}; }
  // N, the number of tokens of the whole system (on every rank).
  Index n_total() const { return comm_ ? rows_.total : shape_.n; }

 protected:
  Shape shape_;
  Space space_;
  const Comm* comm_ = nullptr;
  RowBlock rows_;
};

// u' = F(t, u).
class Flow : public Model {
 public:
  using Model::Model;
  // ds = F(t, s). Same shape as s. Must not allocate O(N^2).
  virtual void rhs(double t, ConstStateView s, StateView ds) = 0;
  // Oracle calls made by one rhs() (attention passes); 0 for non-attention models.
  virtual int oracle_calls_per_rhs() const { return 1; }
  // Counted evaluation: what integrators call.
  void eval(double t, ConstStateView s, StateView ds) {
    ++counters.rhs_evals;
    counters.oracle_calls += oracle_calls_per_rhs();
    rhs(t, s, ds);
  }
};

// u <- L_h(t, u): one layer of width h. Counts its own oracle calls.
class LayerMap : public Model {
 public:
  using Model::Model;
  virtual void layer(double t, double h, State& s) = 0;
};

// What a model's builder gets besides its own parameters.
struct BuildContext {
  Shape shape;
  Space space;
  std::uint64_t seed;
  std::vector<std::string> observables;  // what the run will ask for (models may prepare)
  double t0 = 0.0;                       // integrator.t0: where closed-form references start
  // A distributed run's rank (shape.n = rows.count); null: serial.
  const Comm* comm = nullptr;
  RowBlock rows;
};

}  // namespace attnflow
