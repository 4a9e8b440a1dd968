#include "sim/config/validate.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>

#include "sim/config/toml_doc.hpp"
#include "sim/core/geometry_observables.hpp"
#include "sim/core/integrator.hpp"

namespace attnflow {
namespace fs = std::filesystem;

namespace {

std::string num(double v) {
  std::ostringstream os;
  os.precision(6);
  os << v;
  return os.str();
}

// Where `table.key` is (or where it would be: the table, or the file).
Where at(TomlDoc& doc, const std::string& table, const std::string& key) {
  toml::node* n = doc.root.get(table);
  return doc.section(table, n && n->is_table() ? n->as_table() : nullptr, nullptr).where(key);
}
[[noreturn]] void fail(TomlDoc& doc, const std::string& table, const std::string& key,
                       const std::string& msg) {
  throw ConfigError(at(doc, table, key).str() + ": " + table + "." + key + " " + msg);
}

bool writable_dir_for(const fs::path& file) {
  fs::path p = file.has_parent_path() ? file.parent_path() : fs::path(".");
  std::error_code ec;
  while (!fs::exists(p, ec)) {
    if (!p.has_parent_path() || p.parent_path() == p) {
      p = ".";
      break;
    }
    p = p.parent_path();
  }
  if (!fs::is_directory(p, ec)) return false;
  // access(W_OK) is always true for root; try to create a file instead.
  std::string probe = (p / ".attnflow-write-test-XXXXXX").string();
  const int fd = ::mkstemp(probe.data());
  if (fd < 0) return false;
  ::close(fd);
  ::unlink(probe.c_str());
  return true;
}

bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}

void check_run_name(Scenario& sc, TomlDoc& doc) {
  const std::string& n = sc.run.name;
  const bool ok_chars = std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '+';
  });
  if (n.empty() || n.size() > 128 || !ok_chars || n.front() == '.' || n.front() == '-')
    fail(doc, "run", "name", "must be a plain file name: 1 to 128 letters, digits, '_', '-', '.', "
                             "'+', not starting with '.' or '-' (it names out/<name>.h5; got \"" +
                                 (n.size() > 60 ? n.substr(0, 60) + "..." : n) + "\")");
}

void check_output(Scenario& sc, TomlDoc& doc, const LoadOptions& opt) {
  if (sc.run.output.empty()) fail(doc, "run", "output", "must not be empty");
  if (opt.resume) return;  // a resumed run writes its run file, not run.output
  if (!writable_dir_for(sc.run.output))
    fail(doc, "run", "output", "is not writable (\"" + sc.run.output + "\": no writable folder)");
  const fs::path out(sc.run.output);
  const fs::path sidecar = out.parent_path() / (out.stem().string() + ".xdmf2");
  const std::string in = output_overwrites_input(sc, {out.string(), sidecar.string()});
  if (!in.empty())
    fail(doc, "run", "output", "= \"" + sc.run.output + "\" would write over " + in +
                                   ", an input of this run");
}

// Memory the model's parameters need beyond the state: d x d matrices (a handful) and, for the
// coherence observables, Kuramoto's N x N average.
double parameter_bytes(const Scenario& sc) {
  const double d = static_cast<double>(sc.tokens.d), n = static_cast<double>(sc.tokens.n);
  double b = 8.0 * 8.0 * d * d;
  for (const auto& q : sc.observe.quantities)
    if (q.rfind("coherence_", 0) == 0) b += 2 * 8.0 * n * n;
  return b;
}

