#pragma once
// The parsed scenario document behind every Section (internal to sim/config: the only place
// that sees toml++).
#include <deque>
#include <map>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "sim/config/section.hpp"

namespace attnflow {

struct TomlDoc {
  std::string path;
  toml::table root;
  toml::table resolved;                          // filled as sections are read
  std::map<std::string, std::string> overrides;  // dotted key -> "--set key=value"
  std::vector<std::string> inputs;               // files the scenario reads (Section::file)

  // Tables Sections refer to by index (0: the empty table).
  std::vector<const toml::table*> tables{&kEmpty};
  std::vector<toml::table*> resolved_tables{nullptr};

  Section section(std::string name, const toml::table* table, toml::table* resolved) {
    int t = 0, r = 0;
    if (table) tables.push_back(table), t = static_cast<int>(tables.size()) - 1;
    if (resolved) resolved_tables.push_back(resolved), r = static_cast<int>(resolved_tables.size()) - 1;
    return Section(*this, std::move(name), t, r);
  }

  static const toml::table kEmpty;
};

// A TOML number as a double (integers too); the name of a node's type for messages.
double number_of(const toml::node& n);
std::string type_name(const toml::node& n);

}  // namespace attnflow
