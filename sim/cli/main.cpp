// attnflow command line (SPEC section 2).
//
//   attnflow run SCENARIO.toml [-o OUT.h5] [--set key=value]... [--quiet]
//   attnflow run --resume RUN.h5
//   attnflow check SCENARIO.toml... [--set key=value]...
//   attnflow validate SCENARIO.toml...
//   attnflow analyze RUN.h5 [...]
//   attnflow render RUN.h5 [...]
//
// Exit codes: 0 ok; 1 a claim failed; 2 invalid input; 3 numerical failure; 4 I/O failure;
// 130/143 interrupted by SIGINT/SIGTERM (output closed and readable).
//
// Output files: an existing RUN.h5 (and RUN.xdmf2) is kept as #RUN.h5.N# once the new run has
// computed its first frame, or replaced with --overwrite; an input of the run is never written;
// a file another run writes is refused (sim/io/output_claim.hpp).
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>

#include "analysis/claims.hpp"
#include "sim/core/registry.hpp"
#include "sim/io/resume.hpp"
#include "sim/io/run_file.hpp"
#include "sim/io/sweep_file.hpp"
#include "sim/cli/ensemble_cmd.hpp"
#include "sim/cli/help.hpp"
#include "sim/config/scenario.hpp"
#include "sim/config/validate.hpp"
#include "sim/run/simulation.hpp"

#ifdef ATTNFLOW_HAVE_VIZ
#include "viz/render.hpp"
#endif
#ifdef ATTNFLOW_MPI
#include "mpi/mpi_comm.hpp"
#endif
#include "analysis/analyze.hpp"

using namespace attnflow;