void check_model_and_integrator(Scenario& sc, TomlDoc& doc) {
  const ModelTraits& tr = sc.model.traits;
  const IntegratorInfo& ii = *sc.integrator_info;
  if (!tr.second_order && sc.tokens.momentum != "zero")
    fail(doc, "tokens", "momentum", "applies only to second-order models (model \"" +
                                        sc.model_kind + "\" has no momenta)");
  if (!tr.layer_map && ii.needs_second_order && !tr.second_order)
    fail(doc, "integrator", "kind",
         "= \"" + ii.kind + "\" is a block scheme for second-order (Hamiltonian) models; model \"" +
             sc.model_kind + "\" has no momenta (use rk4, euler or dopri5, or a model such as "
                             "accelerated_attention)");
  if (ii.adaptive && sc.layers_mode())
    fail(doc, "integrator", "layers", "needs a fixed-step integrator (got \"" + ii.kind + "\")");
  if (ii.adaptive && sc.run.save_every > 0)
    fail(doc, "run", "save_every", "needs a fixed-step integrator (got \"" + ii.kind + "\")");
  if (tr.layer_map && doc.root["integrator"]["kind"].node())
    sc.notes.push_back("integrator.kind is not used: model \"" + sc.model_kind +
                       "\" is a layer map (one step = one layer)");
  if (tr.needs_positive_t0 && !(sc.integrator.t0 > 0))
    fail(doc, "integrator", "t0",
         "must be > 0: the damping c_log / t of this model is singular at t = 0 (got t0 = " +
             num(sc.integrator.t0) + "; SympFormer starts its layers at t0 = 1)");
}

void check_steps_and_frames(Scenario& sc, TomlDoc& doc) {
  auto& in = sc.integrator;
  auto& run = sc.run;
  const double span = in.t_end - in.t0;
  if (!std::isfinite(span) || !std::isfinite(in.t_end))
    fail(doc, "integrator", "t_end", "gives an infinite interval (t_end - t0 = " + num(span) + ")");
  const double steps_real = span / in.dt;
  if (!(steps_real <= kMaxSteps))
    fail(doc, "integrator", "dt",
         "= " + num(in.dt) + " gives " + num(std::ceil(steps_real)) + " steps over t_end - t0 = " +
             num(span) + " (at most " + num(kMaxSteps) + "); raise dt or lower t_end");
  const bool adaptive = sc.integrator_info->adaptive && !sc.model.traits.layer_map;
  const std::int64_t steps = sc.layers_mode() ? in.layers : std::max<std::int64_t>(1, steps_for(span, in.dt));
  if (run.save_every > 0) {
    if (std::abs(steps_real - std::round(steps_real)) > 1e-9 * std::max(1.0, steps_real))
      fail(doc, "integrator", "dt", "must divide t_end - t0 when run.save_every is used (t_end - t0 = " +
                                        num(span) + ", dt = " + num(in.dt) + ")");
    const std::int64_t n = sc.layers_mode() ? in.layers : std::llround(steps_real);
    if (n % run.save_every != 0) {
      std::string divisors;
      int shown = 0;
      for (std::int64_t k = 1; k <= n && shown < 6; ++k)
        if (n % k == 0 && k != n) divisors += (shown++ ? ", " : "") + std::to_string(k);
      fail(doc, "run", "save_every",
           "= " + std::to_string(run.save_every) + " does not divide the " + std::to_string(n) +
               " steps of the run, so the last frame would fall short of t_end = " + num(in.t_end) +
               " (divisors: " + divisors + (shown ? ", ..." : "") + ", " + std::to_string(n) + ")");
    }
    return;
  }
  if (run.frames > kMaxFrames)
    fail(doc, "run", "frames", "= " + std::to_string(run.frames) + " is more than attnflow writes (" +
                                   std::to_string(kMaxFrames) + "); use fewer frames");
  if (!adaptive && run.frames > steps + 1) {
    const std::string what = sc.layers_mode() ? " layers" : " steps";
    if (run.frames_given)
      fail(doc, "run", "frames",
           "= " + std::to_string(run.frames) + " asks for more frames than the run has" + what +
               " (" + std::to_string(steps) + what + ": at most " + std::to_string(steps + 1) +
               " frames, one per step); lower frames, use run.save_every, or lower integrator.dt");
    sc.notes.push_back("run.frames: the default of " + std::to_string(run.frames) +
                       " frames is capped at " + std::to_string(steps + 1) + " (one per" +
                       (sc.layers_mode() ? " layer" : " step") + ")");
    run.frames = steps + 1;
  }
}

