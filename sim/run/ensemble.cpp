#include "sim/run/ensemble.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <chrono>
#include <cstdio>
#include <limits>
#include <optional>
#include <sstream>

#include "sim/core/integrator.hpp"
#include "sim/core/interrupt.hpp"
#include "sim/kernels/equiangular.hpp"
#include "sim/kernels/statistics.hpp"
#include "sim/kernels/token_stats.hpp"
#include "sim/run/init.hpp"

namespace attnflow {

std::uint64_t system_seed(std::uint64_t base, std::int64_t i) {
  std::uint64_t z = base + static_cast<std::uint64_t>(i + 1) * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return (z ^ (z >> 31)) >> 1;  // keep it a valid TOML integer (< 2^63)
}

std::string EnsembleSummary::line() const {
  std::ostringstream os;
  os.precision(4);
  os << (signal ? "interrupted" : "done") << ": " << points_done << " grid points, " << systems
     << " systems, " << steps << " steps, " << rhs_evals << " RHS evaluations, " << wall_seconds
     << " s wall";
  return os.str();
}

std::vector<std::string> system_overrides(const Scenario& sc, std::int64_t g, std::int64_t i) {
  std::vector<std::string> ov = sc.overrides;
  for (std::size_t k = 0; k < sc.sweep.size(); ++k)
    ov.push_back(Scenario::grid_override(sc.sweep[k], sc.grid_values[static_cast<std::size_t>(g)][k]));
  const std::uint64_t seed = system_seed(sc.run.seed, i);
  const std::uint64_t mseed = sc.ensemble.shared_matrices ? sc.grid[static_cast<std::size_t>(g)]->run.model_seed : seed;
  ov.push_back("run.seed=" + std::to_string(seed));
  ov.push_back("run.model_seed=" + std::to_string(mseed));
  return ov;
}

namespace {

enum class Stat { ClosePairs, Clusters, Diameter, MeanInner, InnerDeviation, Hemisphere, Observable };

Stat stat_of(const std::string& name) {
  if (name == "close_pair_fraction") return Stat::ClosePairs;
  if (name == "clusters") return Stat::Clusters;
  if (name == "diameter") return Stat::Diameter;
  if (name == "mean_inner") return Stat::MeanInner;
  if (name == "inner_deviation") return Stat::InnerDeviation;
  if (name == "hemisphere") return Stat::Hemisphere;
  return Stat::Observable;
}

// The first error of the systems of a grid point, by system index (so the report does not
// depend on the thread schedule).
struct FirstError {
  std::int64_t system = std::numeric_limits<std::int64_t>::max();
  int code = 0;  // exit code of the error
  std::string message;
};

}  // namespace

namespace {
// Distributed: every rank's systems into every rank's point (values by rows of systems, the first
// K trajectories from their owners), the counters summed, and the first failing system's error
// (the lowest index over all ranks) on every rank.
void exchange_systems(const Comm& comm, EnsemblePoint& p, std::int64_t S, FirstError& first,
                      std::atomic<std::int64_t>& steps, std::atomic<std::int64_t>& rhs) {
  const RowBlock mine = row_block(S, comm.rank(), comm.size());
  const std::size_t F = p.times.size(), Q = p.values.size();
  const Index cols = static_cast<Index>(F * Q);
  if (cols > 0) {
    RowMat local(mine.count, cols), all(S, cols);
    for (Index i = 0; i < mine.count; ++i)
      for (std::size_t q = 0; q < Q; ++q)
        for (std::size_t k = 0; k < F; ++k)
          local(i, static_cast<Index>(q * F + k)) =
              p.values[q][k * static_cast<std::size_t>(S) + static_cast<std::size_t>(mine.offset + i)];
    comm.gather_rows(local.data(), cols, all.data(), S);
    for (Index i = 0; i < S; ++i)
      for (std::size_t q = 0; q < Q; ++q)
        for (std::size_t k = 0; k < F; ++k)
          p.values[q][k * static_cast<std::size_t>(S) + static_cast<std::size_t>(i)] =
              all(i, static_cast<Index>(q * F + k));
  }
  for (std::size_t i = 0; i < p.trajectories.size(); ++i) {
    RowMat& tr = p.trajectories[i];
    int owner = 0;
    while (owner + 1 < comm.size() && row_block(S, owner + 1, comm.size()).offset <= Index(i)) ++owner;
    std::string bytes(reinterpret_cast<const char*>(tr.data()), sizeof(double) * std::size_t(tr.size()));
    comm.broadcast(bytes, owner);
    std::memcpy(tr.data(), bytes.data(), bytes.size());
  }
  double counts[2] = {double(steps.load()), double(rhs.load())};
  comm.sum(counts, 2);
  steps = static_cast<std::int64_t>(counts[0]);
  rhs = static_cast<std::int64_t>(counts[1]);
  const std::int64_t worst = comm.max(first.code ? S - first.system : 0);
  if (worst == 0) return;
  const std::int64_t sys = S - worst;
  int owner = 0;
  while (owner + 1 < comm.size() && row_block(S, owner + 1, comm.size()).offset <= sys) ++owner;
  std::string msg = std::to_string(first.code) + " " + first.message;
  comm.broadcast(msg, owner);
  const auto sp = msg.find(' ');
  first = {sys, std::stoi(msg.substr(0, sp)), msg.substr(sp + 1)};
}
}  // namespace

EnsemblePoint run_grid_point(const Scenario& base, std::int64_t g, const Comm* comm) {
  const auto wall0 = std::chrono::steady_clock::now();
  const Scenario& sc = *base.grid.at(static_cast<std::size_t>(g));
  const EnsembleSpec& e = base.ensemble;
  const std::int64_t S = e.size, K = e.trajectories;
  EnsemblePoint p;
  p.point = g;
  p.times = sc.frame_times();
  p.statistics = e.statistics;
  const std::size_t F = p.times.size(), Q = e.statistics.size();
  p.values.assign(Q, std::vector<double>(F * static_cast<std::size_t>(S)));
  p.trajectories.assign(static_cast<std::size_t>(K), RowMat(F, sc.tokens.n * sc.tokens.d));

  std::vector<Stat> kinds;
  token_stats::FrameRequest req;
  req.delta = e.delta;
  req.clusters = false;
  bool need_pairs = false, need_gamma = false;
  for (const auto& q : e.statistics) {
    kinds.push_back(stat_of(q));
    switch (kinds.back()) {
      case Stat::ClosePairs: case Stat::MeanInner: need_pairs = true; break;
      case Stat::Clusters: need_pairs = req.clusters = true; break;
      case Stat::Diameter: need_pairs = req.diameter = true; break;
      case Stat::InnerDeviation: need_pairs = need_gamma = true; break;
      default: break;
    }
  }
  std::vector<double> gamma;
  if (need_gamma)
    gamma = equiangular_gamma(p.times, sc.integrator.t0, sc.tokens.n, sc.number("model.beta"),
                              sc.text("model.normalization") == "softmax");

  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> steps{0}, rhs{0};
  FirstError first;
#pragma omp parallel
  {
    token_stats::Workspace ws;
    ws.reserve(sc.tokens.n, sc.tokens.d);
    FirstError mine;
    // Distributed: this rank's systems (signals are agreed on after the point).
    const RowBlock own = comm ? row_block(S, comm->rank(), comm->size()) : RowBlock{0, S, S};
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t i = own.offset; i < own.offset + own.count; ++i) {
      if (stop.load(std::memory_order_relaxed)) continue;
      if (interrupt_pending() || (comm && g_local_signal.load(std::memory_order_relaxed))) {
        stop.store(true);
        continue;
      }
      try {
        const std::uint64_t seed = system_seed(base.run.seed, i);
        const std::uint64_t mseed = e.shared_matrices ? sc.run.model_seed : seed;
        std::unique_ptr<Model> model = sc.build_model(mseed);
        std::unique_ptr<Integrator> integrator = sc.integrator_info->make(sc.integrator);
        State s = initial_state(sc, seed);
        model->initialize(s, seed);
        model->retract(s);
        check_finite(s, 0, sc.integrator.t0);
        double t = sc.integrator.t0;
        StepStats st;
        for (std::size_t k = 0; k < F; ++k) {
          advance_model(*model, *integrator, s, t, p.times[k], sc.integrator.dt, st);
          model->observe_frame(t, s.view());
          const CMatMap x(s.u.data(), sc.tokens.n, sc.tokens.d);
          token_stats::FrameStats fs;
          if (need_pairs) {
            token_stats::FrameRequest r = req;
            if (need_gamma) r.gamma = gamma[k];
            fs = token_stats::frame_stats(x, r, ws);
          }
          const std::size_t at = k * static_cast<std::size_t>(S) + static_cast<std::size_t>(i);
          for (std::size_t q = 0; q < Q; ++q) {
            double v = 0;
            switch (kinds[q]) {
              case Stat::ClosePairs: v = fs.close_pair_fraction; break;
              case Stat::Clusters: v = static_cast<double>(fs.clusters); break;
              case Stat::Diameter: v = fs.diameter; break;
              case Stat::MeanInner: v = fs.mean_pairwise_inner; break;
              case Stat::InnerDeviation: v = fs.max_inner_deviation; break;
              case Stat::Hemisphere: v = token_stats::open_hemisphere(x, ws).inside ? 1.0 : 0.0; break;
              case Stat::Observable: v = model->observable(e.statistics[q], t, s.view()); break;
            }
            p.values[q][at] = v;
          }
          if (i < K) p.trajectories[static_cast<std::size_t>(i)].row(static_cast<Index>(k)) =
              Eigen::Map<const Eigen::RowVectorXd>(s.u.data(), sc.tokens.n * sc.tokens.d);
        }
        steps += st.steps;
        rhs += model->counters.rhs_evals;
      } catch (const Interrupted&) {
        stop.store(true);
      } catch (const Error& err) {
        if (i < mine.system) mine = {i, err.exit_code(), err.what()};
      }
    }
#pragma omp critical(attnflow_ensemble_error)
    if (mine.system < first.system) first = mine;
  }
  if (comm) {
    agree_on_signals(*comm);  // every rank discards the point if any rank was stopped
    check_interrupt();
    exchange_systems(*comm, p, S, first, steps, rhs);
  }
  if (stop.load()) check_interrupt();
  if (first.code) {
    std::ostringstream os;
    os << "ensemble system " << first.system << " (seed " << system_seed(base.run.seed, first.system)
       << ") of grid point " << g << ": " << first.message;
    if (first.code == 3) throw NumericalError(os.str());
    if (first.code == 2) throw ConfigError(os.str());
    throw Error(os.str());
  }
  p.steps = steps.load();
  p.rhs_evals = rhs.load();
  p.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  return p;
}

