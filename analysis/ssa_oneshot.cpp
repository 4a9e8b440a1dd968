#include "analysis/ssa_oneshot.hpp"

#include <hdf5.h>

#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "sim/kernels/attention_stats.hpp"
#include "analysis/h5_read.hpp"
#include "sim/core/error.hpp"
#include "sim/models/ssa.hpp"

namespace attnflow {
namespace {

// The token cloud of frame `frame` (negative: from the end) of a run file.
RowMat read_tokens(const std::string& path, long long frame, hsize_t& used) {
  if (H5Fis_hdf5(path.c_str()) <= 0) throw IoError(path + ": not an HDF5 file (or truncated)");
  H5File f{H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)};
  if (f.id < 0) throw IoError(path + ": cannot open");
  const std::string pos = "/particles/tokens/position/value";
  if (H5Lexists(f.id, "/particles/tokens/position", H5P_DEFAULT) <= 0 ||
      H5Lexists(f.id, pos.c_str(), H5P_DEFAULT) <= 0)
    throw ConfigError(path + ": not an attnflow run file (no " + pos + ")");
  const long long T = static_cast<long long>(frames_of(f.id, pos));
  const long long k = frame < 0 ? T + frame : frame;
  if (k < 0 || k >= T)
    throw ConfigError("--frame " + std::to_string(frame) + " is out of range (the run has " +
                      std::to_string(T) + " frames)");
  used = static_cast<hsize_t>(k);
  return read_frame(f.id, pos, used);
}

void write_heads(hid_t group, const char* name, const std::vector<RowMat>& heads) {
  if (H5Lexists(group, name, H5P_DEFAULT) > 0) H5Ldelete(group, name, H5P_DEFAULT);
  const hsize_t H = heads.size(), n = static_cast<hsize_t>(heads[0].rows());
  hsize_t dims[3] = {H, n, n};
  hid_t sp = H5Screate_simple(3, dims, nullptr);
  hid_t d = H5Dcreate2(group, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  std::vector<double> buf;
  buf.reserve(H * n * n);
  for (const auto& h : heads) buf.insert(buf.end(), h.data(), h.data() + h.size());
  const herr_t st = H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data());
  H5Dclose(d);
  H5Sclose(sp);
  if (st < 0) throw IoError(std::string("cannot write /analysis/matrices/") + name);
}

}  // namespace

int ssa_oneshot_main(const std::vector<std::string>& args) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
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
  app.add_option("--seed", seed, "seed of the block's weights");
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
    hsize_t used = 0;
    const RowMat x = read_tokens(file, frame, used);
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
      hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
      if (f < 0) throw IoError(file + ": cannot open for writing");
      hid_t a = H5Lexists(f, "/analysis", H5P_DEFAULT) > 0
                    ? H5Gopen2(f, "/analysis", H5P_DEFAULT)
                    : H5Gcreate2(f, "/analysis", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      hid_t m = H5Lexists(a, "matrices", H5P_DEFAULT) > 0
                    ? H5Gopen2(a, "matrices", H5P_DEFAULT)
                    : H5Gcreate2(a, "matrices", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      write_heads(m, "ssa", S);
      write_heads(m, "transformer", A);
      H5Gclose(m);
      H5Gclose(a);
      H5Fclose(f);
      std::printf("matrices written to %s:/analysis/matrices/{ssa,transformer}\n", file.c_str());
    }
    return 0;
  } catch (const Error& e) {
    std::cerr << "attnflow analyze: error: " << e.what() << "\n";
    return e.exit_code();
  }
}

}  // namespace attnflow