void check_observables(Scenario& sc, TomlDoc& doc) {
  std::vector<std::string> known = geometry_observables();
  for (const auto& o : sc.model.observables) known.push_back(o);
  std::set<std::string> seen;
  const std::string where = sc.observe.where.str();
  for (const auto& q : sc.observe.quantities) {
    if (!seen.insert(q).second)
      throw ConfigError(where + ": observe.quantities lists '" + q + "' twice");
    if (std::find(known.begin(), known.end(), q) != known.end()) continue;
    for (const auto& [name, why] : sc.model.unavailable)
      if (name == q)
        throw ConfigError(where + ": observe.quantities: observable '" + q + "' of model \"" +
                          sc.model_kind + "\" is not available in this configuration: " + why);
    std::string msg = "observe.quantities: unknown observable '" + q + "' for model \"" +
                      sc.model_kind + "\"";
    const std::string sug = suggestion(q, known);
    if (!sug.empty()) msg += "; did you mean '" + sug + "'?";
    msg += " (available:";
    for (std::size_t i = 0; i < known.size(); ++i) msg += (i ? ", " : " ") + known[i];
    msg += ")";
    throw ConfigError(where + ": " + msg);
  }
}

void check_claims(Scenario& sc, TomlDoc& doc, const LoadOptions& opt) {
  const auto& qs = sc.observe.quantities;
  auto recorded = [&](const std::string& q) { return std::find(qs.begin(), qs.end(), q) != qs.end(); };
  const std::vector<double> times = sc.frame_times();
  static const std::vector<std::string> ensemble_kinds = {"probability", "ensemble_mean", "crossing",
                                                          "ensemble_power_law", "ensemble_curve"};
  for (const auto& c : sc.expect) {
    const bool ens = std::find(ensemble_kinds.begin(), ensemble_kinds.end(), c.kind) != ensemble_kinds.end();
    if (ens && !sc.is_ensemble() && !opt.grid_point)
      throw ConfigError(c.where.str() + ": claim kind \"" + c.kind + "\" is about an ensemble: add an "
                                        "[ensemble] table (size = systems)");
    if (!ens && sc.is_ensemble())
      throw ConfigError(c.where.str() + ": claim kind \"" + c.kind + "\" is about a single run; an "
                                        "ensemble takes probability, ensemble_mean, crossing, "
                                        "ensemble_power_law or ensemble_curve");
    if (ens) {
      const auto& st = sc.ensemble.statistics;
      if (sc.is_ensemble() && std::find(st.begin(), st.end(), c.statistic) == st.end())
        throw ConfigError(c.where.str() + ": claim statistic '" + c.statistic +
                          "' must be listed in ensemble.statistics");
      continue;
    }
    if (!c.observable.empty() && !recorded(c.observable))
      throw ConfigError(c.where.str() + ": claim observable '" + c.observable +
                        "' must be listed in observe.quantities");
    if (c.has_window && opt.claim_windows) {
      std::size_t inside = 0;
      for (double t : times) inside += t >= c.t_from - 1e-12 && t <= c.t_to + 1e-12;
      const std::size_t need = c.kind == "rate" || c.kind == "power_rate" ? 2 : 1;
      if (inside < need)
        throw ConfigError(c.window_where.str() + ": window [" + num(c.t_from) + ", " +
                          num(c.t_to) + "] holds " + std::to_string(inside) + " frame(s) of the run (" +
                          std::to_string(times.size()) + " frames on [" + num(times.front()) + ", " +
                          num(times.back()) + "]); the claim needs at least " +
                          std::to_string(need));
    }
    if (c.kind == "max_residual" && c.reference != "zero") {
      if (c.reference == "equiangular") {
        if (sc.model_kind != "attention")
          throw ConfigError(c.where.str() + ": reference = \"equiangular\" (GLPR's ODE 6.9/6.10) "
                                            "needs model.kind = \"attention\"");
      } else if (!recorded(c.reference)) {
        throw ConfigError(c.where.str() + ": reference = \"" + c.reference +
                          "\" is neither \"zero\", \"equiangular\" nor an observable listed in "
                          "observe.quantities");
      }
    }
    if (c.kind == "drift_order" && sc.integrator_info->adaptive)
      throw ConfigError(c.where.str() + ": drift_order reruns with dt and dt/2: it needs a "
                                        "fixed-step integrator (got \"" + sc.integrator.kind + "\")");
    if (c.kind == "ellipticity")
      for (const auto& k : c.integrators) {
        const IntegratorInfo* ii = IntegratorRegistry::find(k);
        if (ii->needs_second_order && !sc.model.traits.second_order)
          throw ConfigError(c.where.str() + ": integrators: \"" + k +
                            "\" needs a second-order model");
      }
    if (c.kind == "compare_runs" && !opt.nested) {
      LoadOptions o = opt;
      o.nested = true;
      Scenario other;
      try {
        other = load_scenario(c.against, {}, o);
      } catch (const ConfigError& e) {
        throw ConfigError(c.where.str() + ": against = \"" + c.against + "\" does not load: " + e.what());
      }
      sc.inputs.push_back(other.path);
      sc.inputs.insert(sc.inputs.end(), other.inputs.begin(), other.inputs.end());
      const auto& oq = other.observe.quantities;
      if (std::find(oq.begin(), oq.end(), c.observable) == oq.end())
        throw ConfigError(c.where.str() + ": against = \"" + c.against + "\" does not record '" +
                          c.observable + "' (add it to its observe.quantities)");
    }
  }
}

