// Kernel benchmarks (Google Benchmark): the right-hand sides of the streaming attention family,
// timed through the product path (scenario text -> validate -> builder -> Model::rhs), and the
// machine's dgemm peak (OpenBLAS) measured in the same run. `scripts/bench.sh` runs this, the
// NumPy/PyTorch peers (bench/peers/attention_rhs.py) and bench/report.py.
//
//   bench_kernels [--benchmark_filter=...] [--benchmark_out=F --benchmark_out_format=json]
//   bench_kernels --dump DIR --dump-n N --dump-d D     (inputs and RHS for the peers' --check)
//
// Counters (rates over wall-clock time; the kernels are OpenMP-parallel):
//   pairs_per_s      pair interactions per second = N^2 x attention passes per RHS / seconds
//   GFLOPs           flops per pair: 2 (dk + dv) (a score dot product and a weighted value sum);
//                    for softmax attention dk = dv = d, the 4d; 2 n^3 for dgemm
//   osc_steps_per_s  oscillator-steps per second of a whole rk4 run (Kuramoto all-to-all)
// svgd_bilinear has no pair loop (the bilinear kernel factorises, O(N d^2)); its pairs_per_s is
// the rate of exact pair sums it delivers.
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "sim/models/attention.hpp"
#include "sim/core/rng.hpp"
#include "sim/config/scenario.hpp"
#include "sim/run/simulation.hpp"

using namespace attnflow;

namespace {

const std::vector<long> kNs = {1024, 4096, 16384, 65536};
const std::vector<long> kDs = {2, 3, 16, 64};

struct Kernel {
  const char* name;
  const char* model;       // the [model] table
  const char* tokens;      // extra [tokens] keys
  int flops_per_pair_d;    // 2 (dk + dv) = this x d; 0: not counted
  int passes = 1;          // attention passes over all pairs per RHS
  bool all_d = true;       // false: d = 1 only (oscillators)
};

// The attention family as scenario text, so the benchmark times exactly what `attnflow run`
// builds from a file.
const Kernel kKernels[] = {
    {"attention_softmax",
     "kind = \"attention\"\nnormalization = \"softmax\"\nQ = \"random\"\nK = \"random\"\nV = \"random\"\n",
     "", 4},
    {"attention_mean",
     "kind = \"attention\"\nnormalization = \"mean\"\nbeta = 0.1\nQ = \"random\"\nK = \"random\"\nV = \"random\"\n",
     "", 4},
    {"accelerated_attention", "kind = \"accelerated_attention\"\ndamping = \"none\"\n",
     "momentum = \"gaussian\"\nmomentum_scale = 0.5\n", 4, 2},
    {"svgd_rbf", "kind = \"svgd\"\ntarget = \"gaussian\"\nkernel = \"rbf\"\n", "", 6},
    {"svgd_bilinear", "kind = \"svgd\"\ntarget = \"gaussian\"\nkernel = \"bilinear\"\n", "", 0},
    {"poly_tree", "kind = \"poly_attention\"\nh = \"x1*x2 + x2*x3\"\nbeta = 0.5\n", "", 4, 2},
    {"kuramoto_ssa",
     "kind = \"kuramoto\"\ncoupling = 2.0\ncoupling_rule = \"ssa\"\nalpha = 1.0\n"
     "frequencies = \"quantiles\"\ndistribution = \"gaussian\"\nsigma = 1.0\n",
     "", 0, 1, false},
};

std::string scenario_text(const std::string& model, const std::string& tokens_extra, long n, long d,
                          double t_end = 0.1) {
  return "[run]\nname = \"bench\"\nseed = 1\nframes = 2\n\n[tokens]\nn = " + std::to_string(n) +
         "\nd = " + std::to_string(d) + "\ninit = \"gaussian\"\n" + tokens_extra + "\n[model]\n" +
         model + "\n[integrator]\nkind = \"rk4\"\ndt = 0.1\nt_end = " + std::to_string(t_end) + "\n";
}

// Times model.rhs on the scenario's initial state.
void bm_rhs(benchmark::State& st, const Kernel& k, long n, long d) {
  const Scenario sc = load_scenario_text(scenario_text(k.model, k.tokens, n, d), k.name);
  Simulation sim(sc);
  Flow& model = sim.flow();
  State ds(sim.state().shape);
  model.rhs(0, sim.state().view(), ds.view());  // warm-up
  const int passes = k.passes;
  for (auto _ : st) {
    model.rhs(0, sim.state().view(), ds.view());
    benchmark::DoNotOptimize(ds.u.data());
  }
  const double pairs = double(n) * double(n) * passes;
  st.counters["N"] = double(n);
  st.counters["d"] = double(d);
  st.counters["passes"] = passes;
  st.counters["pairs_per_s"] = benchmark::Counter(pairs, benchmark::Counter::kIsIterationInvariantRate);
  if (k.flops_per_pair_d > 0)
    st.counters["GFLOPs"] = benchmark::Counter(pairs * k.flops_per_pair_d * double(d) * 1e-9,
                                               benchmark::Counter::kIsIterationInvariantRate);
}

// Whole rk4 runs of all-to-all Kuramoto (O(N) per RHS through the order parameter), no output.
void bm_kuramoto(benchmark::State& st, long n) {
  const long steps = 100;  // a run long enough that first-touch page faults of the stage arrays amortise
  const std::string model =
      "kind = \"kuramoto\"\ncoupling = 2.0\nfrequencies = \"quantiles\"\n"
      "distribution = \"lorentzian\"\ngamma = 0.5\ninitial_phases = \"uniform\"\n";
  const Scenario sc = load_scenario_text(scenario_text(model, "", n, 1, 0.1 * steps), "kuramoto");
  RunOptions opt;
  std::int64_t done = 0;
  for (auto _ : st) {
    st.PauseTiming();  // a fresh initial state each time, built outside the timed region
    auto sim = std::make_unique<Simulation>(sc);
    st.ResumeTiming();
    done += sim->run(opt).steps;
  }
  st.counters["N"] = double(n);
  st.counters["d"] = 1;
  st.counters["osc_steps_per_s"] =
      benchmark::Counter(double(done) * double(n), benchmark::Counter::kIsRate);
}

// The machine's dgemm (OpenBLAS, all its threads): C = A B, n x n, 2 n^3 flops.
void bm_dgemm(benchmark::State& st, long n) {
  std::vector<double> a(n * n), b(n * n), c(n * n);
  Rng rng(3);
  for (auto* v : {&a, &b})
    for (double& x : *v) x = rng.normal();
  for (auto _ : st) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(n), int(n), int(n), 1.0, a.data(),
                int(n), b.data(), int(n), 0.0, c.data(), int(n));
    benchmark::DoNotOptimize(c.data());
  }
  st.counters["n"] = double(n);
  st.counters["GFLOPs"] = benchmark::Counter(2.0 * double(n) * double(n) * double(n) * 1e-9,
                                             benchmark::Counter::kIsIterationInvariantRate);
}

