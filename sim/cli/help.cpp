#include "sim/cli/help.hpp"

#include <iostream>
#include <sstream>

#include "sim/config/docs.hpp"
#include "sim/config/section.hpp"
#include "sim/config/validate.hpp"
#include "sim/core/error.hpp"
#include "sim/core/geometry_observables.hpp"
#include "sim/core/registry.hpp"

namespace attnflow::cli {
namespace {

// Conventions that hold across models: what a user cannot guess from the keys alone.
const std::vector<std::pair<std::string, std::string>>& conventions() {
  static const std::vector<std::pair<std::string, std::string>> c = {
      {"Random matrices",
       "A matrix key set to \"random\" has i.i.d. N(0, 1/d) entries; \"random_spd\" is I + G G^T / "
       "d with G i.i.d. N(0, 1). They are drawn from run.model_seed (= run.seed unless given) "
       "through the stream \"model.<key>\", so changing tokens or integrator keeps them."},
      {"Frames",
       "run.frames = 101 by default, evenly spaced from t0 to t_end (on whole steps when dt "
       "divides t_end - t0); the default is capped at one frame per step or layer, an explicit "
       "value above that is an error. run.save_every = K writes every K-th step instead; with "
       "--set, giving one of frames / save_every (or t_end / layers) drops the other from the "
       "file."},
      {"Paths",
       "-o and run.output are relative to the working directory; CSV and scenario paths inside "
       "a scenario (tokens.path, model.coupling_matrix, model.path, model.token_path, "
       "expect.against) are relative to the scenario file's folder. An output is never an input "
       "of the run; an existing output is kept as #RUN.h5.N# (attnflow run --help)."},
      {"--set",
       "--set table.key=value overrides or adds any key (value in TOML syntax; a bare word is a "
       "string); errors about it name the --set, not the file. --set sweep.<key>=[...] edits a "
       "[[sweep]]."},
      {"convention = \"v1\"",
       "The SympFormer authors' scaling runs N times faster than the default \"density\" "
       "convention: (v1)(t) = (density)(N t). Shrink dt (and t_end) N-fold when switching, and "
       "divide a constant damping alpha by N."},
      {"SVGD median bandwidth",
       "bandwidth = \"median\": h = med^2 / log max(N, 3), med^2 the upper median of |x_i - x_j|^2 "
       "over the pairs of the first min(N, 512) particles, recomputed at every RHS. h then "
       "depends on the state in a non-smooth way, so rk4 converges with order about 2; give a "
       "number for the formal order."},
      {"Blow-ups",
       "Several models are unbounded on R^d with their defaults (attention, linear_attention, "
       "accelerated_attention, accelerated_linear_attention): the tokens escape and the run stops with exit 3 (NaN). validate "
       "and run print a warning saying why and what to set; attnflow help model KIND lists a "
       "context that runs."},
      {"MDAnalysis",
       "MDAnalysis (2.4) reads a run file only with mda.Universe(\"RUN.h5\", format=\"H5MD\", "
       "convert_units=False), and only for d = 3 (it rejects other box dimensions); it reads the "
       "first particle group (/particles/tokens), not tokens_view. For any d read the file with "
       "h5py: positions are /particles/tokens/position/value [T][N][d], times "
       "/particles/tokens/position/time."},
      {"Exit codes",
       "0 ok; 1 a claim failed; 2 invalid input (scenario, option, file); 3 numerical failure "
       "(NaN/Inf, step underflow); 4 I/O failure; 130/143 interrupted by SIGINT/SIGTERM."},
  };
  return c;
}

std::string default_text(const KeyDoc& k) {
  if (!k.required()) return k.def;
  return "(required)" + (k.example.empty() ? std::string() : " e.g. " + k.example);
}

// One key: `  table.key = default` then its description, indented (parsed by
// tests/cli/reference_tests.py: keep the first line's form).
void print_key(std::ostream& os, const std::string& table, const KeyDoc& k) {
  os << "  " << table << "." << k.key << " = " << default_text(k) << "\n";
  os << "      " << k.type << "; " << k.range << ". " << k.meaning << "\n";
  if (!k.when.empty()) os << "      only when: " << k.when << "\n";
  if (!k.source.empty()) os << "      source: " << k.source << "\n";
}

void print_section(std::ostream& os, const SectionDoc& s) {
  os << "[" << (s.name == "sweep" ? "[sweep]" : s.name) << "]"
     << (s.name == "sweep" ? "" : "") << "  " << s.description << "\n";
  for (const auto& k : s.keys) print_key(os, s.name, k);
  if (s.name == "ensemble") {
    os << "  token statistics for ensemble.statistics (besides the model's observables):";
    for (const auto& n : ensemble_token_statistics()) os << " " << n;
    os << "\n";
  }
  os << "\n";
}

[[noreturn]] void unknown(const std::string& what, const std::string& name,
                          const std::vector<std::string>& valid) {
  throw ConfigError("unknown " + what + " \"" + name + "\": " + what + " " + one_of(valid, name));
}

void print_model(std::ostream& os, const std::string& kind) {
  const ModelInfo* m = ModelRegistry::find(kind);
  if (!m) unknown("model", kind, ModelRegistry::names());
  const ModelDoc& d = m->doc;
  os << "model \"" << kind << "\": " << m->summary << "\n\n";
  os << "  " << d.description << "\n";
  if (!d.source.empty()) os << "  Source: " << d.source << "\n";
  os << "\nRuns with (besides tokens.n and the keys below; attnflow help scenario):\n";
  os << "  model.kind = \"" << kind << "\"\n";
  for (const auto& c : d.context) os << "  " << c << "\n";
  os << "\nKeys of [model]:\n";
  for (const auto& k : d.keys) print_key(os, "model", k);
  os << "\nObservables (observe.quantities; besides every model's: attnflow help observables):\n";
  for (const auto& o : d.observables) {
    os << "  " << o.name << "  " << o.meaning << "\n";
    if (!o.needs.empty()) os << "      needs: " << o.needs << "\n";
  }
  if (!d.notes.empty()) {
    os << "\nNotes:\n";
    for (const auto& n : d.notes) os << "  " << n << "\n";
  }
}

std::string yes(bool b) { return b ? "yes" : "no"; }

void print_integrator(std::ostream& os, const std::string& kind) {
  const IntegratorInfo* i = IntegratorRegistry::find(kind);
  if (!i) unknown("integrator", kind, IntegratorRegistry::names());
  os << "integrator \"" << kind << "\": " << i->summary << "\n\n";
  os << "  order: " << i->doc.order << "\n";
  os << "  adaptive: " << yes(i->adaptive) << "\n";
  os << "  second-order (momentum) models only: " << yes(i->needs_second_order) << "\n";
  os << "  RHS evaluations per step: " << i->rhs_per_step << "\n";
  if (!i->doc.source.empty()) os << "  Source: " << i->doc.source << "\n";
  if (!i->doc.notes.empty()) os << "  Notes: " << i->doc.notes << "\n";
  os << "\nKeys of [integrator]:\n";
  for (const auto& k : find_section_doc("integrator")->keys) print_key(os, "integrator", k);
}

void print_observables(std::ostream& os) {
  os << "Observables of every model (observe.quantities):\n";
  for (const auto& o : geometry_observable_docs()) os << "  " << o.name << "  " << o.meaning << "\n";
  for (const auto& kind : ModelRegistry::names()) {
    os << "\nmodel \"" << kind << "\":\n";
    for (const auto& o : ModelRegistry::find(kind)->doc.observables) {
      os << "  " << o.name << "  " << o.meaning << "\n";
      if (!o.needs.empty()) os << "      needs: " << o.needs << "\n";
    }
  }
}

void print_claims(std::ostream& os) {
  os << "Claims ([[expect]] tables, checked by attnflow check). Comparison keys (all kinds but "
        "monotone):\n";
  for (const auto& k : claim_comparison_docs()) print_key(os, "expect", k);
  for (const auto& c : claim_docs()) {
    os << "\nkind = \"" << c.kind << "\"" << (c.ensemble ? " (ensemble)" : "") << ": " << c.meaning
       << "\n";
    if (!c.source.empty()) os << "      source: " << c.source << "\n";
    for (const auto& k : c.keys) print_key(os, "expect", k);
  }
}

void print_topics(std::ostream& os) {
  os << "attnflow help TOPIC [NAME]\n\n"
        "  scenario            every key of [run], [tokens], [integrator], [observe], [ensemble], "
        "[[sweep]]\n"
        "  run | tokens | integrator | observe | ensemble | sweep   one of them\n"
        "  model [KIND]        the models, or every [model] key of one\n"
        "  integrator [KIND]   the integrators, or one of them\n"
        "  observables         every observable, per model, with what it needs\n"
        "  claims              every [[expect]] kind and its keys\n"
        "  conventions         random matrices, frames, paths, v1, SVGD, MDAnalysis, exit codes\n"
        "  --markdown          all of it as Markdown (docs/reference.md)\n\n";
  os << "models:\n";
  for (const auto& k : ModelRegistry::names())
    os << "  " << k << "  " << ModelRegistry::find(k)->summary << "\n";
  os << "integrators:\n";
  for (const auto& k : IntegratorRegistry::names())
    os << "  " << k << "  " << IntegratorRegistry::find(k)->summary << "\n";
}

// ---- Markdown ----------------------------------------------------------------------------

std::string cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}
std::string code(const std::string& s) { return s.empty() ? "" : "`" + cell(s) + "`"; }

void md_keys(std::ostream& os, const std::string& table, const std::vector<KeyDoc>& keys) {
  os << "| key | type | default | allowed | meaning | only when | source |\n"
        "|---|---|---|---|---|---|---|\n";
  for (const auto& k : keys)
    os << "| `" << table << "." << k.key << "` | " << k.type << " | "
       << (k.required() ? "required" + (k.example.empty() ? std::string() : ", e.g. " + code(k.example))
                        : code(k.def))
       << " | " << cell(k.range) << " | " << cell(k.meaning) << " | " << cell(k.when) << " | "
       << cell(k.source) << " |\n";
  os << "\n";
}

void md_observables(std::ostream& os, const std::vector<ModelObservableDoc>& obs) {
  os << "| observable | meaning | needs |\n|---|---|---|\n";
  for (const auto& o : obs)
    os << "| `" << o.name << "` | " << cell(o.meaning) << " | " << cell(o.needs) << " |\n";
  os << "\n";
}

}  // namespace

