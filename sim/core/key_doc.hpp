#pragma once
// Documentation of scenario keys, models, integrators and observables: the data behind
// `attnflow help` and docs/reference.md (sim/cli/help.cpp renders it).
//
// Each reader documents the keys it reads beside the code that reads them: a model in its
// registration (ModelInfo::doc), an integrator in IntegratorInfo::doc, the [run], [tokens],
// [integrator], [observe], [ensemble], [[sweep]] and [[expect]] tables in sim/config/scenario.cpp
// (scenario_section_docs(), claim_docs()). tests/unit/test_reference.cpp fails when a key the
// loader reads is not documented, or when a documented default differs from the one the reader
// fills in.
#include <string>
#include <vector>

namespace attnflow {

struct KeyDoc {
  std::string key;      // as written in its table ("beta")
  std::string type;     // "number", "integer", "bool", "string", "choice", "matrix", "array", "file", "table"
  std::string def;      // the default as TOML text ("1.0", "\"softmax\""); "" = required;
                        // text in parentheses = computed ("(4 tokens.d)")
  std::string range;    // allowed values ("> 0", "\"softmax\" | \"mean\"", "d x d")
  std::string meaning;
  std::string source;   // paper and equation, or "" when the key is attnflow's own
  std::string when;     // read only when this holds ("coupling_rule = \"ssa\""); "" = always
  std::string example;  // a value to write for a required key
  KeyDoc(std::string k, std::string t, std::string d, std::string r, std::string m,
         std::string s = "", std::string w = "", std::string e = "")
      : key(std::move(k)), type(std::move(t)), def(std::move(d)), range(std::move(r)),
        meaning(std::move(m)), source(std::move(s)), when(std::move(w)), example(std::move(e)) {}
  bool required() const { return def.empty(); }
  bool computed() const { return !def.empty() && def.front() == '('; }
};

// An observable a model may offer, and what it needs when it is not always available (the
// reasons a configuration gives are ModelRecipe::unavailable).
struct ModelObservableDoc {
  std::string name;
  std::string meaning;
  std::string needs;  // "" = always offered
};

struct ModelDoc {
  std::string description;  // equations, one or more lines
  std::string source;       // paper(s)
  std::vector<KeyDoc> keys; // [model] keys besides kind
  std::vector<ModelObservableDoc> observables;
  // Settings of other tables a minimal scenario needs for this model, as `table.key = value`
  // (e.g. "tokens.d = 1"); `attnflow help model KIND` prints them and the help test uses them.
  std::vector<std::string> context;
  std::vector<std::string> notes;  // pitfalls, conventions, what blows up and why
};

struct IntegratorDoc {
  std::string order;   // "4", "2 (separable Hamiltonians)", "adaptive 5(4)"
  std::string source;  // paper / book
  std::string notes;
};

}  // namespace attnflow
