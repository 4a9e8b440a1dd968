// The reference cannot drift from the code (issue 18): every key the loader reads is documented
// (sim/core/key_doc.hpp: ModelInfo::doc, sim/config/docs.hpp), documented defaults are the ones
// the readers fill in, documented keys are accepted, and every observable a model offers or
// refuses is documented for it.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>

#include "sim/config/docs.hpp"
#include "sim/config/scenario.hpp"
#include "sim/config/section.hpp"
#include "sim/core/geometry_observables.hpp"
#include "sim/core/registry.hpp"

using namespace attnflow;
namespace fs = std::filesystem;

namespace {

struct LogGuard {
  std::vector<std::string> log;
  LogGuard() { Section::read_log() = &log; }
  ~LogGuard() { Section::read_log() = nullptr; }
};

const KeyDoc* find_key(const std::vector<KeyDoc>& keys, const std::string& k) {
  for (const auto& d : keys)
    if (d.key == k) return &d;
  return nullptr;
}

// The keys of `log` (dotted paths read while loading `sc`) that no documentation covers.
std::vector<std::string> undocumented(const Scenario& sc, const std::vector<std::string>& log) {
  std::vector<std::string> out;
  const ModelInfo* mi = ModelRegistry::find(sc.model_kind);
  for (const auto& tagged : log) {
    const auto tab = tagged.find('\t');
    if (tagged.substr(0, tab) != sc.path) continue;  // a compare_runs scenario: loaded on its own
    const std::string entry = tagged.substr(tab + 1);
    const auto dot = entry.find('.');
    if (dot == std::string::npos) continue;  // a top-level table name
    std::string table = entry.substr(0, dot);
    const std::string key = entry.substr(dot + 1);
    int index = -1;
    if (const auto br = table.find('['); br != std::string::npos) {
      index = std::stoi(table.substr(br + 1));
      table = table.substr(0, br);
    }
    bool ok = false;
    if (table == "model") {
      ok = key == "kind" || (mi && find_key(mi->doc.keys, key));
    } else if (table == "expect") {
      if (key.rfind("point.", 0) == 0 || key == "kind" || find_key(claim_comparison_docs(), key)) continue;
      for (const auto& c : claim_docs())
        if ((index >= 0 && index < int(sc.expect.size()) ? c.kind == sc.expect[std::size_t(index)].kind : true) &&
            find_key(c.keys, key))
          ok = true;
    } else if (const SectionDoc* s = find_section_doc(table)) {
      ok = find_key(s->keys, key) != nullptr;
    }
    if (!ok) out.push_back(entry + " (model \"" + sc.model_kind + "\")");
  }
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

std::string strip(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
  return s;
}

// Elements of a TOML value as text: "[0.05, 'a']" -> {"0.05", "\"a\""}; a scalar -> itself.
std::vector<std::string> elements(std::string v) {
  v = strip(v);
  std::replace(v.begin(), v.end(), '\'', '"');
  if (v.size() < 2 || v.front() != '[') return {v};
  std::vector<std::string> out;
  std::stringstream ss(v.substr(1, v.size() - 2));
  for (std::string e; std::getline(ss, e, ',');) out.push_back(e);
  return out;
}

// A documented default equals the resolved value (numbers compared as numbers).
bool same_value(const std::string& doc, const std::string& resolved) {
  const auto a = elements(doc), b = elements(resolved);
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    try {
      std::size_t na = 0, nb = 0;
      const double x = std::stod(a[i], &na), y = std::stod(b[i], &nb);
      if (na == a[i].size() && nb == b[i].size()) {
        if (x != y) return false;
        continue;
      }
    } catch (const std::exception&) {
    }
    if (a[i] != b[i]) return false;
  }
  return true;
}

// Documented defaults that differ from what the readers recorded in the resolved scenario.
std::vector<std::string> wrong_defaults(const Scenario& sc, const std::string& table,
                                        const std::vector<KeyDoc>& keys,
                                        const std::vector<std::string>& set = {}) {
  std::vector<std::string> out;
  for (const auto& k : keys) {
    if (k.required() || k.computed()) continue;
    const std::string prefix = table + "." + k.key + "=";
    if (std::any_of(set.begin(), set.end(), [&](const std::string& s) { return s.rfind(prefix, 0) == 0; }))
      continue;  // given by the model's context
    auto it = sc.resolved_values.find(table + "." + k.key);
    if (it == sc.resolved_values.end()) continue;
    if (!same_value(k.def, it->second))
      out.push_back(table + "." + k.key + ": documented " + k.def + ", reader fills in " + it->second);
  }
  return out;
}

// The minimal scenario `attnflow help model KIND` describes: required keys and the context.
std::pair<std::string, std::vector<std::string>> minimal(const std::string& kind, bool all_defaults) {
  const ModelDoc& d = ModelRegistry::find(kind)->doc;
  std::ostringstream os;
  os << "[run]\noutput = \"" << (fs::temp_directory_path() / "attnflow-ref-test.h5").string()
     << "\"\n[tokens]\nn = 16\nd = 3\n[model]\nkind = \"" << kind << "\"\n";
  for (const auto& k : d.keys) {
    if (!k.when.empty()) continue;
    if (k.required()) os << k.key << " = " << k.example << "\n";
    else if (all_defaults && !k.computed()) os << k.key << " = " << k.def << "\n";
  }
  os << "[integrator]\nt_end = 1.0\n";
  std::vector<std::string> sets;
  for (auto c : d.context) {
    c.erase(std::remove(c.begin(), c.end(), ' '), c.end());
    sets.push_back(c);
  }
  return {os.str(), sets};
}

std::set<std::string> documented_observables(const std::string& kind) {
  std::set<std::string> out;
  for (const auto& o : ModelRegistry::find(kind)->doc.observables) out.insert(o.name);
  return out;
}

}  // namespace

