// Ring attention under MPI (bench/README.md "MPI"): the distributed SA right-hand side of N tokens
// in d dimensions on P ranks, timed, with the time each rank spent in the kernel and the time it
// waited for a key/value block the kernel was ready for (communication not hidden).
//
//   mpirun -n P mpi_ring N D REPS    -> one JSON line on rank 0
#include <mpi.h>
#include <omp.h>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "mpi/mpi_comm.hpp"
#include "sim/config/scenario.hpp"
#include "sim/kernels/ring_attention.hpp"
#include "sim/run/simulation.hpp"

using namespace attnflow;

namespace {
// CPU seconds of this process (all its threads): the work a rank did, whatever the machine gave it.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec);
}
}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  {
    MpiComm comm(MPI_COMM_WORLD);
    if (argc < 4) {
      if (comm.rank() == 0) std::fprintf(stderr, "usage: mpi_ring N D REPS\n");
      MPI_Abort(MPI_COMM_WORLD, 2);
    }
    const long n = std::atol(argv[1]), d = std::atol(argv[2]), reps = std::atol(argv[3]);
    const std::string text = "[run]\nname = \"mpi_ring\"\noutput = \"/tmp/mpi_ring.h5\"\n[tokens]\nn = " +
                             std::to_string(n) + "\nd = " + std::to_string(d) +
                             "\nspace = \"sphere\"\n[model]\nkind = \"attention\"\nbeta = 1.0\n"
                             "[integrator]\nkind = \"rk4\"\ndt = 0.01\nt_end = 0.01\n";
    LoadOptions lo;
    lo.distributed = true;
    const Scenario sc = load_scenario_text(text, "mpi_ring.toml", {}, lo);
    Simulation sim(sc, nullptr, &comm);
    Flow& f = sim.flow();
    State ds(sim.state().shape);
    f.eval(0.0, sim.state().view(), ds.view());  // warm-up
    comm.barrier();
    ring_counters() = {};
    const double cpu0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    for (long r = 0; r < reps; ++r) f.eval(0.0, sim.state().view(), ds.view());
    comm.barrier();
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = cpu_seconds() - cpu0;
    const int P = comm.size();
    // Every rank's counters on every rank (slot r = rank r).
    std::vector<double> k(P, 0.0), w(P, 0.0), c(P, 0.0);
    k[comm.rank()] = ring_counters().kernel_seconds;
    w[comm.rank()] = ring_counters().wait_seconds;
    c[comm.rank()] = cpu;
    comm.sum(k.data(), P);
    comm.sum(w.data(), P);
    comm.sum(c.data(), P);
    double kmax = 0, wmax = 0, cmax = 0;
    for (int r = 0; r < P; ++r)
      kmax = std::max(kmax, k[r]), wmax = std::max(wmax, w[r]), cmax = std::max(cmax, c[r]);
    const double pairs = double(n) * double(n);
    if (comm.rank() == 0)
      std::printf(
          "{\"ranks\": %d, \"threads\": %d, \"n\": %ld, \"d\": %ld, \"seconds_per_rhs\": %.6g, "
          "\"pairs_per_s\": %.4g, \"pairs_per_s_per_rank\": %.4g, \"kernel_s_per_rhs_max\": %.6g, "
          "\"wait_s_per_rhs_max\": %.6g, \"cpu_s_per_rhs_max\": %.6g, "
          "\"bytes_sent_per_rank_per_rhs\": %.6g}\n",
          P, omp_get_max_threads(), n, d, wall / double(reps), pairs * double(reps) / wall,
          pairs * double(reps) / wall / P, kmax / double(reps), wmax / double(reps),
          cmax / double(reps), 8 * ring_counters().doubles_sent / double(reps));
  }
  MPI_Finalize();
  return 0;
}