void write_bin(const std::filesystem::path& p, const double* data, std::size_t count) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(data), std::streamsize(count * sizeof(double)));
  if (!f) throw std::runtime_error("cannot write " + p.string());
}

// X, Q, K, V and attnflow's RHS of attention_softmax, for the peers' agreement check.
int dump(const std::string& dir, long n, long d) {
  std::filesystem::create_directories(dir);
  const Scenario sc = load_scenario_text(scenario_text(kKernels[0].model, "", n, d), "dump");
  Simulation sim(sc);
  auto* model = dynamic_cast<AttentionModel*>(&sim.model());
  State ds(sim.state().shape);
  model->rhs(0, sim.state().view(), ds.view());
  const std::filesystem::path p(dir);
  write_bin(p / "X.bin", sim.state().u.data(), std::size_t(n * d));
  write_bin(p / "Q.bin", model->params().Q.data(), std::size_t(d * d));
  write_bin(p / "K.bin", model->params().K.data(), std::size_t(d * d));
  write_bin(p / "V.bin", model->params().V.data(), std::size_t(d * d));
  write_bin(p / "out.bin", ds.u.data(), std::size_t(n * d));
  std::ofstream(p / "meta.json") << "{\"n\": " << n << ", \"d\": " << d
                                 << ", \"beta\": " << model->params().beta << "}\n";
  std::printf("wrote %s (N = %ld, d = %ld)\n", dir.c_str(), n, d);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--dump")) {
      long n = 512, d = 3;
      for (int j = 1; j + 1 < argc; ++j) {
        if (!std::strcmp(argv[j], "--dump-n")) n = std::atol(argv[j + 1]);
        if (!std::strcmp(argv[j], "--dump-d")) d = std::atol(argv[j + 1]);
      }
      if (i + 1 >= argc) return std::fprintf(stderr, "--dump needs a directory\n"), 2;
      return dump(argv[i + 1], n, d);
    }
  }
  for (const Kernel& k : kKernels) {
    for (long d : k.all_d ? kDs : std::vector<long>{1})
      for (long n : kNs) {
        const std::string name =
            std::string(k.name) + "/N:" + std::to_string(n) + "/d:" + std::to_string(d);
        benchmark::RegisterBenchmark(name.c_str(), bm_rhs, k, n, d)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
      }
  }
  for (long n : {100000L, 1000000L})
    benchmark::RegisterBenchmark(("kuramoto_all_to_all/N:" + std::to_string(n) + "/d:1").c_str(),
                                 bm_kuramoto, n)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  for (long n : {1024L, 2048L, 4096L})
    benchmark::RegisterBenchmark(("dgemm/n:" + std::to_string(n)).c_str(), bm_dgemm, n)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);

  benchmark::AddCustomContext("OMP_NUM_THREADS", std::to_string(omp_get_max_threads()));
  benchmark::AddCustomContext("openblas_threads", std::to_string(openblas_get_num_threads()));
  benchmark::AddCustomContext("openblas_config", openblas_get_config());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