// An ensemble claim names swept keys, grid values and frame times that exist (checked here, so
// that `check` fails before any file is created).
void check_ensemble_claim(const Scenario& sc, const ClaimSpec& c) {
  auto axis = [&](const std::string& key) {
    for (std::size_t k = 0; k < sc.sweep.size(); ++k)
      if (sc.sweep[k].key == key) return static_cast<int>(k);
    return -1;
  };
  std::vector<std::string> swept;
  for (const auto& a : sc.sweep) swept.push_back(a.key);
  const Where& pw = c.observable_where.line ? c.observable_where : c.where;
  int free_axis = -1;
  if (c.kind == "crossing" || c.kind == "ensemble_power_law") {
    free_axis = axis(c.along);
    if (free_axis < 0)
      throw ConfigError(c.where.str() + ": along = \"" + c.along + "\" is not a swept key" +
                        (swept.empty() ? std::string(" (the scenario has no [[sweep]])") : ": " + one_of(swept, c.along)));
    if (sc.sweep[static_cast<std::size_t>(free_axis)].values.size() < 2)
      throw ConfigError(c.where.str() + ": along = \"" + c.along + "\" has one value; a " + c.kind +
                        " needs at least two");
  }
  for (const auto& [key, v] : c.point) {
    const int k = axis(key);
    if (k < 0) throw ConfigError(pw.str() + ": point: " + key + " is not swept" +
                                 (swept.empty() ? std::string() : ": " + one_of(swept, key)));
    const auto& vals = sc.sweep[static_cast<std::size_t>(k)].values;
    bool on = false;
    for (double x : vals) on = on || std::abs(x - v) <= 1e-9 * std::max({1.0, std::abs(x), std::abs(v)});
    if (!on) {
      std::string list;
      for (std::size_t j = 0; j < vals.size() && j < 12; ++j) list += (j ? ", " : "") + num(vals[j]);
      throw ConfigError(pw.str() + ": point: " + key + " = " + num(v) + " is not a value of the sweep (" +
                        list + (vals.size() > 12 ? ", ..." : "") + ")");
    }
  }
  for (std::size_t k = 0; k < sc.sweep.size(); ++k) {
    if (static_cast<int>(k) == free_axis || sc.sweep[k].values.size() == 1) continue;
    bool given = false;
    for (const auto& pv : c.point) given = given || pv.first == sc.sweep[k].key;
    if (!given)
      throw ConfigError(c.where.str() + ": point must give the value of the swept key " + sc.sweep[k].key +
                        ", e.g. point = { \"" + sc.sweep[k].key + "\" = " + num(sc.sweep[k].values.front()) + " }");
  }
  if (c.has_time) {
    const auto ts = sc.grid.front()->frame_times();
    bool on = false;
    for (double t : ts) on = on || std::abs(t - c.time) <= 1e-9 * std::max(1.0, std::abs(t));
    if (!on)
      throw ConfigError(c.where.str() + ": time = " + num(c.time) + " is not a frame time (" +
                        std::to_string(ts.size()) + " frames on [" + num(ts.front()) + ", " + num(ts.back()) +
                        "]; frame 0 is the initial state when run.frames >= 2)");
  }
  if (c.kind == "ensemble_power_law" && !c.reference.empty() && c.reference != "sqrt(log(x)/x)")
    throw ConfigError(c.where.str() + ": reference must be \"sqrt(log(x)/x)\" (got \"" + c.reference + "\")");
  if (c.kind == "ensemble_curve") {
    const auto& st = sc.ensemble.statistics;
    if (c.reference == "equiangular") {
      if (sc.model_kind != "attention")
        throw ConfigError(c.where.str() + ": reference = \"equiangular\" needs model.kind = \"attention\"");
    } else if (std::find(st.begin(), st.end(), c.reference) == st.end()) {
      throw ConfigError(c.where.str() + ": reference = \"" + c.reference + "\" is neither \"equiangular\" "
                                        "nor a statistic listed in ensemble.statistics");
    }
  }
}

