#include "sim/config/scenario.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/config/csv.hpp"
#include "sim/config/matrix_param.hpp"
#include "sim/config/toml_doc.hpp"
#include "sim/config/validate.hpp"

namespace attnflow {
namespace fs = std::filesystem;

std::vector<double> Scenario::frame_times() const {
  std::vector<double> ts;
  const double t0 = integrator.t0, t1 = integrator.t_end, dt = integrator.dt;
  if (run.save_every > 0) {
    const auto steps = static_cast<std::int64_t>(std::llround((t1 - t0) / dt));
    for (std::int64_t k = 0; k <= steps; k += run.save_every)
      ts.push_back(k == steps ? t1 : t0 + static_cast<double>(k) * dt);
    return ts;
  }
  const auto f = run.frames;
  if (f == 1) return {t1};
  // Fixed steps of exactly dt (layers, or dt dividing t_end - t0): frames fall on whole steps,
  // k (S / (f - 1)) rounded down, so steps are never shortened to hit a frame time (validation
  // keeps frames <= S + 1, so they are distinct).
  const double steps = (t1 - t0) / dt;
  const bool whole = layers_mode() || (integrator_info && !integrator_info->adaptive &&
                                       std::abs(steps - std::round(steps)) <= 1e-9 * std::max(1.0, steps));
  if (whole) {
    const auto S = layers_mode() ? integrator.layers : static_cast<std::int64_t>(std::llround(steps));
    for (std::int64_t k = 0; k < f; ++k) {
      const std::int64_t step = (k * S) / (f - 1);
      ts.push_back(step == S ? t1 : t0 + dt * static_cast<double>(step));
    }
    return ts;
  }
  for (std::int64_t k = 0; k < f; ++k)
    ts.push_back(k == f - 1 ? t1 : t0 + (t1 - t0) * static_cast<double>(k) / static_cast<double>(f - 1));
  return ts;
}

std::unique_ptr<Model> Scenario::build_model(std::uint64_t seed) const {
  return model.build(BuildContext{shape(), tokens.space, seed, observe.quantities});
}

std::string Scenario::grid_override(const SweepAxis& axis, double v) {
  char buf[64];
  if (v == std::floor(v) && std::abs(v) < 9.0e15)
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  else
    std::snprintf(buf, sizeof buf, "%.17g", v);
  return axis.key + "=" + buf;
}

double Scenario::number(const std::string& key) const {
  auto it = resolved_values.find(key);
  if (it == resolved_values.end()) throw Error("scenario has no value for " + key);
  try {
    std::size_t used = 0;
    const double v = std::stod(it->second, &used);
    if (used == it->second.size()) return v;
  } catch (const std::exception&) {
  }
  throw Error("scenario value " + key + " = " + it->second + " is not a number");
}

std::string Scenario::text(const std::string& key) const {
  auto it = resolved_values.find(key);
  if (it == resolved_values.end()) throw Error("scenario has no value for " + key);
  const std::string& v = it->second;
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') return v.substr(1, v.size() - 2);
  return v;
}

namespace {

void flatten(const toml::node& n, const std::string& prefix, std::map<std::string, std::string>& out) {
  if (const auto* t = n.as_table()) {
    for (const auto& [k, v] : *t)
      flatten(v, prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str()), out);
    return;
  }
  if (const auto* a = n.as_array(); a && a->is_array_of_tables()) {
    for (std::size_t i = 0; i < a->size(); ++i) flatten((*a)[i], prefix + "[" + std::to_string(i) + "]", out);
    return;
  }
  std::ostringstream os;
  n.visit([&](auto&& v) {
    if constexpr (toml::is_string<decltype(v)>) os << '"' << v.get() << '"';
    else os << v;
  });
  out[prefix] = os.str();
}

// Keys that are alternatives to each other: setting one with --set drops the other from the file
// (so `--set run.save_every=5` works on a scenario that says frames = 151).
const std::vector<std::pair<std::string, std::string>> kAlternatives = {
    {"run.frames", "run.save_every"}, {"integrator.t_end", "integrator.layers"}};

// A TOML value from --set text (number, string, array, boolean; a bare word is a string).
toml::table parse_set_value(const std::string& ov, const std::string& value) {
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + value, std::string_view("--set " + ov));
  } catch (const toml::parse_error&) {
    parsed = toml::table{};
    parsed.insert("v", value);
  }
  return parsed;
}

