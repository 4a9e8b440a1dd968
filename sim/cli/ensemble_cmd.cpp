#include "sim/cli/ensemble_cmd.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <algorithm>
#include <fstream>
#include <iostream>

#include "analysis/ensemble_claims.hpp"
#include "sim/io/collective.hpp"
#include "sim/io/sweep_file.hpp"
#include "sim/run/ensemble.hpp"

namespace attnflow::cli {

namespace {
// Distributed: rank 0 alone writes the sweep file; the other ranks hand their points nowhere.
struct Discard : EnsembleSink {
  void write_point(const EnsemblePoint&) override {}
};
}  // namespace

int run_sweep(const Scenario& sc, const std::string& output, bool quiet, bool resume,
              ExistingOutput existing, const Comm* comm) {
  std::unique_ptr<SweepWriter> file;
  on_root(comm, [&] {  // rank 0 creates the sweep file; its error reaches every rank
    file = std::make_unique<SweepWriter>(
        output, sc, resume ? SweepWriter::Mode::Append : SweepWriter::Mode::Create, existing);
  });
  Discard discard;
  EnsembleSink& sink = file ? static_cast<EnsembleSink&>(*file) : discard;
  EnsembleOptions opt;
  opt.progress = file && !quiet && isatty(STDERR_FILENO);
  opt.comm = comm;
  std::string done_text;
  if (file) for (char d : file->done()) done_text.push_back(d ? '1' : '0');
  if (comm) comm->broadcast(done_text);
  for (char d : done_text) opt.skip.push_back(d == '1');
  std::int64_t already = 0;
  for (char d : opt.skip) already += d != 0;
  if (resume && !quiet)
    std::cerr << "resuming " << output << ": " << already << " of " << sc.grid.size()
              << " grid points done\n";
  EnsembleSummary s;
  try {
    s = run_ensemble(sc, sink, opt);
  } catch (...) {
    if (file) file->close();
    throw;
  }
  std::string backup;
  if (file) {
    const auto done = file->done();
    const bool complete = std::all_of(done.begin(), done.end(), [](char d) { return d != 0; });
    file->write_summary(s, complete);
    backup = file->backup();
    file->close();
  }
  if (comm) comm->barrier();  // the sweep file is complete before any rank reads it
  if (!backup.empty()) std::cerr << "attnflow: the earlier " << output << " is now " << backup << "\n";
  if (!quiet || s.signal) std::cerr << s.line() << " -> " << output << "\n";
  if (s.signal) {
    std::cerr << "stopped by signal " << s.signal << "; " << output
              << " is closed and readable with every finished grid point (attnflow run --resume "
              << output << " continues)\n";
    return 128 + s.signal;
  }
  return 0;
}

int check_sweep(const Scenario& sc, const std::string& label, bool quiet, ExistingOutput existing,
                const Comm* comm) {
  const int rc = run_sweep(sc, sc.run.output, quiet, false, existing, comm);
  if (rc) return -(rc - 128);
  const SweepData data = read_sweep(sc.run.output, true);
  int failed = 0;
  for (const auto& r : evaluate_ensemble_claims(sc, data)) {
    std::cout << (r.pass ? "PASS " : "FAIL ") << label << ": " << r.detail << "\n";
    failed += !r.pass;
  }
  return failed;
}

Scenario system_scenario(const std::string& path, const std::vector<std::string>& sets,
                         const std::string& spec) {
  const auto colon = spec.find(':');
  long long g = -1, i = -1;
  if (colon == std::string::npos || std::sscanf(spec.substr(0, colon).c_str(), "%lld", &g) != 1 ||
      std::sscanf(spec.substr(colon + 1).c_str(), "%lld", &i) != 1)
    throw ConfigError("--system " + spec + ": expected G:I (grid point G, system I), e.g. --system 0:3");
  LoadOptions lo;
  lo.claim_windows = false;
  const Scenario base = load_scenario(path, sets, lo);
  if (!base.is_ensemble()) throw ConfigError("--system " + spec + ": " + path + " has no [ensemble]");
  if (g < 0 || g >= static_cast<long long>(base.grid.size()))
    throw ConfigError("--system " + spec + ": grid point " + std::to_string(g) + " out of range (0 to " +
                      std::to_string(base.grid.size() - 1) + ")");
  if (i < 0 || i >= base.ensemble.size)
    throw ConfigError("--system " + spec + ": system " + std::to_string(i) + " out of range (0 to " +
                      std::to_string(base.ensemble.size - 1) + ")");
  lo.grid_point = true;
  return load_scenario(path, system_overrides(base, g, i), lo);
}

}  // namespace attnflow::cli
