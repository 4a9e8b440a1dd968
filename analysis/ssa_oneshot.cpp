#include "analysis/ssa_oneshot.hpp"

#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "sim/kernels/attention_stats.hpp"
#include "sim/core/error.hpp"
#include "sim/config/scenario.hpp"
#include "sim/io/h5md_reader.hpp"
#include "sim/models/ssa.hpp"

namespace attnflow {
namespace {

// The token cloud of frame `frame` (negative: from the end) of a run file.
RowMat read_tokens(const H5mdReader& f, long long frame, long long& used) {
  f.require_run();
  f.require_frames(": nothing to analyze");
  const long long T = f.frames();
  const long long k = frame < 0 ? T + frame : frame;
  if (k < 0 || k >= T)
    throw ConfigError("--frame " + std::to_string(frame) + " is out of range (the run has " +
                      std::to_string(T) + " frames)");
  used = k;
  return f.positions(k);
}

// The seed the run drew its model parameters from (run.model_seed of the stored scenario, which
// defaults to run.seed); 0 when the file stores neither.
std::uint64_t run_model_seed(const H5mdReader& f) {
  for (const char* key : {"run.model_seed", "run.seed"})
    if (auto v = toml_integer(f.metadata().scenario, key); v && *v >= 0) return static_cast<std::uint64_t>(*v);
  return 0;
}

}  // namespace

int ssa_oneshot_main(const std::vector<std::string>& args) {
  CLI::App app{"one-shot SSA analysis of a run's token cloud", "attnflow analyze --ssa"};
  std::string file, init = "default";
  long long heads = 1, frame = -1;
  std::uint64_t seed = 0;
  bool ssa_flag = false, write = false;
  app.add_option("run", file, "run file (HDF5)")->required();
  app.add_flag("--ssa", ssa_flag, "one-shot SSA analysis");
  app.add_option("--heads", heads, "number of heads H (D must be divisible by H)");
  app.add_option("--init", init, "default | figure | osn")
      ->check(CLI::IsMember({"default", "figure", "osn"}));
  app.add_option("--frame", frame, "frame index (negative counts from the end; default -1)");
  auto* seed_opt = app.add_option(
      "--seed", seed, "seed of the block's weights (default: the run's run.model_seed, as model "
                      "\"ssa\" draws them)");
  app.add_flag("--write-matrices", write, "store the matrices under /analysis/matrices");
  std::vector<std::string> rev(args.rbegin(), args.rend());
  try {
    app.parse(rev);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  try {
    long long used = 0;
    // --write-matrices writes into the run: opened for update, under the run file's lock.
    H5mdReader f(file, write ? H5mdReader::Access::Update : H5mdReader::Access::Read);
    const RowMat x = read_tokens(f, frame, used);
    if (seed_opt->count() == 0) seed = run_model_seed(f);
    const Index n = x.rows(), D = x.cols();
    if (heads < 1 || D % heads != 0)
      throw ConfigError("--heads " + std::to_string(heads) + " must divide the token dimension d = " +
                        std::to_string(D));
    OsnParams p;
    p.D = D;
    p.H = static_cast<Index>(heads);
    p.F = 4 * D;
    p.init = init;
    p.K_hat = init == "figure" ? 100.0 : 1.0;
    p.alpha_hat.assign(static_cast<std::size_t>(p.H), init == "figure" ? -5.0 : 1.0);
    const OsnBlock block(p, seed);
    const RowMat z = block.input(x);
    std::vector<double> r;
    const auto S = block.sync_matrices(z, false, &r);
    const auto A = block.baseline_attention(z);
    const AttentionStats ss = attention_stats(S), ts = attention_stats(A);
    std::printf("%s: frame %llu, N = %ld, D = %ld, H = %ld, init = %s, seed = %llu\n", file.c_str(),
                static_cast<unsigned long long>(used), long(n), long(D), long(p.H), init.c_str(),
                static_cast<unsigned long long>(seed));
    std::printf("%-16s %14s %20s\n", "statistic", "SSA", "random transformer");
    for (const auto& name : attention_stat_names())
      std::printf("%-16s %14.6g %20.6g\n", name.c_str(), ss.get(name), ts.get(name));
    double rmean = 0;
    for (double v : r) rmean += v / static_cast<double>(r.size());
    std::printf("%-16s %14.6g\n", "order_parameter", rmean);
    if (write) {
      if (n > 4096) throw ConfigError("--write-matrices: N = " + std::to_string(n) + " > 4096");
      f.write_matrices("ssa", S);
      f.write_matrices("transformer", A);
      std::printf("matrices written to %s:/analysis/matrices/{ssa,transformer}\n", file.c_str());
    }
    return 0;
  } catch (const Error& e) {
    std::cerr << "attnflow analyze: error: " << e.what() << "\n";
    return e.exit_code();
  }
}

}  // namespace attnflow