Aggregate aggregate(const double* v, std::int64_t S, const std::vector<double>& qs) {
  Aggregate a;
  double sum = 0;
  for (std::int64_t i = 0; i < S; ++i) sum += v[i];
  a.mean = sum / static_cast<double>(S);
  double ss = 0;
  for (std::int64_t i = 0; i < S; ++i) ss += (v[i] - a.mean) * (v[i] - a.mean);
  a.stderr_ = S > 1 ? std::sqrt(ss / static_cast<double>(S - 1) / static_cast<double>(S)) : 0.0;
  a.quantiles = stats::quantiles(std::span<const double>(v, static_cast<std::size_t>(S)), qs);
  return a;
}

EnsembleSummary run_ensemble(const Scenario& sc, EnsembleSink& sink, const EnsembleOptions& opt) {
  const auto wall0 = std::chrono::steady_clock::now();
  EnsembleSummary sum;
  const std::int64_t G = static_cast<std::int64_t>(sc.grid.size());
  for (std::int64_t g = 0; g < G; ++g) {
    if (static_cast<std::size_t>(g) < opt.skip.size() && opt.skip[static_cast<std::size_t>(g)]) continue;
    try {
      const EnsemblePoint p = run_grid_point(sc, g, opt.comm);
      sink.write_point(p);
      ++sum.points_done;
      sum.systems += sc.ensemble.size;
      sum.steps += p.steps;
      sum.rhs_evals += p.rhs_evals;
    } catch (const Interrupted& in) {
      sum.signal = in.signal;
      break;
    }
    if (opt.progress) {
      std::fprintf(stderr, "\rgrid point %lld / %lld", static_cast<long long>(g + 1),
                   static_cast<long long>(G));
      std::fflush(stderr);
    }
  }
  if (opt.progress) std::fprintf(stderr, "\n");
  sum.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  return sum;
}

}  // namespace attnflow