namespace {

// attnflow-mpi (ATTNFLOW_MPI, docs/mpi.md): the ranks; null in attnflow.
const Comm* g_comm = nullptr;

// Under MPI a signal is only recorded here; the ranks agree on it before each step
// (sim/core/comm.hpp), so that all stop at the same point.
void on_signal(int sig) {
#ifdef ATTNFLOW_MPI
  g_local_signal.store(sig);
#else
  g_pending_signal.store(sig);
#endif
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int exit_for_signal(int sig) { return 128 + sig; }

struct Common {
  std::vector<std::string> sets;
  bool quiet = false;
  bool overwrite = false;
};

const char* kRunOutputHelp =
    "Output files: an existing RUN.h5 (and its RUN.xdmf2) is kept as #RUN.h5.1# (#RUN.xdmf2.1#; the\n"
    "next free number, up to 99) once the new run has computed its first frame; --overwrite\n"
    "replaces it instead. A run that fails or is stopped before that leaves it as it was. The\n"
    "output may not be an input of the run, nor a file another run is writing (exit 2).";

// Says what happened to the output of a run that stopped.
std::string output_note(const RunSummary& s, const std::string& output) {
  if (!s.kept) return s.output + " is closed and readable";
  std::error_code ec;
  return "no frame was computed, so nothing was written" +
         std::string(std::filesystem::exists(output, ec) ? "; " + output + " was left as it was" : "");
}

// What validation adjusted or warns about (e.g. a configuration whose tokens escape).
void print_notes(const Scenario& sc) {
  for (const auto& n : sc.notes) std::cerr << "attnflow: " << sc.path << ": " << n << "\n";
}

int cmd_run(const std::string& path, const std::string& out, const Common& c, bool resume,
            const std::string& system) {
  std::optional<ResumePoint> rp;
  Scenario sc;
  if (resume && is_sweep_file(path)) {  // a sweep file: run the grid points not yet done
    if (!out.empty() || !c.sets.empty() || c.overwrite)
      throw ConfigError("--resume continues a sweep as it was: -o, --set and --overwrite do not apply");
    const SweepData d = read_sweep(path);
    LoadOptions lo;
    lo.resume = true;
    lo.claim_windows = false;
    lo.distributed = g_comm != nullptr;
    sc = load_scenario_text(d.scenario_text, d.scenario_path, {}, lo);
    return cli::run_sweep(sc, path, c.quiet, true, ExistingOutput::Backup, g_comm);
  }
  if (!system.empty()) {
    sc = cli::system_scenario(path, c.sets, system);
  } else if (resume) {
    if (!out.empty() || !c.sets.empty() || c.overwrite)
      throw ConfigError("--resume continues a run as it was: -o, --set and --overwrite do not apply");
    rp = read_resume_point(path, g_comm);  // distributed: rank 0 takes the lock
    if (rp->complete) {
      std::cerr << path << ": the run is already complete (" << rp->frames << " frames)\n";
      return 0;
    }
    LoadOptions lo;
    lo.resume = true;
    lo.claim_windows = false;
    lo.distributed = g_comm != nullptr;
    sc = load_scenario_text(rp->scenario_text, rp->scenario_path, {}, lo);
  } else {
    LoadOptions lo;
    lo.claim_windows = false;  // `run` evaluates no claims
    lo.distributed = g_comm != nullptr;
    sc = load_scenario(path, c.sets, lo);
    if (!c.quiet) print_notes(sc);
  }
  std::string output = out.empty() ? sc.run.output : out;
  if (!rp && !out.empty()) {
    const std::filesystem::path o(out);
    const std::string in =
        output_overwrites_input(sc, {out, (o.parent_path() / (o.stem().string() + ".xdmf2")).string()});
    if (!in.empty())
      throw ConfigError("-o " + out + " would write over " + in + ", an input of this run");
  }
  const ExistingOutput existing = c.overwrite ? ExistingOutput::Overwrite : ExistingOutput::Backup;
  if (sc.is_ensemble()) return cli::run_sweep(sc, output, c.quiet, false, existing, g_comm);
  Simulation sim(sc, rp ? &*rp : nullptr, g_comm);
  FileRunOptions opt;
  opt.existing = c.overwrite ? ExistingOutput::Overwrite : ExistingOutput::Backup;
  if (rp) {
    opt.resume = &*rp;
    output = path;
    if (!c.quiet)
      std::cerr << "resuming " << path << " at frame " << rp->frames << ", t = " << rp->t << "\n";
  }
  opt.progress = !c.quiet && isatty(STDERR_FILENO);
  RunSummary s;
  try {
    s = run_to_file(sim, output, opt);
  } catch (const NumericalError& e) {
    if (rp || sim.series().t.size() > 1) throw;  // the frames computed are kept
    RunSummary none;
    none.kept = true;
    throw NumericalError(std::string(e.what()) + "; " + output_note(none, output));
  }
  if (!c.quiet || s.signal)
    std::cerr << s.line() << "\n";
  else if (!s.backup.empty())  // moving a file aside is always said
    std::cerr << "attnflow: the earlier " << output << " is now " << s.backup << "\n";
  if (s.signal) {
    std::cerr << "stopped by signal " << s.signal << " at t = " << s.t_final << " after "
              << s.frames << " frames; " << output_note(s, output) << "\n";
    return exit_for_signal(s.signal);
  }
  return 0;
}

int cmd_check(const std::vector<std::string>& paths, const Common& c) {
  int failed = 0;
  for (const auto& path : paths) {
    LoadOptions lo;
    lo.distributed = g_comm != nullptr;
    Scenario sc = load_scenario(path, c.sets, lo);
    if (sc.expect.empty()) throw ConfigError(path + ": no [[expect]] claims to check");
    if (sc.is_ensemble()) {
      const int f = cli::check_sweep(sc, path, c.quiet,
                                     c.overwrite ? ExistingOutput::Overwrite : ExistingOutput::Backup,
                                     g_comm);
      if (f < 0) return 128 - f;
      failed += f;
      continue;
    }
    Simulation sim(sc, nullptr, g_comm);
    FileRunOptions opt;
    opt.progress = !c.quiet && isatty(STDERR_FILENO);
    opt.existing = c.overwrite ? ExistingOutput::Overwrite : ExistingOutput::Backup;
    RunSummary s = run_to_file(sim, sc.run.output, opt);
    if (s.signal) {
      std::cerr << s.line() << "\n" << output_note(s, sc.run.output) << "\n";
      return exit_for_signal(s.signal);
    }
    if (!c.quiet)
      std::cout << path << ": " << s.line() << "\n";
    else if (!s.backup.empty())
      std::cerr << "attnflow: the earlier " << sc.run.output << " is now " << s.backup << "\n";
    for (const auto& r : evaluate_claims(sc, sim.series())) {
      std::cout << (r.pass ? "PASS " : "FAIL ") << path << ": " << r.detail << "\n";
      failed += !r.pass;
    }
  }
  return failed ? 1 : 0;
}

int cmd_validate(const std::vector<std::string>& paths, const Common& c) {
  for (const auto& path : paths) {
    LoadOptions lo;
    lo.distributed = g_comm != nullptr;
    Scenario sc = load_scenario(path, c.sets, lo);
    print_notes(sc);
    std::cout << path << ": ok (" << sc.model_kind << ", " << sc.integrator.kind << ", N = "
              << sc.tokens.n << ", d = " << sc.tokens.d << ", " << sc.frame_times().size()
              << " frames)\n";
  }
  return 0;
}

}  // namespace

int cli_main(int argc, char** argv);

#ifdef ATTNFLOW_MPI
// attnflow-mpi: the same commands on every rank of MPI_COMM_WORLD; rank 0 speaks for all (the
// others' output is discarded: every rank computes the same claims and errors).
int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rc = 0;
  {
    MpiComm world(MPI_COMM_WORLD);
    g_comm = &world;
    if (world.rank() != 0) {
      std::cout.rdbuf(nullptr);
      std::cerr.rdbuf(nullptr);
    }
    if (argc >= 2 && (std::string(argv[1]) == "analyze" || std::string(argv[1]) == "render")) {
      std::cerr << "attnflow-mpi: error: " << argv[1]
                << " reads a run file on one machine: use attnflow " << argv[1] << "\n";
      rc = 2;
    } else {
      rc = cli_main(argc, argv);
    }
    g_comm = nullptr;
  }
  MPI_Finalize();
  return rc;
}
#else
int main(int argc, char** argv) { return cli_main(argc, argv); }
#endif

