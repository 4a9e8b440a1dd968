// Poly-attention scaling study (Chakrabarti, Pitassi, Alman, arXiv 2602.02422; research note
// polyattention.md 3.1-3.3, 3.6): wall time of one exact evaluation of Att^{(h)} (n tokens,
// dk = dv = 4, beta = 1/dk, random N(0,1) projections) against n, for
//
//   tree      h = x1*x2 + x2*x3               (message passing, expected slope 2)
//   strassen  h = x1*x2 + x2*x3 + x3*x1       (matrix products, expected 3 with ordinary GEMM)
//   tensor    h = x1*x2*x3                    (naive enumeration, expected 3)
//   naive_t4  h = x1*x2*x3 + x3*x4            (general h, naive enumeration, expected 4)
//
// The exponent is the least-squares slope of log(time) against log(n). Prints a table and the
// slopes, writes them as JSON.
//
//   bench_poly [--out bench/poly_scaling.json] [--quick]
//
// Uses all OpenMP threads (set OMP_NUM_THREADS=1 for a clean single-core measurement).
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "sim/kernels/poly_algorithms.hpp"
#include "sim/core/rng.hpp"

using namespace attnflow;

namespace {

struct Series {
  std::string name, h, algorithm;
  std::vector<Index> ns;
  std::vector<double> secs;
  double slope = 0;
};

double fit_slope(const std::vector<Index>& ns, const std::vector<double>& secs) {
  const std::size_t k = ns.size();
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < k; ++i) {
    const double x = std::log(double(ns[i])), y = std::log(secs[i]);
    sx += x; sy += y; sxx += x * x; sxy += x * y;
  }
  return (k * sxy - sx * sy) / (k * sxx - sx * sx);
}

double time_one(const Polynomial& h, PolyAlgorithm a, Index n) {
  const Index dk = 4, dv = 4;
  Rng rng(7);
  PolyInput in;
  in.beta = 1.0 / dk;
  for (int j = 0; j < h.t; ++j) {
    RowMat q(n, dk), v(n, dv);
    for (Index i = 0; i < n; ++i)
      for (Index c = 0; c < dk; ++c) q(i, c) = rng.normal();
    for (Index i = 0; i < n; ++i)
      for (Index c = 0; c < dv; ++c) v(i, c) = rng.normal();
    in.q.push_back(q);
    in.v.push_back(v);
  }
  RowMat out;
  poly_attention(h, a, in, out);  // warm-up
  int reps = 0;
  double total = 0;
  const auto t0 = std::chrono::steady_clock::now();
  do {
    poly_attention(h, a, in, out);
    ++reps;
    total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } while (total < 0.3 && reps < 1000);
  return total / reps;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_path = "bench/poly_scaling.json";
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--out") && i + 1 < argc) out_path = argv[++i];
    else if (!std::strcmp(argv[i], "--quick")) quick = true;
  }
  std::vector<Series> all = {
      {"tree", "x1*x2 + x2*x3", "tree", {1024, 2048, 4096, 8192, 16384}, {}, 0},
      {"strassen", "x1*x2 + x2*x3 + x3*x1", "strassen", {128, 192, 256, 384, 512, 768}, {}, 0},
      {"tensor", "x1*x2*x3", "naive", {64, 96, 128, 192, 256, 384}, {}, 0},
      {"naive_t4", "x1*x2*x3 + x3*x4", "naive", {24, 32, 48, 64, 96}, {}, 0},
  };
  if (quick)
    for (auto& s : all) s.ns.resize(3);
  std::printf("threads %d, dk = dv = 4\n%-10s %8s %12s\n", omp_get_max_threads(), "mechanism", "n",
              "seconds");
  for (auto& s : all) {
    const Polynomial h = parse_polynomial(s.h);
    const PolyAlgorithm a = parse_poly_algorithm(s.algorithm);
    for (Index n : s.ns) {
      s.secs.push_back(time_one(h, a, n));
      std::printf("%-10s %8ld %12.4g\n", s.name.c_str(), long(n), s.secs.back());
      std::fflush(stdout);
    }
    s.slope = fit_slope(s.ns, s.secs);
  }
  std::printf("\nfitted exponents (time ~ n^p):\n");
  for (auto& s : all)
    std::printf("  %-10s p = %.3f  (n = %ld..%ld, h = %s, %s)\n", s.name.c_str(), s.slope,
                long(s.ns.front()), long(s.ns.back()), s.h.c_str(), s.algorithm.c_str());
  if (FILE* f = std::fopen(out_path.c_str(), "w")) {
    std::fprintf(f, "{\n  \"threads\": %d,\n  \"dk\": 4,\n  \"dv\": 4,\n  \"series\": [\n",
                 omp_get_max_threads());
    for (std::size_t k = 0; k < all.size(); ++k) {
      const auto& s = all[k];
      std::fprintf(f, "    {\"mechanism\": \"%s\", \"h\": \"%s\", \"algorithm\": \"%s\", \"slope\": %.4f,\n",
                   s.name.c_str(), s.h.c_str(), s.algorithm.c_str(), s.slope);
      std::fprintf(f, "     \"n\": [");
      for (std::size_t i = 0; i < s.ns.size(); ++i) std::fprintf(f, "%s%ld", i ? ", " : "", long(s.ns[i]));
      std::fprintf(f, "],\n     \"seconds\": [");
      for (std::size_t i = 0; i < s.secs.size(); ++i) std::fprintf(f, "%s%.6g", i ? ", " : "", s.secs[i]);
      std::fprintf(f, "]}%s\n", k + 1 < all.size() ? "," : "");
    }
    std::fprintf(f, "  ]\n}\n");
    std::fclose(f);
    std::printf("wrote %s\n", out_path.c_str());
  } else {
    std::fprintf(stderr, "cannot write %s\n", out_path.c_str());
    return 4;
  }
  return 0;
}
