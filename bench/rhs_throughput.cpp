// Attention RHS throughput: pair interactions per second of the streamed softmax attention
// right-hand side (model "attention", SA, general Q, K, V), float64.
//
//   bench_rhs [N ...] [--d D ...] [--reps R]
//
// Prints one line per (N, d): pairs/s and GFLOP/s counting 4d flops a pair (score d FMAs,
// value d FMAs). Uses all OpenMP threads (OMP_NUM_THREADS to change).
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "sim/models/attention.hpp"
#include "sim/rng.hpp"

using namespace attnflow;

int main(int argc, char** argv) {
  std::vector<Index> ns, ds;
  int reps = 0;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--d") && i + 1 < argc) ds.push_back(std::atol(argv[++i]));
    else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) reps = std::atoi(argv[++i]);
    else ns.push_back(std::atol(argv[i]));
  }
  if (ns.empty()) ns = {1024, 4096, 16384};
  if (ds.empty()) ds = {3, 64};
  std::printf("threads %d\n%8s %4s %14s %10s\n", omp_get_max_threads(), "N", "d", "pairs/s", "GFLOP/s");
  for (Index d : ds) {
    for (Index n : ns) {
      Rng rng(1);
      AttentionParams p;
      p.Q = RowMat(d, d); p.K = RowMat(d, d); p.V = RowMat(d, d);
      for (auto* m : {&p.Q, &p.K, &p.V})
        for (Index i = 0; i < d; ++i)
          for (Index j = 0; j < d; ++j) (*m)(i, j) = rng.normal() / std::sqrt(double(d));
      AttentionModel model({n, d, false}, Space::Euclidean, p);
      State s({n, d, false}), ds_({n, d, false});
      for (Index k = 0; k < s.u.size(); ++k) s.u[k] = rng.normal();
      model.rhs(0, s.view(), ds_.view());  // warm-up
      const double pairs = double(n) * double(n);
      int r = reps > 0 ? reps : std::max(1, int(2e9 / (pairs * d)));
      const auto t0 = std::chrono::steady_clock::now();
      for (int k = 0; k < r; ++k) model.rhs(0, s.view(), ds_.view());
      const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / r;
      std::printf("%8ld %4ld %14.4g %10.2f\n", long(n), long(d), pairs / sec, 4.0 * d * pairs / sec * 1e-9);
    }
  }
  return 0;
}