void check_ensemble(Scenario& sc, TomlDoc& doc, const LoadOptions& opt) {
  if (!sc.is_ensemble()) return;
  if (!sc.ensemble.active())
    throw ConfigError(sc.sweep.front().where.str() + ": [[sweep]] needs an [ensemble] table (size = "
                                                     "systems per grid point, e.g. size = 1)");
  const auto& e = sc.ensemble;
  std::vector<std::string> known = ensemble_token_statistics();
  for (const auto& o : sc.model.observables) known.push_back(o);
  for (const auto& q : e.statistics)
    if (std::find(known.begin(), known.end(), q) == known.end())
      throw ConfigError(at(doc, "ensemble", "statistics").str() + ": ensemble.statistics: unknown statistic '" +
                        q + "' for model \"" + sc.model_kind + "\": " + one_of(known, q));
  for (const auto& q : e.statistics)
    if (q == "inner_deviation" && sc.model_kind != "attention")
      throw ConfigError(at(doc, "ensemble", "statistics").str() + ": ensemble.statistics: "
                        "inner_deviation is measured from GLPR's equiangular curve, which needs "
                        "model.kind = \"attention\"");
  if (sc.tokens.n < 2)
    throw ConfigError(at(doc, "tokens", "n").str() + ": tokens.n must be >= 2 for ensemble statistics");
  std::set<std::string> keys;
  for (const auto& a : sc.sweep) {
    if (!keys.insert(a.key).second) throw ConfigError(a.where.str() + ": " + a.key + " is swept twice");
    if (doc.overrides.count(a.key))
      throw ConfigError(doc.overrides.at(a.key) + ": " + a.key + " is swept (" + a.where.str() +
                        "); set the sweep instead, e.g. --set sweep." + a.key + "=[...]");
  }
  double points = 1;
  for (const auto& a : sc.sweep) points *= static_cast<double>(a.values.size());
  if (points > 1e6) throw ConfigError(sc.sweep.front().where.str() + ": the sweep has " + num(points) +
                                      " grid points (at most 1e6)");
  // Expand and validate every grid point (first axis slowest).
  const std::size_t G = static_cast<std::size_t>(points);
  LoadOptions po = opt;
  po.grid_point = true;
  std::vector<std::size_t> idx(sc.sweep.size(), 0);
  for (std::size_t g = 0; g < G; ++g) {
    std::vector<std::string> ov = sc.overrides;
    std::vector<double> vals;
    std::string label;
    for (std::size_t k = 0; k < sc.sweep.size(); ++k) {
      const double v = sc.sweep[k].values[idx[k]];
      vals.push_back(v);
      ov.push_back(Scenario::grid_override(sc.sweep[k], v));
      label += (k ? ", " : "") + ov.back();
    }
    try {
      sc.grid.push_back(std::make_shared<const Scenario>(load_scenario_text(sc.source_text, sc.path, ov, po)));
    } catch (const ConfigError& err) {
      throw ConfigError(std::string(err.what()) + (label.empty() ? "" : " (at the sweep point " + label + ")"));
    }
    sc.grid_values.push_back(vals);
    for (std::size_t k = sc.sweep.size(); k-- > 0;) {
      if (++idx[k] < sc.sweep[k].values.size()) break;
      idx[k] = 0;
    }
  }
  const std::size_t F = sc.grid.front()->frame_times().size();
  for (std::size_t g = 0; g < G; ++g)
    if (sc.grid[g]->frame_times().size() != F)
      throw ConfigError(at(doc, "run", "frames").str() + ": every sweep point must write the same "
                        "number of frames (" + std::to_string(F) + " at the first point, " +
                        std::to_string(sc.grid[g]->frame_times().size()) + " at point " + std::to_string(g) +
                        "); give run.frames explicitly");
  if (e.trajectories > 0)
    for (std::size_t g = 0; g < G; ++g)
      if (sc.grid[g]->tokens.n != sc.grid.front()->tokens.n || sc.grid[g]->tokens.d != sc.grid.front()->tokens.d)
        throw ConfigError(at(doc, "ensemble", "trajectories").str() + ": ensemble.trajectories keeps full "
                          "trajectories in one array, so every sweep point needs the same tokens.n and "
                          "tokens.d (point " + std::to_string(g) + " differs); sweep them without "
                          "trajectories, or run a point alone with `attnflow run --system G:I`");
  if (opt.claim_windows)  // `run` evaluates no claims
    for (const auto& c : sc.expect) check_ensemble_claim(sc, c);
}

}  // namespace