// --set sweep.<key>=[values] and --set sweep.<key>.<field>=value (field: from, to, count, scale,
// values, integer) edit or add the [[sweep]] table of that key.
void apply_sweep_override(TomlDoc& doc, const std::string& ov, const std::string& key,
                          const std::string& value) {
  static const std::vector<std::string> kFields = {"from", "to", "count", "scale", "values", "integer"};
  std::string target = key.substr(std::string("sweep.").size()), field;
  const auto dot = target.rfind('.');
  if (dot != std::string::npos &&
      std::find(kFields.begin(), kFields.end(), target.substr(dot + 1)) != kFields.end()) {
    field = target.substr(dot + 1);
    target = target.substr(0, dot);
  }
  if (target.find('.') == std::string::npos)
    throw ConfigError("--set " + ov + ": expected sweep.<scenario key>=[values] or "
                      "sweep.<scenario key>.<from|to|count|scale|values>=..., e.g. "
                      "--set sweep.model.beta.count=10");
  toml::node* n = doc.root.get("sweep");
  if (!n) {
    doc.root.insert_or_assign("sweep", toml::array{});
    n = doc.root.get("sweep");
  }
  toml::array* arr = n->as_array();
  if (!arr) throw ConfigError("--set " + ov + ": sweep must be written as [[sweep]] tables");
  toml::table* t = nullptr;
  for (auto& el : *arr)
    if (auto* tb = el.as_table(); tb && (*tb)["key"].value<std::string>() == target) t = tb;
  if (!t) {
    if (!field.empty() && field != "values")
      throw ConfigError("--set " + ov + ": no [[sweep]] over " + target + " to change; give its "
                        "values: --set sweep." + target + "=[...]");
    toml::table nt;
    nt.insert("key", target);
    arr->push_back(std::move(nt));
    t = arr->back().as_table();
  }
  toml::table parsed = parse_set_value(ov, value);
  if (field.empty() || field == "values") {
    if (!parsed["v"].is_array())
      throw ConfigError("--set " + ov + ": the values of a sweep are an array, e.g. [0.5, 1, 2]");
    for (const char* f : {"from", "to", "count"}) t->erase(f);
    field = "values";
  } else if (field == "from" || field == "to" || field == "count") {
    t->erase("values");
  }
  parsed["v"].node()->visit([&](auto&& v) { t->insert_or_assign(field, v); });
}

void apply_override(TomlDoc& doc, const std::string& ov) {
  const auto eq = ov.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError("--set " + ov + ": expected key=value, e.g. --set integrator.dt=0.05");
  const std::string key = ov.substr(0, eq), value = ov.substr(eq + 1);
  if (key.rfind("sweep.", 0) == 0) {
    apply_sweep_override(doc, ov, key, value);
    return;
  }
  std::vector<std::string> parts;
  std::stringstream ss(key);
  for (std::string p; std::getline(ss, p, '.');) {
    if (p.empty()) throw ConfigError("--set " + ov + ": empty key component");
    parts.push_back(p);
  }
  if (key.back() == '.') throw ConfigError("--set " + ov + ": empty key component");
  toml::table* t = &doc.root;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    toml::node* n = t->get(parts[i]);
    if (!n) {
      t->insert_or_assign(parts[i], toml::table{});
      n = t->get(parts[i]);
    }
    if (!n->is_table())
      throw ConfigError("--set " + ov + ": '" + parts[i] + "' is not a table");
    t = n->as_table();
  }
  toml::table parsed = parse_set_value(ov, value);
  parsed["v"].node()->visit([&](auto&& v) { t->insert_or_assign(parts.back(), v); });
  doc.overrides[key] = "--set " + ov;
  for (const auto& [a, b] : kAlternatives) {
    const std::string other = key == a ? b : key == b ? a : "";
    if (other.empty() || doc.overrides.count(other)) continue;
    t->erase(other.substr(other.find('.') + 1));
  }
}

