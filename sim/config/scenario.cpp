#include "sim/config/scenario.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/config/csv.hpp"
#include "sim/config/matrix_param.hpp"
#include "sim/config/docs.hpp"
#include "sim/config/toml_doc.hpp"
#include "sim/config/validate.hpp"

namespace attnflow {
namespace fs = std::filesystem;

// ---- documentation of the tables read here (sim/config/docs.hpp; `attnflow help scenario`) ----
// Keep each entry beside what its reader does: tests/unit/test_reference.cpp fails when a key
// read below is not documented here or a documented default differs from the one filled in.

const std::vector<SectionDoc>& scenario_section_docs() {
  static const std::vector<SectionDoc> docs = {
      {"run", "Optional table. The run: its name, seed and output file, and how many frames it writes.",
       {
           {"name", "string", "(the scenario file's name without .toml)",
            "1-128 letters, digits, _ - . +", "names the run; the default output is out/<name>.h5"},
           {"seed", "integer", "0", "0 .. 9223372036854775807",
            "every random draw (initial tokens, momenta, random matrices, frequencies) derives "
            "from it through named streams, so a run is reproducible bit for bit"},
           {"model_seed", "integer", "(run.seed)", ">= 0",
            "seed of the random model parameters alone (matrices, frequencies): change the tokens "
            "with seed while keeping the model, or the reverse"},
           {"output", "string", "(\"out/<name>.h5\")", "a path",
            "the run file (H5MD) and its ParaView sidecar <stem>.xdmf2; relative to the working "
            "directory, like -o (CSV paths in [tokens] and [model] are relative to the scenario "
            "file instead)"},
           {"frames", "integer", "101", ">= 1; <= steps + 1 when given",
            "frames written, evenly spaced from t0 to t_end (on whole steps when dt divides "
            "t_end - t0); the default is capped at one frame per step (layer). Alternative to "
            "save_every: --set run.save_every=K drops frames"},
           {"save_every", "integer", "(none: frames is used)", ">= 1, divides the number of steps",
            "a frame every K steps (fixed-step integrators only); alternative to frames: --set "
            "run.frames=F drops save_every"},
       }},
      {"tokens", "Required table. The particles: N tokens in R^d or on the sphere S^{d-1}, and how they start.",
       {
           {"n", "integer", "", ">= 1", "N, the number of tokens", "", "", "64"},
           {"d", "integer", "", ">= 1", "d, the dimension of each token", "", "", "3"},
           {"space", "choice", "\"euclidean\"", "\"euclidean\" | \"sphere\"",
            "R^d, or the unit sphere S^{d-1} (velocities projected on the tangent space, "
            "positions renormalised after every step)"},
           {"init", "choice", "(\"uniform_sphere\" on the sphere, \"gaussian\" in R^d)",
            "\"gaussian\" | \"uniform_sphere\" | \"elliptical_t\" | \"orthogonal\" | "
            "\"clusters\" | \"hemisphere\" | \"file\" | \"values\"",
            "initial positions: gaussian N(mean, cov); uniform_sphere uniform on S^{d-1}; "
            "elliptical_t a multivariate t with nu degrees of freedom (location mean, scale "
            "cov); orthogonal orthonormal tokens (d >= n); clusters `clusters` Gaussian centres "
            "(on the sphere: normalised) with std `spread`; hemisphere uniform in the cap of "
            "half-angle `spread` around e_1 (sphere only); file a CSV of N rows and d columns; "
            "values the rows given in tokens.values (what the Python module writes). "
            "On the sphere every start is projected onto S^{d-1}"},
           {"mean", "array", "(zero vector)", "d numbers", "centre of gaussian / elliptical_t",
            "", "init = \"gaussian\" or \"elliptical_t\""},
           {"cov", "matrix", "(identity)", "d x d, symmetric positive definite",
            "covariance (gaussian) or scale matrix (elliptical_t)", "",
            "init = \"gaussian\" or \"elliptical_t\""},
           {"nu", "number", "5.0", "> 0", "degrees of freedom of elliptical_t (read always)"},
           {"clusters", "integer", "2", "1 .. n", "number of cluster centres; token i joins "
            "centre i mod clusters", "", "init = \"clusters\""},
           {"spread", "number", "(0.1 for clusters, 1.0 for hemisphere)",
            "> 0; < pi/2 for hemisphere", "cluster std, or the cap's half-angle (radians)", "",
            "init = \"clusters\" or \"hemisphere\""},
           {"path", "file", "", "CSV file, N rows x d columns",
            "initial positions; relative to the scenario file's folder (the run file keeps a "
            "copy, so --resume does not need it)", "", "init = \"file\"", "\"x0.csv\""},
           {"values", "matrix", "(none)", "n x d numbers", "initial positions given inline (the "
            "Python module passes NumPy arrays this way, in shortest round-trip decimals)", "",
            "init = \"values\""},
           {"momentum", "choice", "\"zero\"", "\"zero\" | \"gaussian\" | \"affine\"",
            "initial momenta y of second-order models: zero, i.i.d. N(0, momentum_scale^2), or "
            "y_i = P0 x_i + c0"},
           {"momentum_scale", "number", "1.0", "> 0", "std of gaussian momenta", "",
            "momentum = \"gaussian\""},
           {"P0", "matrix", "(zero matrix)", "d x d", "affine momenta y_i = P0 x_i + c0", "",
            "momentum = \"affine\""},
           {"c0", "array", "(zero vector)", "d numbers", "affine momenta y_i = P0 x_i + c0", "",
            "momentum = \"affine\""},
       }},
      {"integrator",
       "Required table. Time stepping (attnflow help integrator KIND for each kind). Discrete models (layer "
       "maps: transformer, ssa, poly_attention with mode = \"layers\" or a task) take "
       "layers = L instead of t_end, one step = one layer of width dt.",
       {
           {"kind", "choice", "\"rk4\"", "a registered integrator (attnflow help integrator)",
            "the stepper; ignored by layer maps"},
           {"dt", "number", "(0.1; 1.0 for transformer and ssa)", "> 0",
            "step size (the first trial step of adaptive integrators); steps never exceed "
            "2e9"},
           {"t0", "number", "0.0", "any; > 0 with damping c_log / t", "start time"},
           {"t_end", "number", "", "> t0",
            "end time; required unless layers is given (t_end and layers are alternatives)", "",
            "", "10.0"},
           {"layers", "integer", "(none: t_end is used)", ">= 1",
            "number of steps L (t_end = t0 + L dt); required for layer maps"},
           {"rtol", "number", "1e-08", "> 0", "relative tolerance of adaptive integrators"},
           {"atol", "number", "1e-10", "> 0", "absolute tolerance of adaptive integrators"},
           {"dt_min", "number", "1e-12", "> 0",
            "adaptive step floor: a step below it stops the run (exit 3)"},
       }},
      {"observe",
       "Optional table. Observables written at every frame (attnflow help observables): the geometric ones every "
       "model offers and the model's own.",
       {
           {"quantities", "array", "[]", "observable names, each once",
            "scalars recorded per frame under /observables/<name>"},
           {"w", "array", "(the initial mean direction)", "d numbers, not all zero",
            "direction of hemisphere_margin (normalised)"},
       }},
      {"ensemble",
       "Optional table. Many independent systems per grid point (attnflow run / check write a sweep file): "
       "statistics per system and frame, aggregated over the systems.",
       {
           {"size", "integer", "", ">= 1", "systems per grid point", "", "", "16"},
           {"matrices", "choice", "\"shared\"", "\"shared\" | \"per_system\"",
            "random model parameters drawn once (from run.model_seed) or per system"},
           {"trajectories", "integer", "0", "0 .. size",
            "full trajectories kept for the first k systems of each point"},
           {"statistics", "array", "[\"close_pair_fraction\"]",
            "names of token statistics (close_pair_fraction, clusters, hemisphere, ...) or "
            "observables", "recorded per system and frame"},
           {"delta", "number", "0.001", "> 0",
            "close pairs and clusters: <x_i, x_j> > 1 - delta"},
           {"quantiles", "array", "[0.05, 0.5, 0.95]", "numbers in [0, 1]",
            "quantiles of each statistic over the systems"},
       }},
      {"sweep",
       "Optional table. One axis of a parameter grid, written [[sweep]] (several tables: the cartesian product, "
       "first axis slowest). --set sweep.<key>=[values] or --set sweep.<key>.<field>=value.",
       {
           {"key", "string", "", "a numeric scenario key such as \"model.beta\"",
            "the swept key", "", "", "\"model.beta\""},
           {"values", "array", "(none: from, to, count)", "finite numbers",
            "the grid values; alternative to from/to/count"},
           {"from", "number", "", "> 0 for scale = \"log\"", "first value", "",
            "values is not given", "0.5"},
           {"to", "number", "", "> 0 for scale = \"log\"", "last value", "",
            "values is not given", "2.0"},
           {"count", "integer", "", "1 .. 1000000", "number of values", "",
            "values is not given", "4"},
           {"scale", "choice", "\"linear\"", "\"linear\" | \"log\"",
            "spacing of from..to (and of fits and plots)"},
           {"integer", "bool", "false", "true | false",
            "the key is an integer (tokens.n, tokens.d): values must be whole"},
       }},
  };
  return docs;
}

const SectionDoc* find_section_doc(const std::string& name) {
  for (const auto& s : scenario_section_docs())
    if (s.name == name) return &s;
  return nullptr;
}

const std::vector<KeyDoc>& claim_comparison_docs() {
  static const std::vector<KeyDoc> docs = {
      {"equals", "number", "(none)", "any", "expected value (needs rel_tol or abs_tol)"},
      {"rel_tol", "number", "0.0", ">= 0", "relative tolerance of equals"},
      {"abs_tol", "number", "0.0", ">= 0", "absolute tolerance of equals"},
      {"at_least", "number", "(none)", "any", "lower bound of the measured value"},
      {"at_most", "number", "(none)", "any", "upper bound of the measured value"},
      {"label", "string", "(\"<kind>(<observable or statistic>)\")", "any",
       "name printed in PASS / FAIL lines"},
  };
  return docs;
}

const std::vector<ClaimDoc>& claim_docs() {
  const KeyDoc observable{"observable", "string", "", "an observable in observe.quantities",
                          "the observable the claim is about", "", "", "\"diameter\""};
  const KeyDoc window{"window", "array", "(the whole run)", "[t_from, t_to], t_to > t_from",
                      "time window (must hold frames of the run)"};
  const KeyDoc statistic{"statistic", "string", "", "a name in ensemble.statistics",
                         "the ensemble statistic", "", "", "\"close_pair_fraction\""};
  const KeyDoc point{"point", "table", "(the only grid point)", "{ \"model.beta\" = 0.1, ... }",
                     "the grid point: every swept key with more than one value"};
  const KeyDoc time{"time", "number", "(the last frame)", "a frame time", "the frame"};
  const KeyDoc confidence{"confidence", "number", "0.99", "in (0, 1)", "interval level"};
  const KeyDoc threshold{"threshold", "number", "", "> 0",
                         "level of the value (of value / value(t0) when relative)", "", "", "0.1"};
  const KeyDoc relative{"relative", "bool", "true", "true | false",
                        "divide by the value at the first frame"};
  const std::string glpr = "GLPR (Geshkovski, Letrouit, Polyanskiy, Rigollet, arXiv 2312.10794)";
  static const std::vector<ClaimDoc> docs = {
      {"rate", false, "fitted exponential rate r of value ~ C exp(-r t) over the window (least "
                      "squares of log value)", "", {observable, window}},
      {"final", false, "the last value in the window", "", {observable, window}},
      {"min", false, "the smallest value in the window", "", {observable, window}},
      {"max", false, "the largest value in the window", "", {observable, window}},
      {"monotone", false, "no frame-to-frame change goes the wrong way by more than tol "
                          "(measured: the worst violation); takes no comparison keys", "",
       {observable, window,
        {"direction", "choice", "", "\"increasing\" | \"decreasing\"", "the direction", "", "",
         "\"decreasing\""},
        {"tol", "number", "0.0", ">= 0", "allowed violation per frame"}}},
      {"max_residual", false, "max over the window of |value - reference|",
       glpr + ", ODE (6.9) SA / (6.10) USA for reference = \"equiangular\"",
       {observable, window,
        {"reference", "string", "", "\"zero\" | \"equiangular\" | an observable",
         "the reference curve (equiangular: model attention only; compare with mean_inner)", "",
         "", "\"zero\""}}},
      {"power_rate", false, "fitted exponent p of value ~ C t^-p over the window", "",
       {observable, window}},
      {"hitting_time", false, "sustained hitting time of threshold: the first frame time after "
                              "which every frame stays below (+inf, failing, if never)", "",
       {observable, window, threshold, relative}},
      {"drift", false, "max over the window of |value - value(t0)| (/ |value(t0)| if relative)",
       "", {observable, window, relative}},
      {"drift_order", false, "reruns with dt and dt/2: log2 of the ratio of the drifts (4 for "
                             "conserved H_N with rk4); fixed-step integrators only", "",
       {observable, window}},
      {"compare_runs", false, "reruns this scenario and `against` for each seed; measured = 1 - "
                              "mean hitting time here / mean hitting time there", "",
       {observable, window, threshold, relative,
        {"against", "file", "", "a scenario file (relative to this one)",
         "the scenario to compare with; it must record the observable", "", "",
         "\"other.toml\""},
        {"seeds", "array", "(run.seed)", "non-negative integers", "seeds to rerun both with"},
        {"min_wins", "integer", "-1", "<= number of seeds; -1 = all", "paired wins required"},
        {"equal_budget", "bool", "true", "true | false",
         "require equal RHS-evaluation counts"}}},
      {"ellipticity", false, "reruns the scenario (for each of integrators) and measures the "
                             "residual metric between initial and final positions "
                             "(analysis/ellipticity.hpp)", "",
       {{"observable", "string", "\"\"", "a recorded observable or empty", "unused beyond the check"},
        window,
        {"metric", "choice", "\"linear_image\"",
         "\"linear_image\" | \"affine_image\" | \"mahalanobis\"", "the residual"},
        {"integrators", "array", "[]", "registered integrator kinds",
         "rerun with each (default: the scenario's own)"}}},
      {"probability", true, "fraction of systems in which the event holds at a grid point and "
                            "frame; exact Clopper-Pearson interval at confidence", "",
       {statistic, point, time, confidence,
        {"event", "choice", "\"indicator\"", "\"indicator\" | \"equals\" | \"below\" | \"above\"",
         "the event (indicator: the statistic is 0/1)"},
        {"value", "number", "", "any", "the value of equals / below / above", "",
         "event is not \"indicator\"", "0.5"}}},
      {"ensemble_mean", true, "mean of the statistic over the systems; interval mean +/- z_c "
                              "standard errors", "", {statistic, point, time, confidence}},
      {"crossing", true, "first crossing of level by the mean curve along the swept key `along` "
                         "(linear interpolation, in log x for a log axis)", "",
       {statistic, point, time, confidence,
        {"along", "string", "", "a swept key", "the axis", "", "", "\"model.beta\""},
        {"level", "number", "", "any", "the level", "", "", "0.5"}}},
      {"ensemble_power_law", true, "exponent p of mean ~ C along^p, least squares in log-log",
       glpr + ", Theorem 6.9 for reference = \"sqrt(log(x)/x)\"",
       {statistic, point, time, confidence,
        {"along", "string", "", "a swept key", "the axis", "", "", "\"tokens.d\""},
        {"reference", "string", "\"\"", "\"\" | \"sqrt(log(x)/x)\"",
         "compare with the exponent the same fit gives for this function (abs_tol needed)"}}},
      {"ensemble_curve", true, "max over the frames of |mean(t) - reference(t)|",
       glpr + ", ODE (6.9) / (6.10) for reference = \"equiangular\"",
       {statistic, point, time, confidence,
        {"reference", "string", "", "\"equiangular\" | another statistic", "the reference",
         "", "", "\"equiangular\""}}},
  };
  return docs;
}

std::vector<std::string> claim_kinds() {
  std::vector<std::string> out;
  for (const auto& c : claim_docs()) out.push_back(c.kind);
  return out;
}

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

std::unique_ptr<Model> Scenario::build_model(std::uint64_t seed, const Comm* comm) const {
  if (!comm)
    return model.build(BuildContext{shape(), tokens.space, seed, observe.quantities, integrator.t0, nullptr, {}});
  const RowBlock rows = row_block(tokens.n, comm->rank(), comm->size());
  Shape local = shape();
  local.n = rows.count;
  auto m = model.build(BuildContext{local, tokens.space, seed, observe.quantities, integrator.t0, comm, rows});
  m->distribute(comm, rows);
  return m;
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
    // A whole number TOML cannot hold is an error, not a string (e.g. a seed of 2^63).
    const std::size_t sign = !value.empty() && (value[0] == '-' || value[0] == '+');
    if (value.size() > sign &&
        value.find_first_not_of("0123456789_", sign) == std::string::npos)
      throw ConfigError("--set " + ov + ": " + value + " is out of range: integers are 64-bit, "
                        "from -9223372036854775808 to 9223372036854775807");
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
  c.kind = s.choice("kind", claim_kinds());  // the documented kinds (claim_docs above)
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

std::optional<std::int64_t> toml_integer(const std::string& text, const std::string& dotted_key) {
  try {
    const toml::table t = toml::parse(text, std::string_view("stored scenario"));
    if (auto v = t.at_path(dotted_key).value<std::int64_t>()) return *v;
  } catch (const toml::parse_error&) {
  }
  return std::nullopt;
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
