#pragma once
// Typed, located access to one table of a scenario file.
//
// A Section reads keys with defaults, checks types and ranges, and reports every problem as
// `file:line:col: message` (or `--set key=value: message` for command-line overrides). Every key
// read is recorded, with its default filled in, into the resolved scenario; keys never read are
// rejected by finish() with a "did you mean" suggestion. Physics code never sees TOML: models
// read their parameters through a Section into plain structs (see sim/model_registry.hpp).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "sim/error.hpp"
#include "sim/state.hpp"

namespace attnflow {

struct Where {
  std::string file;  // scenario path, or "--set key=value" for overrides
  int line = 0, col = 0;
  std::string str() const;
};

// The parsed scenario document shared by all sections.
struct TomlDoc {
  std::string path;
  toml::table root;
  toml::table resolved;                          // filled as sections are read
  std::map<std::string, std::string> overrides;  // dotted key -> "--set key=value"
};

class Section {
 public:
  // `name` is the dotted path of the table ("integrator", "expect[2]").
  Section(TomlDoc& doc, std::string name, const toml::table* table, toml::table* resolved);

  const std::string& name() const { return name_; }
  bool has(std::string_view key) const;
  const toml::node* node(std::string_view key) const;
  Where where(std::string_view key) const;  // of the value, or of the table if absent
  Where where() const;                      // of the table

  [[noreturn]] void fail(std::string_view key, const std::string& msg) const;
  void check(bool ok, std::string_view key, const std::string& msg) const {
    if (!ok) fail(key, msg);
  }

  // Scalars. Without a default the key is required.
  double real(std::string_view key, std::optional<double> def = std::nullopt);
  std::int64_t integer(std::string_view key, std::optional<std::int64_t> def = std::nullopt);
  bool boolean(std::string_view key, std::optional<bool> def = std::nullopt);
  std::string string(std::string_view key, std::optional<std::string> def = std::nullopt);
  std::string choice(std::string_view key, const std::vector<std::string>& options,
                     std::optional<std::string> def = std::nullopt);
  // Range helpers: value must be > lo (strict) or >= lo.
  double positive(std::string_view key, std::optional<double> def = std::nullopt);
  std::int64_t positive_int(std::string_view key, std::optional<std::int64_t> def = std::nullopt);

  // Arrays.
  std::vector<double> reals(std::string_view key);                 // [1.0, 2.0, ...]
  std::vector<std::string> strings(std::string_view key, std::vector<std::string> def);
  RowMat matrix(std::string_view key);                             // [[...], [...]]
  bool is_array(std::string_view key) const;
  bool is_string(std::string_view key) const;

  // Marks a key as known without reading it (e.g. consumed by another reader).
  void accept(std::string_view key);
  // A sub-table (e.g. model.target); absent -> empty table.
  Section table(std::string_view key);

  // Rejects unread keys with a suggestion drawn from the keys this section reads.
  void finish(const std::vector<std::string>& extra_known = {}) const;

  TomlDoc& doc() { return *doc_; }

 private:
  std::string full(std::string_view key) const;
  [[noreturn]] void missing(std::string_view key, const std::string& what) const;
  void record(std::string_view key, const toml::node& value);
  template <class T> void record_value(std::string_view key, T v);
  TomlDoc* doc_;
  std::string name_;
  const toml::table* table_;
  toml::table* resolved_;
  mutable std::set<std::string> known_;
  static const toml::table kEmpty;
};

// Edit distance for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);
std::string suggestion(std::string_view key, const std::vector<std::string>& candidates);
std::string type_name(const toml::node& n);
double number_of(const toml::node& n);  // integer or float node

}  // namespace attnflow