void read_run(Section s, Scenario& sc, const std::string& stem) {
  sc.run.name = s.string("name", stem);
  const auto seed = s.integer("seed", 0);
  if (seed < 0) s.fail("seed", "must be >= 0 (got " + std::to_string(seed) + ")");
  sc.run.seed = static_cast<std::uint64_t>(seed);
  sc.run.model_seed_given = s.has("model_seed");
  const auto mseed = s.integer("model_seed", seed);
  if (mseed < 0) s.fail("model_seed", "must be >= 0 (got " + std::to_string(mseed) + ")");
  sc.run.model_seed = static_cast<std::uint64_t>(mseed);
  sc.run.output = s.string("output", "out/" + sc.run.name + ".h5");
  if (s.has("save_every")) {
    sc.run.save_every = s.positive_int("save_every");
    if (s.has("frames")) s.fail("frames", "and run.save_every are alternatives; give one");
  } else {
    sc.run.frames = s.positive_int("frames", 101);
    sc.run.frames_given = s.has("frames");
  }
  s.finish();
}

bool is_npy_path(const std::string& p) {
  return p.size() >= 4 && (p.compare(p.size() - 4, 4, ".npy") == 0 || p.compare(p.size() - 4, 4, ".NPY") == 0);
}

void read_tokens(Section s, Scenario& sc, const LoadOptions& opt) {
  auto& t = sc.tokens;
  t.n = s.positive_int("n");
  t.d = s.positive_int("d");
  t.space = s.choice("space", {"euclidean", "sphere"}, "euclidean") == "sphere" ? Space::Sphere
                                                                                 : Space::Euclidean;
  t.init = s.choice("init", {"gaussian", "uniform_sphere", "elliptical_t", "orthogonal", "clusters",
                             "hemisphere", "file", "values"},
                    t.space == Space::Sphere ? "uniform_sphere" : "gaussian");
  const Index d = t.d;
  check_state_size(s, t);
  if (s.has("mean")) {
    auto m = s.reals("mean");
    if (static_cast<Index>(m.size()) != d)
      s.fail("mean", "must have tokens.d = " + std::to_string(d) + " entries (got " +
                         std::to_string(m.size()) + ")");
    t.mean = Eigen::Map<Vec>(m.data(), d);
  }
  if (s.has("cov")) {
    t.cov = s.matrix("cov");
    if (t.cov.rows() != d || t.cov.cols() != d)
      s.fail("cov", "must be a " + std::to_string(d) + " x " + std::to_string(d) +
                        " matrix to match tokens.d (got " + std::to_string(t.cov.rows()) + " x " +
                        std::to_string(t.cov.cols()) + ")");
    if ((t.cov - t.cov.transpose()).cwiseAbs().maxCoeff() > 1e-12 * (1 + t.cov.cwiseAbs().maxCoeff()))
      s.fail("cov", "must be symmetric");
    if (Eigen::LLT<RowMat>(t.cov).info() != Eigen::Success)
      s.fail("cov", "must be positive definite");
  }
  if (s.has("mean") || s.has("cov"))
    if (t.init != "gaussian" && t.init != "elliptical_t")
      s.fail(s.has("mean") ? "mean" : "cov", "applies only to init = \"gaussian\" or \"elliptical_t\"");
  t.nu = s.positive("nu", 5.0);
  if (t.init == "orthogonal" && t.d < t.n)
    s.fail("init", "\"orthogonal\" needs d >= n (got n = " + std::to_string(t.n) +
                       ", d = " + std::to_string(t.d) + ")");
  if (t.init == "clusters") {
    t.clusters = s.positive_int("clusters", 2);
    if (t.clusters > t.n) s.fail("clusters", "must be <= tokens.n");
  }
  if (t.init == "clusters" || t.init == "hemisphere")
    t.spread = s.positive("spread", t.init == "hemisphere" ? 1.0 : 0.1);
  if (t.init == "hemisphere") {
    if (t.space != Space::Sphere) s.fail("init", "\"hemisphere\" needs space = \"sphere\"");
    if (t.spread >= M_PI / 2) s.fail("spread", "must be < pi/2 for an open hemisphere");
  }
  if (t.init == "file") {
    if (opt.resume) {
      s.accept("path");  // the state comes from the run file
      t.path = s.string("path");
    } else {
      t.path = s.file("path");
      const std::string named_by = s.where("path").str() + ": tokens.path";
      if (is_npy_path(t.path)) {
        // A NumPy .npy file (float64/float32, C or Fortran order): N rows, d columns.
        try {
          t.x0 = read_npy_matrix(t.path);
        } catch (const ConfigError& e) {
          s.fail("path", "(" + t.path + "): " + e.what());
        }
        if (t.x0.rows() != t.n || t.x0.cols() != t.d)
          s.fail("path", "must hold tokens.n x tokens.d = " + std::to_string(t.n) + " x " +
                             std::to_string(t.d) + " values (got " + std::to_string(t.x0.rows()) +
                             " x " + std::to_string(t.x0.cols()) + " from " + t.path + ")");
      } else {
        t.x0 = read_csv(t.path, named_by, t.n, t.d, "tokens.n = " + std::to_string(t.n),
                        "tokens.d = " + std::to_string(t.d))
                   .matrix();
      }
      if (t.space == Space::Sphere)
        for (Index i = 0; i < t.n; ++i)
          if (t.x0.row(i).cwiseAbs().maxCoeff() == 0)
            s.fail("path", "row " + std::to_string(i + 1) + " of " + t.path +
                               " is the zero vector, which cannot be put on the sphere");
    }
  } else if (s.has("path")) {
    s.fail("path", "applies only to init = \"file\"");
  }
  // init = "values": the tokens themselves, values = [[...], ...] (N rows of d numbers); what the
  // Python module writes for initial tokens given as an array (shortest round-trip decimals, so
  // the array arrives bit for bit).
  if (t.init == "values") {
    t.x0 = s.matrix("values");
    if (t.x0.rows() != t.n || t.x0.cols() != t.d)
      s.fail("values", "must be tokens.n x tokens.d = " + std::to_string(t.n) + " x " +
                           std::to_string(t.d) + " (got " + std::to_string(t.x0.rows()) + " x " +
                           std::to_string(t.x0.cols()) + ")");
  } else if (s.has("values")) {
    s.fail("values", "applies only to init = \"values\"");
  }
  if ((t.init == "values") && t.space == Space::Sphere)
    for (Index i = 0; i < t.n; ++i)
      if (t.x0.row(i).cwiseAbs().maxCoeff() == 0)
        s.fail("values", "row " + std::to_string(i + 1) +
                             " is the zero vector, which cannot be put on the sphere");
  t.momentum = s.choice("momentum", {"zero", "gaussian", "affine"}, "zero");
  if (t.momentum == "gaussian") t.momentum_scale = s.positive("momentum_scale", 1.0);
  if (t.momentum == "affine") {
    t.P0 = s.has("P0") ? s.matrix("P0") : RowMat::Zero(d, d);
    if (t.P0.rows() != d || t.P0.cols() != d) s.fail("P0", "must be d x d");
    if (s.has("c0")) {
      auto c = s.reals("c0");
      if (static_cast<Index>(c.size()) != d) s.fail("c0", "must have d entries");
      t.c0 = Eigen::Map<Vec>(c.data(), d);
    } else {
      t.c0 = Vec::Zero(d);
    }
  }
  s.finish();
}