int cli_main(int argc, char** argv) {
  install_signal_handlers();
#ifdef ATTNFLOW_HAVE_VIZ
  if (argc >= 2 && std::string(argv[1]) == "render")
    return attnflow::viz::render_main(std::vector<std::string>(argv + 2, argv + argc));
#endif
  if (argc >= 2 && std::string(argv[1]) == "analyze")
    return attnflow::analyze_main(std::vector<std::string>(argv + 2, argv + argc));
  if (argc >= 2 && std::string(argv[1]) == "help")
    return attnflow::cli::help_main(std::vector<std::string>(argv + 2, argv + argc));
  CLI::App app{"attnflow: transformer tokens as particles, attention as a mean-field flow"};
  app.set_version_flag("--version", std::string("attnflow ") + ATTNFLOW_VERSION);
  app.require_subcommand(1);
  Common common;

  std::string run_path, run_out, run_system;
  bool run_resume = false;
  auto* run = app.add_subcommand("run", "run a scenario and write its trajectory (HDF5/H5MD)");
  run->footer(kRunOutputHelp);
  run->add_option("scenario", run_path, "scenario file (TOML), or RUN.h5 with --resume")->required();
  run->add_flag("--resume", run_resume, "continue an interrupted run file from its last complete frame");
  run->add_option("-o,--output", run_out, "output file (default: [run] output or out/<name>.h5)");
  run->add_option("--system", run_system,
                  "G:I: run system I of grid point G of the scenario's ensemble alone (bit-identical)");
  run->add_option("--set", common.sets, "override a scenario key, e.g. --set integrator.dt=0.05");
  run->add_flag("-q,--quiet", common.quiet, "no progress bar or summary");
  run->add_flag("--overwrite", common.overwrite,
                "replace an existing output file instead of keeping it as #RUN.h5.N#");

  std::vector<std::string> check_paths;
  auto* check = app.add_subcommand("check", "run scenarios and verify their [[expect]] claims");
  check->add_option("scenarios", check_paths, "scenario files")->required();
  check->add_option("--set", common.sets, "override a scenario key");
  check->add_flag("-q,--quiet", common.quiet, "only PASS/FAIL lines");
  check->add_flag("--overwrite", common.overwrite,
                  "replace existing output files instead of keeping them as #RUN.h5.N#");

  std::vector<std::string> val_paths;
  auto* val = app.add_subcommand("validate", "parse and validate scenarios without running");
  val->add_option("scenarios", val_paths, "scenario files")->required();
  val->add_option("--set", common.sets, "override a scenario key");

  app.add_subcommand("analyze", "metrics, fitted rates and comparisons of runs")->allow_extras();
  auto* list = app.add_subcommand("list", "list registered models and integrators");
  app.add_subcommand("help", "every key, observable and claim kind: attnflow help [TOPIC [NAME]]")
      ->allow_extras();
#ifdef ATTNFLOW_HAVE_VIZ
  app.add_subcommand("render", "render a run to PNG frames, animations and plots (VTK)")
      ->allow_extras();
#endif

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }

  try {
    if (*run) return cmd_run(run_path, run_out, common, run_resume, run_system);
    if (*check) return cmd_check(check_paths, common);
    if (*val) return cmd_validate(val_paths, common);
    if (*list) {
      std::cout << "models:\n";
      for (auto& k : ModelRegistry::names())
        std::cout << "  " << k << "  " << ModelRegistry::find(k)->summary << "\n";
      std::cout << "integrators:\n";
      for (auto& k : IntegratorRegistry::names())
        std::cout << "  " << k << "  " << IntegratorRegistry::find(k)->summary << "\n";
      return 0;
    }
  } catch (const Error& e) {
    std::cerr << "attnflow: error: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "attnflow: internal error: " << e.what() << "\n";
    return 4;
  }
  return 0;
}
