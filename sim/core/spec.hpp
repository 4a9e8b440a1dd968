#pragma once
// Plain scenario structs (schema v1, SPEC section 3). Filled by sim/scenario.cpp from the TOML
// file, validated there with file:line:col messages, then handed to the builder. No TOML here.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/state.hpp"
#include "sim/core/where.hpp"

namespace attnflow {

enum class Space { Euclidean, Sphere };

struct RunSpec {
  std::string name = "run";
  std::uint64_t seed = 0;        // initial tokens (and everything else unless model_seed is set)
  std::uint64_t model_seed = 0;  // random model parameters (matrices, frequencies); = seed by default
  bool model_seed_given = false;
  std::string output;          // resolved path of the .h5 file
  std::int64_t frames = 101;   // frames written over [t0, t_end] (on whole steps when dt divides it)
  bool frames_given = false;   // frames came from the scenario (not the default)
  std::int64_t save_every = 0; // alternative: a frame every k steps (fixed-step only)
};

struct TokensSpec {
  Index n = 0, d = 0;
  Space space = Space::Euclidean;
  std::string init = "gaussian";
  Vec mean;            // gaussian / elliptical_t / clusters centre (size d)
  RowMat cov;          // d x d, SPD
  double nu = 5.0;     // elliptical_t degrees of freedom
  std::string path;    // init = "file": CSV of N rows, d columns (resolved path)
  RowMat x0;           // init = "file": its contents (read when the scenario is loaded)
  Index clusters = 2;  // init = "clusters": number of centres
  double spread = 0.1; // init = "clusters": std of each cluster; hemisphere: cap half-angle
  std::string momentum = "zero";  // zero | gaussian | affine
  double momentum_scale = 1.0;    // std of gaussian momenta
  RowMat P0;                      // affine momenta: y_i = P0 x_i + c0
  Vec c0;
};

struct IntegratorSpec {
  std::string kind = "rk4";
  double dt = 0.1;
  double t0 = 0.0;
  double t_end = 1.0;
  std::int64_t layers = 0;  // > 0: layers mode, t_end = layers * dt
  double rtol = 1e-8, atol = 1e-10;
  double dt_min = 1e-12;    // adaptive step floor: below it the run stops (exit 3)
};

struct ObserveSpec {
  std::vector<std::string> quantities;
  Where where;               // of observe.quantities
  Vec w;                     // direction for hemisphere_margin (default: initial mean direction)
};

// One [[expect]] claim (vocabulary in analysis/claims.hpp).
// One axis of a parameter sweep ([[sweep]]): a numeric scenario key and its values.
struct SweepAxis {
  std::string key;             // dotted scenario key, e.g. "model.beta" or "tokens.d"
  std::vector<double> values;  // the grid values, in order
  bool integer = false;        // an integer key (tokens.n, tokens.d, ...)
  bool log = false;            // values spaced logarithmically (for fits and plots)
  Where where;
};

// [ensemble]: `size` independent systems per grid point (sim/run/ensemble.hpp).
struct EnsembleSpec {
  std::int64_t size = 0;               // systems per grid point; 0 = not an ensemble
  bool shared_matrices = true;         // random model parameters drawn once, or per system
  std::int64_t trajectories = 0;       // full trajectories kept for the first k systems of a point
  std::vector<std::string> statistics; // per system and frame
  double delta = 1e-3;                 // close pairs and clusters: <x_i, x_j> > 1 - delta
  std::vector<double> quantiles = {0.05, 0.5, 0.95};
  Where where;
  bool active() const { return size > 0; }
};

struct ClaimSpec {
  std::string kind;          // rate | final | monotone | max_residual | min | max
  std::string observable;
  bool has_window = false;         // else the whole run
  double t_from = 0, t_to = 0;     // window
  Where window_where, observable_where;
  std::string reference;     // max_residual: "equiangular" or another observable
  std::string direction;     // monotone: increasing | decreasing
  double tol = 0;            // monotone: allowed violation per frame
  double equals = 0; bool has_equals = false;
  double rel_tol = 0, abs_tol = 0;
  double at_least = 0; bool has_at_least = false;
  double at_most = 0; bool has_at_most = false;
  std::string label;         // printed name
  Where where;
  // Added for SympFormer claims (analysis/claims.hpp): hitting_time, power_rate, drift,
  // drift_order, compare_runs, ellipticity.
  double threshold = 0;      // hitting_time / compare_runs: level of value (or value/value(t0))
  bool relative = true;      // hitting_time, drift: divide by the value at the first frame
  std::string against;       // compare_runs: the other scenario (resolved path)
  std::vector<std::int64_t> seeds;  // compare_runs: seeds to rerun both scenarios with
  std::int64_t min_wins = -1;       // compare_runs: required wins (default: all seeds)
  bool equal_budget = true;         // compare_runs: RHS evaluations must be equal
  std::string metric;               // ellipticity: linear_image | affine_image | mahalanobis
  std::vector<std::string> integrators;  // ellipticity: rerun with each integrator kind
  // Ensemble claims (analysis/ensemble_claims.hpp): probability, ensemble_mean, crossing,
  // ensemble_power_law, ensemble_curve.
  std::string statistic;                   // an ensemble statistic
  std::vector<std::pair<std::string, double>> point;  // grid point: swept key -> value
  bool has_time = false;
  double time = 0;                         // frame time (default: the last frame)
  double confidence = 0.99;                // interval level
  std::string event;                       // probability: "", "equals", "below", "above"
  double event_value = 0;
  std::string along;                       // crossing / power law: the swept key
  double level = 0;                        // crossing: the level of the mean curve
};

}  // namespace attnflow