void read_integrator(Section s, Scenario& sc) {
  auto& in = sc.integrator;
  in.kind = s.choice("kind", IntegratorRegistry::names(), "rk4");
  sc.integrator_info = IntegratorRegistry::find(in.kind);
  in.dt = s.positive("dt", sc.model.traits.default_dt);
  in.t0 = s.real("t0", 0.0);
  if (s.has("layers")) {
    in.layers = s.positive_int("layers");
    if (s.has("t_end")) s.fail("t_end", "and integrator.layers are alternatives; give one");
    in.t_end = in.t0 + static_cast<double>(in.layers) * in.dt;
  } else if (sc.model.traits.layer_map) {
    s.fail("layers", "is required: model \"" + sc.model_kind +
                         "\" is a layer map (one step = one layer of width dt); give "
                         "integrator.layers = L instead of t_end");
  } else {
    in.t_end = s.real("t_end");
    if (!(in.t_end > in.t0)) {
      std::ostringstream os;
      os << "must be > t0 = " << in.t0 << " (got " << in.t_end << ")";
      s.fail("t_end", os.str());
    }
  }
  in.rtol = s.positive("rtol", 1e-8);
  in.atol = s.positive("atol", 1e-10);
  in.dt_min = s.positive("dt_min", 1e-12);
  s.finish();
}

void read_observe(Section s, Scenario& sc) {
  sc.observe.where = s.where("quantities");
  sc.observe.quantities = s.strings("quantities", {});
  if (s.has("w")) {
    auto w = s.reals("w");
    if (static_cast<Index>(w.size()) != sc.tokens.d) s.fail("w", "must have tokens.d entries");
    sc.observe.w = Eigen::Map<Vec>(w.data(), sc.tokens.d);
    if (sc.observe.w.norm() == 0) s.fail("w", "must be non-zero");
    sc.observe.w.normalize();
  }
  s.finish();
}