std::string reference_markdown() {
  std::ostringstream os;
  os << "# attnflow reference\n\n"
        "Generated by `attnflow help --markdown` from the code that reads each key (model and "
        "integrator registrations, `sim/config/scenario.cpp`); do not edit by hand. The ctest "
        "`reference: reference_fresh` fails when this file differs from the output, "
        "and `tests/unit/test_reference.cpp` fails when a key the loader reads is undocumented. "
        "The same text, per topic: `attnflow help TOPIC [NAME]`.\n\n"
        "Contents: [scenario tables](#scenario-tables), [models](#models), "
        "[integrators](#integrators), [observables](#observables), [claims](#claims), "
        "[conventions](#conventions).\n\n";
  os << "## Scenario tables\n\n";
  for (const auto& s : scenario_section_docs()) {
    os << "### [" << (s.name == "sweep" ? "[sweep]" : s.name) << "]\n\n" << s.description << "\n\n";
    md_keys(os, s.name, s.keys);
    if (s.name == "ensemble") {
      os << "Token statistics for `ensemble.statistics` (besides the model's observables):";
      for (const auto& n : ensemble_token_statistics()) os << " `" << n << "`";
      os << ".\n\n";
    }
  }
  os << "## Models\n\n";
  for (const auto& kind : ModelRegistry::names()) {
    const ModelInfo& m = *ModelRegistry::find(kind);
    os << "### " << kind << "\n\n" << m.summary << ".\n\n" << m.doc.description << "\n\n";
    if (!m.doc.source.empty()) os << "Source: " << m.doc.source << ".\n\n";
    os << "Runs with `model.kind = \"" << kind << "\"`";
    for (const auto& c : m.doc.context) os << ", `" << c << "`";
    os << " (and `tokens.n`, `integrator.t_end` or `layers`).\n\n";
    md_keys(os, "model", m.doc.keys);
    md_observables(os, m.doc.observables);
    for (const auto& n : m.doc.notes) os << "- " << n << "\n";
    if (!m.doc.notes.empty()) os << "\n";
  }
  os << "## Integrators\n\n"
        "| kind | order | adaptive | momentum models only | RHS per step | summary | source | notes |\n"
        "|---|---|---|---|---|---|---|---|\n";
  for (const auto& kind : IntegratorRegistry::names()) {
    const IntegratorInfo& i = *IntegratorRegistry::find(kind);
    os << "| `" << kind << "` | " << cell(i.doc.order) << " | " << yes(i.adaptive) << " | "
       << yes(i.needs_second_order) << " | " << i.rhs_per_step << " | " << cell(i.summary) << " | "
       << cell(i.doc.source) << " | " << cell(i.doc.notes) << " |\n";
  }
  os << "\nKeys: see [[integrator]](#integrator).\n\n";
  os << "## Observables\n\nEvery model offers these geometric observables:\n\n"
        "| observable | meaning |\n|---|---|\n";
  for (const auto& o : geometry_observable_docs())
    os << "| `" << o.name << "` | " << cell(o.meaning) << " |\n";
  os << "\nEach model's own are listed under [Models](#models); an observable whose needs a "
        "configuration does not meet is refused by `validate` with the reason.\n\n";
  os << "## Claims\n\n`[[expect]]` tables, checked by `attnflow check`. Comparison keys (every kind "
        "but `monotone`):\n\n";
  md_keys(os, "expect", claim_comparison_docs());
  for (const auto& c : claim_docs()) {
    os << "### kind = \"" << c.kind << "\"" << (c.ensemble ? " (ensemble)" : "") << "\n\n"
       << c.meaning << ".";
    if (!c.source.empty()) os << " Source: " << c.source << ".";
    os << "\n\n";
    md_keys(os, "expect", c.keys);
  }
  os << "## Conventions\n\n";
  for (const auto& [title, text] : conventions()) os << "- **" << title << ".** " << text << "\n";
  return os.str();
}