TEST_CASE("reference: every key read while loading scenarios/ is documented") {
  int loaded = 0;
  for (const auto& e : fs::directory_iterator(fs::path(ATTNFLOW_SOURCE_DIR) / "scenarios")) {
    if (e.path().extension() != ".toml") continue;
    LogGuard g;
    Scenario sc = load_scenario(e.path().string());
    ++loaded;
    INFO(e.path().string());
    CHECK_MESSAGE((undocumented(sc, g.log)).empty(), join(undocumented(sc, g.log)));
    const auto docs = documented_observables(sc.model_kind);
    for (const auto& o : sc.model.observables) CHECK_MESSAGE(docs.count(o), o);
    for (const auto& ow : sc.model.unavailable) {
      const std::string o = ow.first;  // (a local: clang 14 cannot capture structured bindings)
      CHECK_MESSAGE(docs.count(o), o);
    }
  }
  CHECK(loaded > 20);
}

TEST_CASE("reference: every model's documented minimal scenario loads, with matching defaults and observables") {
  for (const auto& kind : ModelRegistry::names()) {
    INFO(kind);
    const ModelInfo& mi = *ModelRegistry::find(kind);
    CHECK(!mi.doc.description.empty());
    CHECK(!mi.doc.source.empty());
    CHECK(!mi.doc.keys.empty());
    for (bool all : {false, true}) {
      const auto ts = minimal(kind, all);  // (no structured binding: doctest's lambdas capture it)
      const std::string text = ts.first;
      const std::vector<std::string> sets = ts.second;
      INFO(text);
      LogGuard g;
      Scenario sc;
      REQUIRE_NOTHROW(sc = load_scenario_text(text, "minimal.toml", sets));
      CHECK_MESSAGE((undocumented(sc, g.log)).empty(), join(undocumented(sc, g.log)));
      CHECK_MESSAGE((wrong_defaults(sc, "model", mi.doc.keys)).empty(), join(wrong_defaults(sc, "model", mi.doc.keys)));
      for (const char* t : {"run", "tokens", "integrator", "observe"})
        CHECK_MESSAGE((wrong_defaults(sc, t, find_section_doc(t)->keys, sets)).empty(), join(wrong_defaults(sc, t, find_section_doc(t)->keys, sets)));
      const auto docs = documented_observables(kind);
      for (const auto& o : sc.model.observables) CHECK_MESSAGE(docs.count(o), o);
      for (const auto& ow : sc.model.unavailable) {
        const std::string o = ow.first;
        CHECK_MESSAGE(docs.count(o), o);
      }
    }
  }
}

TEST_CASE("reference: [ensemble] and [[sweep]] defaults are the documented ones") {
  const std::string text =
      "[tokens]\nn = 8\nd = 3\nspace = \"sphere\"\n[model]\nkind = \"attention\"\n"
      "[integrator]\nt_end = 1.0\n[ensemble]\nsize = 2\n[[sweep]]\nkey = \"model.beta\"\n"
      "values = [1.0, 2.0]\n";
  LogGuard g;
  Scenario sc = load_scenario_text(text, "ensemble.toml");
  CHECK_MESSAGE((undocumented(sc, g.log)).empty(), join(undocumented(sc, g.log)));
  CHECK_MESSAGE((wrong_defaults(sc, "ensemble", find_section_doc("ensemble")->keys)).empty(), join(wrong_defaults(sc, "ensemble", find_section_doc("ensemble")->keys)));
  // [[sweep]] tables resolve as sweep[0].<key>
  std::vector<KeyDoc> sweep_keys;
  for (auto k : find_section_doc("sweep")->keys) sweep_keys.push_back(k);
  CHECK_MESSAGE((wrong_defaults(sc, "sweep[0]", sweep_keys)).empty(), join(wrong_defaults(sc, "sweep[0]", sweep_keys)));
}

TEST_CASE("reference: every claim kind the loader accepts is documented, and every integrator") {
  CHECK(claim_kinds().size() == 17);
  for (const auto& k : IntegratorRegistry::names()) {
    INFO(k);
    CHECK(!IntegratorRegistry::find(k)->doc.order.empty());
    CHECK(!IntegratorRegistry::find(k)->doc.source.empty());
  }
  for (const auto& o : geometry_observable_docs()) CHECK(!o.meaning.empty());
}