void read_ensemble(Section s, Scenario& sc) {
  auto& e = sc.ensemble;
  e.where = s.where();
  e.size = s.positive_int("size");
  e.shared_matrices = s.choice("matrices", {"shared", "per_system"}, "shared") == "shared";
  e.trajectories = s.integer("trajectories", 0);
  if (e.trajectories < 0 || e.trajectories > e.size)
    s.fail("trajectories", "must be in [0, ensemble.size = " + std::to_string(e.size) + "] (got " +
                               std::to_string(e.trajectories) + ")");
  e.statistics = s.strings("statistics", {"close_pair_fraction"});
  if (e.statistics.empty()) s.fail("statistics", "must name at least one statistic");
  e.delta = s.positive("delta", 1e-3);
  e.quantiles = s.reals("quantiles", e.quantiles);
  for (double q : e.quantiles)
    if (!(q >= 0 && q <= 1)) s.fail("quantiles", "must lie in [0, 1]");
  s.finish();
}

SweepAxis read_sweep(Section s) {
  SweepAxis a;
  a.where = s.where();
  a.key = s.string("key");
  if (a.key.find('.') == std::string::npos || a.key.rfind("sweep", 0) == 0 ||
      a.key.rfind("ensemble", 0) == 0 || a.key.rfind("expect", 0) == 0)
    s.fail("key", "must be a scenario key such as \"model.beta\" or \"tokens.d\" (got \"" + a.key + "\")");
  const bool has_values = s.has("values");
  if (has_values) {
    if (s.has("from") || s.has("to") || s.has("count"))
      s.fail("values", "and from/to/count are alternatives; give one");
    a.values = s.reals("values");
    if (a.values.empty()) s.fail("values", "must not be empty");
    a.log = s.choice("scale", {"linear", "log"}, "linear") == "log";
  } else {
    const double from = s.real("from"), to = s.real("to");
    const auto count = s.positive_int("count");
    a.log = s.choice("scale", {"linear", "log"}, "linear") == "log";
    if (a.log && !(from > 0 && to > 0)) s.fail("scale", "\"log\" needs from > 0 and to > 0");
    if (count > 1000000) s.fail("count", "must be <= 1000000");
    for (std::int64_t k = 0; k < count; ++k) {
      const double u = count == 1 ? 0.0 : static_cast<double>(k) / static_cast<double>(count - 1);
      a.values.push_back(k == count - 1 && count > 1 ? to
                         : a.log ? from * std::pow(to / from, u)
                                 : from + (to - from) * u);
    }
  }
  a.integer = s.boolean("integer", false);
  for (double v : a.values)
    if (!std::isfinite(v) || (a.integer && v != std::floor(v)))
      s.fail(has_values ? "values" : "from", a.integer ? "must be whole numbers for an integer key"
                                                       : "must be finite numbers");
  s.finish();
  return a;
}