// Statistics an ensemble can record per system and frame (sim/run/ensemble.hpp).
const std::vector<std::string>& ensemble_token_statistics() {
  static const std::vector<std::string> names = {"close_pair_fraction", "clusters", "diameter",
                                                 "mean_inner", "inner_deviation", "hemisphere"};
  return names;
}

std::string output_overwrites_input(const Scenario& sc, const std::vector<std::string>& outputs) {
  std::vector<std::string> inputs = sc.inputs;
  if (!sc.path.empty()) inputs.push_back(sc.path);
  for (const auto& in : inputs)
    for (const auto& o : outputs)
      if (same_file(o, in)) return in;
  return {};
}

double memory_limit_bytes() {
  double limit = 0;
  if (const char* env = std::getenv("ATTNFLOW_MAX_STATE_BYTES")) limit = std::atof(env);
  if (!(limit > 0))
    limit = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGESIZE));
  return limit;
}

void check_state_size(Section& s, const TokensSpec& t) {
  const double limit = memory_limit_bytes();
  const double n = static_cast<double>(t.n), d = static_cast<double>(t.d);
  // Positions, possible momenta and a few integrator stages: ~ 8 copies of N x d doubles; the
  // model's d x d parameters (a handful of them).
  const double state = 8.0 * 8.0 * n * d, params = 8.0 * 8.0 * d * d;
  if (state + params > limit) {
    std::ostringstream os;
    os << "is too large: N = " << t.n << ", d = " << t.d << " needs about "
       << (state + params) / 1e9 << " GB (state and integrator stages " << state / 1e9
       << " GB, d x d parameters " << params / 1e9 << " GB; limit " << limit / 1e9
       << " GB, set by the machine's memory or ATTNFLOW_MAX_STATE_BYTES)";
    s.fail(params > state ? "d" : "n", os.str());
  }
}