int help_main(const std::vector<std::string>& args) {
  try {
    std::ostringstream os;
    const std::string topic = args.empty() ? "" : args[0];
    const std::string name = args.size() > 1 ? args[1] : "";
    if (args.size() > 2) throw ConfigError("help: too many arguments (attnflow help TOPIC [NAME])");
    if (topic.empty() || topic == "-h" || topic == "--help") {
      print_topics(os);
    } else if (topic == "--markdown") {
      os << reference_markdown();
    } else if (topic == "scenario") {
      for (const auto& s : scenario_section_docs()) print_section(os, s);
      os << "[[expect]]  claims: attnflow help claims\n";
    } else if (topic == "model" || topic == "models") {
      if (name.empty()) {
        os << "models (attnflow help model KIND):\n";
        for (const auto& k : ModelRegistry::names())
          os << "  " << k << "  " << ModelRegistry::find(k)->summary << "\n";
      } else {
        print_model(os, name);
      }
    } else if ((topic == "integrator" || topic == "integrators") && !name.empty()) {
      print_integrator(os, name);
    } else if (topic == "integrators" || (topic == "integrator" && name.empty())) {
      os << "integrators (attnflow help integrator KIND):\n";
      for (const auto& k : IntegratorRegistry::names())
        os << "  " << k << "  " << IntegratorRegistry::find(k)->summary << "\n";
      os << "\n";
      print_section(os, *find_section_doc("integrator"));
    } else if (topic == "observables") {
      print_observables(os);
    } else if (topic == "claims" || topic == "expect") {
      print_claims(os);
    } else if (topic == "conventions") {
      for (const auto& [title, text] : conventions()) os << title << ":\n  " << text << "\n\n";
    } else if (const SectionDoc* s = find_section_doc(topic)) {
      print_section(os, *s);
    } else {
      std::vector<std::string> topics = {"scenario", "model", "integrator", "observables",
                                         "claims", "conventions", "--markdown"};
      for (const auto& s : scenario_section_docs()) topics.push_back(s.name);
      unknown("help topic", topic, topics);
    }
    std::cout << os.str();
    return 0;
  } catch (const Error& e) {
    std::cerr << "attnflow help: error: " << e.what() << "\n";
    return e.exit_code();
  }
}

}  // namespace attnflow::cli