ClaimSpec read_claim(Section s) {
  ClaimSpec c;
  c.where = s.where();
  c.kind = s.choice("kind", {"rate", "final", "monotone", "max_residual", "min", "max",
                             "power_rate", "hitting_time", "drift", "drift_order",
                             "compare_runs", "ellipticity", "probability", "ensemble_mean",
                             "crossing", "ensemble_power_law", "ensemble_curve"});
  const bool ensemble_claim = c.kind == "probability" || c.kind == "ensemble_mean" ||
                              c.kind == "crossing" || c.kind == "ensemble_power_law" ||
                              c.kind == "ensemble_curve";
  if (ensemble_claim) {
    c.statistic = s.string("statistic");
    c.label = s.string("label", c.kind + "(" + c.statistic + ")");
    if (s.has("point")) {  // point = { "model.beta" = 0.1, "tokens.d" = 64 }
      Section pt = s.table("point");
      for (const auto& key : pt.keys()) c.point.push_back({key, pt.real(key)});
      c.observable_where = s.where("point");
    }
    if (s.has("time")) c.time = s.real("time"), c.has_time = true;
    c.confidence = s.real("confidence", 0.99);
    if (!(c.confidence > 0 && c.confidence < 1)) s.fail("confidence", "must lie in (0, 1)");
    if (c.kind == "probability") {
      c.event = s.choice("event", {"indicator", "equals", "below", "above"}, "indicator");
      if (c.event != "indicator") c.event_value = s.real("value");
    }
    if (c.kind == "crossing" || c.kind == "ensemble_power_law") c.along = s.string("along");
    if (c.kind == "crossing") c.level = s.real("level");
    if (c.kind == "ensemble_curve") c.reference = s.string("reference");
    if (c.kind == "ensemble_power_law") c.reference = s.string("reference", "");
    if (s.has("equals")) c.equals = s.real("equals"), c.has_equals = true;
    if (s.has("at_least")) c.at_least = s.real("at_least"), c.has_at_least = true;
    if (s.has("at_most")) c.at_most = s.real("at_most"), c.has_at_most = true;
    c.rel_tol = s.non_negative("rel_tol", 0.0);
    c.abs_tol = s.non_negative("abs_tol", 0.0);
    if (!c.has_equals && !c.has_at_least && !c.has_at_most && c.reference.empty())
      s.fail("kind", "needs a comparison: equals, at_least or at_most (or a reference)");
    s.finish();
    return c;
  }
  c.observable = c.kind == "ellipticity" ? s.string("observable", "") : s.string("observable");
  c.observable_where = s.where("observable");
  c.label = s.string("label", c.kind + "(" + c.observable + ")");
  if (s.has("window")) {
    auto w = s.reals("window");
    if (w.size() != 2 || !(w[1] > w[0])) s.fail("window", "must be [t_from, t_to] with t_to > t_from");
    c.t_from = w[0];
    c.t_to = w[1];
    c.has_window = true;
    c.window_where = s.where("window");
  }
  if (c.kind == "hitting_time" || c.kind == "compare_runs") {
    c.threshold = s.real("threshold");
    if (!(c.threshold > 0)) s.fail("threshold", "must be > 0");
  }
  if (c.kind == "hitting_time" || c.kind == "compare_runs" || c.kind == "drift")
    c.relative = s.boolean("relative", true);
  if (c.kind == "compare_runs") {
    c.against = s.file("against");
    if (s.has("seeds")) {
      for (double v : s.reals("seeds")) {
        if (v < 0 || v != std::floor(v) || v > 9.0e15) s.fail("seeds", "must be non-negative integers");
        c.seeds.push_back(static_cast<std::int64_t>(v));
      }
      if (c.seeds.empty()) s.fail("seeds", "must not be empty");
    }
    c.min_wins = s.integer("min_wins", -1);
    if (c.min_wins > static_cast<std::int64_t>(std::max<std::size_t>(c.seeds.size(), 1)))
      s.fail("min_wins", "must be <= the number of seeds");
    c.equal_budget = s.boolean("equal_budget", true);
  }
  if (c.kind == "ellipticity") {
    c.metric = s.choice("metric", {"linear_image", "affine_image", "mahalanobis"}, "linear_image");
    c.integrators = s.strings("integrators", {});
    const auto known = IntegratorRegistry::names();
    for (const auto& k : c.integrators)
      if (std::find(known.begin(), known.end(), k) == known.end())
        s.fail("integrators", "names an unknown integrator '" + k + "': " + one_of(known, k));
  }
  if (c.kind == "monotone") {
    c.direction = s.choice("direction", {"increasing", "decreasing"});
    c.tol = s.non_negative("tol", 0.0);
  } else {
    if (c.kind == "max_residual") c.reference = s.string("reference");
    if (s.has("equals")) c.equals = s.real("equals"), c.has_equals = true;
    if (s.has("at_least")) c.at_least = s.real("at_least"), c.has_at_least = true;
    if (s.has("at_most")) c.at_most = s.real("at_most"), c.has_at_most = true;
    c.rel_tol = s.non_negative("rel_tol", 0.0);
    c.abs_tol = s.non_negative("abs_tol", 0.0);
    if (!c.has_equals && !c.has_at_least && !c.has_at_most)
      s.fail("kind", "needs a comparison: equals (with rel_tol/abs_tol), at_least or at_most");
    if (c.has_equals && c.rel_tol == 0 && c.abs_tol == 0)
      s.fail("equals", "needs a tolerance: rel_tol or abs_tol");
  }
  s.finish();
  return c;
}

