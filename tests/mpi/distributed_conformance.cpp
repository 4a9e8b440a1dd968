// The distributed conformance suite (attnflow-mpi, docs/mpi.md): run under `mpirun -n P`.
//
// For every scenario in the folder whose model has a distributed path, shortened to a few steps:
//   1. one right-hand side of the distributed model (each rank its rows, the ring) gathered from
//      the ranks equals the serial model's right-hand side to 1e-12 relative;
//   2. the distributed run (Simulation with the ranks) ends in the serial run's state, and its
//      observables are the serial ones, to 1e-12 relative;
//   3. the distributed run is bit-identical with 1 and with 2 OpenMP threads per rank.
// Every scenario whose model has none must be refused by validation under MPI (ConfigError,
// exit 2). A scenario needs no registration: a new model or scenario is tested for free.
//
//   distributed_conformance SCENARIO_DIR... [--filter TEXT]
#include <mpi.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "mpi/mpi_comm.hpp"
#include "sim/config/scenario.hpp"
#include "sim/core/error.hpp"
#include "sim/run/simulation.hpp"

using namespace attnflow;

namespace {

double rel_diff(const Vec& a, const Vec& b) {
  const double scale = std::max(a.cwiseAbs().maxCoeff(), 1e-300);
  return (a - b).cwiseAbs().maxCoeff() / scale;
}

struct Outcome {
  std::string name, verdict;
  double rhs = 0, state = 0, obs = 0;
  bool pass = true;
};

// A few steps of the scenario (its claims are not evaluated here).
std::vector<std::string> shortened(const Scenario& full) {
  const double t0 = full.integrator.t0, dt = full.integrator.dt;
  char buf[96];
  std::snprintf(buf, sizeof buf, "integrator.t_end=%.17g", t0 + 6 * dt);
  return {buf, "run.frames=3"};
}

Outcome check(const std::string& path, const MpiComm& comm) {
  Outcome o;
  o.name = std::filesystem::path(path).stem().string();
  LoadOptions lo;
  lo.claim_windows = false;
  Scenario probe = load_scenario(path, {}, lo);
  if (probe.is_ensemble()) return o.verdict = "ensemble (tests/mpi: sweep)", o;
  const bool distributed = probe.model.not_distributed.empty() && !probe.model.traits.layer_map &&
                           !probe.integrator_info->adaptive;
  lo.distributed = true;
  if (!distributed) {
    try {
      (void)load_scenario(path, {}, lo);
      o.pass = false;
      o.verdict = "NOT REFUSED under MPI although it has no distributed path";
    } catch (const ConfigError& e) {
      o.verdict = "refused (exit 2)";
    }
    return o;
  }
  const Scenario sc = load_scenario(path, shortened(probe), lo);
  if (sc.estimated_pairs > 3e9) return o.verdict = "skipped: too large for a test", o;

  // 1. One right-hand side at the initial state.
  {
    Simulation serial(sc), dist(sc, nullptr, &comm);
    const State& x0 = serial.state();
    State ds(x0.shape), dl(dist.state().shape);
    serial.flow().eval(sc.integrator.t0, x0.view(), ds.view());
    dist.flow().eval(sc.integrator.t0, dist.state().view(), dl.view());
    State all(sc.shape());
    gather_state(comm, dl, all);
    o.rhs = rel_diff(ds.u, all.u);
  }
  // 2. The run: final state and observables.
  Simulation serial(sc);
  serial.run();
  auto distributed_run = [&](int threads, Vec& final_state, Series& series) {
    omp_set_num_threads(threads);
    Simulation d(sc, nullptr, &comm);
    d.run();
    final_state = d.full_state().u;
    series = d.series();
  };
  Vec f1, f2;
  Series s1, s2;
  distributed_run(1, f1, s1);
  distributed_run(2, f2, s2);
  o.state = rel_diff(serial.state().u, f1);
  // Observables relative to their size over the run; those that are zero in exact arithmetic
  // and rounding noise throughout (inner_spread of an equiangular set, zero_momentum_residual:
  // below 1e-9 at every frame) to 1e-12 absolute.
  std::string worst;
  for (const auto& [name, v] : serial.series().values) {
    const std::vector<double>& w = s1.values.at(name);
    double scale = 1e-300;
    for (double x : v) scale = std::max(scale, std::abs(x));
    if (scale < 1e-9) scale = 1;
    for (std::size_t k = 0; k < v.size(); ++k) {
      const double r = std::abs(v[k] - w[k]) / scale;
      if (r > o.obs) o.obs = r, worst = name;
    }
  }
  // 3. Thread counts: the same bits.
  const bool same_bits = f1.size() == f2.size() &&
                         std::memcmp(f1.data(), f2.data(), sizeof(double) * f1.size()) == 0 &&
                         s1.values == s2.values;
  o.pass = o.rhs <= 1e-12 && o.state <= 1e-12 && o.obs <= 1e-12 && same_bits;
  char buf[240];
  std::snprintf(buf, sizeof buf, "rhs %.1e  state %.1e  observables %.1e  threads 1 vs 2: %s%s%s",
                o.rhs, o.state, o.obs, same_bits ? "bit-identical" : "DIFFER",
                o.obs > 1e-12 ? "  worst: " : "", o.obs > 1e-12 ? worst.c_str() : "");
  o.verdict = buf;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int failed = 0, distributed = 0;
  {
    MpiComm comm(MPI_COMM_WORLD);
    std::vector<std::string> dirs;
    std::string filter;
    for (int a = 1; a < argc; ++a) {
      if (std::string(argv[a]) == "--filter" && a + 1 < argc) filter = argv[++a];
      else dirs.push_back(argv[a]);
    }
    if (dirs.empty()) {
      std::fprintf(stderr, "usage: distributed_conformance SCENARIO_DIR... [--filter TEXT]\n");
      MPI_Abort(MPI_COMM_WORLD, 2);
    }
    std::vector<std::string> paths;
    for (const auto& dir : dirs) {
      std::vector<std::string> here;
      for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().extension() == ".toml" && e.path().stem().string().find(filter) != std::string::npos)
          here.push_back(e.path().string());
      std::sort(here.begin(), here.end());
      paths.insert(paths.end(), here.begin(), here.end());
    }
    for (const auto& p : paths) {
      Outcome o;
      try {
        o = check(p, comm);
      } catch (const Error& e) {
        o.name = std::filesystem::path(p).stem().string();
        o.pass = false;
        o.verdict = std::string("error: ") + e.what();
      }
      if (o.verdict.rfind("rhs", 0) == 0) ++distributed;
      failed += !o.pass;
      if (comm.rank() == 0)
        std::printf("%s %-44s %s\n", o.pass ? "ok  " : "FAIL", o.name.c_str(), o.verdict.c_str());
    }
    if (comm.rank() == 0)
      std::printf("%d ranks: %d scenarios compared with the serial run, %d failed\n", comm.size(),
                  distributed, failed);
    if (distributed == 0) failed = 1;  // a suite that compared nothing has tested nothing
  }
  MPI_Finalize();
  return failed ? 1 : 0;
}