// attnflow-mpi splits a single run's tokens over the ranks: the model must compute its rows from
// the others' through the ring (ModelRecipe::not_distributed), the steps must be the same on
// every rank (no adaptive step control, no layer maps).
void check_distributed(Scenario& sc, TomlDoc& doc, const LoadOptions& opt) {
  if (!opt.distributed || sc.is_ensemble() || opt.grid_point || opt.nested) return;
  if (!sc.model.not_distributed.empty())
    fail(doc, "model", "kind",
         "= \"" + sc.model_kind + "\" " + sc.model.not_distributed +
             " under attnflow-mpi (distributed: attention, accelerated_attention, "
             "linear_attention, svgd, kuramoto; an [ensemble] runs any model, "
             "one system per rank); run it with attnflow");
  if (sc.model.traits.layer_map)
    fail(doc, "model", "kind", "= \"" + sc.model_kind + "\" is a layer map: no distributed path "
                               "under attnflow-mpi; run it with attnflow");
  if (sc.integrator_info->adaptive)
    fail(doc, "integrator", "kind",
         "= \"" + sc.integrator_info->kind + "\" is adaptive: its step-size control has no "
         "distributed path under attnflow-mpi (use a fixed-step integrator: rk4, euler, ...)");
}

void validate(Scenario& sc, TomlDoc& doc, const LoadOptions& opt) {
  check_run_name(sc, doc);
  check_model_and_integrator(sc, doc);
  check_distributed(sc, doc, opt);
  check_steps_and_frames(sc, doc);
  check_observables(sc, doc);
  check_claims(sc, doc, opt);
  if (!opt.grid_point) check_ensemble(sc, doc, opt);
  check_output(sc, doc, opt);  // after the claims: compare_runs scenarios add their inputs

  const double bytes = 8.0 * 8.0 * double(sc.tokens.n) * double(sc.tokens.d) + parameter_bytes(sc);
  if (bytes > memory_limit_bytes())
    fail(doc, "tokens", "n", "is too large for this configuration: it needs about " +
                                 num(bytes / 1e9) + " GB (limit " + num(memory_limit_bytes() / 1e9) +
                                 " GB)");

  for (const auto& w : sc.model.warnings) sc.notes.push_back("warning: " + w);

  // Build the model once: random matrices are drawn and their conditions checked here.
  if (sc.grid.empty()) (void)sc.build_model(sc.run.model_seed);  // (grid points built theirs)

  // Cost: pair interactions of the whole run.
  const double steps = sc.layers_mode() ? double(sc.integrator.layers)
                                        : (sc.integrator.t_end - sc.integrator.t0) / sc.integrator.dt;
  const double per_step = sc.model.traits.layer_map ? 1.0 : sc.integrator_info->rhs_per_step;
  sc.estimated_pairs = sc.model.pairs_per_rhs * per_step * std::ceil(steps);
  if (sc.estimated_pairs > kCostWarningPairs)
    sc.notes.push_back("warning: this run does about " + num(sc.estimated_pairs) +
                       " pair interactions (" + num(sc.model.pairs_per_rhs) + " per RHS x " +
                       num(per_step) + " RHS per step x " + num(std::ceil(steps)) +
                       " steps): hours at ~2e9 pairs/s");
}

}  // namespace attnflow