Scenario load(TomlDoc& doc, const std::string& source_text,
              const std::vector<std::string>& overrides, const LoadOptions& opt) {
  for (const auto& ov : overrides) apply_override(doc, ov);
  Scenario sc;
  sc.overrides = overrides;
  sc.path = doc.path;
  sc.source_text = source_text;
  toml::table& root = doc.root;
  toml::table& res = doc.resolved;
  Section top = doc.section("", &root, nullptr);
  auto section = [&](const char* name, bool required) {
    toml::node* n = root.get(name);
    if (n && !n->is_table())
      throw ConfigError(top.where(name).str() + ": [" + name + "] must be a table");
    if (!n && required)
      throw ConfigError(doc.path + ": missing section [" + name + "]");
    res.insert_or_assign(name, toml::table{});
    return doc.section(name, n ? n->as_table() : nullptr, res[name].as_table());
  };
  const std::string stem = fs::path(doc.path).stem().string();
  read_run(section("run", false), sc, stem.empty() ? "run" : stem);
  read_tokens(section("tokens", true), sc, opt);

  // [model]: the registry entry reads its own keys.
  Section ms = section("model", true);
  sc.model_kind = ms.choice("kind", ModelRegistry::names());
  sc.model = ModelRegistry::find(sc.model_kind)->read(ms, sc.tokens);
  ms.finish();

  read_integrator(section("integrator", true), sc);
  read_observe(section("observe", false), sc);

  if (root.get("ensemble") && !opt.grid_point) read_ensemble(section("ensemble", false), sc);
  if (toml::node* sw = root.get("sweep"); sw && !opt.grid_point) {
    auto* arr = sw->as_array();
    if (!arr || !arr->is_array_of_tables())
      throw ConfigError(top.where("sweep").str() + ": sweep must be written as [[sweep]] tables");
    toml::array resolved_arr;
    for (std::size_t i = 0; i < arr->size(); ++i) {
      toml::table rt;
      Section ss = doc.section("sweep[" + std::to_string(i) + "]", (*arr)[i].as_table(), &rt);
      sc.sweep.push_back(read_sweep(ss));
      resolved_arr.push_back(std::move(rt));
    }
    res.insert_or_assign("sweep", std::move(resolved_arr));
  }
  if (opt.grid_point) {
    // A grid point of a sweep: [ensemble] and [sweep] were read by the base scenario.
    if (root.get("ensemble")) res.insert_or_assign("ensemble", *root["ensemble"].as_table());
    if (root.get("sweep")) res.insert_or_assign("sweep", *root["sweep"].as_array());
  }

  if (toml::node* e = root.get("expect")) {
    auto* arr = e->as_array();
    if (!arr || (!arr->empty() && !arr->is_array_of_tables()))
      throw ConfigError(top.where("expect").str() + ": expect must be written as [[expect]] tables");
    toml::array resolved_arr;
    for (std::size_t i = 0; i < arr->size(); ++i) {
      toml::table rt;
      Section cs = doc.section("expect[" + std::to_string(i) + "]", (*arr)[i].as_table(), &rt);
      sc.expect.push_back(read_claim(cs));
      resolved_arr.push_back(std::move(rt));
    }
    res.insert_or_assign("expect", std::move(resolved_arr));
  }
  top.finish({"run", "tokens", "model", "integrator", "observe", "expect", "ensemble", "sweep"});

  std::ostringstream os;
  os << res;
  sc.resolved_toml = os.str();
  flatten(res, "", sc.resolved_values);
  sc.inputs = doc.inputs;
  validate(sc, doc, opt);
  return sc;
}

}  // namespace

Scenario load_scenario_text(const std::string& text, const std::string& name,
                            const std::vector<std::string>& overrides, const LoadOptions& opt) {
  TomlDoc doc;
  doc.path = name;
  try {
    doc.root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw ConfigError(name + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) +
                      ": syntax error: " + std::string(e.description()));
  }
  return load(doc, text, overrides, opt);
}

std::string toml_string(const std::string& text, const std::string& dotted_key) {
  try {
    const toml::table t = toml::parse(text, std::string_view("stored scenario"));
    if (auto v = t.at_path(dotted_key).value<std::string>()) return *v;
  } catch (const toml::parse_error&) {
  }
  return {};
}

Scenario load_scenario(const std::string& path, const std::vector<std::string>& overrides,
                       const LoadOptions& opt) {
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw ConfigError(path + ": is a folder, not a scenario file");
  if (!in) throw ConfigError(path + ": cannot open scenario file (" +
                             (fs::exists(path, ec) ? "not readable" : "no such file") + ")");
  std::stringstream ss;
  ss << in.rdbuf();
  return load_scenario_text(ss.str(), path, overrides, opt);
}

}  // namespace attnflow
